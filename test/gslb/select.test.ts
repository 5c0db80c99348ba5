// Choosing targets within a region (docs/dns-behaviour.md#step-4-select-targets) as pure functions: round-robin,
// weighted (by weight, without replacement), random, sticky (rendezvous hash of the client /24 or /56), fastest.
// The statistical tests draw from a seeded PRNG so every run sees the same numbers.
import test from 'ava';
import { decidePool, type GslbEnv } from '../../src/gslb/decide.js';
import type { Target } from '../../src/gslb/pool.js';
import { Rotation } from '../../src/gslb/rotation.js';
import { fastestOrder, rotate, type SelectInput, selectTargets, shuffled, stickyOrder, weightedOrder } from '../../src/gslb/select.js';
import { HealthTable } from '../../src/health/table.js';
import { ipToBytes } from '../../src/net/address.js';
import { maskBytes } from '../../src/net/cidr.js';
import { client, geoFor, keyOf, mulberry32, poolOf } from './helpers.js';

const targetsOf = (body: string): Target[] => poolOf(body).regions[0]!.targets;
const addrs = (ts: Target[]) => ts.map((t) => t.address);
const FOUR = `check: { type: none }
regions:
  us-east: [192.0.2.1, 192.0.2.2, 192.0.2.3, 192.0.2.4]`;
const block24 = (i: number) => Buffer.from([10 + (i >> 16), (i >> 8) & 0xff, i & 0xff, 0]);

function input(targets: Target[], patch: Partial<SelectInput>): SelectInput {
  return { mode: 'round-robin', targets, position: 0, random: mulberry32(1), clientBlock: block24(0), rttMs: () => null, ...patch };
}

// ---- round-robin ----------------------------------------------------------------------------------

test('rotate: by one per position, wrapping; short lists unchanged and copied', (t) => {
  t.deepEqual(rotate([1, 2, 3], 0), [1, 2, 3]);
  t.deepEqual(rotate([1, 2, 3], 1), [2, 3, 1]);
  t.deepEqual(rotate([1, 2, 3], 5), [3, 1, 2]);
  const one = [1];
  t.deepEqual(rotate(one, 7), [1]);
  t.not(rotate(one, 7), one);
  t.deepEqual(rotate([], 3), []);
});

test('round-robin: N consecutive answers show each address first exactly once, the order kept cyclic', (t) => {
  const ts = targetsOf(FOUR);
  const firsts = new Map<string, number>();
  for (let pos = 0; pos < ts.length; pos++) {
    const out = addrs(selectTargets(input(ts, { mode: 'round-robin', position: pos })));
    t.deepEqual([...out].sort(), addrs(ts).sort());
    t.deepEqual(out, addrs(rotate(ts, pos)));
    firsts.set(out[0]!, (firsts.get(out[0]!) ?? 0) + 1);
  }
  t.deepEqual([...firsts.values()], [1, 1, 1, 1]);
  t.is(firsts.size, 4);
});

