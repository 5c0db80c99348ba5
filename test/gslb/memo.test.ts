// The memos a pool keeps per region order of its compiled decision table (src/gslb/memo.ts) are bounded by
// ORDER_SLOTS whatever the number of distinct orders the clients reach: a table of many regions over a
// City-shaped database has thousands of orders, and a sweep of client subnets must not keep one memo per order
// in every pool. Orders whose slot another order took are made again, with the same answers.
import test from 'ava';
import { decidePool, type GslbEnv } from '../../src/gslb/decide.js';
import { newPoolMemos, ORDER_SLOTS } from '../../src/gslb/memo.js';
import { Rotation } from '../../src/gslb/rotation.js';
import { HealthTable } from '../../src/health/table.js';
import { writeMmdb } from '../../tools/mmdb-writer.mjs';
import { city, client, geoFor, mulberry32, poolOf, serverConfig } from './helpers.js';

const REGION_POINTS: [string, number, number][] = [
  ['r0', 39.0, -77.5],
  ['r1', 53.3, -6.3],
  ['r2', 19.1, 72.9],
  ['r3', -33.87, 151.21],
  ['r4', -23.55, -46.63],
  ['r5', 37.77, -122.42],
  ['r6', 50.1, 8.7],
  ['r7', 35.7, 139.7],
  ['r8', 1.35, 103.8],
  ['r9', -26.2, 28.0],
];

test('a sweep over hundreds of distinct region orders keeps at most ORDER_SLOTS memos in the pool, and answers the same on a second pass', (t) => {
  const random = mulberry32(7);
  // 4,096 /24s at random points of the globe: with ten regions hundreds of distinct orders
  const networks = Array.from({ length: 4096 }, (_, i) => ({
    network: `${20 + (i >> 8)}.${i & 255}.0.0/24`,
    data: city('US', 'NA', [random() * 170 - 85, random() * 360 - 180]),
  }));
  const db = writeMmdb(networks, { databaseType: 'steerdns-test-City' });
  const cfg = serverConfig(
    `listen: ["127.0.0.1:5300"]\nregions:\n${REGION_POINTS.map(([n, lat, lon]) => `  ${n}: { location: [${lat}, ${lon}] }`).join('\n')}\n`,
  );
  const pool = poolOf(`check: { type: none }\nregions:\n${REGION_POINTS.map(([n], i) => `  ${n}: [192.0.2.${i + 1}]`).join('\n')}`, cfg);
  const geo = geoFor(cfg, db);
  const env: GslbEnv = { health: new HealthTable(), rotation: new Rotation(), random: mulberry32(1) };
  const ask = (n: { network: string }) => {
    const d = decidePool(pool, 4, client(n.network.replace('/24', '').replace(/\.0\.0$/, '.0.1')), geo, env);
    return `${d.region} ${d.scope}`;
  };
  const first = networks.map(ask);
  const orders = pool.memos.table!.orders.length;
  t.true(orders > 2 * ORDER_SLOTS, `${orders} distinct orders in the table`);
  t.true(pool.memos.byOrder.length <= ORDER_SLOTS, `${pool.memos.byOrder.length} memos`);
  // the same clients in the reverse order: each slot has been taken by other orders since
  const second = [...networks].reverse().map(ask).reverse();
  t.deepEqual(second, first);
  t.true(pool.memos.byOrder.length <= ORDER_SLOTS);
  // the oracle: every client asked of a pool with no memos at all
  const fresh = networks.map((n) => {
    pool.memos = newPoolMemos();
    return ask(n);
  });
  t.deepEqual(first, fresh);
  t.is(new Set(first.map((x) => x.split(' ')[0])).size, REGION_POINTS.length);
});
