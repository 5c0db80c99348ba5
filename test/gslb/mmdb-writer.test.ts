// The MaxMind DB writer (tools/mmdb-writer.mjs) read back by the `maxmind` reader: both record schemas,
// IPv4 and IPv6, nesting in either insertion order, host routes, every data type the writer emits (strings
// across the long-size control bytes, doubles, uint16/32/64, booleans, arrays, maps), the metadata, the 28-bit
// record size, and errors. Then tools/geodb-build.mjs: its CSV and YAML input and the record validation.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Reader } from 'maxmind';
import { GeoLocator, openDatabase, readRecord } from '../../src/gslb/geo.js';
import { geoRecord, parseNetworks } from '../../tools/geodb-build.mjs';
import { encodeValue, parseNetwork, type Value, writeMmdb } from '../../tools/mmdb-writer.mjs';
import { CITY, city, ip } from './helpers.js';

type Rec = Record<string, unknown>;
const read = (buf: Buffer) => new Reader<Rec>(buf);
const EPOCH = 1_700_000_000;

// ---- round trips -------------------------------------------------------------------------------------

test('nested (GeoIP2 City) and flat (@ip-location-db) records read back, IPv4 and IPv6', (t) => {
  const london = city('GB', 'EU', CITY.london, 'ENG');
  const r = read(
    writeMmdb([
      { network: '81.2.69.0/24', data: london },
      { network: '2001:218::/32', data: { country_code: 'JP', latitude: 35.69, longitude: 139.69 } },
      { network: '203.0.113.0/24', data: { country_code: 'AU' } },
    ]),
  );
  const [rec, prefix] = r.getWithPrefixLength('81.2.69.142');
  t.is(prefix, 24);
  t.deepEqual(rec, {
    continent: { code: 'EU' },
    country: { iso_code: 'GB' },
    location: { latitude: CITY.london[0], longitude: CITY.london[1] },
    subdivisions: [{ iso_code: 'ENG' }],
  });
  t.deepEqual(readRecord(rec!), { lat: 51.51, lon: -0.09, country: 'GB', continent: 'EU', subdivision: 'ENG' });
  const [jp, p6] = r.getWithPrefixLength('2001:218:ffff::1');
  t.is(p6, 32);
  t.deepEqual(jp, { country_code: 'JP', latitude: 35.69, longitude: 139.69 });
  t.deepEqual(r.get('203.0.113.200'), { country_code: 'AU' });
  t.is(r.get('81.2.70.1'), null);
  t.is(r.get('2001:219::1'), null);
  t.is(r.get('8.8.8.8'), null);
});

test('a more specific network inside a less specific one wins, whichever is given first', (t) => {
  const outer = { country_code: 'US' };
  const inner = { country_code: 'DE' };
  const a = writeMmdb(
    [
      { network: '9.0.0.0/8', data: outer },
      { network: '9.9.9.0/24', data: inner },
    ],
    { buildEpoch: EPOCH },
  );
  const b = writeMmdb(
    [
      { network: '9.9.9.0/24', data: inner },
      { network: '9.0.0.0/8', data: outer },
    ],
    { buildEpoch: EPOCH },
  );
  t.true(a.equals(b));
  for (const buf of [a, b]) {
    const r = read(buf);
    t.deepEqual(r.getWithPrefixLength('9.9.9.9'), [inner, 24]);
    t.deepEqual(r.get('9.9.8.255'), outer);
    t.deepEqual(r.get('9.9.10.0'), outer);
    t.deepEqual(r.get('9.0.0.0'), outer);
    t.deepEqual(r.get('9.255.255.255'), outer);
    t.is(r.get('10.0.0.0'), null);
  }
  // three levels, IPv6, reverse order
  const r6 = read(
    writeMmdb([
      { network: '2001:db8:1:1::/64', data: 'c' },
      { network: '2001:db8:1::/48', data: 'b' },
      { network: '2001:db8::/32', data: 'a' },
    ]),
  );
  t.deepEqual(r6.getWithPrefixLength('2001:db8:1:1::5'), ['c', 64]);
  t.deepEqual(r6.getWithPrefixLength('2001:db8:1:2::5'), ['b', 63]);
  t.is(r6.get('2001:db8:ffff::1') as unknown, 'a');
});

