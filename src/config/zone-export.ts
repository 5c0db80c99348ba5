// `steerdns export ZONE` (docs/zone-format.md#import-and-export): the static view of a loaded zone as an
// RFC 1035 master file — the SOA with the serial being served, then every name's RRsets in the order written,
// owners relative to $ORIGIN, RDATA in presentation form. Pools are answered per query and have no static
// form: each is named in a comment where it stands.
import { relativeName } from '../dns/name.js';
import { rdataToText } from '../dns/rdata-text.js';
import type { ZoneSpec } from './zone-spec.js';

const fq = (name: string) => (name === '' ? '.' : `${name}.`);

/** The master file of `z` with SOA serial `serial`; `codes` maps each written type to its code. */
export function zoneToMaster(z: ZoneSpec, serial: number, codes: (type: string) => number, source: string): string {
  const s = z.soa;
  const pools = [...z.names.values()].filter((n) => n.pool).map((n) => relativeName(n.name, z.origin));
  const out = [`; ${fq(z.origin)} exported by steerdns from ${source}: the static records`];
  if (pools.length)
    out.push(
      `; not in this file: the GSLB pool${pools.length === 1 ? '' : 's'} ${pools.join(', ')} (their A and AAAA records are chosen per query)`,
    );
  out.push(`$ORIGIN ${fq(z.origin)}`, `$TTL ${z.ttl}`);
  out.push(
    `@\t${s.ttl}\tIN\tSOA\t${fq(s.mname)} ${fq(s.rname)} (`,
    `\t\t\t\t${serial}\t; serial`,
    `\t\t\t\t${s.refresh}\t; refresh`,
    `\t\t\t\t${s.retry}\t; retry`,
    `\t\t\t\t${s.expire}\t; expire`,
    `\t\t\t\t${s.minimum} )\t; minimum`,
  );
  const names = [...z.names.values()];
  names.sort((a, b) => (a.name === z.origin ? -1 : b.name === z.origin ? 1 : 0));
  for (const n of names) {
    const owner = relativeName(n.name, z.origin);
    if (n.pool) out.push(`; ${owner}: GSLB pool, A and AAAA chosen per query by steerdns (not exported)`);
    for (const rr of n.rrsets.values()) {
      const code = codes(rr.type);
      for (const r of rr.records) out.push(`${owner}\t${rr.ttl}\tIN\t${rr.type}\t${rdataToText(code, r.rdata)}`);
    }
  }
  return `${out.join('\n')}\n`;
}
