// Inputs of the compiled decision tables' tests: six regions, overlays (nested, in private ranges, IPv6, by
// country and by location), three ordering keys (nearest, nearest with a drained and a down region, map), and a
// GeoLite2-City-shaped database built with the project's writer: runs of small adjacent networks, many with the
// same place as their neighbour, records of every shape locating reads (City, Country, flat, continent only,
// empty), networks nested in bigger ones, records in private ranges, IPv6 networks including inside the alias
// networks (which are looked up by their IPv4 address instead).
import type { ServerConfig } from '../../src/config/server-config.js';
import { compileTables, overlayInputs } from '../../src/gslb/compile.js';
import { GeoLocator } from '../../src/gslb/geo.js';
import type { OrderingKey } from '../../src/gslb/order.js';
import type { DecisionTable } from '../../src/gslb/table.js';
import { type Value, type WriteOptions, writeMmdb } from '../../tools/mmdb-writer.mjs';
import { city, memoryDatabase, mulberry32, poolOf, serverConfig } from './helpers.js';

const REGIONS6 = (states: Record<string, string> = {}) => `regions:
${Object.entries({
  'us-east': '[39.0, -77.5]',
  'eu-west': '[53.3, -6.3]',
  'ap-south': '[19.1, 72.9]',
  'ap-southeast': '[-33.87, 151.21]',
  'sa-east': '[-23.55, -46.63]',
  'us-west': '[37.77, -122.42]',
})
  .map(([name, loc]) => `  ${name}: { location: ${loc}${states[name] ? `, state: ${states[name]}` : ''} }`)
  .join('\n')}
`;

/** Overlay networks: nested ones in a private range, one in CGNAT space, public ones over database networks. */
const OVERLAYS = `geoip:
  ecs: true
  networks:
    "10.20.0.0/16": { region: ap-southeast }
    "10.20.5.0/24": { region: sa-east }
    "100.64.1.0/24": { location: [48.85, 2.35] }
    "172.16.0.0/12": { country: JP }
    "41.1.0.0/20": { region: eu-west }
    "41.1.2.0/24": { location: [35.69, 139.69] }
    "60.1.2.0/24": { country: DE }
    "81.2.69.128/25": { region: us-east }
    "2a00:1450::/32": { region: ap-south }
    "2a00:1450:4000::/36": { location: [-33.87, 151.21] }
    "fd00:1::/32": { region: us-west }
`;

/** The six regions (with these states), and the overlays unless `overlays` is false. */
export function configFor(states: Record<string, string> = {}, overlays = true): ServerConfig {
  return serverConfig(`listen: ["127.0.0.1:5300"]\n${REGIONS6(states)}${overlays ? OVERLAYS : ''}`);
}

const SIX = `check: { type: none }
regions:
  us-east: [192.0.2.1]
  eu-west: [192.0.2.2]
  ap-south: [192.0.2.3]
  ap-southeast: [192.0.2.4]
  sa-east: [192.0.2.5]
  us-west: [192.0.2.6]`;

const MAP = `policy: map
${SIX}
map:
  "continent:EU": [eu-west, us-east]
  GB: [us-east, eu-west]
  US-CA: [us-west, us-east]
  US: [us-east, us-west]
  "continent:AS": [ap-south, ap-southeast]
  JP: [ap-southeast]
  AS: [sa-east]
  default: [us-east, eu-west]`;

/** The three ordering keys, each with a name. */
export function keys(cfg = configFor()): { name: string; key: OrderingKey }[] {
  const drained = configFor({ 'eu-west': 'drain', 'ap-south': 'down' });
  return [
    { name: 'nearest', key: poolOf(SIX, cfg).key },
    { name: 'nearest, eu-west drained, ap-south down', key: poolOf(SIX, drained).key },
    { name: 'map', key: poolOf(MAP, cfg).key },
  ];
}

/** The locator of the reference path over `db` (null: none), with the overlays. */
export function locatorFor(db: Buffer | null, cfg = configFor()): GeoLocator {
  return new GeoLocator(cfg.geoip.networks, db ? memoryDatabase(db) : null, (r) => cfg.regions.get(r)?.location);
}

/** The compiled tables of `db` for the keys. */
export function tablesFor(db: Buffer | null, ks: OrderingKey[], cfg = configFor()): DecisionTable[] {
  return compileTables({ db, overlays: overlayInputs(cfg.geoip.networks, (r) => cfg.regions.get(r)?.location), keys: ks });
}

const COUNTRIES: [string, string, string[]][] = [
  ['US', 'NA', ['CA', 'WA', 'NY', 'TX']],
  ['GB', 'EU', ['ENG', 'SCT']],
  ['DE', 'EU', ['BE', 'BY']],
  ['JP', 'AS', ['13', '27']],
  ['IN', 'AS', ['MH', 'KA']],
  ['BR', 'SA', ['SP', 'RJ']],
  ['AU', 'OC', ['NSW', 'VIC']],
  ['ZA', 'AF', ['GT']],
  ['AS', 'OC', []],
  ['FR', 'EU', ['IDF']],
];

