// GeoIP edge cases found in review: the database reloaded when its file changes (and kept when the new
// one is broken), a broken database at startup, IPv4-only databases and IPv6 clients, continent-only
// records, countries without cities, sticky scopes for IPv4 inside IPv6, wildcard pools, NODATA TTLs; the
// data section walked when a database opens (bad sizes, types, pointers and nesting), and paths that are not
// files.
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { Reader } from 'maxmind';
import COUNTRY_POINTS from '../../src/gslb/country-points.generated.json' with { type: 'json' };
import { decidePool } from '../../src/gslb/decide.js';
import { GeoLocator, openDatabase } from '../../src/gslb/geo.js';
import { MAX_DATA_DEPTH } from '../../src/gslb/mmdb-check.js';
import { Rotation } from '../../src/gslb/rotation.js';
import { ALL_UP } from '../../src/health/table.js';
import { geoContext } from '../../src/snapshot.js';
import { geoRecord } from '../../tools/geodb-build.mjs';
import { encodeValue, type Value, writeMmdb } from '../../tools/mmdb-writer.mjs';
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
  const out = await dig(port, [`+subnet=${subnet}`, name, 'A']);
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
    while (!s.logs.some((l) => String(l.msg).includes('keeping the previous database')) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 200));
    t.true(
      s.logs.some((l) => String(l.msg).includes('keeping the previous database')),
      'the failure is logged',
    );
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
  const bundled4 = openDatabase(
    new URL('../../node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country-ipv4.mmdb', import.meta.url).pathname,
  );
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
  const pool = poolOf(
    `check: { type: none }
select: sticky
regions:
  eu-west: [198.51.100.1, 198.51.100.2, 198.51.100.3, 198.51.100.4]`,
    cfg,
  );
  const ctx = geoContext(cfg, openDatabaseFrom(db({ '9.0.0.0/8': LONDON })));
  t.true(ctx.useEcs);
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
    t.deepEqual(
      degraded.answers.map((a) => a.data),
      ['2001:db8:2::30'],
    );
    t.is(degraded.answers[0]!.ttl, 20);
    const nodata = (await udp(s.port, query('v4only.example.test', 'A'))).msg;
    t.is(nodata.answers.length, 0, "eu-west has no IPv4: NODATA, not us-east's down target");
    t.is(nodata.authorities[0]!.ttl, 20, 'the negative TTL is halved too');
  } finally {
    await s.stop();
  }
});

// ---- the data section, walked when the database opens ------------------------------------------------------

test('openDatabase: a database with every value type the writer emits passes the data section walk, nested up to the cap', (t) => {
  const x = (n: number) => 'x'.repeat(n);
  const every: Value = {
    // strings across the size classes: < 29, 29 + 1 byte, 285 + 2 bytes, 65,821 + 3 bytes
    strings: ['', 'é', x(28), x(29), x(284), x(285), x(65_820), x(65_821)],
    numbers: [0, 1, 0xffffffff, 2 ** 32, -1, 0.5, -122.33],
    typed: [
      { type: 'uint16', value: 0 },
      { type: 'uint16', value: 0xffff },
      { type: 'uint32', value: 0 },
      { type: 'uint32', value: 0xffffffff },
      { type: 'uint64', value: 0 },
      { type: 'uint64', value: 2 ** 63 },
      { type: 'double', value: 0 },
      { type: 'double', value: 47.61 },
    ],
    booleans: [true, false],
    empty: { map: {}, array: [], string: '' },
    wide: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i])),
    long: Array.from({ length: 300 }, (_, i) => `v${i}`),
  };
  // maps and arrays in turn, MAX_DATA_DEPTH of them, an empty array innermost
  const deep = (n: number): Value => (n === 1 ? [] : n % 2 ? [deep(n - 1)] : { a: deep(n - 1) });
  const buf = writeMmdb([
    { network: '81.2.69.0/24', data: every },
    { network: '81.2.70.0/24', data: deep(MAX_DATA_DEPTH) },
    { network: '2001:db8::/32', data: geoRecord(LONDON, '2001:db8::/32') },
  ]);
  const d = openDatabase(openDatabasePath(buf));
  const rec = d.reader.get('81.2.69.1')!;
  t.deepEqual(rec.strings, (every as { strings: string[] }).strings);
  t.deepEqual(rec.numbers, [0, 1, 0xffffffff, 2 ** 32, -1, 0.5, -122.33]);
  t.deepEqual(rec.typed, [0, 0xffff, 0, 0xffffffff, 0n, 2n ** 63n, 0, 47.61]);
  t.deepEqual(rec.booleans, [true, false]);
  t.deepEqual(d.reader.get('81.2.70.1'), deep(MAX_DATA_DEPTH));
  t.like(new GeoLocator([], d, () => undefined).locate(ip('2001:db8::1')), { source: 'database', lat: 51.51, lon: -0.09 });
});

