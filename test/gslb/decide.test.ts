// The pool decision (docs/dns-behaviour.md#pool-decisions, steps 3–7) through decidePool, with target states
// set directly in a HealthTable: the first qualifying region, min_healthy, regional failover and the halved TTL,
// all_down (serve-all fail-open, nodata, servfail, fallback), standbys, `answers`, one region for both families,
// region states from steerdns.yaml, the failover and map policies, the ECS scope, and onDecision.
import test from 'ava';
import { decidePool, type GslbEnv, type PoolDecision } from '../../src/gslb/decide.js';
import type { ClientInfo, GeoContext } from '../../src/gslb/locate.js';
import type { Pool } from '../../src/gslb/pool.js';
import { Rotation } from '../../src/gslb/rotation.js';
import { stickyOrder } from '../../src/gslb/select.js';
import { HealthTable } from '../../src/health/table.js';
import { bytesToIp } from '../../src/net/address.js';
import { client, geoFor, healthWith, keyOf, mulberry32, overlayConfig, poolOf, serverConfig, zonePools } from './helpers.js';

const GEO = geoFor();
const LONDON = '81.2.0.5'; // database /24, GB → eu-west, then us-east, ap-south
const SEATTLE = '4.4.0.1'; // → us-east
const TOKYO = '1.0.16.1'; // → ap-south

interface Run {
  health?: HealthTable;
  geo?: GeoContext;
  env?: Partial<GslbEnv>;
}

function decide(pool: Pool, family: 4 | 6, c: ClientInfo | string, o: Run = {}): PoolDecision & { answer: string[] } {
  const env: GslbEnv = { health: o.health ?? new HealthTable(), rotation: new Rotation(), random: mulberry32(1), ...o.env };
  const d = decidePool(pool, family, typeof c === 'string' ? client(c) : c, o.geo ?? GEO, env);
  return { ...d, answer: d.rdata.map((b) => bytesToIp(b)) };
}
const sorted = (a: string[]) => [...a].sort();

const APP = `ttl: 30
check: { type: none }
regions:
  us-east: [192.0.2.10, 192.0.2.11, "2001:db8:1::10"]
  eu-west: [198.51.100.10, 198.51.100.11, "2001:db8:2::10"]
  ap-south: [203.0.113.10, "2001:db8:3::10"]`;

// ---- step 3: the first region that qualifies ----------------------------------------------------------

test('all healthy: the nearest region, every healthy target of the family, full TTL, reason nearest', (t) => {
  const pool = poolOf(APP);
  const a = decide(pool, 4, LONDON);
  t.like(a, { kind: 'answer', region: 'eu-west', reason: 'nearest', ttl: 30, failOpen: false });
  t.deepEqual(sorted(a.answer), ['198.51.100.10', '198.51.100.11']);
  t.like(decide(pool, 6, LONDON), { kind: 'answer', region: 'eu-west', ttl: 30, answer: ['2001:db8:2::10'] });
  t.like(decide(pool, 4, SEATTLE), { region: 'us-east', reason: 'nearest' });
  t.like(decide(pool, 4, TOKYO), { region: 'ap-south', answer: ['203.0.113.10'] });
});

test("a down target in the chosen region is left out and halves the TTL; another family's down target does not", (t) => {
  const pool = poolOf(APP);
  const health = healthWith(pool, ['198.51.100.11']);
  t.like(decide(pool, 4, LONDON, { health }), { kind: 'answer', region: 'eu-west', reason: 'nearest', ttl: 15, answer: ['198.51.100.10'] });
  // the AAAA answer is the all-healthy one: full TTL
  t.like(decide(pool, 6, LONDON, { health }), { region: 'eu-west', ttl: 30, answer: ['2001:db8:2::10'] });
  // a target of a region that was not chosen changes nothing
  t.like(decide(pool, 4, SEATTLE, { health }), { region: 'us-east', ttl: 30 });
});

test('two health views at one version number never share a memoized plan (each answer follows its own view)', (t) => {
  const pool = poolOf(APP);
  // each view has had one change: the same version number, different states
  const a = healthWith(pool, ['198.51.100.10']);
  const b = healthWith(pool, ['198.51.100.11']);
  t.is(a.version, b.version);
  t.deepEqual(decide(pool, 4, LONDON, { health: a }).answer, ['198.51.100.11']);
  t.deepEqual(decide(pool, 4, LONDON, { health: b }).answer, ['198.51.100.10']);
});

test('a target between states (up, failures accumulating) is served but halves the TTL', (t) => {
  const pool = poolOf(APP);
  const health = new HealthTable();
  health.set(keyOf(pool, '198.51.100.11'), { up: true, changing: true });
  const d = decide(pool, 4, LONDON, { health });
  t.deepEqual(sorted(d.answer), ['198.51.100.10', '198.51.100.11']);
  t.is(d.ttl, 15);
});

