// The HTTP API (docs/http-api.md), against the real server with real health checks: TCP
// backends listening on 127.0.1.201 and .203, nothing on .202 and .204 (same port), so after a few probe
// intervals the prober has both up and down targets, one pool has no healthy target at all (fail-open), and
// the DNS answers, /metrics, /status and the page must all tell the same story.
//  - /metrics is parsed by a strict Prometheus text-format parser (test/operate/helpers.ts): every documented
//    metric with its TYPE, the documented labels with bounded values, exact query counts per label set, a
//    consistent histogram, counters that move between scrapes by exactly what was asked.
//  - /status is checked field by field against the zone files and what DNS answers.
//  - / is a self-contained HTML page with every zone, pool, region and target and its health class;
//    /?fragment=1 is its live inner part. /healthz, /readyz, 404, 405, and only the configured address.

import { readFileSync } from 'node:fs';
import net from 'node:net';
import { isAbsolute, join, relative } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { Status as StatusShape } from '../../src/http/status.js';
import { BASE_CONFIG, decode, type Msg, query, ROOT, startServer, type TestServer, tcp, udp, udpRaw } from '../helpers/server.js';
import { type Family, get, parsePrometheus, poll, queryOfType, sampleSum, sampleValue, scrape, sleep, soaSerial } from './helpers.js';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const UP1 = '127.0.1.201';
const DOWN1 = '127.0.1.202';
const UP2 = '127.0.1.203';
const DEAD = '127.0.1.204';

/** One TXT RRset far over 512 octets: TC=1 over UDP without EDNS. */
const BIG_TXT = Array.from({ length: 8 }, (_, i) => `"${String.fromCharCode(97 + i).repeat(120)}"`).join(', ');

const ZONE = (port: number) => `origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, minimum: 60 }
records:
  "@":
    NS: [ns1]
    MX: [{ preference: 10, exchange: mail }]
  ns1: { A: 192.0.2.53, AAAA: "2001:db8::53" }
  mail: { A: 192.0.2.25 }
  big: { TXT: [${BIG_TXT}] }
  app:
    pool:
      ttl: 30
      check: { type: tcp, port: ${port}, interval: 200ms, timeout: 150ms, rise: 1, fall: 2 }
      regions:
        us-east: [${UP1}, ${DOWN1}]
        eu-west: [${UP2}]
  dead:
    pool:
      check: { type: tcp, port: ${port}, interval: 200ms, timeout: 150ms, rise: 1, fall: 1 }
      regions:
        eu-west: [${DEAD}]
  fo:
    pool:
      policy: failover
      check: { type: none }
      regions:
        eu-west: [192.0.2.70]
        us-east: [192.0.2.71]
  mapped:
    pool:
      policy: map
      map: { "continent:EU": [us-east], default: [ap-south, us-east] }
      check: { type: none }
      regions:
        us-east: [192.0.2.81]
        ap-south: [192.0.2.82]
`;

const OTHER = `origin: other.test
soa: { ns: ns1.other.test., email: hostmaster@other.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.153 }
`;

const BROKEN = `origin: broken.test
soa: { ns: ns1.broken.test., email: hostmaster@broken.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  www: { A: 192.0.2.300 }
`;

const REGIONS: Record<string, [number, number]> = { 'us-east': [39.0, -77.5], 'eu-west': [53.3, -6.3], 'ap-south': [19.1, 72.9] };

