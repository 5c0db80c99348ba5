// The content hash of a zone: what moves its automatic serial (docs/zone-format.md#automatic-serials).
import { createHash } from 'node:crypto';
import type { ZoneSpec } from './zone-spec.js';

/** A stable digest of the zone's answer data (records, TTLs, SOA fields but the serial, pools without their
 * health checks, which are server behaviour, not zone content: editing `health:` defaults moves no serial). */
export function hashZone(z: ZoneSpec): string {
  const h = createHash('sha256');
  const { serial: _serial, ...soa } = z.soa;
  h.update(JSON.stringify({ origin: z.origin, ttl: z.ttl, soa }));
  for (const name of [...z.names.keys()].sort()) {
    const n = z.names.get(name)!;
    h.update(`\n${name}`);
    for (const t of [...n.rrsets.keys()].sort()) {
      const rr = n.rrsets.get(t)!;
      h.update(
        `\n ${t} ${rr.ttl} ${rr.records
          .map((r) => r.rdata.toString('hex'))
          .sort()
          .join(',')}`,
      );
    }
    if (n.pool) h.update(`\n pool ${JSON.stringify(n.pool, (k, v) => (k === 'at' || k === 'bytes' || k === 'check' ? undefined : v))}`);
  }
  return h.digest('hex');
}