test('failover: a region whose targets are all down is skipped → the next nearest, reason failover, TTL halved', (t) => {
  const pool = poolOf(APP);
  const health = healthWith(pool, ['198.51.100.10', '198.51.100.11', '2001:db8:2::10']);
  const a = decide(pool, 4, LONDON, { health });
  t.like(a, { kind: 'answer', region: 'us-east', reason: 'failover', ttl: 15, failOpen: false });
  t.deepEqual(sorted(a.answer), ['192.0.2.10', '192.0.2.11']);
  // AAAA moves with it: one region for both families
  t.like(decide(pool, 6, LONDON, { health }), { region: 'us-east', reason: 'failover', ttl: 15, answer: ['2001:db8:1::10'] });
  // and the next one after that
  for (const x of ['192.0.2.10', '192.0.2.11', '2001:db8:1::10']) health.set(keyOf(pool, x), { up: false });
  t.like(decide(pool, 4, LONDON, { health }), { region: 'ap-south', reason: 'failover', ttl: 15, answer: ['203.0.113.10'] });
});

test("a nearer region passed over by configuration (all its targets state: down, or min_healthy above its size) is no failover: full TTL, the policy's reason", (t) => {
  const adminDown = poolOf(`ttl: 30
check: { type: none }
regions:
  eu-west: [{ address: 198.51.100.10, state: down }, { address: "2001:db8:2::10", state: down }]
  us-east: [192.0.2.10, 192.0.2.11]
  ap-south: [203.0.113.10]`);
  // the all-healthy answer, given the configured states, is us-east's: nothing was removed by health
  t.like(decide(adminDown, 4, LONDON), { kind: 'answer', region: 'us-east', reason: 'nearest', ttl: 30 });
  // health removing something still halves it: a target of us-east down, or us-east skipped
  t.like(decide(adminDown, 4, LONDON, { health: healthWith(adminDown, ['192.0.2.11']) }), {
    region: 'us-east',
    reason: 'nearest',
    ttl: 15,
  });
  t.like(decide(adminDown, 4, LONDON, { health: healthWith(adminDown, ['192.0.2.10', '192.0.2.11']) }), {
    region: 'ap-south',
    reason: 'failover',
    ttl: 15,
  });

  const tooFew = poolOf(`ttl: 30
min_healthy: 3
check: { type: none }
regions:
  eu-west: [198.51.100.10, 198.51.100.11]
  us-east: [192.0.2.10, 192.0.2.11, 192.0.2.12]
  ap-south: [203.0.113.10]`);
  // eu-west can never have 3 healthy targets: us-east is the all-healthy answer
  t.like(decide(tooFew, 4, LONDON), { region: 'us-east', reason: 'nearest', ttl: 30 });
  t.like(decide(tooFew, 4, LONDON, { health: healthWith(tooFew, ['192.0.2.12']) }), { region: 'eu-west', reason: 'failover', ttl: 15 });

  // policy map: the entry's first region all state: down → its second, with the map's reason and full TTL
  const map = poolOf(`policy: map
check: { type: none }
regions:
  eu-west: [{ address: 198.51.100.10, state: down }]
  us-east: [192.0.2.10]
map:
  GB: [eu-west, us-east]
  default: [us-east]`);
  t.like(decide(map, 4, LONDON), { region: 'us-east', reason: 'map', ttl: 30 });

  // no region can ever qualify: the first with a live target is the all-healthy answer
  const none = poolOf(`ttl: 30
min_healthy: 5
check: { type: none }
regions:
  eu-west: [{ address: 198.51.100.10, state: down }]
  us-east: [192.0.2.10, 192.0.2.11]
  ap-south: [203.0.113.10]`);
  t.like(decide(none, 4, LONDON), { region: 'us-east', reason: 'nearest', ttl: 30 });
  t.like(decide(none, 4, LONDON, { health: healthWith(none, ['192.0.2.10', '192.0.2.11']) }), {
    region: 'ap-south',
    reason: 'failover',
    ttl: 15,
  });
});

test('TTL halving keeps at least 1 second: ttl 1 stays 1, ttl 3 becomes 1', (t) => {
  for (const [ttl, halved] of [
    [1, 1],
    [2, 1],
    [3, 1],
    [7, 3],
    [30, 15],
  ] as const) {
    const pool = poolOf(APP.replace('ttl: 30', `ttl: ${ttl}`));
    t.is(decide(pool, 4, LONDON).ttl, ttl);
    t.is(decide(pool, 4, LONDON, { health: healthWith(pool, ['198.51.100.11']) }).ttl, halved, `ttl ${ttl}`);
    t.is(decide(pool, 4, LONDON, { health: healthWith(pool, ['198.51.100.10', '198.51.100.11', '2001:db8:2::10']) }).ttl, halved);
  }
});

test('min_healthy as a count: a region with fewer healthy targets is skipped', (t) => {
  const pool = poolOf(`min_healthy: 2
${APP}`);
  t.like(decide(pool, 4, LONDON, { health: healthWith(pool, ['198.51.100.11']) }), { region: 'eu-west', reason: 'nearest', ttl: 15 });
  t.like(decide(pool, 4, LONDON, { health: healthWith(pool, ['198.51.100.11', '2001:db8:2::10']) }), {
    region: 'us-east',
    reason: 'failover',
    ttl: 15,
  });
});