test('host routes: /32 and /128', (t) => {
  const r = read(
    writeMmdb([
      { network: '192.0.2.1/32', data: 'host4' },
      { network: '198.51.100.7', data: 'bare4' },
      { network: '2001:db8::1/128', data: 'host6' },
      { network: '2001:db8::/64', data: 'net6' },
    ]),
  );
  t.deepEqual(r.getWithPrefixLength('192.0.2.1'), ['host4', 32]);
  t.is(r.get('192.0.2.0'), null);
  t.is(r.get('192.0.2.2'), null);
  t.deepEqual(r.getWithPrefixLength('198.51.100.7'), ['bare4', 32]);
  t.deepEqual(r.getWithPrefixLength('2001:db8::1'), ['host6', 128]);
  t.deepEqual(r.get('2001:db8::2'), 'net6');
  t.deepEqual(r.get('2001:db8::'), 'net6');
});

test('IPv4 networks live at ::/96 of the IPv6 tree; whole-octet and odd prefixes', (t) => {
  const r = read(
    writeMmdb([
      { network: '10.0.0.0/7', data: 'slash7' },
      { network: '128.0.0.0/1', data: 'upper-half' },
      { network: '::ffff:0:0/96', data: 'mapped' },
    ]),
  );
  t.deepEqual(r.getWithPrefixLength('11.255.0.1'), ['slash7', 7]);
  t.deepEqual(r.getWithPrefixLength('200.1.1.1'), ['upper-half', 1]);
  t.is(r.get('12.0.0.0'), null);
  t.is(r.get('::10.0.0.1') as unknown, 'slash7');
  t.is(r.get('::ffff:1.2.3.4') as unknown, 'mapped');
});

test('identical records are stored once', (t) => {
  const data = { marker: 'only-once-in-the-data-section' };
  const nets = Array.from({ length: 50 }, (_, i) => ({ network: `10.${i}.0.0/16`, data }));
  const buf = writeMmdb(nets);
  let count = 0;
  for (let at = buf.indexOf('only-once'); at >= 0; at = buf.indexOf('only-once', at + 1)) count++;
  t.is(count, 1);
  const r = read(buf);
  for (let i = 0; i < 50; i++) t.deepEqual(r.get(`10.${i}.1.2`), data);
});

// ---- data types ------------------------------------------------------------------------------------------

test('strings across the control-byte size classes (<29, 29+1 byte, 285+2 bytes, 65821+3 bytes) round-trip', (t) => {
  const lengths = [0, 1, 28, 29, 30, 284, 285, 286, 65820, 65821, 65822, 200_000];
  const r = read(writeMmdb(lengths.map((n, i) => ({ network: `10.0.${i}.0/24`, data: { s: 'x'.repeat(n) } }))));
  for (const [i, n] of lengths.entries()) t.is((r.get(`10.0.${i}.1`) as { s: string }).s.length, n, `length ${n}`);
  // multi-byte UTF-8: the size counts bytes, not characters
  const text = 'São Paulo · Zürich · 東京 · '.repeat(10);
  t.true(Buffer.byteLength(text) > 285 && text.length < 285);
  t.is(read(writeMmdb([{ network: '10.1.0.0/16', data: text }])).get('10.1.0.1') as unknown, text);
});

