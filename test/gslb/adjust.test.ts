// Runtime overrides on top of the zone files and health (docs/operations.md#runtime-overrides), through the one
// seam the answer path has for them (GslbEnv.adjust): each kind (drain, down, force-up, weight) at each scope (a
// target, a region of a pool, a region everywhere, a whole pool), their precedence (down > drain > up; weight:
// the newest wins), memoized plans following a new set at once, and explain listing the overrides that applied.
import test from 'ava';
import { Adjustments, type Override } from '../../src/gslb/adjust.js';
import { decidePool, type GslbEnv, type PoolDecision } from '../../src/gslb/decide.js';
import type { Pool } from '../../src/gslb/pool.js';
import { Rotation } from '../../src/gslb/rotation.js';
import type { PoolTrace } from '../../src/gslb/trace.js';
import { HealthTable } from '../../src/health/table.js';
import { bytesToIp } from '../../src/net/address.js';
import { client, geoFor, healthWith, mulberry32, zonePools } from './helpers.js';

const GEO = geoFor();
const LONDON = '81.2.0.5'; // eu-west, then us-east, ap-south
const NOW = Date.parse('2026-12-03T12:00:00Z');

const ZONE = `  app:
    pool:
      ttl: 30
      check: { type: none }
      regions:
        eu-west: [198.51.100.10, 198.51.100.11]
        us-east: [192.0.2.10, 192.0.2.11]
        ap-south: [203.0.113.10]
  api:
    pool:
      ttl: 30
      check: { type: none }
      regions:
        eu-west: [198.51.100.20]
        us-east: [192.0.2.20]
  web:
    pool:
      ttl: 30
      all_down: { fallback: backup }
      check: { type: none }
      regions:
        eu-west: [198.51.100.30]
  backup:
    pool:
      ttl: 60
      check: { type: none }
      regions:
        ap-south: [203.0.113.50]
  lonely:
    pool:
      ttl: 30
      check: { type: none }
      regions:
        eu-west: [198.51.100.40]
`;
const POOLS = zonePools(ZONE);
const pool = (name: string) => POOLS.get(name)!;

let seq = 0;
/** An override as the store keeps it; `created` orders them (newest wins for weight). */
function ov(
  action: Override['action'],
  scope: Partial<Pick<Override, 'zone' | 'pool' | 'region' | 'address' | 'weight'>>,
  created = NOW,
): Override {
  seq++;
  return {
    id: `00000000000${seq.toString(16)}`.slice(-12),
    action,
    zone: scope.zone ?? null,
    pool: scope.pool ?? null,
    region: scope.region ?? null,
    address: scope.address ?? null,
    weight: scope.weight ?? null,
    reason: 'test',
    author: 'tester',
    created,
    until: NOW + 3_600_000,
  };
}

function decide(
  p: Pool,
  adjust: Adjustments | null,
  o: { health?: HealthTable; trace?: PoolTrace[] } = {},
): PoolDecision & { answer: string[] } {
  const env: GslbEnv = { health: o.health ?? new HealthTable(), rotation: new Rotation(), random: mulberry32(1), adjust, trace: o.trace };
  const d = decidePool(p, 4, client(LONDON), GEO, env);
  return { ...d, answer: d.rdata.map((b) => bytesToIp(b)).sort() };
}

interface Row {
  title: string;
  pool: string;
  overrides: Override[];
  down?: string[];
  want: { region: string | null; answer: string[]; reason?: PoolDecision['reason']; ttl?: number; kind?: string };
}