/** A record of one of the shapes databases have, for place number `i` of a seeded run. */
function record(random: () => number): Value {
  const [country, continent, subs] = COUNTRIES[Math.floor(random() * COUNTRIES.length)]!;
  const lat = Math.round((random() * 160 - 80) * 1e4) / 1e4;
  const lon = Math.round((random() * 360 - 180) * 1e4) / 1e4;
  const sub = subs.length ? subs[Math.floor(random() * subs.length)] : undefined;
  const shape = random();
  if (shape < 0.6) return city(country, continent, [lat, lon], sub);
  if (shape < 0.75) return { country: { iso_code: country }, continent: { code: continent } };
  if (shape < 0.85) return { country_code: country, latitude: lat, longitude: lon };
  if (shape < 0.9) return { continent: { code: continent } };
  if (shape < 0.95) return { registered_country: { iso_code: country } };
  return { network_note: 'no place' };
}

const v4text = (n: number, len: number) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}/${len}`;

/**
 * A GeoLite2-City-shaped database: `runs` runs of adjacent IPv4 networks (/20 to /28) from random starts, a
 * neighbour sharing its place two times in five; bigger blocks with networks nested inside; records in private
 * ranges; IPv6 runs (/32 to /48), and networks inside 2001::/32 and 2002::/16 and one holding them.
 */
export function cityShaped(seed: number, runs: number, opts: WriteOptions = {}): { buf: Buffer; networks: string[] } {
  const random = mulberry32(seed);
  const nets: { network: string; data: Value }[] = [];
  const taken = new Set<string>();
  const add = (network: string, data: Value) => {
    if (!taken.has(network)) {
      taken.add(network);
      nets.push({ network, data });
    }
  };
  for (let r = 0; r < runs; r++) {
    // a run starts on a /20 boundary of a public /8
    let first = 1 + Math.floor(random() * 222);
    if ([10, 100, 127, 169, 172, 192].includes(first)) first = 45;
    let at = ((first << 24) | (Math.floor(random() * 4096) << 12)) >>> 0;
    let data = record(random);
    const n = 10 + Math.floor(random() * 40);
    for (let i = 0; i < n; i++) {
      const len = 20 + Math.floor(random() * 9);
      at = Math.ceil(at / 2 ** (32 - len)) * 2 ** (32 - len);
      if (random() >= 0.4) data = record(random);
      add(v4text(at, len), data);
      at += 2 ** (32 - len);
      // now and then a gap: no data between two networks
      if (random() < 0.1) at += 2 ** (32 - len);
    }
  }
  // big blocks with a more specific network inside
  for (let i = 0; i < 20; i++) {
    const base = ((30 + i) << 24) >>> 0;
    add(v4text(base, 10 + (i % 4)), record(random));
    add(v4text(base + (5 << 16), 24), record(random));
  }
  // records in private ranges (an operator's private networks): only the source address uses them
  add('10.5.0.0/16', city('GB', 'EU', [51.5, -0.1], 'ENG'));
  add('10.20.0.0/15', city('US', 'NA', [40.7, -74], 'NY'));
  add('192.168.1.0/24', city('JP', 'AS', [35.7, 139.7], '13'));
  add('100.64.0.0/10', city('BR', 'SA', [-23.5, -46.6], 'SP'));
  // IPv6 runs
  for (let r = 0; r < Math.max(4, runs / 8); r++) {
    const top = [0x2400, 0x2600, 0x2a00, 0x2800][r % 4]! + Math.floor(random() * 16);
    let at = Math.floor(random() * 4096) * 16;
    let data = record(random);
    const n = 5 + Math.floor(random() * 30);
    for (let i = 0; i < n; i++) {
      const len = 32 + Math.floor(random() * 17);
      // the second and third hextets as one 32-bit number (bits 16–47), blocks of 2^(48 - len) of it: runs
      // of adjacent networks, as in the IPv4 runs
      const size = 2 ** (48 - len);
      at = Math.ceil(at / size) * size;
      if (random() >= 0.4) data = record(random);
      const hi = Math.floor(at / 65536);
      add(`${top.toString(16)}:${(hi & 0xffff).toString(16)}:${(at & 0xffff).toString(16)}::/${len}`, data);
      at += size;
    }
  }
  add('2001::/32', city('US', 'NA', [37.4, -122.1], 'CA'));
  add('2002:5102:4500::/40', city('AU', 'OC', [-33.87, 151.21], 'NSW'));
  add('2000::/5', city('US', 'NA', [39.0, -77.5], 'VA'));
  add('fd00::/16', city('JP', 'AS', [35.7, 139.7], '13'));
  add('2a00:1450::/32', city('IE', 'EU', [53.3, -6.3]));
  add('81.2.69.0/24', city('GB', 'EU', [51.51, -0.09], 'ENG'));
  add('60.0.0.0/12', city('JP', 'AS', [35.69, 139.69], '13'));
  add('41.0.0.0/14', city('ZA', 'AF', [-26.2, 28.04], 'GT'));
  const kept = opts.ipVersion === 4 ? nets.filter((n) => !n.network.includes(':')) : nets;
  return { buf: writeMmdb(kept, { databaseType: 'steerdns-test-City', ...opts }), networks: kept.map((n) => n.network) };
}