test('min_healthy counts both families: healthy AAAA targets keep a region whose A targets are down', (t) => {
  const pool = poolOf(`min_healthy: 1
${APP}`);
  const health = healthWith(pool, ['198.51.100.10', '198.51.100.11']);
  // eu-west still qualifies on its AAAA target, so the A answer is NODATA there — never A from another region
  t.like(decide(pool, 4, LONDON, { health }), { kind: 'nodata', region: 'eu-west', answer: [] });
  t.like(decide(pool, 6, LONDON, { health }), { kind: 'answer', region: 'eu-west', answer: ['2001:db8:2::10'] });
});

test("min_healthy as a percentage of the region's non-down targets, both families", (t) => {
  const pool = poolOf(`min_healthy: "50%"
check: { type: none }
regions:
  eu-west: [198.51.100.10, 198.51.100.11, "2001:db8:2::10", "2001:db8:2::11"]
  us-east: [192.0.2.10, "2001:db8:1::10"]`);
  // 2 of 4 healthy: 50% → qualifies
  t.like(decide(pool, 4, LONDON, { health: healthWith(pool, ['2001:db8:2::10', '2001:db8:2::11']) }), { region: 'eu-west', ttl: 30 });
  // 1 of 4: skipped
  t.like(decide(pool, 4, LONDON, { health: healthWith(pool, ['198.51.100.11', '2001:db8:2::10', '2001:db8:2::11']) }), {
    region: 'us-east',
    reason: 'failover',
  });
  // `state: down` targets are not counted: 1 of 2 is 50%
  const admin = poolOf(`min_healthy: "50%"
check: { type: none }
regions:
  eu-west: [198.51.100.10, 198.51.100.11, { address: 198.51.100.12, state: down }, { address: 198.51.100.13, state: down }]
  us-east: [192.0.2.10]`);
  t.like(decide(admin, 4, LONDON, { health: healthWith(admin, ['198.51.100.11']) }), { region: 'eu-west', answer: ['198.51.100.10'] });
  // "100%": any target down skips the region
  const all = poolOf(`min_healthy: "100%"
${APP}`);
  t.like(decide(all, 4, LONDON, { health: healthWith(all, ['2001:db8:2::10']) }), { region: 'us-east', reason: 'failover' });
  t.like(decide(all, 4, LONDON), { region: 'eu-west', reason: 'nearest' });
});

test('no region qualifies: the first region with any healthy target answers', (t) => {
  const pool = poolOf(`min_healthy: 3
${APP}`);
  // eu-west 1/3 healthy, us-east 2/3, ap-south 2/2: none reaches 3
  const health = healthWith(pool, ['198.51.100.11', '2001:db8:2::10', '192.0.2.11']);
  t.like(decide(pool, 4, LONDON, { health }), { kind: 'answer', region: 'eu-west', answer: ['198.51.100.10'], ttl: 15, failOpen: false });
});

// ---- step 5: nothing healthy anywhere ---------------------------------------------------------------

const ALL_DOWN = `ttl: 30
check: { type: none }
regions:
  us-east: [192.0.2.10, 192.0.2.11, "2001:db8:1::10"]
  eu-west: [198.51.100.10, { address: 198.51.100.11, state: down }, 198.51.100.12, "2001:db8:2::10"]`;
const everything = (pool: Pool) =>
  healthWith(
    pool,
    pool.regions.flatMap((r) => r.targets.map((x) => x.address)),
  );

test('all_down serve-all (the default): fail open with every non-down target of the first region', (t) => {
  const pool = poolOf(ALL_DOWN);
  t.is(pool.spec.allDown.kind, 'serve-all');
  const health = everything(pool);
  const a = decide(pool, 4, LONDON, { health });
  t.like(a, { kind: 'answer', region: 'eu-west', reason: 'all_down', failOpen: true, ttl: 15 });
  t.deepEqual(sorted(a.answer), ['198.51.100.10', '198.51.100.12']);
  t.like(decide(pool, 6, LONDON, { health }), { region: 'eu-west', reason: 'all_down', failOpen: true, answer: ['2001:db8:2::10'] });
  const b = decide(pool, 4, SEATTLE, { health });
  t.like(b, { region: 'us-east', reason: 'all_down', failOpen: true });
  t.deepEqual(sorted(b.answer), ['192.0.2.10', '192.0.2.11']);
});