test('encodeValue: control bytes of strings and extended types per the MaxMind DB spec', (t) => {
  t.deepEqual([...encodeValue('ab')], [0x42, 0x61, 0x62]);
  t.deepEqual([...encodeValue('x'.repeat(28)).subarray(0, 1)], [0x40 | 28]);
  t.deepEqual([...encodeValue('x'.repeat(29)).subarray(0, 2)], [0x40 | 29, 0]);
  t.deepEqual([...encodeValue('x'.repeat(284)).subarray(0, 2)], [0x40 | 29, 255]);
  t.deepEqual([...encodeValue('x'.repeat(285)).subarray(0, 3)], [0x40 | 30, 0, 0]);
  t.deepEqual([...encodeValue('x'.repeat(286)).subarray(0, 3)], [0x40 | 30, 0, 1]);
  t.deepEqual([...encodeValue('x'.repeat(65821)).subarray(0, 4)], [0x40 | 31, 0, 0, 0]);
  t.deepEqual([...encodeValue('x'.repeat(65821 + 0x010203)).subarray(0, 4)], [0x40 | 31, 1, 2, 3]);
  // booleans: extended type 14 (byte 2 = 14 - 7), the value in the size bits
  t.deepEqual([...encodeValue(true)], [0x01, 0x07]);
  t.deepEqual([...encodeValue(false)], [0x00, 0x07]);
  // arrays: extended type 11
  t.deepEqual([...encodeValue([])], [0x00, 0x04]);
  // maps: type 7, uint16: type 5, uint32: type 6, uint64: extended 9, double: type 3
  t.deepEqual([...encodeValue({})], [0xe0]);
  t.deepEqual([...encodeValue({ type: 'uint16', value: 0x1234 })], [0xa2, 0x12, 0x34]);
  t.deepEqual([...encodeValue({ type: 'uint32', value: 0 })], [0xc0]);
  t.deepEqual([...encodeValue(7)], [0xc1, 7]);
  t.deepEqual([...encodeValue({ type: 'uint64', value: 2 ** 32 })], [0x05, 0x02, 1, 0, 0, 0, 0]);
  t.deepEqual([...encodeValue({ type: 'double', value: 1 })], [0x68, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]);
});

test('doubles, uint16/32/64, booleans, arrays and maps round-trip through the reader', (t) => {
  const data: Value = {
    dbl: { type: 'double', value: -33.8688 },
    frac: 0.1,
    neg: -7,
    big: 2 ** 40,
    u16: { type: 'uint16', value: 65535 },
    u32: { type: 'uint32', value: 0xffffffff },
    u32zero: 0,
    u64: { type: 'uint64', value: 2 ** 53 + 2 },
    u64max: { type: 'uint64', value: Number.MAX_SAFE_INTEGER },
    yes: true,
    no: false,
    list: [1, 'two', [3, { four: 4 }], { type: 'double', value: 5.5 }],
    empty: { list: [], map: {}, text: '' },
    nested: { a: { b: { c: { d: 'deep' } } } },
  };
  const rec = read(writeMmdb([{ network: '2001:db8::/32', data }])).get('2001:db8::1') as Rec;
  t.deepEqual(rec, {
    dbl: -33.8688,
    frac: 0.1,
    neg: -7,
    big: 2 ** 40,
    u16: 65535,
    u32: 0xffffffff,
    u32zero: 0,
    u64: BigInt(2 ** 53 + 2),
    u64max: BigInt(Number.MAX_SAFE_INTEGER),
    yes: true,
    no: false,
    list: [1, 'two', [3, { four: 4 }], 5.5],
    empty: { list: [], map: {}, text: '' },
    nested: { a: { b: { c: { d: 'deep' } } } },
  });
});

test('a map with more than 28 keys and an array with more than 285 items', (t) => {
  const map = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]));
  const list = Array.from({ length: 300 }, (_, i) => i % 2 === 0);
  const r = read(writeMmdb([{ network: '10.0.0.0/8', data: { map, list } }]));
  t.deepEqual(r.get('10.1.2.3'), { map, list });
});

// ---- metadata and the tree ---------------------------------------------------------------------------

