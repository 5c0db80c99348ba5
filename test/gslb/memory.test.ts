// Memory of the answer path. A client is placed by its block in the pool's compiled decision table
// (src/gslb/table.ts), nothing is cached per client block, and results that depend only on (pool, region
// order) — the order and the plan — are memoized on the pool per order of its table (src/gslb/memo.ts), never
// in a module-global map keyed by Pool objects:
// - spoofed ECS /24s across 50 pool names, through the running server, grow memory by a bounded amount;
// - 1,000 reloads of failover and single-region pools, each queried: every old Pool is collected.
// Serial tests (AVA runs them before the others): nothing else in this process allocates while they measure.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import test from 'ava';
import { decidePool, type GslbEnv } from '../../src/gslb/decide.js';
import type { Pool } from '../../src/gslb/pool.js';
import { Rotation } from '../../src/gslb/rotation.js';
import { HealthTable } from '../../src/health/table.js';
import { isPrivate } from '../../src/net/ranges.js';
import { BASE_CONFIG, query, startServer } from '../helpers/server.js';
import { client, geoFor, mulberry32, zonePools } from './helpers.js';

setFlagsFromString('--expose-gc');
const gcFn = runInNewContext('gc') as () => void;

/** A full collection; WeakRefs made in this job are only cleared once it has ended, hence the macrotask. */
async function gc(): Promise<void> {
  await new Promise((r) => setImmediate(r));
  gcFn();
  gcFn();
}

const heap = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;

// ---- many client blocks × many pools: bounded memory -------------------------------------------------

const POOLS = 50;
const ZONE = `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, minimum: 60, serial: 1 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
${Array.from(
  { length: POOLS },
  (_, i) => `  app${i}:
    pool:
      ttl: 30
      check: { type: none }
      regions:
        us-east: [192.0.2.${i + 1}, "2001:db8:1::${i + 1}"]
        eu-west: [198.51.100.${i + 1}, "2001:db8:2::${i + 1}"]
        ap-south: [203.0.113.${i + 1}, "2001:db8:3::${i + 1}"]`,
).join('\n')}
`;

/** Random public /24s (the bundled database places most of them: each is a cached client block). */
function randomBlocks(n: number, random: () => number): Buffer[] {
  const out: Buffer[] = [];
  while (out.length < n) {
    const b = Buffer.from([1 + ((random() * 223) | 0), (random() * 256) | 0, (random() * 256) | 0, 0]);
    if (!isPrivate(b)) out.push(b.subarray(0, 3));
  }
  return out;
}

// The stated bound: after a first round (V8's young generation reaches its working size, the pools' memos
// fill), 400,000 more (block, pool) pairs grow RSS by less than this. Bounded state — a memo per pool and
// order of its table, no cache per client block — fits well under it; a memo per block × pool (about 120 MB
// more per 200,000 pairs) does not.
const BOUND = 64 * 2 ** 20;

