// The MaxMind DB search tree read from the file's bytes (src/gslb/mmdb-tree.ts), against the MaxMind reader
// (the maxmind package) as the oracle: every block of the walk, in address order and covering the address
// space, is the network the reader answers for its first and last address, with the same record; records of
// 24, 28 and 32 bits, IPv4 inside an IPv6 tree and an IPv4-only tree; alias networks are not entered; the
// fields locating reads come out as readRecord reads them from the reader's record; a tree that loops or
// points outside the data section fails cleanly (https://maxmind.github.io/MaxMind-DB/).
import { createRequire } from 'node:module';
import test from 'ava';
import { Reader } from 'maxmind';
import { readRecord } from '../../src/gslb/geo.js';
import { addCut, type Cuts, newCuts, openTree, RecordFields, recordOf, TreeError, walkTree } from '../../src/gslb/mmdb-tree.js';
import { bytesToIp } from '../../src/net/address.js';
import { type Value, writeMmdb } from '../../tools/mmdb-writer.mjs';
import { CITY, city, FIXTURE_NETWORKS, ip, mulberry32 } from './helpers.js';

interface Block {
  start: bigint;
  depth: number;
  data: number;
  alias: number;
}

/** Every block of a walk with `cuts`, with its first address. */
function blocks(buf: Buffer | null, family: 4 | 6, cuts: Cuts = newCuts()): Block[] {
  const bits = family === 4 ? 32 : 128;
  const out: Block[] = [];
  let next = 0n;
  const add = (depth: number, data: number, alias: number) => {
    out.push({ start: next, depth, data, alias });
    next += 1n << BigInt(bits - depth);
    return 0;
  };
  walkTree(buf ? openTree(buf) : null, family, cuts, {
    block: (depth, data) => add(depth, data, 0),
    alias: (depth, alias) => add(depth, -1, alias),
    join: () => 0,
  });
  if (next !== 1n << BigInt(bits)) throw new Error(`the blocks cover ${next} addresses of ${1n << BigInt(bits)}`);
  return out;
}