const ROWS: Row[] = [
  { title: 'no override', pool: 'app', overrides: [], want: { region: 'eu-west', answer: ['198.51.100.10', '198.51.100.11'], ttl: 30 } },
  // target scope
  {
    title: 'down on a target: left out as if its check failed (TTL halved: not the all-healthy answer)',
    pool: 'app',
    overrides: [ov('down', { address: '198.51.100.11' })],
    want: { region: 'eu-west', answer: ['198.51.100.10'], ttl: 15 },
  },
  {
    title: 'down on every target of a region: the next region answers, as a failover',
    pool: 'app',
    overrides: [ov('down', { address: '198.51.100.10' }), ov('down', { address: '198.51.100.11' })],
    want: { region: 'us-east', answer: ['192.0.2.10', '192.0.2.11'], reason: 'failover', ttl: 15 },
  },
  {
    title: 'drain on a target: not served while anything else can be',
    pool: 'app',
    overrides: [ov('drain', { address: '198.51.100.10' })],
    want: { region: 'eu-west', answer: ['198.51.100.11'] },
  },
  {
    title: 'drain on the only target of a pool: served, nothing else qualifies',
    pool: 'lonely',
    overrides: [ov('drain', { address: '198.51.100.40' })],
    want: { region: 'eu-west', answer: ['198.51.100.40'], reason: 'nearest' },
  },
  {
    title: 'drained target and every other target down by health: the drained target serves',
    pool: 'app',
    overrides: [ov('drain', { address: '203.0.113.10' })],
    down: ['198.51.100.10', '198.51.100.11', '192.0.2.10', '192.0.2.11'],
    want: { region: 'ap-south', answer: ['203.0.113.10'], reason: 'failover' },
  },
  {
    title: 'up (force-up) on a target its check has down: served',
    pool: 'app',
    overrides: [ov('up', { address: '198.51.100.10' })],
    down: ['198.51.100.10', '198.51.100.11'],
    want: { region: 'eu-west', answer: ['198.51.100.10'] },
  },
  {
    title: 'down beats drain beats up on one target',
    pool: 'app',
    overrides: [
      ov('up', { address: '198.51.100.10' }),
      ov('down', { address: '198.51.100.10' }),
      ov('drain', { address: '198.51.100.11' }),
      ov('up', { address: '198.51.100.11' }),
    ],
    want: { region: 'us-east', answer: ['192.0.2.10', '192.0.2.11'], reason: 'failover' },
  },
  {
    title: 'weight 0 on a target: a standby, served only when no weighted target is healthy',
    pool: 'app',
    overrides: [ov('weight', { address: '198.51.100.11', weight: 0 })],
    want: { region: 'eu-west', answer: ['198.51.100.10'] },
  },
  {
    title: 'weight: the newest override wins',
    pool: 'app',
    overrides: [
      ov('weight', { address: '198.51.100.11', weight: 5 }, NOW + 1000),
      ov('weight', { address: '198.51.100.11', weight: 0 }, NOW),
    ],
    want: { region: 'eu-west', answer: ['198.51.100.10', '198.51.100.11'] },
  },
  // region of a pool
  {
    title: 'drain on a region of a pool: ordered last, like state: drain in steerdns.yaml',
    pool: 'app',
    overrides: [ov('drain', { zone: 'example.test', pool: 'app', region: 'eu-west' })],
    want: { region: 'us-east', answer: ['192.0.2.10', '192.0.2.11'], reason: 'nearest', ttl: 30 },
  },
  {
    title: 'a drained region still serves when no other region qualifies',
    pool: 'app',
    overrides: [ov('drain', { pool: 'app', region: 'eu-west' })],
    down: ['192.0.2.10', '192.0.2.11', '203.0.113.10'],
    want: { region: 'eu-west', answer: ['198.51.100.10', '198.51.100.11'] },
  },
  {
    title: 'down on a region of a pool: its targets are down',
    pool: 'app',
    overrides: [ov('down', { pool: 'app.example.test', region: 'eu-west' })],
    want: { region: 'us-east', answer: ['192.0.2.10', '192.0.2.11'], reason: 'failover' },
  },
  {
    title: 'up on a region: every target of it served whatever its check says',
    pool: 'app',
    overrides: [ov('up', { pool: 'app', region: 'eu-west' })],
    down: ['198.51.100.10', '198.51.100.11'],
    want: { region: 'eu-west', answer: ['198.51.100.10', '198.51.100.11'], ttl: 30 },
  },
  {
    title: 'a region override of another pool changes nothing here',
    pool: 'app',
    overrides: [ov('drain', { pool: 'api', region: 'eu-west' })],
    want: { region: 'eu-west', answer: ['198.51.100.10', '198.51.100.11'], ttl: 30 },
  },
  // region everywhere
  {
    title: 'drain on a region without pool: drained in every pool (app)',
    pool: 'app',
    overrides: [ov('drain', { region: 'eu-west' })],
    want: { region: 'us-east', answer: ['192.0.2.10', '192.0.2.11'] },
  },
  {
    title: 'drain on a region without pool: drained in every pool (api)',
    pool: 'api',
    overrides: [ov('drain', { region: 'eu-west' })],
    want: { region: 'us-east', answer: ['192.0.2.20'] },
  },
  {
    title: 'a zone that is not the pool’s: no effect',
    pool: 'app',
    overrides: [ov('drain', { zone: 'other.test', region: 'eu-west' })],
    want: { region: 'eu-west', answer: ['198.51.100.10', '198.51.100.11'] },
  },
  // whole pool
  {
    title: 'down on a whole pool: all_down, and the fail-open answer leaves out targets down by override',
    pool: 'app',
    overrides: [ov('down', { zone: 'example.test', pool: 'app' })],
    want: { kind: 'nodata', region: null, answer: [], reason: 'all_down' },
  },
  {
    title: 'drain on a whole pool: its all_down fallback pool answers',
    pool: 'web',
    overrides: [ov('drain', { pool: 'web' })],
    want: { region: 'ap-south', answer: ['203.0.113.50'], reason: 'fallback', ttl: 15 },
  },
  {
    title: 'drain on a whole pool whose fallback has nothing: the pool answers',
    pool: 'web',
    overrides: [ov('drain', { pool: 'web' }), ov('down', { pool: 'backup' })],
    want: { region: 'eu-west', answer: ['198.51.100.30'], reason: 'nearest' },
  },
  {
    title: 'drain on a whole pool without a fallback: the pool answers',
    pool: 'app',
    overrides: [ov('drain', { pool: 'app' })],
    want: { region: 'eu-west', answer: ['198.51.100.10', '198.51.100.11'] },
  },
  {
    title: 'up on a whole pool: every target served whatever its check says',
    pool: 'lonely',
    overrides: [ov('up', { zone: 'example.test' })],
    down: ['198.51.100.40'],
    want: { region: 'eu-west', answer: ['198.51.100.40'], ttl: 30 },
  },
];