test('metadata: IPv6 tree, 24-bit records, node count, type, description, languages, epoch', (t) => {
  const buf = writeMmdb(
    [
      { network: '10.0.0.0/8', data: 'a' },
      { network: '2001:db8::/32', data: 'b' },
    ],
    { databaseType: 'steerdns-Test', description: 'unit test', languages: ['en', 'de'], buildEpoch: EPOCH },
  );
  const m = read(buf).metadata;
  t.is(m.ipVersion, 6);
  t.is(m.recordSize, 24);
  t.is(m.nodeByteSize, 6);
  t.is(m.binaryFormatMajorVersion, 2);
  t.is(m.binaryFormatMinorVersion, 0);
  t.is(m.databaseType, 'steerdns-Test');
  t.deepEqual(m.description, { en: 'unit test' });
  t.deepEqual(m.languages, ['en', 'de']);
  t.is(m.buildEpoch.getTime(), EPOCH * 1000);
  // 10.0.0.0/8 sits 96 + 8 bits deep (104 nodes on its path), 2001:db8::/32 32 deep (32 nodes); both start
  // with two zero bits, so they share the root and the two nodes below it
  t.is(m.nodeCount, 104 + 32 - 3);
  t.is(m.searchTreeSize, m.nodeCount * 6);
  // after the tree: 16 zero bytes, then the data section
  t.true(buf.subarray(m.searchTreeSize, m.searchTreeSize + 16).equals(Buffer.alloc(16)));
  t.is(buf[m.searchTreeSize + 16], 0x41); // a one-byte string ("a" or "b")
  const defaults = read(writeMmdb([{ network: '10.0.0.0/8', data: 'a' }])).metadata;
  t.is(defaults.databaseType, 'steerdns-geo');
  t.deepEqual(defaults.languages, ['en']);
  t.true(Math.abs(defaults.buildEpoch.getTime() - Date.now()) < 60_000);
});

test('28-bit records when the data section passes 2^24 bytes (pointers above 2^24 use the shared nibble)', (t) => {
  const huge = 'g'.repeat(16_800_000);
  const buf = writeMmdb([
    { network: '10.0.0.0/8', data: { pad: huge } },
    { network: '11.0.0.0/8', data: { after: 'the padding' } },
    { network: '2001:db8::/32', data: { v6: true } },
  ]);
  const r = read(buf);
  t.is(r.metadata.recordSize, 28);
  t.is(r.metadata.nodeByteSize, 7);
  t.deepEqual(r.getWithPrefixLength('11.1.2.3'), [{ after: 'the padding' }, 8]);
  t.is((r.get('10.9.9.9') as { pad: string }).pad.length, huge.length);
  t.deepEqual(r.get('2001:db8::1'), { v6: true });
  t.is(r.get('12.0.0.1'), null);
  t.is(r.get('2001:db9::1'), null);
});

test('a database from the writer opens with openDatabase and serves GeoLocator lookups', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'steerdns-mmdb-'));
  try {
    const file = join(dir, 'test.mmdb');
    writeFileSync(file, writeMmdb([{ network: '81.2.69.0/24', data: city('GB', 'EU', CITY.london) }], { databaseType: 'steerdns-Test' }));
    const db = openDatabase(file);
    t.is(db.description, 'steerdns-Test');
    const geo = new GeoLocator([], db, () => undefined);
    t.like(geo.locate(ip('81.2.69.142')), { source: 'database', country: 'GB', network: '81.2.69.0/24', prefix: 24 });
    writeFileSync(join(dir, 'bad.mmdb'), 'not a database');
    t.throws(() => openDatabase(join(dir, 'bad.mmdb')), { message: /not a readable MaxMind DB/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- errors --------------------------------------------------------------------------------------------

test('bad networks are errors', (t) => {
  const bad = (network: string, message: RegExp) => t.throws(() => writeMmdb([{ network, data: 'x' }]), { message }, network);
  bad('foo/8', /"foo\/8" is not an IP network/);
  bad('10.0.0/8', /not an IP network/);
  bad('300.1.1.1/8', /not an IP network/);
  bad('', /not an IP network/);
  bad('1.2.3.0/33', /bad prefix length/);
  bad('1.2.3.0/-1', /bad prefix length/);
  bad('1.2.3.0/x', /bad prefix length/);
  bad('1.2.3.0/24.5', /bad prefix length/);
  bad('2001:db8::/129', /bad prefix length/);
  bad('::/0', /\/0 network is not supported/);
  t.deepEqual(parseNetwork('10.1.0.0/16'), { bytes: Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 1, 0, 0]), prefix: 112 });
  t.deepEqual(parseNetwork('2001:db8::/32').prefix, 32);
  t.deepEqual([...parseNetwork('::ffff:1.2.3.4').bytes], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]);
});