test('state: down targets are never served, not even when failing open', (t) => {
  const pool = poolOf(`check: { type: none }
regions:
  eu-west: [{ address: 198.51.100.11, state: down }, "2001:db8:2::10"]
  us-east: [192.0.2.10, { address: 192.0.2.11, state: down }]`);
  // all healthy: the only A target of eu-west is down by config; eu-west qualifies on AAAA → NODATA, not .11
  t.like(decide(pool, 4, LONDON), { kind: 'nodata', region: 'eu-west', answer: [] });
  const health = everything(pool);
  for (const from of [LONDON, SEATTLE, TOKYO]) {
    const d = decide(pool, 4, from, { health });
    t.false(d.answer.includes('198.51.100.11'));
    t.false(d.answer.includes('192.0.2.11'));
  }
  // failing open uses the first region, as for A so for AAAA: eu-west (nearest to London and Tokyo) has no
  // live IPv4 target, so those clients get NODATA rather than us-east's A beside eu-west's AAAA
  t.like(decide(pool, 4, SEATTLE, { health }), { reason: 'all_down', failOpen: true, region: 'us-east', answer: ['192.0.2.10'] });
  for (const from of [LONDON, TOKYO])
    t.like(decide(pool, 4, from, { health }), { kind: 'nodata', reason: 'all_down', region: 'eu-west', answer: [] });
  t.like(decide(pool, 6, LONDON, { health }), { reason: 'all_down', failOpen: true, region: 'eu-west', answer: ['2001:db8:2::10'] });
  // family_fallback: next-region lets the fail-open answer move on to a region that has the family
  const fb = poolOf(`check: { type: none }
family_fallback: next-region
regions:
  eu-west: [{ address: 198.51.100.11, state: down }, "2001:db8:2::10"]
  us-east: [192.0.2.10, { address: 192.0.2.11, state: down }]`);
  t.like(decide(fb, 4, LONDON, { health: everything(fb) }), {
    reason: 'all_down',
    failOpen: true,
    region: 'us-east',
    answer: ['192.0.2.10'],
  });
  // a region of only `state: down` targets never qualifies
  const dead = poolOf(`check: { type: none }
regions:
  eu-west: [{ address: 198.51.100.11, state: down }]
  us-east: [192.0.2.10]`);
  t.like(decide(dead, 4, LONDON), { region: 'us-east', answer: ['192.0.2.10'] });
});

test('all_down nodata and servfail', (t) => {
  const nodata = poolOf(`all_down: nodata
${ALL_DOWN}`);
  t.like(decide(nodata, 4, LONDON, { health: everything(nodata) }), {
    kind: 'nodata',
    reason: 'all_down',
    answer: [],
    ttl: 15,
    failOpen: false,
  });
  const servfail = poolOf(`all_down: servfail
${ALL_DOWN}`);
  t.like(decide(servfail, 4, LONDON, { health: everything(servfail) }), {
    kind: 'servfail',
    reason: 'all_down',
    answer: [],
    failOpen: false,
  });
  // with anything healthy they answer normally
  t.like(decide(servfail, 4, LONDON), { kind: 'answer', region: 'eu-west' });
  // every client gets the same NODATA / SERVFAIL: ECS scope 0 (docs/dns-behaviour.md#step-7-ecs-scope)
  t.like(decide(nodata, 4, client('127.0.0.1', '81.2.0.0/24'), { health: everything(nodata) }), { kind: 'nodata', scope: 0 });
  t.like(decide(servfail, 4, client('127.0.0.1', '81.2.0.0/24'), { health: everything(servfail) }), { kind: 'servfail', scope: 0 });
  // while failing open depends on where the client is (its first region)
  const open = poolOf(ALL_DOWN);
  t.like(decide(open, 4, client('127.0.0.1', '81.2.0.0/24'), { health: everything(open) }), {
    region: 'eu-west',
    failOpen: true,
    scope: 24,
  });
});

test("all_down fallback: POOL answers from the other pool, reason fallback, TTL at most half the pool's", (t) => {
  const pools = zonePools(`  app:
    pool:
      ttl: 30
      all_down: { fallback: backup }
      check: { type: none }
      regions:
        eu-west: [198.51.100.10]
        us-east: [192.0.2.10]
  backup:
    pool:
      ttl: 60
      check: { type: none }
      regions:
        ap-south: [203.0.113.50, 203.0.113.51]
  short:
    pool:
      ttl: 4
      check: { type: none }
      regions:
        ap-south: [203.0.113.60]
  app2:
    pool:
      ttl: 30
      all_down: { fallback: short }
      check: { type: none }
      regions:
        eu-west: [198.51.100.20]
`);
  const app = pools.get('app')!;
  const backup = pools.get('backup')!;
  t.is(app.fallback, backup);
  const health = healthWith(app, ['198.51.100.10', '192.0.2.10']);
  const seen: string[] = [];
  const d = decide(app, 4, LONDON, { health, env: { onDecision: (p, x) => seen.push(`${p.name} ${x.reason}`) } });
  t.like(d, { kind: 'answer', reason: 'fallback', ttl: 15, region: 'ap-south', failOpen: false });
  t.deepEqual(sorted(d.answer), ['203.0.113.50', '203.0.113.51']);
  t.is(seen.filter((s) => s.startsWith('app.example.test ')).length, 1);
  t.true(seen.includes('app.example.test fallback'));
  // the fallback's own shorter TTL is kept
  const app2 = pools.get('app2')!;
  t.like(decide(app2, 4, LONDON, { health: healthWith(app2, ['198.51.100.20']) }), {
    reason: 'fallback',
    ttl: 4,
    answer: ['203.0.113.60'],
  });
  // the fallback pool down too: it fails open itself
  for (const x of ['203.0.113.50', '203.0.113.51']) health.set(keyOf(backup, x), { up: false });
  const both = decide(app, 4, LONDON, { health });
  t.like(both, { reason: 'fallback', failOpen: true, ttl: 15 });
  t.deepEqual(sorted(both.answer), ['203.0.113.50', '203.0.113.51']);
});

// ---- step 4: standbys and answers: N ------------------------------------------------------------------