test('round-robin through decidePool: N consecutive answers show each address first exactly once', (t) => {
  const pool = poolOf(`answers: 2
${FOUR}`);
  const env: GslbEnv = { health: new HealthTable(), rotation: new Rotation(), random: mulberry32(7) };
  const geo = geoFor();
  for (let round = 0; round < 3; round++) {
    const firsts: string[] = [];
    for (let i = 0; i < 4; i++) {
      const d = decidePool(pool, 4, client('81.2.0.5'), geo, env);
      t.is(d.rdata.length, 2);
      firsts.push(d.rdata[0]!.join('.'));
    }
    t.deepEqual([...firsts].sort(), ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4']);
  }
});

test('round-robin counters are per pool region and per family', (t) => {
  const pool = poolOf(`check: { type: none }
regions:
  us-east: [192.0.2.1, 192.0.2.2, "2001:db8::1", "2001:db8::2"]
  eu-west: [198.51.100.1, 198.51.100.2]`);
  const env: GslbEnv = { health: new HealthTable(), rotation: new Rotation(), random: mulberry32(1) };
  const geo = geoFor();
  const first = (family: 4 | 6, from: string) => {
    const d = decidePool(pool, family, client(from), geo, env);
    return family === 4 ? d.rdata[0]!.join('.') : d.rdata[0]!.toString('hex');
  };
  // Seattle → us-east, London → eu-west
  t.is(first(4, '4.4.0.1'), '192.0.2.1');
  t.is(first(4, '4.4.0.1'), '192.0.2.2');
  t.is(first(6, '4.4.0.1'), ipToBytes('2001:db8::1').toString('hex'));
  t.is(first(4, '81.2.0.5'), '198.51.100.1');
  t.is(first(4, '4.4.0.1'), '192.0.2.1');
  t.is(first(6, '4.4.0.1'), ipToBytes('2001:db8::2').toString('hex'));
  t.is(first(4, '81.2.0.5'), '198.51.100.2');
  // another Rotation (another process) starts over
  const r = new Rotation();
  t.is(r.next(pool.regions[0]!, 4), 0);
  t.is(r.next(pool.regions[0]!, 4), 1);
  t.is(r.next(pool.regions[0]!, 6), 0);
});

// ---- weighted ---------------------------------------------------------------------------------------

test("weighted: over 20,000 draws each address's share of first place is within 2 points of its weight share", (t) => {
  const ts = targetsOf(`select: weighted
check: { type: none }
regions:
  us-east:
    - { address: 192.0.2.1, weight: 1 }
    - { address: 192.0.2.2, weight: 2 }
    - { address: 192.0.2.3, weight: 3 }
    - { address: 192.0.2.4, weight: 10 }`);
  t.deepEqual(
    ts.map((x) => x.weight),
    [1, 2, 3, 10],
  );
  const random = mulberry32(20_000);
  const N = 20_000;
  const first = new Map<string, number>();
  for (let i = 0; i < N; i++) {
    const out = selectTargets(input(ts, { mode: 'weighted', random }));
    // without replacement: every address exactly once
    if (out.length !== 4 || new Set(out).size !== 4) t.fail(`draw ${i}: ${addrs(out).join(' ')}`);
    first.set(out[0]!.address, (first.get(out[0]!.address) ?? 0) + 1);
  }
  for (const x of ts) {
    const share = (first.get(x.address) ?? 0) / N;
    const want = x.weight / 16;
    t.true(Math.abs(share - want) <= 0.02, `${x.address}: first ${(share * 100).toFixed(2)}%, weight share ${(want * 100).toFixed(2)}%`);
  }
});

test('weighted: the second place is drawn from the rest by weight (without replacement)', (t) => {
  const ts = targetsOf(`select: weighted
check: { type: none }
regions:
  us-east:
    - { address: 192.0.2.1, weight: 1 }
    - { address: 192.0.2.2, weight: 1 }
    - { address: 192.0.2.3, weight: 8 }`);
  const random = mulberry32(99);
  const N = 20_000;
  let secondGivenHeavyFirst = 0;
  let heavyFirst = 0;
  for (let i = 0; i < N; i++) {
    const out = weightedOrder(ts, random);
    if (out[0]!.address === '192.0.2.3') {
      heavyFirst++;
      if (out[1]!.address === '192.0.2.1') secondGivenHeavyFirst++;
    }
  }
  t.true(Math.abs(heavyFirst / N - 0.8) <= 0.02);
  // after the heavy one, the two light ones share second place evenly
  t.true(Math.abs(secondGivenHeavyFirst / heavyFirst - 0.5) <= 0.02);
});

test('weighted: a random source at its extremes picks the first and the last target', (t) => {
  const ts = targetsOf(`select: weighted
check: { type: none }
regions:
  us-east:
    - { address: 192.0.2.1, weight: 5 }
    - { address: 192.0.2.2, weight: 5 }`);
  t.deepEqual(addrs(weightedOrder(ts, () => 0)), ['192.0.2.1', '192.0.2.2']);
  t.deepEqual(addrs(weightedOrder(ts, () => 0.999999)), ['192.0.2.2', '192.0.2.1']);
});

// ---- random -----------------------------------------------------------------------------------------

test('random: a permutation every time, each address first about equally often', (t) => {
  const ts = targetsOf(FOUR);
  const random = mulberry32(4242);
  const first = new Map<string, number>();
  const N = 20_000;
  for (let i = 0; i < N; i++) {
    const out = selectTargets(input(ts, { mode: 'random', random }));
    if (new Set(out).size !== 4) t.fail('not a permutation');
    first.set(out[0]!.address, (first.get(out[0]!.address) ?? 0) + 1);
  }
  for (const x of ts) t.true(Math.abs((first.get(x.address) ?? 0) / N - 0.25) <= 0.02, x.address);
  // the input is not modified
  t.deepEqual(addrs(ts), ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4']);
  t.deepEqual(addrs(shuffled(ts, () => 0)), ['192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.1']);
});

// ---- sticky -----------------------------------------------------------------------------------------

test('sticky: 4 addresses over 10,000 different /24s, each first for 25% ± 10%; the same /24 the same order', (t) => {
  const ts = targetsOf(FOUR);
  const first = new Map<string, number>();
  const N = 10_000;
  for (let i = 0; i < N; i++) {
    const block = block24(i);
    const out = selectTargets(
      input(ts, {
        mode: 'sticky',
        clientBlock: block,
        random: () => {
          throw new Error('sticky must not draw');
        },
      }),
    );
    const again = stickyOrder(ts, Buffer.from(block));
    if (addrs(out).join() !== addrs(again).join()) t.fail(`block ${i}: ${addrs(out)} vs ${addrs(again)}`);
    first.set(out[0]!.address, (first.get(out[0]!.address) ?? 0) + 1);
  }
  for (const x of ts) {
    const share = (first.get(x.address) ?? 0) / N;
    t.true(Math.abs(share - 0.25) <= 0.1, `${x.address}: first for ${(share * 100).toFixed(1)}% of /24s`);
  }
});

test("sticky: the order does not depend on the written order or on rotation, and removing a target keeps the others' order", (t) => {
  const ts = targetsOf(FOUR);
  const reversed = [...ts].reverse();
  for (let i = 0; i < 200; i++) {
    const block = block24(i * 37);
    const out = addrs(stickyOrder(ts, block));
    t.deepEqual(addrs(stickyOrder(reversed, block)), out);
    t.deepEqual(addrs(selectTargets(input(ts, { mode: 'sticky', clientBlock: block, position: i }))), out);
    // rendezvous hashing: a target going away moves only its own clients
    const without = ts.filter((x) => x.address !== out[1]);
    t.deepEqual(
      addrs(stickyOrder(without, block)),
      out.filter((a) => a !== out[1]),
    );
  }
});

test('sticky: different /24s get different orders (the hash spreads the whole order, not only first place)', (t) => {
  const ts = targetsOf(FOUR);
  const orders = new Set<string>();
  for (let i = 0; i < 2000; i++) orders.add(addrs(stickyOrder(ts, block24(i))).join());
  // 4! = 24 possible orders: all of them turn up
  t.is(orders.size, 24);
});

test('sticky through decidePool: clients of one /24 (and one /56) get one order, by ECS or by source address', (t) => {
  const pool = poolOf(`select: sticky
${FOUR}`);
  const env: GslbEnv = { health: new HealthTable(), rotation: new Rotation(), random: mulberry32(3) };
  const geo = geoFor();
  const order = (from: string, subnet?: string) =>
    decidePool(pool, 4, client(from, subnet), geo, env)
      .rdata.map((b) => b.join('.'))
      .join(' ');
  for (const net of ['81.2.0', '41.0.7', '1.0.16', '9.3.4', '8.8.4']) {
    const o = order(`${net}.1`);
    for (const host of [2, 77, 128, 254]) t.is(order(`${net}.${host}`), o, `${net}.${host}`);
    // the same located /24 sent as ECS by different resolvers
    if (net !== '8.8.4') {
      t.is(order('127.0.0.1', `${net}.0/24`), o);
      t.is(order('192.0.2.53', `${net}.0/24`), o);
    }
  }
  // IPv6 clients: the /56
  const v6 = order('2001:218:0:100::1');
  t.is(order('2001:218:0:1ff:ffff::9'), v6);
  // many /24s through the full decision spread across the four addresses
  const first = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const f = order('127.0.0.1', `9.${(i >> 8) + 1}.${i & 0xff}.0/24`).split(' ')[0]!;
    first.set(f, (first.get(f) ?? 0) + 1);
  }
  t.is(first.size, 4);
  for (const n of first.values()) t.true(Math.abs(n / 2000 - 0.25) <= 0.1);
});

test('sticky: the client block of an IPv4-mapped source is its IPv4 /24', (t) => {
  const pool = poolOf(`select: sticky
${FOUR}`);
  const env: GslbEnv = { health: new HealthTable(), rotation: new Rotation(), random: mulberry32(3) };
  const geo = geoFor();
  const a = decidePool(pool, 4, client('81.2.0.9'), geo, env).rdata.map((b) => b.join('.'));
  const b = decidePool(pool, 4, client('::ffff:81.2.0.200'), geo, env).rdata.map((x) => x.join('.'));
  t.deepEqual(b, a);
  t.deepEqual(a, addrs(stickyOrder(pool.regions[0]!.targets, maskBytes(ipToBytes('81.2.0.9'), 24))));
});

// ---- fastest ----------------------------------------------------------------------------------------

test('fastest: measured targets by response time, unmeasured ones after them in round-robin order', (t) => {
  const ts = targetsOf(FOUR);
  const rtt: Record<string, number | null> = { '192.0.2.1': null, '192.0.2.2': 40, '192.0.2.3': 5, '192.0.2.4': null };
  const rttMs = (x: Target) => rtt[x.address] ?? null;
  t.deepEqual(addrs(fastestOrder(ts, 0, rttMs)), ['192.0.2.3', '192.0.2.2', '192.0.2.1', '192.0.2.4']);
  t.deepEqual(addrs(fastestOrder(ts, 1, rttMs)), ['192.0.2.3', '192.0.2.2', '192.0.2.4', '192.0.2.1']);
  t.deepEqual(addrs(selectTargets(input(ts, { mode: 'fastest', rttMs, position: 1 }))), [
    '192.0.2.3',
    '192.0.2.2',
    '192.0.2.4',
    '192.0.2.1',
  ]);
});

test('fastest: round-robin while nothing is measured', (t) => {
  const ts = targetsOf(FOUR);
  const firsts = new Set<string>();
  for (let pos = 0; pos < 4; pos++) {
    const out = selectTargets(input(ts, { mode: 'fastest', position: pos }));
    t.deepEqual(addrs(out), addrs(rotate(ts, pos)));
    firsts.add(out[0]!.address);
  }
  t.is(firsts.size, 4);
});

test('fastest through decidePool reads response times from the health table', (t) => {
  const pool = poolOf(`select: fastest
${FOUR}`);
  const health = new HealthTable();
  const env: GslbEnv = { health, rotation: new Rotation(), random: mulberry32(3) };
  const geo = geoFor();
  const answer = () => decidePool(pool, 4, client('81.2.0.5'), geo, env).rdata.map((b) => b.join('.'));
  // nothing measured: round-robin
  const firsts = new Set<string>();
  for (let i = 0; i < 4; i++) firsts.add(answer()[0]!);
  t.is(firsts.size, 4);
  health.set(keyOf(pool, '192.0.2.4'), { rttMs: 3 });
  health.set(keyOf(pool, '192.0.2.2'), { rttMs: 12.5 });
  health.set(keyOf(pool, '192.0.2.1'), { rttMs: 80 });
  for (let i = 0; i < 3; i++) t.deepEqual(answer(), ['192.0.2.4', '192.0.2.2', '192.0.2.1', '192.0.2.3']);
});

test('sticky through decidePool: across 2,000 random /24s, two different hosts of one /24 always get the same order', (t) => {
  const pool = poolOf(`check: { type: none }
select: sticky
regions:
  eu-west: [198.51.100.1, 198.51.100.2, 198.51.100.3, 198.51.100.4]`);
  const geo = geoFor();
  const env: GslbEnv = { health: new HealthTable(), rotation: new Rotation(), random: mulberry32(7) };
  const rnd = mulberry32(0x5717c4);
  const firsts = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const [a, b, c] = [1 + Math.floor(rnd() * 222), Math.floor(rnd() * 256), Math.floor(rnd() * 256)];
    const h1 = 1 + Math.floor(rnd() * 254);
    const h2 = 1 + ((h1 + 1 + Math.floor(rnd() * 252)) % 254);
    const one = decidePool(pool, 4, client(`${a}.${b}.${c}.${h1}`), geo, env).rdata.map((x) => x.join('.'));
    const two = decidePool(pool, 4, client(`${a}.${b}.${c}.${h2}`), geo, env).rdata.map((x) => x.join('.'));
    t.deepEqual(one, two, `${a}.${b}.${c}.0/24`);
    firsts.set(one[0]!, (firsts.get(one[0]!) ?? 0) + 1);
  }
  for (const [addr, n] of firsts) t.true(n / 2000 > 0.15 && n / 2000 < 0.35, `${addr} first for ${n} of 2000 /24s`);
});
