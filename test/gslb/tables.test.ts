// The compiled GeoIP decision tables in the running server (src/gslb/compile.ts GeoTables, src/snapshot.ts): one
// per ordering key, shared by pools with the same regions; compiled at load and kept across zone reloads while
// the database and overlays stay; a new database compiles anew; a database whose search tree loops is refused
// like one that does not open, and the previous database and its tables keep answering (docs/dns-behaviour.md#step-7-ecs-scope).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { geoRecord } from '../../tools/geodb-build.mjs';
import { writeMmdb } from '../../tools/mmdb-writer.mjs';
import { BASE_CONFIG, dig, startServer, tempDir } from '../helpers/server.js';

const LONDON = { country: 'GB', continent: 'EU', location: [51.51, -0.09] as [number, number] };
const SEATTLE = { country: 'US', continent: 'NA', location: [47.6, -122.3] as [number, number] };

const db = (nets: Record<string, typeof LONDON>) =>
  writeMmdb(Object.entries(nets).map(([network, e]) => ({ network, data: geoRecord(e, network) })));

const pool = (name: string, last: number, regions = ['us-east', 'eu-west']) => `  ${name}:
    pool:
      check: { type: none }
      regions:
${regions.map((r, i) => `        ${r}: [192.0.2.${last + i}]`).join('\n')}
`;

const zone = (pools: string) => `origin: example.test
soa: { ns: ns1.example.test., email: hostmaster@example.test, serial: 1 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
${pools}`;

async function answer(port: number, name: string, subnet: string): Promise<{ addrs: string[]; scope: number }> {
  const out = await dig(port, [`+subnet=${subnet}`, name, 'A']);
  return { addrs: [...out.matchAll(/\tIN\tA\t(\S+)/g)].map((m) => m[1]!), scope: Number(/CLIENT-SUBNET: \S+\/(\d+)/.exec(out)?.[1]) };
}

test('pools with the same regions share one table; a zone reload keeps the tables of unchanged keys and compiles new ones', async (t) => {
  const file = join(tempDir(), 'geo.mmdb');
  writeFileSync(file, db({ '81.2.69.0/24': LONDON, '81.2.68.0/24': LONDON, '216.160.83.0/24': SEATTLE }));
  const s = await startServer(
    { 'example.test.yaml': zone(pool('a', 10) + pool('b', 20) + pool('one', 30, ['eu-west'])) },
    `${BASE_CONFIG}geoip: { database: ${file}, ecs: true }\n`,
  );
  try {
    const tables = () => s.server.snapshot.geo.tables;
    const pools = () => s.server.snapshot.zones.get('example.test')!.pools;
    const [a, b] = pools();
    // a and b have other targets but one ordering key; the single-region pool needs no table
    t.is(a!.keyText, b!.keyText);
    t.is(tables().stats.keys, 1);
    t.is(tables().get(a!), tables().get(b!));
    // the two London /24s get one answer: one /23 (docs/dns-behaviour.md#step-7-ecs-scope)
    t.deepEqual(await answer(s.port, 'a.example.test', '81.2.69.0/24'), { addrs: ['192.0.2.11'], scope: 23 });
    t.deepEqual(await answer(s.port, 'a.example.test', '216.160.83.0/24'), { addrs: ['192.0.2.10'], scope: 24 });
    const before = tables().get(a!);
    // a reload that adds a pool of another key: the existing table is kept as it is, the new key compiled
    writeFileSync(
      join(s.dir, 'zones', 'example.test.yaml'),
      zone(pool('a', 10) + pool('b', 20) + pool('c', 40, ['eu-west', 'us-east', 'ap-south'])).replace('serial: 1', 'serial: 2'),
    );
    await s.server.reloadZones();
    const [a2, , c] = pools();
    t.not(a2, a, 'the zone was rebuilt');
    t.is(tables().get(a2!), before, 'the table of an unchanged key is reused');
    t.is(tables().stats.keys, 2);
    t.deepEqual(await answer(s.port, 'c.example.test', '216.160.83.0/24'), { addrs: ['192.0.2.41'], scope: 24 });
    t.is(c!.keyText === a2!.keyText, false);
  } finally {
    await s.stop();
  }
});

test('a database whose search tree loops is refused at reload: the previous database and its tables keep answering', async (t) => {
  const file = join(tempDir(), 'geo.mmdb');
  writeFileSync(file, db({ '81.2.69.0/24': LONDON }));
  const s = await startServer({ 'example.test.yaml': zone(pool('a', 10)) }, `${BASE_CONFIG}geoip: { database: ${file}, ecs: true }\n`);
  try {
    const first = s.server.snapshot;
    t.deepEqual((await answer(s.port, 'a.example.test', '81.2.69.0/24')).addrs, ['192.0.2.11']);
    // Seattle now, but node 3's left record points back at the root: the reader still answers lookups (it stops
    // after 128 bits), the compile walks past the last bit of an address
    const looping = db({ '81.2.69.0/24': SEATTLE });
    looping.writeUIntBE(0, 3 * 6, 3);
    writeFileSync(file, looping);
    await s.server.reloadDatabase();
    const after = s.server.snapshot;
    t.is(after.db, first.db, 'the previous database stays');
    t.is(after.geo, first.geo, 'and its tables');
    t.regex(
      after.dbError ?? '',
      /corrupt MaxMind DB: the search tree goes deeper than an IPv4 address \(node \d+ after bit 32\): it loops \(keeping the previous database /,
    );
    t.true(s.logs.some((l) => l.level === 50 && String(l.msg).includes('corrupt MaxMind DB')));
    t.deepEqual((await answer(s.port, 'a.example.test', '81.2.69.0/24')).addrs, ['192.0.2.11']);
    // a sound database then takes over
    writeFileSync(file, db({ '81.2.69.0/24': SEATTLE }));
    await s.server.reloadDatabase();
    t.deepEqual((await answer(s.port, 'a.example.test', '81.2.69.0/24')).addrs, ['192.0.2.10']);
    t.is(s.server.snapshot.dbError, null);
  } finally {
    await s.stop();
  }
});

test('a configured database whose tree loops at startup: the bundled database stands in, loudly', async (t) => {
  const file = join(tempDir(), 'geo.mmdb');
  const looping = db({ '81.2.69.0/24': SEATTLE });
  looping.writeUIntBE(0, 3 * 6, 3);
  writeFileSync(file, looping);
  const s = await startServer({ 'example.test.yaml': zone(pool('a', 10)) }, `${BASE_CONFIG}geoip: { database: ${file}, ecs: true }\n`);
  try {
    t.regex(s.server.snapshot.db?.path ?? '', /geo-whois-asn-country\.mmdb$/);
    t.regex(s.server.snapshot.dbError ?? '', /corrupt MaxMind DB: .*\(using the bundled country database until it opens\)/);
    t.is(s.server.snapshot.geo.tables.stats.keys, 1);
  } finally {
    await s.stop();
  }
});
