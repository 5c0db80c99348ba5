// GSLB end to end (docs/dns-behaviour.md#pool-decisions): the real server, a GeoIP fixture built by the
// project's own writer (`node tools/geodb-build.mjs`), and real `dig +subnet=`. Clients on three continents get
// their nearest region, TTL is the pool's, the ECS scope is the block that gets one answer (the fixture network,
// split around an overlay network nested inside it: docs/dns-behaviour.md#step-7-ecs-scope), plain queries from 127.0.0.1 follow the overlay, A and AAAA come from one region; failover,
// family fallback, rotation and the pool metrics are checked through the same wire.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { Pool } from '../../src/gslb/pool.js';
import { dig as digAt, execFileP, ROOT, startServer, type TestServer } from '../helpers/server.js';

// ---- fixture ------------------------------------------------------------------------------------

/** The database networks: Europe, North America, Asia, both families. */
const NETWORKS_YAML = `
networks:
  "81.2.69.0/24":     { country: GB, continent: EU, location: [51.5142, -0.0931], subdivision: ENG }   # London
  "193.0.0.0/21":     { country: NL, continent: EU, location: [52.37, 4.89] }                          # Amsterdam
  "216.160.83.0/24":  { country: US, continent: NA, location: [47.6062, -122.3321], subdivision: WA }  # Seattle
  "202.196.224.0/20": { country: PH, continent: AS, location: [14.5995, 120.9842] }                    # Manila
  "2a02:c7f::/32":    { country: GB, continent: EU, location: [51.5, -0.12] }                          # London
  "2600:1700::/28":   { country: US, continent: NA, location: [47.6062, -122.3321] }                   # Seattle
  "2001:218::/32":    { country: JP, continent: AS, location: [35.69, 139.69] }                        # Tokyo
`;

const REGIONS: Record<string, { v4: string[]; v6: string[] }> = {
  'us-east': { v4: ['192.0.2.10', '192.0.2.11'], v6: ['2001:db8:1::10', '2001:db8:1::11'] },
  'eu-west': { v4: ['198.51.100.10', '198.51.100.11'], v6: ['2001:db8:2::10', '2001:db8:2::11'] },
  'ap-south': { v4: ['203.0.113.10', '203.0.113.11'], v6: ['2001:db8:3::10', '2001:db8:3::11'] },
};
const TTL = 40;
const HALF = 20;

const poolRegions = () =>
  Object.entries(REGIONS)
    .map(([r, t]) => `        ${r}: [${[...t.v4, ...t.v6].map((a) => `"${a}"`).join(', ')}]`)
    .join('\n');

const ZONE = `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, refresh: 7200, retry: 3600, expire: 1209600, minimum: 60, serial: 1 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  static: { A: 192.0.2.80, AAAA: "2001:db8::80" }
  www: { CNAME: app }
  app:
    pool:
      ttl: ${TTL}
      policy: nearest
      check: { type: none }
      regions:
${poolRegions()}
  app-fb:
    pool:
      ttl: ${TTL}
      policy: nearest
      family_fallback: next-region
      check: { type: none }
      regions:
${poolRegions()}
  fo:
    pool:
      ttl: ${TTL}
      policy: failover
      check: { type: none }
      regions:
        eu-west: [198.51.100.30]
        us-east: [192.0.2.30]
  rr:
    pool:
      ttl: ${TTL}
      check: { type: none }
      regions:
        eu-west: [198.51.100.21, 198.51.100.22, 198.51.100.23]
        us-east: [192.0.2.21]
`;

let work = '';
let dbPath = '';

const config = (db: string) => `
listen: ["127.0.0.1:0"]
zones: ./zones
http: "127.0.0.1:0"
regions:
  us-east:  { location: [39.0, -77.5] }
  eu-west:  { location: [53.3, -6.3] }
  ap-south: { location: [19.1, 72.9] }
geoip:
  database: ${JSON.stringify(db)}
  ecs: true
  networks:
    "127.0.0.0/8": { region: ap-south }        # local dig lands in ap-south
    "81.2.69.192/26": { region: us-east }       # nested inside the London /24 of the database
    "2a02:c7f:bb00::/40": { region: ap-south }  # nested inside the London /32 of the database
log: { level: info }
`;

let shared: TestServer;