function addressOf(n: bigint, family: 4 | 6): string {
  const len = family === 4 ? 4 : 16;
  const b = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    b[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return bytesToIp(b);
}

const ALIASES: [bigint, number][] = [
  [0xffffn << 32n, 96],
  [0x20010000n << 96n, 32],
  [0x2002n << 112n, 16],
];

/** The alias networks of IPv6 (::ffff:0:0/96, 2001::/32, 2002::/16) as cuts. */
function aliasCuts(): Cuts {
  const c = newCuts();
  addCut(c, ip('::ffff:0.0.0.0'), 96, { alias: 1 });
  addCut(c, ip('2001::'), 32, { alias: 3 });
  addCut(c, ip('2002::'), 16, { alias: 2 });
  return c;
}

/** Checks every block of both families against the reader: first (and last) address, record and prefix. */
function sameAsReader(t: import('ava').ExecutionContext, buf: Buffer, ends: 1 | 2 = 2): number {
  const reader = new Reader<Record<string, unknown>>(buf);
  const tree = openTree(buf);
  const fields = new RecordFields(tree);
  let checked = 0;
  for (const family of [4, 6] as const) {
    if (family === 6 && tree.ipVersion === 4) continue;
    const bits = family === 4 ? 32 : 128;
    for (const b of blocks(buf, family, family === 6 ? aliasCuts() : newCuts())) {
      if (b.alias) continue;
      const last = b.start + (1n << BigInt(bits - b.depth)) - 1n;
      for (const a of ends === 2 ? [b.start, last] : [b.start]) {
        const text = addressOf(a, family);
        const [rec, prefix] = reader.getWithPrefixLength(text);
        // the reader's network, when longer than the block, holds an alias network the walk cut out
        const cutOut =
          prefix < b.depth && ALIASES.some(([n, len]) => len >= prefix && n >> BigInt(128 - prefix) === a >> BigInt(128 - prefix));
        if ((prefix !== b.depth && !(family === 6 && cutOut)) || (rec === null) !== b.data < 0) {
          t.fail(`${text}: the walk has /${b.depth} ${b.data < 0 ? 'without data' : 'with data'}, the reader /${prefix} ${rec}`);
          return checked;
        }
        if (rec) {
          const want = readRecord(rec);
          const got = fields.fieldsOf[fields.idOf(b.data)]!;
          if (JSON.stringify(got) !== JSON.stringify(want)) {
            t.deepEqual(got, want, text);
            return checked;
          }
        }
        checked++;
      }
    }
  }
  t.pass();
  return checked;
}

/** City-shaped networks: many small ones with varied records, some adjacent with the same place. */
function cityNetworks(n: number, seed: number): { network: string; data: Value }[] {
  const random = mulberry32(seed);
  const places = Object.values(CITY);
  const out: { network: string; data: Value }[] = [];
  const seen = new Set<string>();
  while (out.length < n) {
    const len = 16 + Math.floor(random() * 13);
    const a = Math.floor(random() * 2 ** 32) >>> (32 - len);
    const base = (a << (32 - len)) >>> 0;
    const text = `${base >>> 24}.${(base >>> 16) & 255}.${(base >>> 8) & 255}.${base & 255}/${len}`;
    if (seen.has(text)) continue;
    seen.add(text);
    const p = places[Math.floor(random() * places.length)]!;
    out.push({ network: text, data: city('XX', 'EU', p, String(out.length % 7)) });
  }
  return out;
}

test('every block of the walk is the network the reader answers for its first and last address (24-, 28- and 32-bit records)', (t) => {
  const nets = [...FIXTURE_NETWORKS, ...cityNetworks(400, 1)];
  for (const recordSize of [24, 28, 32] as const) {
    const buf = writeMmdb(nets, { recordSize });
    t.is(openTree(buf).recordSize, recordSize);
    t.true(sameAsReader(t, buf) > 800);
  }
});

test('an IPv4-only tree: IPv4 from the root, no IPv6 tree (every IPv6 block without data)', (t) => {
  const v4 = FIXTURE_NETWORKS.filter((n) => !n.network.includes(':'));
  const buf = writeMmdb([...v4, ...cityNetworks(200, 2)], { ipVersion: 4 });
  t.is(openTree(buf).ipVersion, 4);
  sameAsReader(t, buf);
  t.deepEqual(blocks(buf, 6), [{ start: 0n, depth: 0, data: -1, alias: 0 }]);
  t.deepEqual(blocks(null, 4), [{ start: 0n, depth: 0, data: -1, alias: 0 }]);
});

test('the alias networks of a MaxMind-style tree are cut out, not entered: each node is read once', (t) => {
  const buf = writeMmdb([...FIXTURE_NETWORKS, ...cityNetworks(300, 3)], { aliases: true });
  const reader = new Reader(buf);
  // the reader goes through the alias into the IPv4 subtree
  t.deepEqual(reader.getWithPrefixLength('2002:5102:5::1')[0], reader.get('81.2.0.5'));
  sameAsReader(t, buf);
  const tree = openTree(buf);
  let reads = 0;
  const counting = { ...tree, bytes: tree.bytes };
  const all = blocks(buf, 6, aliasCuts());
  const aliases = all.filter((b) => b.alias).map((b) => `${addressOf(b.start, 6)}/${b.depth} ${b.alias}`);
  t.deepEqual(aliases, ['::ffff:0.0.0.0/96 1', '2001::/32 3', '2002::/16 2']);
  // without the cuts the walk reads the IPv4 subtree four times over (::/96 and three aliases)
  walkTree(counting, 6, newCuts(), { block: () => 0, alias: () => 0, join: () => ++reads });
  const withCuts = { n: 0 };
  walkTree(counting, 6, aliasCuts(), { block: () => 0, alias: () => 0, join: () => ++withCuts.n });
  t.is(withCuts.n, tree.nodeCount, 'each node entered once');
  t.true(reads > withCuts.n);
});

test('cuts split blocks at overlay networks and ranges, marking the innermost overlay and the range', (t) => {
  const buf = writeMmdb([{ network: '9.0.0.0/8', data: city('US', 'NA', CITY.newYork) }]);
  const c = newCuts();
  addCut(c, ip('9.9.0.0'), 16, { overlay: 0 });
  addCut(c, ip('9.9.9.0'), 24, { overlay: 1 });
  addCut(c, ip('10.0.0.0'), 8, { zone: 2 });
  const seen: string[] = [];
  let next = 0n;
  walkTree(openTree(buf), 4, c, {
    block: (depth, data, overlay, zone) => {
      if (overlay >= 0 || zone || data >= 0) seen.push(`${addressOf(next, 4)}/${depth} ${data >= 0 ? 'db' : '-'} o${overlay} z${zone}`);
      next += 1n << BigInt(32 - depth);
      return 0;
    },
    alias: () => 0,
    join: () => 0,
  });
  t.deepEqual(seen, [
    '9.0.0.0/13 db o-1 z0',
    '9.8.0.0/16 db o-1 z0',
    '9.9.0.0/21 db o0 z0',
    '9.9.8.0/24 db o0 z0',
    '9.9.9.0/24 db o1 z0',
    '9.9.10.0/23 db o0 z0',
    '9.9.12.0/22 db o0 z0',
    '9.9.16.0/20 db o0 z0',
    '9.9.32.0/19 db o0 z0',
    '9.9.64.0/18 db o0 z0',
    '9.9.128.0/17 db o0 z0',
    '9.10.0.0/15 db o-1 z0',
    '9.12.0.0/14 db o-1 z0',
    '9.16.0.0/12 db o-1 z0',
    '9.32.0.0/11 db o-1 z0',
    '9.64.0.0/10 db o-1 z0',
    '9.128.0.0/9 db o-1 z0',
    '10.0.0.0/8 - o-1 z2',
  ]);
});

test('the fields of every record read from the bytes are readRecord of the reader: both schemas, every value type', (t) => {
  const odd: Value[] = [
    { location: { latitude: { type: 'double', value: -33.5 }, longitude: 151 }, country: { iso_code: 'au', names: { en: 'x' } } },
    { latitude: 12, longitude: -7.25, country_code: 'fr', continent_code: 'EU', state1_code: 'IDF' },
    { continent: 'AS', country: 'JP' },
    { continent: { code: '' }, registered_country: { iso_code: 'SE' }, subdivisions: [] },
    { subdivisions: [{ iso_code: 'CA', names: { en: 'California' } }, { iso_code: 'X' }], country: { iso_code: 'US' } },
    { location: [1, 2], latitude: { type: 'uint64', value: 5 }, longitude: true, country: ['US'] },
    { location: { latitude: 'north', longitude: { type: 'uint16', value: 7 } }, country_code: 7 },
    { nothing: { deep: { deeper: [1, 2, { x: 'y' }] } } },
  ];
  const buf = writeMmdb(odd.map((data, i) => ({ network: `${i + 1}.0.0.0/8`, data })));
  sameAsReader(t, buf);
});

test('the bundled country database (IPv4 and IPv6, pointers in its records): every block as the reader answers its first address', (t) => {
  const require = createRequire(import.meta.url);
  for (const name of ['geo-whois-asn-country.mmdb', 'geo-whois-asn-country-ipv4.mmdb']) {
    const path = require.resolve(`@ip-location-db/geo-whois-asn-country-mmdb/${name}`);
    const buf = require('node:fs').readFileSync(path) as Buffer;
    const n = sameAsReader(t, buf, 1);
    t.log(`${name}: ${n.toLocaleString('en-US')} addresses checked`);
  }
});

test('a tree that loops, or whose records point outside the data section, fails with a TreeError', (t) => {
  const buf = writeMmdb([...FIXTURE_NETWORKS, ...cityNetworks(50, 4)]);
  const tree = openTree(buf);
  const write = (b: Buffer, node: number, value: number) => b.writeUIntBE(value, node * 6, 3);
  // node 7's left record back to the root: the paths through it run past the last bit of an address
  const loop = Buffer.from(buf);
  write(loop, 7, 0);
  t.throws(() => blocks(loop, 6), {
    instanceOf: TreeError,
    message: /the search tree goes deeper than an IPv6 address \(node \d+ after bit 128\): it loops/,
  });
  // nodes 0 to 40 each pointing twice at the next, node 41 at a record: 2^41 paths of 42 bits, stopped by the
  // budget of node visits
  let data = 0;
  for (let n = 0; data <= tree.nodeCount; n++) data = Math.max(recordOf(tree, n, 0), recordOf(tree, n, 1));
  const chain = Buffer.from(buf);
  for (let n = 0; n <= 41; n++) {
    write(chain, n, n < 41 ? n + 1 : data);
    chain.writeUIntBE(n < 41 ? n + 1 : data, n * 6 + 3, 3);
  }
  t.throws(() => blocks(chain, 6), {
    instanceOf: TreeError,
    message: /the search tree loops: the walk entered its \d+ nodes more than four times over/,
  });
  const separator = Buffer.from(buf);
  write(separator, 3, tree.nodeCount + 5);
  t.throws(() => blocks(separator, 6), { instanceOf: TreeError, message: /a record points outside the data section/ });
  const past = Buffer.from(buf);
  write(past, 3, tree.nodeCount + 16 + (tree.dataEnd - tree.dataStart) + 10);
  t.throws(() => blocks(past, 6), { instanceOf: TreeError, message: /a record points outside the data section/ });
  t.is(recordOf(tree, 0, 0), 1);
  t.throws(() => openTree(buf.subarray(0, 100)), { instanceOf: TreeError, message: 'no metadata section' });
});