for (const row of ROWS) {
  test(`override: ${row.title}`, (t) => {
    const p = pool(row.pool);
    const health = healthWith(p, row.down ?? []);
    const d = decide(p, new Adjustments(row.overrides), { health });
    t.like(d, { kind: row.want.kind ?? 'answer', region: row.want.region });
    t.deepEqual(d.answer, row.want.answer);
    if (row.want.reason) t.is(d.reason, row.want.reason);
    if (row.want.ttl) t.is(d.ttl, row.want.ttl);
  });
}

test('no overrides (null) and an empty set decide alike, for every pool and both families', (t) => {
  for (const p of POOLS.values()) {
    for (const family of [4, 6] as const) {
      const env = (adjust: Adjustments | null): GslbEnv => ({
        health: new HealthTable(),
        rotation: new Rotation(),
        random: mulberry32(1),
        adjust,
      });
      const a = decidePool(p, family, client(LONDON), GEO, env(null));
      const b = decidePool(p, family, client(LONDON), GEO, env(new Adjustments([])));
      t.deepEqual(b, a, `${p.name} IPv${family}`);
    }
  }
});

test('a memoized plan follows a new set of overrides at once, and the end of one', (t) => {
  const p = pool('app');
  const health = new HealthTable();
  const env: GslbEnv = { health, rotation: new Rotation(), random: mulberry32(1), adjust: null };
  const region = () => decidePool(p, 4, client(LONDON), GEO, env).region;
  t.is(region(), 'eu-west');
  env.adjust = new Adjustments([ov('drain', { region: 'eu-west' })]);
  t.is(region(), 'us-east');
  env.adjust = new Adjustments([ov('down', { region: 'us-east' }), ov('drain', { region: 'eu-west' })]);
  t.is(region(), 'ap-south');
  env.adjust = null;
  t.is(region(), 'eu-west');
});

test('explain lists the overrides that applied to a pool, with scope, author, reason and expiry', (t) => {
  const p = pool('app');
  const trace: PoolTrace[] = [];
  const o = ov('drain', { pool: 'app', region: 'eu-west' });
  decide(p, new Adjustments([o, ov('down', { pool: 'api' })]), { trace });
  t.deepEqual(trace[0]!.overrides, [
    {
      id: o.id,
      action: 'drain',
      scope: 'pool app region eu-west',
      weight: null,
      reason: 'test',
      author: 'tester',
      until: '2026-12-03T13:00:00.000Z',
    },
  ]);
  t.is(trace[0]!.regions.at(-1)!.state, 'drain (override)');
  const none: PoolTrace[] = [];
  decide(p, null, { trace: none });
  t.false('overrides' in none[0]!);
});
