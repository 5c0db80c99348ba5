// Shared fixtures for the GSLB unit tests: pools built from real zone YAML (parseServerConfig → parseZone →
// zonePools), GeoIP databases built in memory with the project's own MaxMind DB writer (never files outside
// the repository), a seeded PRNG so statistical tests are reproducible, and a settable health table.
import { join } from 'node:path';
import { Reader } from 'maxmind';
import { parseServerConfig, type ServerConfig } from '../../src/config/server-config.js';
import type { Diagnostic } from '../../src/config/source.js';
import { parseZone } from '../../src/config/zone-file.js';
import type { ClientSubnet } from '../../src/dns/query.js';
import type { GeoDatabase } from '../../src/gslb/geo.js';
import type { ClientInfo, GeoContext } from '../../src/gslb/locate.js';
import { zonePools as buildZonePools, type Pool } from '../../src/gslb/pool.js';
import { HealthTable } from '../../src/health/table.js';
import { ipToBytes } from '../../src/net/address.js';
import { geoContext } from '../../src/snapshot.js';
import { type GeoEntry, geoRecord } from '../../tools/geodb-build.mjs';
import { type Value, writeMmdb } from '../../tools/mmdb-writer.mjs';

const DIR = '/srv/steerdns';
const fmt = (d: Diagnostic) => `${d.file}:${d.line}:${d.col}: ${d.message}`;

/** Real data-centre cities (lat, lon). */
export const CITY = {
  ashburn: [39.0, -77.5],
  dublin: [53.3, -6.3],
  mumbai: [19.1, 72.9],
  sydney: [-33.87, 151.21],
  saoPaulo: [-23.55, -46.63],
  london: [51.51, -0.09],
  tokyo: [35.69, 139.69],
  seattle: [47.61, -122.33],
  johannesburg: [-26.2, 28.04],
  buenosAires: [-34.6, -58.38],
  singapore: [1.29, 103.85],
  sanFrancisco: [37.77, -122.42],
  berlin: [52.52, 13.4],
  moscow: [55.76, 37.62],
  newYork: [40.7128, -74.006],
} as const satisfies Record<string, readonly [number, number]>;

/** Five regions, written in this order. */
export const REGIONS = `regions:
  us-east: { location: [39.0, -77.5] }         # Ashburn
  eu-west: { location: [53.3, -6.3] }          # Dublin
  ap-south: { location: [19.1, 72.9] }         # Mumbai
  ap-southeast: { location: [-33.87, 151.21] } # Sydney
  sa-east: { location: [-23.55, -46.63] }      # São Paulo
`;

/** steerdns.yaml from text; throws with the diagnostics when it does not parse cleanly. */
export function serverConfig(text = `listen: ["127.0.0.1:5300"]\n${REGIONS}`): ServerConfig {
  const r = parseServerConfig(join(DIR, 'steerdns.yaml'), text);
  if (!r.config || r.diagnostics.some((d) => d.severity === 'error')) throw new Error(r.diagnostics.map(fmt).join('\n'));
  return r.config;
}

const ZONE_HEAD = `origin: example.test
soa: { ns: ns1.example.test., email: hostmaster@example.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
`;

/**
 * Every pool of a zone whose `records:` are `records` (indented by two spaces, as in a zone file), keyed by
 * relative name; `all_down: { fallback: POOL }` resolved as the server does it (src/gslb/pool.ts zonePools).
 */
export function zonePools(records: string, cfg: ServerConfig = serverConfig()): Map<string, Pool> {
  const r = parseZone(join(DIR, 'zones', 'example.test.yaml'), ZONE_HEAD + records, cfg);
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (!r.zone || errors.length) throw new Error(errors.map(fmt).join('\n'));
  const origin = r.zone.origin;
  const pools = new Map<string, Pool>();
  for (const [name, p] of buildZonePools(r.zone, cfg)) pools.set(name === origin ? '@' : name.slice(0, -(origin.length + 1)), p);
  return pools;
}

/** One pool named `app` whose body (the mapping under `pool:`) is `body`, written at 6 spaces. */
export function poolOf(body: string, cfg: ServerConfig = serverConfig()): Pool {
  const indented = body
    .trim()
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n');
  return zonePools(`  app:\n    pool:\n${indented}\n`, cfg).get('app')!;
}

/** The health key of the target with this address in a pool. */
export function keyOf(pool: Pool, address: string): string {
  for (const r of pool.regions) for (const t of r.targets) if (t.address === address) return t.healthKey;
  throw new Error(`no target ${address} in pool ${pool.name}`);
}

/** A health table with the listed targets of `pool` down. */
export function healthWith(pool: Pool, down: string[] = []): HealthTable {
  const h = new HealthTable();
  for (const a of down) h.set(keyOf(pool, a), { up: false });
  return h;
}

export { mulberry32 } from '../helpers/random.js';

/** A GeoIP2 City-style record, as tools/geodb-build.mjs writes it. */
export function city(
  country: string,
  continent: string,
  location: readonly [number, number],
  subdivision?: string,
): { [k: string]: Value } {
  const e: GeoEntry = { country, continent, location: [location[0], location[1]] };
  if (subdivision) e.subdivision = subdivision;
  return geoRecord(e, 'fixture');
}