test.serial('50 pools × random ECS /24s through the running server: memory grows by less than 64 MB', async (t) => {
  const s = await startServer({ 'example.test.yaml': ZONE }, `${BASE_CONFIG}geoip: { ecs: true }\n`);
  try {
    const srv = s.server as unknown as { handler(): (msg: Buffer, address: string, transport: 'udp' | 'tcp') => Buffer | null };
    const handle = srv.handler(); // the same function the UDP listener calls per datagram
    // one query per pool with an ECS /24 at the end of the message: its 3 address octets are rewritten per query
    const templates = Array.from({ length: POOLS }, (_, i) =>
      query(`app${i}.example.test`, 'A', {
        edns: true,
        options: [{ code: 'CLIENT_SUBNET', family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: '1.2.3.0' }],
      }),
    );
    for (const m of templates) t.deepEqual([...m.subarray(m.length - 7, m.length - 3)], [0, 1, 24, 0], 'ECS option last');
    const random = mulberry32(7);
    // 4,000 client blocks, each asked for all 50 pools: 200,000 queries, 200,000 (block, pool) pairs
    const round = () => {
      let answered = 0;
      for (const block of randomBlocks(4000, random)) {
        for (const m of templates) {
          block.copy(m, m.length - 3);
          const out = handle(m, '127.0.0.1', 'udp');
          if (out && out[3] === 0 && out.readUInt16BE(6) === 1) answered++;
        }
      }
      return answered;
    };
    await gc();
    const rssStart = process.memoryUsage().rss;
    // a first round grows what any busy server grows once (V8's young generation, the pools' memos)
    t.is(round(), 4000 * POOLS);
    await gc();
    const heap0 = heap();
    const rss0 = process.memoryUsage().rss;
    const started = performance.now();
    // then 400,000 more queries, 400,000 more (block, pool) pairs: nothing may keep accumulating
    t.is(round(), 4000 * POOLS);
    await gc();
    const heap1 = heap();
    const rss1 = process.memoryUsage().rss;
    t.is(round(), 4000 * POOLS);
    await gc();
    const heap2 = heap();
    const rss2 = process.memoryUsage().rss;
    t.log(
      `400,000 queries in ${((performance.now() - started) / 1000).toFixed(1)} s after a first 200,000; heap+buffers ${mb(heap0)} → ${mb(heap1)} → ${mb(heap2)}; rss ${mb(rssStart)} before any → ${mb(rss0)} → ${mb(rss1)} → ${mb(rss2)}`,
    );
    t.true(rss2 - rss0 < BOUND, `RSS grew ${mb(rss2 - rss0)}`);
    t.true(heap2 - heap0 < BOUND / 2, `heap grew ${mb(heap2 - heap0)} (live objects after a full GC)`);
  } finally {
    await s.stop();
  }
});

// ---- pools replaced by reloads are collected ----------------------------------------------------------

const ALIKE = `  fo:
    pool:
      policy: failover
      check: { type: none }
      regions:
        eu-west: [198.51.100.10, 198.51.100.11, "2001:db8:2::10"]
        us-east: [192.0.2.10, 192.0.2.11, "2001:db8:1::10"]
  one:
    pool:
      check: { type: none }
      regions:
        eu-west: [198.51.100.20, 198.51.100.21, "2001:db8:2::20"]
`;

test.serial(
  '1,000 reloads of failover and single-region pools, each queried: every replaced Pool is collected, the heap stays flat',
  async (t) => {
    const geo = geoFor();
    const env: GslbEnv = { health: new HealthTable(), rotation: new Rotation(), random: mulberry32(3) };
    const replaced: WeakRef<Pool>[] = [];
    let answers = 0;
    // a reload: the zone's pools built anew (parse + buildPool, as the snapshot does), then asked A and AAAA
    // by a client without ECS and one with
    const reload = () => {
      const pools = zonePools(ALIKE);
      for (const p of pools.values()) {
        for (const c of [client('81.2.0.5'), client('127.0.0.1', '1.0.16.0/24')]) {
          for (const family of [4, 6] as const) if (decidePool(p, family, c, geo, env).kind === 'answer') answers++;
        }
        replaced.push(new WeakRef(p));
      }
    };
    for (let i = 0; i < 100; i++) reload();
    await gc();
    const heap100 = heap();
    for (let i = 100; i < 1000; i++) reload();
    await gc();
    const heap1000 = heap();
    const alive = replaced.filter((r) => r.deref() !== undefined).length;
    t.log(
      `after 1,000 reloads: ${alive} of ${replaced.length} replaced pools still reachable; heap ${mb(heap100)} after 100, ${mb(heap1000)} after 1,000`,
    );
    t.is(answers, 1000 * 2 * 2 * 2);
    t.is(alive, 0, 'no replaced Pool is kept alive');
    t.true(heap1000 - heap100 < 2 * 2 ** 20, `heap grew ${mb(heap1000 - heap100)} over 900 reloads`);
  },
);
