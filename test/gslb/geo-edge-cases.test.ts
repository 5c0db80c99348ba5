// GeoIP edge cases found in review: the database reloaded when its file changes (and kept when the new
// one is broken), a broken database at startup, IPv4-only databases and IPv6 clients, continent-only
// records, countries without cities, sticky scopes for IPv4 inside IPv6, wildcard pools, NODATA TTLs.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { writeMmdb } from '../../tools/mmdb-writer.mjs';
import { geoRecord } from '../../tools/geodb-build.mjs';
import COUNTRY_POINTS from '../../src/gslb/country-points.generated.json' with { type: 'json' };
import { decidePool, Rotation } from '../../src/gslb/answer.js';
import { GeoLocator, openDatabase } from '../../src/gslb/geo.js';
import { ALL_UP } from '../../src/health/table.js';
import { BASE_CONFIG, dig, query, startServer, tempDir, udp } from '../helpers/server.js';
import { client, ip, poolOf, serverConfig } from './helpers.js';

const db = (nets: Record<string, Parameters<typeof geoRecord>[0]>) =>
  writeMmdb(Object.entries(nets).map(([network, e]) => ({ network, data: geoRecord(e, network) })));

const LONDON = { country: 'GB', continent: 'EU', location: [51.51, -0.09] as [number, number] };
const SEATTLE = { country: 'US', continent: 'NA', location: [47.6, -122.3] as [number, number] };

const ZONE = `
origin: example.test
ttl: 300
soa: { ns: ns1.example.test., email: hostmaster@example.test, minimum: 300 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  app:
    pool:
      ttl: 40
      check: { type: none }
      regions:
        us-east: [192.0.2.10]
        eu-west: [198.51.100.10]
  "*.w": { pool: { ttl: 40, check: { type: none }, regions: { us-east: [192.0.2.20], eu-west: [198.51.100.20] } } }
  "*.c": { CNAME: app }
  v4only:
    pool:
      ttl: 40
      check: { type: none }
      regions:
        us-east: [192.0.2.30]
        eu-west: ["2001:db8:2::30"]
`;

function config(database: string): string {
  return `${BASE_CONFIG}geoip: { database: ${database}, ecs: true }\n`;
}

async function answerFor(port: number, name: string, subnet: string): Promise<{ addrs: string[]; scope: string }> {
  const out = await dig(port, ['+subnet=' + subnet, name, 'A']);
  const addrs = [...out.matchAll(/\tIN\tA\t(\S+)/g)].map((m) => m[1]!);
  const scope = /CLIENT-SUBNET: \S+\/(\d+)/.exec(out)?.[1] ?? '';
  return { addrs, scope };
}

test('a changed GeoIP database file is reloaded; a broken replacement leaves the old one serving', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'geo.mmdb');
  writeFileSync(file, db({ '81.2.69.0/24': LONDON }));
  const s = await startServer({ 'example.test.yaml': ZONE }, config(file));
  try {
    t.deepEqual((await answerFor(s.port, 'app.example.test', '81.2.69.0/24')).addrs, ['198.51.100.10']);
    // the same block now in Seattle: written beside and renamed over, as geoipupdate does
    writeFileSync(`${file}.new`, db({ '81.2.69.0/24': SEATTLE }));
    renameSync(`${file}.new`, file);
    const deadline = Date.now() + 8000;
    let now = await answerFor(s.port, 'app.example.test', '81.2.69.0/24');
    while (now.addrs[0] !== '192.0.2.10' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      now = await answerFor(s.port, 'app.example.test', '81.2.69.0/24');
    }
    t.deepEqual(now.addrs, ['192.0.2.10'], 'the new database answers');
    t.true(s.logs.some((l) => l.msg === 'GeoIP database reloaded'));
    // a broken file: logged, the last good database stays
    writeFileSync(file, Buffer.from('this is not a MaxMind DB'));
    const until = Date.now() + 8000;
    while (!s.logs.some((l) => String(l.msg).includes('keeping the previous database')) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    t.true(s.logs.some((l) => String(l.msg).includes('keeping the previous database')), 'the failure is logged');
    t.deepEqual((await answerFor(s.port, 'app.example.test', '81.2.69.0/24')).addrs, ['192.0.2.10']);
  } finally {
    await s.stop();
  }
});

test('a configured database that cannot be opened at startup: the bundled one stands in, loudly, until it opens', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'broken.mmdb');
  writeFileSync(file, 'not a database');
  const s = await startServer({ 'example.test.yaml': ZONE }, config(file));
  try {
    t.true(s.logs.some((l) => l.level === 50 && String(l.msg).includes('using the bundled country database')));
    t.regex(s.server.snapshot.db?.path ?? '', /geo-whois-asn-country\.mmdb$/);
    // when the configured file is fixed, it takes over
    writeFileSync(file, db({ '81.2.69.0/24': SEATTLE }));
    const deadline = Date.now() + 8000;
    while (s.server.snapshot.db?.path !== file && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    t.is(s.server.snapshot.db?.path, file);
    t.deepEqual((await answerFor(s.port, 'app.example.test', '81.2.69.0/24')).addrs, ['192.0.2.10']);
  } finally {
    await s.stop();
  }
});