const scratch = tempDir();
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));
let written = 0;

/** `buf` written to a file of its own; its path. */
function openDatabasePath(buf: Buffer): string {
  const path = join(scratch, `db${written++}.mmdb`);
  writeFileSync(path, buf);
  return path;
}

// One record, {k: 'a', v: 'b'}: a map of 2 pairs (0xe2) at data offset 0, then 2-byte strings (0x41, the
// character) at offsets 1 ("k"), 3 ("a"), 5 ("v") and 7 ("b"); 9 bytes. Bytes are written over it.
const REC: Value = { k: 'a', v: 'b' };

/** A database whose only record is REC with `patches` ([data offset, bytes]) written over it, and its path. */
function patched(patches: [number, number[]][]): string {
  const buf = writeMmdb([{ network: '81.2.69.0/24', data: REC }]);
  const dataAt = new Reader(buf).metadata.searchTreeSize + 16;
  for (const [off, bytes] of patches) Buffer.from(bytes).copy(buf, dataAt + off);
  return openDatabasePath(buf);
}

test('openDatabase: pointers back, ahead and as map keys, to the start of a value, pass the walk and read back', (t) => {
  t.deepEqual(encodeValue(REC), Buffer.from([0xe2, 0x41, 0x6b, 0x41, 0x61, 0x41, 0x76, 0x41, 0x62]));
  // 001 00 VVV, one more byte: an 11-bit pointer
  for (const [what, patches, want] of [
    ['back, to "a"', [[7, [0x20, 3]]], { k: 'a', v: 'a' }],
    ['ahead, to "b"', [[3, [0x20, 7]]], { k: 'b', v: 'b' }],
    ['a key pointing at the key "k"', [[5, [0x20, 1]]], { k: 'b' }],
  ] as [string, [number, number[]][], Value][]) {
    t.deepEqual(openDatabase(patched(patches)).reader.get('81.2.69.1'), want, what);
  }
});

