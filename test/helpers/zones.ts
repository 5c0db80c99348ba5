// The repository's sample zones plus `big.test`, a zone with answers of every size, loaded into a snapshot
// for tests that drive a Responder directly (property.test.ts, differential.test.ts): the sample zones alone
// never produce an answer over 512 bytes, so truncation would never be exercised.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SerialStore } from '../../src/config/serial.js';
import { loadServerConfig, type ServerConfig } from '../../src/config/server-config.js';
import { parseZone } from '../../src/config/zone-file.js';
import { Exchange, type Transport } from '../../src/dns/exchange.js';
import type { ResponderHooks } from '../../src/dns/respond.js';
import { type GslbEnv, poolResolver } from '../../src/gslb/decide.js';
import type { Pool } from '../../src/gslb/pool.js';
import { type Responder, respondTo } from '../../src/pipeline.js';
import { loadSnapshot, type Snapshot } from '../../src/snapshot.js';
import type { ZoneTable } from './object-lookup.js';
import { type ObjectZone, prepareObjectZone } from './object-zone.js';
import { ROOT, writeFixture } from './server.js';

export { mulberry32 } from './random.js';

/** One query through parse → lookup → write (neither limited nor observed), in an exchange of its own. */
export function respondOnce(r: Responder<Pool>, msg: Buffer, transport: Transport, address: string): Buffer | null {
  const ex = new Exchange();
  ex.begin(msg, address, transport, 0);
  return respondTo(r, ex);
}

/** `deep.example.test`: a child zone hosted beside its parent `example.test` (which delegates to it); its
 *  negative TTL is the SOA TTL 30, below its minimum 300. */
export const HOSTED_CHILD_ZONE = `
origin: deep.example.test
ttl: 3600
soa: { ns: ns1.deep.example.test., email: hostmaster@example.test, minimum: 300, ttl: 30, serial: 7 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.97 }
  www: { A: 192.0.2.96 }
`;

/** A hosted child zone at `origin` that the hosted parent does not delegate to (no cut there, or a cut to
 *  servers that are not this one). */
export const undelegatedZone = (origin: string) => `
origin: ${origin}
ttl: 3600
soa: { ns: ns1.${origin}., email: hostmaster@example.test, minimum: 120, ttl: 45, serial: 3 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.95 }
`;

const txt = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `"${tag}-${i}-${'x'.repeat(50)}"`).join(', ');

/**
 * Answers of every size: fits 512 (mid TXT without EDNS is close), fits only 1232 (many A, many AAAA, the MX
 * with its in-zone targets' addresses as additional data), fits only TCP (big TXT), a delegation whose
 * in-domain glue (mandatory, RFC 9471) does not fit 512, a CNAME into that delegation, a pool that answers
 * SERVFAIL (its one target is down).
 */
export const BIG_ZONE = `
origin: big.test
ttl: 300
soa: { ns: ns1.big.test., email: hostmaster@big.test, refresh: 7200, retry: 3600, expire: 1209600, minimum: 60 }
records:
  "@": { NS: [ns1], MX: [${Array.from({ length: 12 }, (_, i) => `{ preference: ${i}, exchange: mx${i} }`).join(', ')}] }
  ns1: { A: 192.0.2.1 }
${Array.from({ length: 12 }, (_, i) => `  mx${i}: { A: 192.0.2.${10 + i}, AAAA: "2001:db8::${10 + i}" }`).join('\n')}
  big: { TXT: [${txt(40, 'big')}] }
  mid: { TXT: [${txt(10, 'mid')}] }
  many:
    A: [${Array.from({ length: 40 }, (_, i) => `192.0.2.${100 + i}`).join(', ')}]
    AAAA: [${Array.from({ length: 30 }, (_, i) => `"2001:db8:100::${i + 1}"`).join(', ')}]
  alias: { CNAME: mid }
  "*.w": { TXT: [${txt(8, 'wild')}] }
  deleg: { NS: [${Array.from({ length: 10 }, (_, i) => `ns${i}.deleg`).join(', ')}] }
${Array.from({ length: 10 }, (_, i) => `  ns${i}.deleg: { A: 192.0.2.${200 + i}, AAAA: "2001:db8::${200 + i}" }`).join('\n')}
  to-deleg: { CNAME: host.deleg }
  dead:
    pool:
      all_down: servfail
      check: { type: none }
      regions:
        us-east: [{ address: 192.0.2.250, state: down }]
`;

export interface ZonesFixture {
  dir: string;
  config: ServerConfig;
  snapshot: ReturnType<typeof loadSnapshot>['snapshot'];
  /** The same zones (the same serials) in the object form of the test oracle (object-zone.ts), for object-lookup.ts. */
  objects: ZoneTable<Pool>;
  /** Removes the temp folder (call from test.after.always). */
  cleanup(): void;
}

/** The repository's steerdns.yaml and zones/*.yaml plus big.test.yaml, written to a temp folder and loaded. */
export function loadZonesFixture(): ZonesFixture {
  const zoneFiles: Record<string, string> = { 'big.test.yaml': BIG_ZONE };
  for (const f of readdirSync(join(ROOT, 'zones')).filter((f) => f.endsWith('.yaml')))
    zoneFiles[f] = readFileSync(join(ROOT, 'zones', f), 'utf8');
  const dir = writeFixture(readFileSync(join(ROOT, 'steerdns.yaml'), 'utf8'), zoneFiles);
  const { config } = loadServerConfig(join(dir, 'steerdns.yaml'));
  const { snapshot } = loadSnapshot(config!, new SerialStore(config!.stateDir, false), null);
  if (snapshot.zones.size !== Object.keys(zoneFiles).length) {
    throw new Error(`zones did not load: ${JSON.stringify([...snapshot.files.values()].flatMap((f) => f.errors))}`);
  }
  const objects = new Map<string, ObjectZone>();
  for (const st of snapshot.files.values()) {
    const spec = parseZone(st.file, readFileSync(st.file, 'utf8'), config!).zone!;
    objects.set(spec.origin, prepareObjectZone(spec, st.zone!.serial, config!));
  }
  return { dir, config: config!, snapshot, objects: { zones: objects }, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A Responder's hooks as the server makes them: pool names answered by the pool decision with `env`. */
export function poolHooks(snapshot: Snapshot, env: GslbEnv): ResponderHooks<Pool> {
  return { resolveDynamic: poolResolver(env, () => snapshot.geo), rotation: env.rotation };
}