test('an IPv4-only database leaves IPv6 clients unknown instead of reading them through the IPv4 tree', (t) => {
  const bundled4 = openDatabase(new URL('../../node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country-ipv4.mmdb', import.meta.url).pathname);
  t.is(bundled4.ipVersion, 4);
  const geo = new GeoLocator([], bundled4, () => undefined);
  t.is(geo.locate(ip('2001:218::1')).source, 'unknown');
  t.is(geo.locate(ip('2401:4900::1')).source, 'unknown');
  t.not(geo.locate(ip('81.2.69.142')).source, 'unknown');
});

test('a record with only a continent is unknown (no position), and every country has a point', (t) => {
  const geo = new GeoLocator([], openDatabaseFrom(db({ '7.7.0.0/16': { continent: 'AN' } })), () => undefined);
  const loc = geo.locate(ip('7.7.1.1'));
  t.is(loc.source, 'unknown');
  for (const [code, p] of Object.entries(COUNTRY_POINTS as Record<string, { lat?: number; lon?: number }>)) {
    t.true(typeof p.lat === 'number' && typeof p.lon === 'number', `${code} has a point`);
  }
});

function openDatabaseFrom(buf: Buffer) {
  const path = join(tempDir(), 'x.mmdb');
  writeFileSync(path, buf);
  return openDatabase(path);
}

test('sticky: an IPv4-mapped ECS address gets the scope of its IPv4 /24 (bits 96–119), not /56', (t) => {
  const cfg = serverConfig();
  const pool = poolOf(`check: { type: none }
select: sticky
regions:
  eu-west: [198.51.100.1, 198.51.100.2, 198.51.100.3, 198.51.100.4]`, cfg);
  const ctx = { geo: new GeoLocator([], openDatabaseFrom(db({ '9.0.0.0/8': LONDON })), () => undefined), useEcs: true };
  const env = { health: ALL_UP, rotation: new Rotation(), random: Math.random };
  const mapped = decidePool(pool, 4, client('192.0.2.1', '::ffff:9.1.0.0/120'), ctx, env);
  t.is(mapped.scope, 120);
  const sixToFour = decidePool(pool, 4, client('192.0.2.1', '2002:901:0::/40'), ctx, env);
  t.is(sixToFour.scope, 40);
  const plain = decidePool(pool, 4, client('192.0.2.1', '9.1.0.0/24'), ctx, env);
  t.is(plain.scope, 24);
});

test('wildcard pools and wildcard CNAMEs to a pool answer from the pool', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'geo.mmdb');
  writeFileSync(file, db({ '81.2.69.0/24': LONDON, '216.160.83.0/24': SEATTLE }));
  const s = await startServer({ 'example.test.yaml': ZONE }, config(file));
  try {
    t.deepEqual((await answerFor(s.port, 'anything.w.example.test', '81.2.69.0/24')).addrs, ['198.51.100.20']);
    t.deepEqual((await answerFor(s.port, 'anything.w.example.test', '216.160.83.0/24')).addrs, ['192.0.2.20']);
    const c = await answerFor(s.port, 'x.c.example.test', '216.160.83.0/24');
    t.deepEqual(c.addrs, ['192.0.2.10']);
    t.is(c.scope, '24');
  } finally {
    await s.stop();
  }
});

test('NODATA at a pool name carries an SOA TTL no longer than the decision (halved when degraded)', async (t) => {
  const s = await startServer({ 'example.test.yaml': ZONE });
  try {
    // eu-west (written second) holds the only IPv6 target; us-east first: no IPv6 there → NODATA
    const healthy = (await udp(s.port, query('v4only.example.test', 'AAAA'))).msg;
    t.is(healthy.answers.length, 0);
    t.is(healthy.authorities[0]!.ttl, 40, 'min(SOA minimum 300, pool ttl 40)');
    // the IPv4 target of us-east down: us-east has no healthy target, eu-west answers with a halved TTL
    const pool = s.server.snapshot.zones.get('example.test')!.pools.find((p) => p.name === 'v4only.example.test')!;
    s.server.health.set(pool.regions[0]!.targets[0]!.healthKey, { up: false });
    const degraded = (await udp(s.port, query('v4only.example.test', 'AAAA'))).msg;
    t.deepEqual(degraded.answers.map((a) => a.data), ['2001:db8:2::30']);
    t.is(degraded.answers[0]!.ttl, 20);
    const nodata = (await udp(s.port, query('v4only.example.test', 'A'))).msg;
    t.is(nodata.answers.length, 0, 'eu-west has no IPv4: NODATA, not us-east\'s down target');
    t.is(nodata.authorities[0]!.ttl, 20, 'the negative TTL is halved too');
  } finally {
    await s.stop();
  }
});