test('openDatabase refuses a data section with a bad size, an unknown type, a bad pointer, a non-string key, a value cut by its end, or nesting past the cap', (t) => {
  const cases: [string, [number, number[]][], string][] = [
    ['uint16 of 3 bytes', [[3, [0xa3]]], 'a uint16 of 3 bytes at data offset 3 (uint16s are at most 2)'],
    ['uint32 of 5 bytes', [[3, [0xc5]]], 'a uint32 of 5 bytes at data offset 3 (uint32s are at most 4)'],
    ['int32 of 5 bytes', [[3, [0x05, 0x01]]], 'an int32 of 5 bytes at data offset 3 (int32s are at most 4)'],
    ['uint64 of 9 bytes', [[3, [0x09, 0x02]]], 'a uint64 of 9 bytes at data offset 3 (uint64s are at most 8)'],
    ['uint128 of 17 bytes', [[3, [0x11, 0x03]]], 'a uint128 of 17 bytes at data offset 3 (uint128s are at most 16)'],
    // the writer emits no floats: an extended type 15 (byte 8) of 8 bytes
    ['float of 8 bytes', [[3, [0x08, 0x08]]], 'a float of 8 bytes at data offset 3 (floats are 4)'],
    ['double of 9 bytes', [[3, [0x69]]], 'a double of 9 bytes at data offset 3 (doubles are 8)'],
    ['boolean of size 2', [[3, [0x02, 0x07]]], 'a boolean of size 2 at data offset 3 (booleans are 0 or 1)'],
    ['extended type 16', [[3, [0x00, 0x09]]], 'an unknown data type (extended type byte 9) at data offset 3'],
    ['extended type 7', [[3, [0x00, 0x00]]], 'an unknown data type (extended type byte 0) at data offset 3'],
    ['data cache container', [[3, [0x00, 0x05]]], 'a data cache container at data offset 3 (a deprecated type, not read by readers)'],
    ['end marker', [[3, [0x00, 0x06]]], 'an end marker at data offset 3 (a deprecated type, not read by readers)'],
    ['string of 28 bytes in the last 2', [[7, [0x5c]]], 'a string at data offset 7 runs past the end of the data section (9 bytes)'],
    ['pointer of 5 bytes in the last 2', [[7, [0x38]]], 'a pointer at data offset 7 runs past the end of the data section (9 bytes)'],
    ['map of 3 pairs holding 2', [[0, [0xe3]]], 'a map at data offset 0 runs past the end of the data section (9 bytes)'],
    ['uint16 key', [[5, [0xa1, 0x05]]], 'a map key at data offset 5 is a uint16 (keys are strings)'],
    [
      'key pointing at a uint16',
      [
        [3, [0xa1, 0x05]],
        [5, [0x20, 3]],
      ],
      'a map key at data offset 5 points to a uint16 at data offset 3 (keys are strings)',
    ],
    ['pointer past the data section', [[7, [0x20, 9]]], 'a pointer at data offset 7 to data offset 9, outside the data section (9 bytes)'],
    ['pointer into a string', [[7, [0x20, 2]]], 'a pointer at data offset 7 to data offset 2, which is not the start of a value'],
    ['pointer ahead into a string', [[3, [0x20, 8]]], 'a pointer at data offset 3 to data offset 8, which is not the start of a value'],
    [
      'pointer to a pointer',
      [
        [3, [0x20, 1]],
        [7, [0x20, 3]],
      ],
      'a pointer at data offset 7 to another pointer (at data offset 3)',
    ],
    ['pointer to the map it is in', [[7, [0x20, 0]]], 'a pointer at data offset 7 to data offset 0, a map that contains it (a loop)'],
  ];
  for (const [what, patches, message] of cases) {
    const path = patched(patches);
    t.throws(() => openDatabase(path), { message: `${path}: corrupt MaxMind DB: ${message}` }, what);
  }
  // arrays (2 control bytes each: extended type 11) nested one past the cap, the innermost empty
  const deep = (n: number): Value => (n === 1 ? [] : [deep(n - 1)]);
  const path = openDatabasePath(writeMmdb([{ network: '81.2.69.0/24', data: deep(MAX_DATA_DEPTH + 1) }]));
  t.throws(() => openDatabase(path), {
    message: `${path}: corrupt MaxMind DB: maps and arrays nested more than ${MAX_DATA_DEPTH} deep at data offset ${2 * MAX_DATA_DEPTH}`,
  });
});

test('openDatabase refuses a named pipe (reading one would block the event loop), a directory and a device, unread', (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'geo.mmdb');
  execFileSync('mkfifo', [fifo]);
  symlinkSync('geo.mmdb', join(dir, 'link.mmdb'));
  mkdirSync(join(dir, 'dir.mmdb'));
  for (const [path, what] of [
    [fifo, 'a named pipe'],
    [join(dir, 'link.mmdb'), 'a named pipe'],
    [join(dir, 'dir.mmdb'), 'a directory'],
    ['/dev/null', 'a device'],
  ]) {
    t.throws(() => openDatabase(path!), { message: `${path}: not a MaxMind DB: it is ${what}` });
  }
});