/** The fixture database used by locate/decide tests: cities, country-only records, both schemas, nesting. */
export const FIXTURE_NETWORKS: { network: string; data: Value }[] = [
  { network: '81.2.69.0/24', data: city('GB', 'EU', CITY.london, 'ENG') },
  { network: '81.2.0.0/24', data: city('GB', 'EU', CITY.london, 'ENG') },
  { network: '1.0.16.0/20', data: city('JP', 'AS', CITY.tokyo, '13') },
  { network: '4.4.0.0/16', data: city('US', 'NA', CITY.seattle, 'WA') },
  { network: '5.5.0.0/16', data: city('US', 'NA', CITY.sanFrancisco, 'CA') },
  { network: '41.0.0.0/16', data: city('ZA', 'AF', CITY.johannesburg, 'GT') },
  { network: '181.0.0.0/16', data: city('AR', 'SA', CITY.buenosAires, 'C') },
  { network: '42.0.0.0/16', data: city('SG', 'AS', CITY.singapore) },
  { network: '46.0.0.0/16', data: city('DE', 'EU', CITY.berlin, 'BE') },
  { network: '47.0.0.0/16', data: city('US', 'NA', CITY.newYork, 'NY') },
  // country only, GeoIP2 Country schema (nested, no location)
  { network: '2.2.0.0/16', data: { country: { iso_code: 'RU' }, continent: { code: 'EU' } } },
  // country only, flat @ip-location-db schema (geo-whois-asn-country): no continent, no coordinates
  { network: '3.3.0.0/16', data: { country_code: 'RU' } },
  { network: '3.4.0.0/16', data: { country_code: 'IN' } },
  // flat schema with coordinates (dbip-city style)
  { network: '6.6.0.0/16', data: { country_code: 'AU', latitude: CITY.sydney[0], longitude: CITY.sydney[1], state1: 'New South Wales' } },
  // a record with no country, continent or location
  { network: '7.7.0.0/16', data: { network_note: 'nothing useful' } },
  // nesting: a /8 with a more specific /24 inside
  { network: '9.0.0.0/8', data: city('US', 'NA', CITY.newYork, 'NY') },
  { network: '9.9.9.0/24', data: city('DE', 'EU', CITY.berlin, 'BE') },
  // a big block with a /24 overlay inside it (see OVERLAY_CONFIG)
  { network: '60.0.0.0/12', data: city('JP', 'AS', CITY.tokyo, '13') },
  // IPv6
  { network: '2001:218::/32', data: city('JP', 'AS', CITY.tokyo, '13') },
  { network: '2a02:c7f::/48', data: city('GB', 'EU', CITY.london, 'ENG') },
  { network: '2804:14c::/32', data: city('BR', 'SA', CITY.saoPaulo, 'SP') },
];

let fixtureBuffer: Buffer | null = null;

/** The fixture database as bytes (built once per test file). */
export function fixtureMmdb(): Buffer {
  fixtureBuffer ??= writeMmdb(FIXTURE_NETWORKS, { databaseType: 'steerdns-test-City', description: 'steerdns unit-test fixture' });
  return fixtureBuffer;
}

/** A GeoDatabase over an in-memory .mmdb, as src/gslb/geo.ts openDatabase returns one for a file. */
export function memoryDatabase(buf: Buffer = fixtureMmdb()): GeoDatabase {
  const reader = new Reader<Record<string, unknown>>(buf);
  return {
    path: '(memory)',
    bytes: buf,
    reader,
    description: reader.metadata.databaseType,
    mtimeMs: 0,
    stamp: '(memory)',
    ipVersion: reader.metadata.ipVersion,
  };
}

/** A config with the five regions and an overlay; `ecs` sets geoip.ecs. */
export function overlayConfig(opts: { ecs?: boolean } = {}): ServerConfig {
  return serverConfig(`listen: ["127.0.0.1:5300"]
${REGIONS}geoip:
  ecs: ${opts.ecs ?? true}
  networks:
    "10.20.0.0/16": { region: ap-southeast }
    "10.20.5.0/24": { region: sa-east }
    "10.30.0.0/16": { location: [40.7, -74.0] }
    "10.40.0.0/16": { country: DE }
    "127.0.0.0/8": { region: eu-west }
    "81.2.69.128/25": { region: us-east }
    "60.1.2.0/24": { location: [51.51, -0.09] }
    "2001:db8:aa::/48": { region: ap-south }
`);
}

/** The GeoContext of the server (src/snapshot.ts geoContext) over the fixture database. */
export function geoFor(cfg: ServerConfig = overlayConfig(), buf: Buffer = fixtureMmdb()): GeoContext {
  return geoContext(cfg, memoryDatabase(buf));
}

/** An ECS option as the query parser hands it over (address truncated to the source prefix's octets). */
export function ecs(cidr: string): ClientSubnet {
  const [addr, len] = cidr.split('/') as [string, string];
  const bytes = ipToBytes(addr);
  const sourcePrefix = Number(len);
  return { family: bytes.length === 4 ? 1 : 2, sourcePrefix, address: bytes.subarray(0, Math.ceil(sourcePrefix / 8)) };
}

/** A client asking from `address`, with an optional ECS subnet. */
export function client(address: string, subnet?: string): ClientInfo {
  return { address, ecs: subnet ? ecs(subnet) : null };
}

/** Address bytes of a textual IP. */
export const ip = (s: string): Buffer => ipToBytes(s);