test('weight 0 standby: served only when no weighted target of its region is healthy', (t) => {
  const pool = poolOf(`check: { type: none }
regions:
  eu-west: [198.51.100.10, 198.51.100.11, { address: 198.51.100.12, weight: 0 }]
  us-east: [192.0.2.10]`);
  for (let i = 0; i < 6; i++) t.false(decide(pool, 4, LONDON).answer.includes('198.51.100.12'));
  t.like(decide(pool, 4, LONDON, { health: healthWith(pool, ['198.51.100.10']) }), { answer: ['198.51.100.11'], ttl: 15 });
  t.like(decide(pool, 4, LONDON, { health: healthWith(pool, ['198.51.100.10', '198.51.100.11']) }), {
    region: 'eu-west',
    reason: 'nearest',
    answer: ['198.51.100.12'],
    ttl: 15,
  });
  // the standby down too: the region has nothing healthy → failover
  t.like(decide(pool, 4, LONDON, { health: healthWith(pool, ['198.51.100.10', '198.51.100.11', '198.51.100.12']) }), {
    region: 'us-east',
    reason: 'failover',
    answer: ['192.0.2.10'],
  });
});

test('weight 0 standby under select: weighted', (t) => {
  const pool = poolOf(`select: weighted
check: { type: none }
regions:
  eu-west: [{ address: 198.51.100.10, weight: 3 }, { address: 198.51.100.11, weight: 0 }]`);
  const random = mulberry32(5);
  for (let i = 0; i < 50; i++) t.deepEqual(decide(pool, 4, LONDON, { env: { random } }).answer, ['198.51.100.10']);
  t.deepEqual(decide(pool, 4, LONDON, { health: healthWith(pool, ['198.51.100.10']) }).answer, ['198.51.100.11']);
});

test('answers: N keeps the first N of the selection; 0 = all', (t) => {
  const body = `check: { type: none }
regions:
  eu-west: [198.51.100.10, 198.51.100.11, 198.51.100.12, 198.51.100.13]`;
  t.is(decide(poolOf(body), 4, LONDON).answer.length, 4);
  t.is(decide(poolOf(`answers: 0\n${body}`), 4, LONDON).answer.length, 4);
  t.is(decide(poolOf(`answers: 2\n${body}`), 4, LONDON).answer.length, 2);
  t.is(decide(poolOf(`answers: 9\n${body}`), 4, LONDON).answer.length, 4);
  const one = poolOf(`answers: 1\n${body}`);
  const env: GslbEnv = { health: new HealthTable(), rotation: new Rotation(), random: mulberry32(1) };
  const firsts = new Set<string>();
  for (let i = 0; i < 4; i++) {
    const d = decidePool(one, 4, client(LONDON), GEO, env);
    t.is(d.rdata.length, 1);
    firsts.add(bytesToIp(d.rdata[0]!));
  }
  t.is(firsts.size, 4);
  // fail-open also keeps N
  const health = everything(one);
  t.like(decide(one, 4, LONDON, { health }), { reason: 'all_down', failOpen: true });
  t.is(decide(one, 4, LONDON, { health }).answer.length, 1);
});

// ---- one region for both families; step 7 -------------------------------------------------------------

test('one region for both families: no healthy AAAA in the chosen region → NODATA, unless family_fallback: next-region', (t) => {
  const pool = poolOf(APP);
  const health = healthWith(pool, ['2001:db8:2::10']);
  t.like(decide(pool, 4, LONDON, { health }), { kind: 'answer', region: 'eu-west', ttl: 30 });
  t.like(decide(pool, 6, LONDON, { health }), { kind: 'nodata', region: 'eu-west', answer: [] });
  const next = poolOf(`family_fallback: next-region
${APP}`);
  const h2 = healthWith(next, ['2001:db8:2::10']);
  t.like(decide(next, 4, LONDON, { health: h2 }), { kind: 'answer', region: 'eu-west' });
  t.like(decide(next, 6, LONDON, { health: h2 }), {
    kind: 'answer',
    region: 'us-east',
    reason: 'failover',
    ttl: 15,
    answer: ['2001:db8:1::10'],
  });
});

test('one region for both families: a chosen region without any IPv6 target answers AAAA with NODATA', (t) => {
  const pool = poolOf(`check: { type: none }
regions:
  eu-west: [198.51.100.10]
  us-east: [192.0.2.10, "2001:db8:1::10"]`);
  t.like(decide(pool, 6, LONDON), { kind: 'nodata', region: 'eu-west' });
  t.like(decide(pool, 6, SEATTLE), { kind: 'answer', region: 'us-east', answer: ['2001:db8:1::10'] });
  const next = poolOf(`family_fallback: next-region
check: { type: none }
regions:
  eu-west: [198.51.100.10]
  us-east: [192.0.2.10, "2001:db8:1::10"]`);
  t.like(decide(next, 6, LONDON), { kind: 'answer', region: 'us-east', answer: ['2001:db8:1::10'] });
});