test('values that cannot be encoded are errors', (t) => {
  t.throws(() => encodeValue({ type: 'int32', value: 1 } as unknown as Value), { message: /unknown typed value int32/ });
  t.throws(() => encodeValue(null as unknown as Value), { message: /cannot encode/ });
  t.throws(() => encodeValue(undefined as unknown as Value), { message: /cannot encode/ });
  t.throws(() => writeMmdb([{ network: '10.0.0.0/8', data: { f: (() => 1) as unknown as Value } }]), { message: /cannot encode/ });
});

// ---- tools/geodb-build.mjs ---------------------------------------------------------------------------

test('geodb-build: geoRecord builds the GeoIP2 City shape, upper-casing codes', (t) => {
  t.deepEqual(geoRecord({ country: 'gb', continent: 'eu', location: [51.5, -0.1], subdivision: 'eng' }, 'x'), {
    continent: { code: 'EU' },
    country: { iso_code: 'GB' },
    location: { latitude: { type: 'double', value: 51.5 }, longitude: { type: 'double', value: -0.1 } },
    subdivisions: [{ iso_code: 'ENG' }],
  });
  t.deepEqual(geoRecord({ country: 'JP' }, 'x'), { country: { iso_code: 'JP' } });
  t.deepEqual(geoRecord({ location: [0, 0] }, 'x'), {
    location: { latitude: { type: 'double', value: 0 }, longitude: { type: 'double', value: 0 } },
  });
});

test('geodb-build: geoRecord rejects bad continents, countries, locations and empty entries', (t) => {
  const bad = (e: object, message: RegExp) => t.throws(() => geoRecord(e, 'nets.yaml: 10.0.0.0/8'), { message }, JSON.stringify(e));
  bad({ continent: 'XX' }, /^nets\.yaml: 10\.0\.0\.0\/8: continent must be one of AF, AN, AS, EU, NA, OC, SA$/);
  bad({ country: 'GBR' }, /country must be a two-letter ISO code/);
  bad({ country: 'G1' }, /country must be a two-letter ISO code/);
  bad({ location: [91, 0] }, /location must be \[latitude, longitude\]/);
  bad({ location: [0, -180.5] }, /location must be \[latitude, longitude\]/);
  bad({ location: ['51', '0'] }, /location must be \[latitude, longitude\]/);
  bad({ location: [51] }, /location must be \[latitude, longitude\]/);
  bad({ location: [Number.NaN, 0] }, /location must be \[latitude, longitude\]/);
  bad({}, /give at least one of country, continent, location/);
  bad({ subdivision: 'CA' }, /give at least one of country, continent, location/);
});

