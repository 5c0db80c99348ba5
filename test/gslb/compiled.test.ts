// The compiled GeoIP decision table (src/gslb/compile.ts, table.ts) against the straightforward path (the
// locator over the MaxMind reader, then orderIndices): for every network of each test database and for 100,000
// seeded random addresses of a GeoLite2-City-shaped one, under three ordering keys, the region order is the
// same; the ECS scope (docs/dns-behaviour.md#step-7-ecs-scope) is never narrower than the straightforward
// path's (unless that one's block holds a private range or alias network, and so was not uniform), never wider
// than a block in which every address gets that answer — checked against the database itself — and maximal:
// the sibling block answers otherwise.
import test, { type ExecutionContext } from 'ava';
import { PRIVATE_RANGES } from '../../src/gslb/compile.js';
import type { GeoLocator } from '../../src/gslb/geo.js';
import { TreeError } from '../../src/gslb/mmdb-tree.js';
import type { OrderingKey } from '../../src/gslb/order.js';
import { type DecisionTable, ecsLookup, HIT, lookup } from '../../src/gslb/table.js';
import { ipToBytes } from '../../src/net/address.js';
import { privatePrefix } from '../../src/net/ranges.js';
import { cityShaped, configFor, keys, locatorFor, tablesFor } from './compiled-fixtures.js';
import {
  ALIAS_NETS,
  BITS,
  blockEnd,
  blockStart,
  type Family,
  type Interval,
  intervals,
  referenceEcs,
  referenceSource,
  toBig,
  toBytes,
  valuesIn,
} from './geo-oracle.js';
import { FIXTURE_NETWORKS, fixtureMmdb, mulberry32 } from './helpers.js';

/** A database, one key, its compiled table and the reference partition of both families. */
interface World {
  name: string;
  geo: GeoLocator;
  key: OrderingKey;
  table: DecisionTable;
  iv: Record<Family, Interval[]>;
  nowhere: string;
}

const BARRIERS: Record<Family, [bigint, number][]> = { 4: [], 6: [...ALIAS_NETS] };
for (const r of PRIVATE_RANGES) BARRIERS[r.family].push([toBig(ipToBytes(r.network)), r.prefix]);

function worlds(name: string, db: Buffer | null, only?: string[]): World[] {
  const geo = locatorFor(db);
  const ks = keys().filter((k) => !only || only.includes(k.name));
  const tables = tablesFor(
    db,
    ks.map((k) => k.key),
  );
  return ks.map(({ name: keyName, key }, i) => {
    const table = tables[i]!;
    const nowhere = table.orders[table.nowhere]!.join(',');
    const cuts = (family: Family): [bigint, number][] => [
      ...BARRIERS[family],
      ...configFor()
        .geoip.networks.filter((o) => o.network.family === family)
        .map((o): [bigint, number] => [toBig(o.network.bytes), o.network.prefix]),
    ];
    const cache = new Map<string, string>();
    return {
      name: `${name}, ${keyName}`,
      geo,
      key,
      table,
      nowhere,
      iv: { 4: intervals(geo, key, 4, cuts(4), nowhere, cache), 6: intervals(geo, key, 6, cuts(6), nowhere, cache) },
    };
  });
}

/** How the scopes compare with the reference's, over the checks of a test. */
const STATS = { wider: 0, same: 0, narrowerAtBarrier: 0 };

const order = (t: DecisionTable) => t.orders[HIT.order]!.join(',');

/**
 * Checks one client (`full`: its whole address, 4 or 16 bytes; ECS with `src` bits of it): the order, and the
 * scope: not narrower than the reference (unless its block crosses a barrier), uniform, maximal. A message, or null.
 */