test('a pool with no IPv6 target at all answers AAAA with NODATA that does not depend on the client', (t) => {
  const pool = poolOf(`check: { type: none }
regions:
  eu-west: [198.51.100.10]
  us-east: [192.0.2.10]`);
  t.false(pool.has6);
  const d = decide(pool, 6, client('127.0.0.1', '81.2.0.0/24'));
  t.like(d, { kind: 'nodata', region: null, scope: 0, ttl: 30, answer: [] });
  const v6only = poolOf(`check: { type: none }
regions:
  eu-west: ["2001:db8:2::10"]`);
  t.like(decide(v6only, 4, LONDON), { kind: 'nodata', region: null, scope: 0 });
});

// ---- regions from steerdns.yaml ---------------------------------------------------------------------

test('a region `state: down` in steerdns.yaml is left out of every pool, even when failing open', (t) => {
  const cfg = serverConfig(`listen: ["127.0.0.1:5300"]
regions:
  us-east: { location: [39.0, -77.5] }
  eu-west: { location: [53.3, -6.3], state: down }
`);
  const pool = poolOf(
    `check: { type: none }
regions:
  eu-west: [198.51.100.10]
  us-east: [192.0.2.10]`,
    cfg,
  );
  const geo = geoFor(cfg);
  t.like(decide(pool, 4, LONDON, { geo }), { region: 'us-east', answer: ['192.0.2.10'], ttl: 30 });
  t.like(decide(pool, 4, LONDON, { geo, health: healthWith(pool, ['192.0.2.10']) }), {
    region: 'us-east',
    reason: 'all_down',
    failOpen: true,
    answer: ['192.0.2.10'],
  });
});

test('a region `state: drain` is used only when no other region qualifies', (t) => {
  const cfg = serverConfig(`listen: ["127.0.0.1:5300"]
regions:
  us-east: { location: [39.0, -77.5] }
  eu-west: { location: [53.3, -6.3], state: drain }
`);
  const pool = poolOf(
    `check: { type: none }
regions:
  eu-west: [198.51.100.10]
  us-east: [192.0.2.10, 192.0.2.11]`,
    cfg,
  );
  const geo = geoFor(cfg);
  t.like(decide(pool, 4, LONDON, { geo }), { region: 'us-east' });
  t.like(decide(pool, 4, LONDON, { geo, health: healthWith(pool, ['192.0.2.10', '192.0.2.11']) }), {
    region: 'eu-west',
    reason: 'failover',
    answer: ['198.51.100.10'],
    ttl: 15,
  });
});

// ---- policies --------------------------------------------------------------------------------------

test('policy failover: always the written order; the next region when the first fails', (t) => {
  const pool = poolOf(`policy: failover
check: { type: none }
regions:
  us-east: [192.0.2.10]
  eu-west: [198.51.100.10]`);
  for (const from of [LONDON, SEATTLE, TOKYO]) t.like(decide(pool, 4, from), { region: 'us-east', reason: 'failover', ttl: 30 });
  t.like(decide(pool, 4, LONDON, { health: healthWith(pool, ['192.0.2.10']) }), { region: 'eu-west', reason: 'failover', ttl: 15 });
});

test('policy map: the most specific key decides, reason map', (t) => {
  const pool = poolOf(`policy: map
check: { type: none }
regions:
  us-east: [192.0.2.10]
  eu-west: [198.51.100.10]
  ap-south: [203.0.113.10]
  sa-east: [203.0.113.20]
map:
  "continent:EU": [eu-west, us-east]
  GB: [ap-south, eu-west]
  US-CA: [sa-east, us-east]
  default: [us-east, eu-west]`);
  t.like(decide(pool, 4, LONDON), { region: 'ap-south', reason: 'map', ttl: 30 }); // GB
  t.like(decide(pool, 4, '46.0.0.1'), { region: 'eu-west', reason: 'map' }); // DE → continent:EU
  t.like(decide(pool, 4, '5.5.0.1'), { region: 'sa-east', reason: 'map' }); // US-CA
  t.like(decide(pool, 4, SEATTLE), { region: 'us-east', reason: 'map' }); // US-WA → default
  t.like(decide(pool, 4, TOKYO), { region: 'us-east', reason: 'map' }); // JP → default
  t.like(decide(pool, 4, '8.8.8.8'), { region: 'us-east', reason: 'map' }); // unknown → default
  // the next region of the entry when the first fails
  t.like(decide(pool, 4, LONDON, { health: healthWith(pool, ['203.0.113.10']) }), { region: 'eu-west', reason: 'failover', ttl: 15 });
});

// ---- ECS scope (docs/dns-behaviour.md#step-7-ecs-scope) -------------------------------------------

const NEAREST = `check: { type: none }
regions:
  us-east: [192.0.2.10, "2001:db8:1::10"]
  eu-west: [198.51.100.10, "2001:db8:2::10"]
  ap-south: [203.0.113.10, "2001:db8:3::10"]`;

test('ECS scope: 0 without ECS', (t) => {
  t.like(decide(poolOf(NEAREST), 4, LONDON), { scope: 0, region: 'eu-west' });
});