test('geodb-build: CSV with a header, comments, blank lines, CRLF and empty cells', (t) => {
  const csv = [
    '# private networks',
    'network,country,continent,latitude,longitude,subdivision',
    '',
    '10.20.0.0/16,GB,EU,51.5,-0.1,ENG',
    '10.30.0.0/16,us,,40.7,-74.0,',
    '10.40.0.0/16,DE,EU,,,',
    '2001:db8:100::/48,,OC,,,',
  ].join('\r\n');
  const nets = parseNetworks(csv, 'nets.csv');
  t.deepEqual(
    nets.map((n) => n.network),
    ['10.20.0.0/16', '10.30.0.0/16', '10.40.0.0/16', '2001:db8:100::/48'],
  );
  t.deepEqual(nets[1]!.data, {
    country: { iso_code: 'US' },
    location: { latitude: { type: 'double', value: 40.7 }, longitude: { type: 'double', value: -74 } },
  });
  t.deepEqual(nets[2]!.data, { continent: { code: 'EU' }, country: { iso_code: 'DE' } });
  // columns in any order; missing trailing cells are empty
  const swapped = parseNetworks('latitude,longitude,network,country\n1.5,2.5,10.0.0.0/8\n', 'x.CSV');
  t.deepEqual(swapped[0]!.data, { location: { latitude: { type: 'double', value: 1.5 }, longitude: { type: 'double', value: 2.5 } } });
  // and the whole way through the writer and the server's reader
  const r = read(writeMmdb(nets));
  t.deepEqual(readRecord(r.get('10.20.1.1')!), { lat: 51.5, lon: -0.1, country: 'GB', continent: 'EU', subdivision: 'ENG' });
  t.like(readRecord(r.get('10.40.1.1')!), { country: 'DE', lat: undefined });
  t.like(readRecord(r.get('2001:db8:100::1')!), { continent: 'OC', country: undefined });
});

test('geodb-build: CSV errors name the file and line', (t) => {
  t.throws(() => parseNetworks('10.0.0.0/8,GB\n', 'nets.csv'), { message: /nets\.csv: the first line must be a header/ });
  t.throws(() => parseNetworks('', 'nets.csv'), { message: /header/ });
  t.throws(() => parseNetworks('# a comment\nnetwork,country\n\n10.0.0.0/8,GBR\n', 'nets.csv'), {
    message: /^nets\.csv:4: country must be/,
  });
  // one coordinate without the other is an error, not a point on the equator or the meridian
  t.throws(() => parseNetworks('network,latitude,longitude\n10.0.0.0/8,51.5,\n', 'nets.csv'), {
    message: /^nets\.csv:2: location must be/,
  });
  t.throws(() => parseNetworks('network,latitude,longitude\n10.0.0.0/8,,-0.1\n', 'nets.csv'), {
    message: /^nets\.csv:2: location must be/,
  });
  t.throws(() => parseNetworks('network,latitude,longitude\n10.0.0.0/8,north,0\n', 'nets.csv'), { message: /location must be/ });
  t.throws(() => parseNetworks('network,country\n10.0.0.0/8,\n', 'nets.csv'), { message: /^nets\.csv:2: give at least one/ });
});

test('geodb-build: YAML with or without a networks: key', (t) => {
  const yaml = `networks:
  "10.20.0.0/16": { country: gb, continent: EU, location: [51.5, -0.1], subdivision: ENG }
  "2001:db8:100::/48": { continent: OC }
`;
  const nets = parseNetworks(yaml, 'nets.yaml');
  t.deepEqual(
    nets.map((n) => n.network),
    ['10.20.0.0/16', '2001:db8:100::/48'],
  );
  t.deepEqual(nets[0]!.data, geoRecord({ country: 'GB', continent: 'EU', location: [51.5, -0.1], subdivision: 'ENG' }, 'x'));
  t.deepEqual(
    parseNetworks('"10.0.0.0/8": { country: SE }\n', 'bare.yml').map((n) => n.data),
    [{ country: { iso_code: 'SE' } }],
  );
  t.throws(() => parseNetworks('just text', 'x.yaml'), { message: /x\.yaml: expected a networks: mapping/ });
  t.throws(() => parseNetworks('networks:\n  "10.0.0.0/8":\n', 'x.yaml'), { message: /x\.yaml: 10\.0\.0\.0\/8: give at least one/ });
  t.throws(() => parseNetworks('networks:\n  "10.0.0.0/8": { continent: Europe }\n', 'x.yaml'), {
    message: /x\.yaml: 10\.0\.0\.0\/8: continent must be/,
  });
});