test.before(async (t) => {
  work = mkdtempSync(join(tmpdir(), 'steerdns-gslb-e2e-'));
  const yaml = join(work, 'networks.yaml');
  dbPath = join(work, 'fixture.mmdb');
  writeFileSync(yaml, NETWORKS_YAML);
  // the project's writer, through its real command line
  const { stdout } = await execFileP(process.execPath, [join(ROOT, 'tools', 'geodb-build.mjs'), yaml, '-o', dbPath], { cwd: ROOT });
  t.regex(stdout, /7 networks/);
  shared = await startServer({ 'example.test.yaml': ZONE }, config(dbPath));
});

test.after.always(async () => {
  await shared?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

// ---- dig and its output -------------------------------------------------------------------------

interface DigRR {
  name: string;
  ttl: number;
  type: string;
  data: string;
}

interface DigResult {
  status: string;
  flags: string[];
  answers: DigRR[];
  authority: DigRR[];
  /** `; CLIENT-SUBNET: addr/source/scope`, when the reply carried ECS. */
  ecs: { address: string; source: number; scope: number } | null;
  text: string;
}

function section(text: string, name: string): DigRR[] {
  const start = text.indexOf(`;; ${name} SECTION:\n`);
  if (start < 0) return [];
  const body = text.slice(start).split('\n').slice(1);
  const out: DigRR[] = [];
  for (const line of body) {
    if (!line.trim()) break;
    const [owner, ttl, , type, ...data] = line.split(/\s+/);
    out.push({ name: owner!, ttl: Number(ttl), type: type!, data: data.join(' ') });
  }
  return out;
}

function parseDig(text: string): DigResult {
  const status = /status: ([A-Z]+)/.exec(text)?.[1] ?? '';
  const flags = (/;; flags: ([a-z ]+);/.exec(text)?.[1] ?? '').trim().split(/\s+/);
  const m = /; CLIENT-SUBNET: ([0-9a-f.:]+)\/(\d+)\/(\d+)/.exec(text);
  return {
    status,
    flags,
    text,
    answers: section(text, 'ANSWER'),
    authority: section(text, 'AUTHORITY'),
    ecs: m ? { address: m[1]!, source: Number(m[2]), scope: Number(m[3]) } : null,
  };
}

/** Real dig against a server; `subnet` adds `+subnet=` (EDNS Client Subnet). */
async function ask(s: TestServer, name: string, type: 'A' | 'AAAA', subnet?: string): Promise<DigResult> {
  const args = ['+time=10', '+norec', ...(subnet ? [`+subnet=${subnet}`] : []), name, type];
  return parseDig(await digAt(s.port, args));
}

/** Which region's addresses an answer holds (every address must belong to the same region). */
function regionOf(r: DigResult): string | null {
  const addrs = r.answers.filter((a) => a.type === 'A' || a.type === 'AAAA').map((a) => a.data);
  if (addrs.length === 0) return null;
  const found = new Set(addrs.map((a) => Object.entries(REGIONS).find(([, t]) => t.v4.includes(a) || t.v6.includes(a))?.[0] ?? `?${a}`));
  if (found.size !== 1) return [...found].join('+');
  return [...found][0]!;
}

const addresses = (r: DigResult) => r.answers.filter((a) => a.type === 'A' || a.type === 'AAAA').map((a) => a.data);

function poolOf(s: TestServer, name: string): Pool {
  const p = s.server.snapshot.zones.get('example.test')!.pools.find((x) => x.name === name);
  if (!p) throw new Error(`no pool ${name}`);
  return p;
}

/** Sets every target of `region` (optionally one family) of a pool up or down in the server's health table. */
function setRegion(s: TestServer, pool: string, region: string, up: boolean, family?: 4 | 6): void {
  const r = poolOf(s, pool).regions.find((x) => x.name === region)!;
  for (const t of r.targets) if (!family || t.family === family) s.server.health.set(t.healthKey, { up });
}

// ---- the three continents -----------------------------------------------------------------------

const CLIENTS: { label: string; subnet: string; region: string; scope: number }[] = [
  { label: 'Seattle (database /24)', subnet: '216.160.83.0/24', region: 'us-east', scope: 24 },
  { label: 'Amsterdam (database /21)', subnet: '193.0.2.0/24', region: 'eu-west', scope: 21 },
  { label: 'Manila (database /20)', subnet: '202.196.230.0/24', region: 'ap-south', scope: 20 },
  // the /24 split around its overlay 81.2.69.192/26: 81.2.69.0/25 holds none of it
  { label: 'London, outside the nested overlay /26 (database /24)', subnet: '81.2.69.0/24', region: 'eu-west', scope: 25 },
  { label: 'London, another /26 of the same /24', subnet: '81.2.69.64/26', region: 'eu-west', scope: 25 },
  { label: 'inside the overlay /26', subnet: '81.2.69.192/26', region: 'us-east', scope: 26 },
  { label: 'inside the overlay /26, a /32', subnet: '81.2.69.200/32', region: 'us-east', scope: 26 },
  { label: 'Seattle IPv6 (database /28)', subnet: '2600:1700:ab00::/48', region: 'us-east', scope: 28 },
  { label: 'Tokyo IPv6 (database /32)', subnet: '2001:218:1200::/48', region: 'ap-south', scope: 32 },
  // the /32 split around its overlay 2a02:c7f:bb00::/40: 2a02:c7f:a000::/36 holds none of it
  { label: 'London IPv6 outside the nested overlay /40 (database /32)', subnet: '2a02:c7f:aa00::/48', region: 'eu-west', scope: 36 },
  { label: 'inside the IPv6 overlay /40', subnet: '2a02:c7f:bb12::/48', region: 'ap-south', scope: 40 },
  // 6to4 of 216.160.83.0: looked up by the embedded IPv4 (Seattle /24 → bits 16..40 of the IPv6 address)
  { label: '6to4 of the Seattle /24', subnet: '2002:d8a0:5300::/48', region: 'us-east', scope: 40 },
];

for (const c of CLIENTS) {
  test(`dig +subnet=${c.subnet} (${c.label}): A and AAAA from ${c.region}, pool TTL, ECS scope /${c.scope}`, async (t) => {
    const [a, aaaa] = await Promise.all([
      ask(shared, 'app.example.test', 'A', c.subnet),
      ask(shared, 'app.example.test', 'AAAA', c.subnet),
    ]);
    for (const [r, fam] of [
      [a, 'v4'],
      [aaaa, 'v6'],
    ] as const) {
      t.is(r.status, 'NOERROR', r.text);
      t.true(r.flags.includes('aa'), r.text);
      t.deepEqual([...addresses(r)].sort(), [...REGIONS[c.region]![fam]].sort(), r.text);
      for (const rr of r.answers) t.is(rr.ttl, TTL, r.text);
      t.truthy(r.ecs, r.text);
      const [addr, src] = c.subnet.split('/');
      t.is(r.ecs!.source, Number(src), r.text);
      t.is(r.ecs!.address, addr, r.text);
      t.is(r.ecs!.scope, c.scope, r.text);
    }
    // one region for both families
    t.is(regionOf(a), regionOf(aaaa));
  });
}

test('a CNAME to the pool answers from the pool for the ECS client', async (t) => {
  const r = await ask(shared, 'www.example.test', 'A', '202.196.230.0/24');
  t.is(r.answers[0]!.type, 'CNAME', r.text);
  t.is(regionOf(r), 'ap-south', r.text);
  t.is(r.ecs?.scope, 20, r.text);
});

// ---- source address, opt-out, private and static ------------------------------------------------

test('plain queries from 127.0.0.1 (no ECS) follow the overlay: ap-south, A and AAAA, no ECS in the reply', async (t) => {
  const [a, aaaa] = await Promise.all([ask(shared, 'app.example.test', 'A'), ask(shared, 'app.example.test', 'AAAA')]);
  t.deepEqual([...addresses(a)].sort(), REGIONS['ap-south']!.v4, a.text);
  t.deepEqual([...addresses(aaaa)].sort(), REGIONS['ap-south']!.v6, aaaa.text);
  for (const r of [a, aaaa]) {
    t.is(r.ecs, null, r.text);
    for (const rr of r.answers) t.is(rr.ttl, TTL);
  }
});

test('a static name gets ECS scope 0', async (t) => {
  const r = await ask(shared, 'static.example.test', 'A', '81.2.69.0/24');
  t.deepEqual(addresses(r), ['192.0.2.80'], r.text);
  t.deepEqual(r.ecs, { address: '81.2.69.0', source: 24, scope: 0 }, r.text);
  const r6 = await ask(shared, 'static.example.test', 'AAAA', '2a02:c7f:aa00::/48');
  t.is(r6.ecs?.scope, 0, r6.text);
});

test('ECS with source prefix 0: scope 0 and the answer of the source address (overlay ap-south)', async (t) => {
  const r = await ask(shared, 'app.example.test', 'A', '0.0.0.0/0');
  t.is(regionOf(r), 'ap-south', r.text);
  t.is(r.ecs?.source, 0, r.text);
  t.is(r.ecs?.scope, 0, r.text);
  for (const rr of r.answers) t.is(rr.ttl, TTL);
});

// the ECS address decides even when nothing locates it — the client is unknown (written order: us-east), not
// where its resolver (127.0.0.1: ap-south) is, since the resolver caches the answer for the client's block
// (RFC 7871 §7.3.1) — and the scope says which block that answer is for
// (docs/dns-behaviour.md#unlocatable-and-private-ecs-addresses)
test('a private ECS address (10.1.2.0/24) decides as an unknown client: the written order, scope the source prefix', async (t) => {
  const r = await ask(shared, 'app.example.test', 'A', '10.1.2.0/24');
  t.is(regionOf(r), 'us-east', r.text);
  t.deepEqual(r.ecs, { address: '10.1.2.0', source: 24, scope: 24 }, r.text);
  const r6 = await ask(shared, 'app.example.test', 'AAAA', 'fd00:1234::/48');
  t.is(regionOf(r6), 'us-east', r6.text);
  t.is(r6.ecs?.scope, 48, r6.text);
});

test('a public ECS address the database does not know decides as an unknown client: the written order, scope at least the source prefix', async (t) => {
  const r = await ask(shared, 'app.example.test', 'A', '198.18.7.0/24');
  t.is(regionOf(r), 'us-east', r.text);
  t.is(r.ecs?.scope, 24, r.text);
  const wide = await ask(shared, 'app.example.test', 'A', '198.18.0.0/16');
  t.is(regionOf(wide), 'us-east', wide.text);
  t.is(wide.ecs?.scope, 16, wide.text);
});

test('a failover pool answers every client alike (written order, overlay pins included) with ECS scope 0', async (t) => {
  // Seattle's nearest is us-east and 81.2.69.192/26 is pinned to us-east, but failover is always the written order
  for (const subnet of ['216.160.83.0/24', '81.2.69.0/24', '81.2.69.192/26', '2001:218:1200::/48']) {
    const r = await ask(shared, 'fo.example.test', 'A', subnet);
    t.deepEqual(addresses(r), ['198.51.100.30'], `${subnet}: ${r.text}`);
    t.is(r.answers[0]!.ttl, TTL, r.text);
    t.is(r.ecs?.scope, 0, `${subnet}: ${r.text}`);
  }
  const plain = await ask(shared, 'fo.example.test', 'A'); // 127.0.0.1: pinned to ap-south, not in this pool
  t.deepEqual(addresses(plain), ['198.51.100.30'], plain.text);
});

// ---- one region for both families ---------------------------------------------------------------

test('a region whose IPv6 targets are all down: AAAA is NODATA (not another region), A still from that region; family_fallback: next-region answers AAAA from the next region', async (t) => {
  const s = await startServer({ 'example.test.yaml': ZONE }, config(dbPath));
  t.teardown(() => s.stop());
  const london = '81.2.69.0/24';
  // healthy: both families from eu-west
  t.is(regionOf(await ask(s, 'app.example.test', 'AAAA', london)), 'eu-west');
  setRegion(s, 'app.example.test', 'eu-west', false, 6); // shared by app-fb: same (address, check)

  const aaaa = await ask(s, 'app.example.test', 'AAAA', london);
  t.is(aaaa.status, 'NOERROR', aaaa.text);
  t.deepEqual(addresses(aaaa), [], aaaa.text);
  t.is(aaaa.authority.length, 1, aaaa.text);
  t.is(aaaa.authority[0]!.type, 'SOA', aaaa.text);
  t.true(aaaa.authority[0]!.ttl <= TTL, aaaa.text); // negative TTL at a pool name at most the pool's ttl
  t.is(aaaa.ecs?.scope, 25, aaaa.text);

  const a = await ask(s, 'app.example.test', 'A', london);
  t.is(regionOf(a), 'eu-west', a.text);
  t.deepEqual([...addresses(a)].sort(), REGIONS['eu-west']!.v4);
  for (const rr of a.answers) t.is(rr.ttl, TTL, a.text); // the A answer is the all-healthy one

  const fb = await ask(s, 'app-fb.example.test', 'AAAA', london);
  t.is(regionOf(fb), 'us-east', fb.text); // London: us-east (5,800 km) before ap-south (7,300 km)
  t.deepEqual([...addresses(fb)].sort(), REGIONS['us-east']!.v6, fb.text);
  for (const rr of fb.answers) t.is(rr.ttl, HALF, fb.text); // an earlier region skipped: TTL halved
  const fbA = await ask(s, 'app-fb.example.test', 'A', london);
  t.is(regionOf(fbA), 'eu-west', fbA.text);

  setRegion(s, 'app.example.test', 'eu-west', true, 6);
  const back = await ask(s, 'app.example.test', 'AAAA', london);
  t.is(regionOf(back), 'eu-west', back.text);
  for (const rr of back.answers) t.is(rr.ttl, TTL);
});

// ---- failover -----------------------------------------------------------------------------------

test('failover: the nearest region all down → the next-nearest answers with the TTL halved; restored → back with the full TTL', async (t) => {
  const s = await startServer({ 'example.test.yaml': ZONE }, config(dbPath));
  t.teardown(() => s.stop());
  const seattle = '216.160.83.0/24'; // us-east (3,700 km), then eu-west (7,300 km), then ap-south (12,000 km)
  const manila = '202.196.230.0/24'; // ap-south
  const before = await ask(s, 'app.example.test', 'A', seattle);
  t.is(regionOf(before), 'us-east');

  setRegion(s, 'app.example.test', 'us-east', false);
  for (const type of ['A', 'AAAA'] as const) {
    const r = await ask(s, 'app.example.test', type, seattle);
    t.is(r.status, 'NOERROR', r.text);
    t.is(regionOf(r), 'eu-west', r.text);
    t.is(addresses(r).length, 2, r.text);
    for (const rr of r.answers) t.is(rr.ttl, HALF, r.text);
    t.is(r.ecs?.scope, 24, r.text);
  }
  // a client whose nearest region is untouched keeps the full TTL
  const m = await ask(s, 'app.example.test', 'A', manila);
  t.is(regionOf(m), 'ap-south');
  for (const rr of m.answers) t.is(rr.ttl, TTL);

  setRegion(s, 'app.example.test', 'us-east', true);
  for (const type of ['A', 'AAAA'] as const) {
    const r = await ask(s, 'app.example.test', type, seattle);
    t.is(regionOf(r), 'us-east', r.text);
    for (const rr of r.answers) t.is(rr.ttl, TTL, r.text);
  }
});

test('one target of the chosen region down: the rest of the region answers, TTL halved', async (t) => {
  const s = await startServer({ 'example.test.yaml': ZONE }, config(dbPath));
  t.teardown(() => s.stop());
  const key = poolOf(s, 'app.example.test')
    .regions.find((r) => r.name === 'ap-south')!
    .targets.find((x) => x.address === '203.0.113.10')!.healthKey;
  s.server.health.set(key, { up: false });
  const r = await ask(s, 'app.example.test', 'A', '202.196.230.0/24');
  t.deepEqual(addresses(r), ['203.0.113.11'], r.text);
  t.is(r.answers[0]!.ttl, HALF, r.text);
  // up again but between states (failures accumulating): still served, TTL still halved
  s.server.health.set(key, { up: true, changing: true });
  const c = await ask(s, 'app.example.test', 'A', '202.196.230.0/24');
  t.deepEqual([...addresses(c)].sort(), REGIONS['ap-south']!.v4, c.text);
  for (const rr of c.answers) t.is(rr.ttl, HALF, c.text);
  s.server.health.set(key, { up: true, changing: false });
  const ok = await ask(s, 'app.example.test', 'A', '202.196.230.0/24');
  for (const rr of ok.answers) t.is(rr.ttl, TTL, ok.text);
});

// ---- rotation -----------------------------------------------------------------------------------

test("round robin: consecutive dig answers rotate the region's addresses by one, each first exactly once per cycle", async (t) => {
  const s = await startServer({ 'example.test.yaml': ZONE }, config(dbPath));
  t.teardown(() => s.stop());
  const orders: string[][] = [];
  for (let i = 0; i < 6; i++) orders.push(addresses(await ask(s, 'rr.example.test', 'A', '81.2.69.0/24')));
  const all = ['198.51.100.21', '198.51.100.22', '198.51.100.23'];
  for (const o of orders) t.deepEqual([...o].sort(), all, `every answer holds the whole region: ${o.join(' ')}`);
  t.deepEqual(new Set(orders.slice(0, 3).map((o) => o[0])), new Set(all));
  t.deepEqual(new Set(orders.slice(3, 6).map((o) => o[0])), new Set(all));
  for (let i = 1; i < orders.length; i++) {
    const prev = orders[i - 1]!;
    t.deepEqual(orders[i], [...prev.slice(1), prev[0]], `answer ${i} is answer ${i - 1} rotated by one`);
  }
});

// ---- metrics ------------------------------------------------------------------------------------

async function metrics(s: TestServer): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${s.server.httpPort}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics: HTTP ${res.status}`);
  return res.text();
}

function sample(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const m = /^[^{]+\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const got = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[2]);
  }
  return 0;
}

test('/metrics: pool answers by region and reason, and failopen_total when every target is down', async (t) => {
  const s = await startServer({ 'example.test.yaml': ZONE }, config(dbPath));
  t.teardown(() => s.stop());
  t.truthy(s.server.httpPort);
  const labels = { zone: 'example.test', pool: 'app.example.test', region: 'eu-west', reason: 'nearest' };
  const m0 = await metrics(s);
  const n0 = sample(m0, 'steerdns_pool_answers_total', labels);
  for (let i = 0; i < 3; i++) t.is(regionOf(await ask(s, 'app.example.test', 'A', '81.2.69.0/24')), 'eu-west');
  const m1 = await metrics(s);
  t.regex(m1, /^steerdns_pool_answers_total\{[^}]*region="eu-west"[^}]*reason="nearest"[^}]*\} \d+/m);
  t.is(sample(m1, 'steerdns_pool_answers_total', labels) - n0, 3);

  // the nearest region down: a failover answer from us-east
  setRegion(s, 'app.example.test', 'eu-west', false);
  t.is(regionOf(await ask(s, 'app.example.test', 'A', '81.2.69.0/24')), 'us-east');
  const m2 = await metrics(s);
  t.is(sample(m2, 'steerdns_pool_answers_total', { ...labels, region: 'us-east', reason: 'failover' }), 1);

  // every target down: fail open (serve-all from the first region), counted
  const fo = { zone: 'example.test', pool: 'app.example.test' };
  const f0 = sample(m2, 'steerdns_failopen_total', fo);
  for (const r of Object.keys(REGIONS)) setRegion(s, 'app.example.test', r, false);
  const r = await ask(s, 'app.example.test', 'A', '81.2.69.0/24');
  t.is(r.status, 'NOERROR', r.text);
  t.is(regionOf(r), 'eu-west', r.text);
  for (const rr of r.answers) t.is(rr.ttl, HALF, r.text);
  await ask(s, 'app.example.test', 'A', '81.2.69.0/24');
  const m3 = await metrics(s);
  t.is(sample(m3, 'steerdns_failopen_total', fo) - f0, 2);
  t.is(sample(m3, 'steerdns_pool_answers_total', { ...labels, reason: 'all_down' }), 2);
  t.regex(m3, /^steerdns_failopen_total\{zone="example.test",pool="app.example.test"\} \d+/m);
  // and logged
  t.true(
    s.logs.some((l) => l.level === 40 && /no healthy target in any region/.test(String(l.msg))),
    JSON.stringify(s.logs.slice(-5)),
  );
});

test('/metrics and TTL: a nearer region all `state: down` or below its min_healthy by configuration is no failover', async (t) => {
  const zone = `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, minimum: 60, serial: 1 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  admin:
    pool:
      ttl: ${TTL}
      check: { type: none }
      regions:
        eu-west: [{ address: 198.51.100.10, state: down }, { address: 198.51.100.11, state: down }]
        us-east: [192.0.2.10]
  few:
    pool:
      ttl: ${TTL}
      min_healthy: 2
      check: { type: none }
      regions:
        eu-west: [198.51.100.10]
        us-east: [192.0.2.10, 192.0.2.11]
`;
  const s = await startServer({ 'example.test.yaml': zone }, config(dbPath));
  t.teardown(() => s.stop());
  for (const name of ['admin', 'few']) {
    const pool = `${name}.example.test`;
    // London: eu-west is nearest, but can never qualify as configured
    const r = await ask(s, pool, 'A', '81.2.69.0/24');
    t.is(regionOf(r), 'us-east', r.text);
    for (const rr of r.answers) t.is(rr.ttl, TTL, `${pool}: full TTL\n${r.text}`);
    const m = await metrics(s);
    t.is(sample(m, 'steerdns_pool_answers_total', { zone: 'example.test', pool, region: 'us-east', reason: 'nearest' }), 1, pool);
    t.is(sample(m, 'steerdns_pool_answers_total', { zone: 'example.test', pool, reason: 'failover' }), 0, pool);
  }
});