test('ECS scope: the database prefix for a located ECS client in a multi-region nearest pool', (t) => {
  const pool = poolOf(NEAREST);
  // source 127.0.0.1 is pinned to eu-west by the overlay: the ECS address decides instead
  const c = client('127.0.0.1', '1.0.16.0/24');
  t.like(decide(pool, 4, c), { region: 'ap-south', scope: 20 });
  t.like(decide(pool, 4, client('127.0.0.1', '41.0.3.0/24')), { region: 'ap-south', scope: 16 });
  t.like(decide(pool, 6, client('127.0.0.1', '2001:218:1::/48')), { region: 'ap-south', scope: 32 });
  t.like(decide(pool, 6, client('::1', '2a02:c7f::/48')), { region: 'eu-west', scope: 48 });
});

test('ECS scope: longer than the source prefix when the database block is smaller (RFC 7871 §7.2.1)', (t) => {
  const pool = poolOf(NEAREST);
  t.like(decide(pool, 4, client('127.0.0.1', '81.2.0.0/16')), { region: 'eu-west', scope: 24 });
});

test('ECS scope: a database block with an overlay network nested inside is split around it, no more', (t) => {
  const pool = poolOf(NEAREST);
  // 81.2.69.0/24 is London in the database, 81.2.69.128/25 is pinned to us-east by the overlay
  t.like(decide(pool, 4, client('127.0.0.1', '81.2.69.0/24')), { region: 'eu-west', scope: 25 });
  t.like(decide(pool, 4, client('127.0.0.1', '81.2.69.128/25')), { region: 'us-east', scope: 25 });
  // a /12 database block (Tokyo) with a /24 overlay (London) inside: 60.4.0.0/14 holds none of the overlay and
  // its sibling 60.0.0.0/14 does, so the /14 is the block that gets one answer
  t.like(decide(pool, 4, client('127.0.0.1', '60.5.0.0/16')), { region: 'ap-south', scope: 14 });
  t.like(decide(pool, 4, client('127.0.0.1', '60.1.3.0/24')), { region: 'ap-south', scope: 24 });
  t.like(decide(pool, 4, client('127.0.0.1', '60.1.2.0/24')), { region: 'eu-west', scope: 24 });
});

test('ECS scope 0: source prefix 0 — the client opted out, the source address decides', (t) => {
  const pool = poolOf(NEAREST);
  const optOut = client(LONDON, '1.0.16.0/0');
  t.like(decide(pool, 4, optOut), { region: 'eu-west', scope: 0 });
});

// not the source address with scope 0: that answer, cached by the resolver for every client (RFC 7871 §7.3.1),
// would send all of them to the resolver's region for a TTL
// (docs/dns-behaviour.md#unlocatable-and-private-ecs-addresses)
test('a private or unlocatable ECS address decides as an unknown client (written order), scope the unlocated block, at least the source prefix', (t) => {
  const pool = poolOf(NEAREST);
  // asked by resolvers in London and Tokyo: the same answer, for the client's block
  for (const from of [LONDON, TOKYO]) {
    const priv = client(from, '192.168.7.0/24');
    t.like(decide(pool, 4, priv), { region: 'us-east', scope: 24, answer: ['192.0.2.10'] }, `private, asked from ${from}`);
    // the fixture database has nothing in 8.0.0.0/8: the source prefix is longer
    t.like(decide(pool, 4, client(from, '8.8.8.0/24')), { region: 'us-east', scope: 24 });
    t.like(decide(pool, 4, client(from, '8.8.0.0/16')), { region: 'us-east', scope: 16 });
    t.like(decide(pool, 6, client(from, 'fd00:1::/48')), { region: 'us-east', scope: 48, answer: ['2001:db8:1::10'] });
  }
  // 81.2.64.0/20 holds London's 81.2.69.0/24, but 81.2.64.0 is in an unlocated /22: longer than the source
  t.like(decide(pool, 4, client(TOKYO, '81.2.64.0/20')), { region: 'us-east', scope: 22 });
  // a private range longer than the source prefix is the block: 192.168.0.0/15 reaches into public 192.169/16
  t.like(decide(pool, 4, client(TOKYO, '192.168.0.0/15')), { region: 'us-east', scope: 16 });
  // policy map: an unknown client gets `default`
  const map = poolOf(`policy: map
check: { type: none }
regions:
  us-east: [192.0.2.10]
  eu-west: [198.51.100.10]
map:
  GB: [eu-west]
  default: [us-east]`);
  t.like(decide(map, 4, client(LONDON, '8.8.8.0/24')), { region: 'us-east', reason: 'map', scope: 24 });
  t.like(decide(map, 4, client(LONDON, '10.9.0.0/16')), { region: 'us-east', reason: 'map', scope: 16 });
});

test("sticky hashes the ECS subnet, located or not — never the resolver's address", (t) => {
  const sticky = poolOf(`select: sticky
check: { type: none }
regions:
  eu-west: [198.51.100.10, 198.51.100.11, 198.51.100.12, 198.51.100.13, 198.51.100.14, 198.51.100.15]`);
  const targets = sticky.regions[0]!.live4;
  for (const subnet of ['8.8.8.0/24', '192.168.7.0/24', '81.2.0.0/24']) {
    const expected = stickyOrder(targets, Buffer.from(subnet.split('/')[0]!.split('.').map(Number))).map((x) => x.address);
    for (const from of [LONDON, TOKYO, SEATTLE]) {
      t.like(decide(sticky, 4, client(from, subnet)), { answer: expected, scope: 24 }, `${subnet} from ${from}`);
    }
  }
  // and the subnets do not all hash alike (else this test could not tell the ECS subnet from the resolver)
  const orders = new Set(
    ['8.8.8.0/24', '192.168.7.0/24', '81.2.0.0/24', LONDON, TOKYO, SEATTLE].map((x) =>
      decide(sticky, 4, x.includes('/') ? client('127.0.0.1', x) : client(x)).answer.join(),
    ),
  );
  t.true(orders.size >= 4);
});