/** How a path shows in messages: relative to the working directory when below it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

interface Setup {
  s: TestServer;
  port: number;
  http: number;
  checkPort: number;
  dir: string;
}

/** Listens on `address:port` (port 0: any); accepts and drops connections. */
function listen(t: ExecutionContext, address: string, port: number): Promise<number> {
  const server = net.createServer((c) => c.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      t.teardown(() => new Promise<void>((r) => server.close(() => r())));
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** Backends on UP1 and UP2 (one port), the server, and the prober's verdicts settled (DOWN1 and DEAD down). */
async function setup(t: ExecutionContext): Promise<Setup> {
  let checkPort = 0;
  for (let attempt = 0; ; attempt++) {
    checkPort = await listen(t, UP1, 0);
    try {
      await listen(t, UP2, checkPort);
      break;
    } catch (e) {
      if (attempt > 10) throw e;
    }
  }
  const s = await startServer(
    { 'example.test.yaml': ZONE(checkPort), 'other.test.yaml': OTHER, 'broken.test.yaml': BROKEN },
    `${BASE_CONFIG}http: "127.0.0.1:0"\n`,
  );
  t.teardown(() => s.stop());
  const http = s.server.httpPort!;
  await poll(
    async () => {
      const fams = await scrape(http);
      const up = (address: string) => sampleValue(fams, 'steerdns_target_up', { address });
      return up(UP1) === 1 && up(UP2) === 1 && up(DOWN1) === 0 && up(DEAD) === 0 ? true : undefined;
    },
    { timeoutMs: 10_000, what: 'the probes to settle', stepMs: 50 },
  );
  return { s, port: s.port, http, checkPort, dir: s.dir };
}

// ---- the parser itself ----------------------------------------------------------------------------

test('the Prometheus parser of these tests reads escapes, histograms and special values, and rejects malformed text', (t) => {
  const fams = parsePrometheus(`# HELP a_total A counter with a \\\\ and a \\n in its help.
# TYPE a_total counter
a_total{path="C:\\\\dir\\\\",msg="say \\"hi\\"\\nbye",empty=""} 3
a_total{path="x",} 4 1700000000000
# a plain comment
# TYPE h histogram
h_bucket{le="0.1"} 1
h_bucket{le="1"} 2
h_bucket{le="+Inf"} 2
h_sum 0.3
h_count 2
# TYPE g gauge
g NaN
g{x="1"} Nan
g{x="2"} -Inf
g{x="3"} 1.5e-7
`);
  const a = fams.get('a_total')!;
  t.is(a.type, 'counter');
  t.is(a.help, 'A counter with a \\ and a \n in its help.');
  t.deepEqual(a.samples[0], { name: 'a_total', labels: { path: 'C:\\dir\\', msg: 'say "hi"\nbye', empty: '' }, value: 3 });
  t.deepEqual(a.samples[1], { name: 'a_total', labels: { path: 'x' }, value: 4 });
  t.is(fams.get('h')!.type, 'histogram');
  t.is(sampleValue(fams, 'h_bucket', { le: '+Inf' }), 2);
  t.true(Number.isNaN(sampleValue(fams, 'g')!));
  t.true(Number.isNaN(sampleValue(fams, 'g', { x: '1' })!));
  t.is(sampleValue(fams, 'g', { x: '2' }), -Infinity);
  t.is(sampleValue(fams, 'g', { x: '3' }), 1.5e-7);
  const bad: [string, RegExp][] = [
    ['# TYPE a counter\na{x="1} 1\n', /unterminated/],
    ['# TYPE a counter\na{x="\\t"} 1\n', /bad escape/],
    ['# TYPE a counter\na{1x="1"} 1\n', /bad label name/],
    ['# TYPE a counter\na 1\na 2\n', /duplicate series/],
    ['# TYPE a counter\na one\n', /bad value/],
    ['a 1\n', /without a TYPE/],
    ['# TYPE a counter\n# TYPE a gauge\n', /second TYPE/],
    ['# TYPE a counter\n# TYPE b counter\na 1\n', /not together/],
    ['# TYPE a wat\n', /unknown type/],
    ['# TYPE a counter\na 1', /end with a newline/],
    ['# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', /not cumulative/],
    ['# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n', /≠ _count/],
    ['# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', /no \+Inf/],
  ];
  for (const [text, err] of bad) t.throws(() => parsePrometheus(text), { message: err }, JSON.stringify(text));
});

// ---- /metrics ---------------------------------------------------------------------------------------

/** The metrics of docs/http-api.md#metrics: name, TYPE, label names. */
const SPEC_METRICS: [string, Family['type'], string[]][] = [
  ['steerdns_queries_total', 'counter', ['zone', 'qtype', 'rcode', 'transport']],
  ['steerdns_responses_truncated_total', 'counter', []],
  ['steerdns_query_duration_seconds', 'histogram', []],
  ['steerdns_target_up', 'gauge', ['zone', 'pool', 'region', 'address']],
  ['steerdns_health_checks_total', 'counter', ['result']],
  ['steerdns_failopen_total', 'counter', ['zone', 'pool']],
  ['steerdns_zone_serial', 'gauge', ['zone']],
  ['steerdns_pool_answers_total', 'counter', ['zone', 'pool', 'region', 'reason']],
  ['steerdns_rrl_total', 'counter', ['action']],
  ['steerdns_zone_load_errors_total', 'counter', ['zone']],
  ['steerdns_dnssec_signatures_total', 'counter', []],
  ['steerdns_dnssec_cache_hits_total', 'counter', []],
  ['steerdns_dnssec_cache_misses_total', 'counter', []],
  ['steerdns_dnssec_cache_entries', 'gauge', []],
  ['steerdns_geoip_decision_tables', 'gauge', []],
  ['steerdns_geoip_decision_table_bytes', 'gauge', []],
];

const RCODES = new Set(['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'BADVERS', 'other']);
const QTYPES = new Set([
  'A',
  'NS',
  'CNAME',
  'SOA',
  'PTR',
  'MX',
  'TXT',
  'AAAA',
  'SRV',
  'NAPTR',
  'DS',
  'RRSIG',
  'NSEC',
  'DNSKEY',
  'NSEC3',
  'TLSA',
  'SVCB',
  'HTTPS',
  'CAA',
  'ANY',
  'AXFR',
  'IXFR',
  'OPT',
  'HINFO',
  'DNAME',
  'SSHFP',
  'CDS',
  'CDNSKEY',
  'NSEC3PARAM',
  'SPF',
  'URI',
  'LOC',
  'other',
]);

/** Every query the test sends, counted by the label set the server must count it under. */
class Sent {
  readonly counts = new Map<string, number>();

  async send(
    port: number,
    transport: 'udp' | 'tcp',
    name: string,
    type: string | number,
    zone: string,
    opts: { edns?: boolean } = {},
  ): Promise<Msg> {
    const msg = typeof type === 'number' ? queryOfType(name, type) : query(name, type, opts);
    const m = transport === 'udp' ? (await udp(port, msg)).msg : (await tcp(port, msg)).msg;
    const qtype = typeof type === 'number' ? 'other' : type;
    const key = JSON.stringify({ zone, qtype, rcode: m.rcode, transport });
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    return m;
  }

  get total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }
}

function queriesByLabels(fams: Map<string, Family>): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of fams.get('steerdns_queries_total')!.samples) {
    const { zone, qtype, rcode, transport } = s.labels;
    out.set(JSON.stringify({ zone, qtype, rcode, transport }), s.value);
  }
  return out;
}

test('/metrics: every documented metric with its TYPE and labels, bounded label values, exact counts, a consistent histogram; counters move between scrapes', async (t) => {
  const { port, http, s } = await setup(t);
  const r = await get(http, '/metrics');
  t.is(r.status, 200);
  t.regex(r.type, /^text\/plain; version=0\.0\.4/);
  const empty = parsePrometheus(r.body);
  for (const [name, type] of SPEC_METRICS) {
    const f = empty.get(name);
    t.truthy(f, `${name} is exported`);
    t.is(f?.type, type, `${name} TYPE`);
    t.truthy(f?.help, `${name} HELP`);
  }
  t.deepEqual(empty.get('steerdns_queries_total')!.samples, [], 'no query asked yet');

  // queries of different types, rcodes and transports
  const sent = new Sent();
  const ex = 'example.test';
  for (let i = 0; i < 3; i++)
    t.deepEqual(
      (await sent.send(port, 'udp', 'app.example.test', 'A', ex)).answers.map((a) => a.data),
      [UP1],
    );
  t.is((await sent.send(port, 'udp', 'ns1.example.test', 'AAAA', ex)).answers[0]!.data, '2001:db8::53');
  t.is((await sent.send(port, 'tcp', 'example.test', 'MX', ex)).answers[0]!.type, 'MX');
  t.is((await sent.send(port, 'udp', 'nx.example.test', 'A', ex)).rcode, 'NXDOMAIN');
  t.is((await sent.send(port, 'tcp', 'nx.example.test', 'A', ex)).rcode, 'NXDOMAIN');
  // outside every zone: zone="", however many different names
  for (const name of ['example.com', 'www.example.org', 'a.b.c.invalid', 'localhost'])
    t.is((await sent.send(port, 'udp', name, 'A', '')).rcode, 'REFUSED');
  // private-use qtypes: all under qtype="other"
  for (const code of [65280, 65281, 65534, 4321]) t.is((await sent.send(port, 'udp', 'example.test', code, ex)).rcode, 'NOERROR');
  // truncated over UDP without EDNS, whole over TCP
  const tc = await sent.send(port, 'udp', 'big.example.test', 'TXT', ex);
  t.true(tc.flag_tc);
  t.is(tc.answers.length, 0);
  t.is((await sent.send(port, 'tcp', 'big.example.test', 'TXT', ex)).answers.length, 8);
  // every pool decision reason we can make without a GeoIP location: written order (nearest), failover, map, all_down
  t.deepEqual(
    (await sent.send(port, 'udp', 'fo.example.test', 'A', ex)).answers.map((a) => a.data),
    ['192.0.2.70'],
  );
  t.deepEqual(
    (await sent.send(port, 'udp', 'mapped.example.test', 'A', ex)).answers.map((a) => a.data),
    ['192.0.2.82'],
  );
  t.deepEqual(
    (await sent.send(port, 'udp', 'dead.example.test', 'A', ex)).answers.map((a) => a.data),
    [DEAD],
    'all_down serve-all fails open',
  );
  t.is((await sent.send(port, 'udp', 'ns1.other.test', 'A', 'other.test')).answers[0]!.data, '192.0.2.153');

  const fams = await scrape(http);
  // every steerdns metric: TYPE, HELP, exactly the documented label names on every sample
  for (const [name, type, labels] of SPEC_METRICS) {
    const f = fams.get(name)!;
    t.is(f.type, type, name);
    for (const smp of f.samples) {
      const got = Object.keys(smp.labels)
        .filter((k) => k !== 'le')
        .sort();
      t.deepEqual(got, [...labels].sort(), `${smp.name} labels`);
    }
  }
  // steerdns_queries_total: exactly what was sent, label set by label set
  t.deepEqual(Object.fromEntries(queriesByLabels(fams)), Object.fromEntries(sent.counts));
  for (const smp of fams.get('steerdns_queries_total')!.samples) {
    t.true(QTYPES.has(smp.labels.qtype!), `qtype ${smp.labels.qtype}`);
    t.true(RCODES.has(smp.labels.rcode!), `rcode ${smp.labels.rcode}`);
    t.true(['udp', 'tcp'].includes(smp.labels.transport!));
    t.true(['', 'example.test', 'other.test'].includes(smp.labels.zone!), `zone ${smp.labels.zone}`);
  }
  t.is(sampleValue(fams, 'steerdns_queries_total', { zone: '', qtype: 'A', rcode: 'REFUSED', transport: 'udp' }), 4);
  t.is(sampleValue(fams, 'steerdns_queries_total', { zone: ex, qtype: 'other', rcode: 'NOERROR', transport: 'udp' }), 4);
  t.is(sampleValue(fams, 'steerdns_responses_truncated_total'), 1);
  // the histogram saw every answered query
  t.is(sampleValue(fams, 'steerdns_query_duration_seconds_count'), sent.total);
  t.is(sampleValue(fams, 'steerdns_query_duration_seconds_bucket', { le: '+Inf' }), sent.total);
  const sum = sampleValue(fams, 'steerdns_query_duration_seconds_sum')!;
  t.true(sum > 0 && sum < sent.total, `sum ${sum} s`);
  // target health as the prober sees it (check none: up)
  const up = (pool: string, region: string, address: string) =>
    sampleValue(fams, 'steerdns_target_up', { zone: ex, pool: `${pool}.example.test`, region, address });
  t.is(up('app', 'us-east', UP1), 1);
  t.is(up('app', 'us-east', DOWN1), 0);
  t.is(up('app', 'eu-west', UP2), 1);
  t.is(up('dead', 'eu-west', DEAD), 0);
  t.is(up('fo', 'eu-west', '192.0.2.70'), 1);
  t.is(fams.get('steerdns_target_up')!.samples.length, 8, 'one series per pool target');
  // probes by result: successes and refusals, bounded result names
  t.true(sampleValue(fams, 'steerdns_health_checks_total', { result: 'success' })! > 0);
  t.true(sampleValue(fams, 'steerdns_health_checks_total', { result: 'refused' })! > 0);
  for (const smp of fams.get('steerdns_health_checks_total')!.samples) {
    t.true(['success', 'timeout', 'refused', 'status', 'body', 'tls', 'error'].includes(smp.labels.result!), smp.labels.result);
  }
  // fail-open and pool decisions
  t.is(sampleValue(fams, 'steerdns_failopen_total', { zone: ex, pool: 'dead.example.test' }), 1);
  // every pool has its series from the start (an alert on increase() sees the first fail-open); the others are 0
  const failopen = fams.get('steerdns_failopen_total')!.samples;
  t.is(failopen.filter((x) => x.value > 0).length, 1);
  t.true(failopen.length >= 2 && failopen.every((x) => x.labels.pool!.endsWith('.example.test')));
  const answers = (pool: string, region: string, reason: string) =>
    sampleValue(fams, 'steerdns_pool_answers_total', { zone: ex, pool: `${pool}.example.test`, region, reason });
  t.is(answers('app', 'us-east', 'nearest'), 3);
  t.is(answers('fo', 'eu-west', 'failover'), 1);
  t.is(answers('mapped', 'ap-south', 'map'), 1);
  t.is(answers('dead', 'eu-west', 'all_down'), 1);
  for (const smp of fams.get('steerdns_pool_answers_total')!.samples) {
    t.true(['nearest', 'failover', 'map', 'all_down', 'fallback'].includes(smp.labels.reason!), smp.labels.reason);
  }
  t.is(sampleSum(fams, 'steerdns_pool_answers_total'), 6);
  // zone serials are the SOA serials answered; the zone that never loaded has none
  t.is(sampleValue(fams, 'steerdns_zone_serial', { zone: ex }), await soaSerial(port, ex));
  t.is(sampleValue(fams, 'steerdns_zone_serial', { zone: 'other.test' }), await soaSerial(port, 'other.test'));
  t.is(fams.get('steerdns_zone_serial')!.samples.length, 2);
  // the zone file that failed at startup
  t.is(sampleValue(fams, 'steerdns_zone_load_errors_total', { zone: 'broken.test' }), 1);
  t.is(sampleValue(fams, 'steerdns_zone_load_errors_total', { zone: ex }), 0, 'a zone that loaded has its series at 0');
  // RRL is not configured: both series exist, at 0
  t.deepEqual(
    fams.get('steerdns_rrl_total')!.samples.map((x) => [x.labels.action, x.value]),
    [
      ['slip', 0],
      ['drop', 0],
    ],
  );
  // process metrics
  for (const [name, type] of [
    ['process_cpu_user_seconds_total', 'counter'],
    ['process_cpu_system_seconds_total', 'counter'],
    ['process_resident_memory_bytes', 'gauge'],
    ['process_start_time_seconds', 'gauge'],
    ['nodejs_heap_size_total_bytes', 'gauge'],
    ['nodejs_heap_size_used_bytes', 'gauge'],
  ] as const) {
    t.is(fams.get(name)?.type, type, name);
    t.true(sampleValue(fams, name)! > 0, name);
  }

  // more queries: every counter moves by exactly what was asked
  const before = await scrape(http);
  const more = new Sent();
  for (let i = 0; i < 5; i++) await more.send(port, 'udp', 'app.example.test', 'A', ex);
  for (let i = 0; i < 3; i++) await more.send(port, 'tcp', 'example.test', 'MX', ex);
  await more.send(port, 'udp', 'big.example.test', 'TXT', ex);
  await more.send(port, 'udp', 'dead.example.test', 'A', ex);
  await more.send(port, 'udp', 'nothing.invalid', 'A', '');
  await sleep(500); // a few probe intervals
  const after = await scrape(http);
  const b = queriesByLabels(before);
  const a = queriesByLabels(after);
  for (const [k, n] of more.counts) t.is((a.get(k) ?? 0) - (b.get(k) ?? 0), n, k);
  t.is(sampleSum(after, 'steerdns_queries_total') - sampleSum(before, 'steerdns_queries_total'), more.total);
  t.is(
    sampleValue(after, 'steerdns_query_duration_seconds_count')! - sampleValue(before, 'steerdns_query_duration_seconds_count')!,
    more.total,
  );
  t.is(sampleValue(after, 'steerdns_responses_truncated_total')! - sampleValue(before, 'steerdns_responses_truncated_total')!, 1);
  t.is(
    sampleValue(after, 'steerdns_pool_answers_total', { pool: 'app.example.test', reason: 'nearest' })! -
      sampleValue(before, 'steerdns_pool_answers_total', { pool: 'app.example.test', reason: 'nearest' })!,
    5,
  );
  t.is(
    sampleValue(after, 'steerdns_failopen_total', { pool: 'dead.example.test' })! -
      sampleValue(before, 'steerdns_failopen_total', { pool: 'dead.example.test' })!,
    1,
  );
  t.true(sampleSum(after, 'steerdns_health_checks_total') > sampleSum(before, 'steerdns_health_checks_total'), 'probes go on');
  t.true(sampleValue(after, 'process_cpu_user_seconds_total')! >= sampleValue(before, 'process_cpu_user_seconds_total')!);
  // every counter, every label set: never backwards
  for (const [name, f] of before) {
    if (f.type !== 'counter' && f.type !== 'histogram') continue;
    for (const smp of f.samples) {
      const now = sampleValue(after, smp.name, smp.labels);
      t.true(now !== undefined && now >= smp.value, `${smp.name}${JSON.stringify(smp.labels)}: ${smp.value} → ${now}`);
    }
    t.truthy(after.get(name));
  }
  // no error logged but the broken zone's
  t.deepEqual(
    s.logs.filter((l) => (l.level as number) >= 50 && !`${String(l.msg)} ${String(l.file)}`.includes('broken.test')).map((l) => l.msg),
    [],
  );
});

// ---- /status ----------------------------------------------------------------------------------------

/** /status as the server sends it: the shape src/http/status.ts builds, with the render time and the workers. */
type Status = StatusShape & { generatedAt: string };

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

async function status(http: number): Promise<Status> {
  const r = await get(http, '/status');
  if (r.status !== 200 || !r.type.startsWith('application/json')) throw new Error(`/status: ${r.status} ${r.type}`);
  return JSON.parse(r.body) as Status;
}

test('/status: zones with serial and state, pools → regions → targets with health, last check, result and response time, matching reality', async (t) => {
  const { port, http, checkPort, dir } = await setup(t);
  const st = await status(http);
  const fetched = Date.now();
  t.deepEqual(Object.keys(st).sort(), [
    'dnssec',
    'generatedAt',
    'generation',
    'geoip',
    'pools',
    'prober',
    'uptimeSeconds',
    'version',
    'workers',
    'zones',
  ]);
  t.is(st.version, VERSION);
  t.true(Number.isInteger(st.generation) && st.generation >= 1);
  t.true(Number.isInteger(st.uptimeSeconds) && st.uptimeSeconds >= 0);

  // zones: one entry per file, sorted by file name
  const file = (n: string) => join(dir, 'zones', n);
  t.deepEqual(
    st.zones.map((z) => z.file),
    [file('broken.test.yaml'), file('example.test.yaml'), file('other.test.yaml')],
  );
  for (const z of st.zones) {
    t.deepEqual(Object.keys(z).sort(), ['errors', 'failedAt', 'file', 'loadedAt', 'origin', 'serial', 'state', 'warnings']);
    t.deepEqual(z.warnings, []);
  }
  const [broken, ex, other] = st.zones as [Status['zones'][0], Status['zones'][0], Status['zones'][0]];
  t.like(ex, { origin: 'example.test', serial: await soaSerial(port, 'example.test'), state: 'loaded', failedAt: null, errors: [] });
  t.like(other, { origin: 'other.test', serial: await soaSerial(port, 'other.test'), state: 'loaded', failedAt: null, errors: [] });
  for (const z of [ex, other]) t.true(ISO.test(z.loadedAt!) && Date.parse(z.loadedAt!) <= fetched);
  t.like(broken, {
    serial: null,
    state: 'error',
    loadedAt: null,
    errors: [`${shown(file('broken.test.yaml'))}:6:13: A at "www": "192.0.2.300" is not an IPv4 address`],
  });
  t.true(ISO.test(broken.failedAt!));

  // pools of example.test in zone-file order, with their settings
  t.deepEqual(
    st.pools.map((p) => [p.zone, p.name, p.policy, p.select, p.ttl, p.check]),
    [
      ['example.test', 'app.example.test', 'nearest', 'round-robin', 30, `tcp port ${checkPort}`],
      ['example.test', 'dead.example.test', 'nearest', 'round-robin', 30, `tcp port ${checkPort}`],
      ['example.test', 'fo.example.test', 'failover', 'round-robin', 30, 'none'],
      ['example.test', 'mapped.example.test', 'map', 'round-robin', 30, 'none'],
    ],
  );
  const pool = (name: string) => st.pools.find((p) => p.name === `${name}.example.test`)!;
  for (const p of st.pools) {
    for (const r of p.regions) {
      t.deepEqual(r.location, REGIONS[r.name], `${p.name} ${r.name} location`);
      t.is(r.state, 'up');
      t.is(r.total, r.targets.length);
      t.is(r.healthy, r.targets.filter((x) => x.served).length);
      for (const x of r.targets) {
        t.deepEqual(Object.keys(x).sort(), [
          'address',
          'admin',
          'changing',
          'family',
          'health',
          'lastCheck',
          'lastResult',
          'overrides',
          'rttMs',
          'served',
          'since',
          'weight',
        ]);
        t.like(x, { family: 4, weight: 1, admin: 'up', changing: false, overrides: [] });
        t.true(x.since === null || ISO.test(x.since));
      }
    }
  }
  t.deepEqual(
    pool('app').regions.map((r) => [r.name, r.healthy, r.total]),
    [
      ['us-east', 1, 2],
      ['eu-west', 1, 1],
    ],
  );
  t.deepEqual(
    pool('dead').regions.map((r) => [r.name, r.healthy, r.total]),
    [['eu-west', 0, 1]],
  );
  t.deepEqual(
    pool('mapped').regions.map((r) => r.name),
    ['us-east', 'ap-south'],
  );

  // probed targets: health, last result, last check (recent: the interval is 200 ms), response time
  const target = (p: string, address: string) =>
    pool(p)
      .regions.flatMap((r) => r.targets)
      .find((x) => x.address === address)!;
  for (const [p, address, health, result] of [
    ['app', UP1, 'up', 'connected'],
    ['app', UP2, 'up', 'connected'],
    ['app', DOWN1, 'down', 'connection refused'],
    ['dead', DEAD, 'down', 'connection refused'],
  ] as const) {
    const x = target(p, address);
    t.like(x, { health, lastResult: result, served: health === 'up' }, address);
    t.true(ISO.test(x.lastCheck!) && fetched - Date.parse(x.lastCheck!) < 3000, `${address} last checked ${x.lastCheck}`);
    // the response time of the last successful probe; a target that never answered has none
    if (health === 'up') t.true(typeof x.rttMs === 'number' && x.rttMs >= 0 && x.rttMs < 1000, `${address} rtt ${x.rttMs}`);
    else t.is(x.rttMs, null, address);
  }
  // not probed (check none)
  t.like(target('fo', '192.0.2.70'), { health: 'not probed', lastCheck: null, rttMs: null, served: true });
  t.like(st.prober, { targets: 4, panic: false });
  t.like(st.geoip, { error: null, overlayNetworks: 0, ecs: true });
  t.true(typeof st.geoip.database === 'string' && typeof st.geoip.type === 'string');
  // one compiled decision table per distinct ordering key: app (nearest, two regions) and mapped (map); dead
  // (one region) and fo (failover) answer every client alike (docs/http-api.md#status)
  t.is(st.geoip.decisionTables.keys, 2);
  t.true(st.geoip.decisionTables.bytes > 0);
  // and the same two figures in /metrics (docs/http-api.md#metrics)
  const fams = parsePrometheus(await (await fetch(`http://127.0.0.1:${http}/metrics`)).text());
  t.is(sampleValue(fams, 'steerdns_geoip_decision_tables', {}), 2);
  t.is(sampleValue(fams, 'steerdns_geoip_decision_table_bytes', {}), st.geoip.decisionTables.bytes);

  // reality: DNS answers exactly the served targets of the first qualifying region
  t.deepEqual(
    (await udp(port, query('app.example.test', 'A'))).msg.answers.map((a) => a.data),
    pool('app')
      .regions[0]!.targets.filter((x) => x.served)
      .map((x) => x.address),
  );
  // and it is live: the next render (at most one a second, docs/http-api.md#status) shows the last check moved on
  const { value: st2 } = await poll(
    async () => {
      const next = await status(http);
      return next.generatedAt !== st.generatedAt ? next : undefined;
    },
    { timeoutMs: 5000, what: 'a new /status render', stepMs: 100 },
  );
  t.true(
    Date.parse(st2.generatedAt) - Date.parse(st.generatedAt) >= 1000,
    `renders ${st.generatedAt} → ${st2.generatedAt}: at most one a second`,
  );
  const t1 = Date.parse(target('app', UP1).lastCheck!);
  const t2 = Date.parse(st2.pools[0]!.regions[0]!.targets[0]!.lastCheck!);
  t.true(t2 > t1, `lastCheck ${t1} → ${t2}`);
  t.true(st2.uptimeSeconds >= st.uptimeSeconds);
});

// ---- the page ----------------------------------------------------------------------------------------

/** Opening and closing tags of the elements the page uses balance. */
function balanced(html: string): string[] {
  const bad: string[] = [];
  for (const tag of [
    'html',
    'head',
    'body',
    'div',
    'section',
    'table',
    'thead',
    'tbody',
    'tr',
    'td',
    'th',
    'h1',
    'h2',
    'h3',
    'h4',
    'p',
    'small',
    'span',
    'script',
    'style',
  ]) {
    const open = (html.match(new RegExp(`<${tag}[\\s>]`, 'g')) ?? []).length;
    const close = (html.match(new RegExp(`</${tag}>`, 'g')) ?? []).length;
    if (open !== close) bad.push(`${tag}: ${open} open, ${close} closed`);
  }
  return bad;
}

/** Target rows: [address, class] as rendered. */
function targetRows(html: string): string[][] {
  return [...html.matchAll(/<tr class="(\w+)"><td>([\d.:a-f]+)<\/td>/g)].map((m) => [m[2]!, m[1]!]).sort();
}

test('/: a self-contained HTML page with every zone, pool, region and target and its health; /?fragment=1 is its live part', async (t) => {
  const { http, dir } = await setup(t);
  const r = await get(http, '/');
  t.is(r.status, 200);
  t.is(r.type, 'text/html; charset=utf-8');
  const html = r.body;
  t.regex(html, /^<!doctype html>/i);
  t.deepEqual(balanced(html), []);
  // self-contained: no external script, style, font or image
  t.notRegex(html, /<script[^>]*\ssrc=/i);
  t.notRegex(html, /<link[^>]*>/i);
  t.notRegex(html, /@import|url\(/i);
  t.notRegex(html, /(src|href)=["']?(https?:)?\/\//i);
  t.notRegex(html, /https?:\/\//i);
  // zones: each origin, its serial, its state; the broken file with its error, HTML-escaped
  for (const origin of ['example.test', 'other.test'])
    t.regex(html, new RegExp(`<tr class="loaded"><td>${origin.replace('.', '\\.')}</td><td>\\d+</td><td>loaded</td>`));
  t.true(html.includes(`<td class="file">${join(dir, 'zones', 'broken.test.yaml')}</td>`));
  t.true(html.includes('A at &#34;www&#34;: &#34;192.0.2.300&#34; is not an IPv4 address'));
  // pools and regions
  for (const p of ['app', 'dead', 'fo', 'mapped']) t.true(html.includes(`<h3>${p}.example.test. <small>example.test`), p);
  t.true(html.includes('<h4>us-east <small>39, -77.5 · 1/2 healthy</small></h4>'));
  t.true(html.includes('<h4>eu-west <small>53.3, -6.3 · 1/1 healthy</small></h4>'));
  t.true(html.includes('<h4>eu-west <small>53.3, -6.3 · 0/1 healthy</small></h4>'));
  t.true(html.includes('<h4>ap-south <small>19.1, 72.9 · 1/1 healthy</small></h4>'));
  // every target with its health class
  t.deepEqual(targetRows(html), [
    ['127.0.1.201', 'up'],
    ['127.0.1.202', 'down'],
    ['127.0.1.203', 'up'],
    ['127.0.1.204', 'down'],
    ['192.0.2.70', 'up'],
    ['192.0.2.71', 'up'],
    ['192.0.2.81', 'up'],
    ['192.0.2.82', 'up'],
  ]);
  t.regex(html, /<tr class="down"><td>127\.0\.1\.202<\/td><td>1<\/td><td><span class="dot"><\/span>down<\/td><td>connection refused<\/td>/);
  t.regex(
    html,
    /<tr class="up"><td>127\.0\.1\.201<\/td><td>1<\/td><td><span class="dot"><\/span>up<\/td><td>connected<\/td><td>\d{4}-[\d:.T-]+Z<\/td><td>[\d.]+ ms<\/td><td>—<\/td><\/tr>/,
  );
  t.true(html.includes('<td><span class="dot"></span>up (not probed)</td>'));
  // the style is inline, and the script refreshes from the fragment
  t.regex(html, /<style>[\s\S]*tr\.down[\s\S]*<\/style>/);
  t.regex(html, /<script>[\s\S]*fetch\('\/\?fragment=1'[\s\S]*<\/script>/);

  // the fragment: the inner part only, the same rows
  const f = await get(http, '/?fragment=1');
  t.is(f.status, 200);
  t.is(f.type, 'text/html; charset=utf-8');
  t.notRegex(f.body, /<html|<head|<body|<script|<style|<!doctype/i);
  t.deepEqual(balanced(f.body), []);
  t.deepEqual(targetRows(f.body), targetRows(html));
  const inner = /<div id="status">([\s\S]*)<\/div>\s*<script>/.exec(html)![1]!;
  t.true(inner.startsWith('<p class="meta">') && f.body.startsWith('<p class="meta">'));
  // live: the same structure as the page, only times and counters differ
  const shape = (s: string) => s.replace(/\d+(\.\d+)?/g, '0');
  t.is(shape(f.body), shape(inner));
});

// ---- the other paths ---------------------------------------------------------------------------------

test('/healthz and /readyz 200, an unknown path 404, writes 403 (no token configured), /explain JSON; only on the configured address', async (t) => {
  const { http, port } = await setup(t);
  t.like(await get(http, '/healthz'), { status: 200, body: 'ok\n' });
  t.like(await get(http, '/readyz'), { status: 200, body: 'ready\n' });
  t.is((await get(http, '/nope')).status, 404);
  t.is((await get(http, '/status/')).status, 404);
  t.is((await get(http, '/metrics.json')).status, 404);
  // writes always need the token; with none configured they are refused before any route (docs/http-api.md#writes)
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    for (const path of ['/', '/metrics', '/status', '/nope']) t.is((await get(http, path, { method })).status, 403, `${method} ${path}`);
  }
  const head = await fetch(`http://127.0.0.1:${http}/healthz`, { method: 'HEAD' });
  t.is(head.status, 200);
  // /explain, the live decision as JSON
  const ex = await get(http, `/explain?name=app.example.test&type=A&from=127.0.0.1`);
  t.is(ex.status, 200);
  t.regex(ex.type, /^application\/json/);
  const body = JSON.parse(ex.body) as { health: string; answer: { rcode: string; answer: string[] } };
  t.is(body.health, 'live');
  t.is(body.answer.rcode, 'NOERROR');
  t.true(
    body.answer.answer.some((l) => l.endsWith(UP1)) && !body.answer.answer.some((l) => l.endsWith(DOWN1)),
    JSON.stringify(body.answer),
  );
  t.is((await get(http, '/explain?name=app.example.test')).status, 400);
  // the API listens on 127.0.0.1 only: another loopback address of this host gets no answer
  const other = await new Promise<string>((resolve) => {
    const c = net.connect({ host: '127.0.0.2', port: http });
    c.once('connect', () => {
      c.destroy();
      resolve('connected');
    });
    c.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  t.is(other, 'ECONNREFUSED');
  // and the DNS side still answers
  t.is(decode((await udpRaw(port, query('example.test', 'SOA')))!).msg.rcode, 'NOERROR');
});