test('geodb-build: the command writes a database the reader opens, and reports errors with exit 1', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'steerdns-geodb-'));
  const tool = join(import.meta.dirname, '..', '..', 'tools', 'geodb-build.mjs');
  try {
    writeFileSync(join(dir, 'nets.yaml'), 'networks:\n  "10.20.0.0/16": { country: GB, location: [51.5, -0.1] }\n');
    const out = execFileSync(process.execPath, [tool, join(dir, 'nets.yaml'), '-o', join(dir, 'nets.mmdb')], { encoding: 'utf8' });
    t.regex(out, /nets\.mmdb: 1 networks/);
    const r = read(readFileSync(join(dir, 'nets.mmdb')));
    t.like(readRecord(r.get('10.20.3.4')!), { country: 'GB', lat: 51.5, lon: -0.1 });
    t.regex((r.metadata.description as unknown as { en: string }).en, /nets\.yaml/);
    writeFileSync(join(dir, 'bad.csv'), 'network,country\nnot-a-network,GB\n');
    const err = t.throws(() =>
      execFileSync(process.execPath, [tool, join(dir, 'bad.csv'), '-o', join(dir, 'bad.mmdb')], { stdio: 'pipe' }),
    ) as Error & { status: number; stderr: Buffer };
    t.is(err.status, 1);
    t.regex(err.stderr.toString(), /geodb-build: "not-a-network" is not an IP network/);
    const usage = t.throws(() => execFileSync(process.execPath, [tool], { stdio: 'pipe' })) as Error & { status: number; stderr: Buffer };
    t.is(usage.status, 2);
    t.regex(usage.stderr.toString(), /usage:/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('networks with host bits set, or a bad prefix, are refused (like steerdns.yaml)', (t) => {
  for (const n of ['10.0.0.1/8', '2001:db8::1/32', '1.2.3.0/', '1.2.3.0/24/1', '1.2.3.0/x']) {
    t.throws(() => writeMmdb([{ network: n, data: 'x' }]), undefined, n);
  }
  t.throws(() => writeMmdb([{ network: '1.2.3.0/24', data: { v: { type: 'uint16', value: 70000 } } }]), { message: /uint16 out of range/ });
});

test('other tree shapes: a chosen record size, an IPv4-only tree, and MaxMind-style aliases into the IPv4 subtree', (t) => {
  const nets: { network: string; data: Value }[] = [
    { network: '81.2.69.0/24', data: { a: 1 } },
    { network: '2001:db8::/32', data: { b: 2 } },
  ];
  for (const recordSize of [24, 28, 32] as const) {
    const r = new Reader(writeMmdb(nets, { recordSize }));
    t.is(r.metadata.recordSize, recordSize);
    t.deepEqual(r.getWithPrefixLength('81.2.69.7'), [{ a: 1 }, 24]);
    t.deepEqual(r.getWithPrefixLength('2001:db8::1'), [{ b: 2 }, 32]);
  }
  const v4 = new Reader(writeMmdb(nets.slice(0, 1), { ipVersion: 4 }));
  t.is(v4.metadata.ipVersion, 4);
  t.deepEqual(v4.getWithPrefixLength('81.2.69.7'), [{ a: 1 }, 24]);
  t.deepEqual(v4.getWithPrefixLength('81.2.70.7'), [null, 23]);
  t.throws(() => writeMmdb(nets, { ipVersion: 4 }), { message: '2001:db8::/32: an IPv4-only tree holds IPv4 networks only' });
  const aliased = new Reader(writeMmdb(nets, { aliases: true }));
  // ::ffff:81.2.69.7, 6to4 2002:5102:4507:: and Teredo 2001:0:5102:4507:: all walk into the IPv4 subtree
  t.deepEqual(aliased.getWithPrefixLength('::ffff:5102:4507'), [{ a: 1 }, 120]);
  t.deepEqual(aliased.getWithPrefixLength('2002:5102:4507::'), [{ a: 1 }, 40]);
  t.deepEqual(aliased.getWithPrefixLength('2001:0:5102:4507::'), [{ a: 1 }, 56]);
  t.throws(() => writeMmdb([{ network: '10.0.0.0/8', data: 'x'.repeat(16_800_000) }], { recordSize: 24 }), {
    message: 'records of 24 bits cannot hold this tree (28 needed)',
  });
});