function check(w: World, full: Uint8Array, src: number): string | null {
  const family: Family = full.length === 4 ? 4 : 6;
  const bits = BITS[family];
  const a = blockStart(toBig(full), src, family);
  const masked = toBytes(a, family);
  const ecs = masked.subarray(0, Math.ceil(src / 8));
  const v4 = family === 4;
  ecsLookup(w.table, ecs, v4, src);
  const got = order(w.table);
  const scope = HIT.scope;
  const off = HIT.offset;
  const ref = referenceEcs(w.geo, w.key, masked, src);
  const what = `${w.name}: ${toText(masked, family)}/${src}`;
  if (got !== ref.order) return `${what}: order ${got}, the reference ${ref.order}`;
  if (scope > bits || scope < 0) return `${what}: scope /${scope}`;
  // an unlocated client: the scope is at least the source prefix (docs/dns-behaviour.md#step-7-ecs-scope)
  if (ref.unlocated && scope < src) return `${what}: unlocated, scope /${scope} shorter than the source prefix`;
  // the family and address of the trie that answered (an alias network's embedded IPv4 address)
  if (off < 0) return scope === 128 ? null : `${what}: Teredo scope /${scope}`;
  const tf: Family = off > 0 ? 4 : family;
  const ta = off > 0 ? (a >> BigInt(128 - off - 32)) & 0xffffffffn : a;
  // (a 6to4 scope past the embedded address's 32 bits is a block inside that one address)
  const tscope = Math.min(scope - off, BITS[tf]);
  const start = blockStart(ta, tscope, tf);
  // the private range's rule is for IPv4 and IPv4-mapped addresses: a 6to4 address answers as its source would
  const answers = valuesIn(w.iv[tf], start, blockEnd(start, tscope, tf), off === 16 ? 'order' : 'ecs');
  if (answers.length !== 1 || answers[0] !== got)
    return `${what}: scope /${scope} is not uniform: ${toText(toBytes(start, tf), tf)}/${tscope} answers ${answers.join(' and ')}`;
  if (scope > ref.scope) {
    const rs = ref.scope - off;
    const rstart = blockStart(ta, rs, tf);
    const crosses = BARRIERS[tf].some(([s, p]) => p > rs && blockStart(s, rs, tf) === rstart);
    if (!crosses) return `${what}: scope /${scope} is narrower than the reference's /${ref.scope}`;
    STATS.narrowerAtBarrier++;
  } else if (scope < ref.scope) STATS.wider++;
  else STATS.same++;
  // maximal: a scope that is the block (not the source prefix, not the private rule) has a sibling that differs
  lookup(w.table, ecs, v4);
  const depth = HIT.scope - off;
  if (!ref.private && scope === HIT.scope && depth > 0) {
    const parent = blockStart(ta, depth - 1, tf);
    const results = valuesIn(w.iv[tf], parent, blockEnd(parent, depth - 1, tf), 'result');
    if (results.length < 2) return `${what}: /${scope} is not maximal: its parent /${depth - 1 + off} answers alike`;
  }
  // asked from the address itself (no ECS): the order of the same lookup
  lookup(w.table, full, v4);
  const src0 = referenceSource(w.geo, w.key, full);
  if (order(w.table) !== src0) return `${w.name}: from ${toText(full, family)}: order ${order(w.table)}, the reference ${src0}`;
  return null;
}

function toText(b: Uint8Array, family: Family): string {
  return family === 4 ? b.join('.') : [...Buffer.from(b).toString('hex').matchAll(/..../g)].map((m) => m[0]).join(':');
}

/** Every interval of both families (the first address, ECS of the full length): the failures, up to 5. */
function everyNetwork(t: ExecutionContext, w: World): void {
  const failures: string[] = [];
  let n = 0;
  for (const family of [4, 6] as const) {
    for (const iv of w.iv[family]) {
      if (iv.ecs.startsWith('alias')) continue;
      const f = check(w, toBytes(iv.start, family), BITS[family]);
      n++;
      if (f && failures.push(f) >= 5) break;
    }
  }
  t.deepEqual(failures, [], w.name);
  t.log(`${w.name}: ${n.toLocaleString('en-US')} networks`);
}

test('the fixture database: every network, under each key, as the reference answers it', (t) => {
  for (const w of worlds('fixture', fixtureMmdb())) everyNetwork(t, w);
  t.true(FIXTURE_NETWORKS.length > 10);
});

test('no database: overlays only, everything else unlocated', (t) => {
  for (const w of worlds('no database', null)) everyNetwork(t, w);
});

const CITY = cityShaped(15, 300, { aliases: true });

test('a GeoLite2-City-shaped database (24-bit records, MaxMind aliases): every network, under each key', (t) => {
  for (const w of worlds('city-shaped', CITY.buf)) everyNetwork(t, w);
});

test('the same networks in 32-bit records without aliases, and in an IPv4-only tree', (t) => {
  const v4 = cityShaped(15, 300, { recordSize: 32 });
  for (const w of worlds('city-shaped /32', v4.buf, ['map'])) everyNetwork(t, w);
  const v4only = cityShaped(16, 80, { ipVersion: 4 });
  for (const w of worlds('city-shaped IPv4-only', v4only.buf, ['nearest'])) everyNetwork(t, w);
});