test('ECS scope 0 when the answer does not depend on the client: one region, failover policy', (t) => {
  const single = poolOf(`check: { type: none }
regions:
  eu-west: [198.51.100.10, 198.51.100.11]`);
  const c = client('127.0.0.1', '1.0.16.0/24');
  t.like(decide(single, 4, c), { region: 'eu-west', scope: 0 });
  t.is(c.located, undefined, 'a pool that answers every client alike does not even locate the client');
  const failover = poolOf(`policy: failover
${NEAREST}`);
  t.like(decide(failover, 4, client('127.0.0.1', '1.0.16.0/24')), { region: 'us-east', scope: 0 });
});

test('ECS scope under sticky: at least /24 (/56 for IPv6), even for a single region', (t) => {
  const sticky = poolOf(`select: sticky
${NEAREST}`);
  t.like(decide(sticky, 4, client('127.0.0.1', '41.0.3.0/24')), { scope: 24 }); // database /16
  t.like(decide(sticky, 4, client('127.0.0.1', '41.0.0.0/16')), { scope: 24 }); // longer than the source prefix
  t.like(decide(sticky, 4, client('127.0.0.1', '81.2.69.0/24')), { scope: 25 }); // the overlay's /25 is longer
  t.like(decide(sticky, 6, client('::1', '2001:218:1::/48')), { scope: 56 }); // database /32
  const single = poolOf(`select: sticky
check: { type: none }
regions:
  eu-west: [198.51.100.10, 198.51.100.11, "2001:db8:2::10", "2001:db8:2::11"]`);
  t.like(decide(single, 4, client('127.0.0.1', '1.0.16.0/24')), { scope: 24 });
  t.like(decide(single, 6, client('::1', '2001:218:1::/48')), { scope: 56 });
  // without ECS still 0
  t.like(decide(single, 4, LONDON), { scope: 0 });
});

test('ECS scope under policy map: the database prefix', (t) => {
  const pool = poolOf(`policy: map
check: { type: none }
regions:
  us-east: [192.0.2.10]
  eu-west: [198.51.100.10]
map:
  GB: [eu-west]
  default: [us-east]`);
  t.like(decide(pool, 4, client('127.0.0.1', '81.2.0.0/24')), { region: 'eu-west', scope: 24 });
  t.like(decide(pool, 4, client('127.0.0.1', '41.0.0.0/24')), { region: 'us-east', scope: 16 });
});

test('geoip.ecs: false ignores ECS: the source address decides, scope 0', (t) => {
  const pool = poolOf(NEAREST);
  const geo = geoFor(overlayConfig({ ecs: false }));
  const c = client(LONDON, '1.0.16.0/24');
  t.like(decide(pool, 4, c, { geo }), { region: 'eu-west', scope: 0 });
});

// ---- onDecision ------------------------------------------------------------------------------------

test('onDecision is called once per decision, with the decision returned', (t) => {
  const pool = poolOf(APP);
  const calls: [string, PoolDecision][] = [];
  const env: GslbEnv = {
    health: new HealthTable(),
    rotation: new Rotation(),
    random: mulberry32(1),
    onDecision: (p, d) => calls.push([p.name, d]),
  };
  const d1 = decidePool(pool, 4, client(LONDON), GEO, env);
  t.is(calls.length, 1);
  t.is(calls[0]![0], 'app.example.test');
  t.is(calls[0]![1], d1);
  decidePool(pool, 6, client(LONDON), GEO, env);
  decidePool(pool, 4, client(SEATTLE, '1.0.16.0/24'), GEO, env);
  const none = poolOf(`check: { type: none }
regions:
  eu-west: [198.51.100.10]`);
  decidePool(none, 6, client(LONDON), GEO, env);
  t.is(calls.length, 4);
  t.deepEqual(
    calls.map(([, d]) => d.kind),
    ['answer', 'answer', 'answer', 'nodata'],
  );
  const health = healthWith(
    pool,
    pool.regions.flatMap((r) => r.targets.map((x) => x.address)),
  );
  decidePool(pool, 4, client(LONDON), GEO, { ...env, health });
  t.is(calls.length, 5);
  t.like(calls[4]![1], { reason: 'all_down', failOpen: true });
});

test('the written order of regions decides for a client that cannot be located', (t) => {
  const pool = poolOf(`check: { type: none }
regions:
  ap-south: [203.0.113.10]
  eu-west: [198.51.100.10]`);
  t.like(decide(pool, 4, '8.8.8.8'), { region: 'ap-south', reason: 'nearest', scope: 0, ttl: 30 });
  t.like(decide(pool, 4, '7.7.7.7'), { region: 'ap-south' });
  t.like(decide(pool, 4, LONDON), { region: 'eu-west' });
});