test('100,000 seeded random clients of the GeoLite2-City-shaped database: order, scope not narrower, uniform, maximal', (t) => {
  const random = mulberry32(20261203);
  const ws = worlds('city-shaped', CITY.buf, ['nearest', 'map']);
  const v4nets = CITY.networks.filter((n) => !n.includes(':'));
  const v6nets = CITY.networks.filter((n) => n.includes(':'));
  const inside = (net: string): Uint8Array => {
    const [addr, len] = net.split('/') as [string, string];
    const base = ipToBytes(addr);
    const family: Family = base.length === 4 ? 4 : 6;
    const host = BITS[family] - Number(len);
    const r = BigInt(Math.floor(random() * 2 ** 30)) * BigInt(Math.floor(random() * 2 ** 30));
    return toBytes(toBig(base) + (host > 0 ? r % (1n << BigInt(host)) : 0n), family);
  };
  const failures: string[] = [];
  const counts = { v4: 0, v6: 0, mapped: 0, sixToFour: 0, teredo: 0, private: 0 };
  for (let i = 0; i < 100_000 && failures.length < 5; i++) {
    const w = ws[i % ws.length]!;
    const kind = random();
    let full: Uint8Array;
    let src: number;
    if (kind < 0.55) {
      full = random() < 0.6 ? inside(v4nets[Math.floor(random() * v4nets.length)]!) : toBytes(BigInt(Math.floor(random() * 2 ** 32)), 4);
      const s = random();
      src = s < 0.5 ? 24 : s < 0.75 ? 32 : 1 + Math.floor(random() * 32);
      counts.v4++;
      if (privatePrefix(full) !== null) counts.private++;
    } else if (kind < 0.85) {
      full =
        random() < 0.6
          ? inside(v6nets[Math.floor(random() * v6nets.length)]!)
          : toBytes((0x2n << 124n) + BigInt(Math.floor(random() * 2 ** 40)) * (1n << 80n), 6);
      const s = random();
      src = s < 0.4 ? 48 : s < 0.6 ? 56 : s < 0.7 ? 128 : 1 + Math.floor(random() * 128);
      counts.v6++;
    } else {
      // an IPv4 client in IPv6 form
      const v4 = inside(v4nets[Math.floor(random() * v4nets.length)]!);
      const form = random();
      full = new Uint8Array(16);
      if (form < 0.4) {
        full.set([0xff, 0xff], 10);
        full.set(v4, 12);
        src = 96 + Math.floor(random() * 33);
        counts.mapped++;
      } else if (form < 0.8) {
        full.set([0x20, 0x02, ...v4], 0);
        src = 16 + Math.floor(random() * 49);
        counts.sixToFour++;
      } else {
        full.set([0x20, 0x01, 0, 0], 0);
        full.set(
          v4.map((x) => x ^ 0xff),
          12,
        );
        src = 128;
        counts.teredo++;
      }
    }
    const f = check(w, full, src);
    if (f) failures.push(f);
  }
  t.deepEqual(failures, []);
  t.log(counts, 'scopes against the reference (all tests of this file so far):', STATS);
});

test('the private ranges the table keeps apart are those of privatePrefix (docs/dns-behaviour.md#unlocatable-and-private-ecs-addresses)', (t) => {
  for (const r of PRIVATE_RANGES) {
    const start = toBig(ipToBytes(r.network));
    const family: Family = r.family;
    const end = blockEnd(start, r.prefix, family);
    t.is(privatePrefix(toBytes(start, family)), r.prefix, r.network);
    t.is(privatePrefix(toBytes(end, family)), r.prefix, r.network);
    for (const outside of [start - 1n, end + 1n]) {
      if (outside < 0n || outside >= 1n << BigInt(BITS[family])) continue;
      const p = privatePrefix(toBytes(outside, family));
      t.true(p === null || blockStart(outside, p, family) !== start, `${r.network}/${r.prefix}: ${outside}`);
    }
  }
});

test('a database whose tree loops does not compile: a TreeError', (t) => {
  const buf = Buffer.from(fixtureMmdb());
  // node 7's left record back to the root
  buf.writeUIntBE(0, 7 * 6, 3);
  t.throws(() => tablesFor(buf, [keys()[0]!.key]), { instanceOf: TreeError, message: /it loops/ });
});
