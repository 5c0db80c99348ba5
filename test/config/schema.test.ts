// The config and zone schemas in-process (docs/configuration.md, docs/zone-format.md): every accepted form
// parsed to the expected values, and every rule broken reported at its exact line:col with its message.
import { join } from 'node:path';
import test from 'ava';
import { parseServerConfig, type ServerConfig } from '../../src/config/server-config.js';
import type { Diagnostic } from '../../src/config/source.js';
import { type PoolSpec, parseZone, type ZoneSpec } from '../../src/config/zone-file.js';

const DIR = '/srv/steerdns';
const fmt = (d: Diagnostic) => `${d.line}:${d.col}: ${d.severity === 'warning' ? 'warning: ' : ''}${d.message}`;

function config(text: string) {
  const r = parseServerConfig(join(DIR, 'steerdns.yaml'), text);
  return { config: r.config, diags: r.diagnostics.map(fmt) };
}

const CONFIG = `listen: ["127.0.0.1:5300"]
regions:
  us-east: { location: [39.0, -77.5] }
  eu-west: { location: [53.3, -6.3] }
  ap-south: { location: [19.1, 72.9] }
`;
const CFG = config(CONFIG).config!;

function zone(text: string, cfg: ServerConfig = CFG) {
  const r = parseZone(join(DIR, 'zones', 'x.yaml'), text, cfg);
  return { zone: r.zone, diags: r.diagnostics.map(fmt) };
}

// Five lines; cases append records from line 6 on.
const HEAD = `origin: example.test
soa: { ns: ns1.example.test., email: hostmaster@example.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
`;

const pool = (z: ZoneSpec | null, name = 'app.example.test'): PoolSpec => z!.names.get(name)!.pool!;

// ---- steerdns.yaml --------------------------------------------------------------------------

test('config: a full steerdns.yaml, every section written, parses to the documented values', (t) => {
  const { config: c, diags } = config(`listen: ["127.0.0.1:5300", "[::1]:5300"]
zones: ./zones
http: "127.0.0.1:8053"
workers: 1
geoip:
  database: ./geodb/GeoLite2-City.mmdb
  networks:
    "10.20.0.0/16": { region: eu-west }
    "10.30.0.0/16": { location: [40.7, -74.0] }
    "2001:db8:100::/48": { country: gb, continent: EU }
  ecs: true
regions:
  us-east:  { location: [39.0, -77.5] }
  eu-west:  { location: [53.3, -6.3], state: drain }
  ap-south: { location: [19.1, 72.9], state: down }
health:
  interval: 5s
  timeout: 2s
  rise: 2
  fall: 3
  panic: "80%"
  panic_min_targets: 4
log: { level: debug, queries: true }
nsid: ns1.example.test
version: "steerdns"
state_dir: ./.steerdns-state
limits: { zone_bytes: 256MB, tcp_connections: 1000, tcp_idle: 10s }
rrl:
  responses_per_second: 20
  window: 5
  slip: 2
  ipv4_prefix: 24
  ipv6_prefix: 56
  exempt: ["192.0.2.0/24", "2001:db8::/32"]
`);
  t.deepEqual(diags, []);
  t.truthy(c);
  t.deepEqual(c!.listen, [
    { host: '127.0.0.1', port: 5300, family: 4, text: '127.0.0.1:5300' },
    { host: '::1', port: 5300, family: 6, text: '[::1]:5300' },
  ]);
  t.is(c!.zonesDir, join(DIR, 'zones'));
  t.deepEqual(c!.http, {
    host: '127.0.0.1',
    port: 8053,
    family: 4,
    text: '127.0.0.1:8053',
    tokenFile: null,
    token: null,
    allowedHosts: [],
    metricsAuth: false,
    maxConnectionsPerSource: 16,
  });
  t.is(c!.workers, 1);
  t.is(c!.geoip.database, join(DIR, 'geodb/GeoLite2-City.mmdb'), 'relative paths resolve from the config folder');
  t.true(c!.geoip.ecs);
  t.deepEqual(
    c!.geoip.networks.map((n) => [n.network.text, n.region, n.location, n.country, n.continent]),
    [
      ['10.20.0.0/16', 'eu-west', undefined, undefined, undefined],
      ['10.30.0.0/16', undefined, [40.7, -74.0], undefined, undefined],
      ['2001:db8:100::/48', undefined, undefined, 'GB', 'EU'],
    ],
  );
  t.deepEqual(
    [...c!.regions.values()],
    [
      { name: 'us-east', location: [39.0, -77.5], state: 'up', index: 0 },
      { name: 'eu-west', location: [53.3, -6.3], state: 'drain', index: 1 },
      { name: 'ap-south', location: [19.1, 72.9], state: 'down', index: 2 },
    ],
  );
  const { deny, allow, ...health } = c!.health;
  t.deepEqual(health, { intervalMs: 5000, timeoutMs: 2000, rise: 2, fall: 3, panic: 0.8, panicMinTargets: 4 });
  t.deepEqual(
    deny.map((n) => n.text),
    ['169.254.0.0/16', 'fe80::/10', 'fd00:ec2::254/128'],
    'probe destinations denied by default',
  );
  t.deepEqual(allow, []);
  t.deepEqual(c!.log, { level: 'debug', queries: true });
  t.is(c!.nsid, 'ns1.example.test');
  t.is(c!.version, 'steerdns');
  t.is(c!.stateDir, join(DIR, '.steerdns-state'));
  t.deepEqual(c!.limits, { zoneBytes: 256 * 1024 * 1024, tcpConnections: 1000, tcpIdleMs: 10_000 });
  t.like(c!.rrl, { responsesPerSecond: 20, window: 5, slip: 2, ipv4Prefix: 24, ipv6Prefix: 56, tableSize: 65536 });
  t.deepEqual(
    c!.rrl!.exempt.map((x) => x.text),
    ['192.0.2.0/24', '2001:db8::/32'],
  );
});

test('config: defaults', (t) => {
  const { config: c, diags } = config('listen: "127.0.0.1:53"\n');
  t.deepEqual(diags, []);
  t.deepEqual(
    c!.listen.map((l) => l.text),
    ['127.0.0.1:53'],
    'a single address may be written without a list',
  );
  t.is(c!.zonesDir, join(DIR, 'zones'));
  t.is(c!.http, null);
  t.is(c!.workers, 1);
  t.deepEqual(c!.geoip, { database: null, networks: [], ecs: true });
  t.is(c!.regions.size, 0);
  const { deny, allow, ...health } = c!.health;
  t.deepEqual(health, { intervalMs: 5000, timeoutMs: 2000, rise: 2, fall: 3, panic: 0.9, panicMinTargets: 10 });
  t.deepEqual(
    deny.map((n) => n.text),
    ['169.254.0.0/16', 'fe80::/10', 'fd00:ec2::254/128'],
    'probe destinations denied by default',
  );
  t.deepEqual(allow, []);
  t.deepEqual(c!.log, { level: 'info', queries: false });
  t.is(c!.nsid, null);
  t.is(c!.version, null);
  t.is(c!.stateDir, join(DIR, '.steerdns-state'));
  t.deepEqual(c!.limits, { zoneBytes: 256 * 1024 * 1024, tcpConnections: 1000, tcpIdleMs: 10_000 });
  t.is(c!.rrl, null);
});

test('config: accepted alternative forms', (t) => {
  const { config: c, diags } = config(`listen: ["127.0.0.1:0", "127.0.0.1:0"]
http: ~
workers: auto
geoip: { ecs: false, database: ~, networks: ~ }
regions: ~
health: { panic: off, interval: 1m, timeout: 500ms }
rrl: {}
limits: { zone_bytes: 1024 }
`);
  t.deepEqual(diags, []);
  t.is(c!.listen.length, 2, 'port 0 twice is fine: two ephemeral ports');
  t.is(c!.http, null);
  t.is(c!.workers, 'auto');
  t.false(c!.geoip.ecs);
  t.is(c!.health.panic, null);
  t.is(c!.health.intervalMs, 60_000);
  t.is(c!.health.timeoutMs, 500);
  t.like(c!.rrl, { responsesPerSecond: 20, window: 5, slip: 2, ipv4Prefix: 24, ipv6Prefix: 56 });
  t.is(c!.limits.zoneBytes, 1024);
  for (const [panic, value] of [
    ['false', null],
    ['0.5', 0.5],
    ['"100%"', 1],
    ['"12.5%"', 0.125],
  ] as const) {
    t.is(config(`listen: ["127.0.0.1:0"]\nhealth: { panic: ${panic} }\n`).config!.health.panic, value, panic);
  }
});

const CONFIG_ERRORS: [string, string, string[]][] = [
  ['no listen', 'zones: ./zones\n', ['1:1: listen is required (for example listen: ["127.0.0.1:53", "[::1]:53"])']],
  ['empty file', '', ['1:1: listen is required (for example listen: ["127.0.0.1:53", "[::1]:53"])']],
  ['not a mapping', '- listen\n- zones\n', ['1:1: steerdns.yaml must be a mapping']],
  ['empty listen', 'listen: []\n', ['1:9: listen needs at least one address']],
  ['listen item not a string', 'listen: [{ a: 1 }]\n', ['1:10: listen address must be a non-empty string']],
  ['listen twice', 'listen: ["127.0.0.1:53", "127.0.0.1:53"]\n', ['1:26: listen: "127.0.0.1:53" is listed twice']],
  ['null key', 'listen: ["127.0.0.1:0"]\n~: 1\n', ['2:1: mapping keys must be plain strings']],
  ['zones not a string', 'listen: ["127.0.0.1:0"]\nzones: []\n', ['2:8: zones must be a non-empty string']],
  ['http not an address', 'listen: ["127.0.0.1:0"]\nhttp: "localhost:8053"\n', ['2:7: http: "localhost" is not an IP address']],
  ['workers 0', 'listen: ["127.0.0.1:0"]\nworkers: 0\n', ['2:10: workers ("auto" or a count) must be an integer from 1 to 256, got 0']],
  [
    'region name',
    `${CONFIG}  "eu west": { location: [1, 2] }\n`,
    ['6:3: region name "eu west" may only use letters, digits, ".", "_" and "-"'],
  ],
  ['region not a mapping', `${CONFIG}  sa-east: [1, 2]\n`, ['6:12: region "sa-east" must be a mapping']],
  ['region without location', `${CONFIG}  sa-east: { state: up }\n`, ['6:3: region "sa-east" needs a location: [latitude, longitude]']],
  ['location not a pair', `${CONFIG}  sa-east: { location: [1] }\n`, ['6:24: region "sa-east" location must be [latitude, longitude]']],
  [
    'longitude out of range',
    `${CONFIG}  sa-east: { location: [1, 181] }\n`,
    ['6:28: region "sa-east" location longitude must be a number from -180 to 180, got 181'],
  ],
  [
    'region state',
    `${CONFIG}  sa-east: { location: [1, 2], state: gone }\n`,
    ['6:39: region "sa-east" state must be one of up, down, drain, got "gone"'],
  ],
  ['regions not a mapping', 'listen: ["127.0.0.1:0"]\nregions: [us-east]\n', ['2:10: regions must be a mapping']],
  [
    'geoip unknown key',
    `${CONFIG}geoip: { ecs: true, db: x }\n`,
    ['6:21: unknown key "db" in geoip (expected one of: database, networks, ecs)'],
  ],
  ['geoip.ecs not boolean', `${CONFIG}geoip: { ecs: maybe }\n`, ['6:15: geoip.ecs must be true or false']],
  [
    'geoip network with host bits',
    `${CONFIG}geoip:\n  networks:\n    "10.0.0.1/8": { region: eu-west }\n`,
    ['8:5: geoip.networks: "10.0.0.1/8" has host bits set (the network is 10.0.0.0/8)'],
  ],
  [
    'geoip network: undeclared region',
    `${CONFIG}geoip:\n  networks:\n    "10.0.0.0/8": { region: sa-east }\n`,
    ['8:29: geoip.networks "10.0.0.0/8": region "sa-east" is not declared in regions'],
  ],
  [
    'geoip network: bad country, bad continent, unknown key',
    `${CONFIG}geoip:\n  networks:\n    "10.0.0.0/8": { country: GBR, continent: XX, city: x }\n`,
    [
      '8:50: unknown key "city" in geoip.networks "10.0.0.0/8" (expected one of: region, location, country, continent)',
      '8:30: country must be a two-letter ISO code, got "GBR"',
      '8:46: continent must be one of AF, AN, AS, EU, NA, OC, SA, got "XX"',
    ],
  ],
  [
    'geoip network: region and location',
    `${CONFIG}geoip:\n  networks:\n    "10.0.0.0/8": { region: eu-west, location: [1, 2] }\n`,
    ['8:5: geoip.networks "10.0.0.0/8": give either region or a location, not both'],
  ],
  [
    'geoip network: body not a mapping',
    `${CONFIG}geoip:\n  networks:\n    "10.0.0.0/8": eu-west\n`,
    ['8:19: geoip.networks "10.0.0.0/8" must be a mapping'],
  ],
  [
    'health: panic and counts',
    'listen: ["127.0.0.1:0"]\nhealth: { panic: "150%", rise: 0, fall: 101, panic_min_targets: 0 }\n',
    [
      '2:32: health.rise must be an integer from 1 to 100, got 0',
      '2:41: health.fall must be an integer from 1 to 100, got 101',
      '2:18: health.panic must be a percentage such as "90%", or off',
      '2:65: health.panic_min_targets must be an integer from 1 to 1000000, got 0',
    ],
  ],
  [
    'health: timeout too short',
    'listen: ["127.0.0.1:0"]\nhealth: { timeout: 5ms }\n',
    ['2:20: health.timeout must be a duration such as 500ms, 5s or 1m of at least 10ms'],
  ],
  [
    'health unknown key',
    'listen: ["127.0.0.1:0"]\nhealth: { intervall: 5s }\n',
    [
      '2:11: unknown key "intervall" in health (expected one of: interval, timeout, rise, fall, panic, panic_min_targets, deny, allow, source)',
    ],
  ],
  [
    'log',
    'listen: ["127.0.0.1:0"]\nlog: { level: loud, queries: 1, format: json }\n',
    [
      '2:33: unknown key "format" in log (expected one of: level, queries)',
      '2:15: log.level must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
      '2:30: log.queries must be true or false',
    ],
  ],
  ['nsid too long', `listen: ["127.0.0.1:0"]\nnsid: ${'n'.repeat(256)}\n`, ['2:7: nsid must be at most 255 octets']],
  ['version empty', 'listen: ["127.0.0.1:0"]\nversion: ""\n', ['2:10: version must be a non-empty string']],
  ['state_dir not a string', 'listen: ["127.0.0.1:0"]\nstate_dir: { a: 1 }\n', ['2:12: state_dir must be a non-empty string']],
  [
    'limits',
    'listen: ["127.0.0.1:0"]\nlimits: { zone_bytes: 512, tcp_connections: 0, tcp_idle: 50ms, udp: 1 }\n',
    [
      '2:64: unknown key "udp" in limits (expected one of: zone_bytes, tcp_connections, tcp_idle)',
      '2:23: limits.zone_bytes must be a size such as 256MB (at least 1KB)',
      '2:45: limits.tcp_connections must be an integer from 1 to 1000000, got 0',
      '2:58: limits.tcp_idle must be a duration such as 500ms, 5s or 1m of at least 100ms',
    ],
  ],
  ['limits not a mapping', 'listen: ["127.0.0.1:0"]\nlimits: 5\n', ['2:9: limits must be a mapping']],
  [
    'rrl',
    'listen: ["127.0.0.1:0"]\nrrl:\n  responses_per_second: 0\n  ipv4_prefix: 33\n  table_size: 10\n  exempt: ["10.0.0.1/8", [x], "nope"]\n  slp: 2\n',
    [
      '7:3: unknown key "slp" in rrl (expected one of: responses_per_second, window, slip, ipv4_prefix, ipv6_prefix, exempt, table_size)',
      '3:25: rrl.responses_per_second must be an integer from 1 to 1000000, got 0',
      '4:16: rrl.ipv4_prefix must be an integer from 1 to 32, got 33',
      '5:15: rrl.table_size must be an integer from 1024 to 16777216, got 10',
      '6:12: rrl.exempt: "10.0.0.1/8" has host bits set (the network is 10.0.0.0/8)',
      '6:26: rrl.exempt network must be a non-empty string',
      '6:31: rrl.exempt: "nope" is not an IP address',
    ],
  ],
];

for (const [title, text, expected] of CONFIG_ERRORS) {
  test(`config error: ${title}`, (t) => {
    const { config: c, diags } = config(text);
    t.is(c, null);
    t.deepEqual(diags, expected);
  });
}

test('config: warnings alone do not fail the config', (t) => {
  const { config: c, diags } = config('listen: ["0.0.0.0:53", "127.0.0.1:53"]\n');
  t.truthy(c);
  t.deepEqual(diags, [
    '1:10: warning: listen: "0.0.0.0:53" is a wildcard address: on a host with several addresses UDP replies may leave from another address than the one asked; list each address instead',
  ]);
});

// ---- zone files ----------------------------------------------------------------------------

test('zone: a full zone (every kind of name: apex, wildcard, delegation, CNAME, pool) parses, with the values it documents', (t) => {
  const { zone: z, diags } = zone(`origin: example.test
ttl: 3600
soa:
  ns: ns1.example.test.
  email: hostmaster@example.test
  refresh: 7200
  retry: 3600
  expire: 1209600
  minimum: 60
records:
  "@":
    NS: [ns1, ns2]
    MX: [{ preference: 10, exchange: mail }]
    TXT: ["v=spf1 -all"]
  ns1: { A: 192.0.2.53 }
  ns2: { A: 198.51.100.53, AAAA: "2001:db8::53" }
  mail: { A: 192.0.2.25, ttl: 600 }
  www: { CNAME: app }
  "*.static": { A: 192.0.2.80 }
  sub: { NS: [ns.sub.example.test.] }
  ns.sub: { A: 192.0.2.99 }
  app:
    pool:
      ttl: 30
      policy: nearest
      answers: 2
      check: { type: http, port: 80, path: /healthz, expect: [200] }
      regions:
        us-east: [192.0.2.10, 192.0.2.11, "2001:db8:1::10"]
        eu-west: [198.51.100.10, { address: 198.51.100.11, weight: 0 }]
        ap-south:
          - { address: 203.0.113.10, state: down }
`);
  t.deepEqual(diags, []);
  t.is(z!.origin, 'example.test');
  t.deepEqual(z!.soa, {
    mname: 'ns1.example.test',
    rname: 'hostmaster.example.test',
    refresh: 7200,
    retry: 3600,
    expire: 1209600,
    minimum: 60,
    ttl: 3600,
    serial: null,
  });
  t.deepEqual([...z!.names.keys()].sort(), [
    '*.static.example.test',
    'app.example.test',
    'example.test',
    'mail.example.test',
    'ns.sub.example.test',
    'ns1.example.test',
    'ns2.example.test',
    'sub.example.test',
    'www.example.test',
  ]);
  t.is(z!.names.get('mail.example.test')!.rrsets.get('A')!.ttl, 600);
  t.is(z!.names.get('ns1.example.test')!.rrsets.get('A')!.ttl, 3600);
  t.deepEqual(
    z!.names
      .get('www.example.test')!
      .rrsets.get('CNAME')!
      .records.map((r) => r.text),
    ['app.example.test.'],
  );
  t.deepEqual(
    z!.names
      .get('example.test')!
      .rrsets.get('MX')!
      .records.map((r) => r.text),
    ['10 mail.example.test.'],
  );
  const p = pool(z);
  t.like(p, {
    ttl: 30,
    policy: 'nearest',
    answers: 2,
    select: 'round-robin',
    minHealthy: { count: 1 },
    familyFallback: 'none',
    allDown: { kind: 'serve-all' },
  });
  t.like(p.check, {
    type: 'http',
    port: 80,
    path: '/healthz',
    host: 'app.example.test',
    expect: [200],
    initial: 'up',
    intervalMs: 5000,
    timeoutMs: 2000,
    rise: 2,
    fall: 3,
  });
  t.deepEqual(
    p.regions.map((r) => [r.region, r.targets.map((x) => `${x.address}/${x.family}/${x.weight}/${x.state}`)]),
    [
      ['us-east', ['192.0.2.10/4/1/up', '192.0.2.11/4/1/up', '2001:db8:1::10/6/1/up']],
      ['eu-west', ['198.51.100.10/4/1/up', '198.51.100.11/4/0/up']],
      ['ap-south', ['203.0.113.10/4/1/down']],
    ],
  );
  t.regex(z!.contentHash, /^[0-9a-f]{64}$/);
});

test('zone: pool options — map policy, weighted, min_healthy, family_fallback, all_down, full http check', (t) => {
  const { zone: z, diags } = zone(`${HEAD}  app:
    pool:
      policy: map
      map: { "continent:EU": [eu-west, us-east], "IN": [ap-south], "US-CA": us-east, default: [us-east, eu-west] }
      select: weighted
      answers: 1
      min_healthy: "50%"
      family_fallback: next-region
      all_down: { fallback: backup }
      check:
        type: https
        host: www.example.test.
        headers: { X-Probe: steerdns }
        expect: [200, 204]
        body: ok
        insecure: true
        interval: 10s
        timeout: 1s
        rise: 3
        fall: 4
        initial: down
      regions:
        us-east: [{ address: 192.0.2.10, weight: 5 }, 192.0.2.11]
        eu-west: [198.51.100.10]
        ap-south: [203.0.113.10]
  backup:
    pool:
      min_healthy: 2
      all_down: nodata
      check: { type: tcp, port: 443 }
      regions: { us-east: [192.0.2.20] }
  last:
    pool:
      all_down: servfail
      check: { type: none }
      regions: { eu-west: ["2001:DB8::20"] }
`);
  t.deepEqual(diags, []);
  const p = pool(z);
  t.is(p.policy, 'map');
  t.deepEqual(p.map, [
    { key: 'continent:EU', regions: ['eu-west', 'us-east'] },
    { key: 'IN', regions: ['ap-south'] },
    { key: 'US-CA', regions: ['us-east'] },
    { key: 'default', regions: ['us-east', 'eu-west'] },
  ]);
  t.is(p.select, 'weighted');
  t.is(p.answers, 1);
  t.deepEqual(p.minHealthy, { percent: 50 });
  t.is(p.familyFallback, 'next-region');
  t.like(p.allDown, { kind: 'fallback', pool: 'backup.example.test' });
  t.like(p.check, {
    type: 'https',
    port: 443,
    host: 'www.example.test',
    headers: { 'X-Probe': 'steerdns' },
    expect: [200, 204],
    body: 'ok',
    insecure: true,
    intervalMs: 10_000,
    timeoutMs: 1000,
    rise: 3,
    fall: 4,
    initial: 'down',
    path: '/',
  });
  t.is(p.regions[0]!.targets[0]!.weight, 5);
  const b = pool(z, 'backup.example.test');
  t.deepEqual(b.minHealthy, { count: 2 });
  t.deepEqual(b.allDown, { kind: 'nodata' });
  t.like(b.check, { type: 'tcp', port: 443 });
  const l = pool(z, 'last.example.test');
  t.deepEqual(l.allDown, { kind: 'servfail' });
  t.is(l.regions[0]!.targets[0]!.address, '2001:db8::20', 'addresses are lower-cased');
});

test('zone: the content hash follows the records, not the layout or the serial', (t) => {
  const a = zone(`${HEAD}  www: { A: 192.0.2.80 }\n`).zone!;
  const b = zone(`# comment\n${HEAD}  www:\n    A: [192.0.2.80]\n`).zone!;
  const c = zone(`${HEAD}  www: { A: 192.0.2.81 }\n`).zone!;
  const d = zone(`${HEAD.replace('example.test }', 'example.test, serial: 5 }')}  www: { A: 192.0.2.80 }\n`).zone!;
  const e = zone(`${HEAD}  www: { A: 192.0.2.80, ttl: 60 }\n`).zone!;
  t.is(a.contentHash, b.contentHash);
  t.is(a.contentHash, d.contentHash);
  t.is(d.soa.serial, 5);
  t.not(a.contentHash, c.contentHash);
  t.not(a.contentHash, e.contentHash);
});

test('zone: soa forms — email with a dot in the local part, email as a name, relative ns, all fields', (t) => {
  const z = zone(
    HEAD.replace(
      'soa: { ns: ns1.example.test., email: hostmaster@example.test }',
      'soa: { ns: ns1, email: first.last@example.test, refresh: 1, retry: 2, expire: 3, minimum: 4, serial: 5, ttl: 6 }',
    ),
  ).zone!;
  t.deepEqual(z.soa, {
    mname: 'ns1.example.test',
    rname: 'first\\.last.example.test',
    refresh: 1,
    retry: 2,
    expire: 3,
    minimum: 4,
    ttl: 6,
    serial: 5,
  });
  const z2 = zone(HEAD.replace('hostmaster@example.test', 'hostmaster')).zone!;
  t.is(z2.soa.rname, 'hostmaster.example.test');
});

const ZONE_ERRORS: [string, string, string[]][] = [
  [
    'check paths and header values Node cannot send: astral characters, lone surrogates, Latin-1 accepted',
    `${HEAD}  app:
    pool:
      check: { type: http, path: "/a\\uD800", headers: { X: "\\uD800", Y: "😀", Z: "zoë\\tok" } }
      regions: { us-east: [192.0.2.1] }
  b: { pool: { check: { type: http, path: "/😀" }, regions: { us-east: [192.0.2.1] } } }
  c: { pool: { check: { type: http, path: "/café?q=ÿ" }, regions: { us-east: [192.0.2.1] } } }
`,
    [
      '8:34: pool "app" check path contains "\\ud800" (U+D800), which cannot be sent in a request line: percent-encode it',
      '8:60: pool "app" check: header X contains "\\ud800" (U+D800) that cannot be sent in an HTTP header (control characters and characters beyond U+00FF are refused)',
      '8:73: pool "app" check: header Y contains "😀" (U+1F600) that cannot be sent in an HTTP header (control characters and characters beyond U+00FF are refused)',
      '10:43: pool "b" check path contains "😀" (U+1F600), which cannot be sent in a request line: percent-encode it (%F0%9F%98%80)',
    ],
  ],
  ['not a mapping', '- a\n', ['1:1: zone file must be a mapping']],
  [
    'missing origin, soa, records',
    'ttl: 60\n',
    ['1:1: zone file needs origin', '1:1: zone file needs soa', '1:1: zone file needs records'],
  ],
  [
    'bad origin',
    HEAD.replace('origin: example.test', 'origin: "exa mple.test"'),
    ['1:9: origin: "exa mple.test." has a label with characters other than letters, digits, "-" and "_"'],
  ],
  ['soa not a mapping', HEAD.replace(/^soa: .*$/m, 'soa: ns1'), ['2:6: soa must be a mapping']],
  ['soa without ns and email', HEAD.replace(/^soa: .*$/m, 'soa: { refresh: 1 }'), ['2:6: soa needs ns', '2:6: soa needs email']],
  [
    'soa fields',
    HEAD.replace(/^soa: .*$/m, 'soa: { ns: "a..b", email: "x y@example.test", refresh: -1, serial: 4294967296, minimum: x }'),
    [
      '2:12: soa.ns: "a..b" has an empty label',
      '2:27: soa.email "x y@example.test" is not a valid address',
      '2:56: soa.refresh must be an integer from 0 to 4294967295, got -1',
      '2:89: soa.minimum (seconds) must be an integer from 0 to 2147483647, got "x"',
      '2:68: soa.serial must be an integer from 0 to 4294967295, got 4294967296',
    ],
  ],
  [
    'soa email as a bad name',
    HEAD.replace('hostmaster@example.test', '"host master"'),
    ['2:38: soa.email: "host master" has a label with characters other than letters, digits, "-" and "_"'],
  ],
  [
    'records not a mapping',
    'origin: example.test\nsoa: { ns: ns1.example.test., email: h@example.test }\nrecords: [a]\n',
    ['3:10: records must be a mapping', '2:1: the apex (@) needs NS records'],
  ],
  ['name given twice', `${HEAD}  NS1: { A: 192.0.2.54 }\n`, ['6:3: name "NS1" is given twice (names are case-insensitive)']],
  ['name not a mapping', `${HEAD}  x: 192.0.2.1\n`, ['6:6: name "x" must be a mapping']],
  ['name without records', `${HEAD}  x: {}\n`, ['6:3: name "x" has no records']],
  ['SOA under records', `${HEAD}  x: { SOA: 1 }\n`, ["6:8: SOA is written in the zone's soa: section, not under records"]],
  ['type given twice', `${HEAD}  x: { A: 192.0.2.1, a: 192.0.2.2 }\n`, ['6:22: A is given twice at "x"']],
  ['type without value', `${HEAD}  x: { A: }\n`, ['6:8: A at "x" has no value']],
  ['two CNAMEs', `${HEAD}  x: { CNAME: [a, b] }\n`, ['6:15: CNAME at "x": a name has at most one CNAME']],
  ['duplicate record', `${HEAD}  x: { A: [192.0.2.1, 192.0.2.1] }\n`, ['6:23: A at "x": duplicate record 192.0.2.1']],
  ['bad name in a record', `${HEAD}  x: { CNAME: "a..b" }\n`, ['6:15: CNAME at "x": "a..b" has an empty label']],
  [
    'bad wildcard owner',
    `${HEAD}  "a.*": { A: 192.0.2.1 }\n`,
    ['6:3: name "a.*": "*" is only allowed as the whole leftmost label of an owner name'],
  ],
  [
    'DS away from a delegation',
    `${HEAD}  x: { DS: { key_tag: 1, algorithm: 13, digest_type: 1, digest: "2bb183af5f22588179a53b0a98631fad1a292118" } }\n`,
    ['6:8: DS at "x": DS records belong at a delegation (a name with NS)'],
  ],
  ['NS at a wildcard', `${HEAD}  "*.w": { NS: [ns1] }\n`, ['6:12: NS at the wildcard "*.w" is not allowed']],
  [
    'other data at a delegation',
    `${HEAD}  sub: { NS: [ns1], TXT: x }\n`,
    ['6:3: "sub" is a delegation: only NS, DS and glue addresses may be written there, not TXT'],
  ],
  [
    'pool below a cut',
    `${HEAD}  sub: { NS: [ns1] }\n  app.sub: { pool: { check: { type: none }, regions: { us-east: [192.0.2.1] } } }\n`,
    ['7:3: "app.sub" is below the zone cut at "sub": only A/AAAA glue may be written there, not a pool'],
  ],
  [
    'DS digest not hex',
    `${HEAD}  sub: { NS: [ns1], DS: { key_tag: 1, algorithm: 13, digest_type: 2, digest: xyz } }\n`,
    ['6:78: DS at "sub" digest must be 32 octets of hexadecimal'],
  ],
  [
    'DS digest of the wrong length for its type',
    `${HEAD}  sub: { NS: [ns1], DS: { key_tag: 1, algorithm: 13, digest_type: 2, digest: "2bb183af" } }\n`,
    ['6:78: DS at "sub" digest must be 32 octets of hexadecimal'],
  ],
  [
    'SSHFP fingerprint of the wrong length',
    `${HEAD}  x: { SSHFP: { algorithm: 4, fp_type: 2, fingerprint: "abcd" } }\n`,
    ['6:56: SSHFP at "x" fingerprint must be 32 octets of hexadecimal'],
  ],
  [
    'SSHFP fp_type',
    `${HEAD}  x: { SSHFP: { algorithm: 4, fp_type: 3, fingerprint: "abcd" } }\n`,
    ['6:40: SSHFP at "x" fp_type (1 = SHA-1, 2 = SHA-256) must be an integer from 1 to 2, got 3'],
  ],
  [
    'NAPTR string too long',
    `${HEAD}  x: { NAPTR: { order: 1, preference: 1, flags: "${'s'.repeat(256)}", services: "", regexp: "", replacement: . } }\n`,
    ['6:49: NAPTR at "x" flags must be a string of at most 255 octets'],
  ],
  ['TXT item that is a mapping', `${HEAD}  x: { TXT: [{ a: 1 }] }\n`, ['6:14: TXT at "x" must be a string or a list of strings']],
  ['TXT longer than 65535 octets', `${HEAD}  x: { TXT: "${'t'.repeat(65_500)}" }\n`, ['6:13: TXT at "x" is longer than 65535 octets']],
  [
    'CAA fields',
    `${HEAD}  x: { CAA: [{ flags: 0, tag: "is sue", value: a }, { flags: 0, tag: issue, value: 5 }, { flags: 256, tag: issue, value: a }] }\n`,
    [
      '6:31: CAA at "x" tag must be 1 to 15 letters or digits (issue, issuewild, iodef, ...)',
      '6:84: CAA at "x" value must be a string',
      '6:98: CAA at "x" flags must be an integer from 0 to 255, got 256',
    ],
  ],
  [
    'SRV with an unknown field',
    `${HEAD}  x: { SRV: { priority: 1, weight: 1, port: 70000, target: ns1, prio: 1 } }\n`,
    [
      '6:65: unknown key "prio" in SRV at "x" (expected one of: priority, weight, port, target)',
      '6:45: SRV at "x" port must be an integer from 0 to 65535, got 70000',
    ],
  ],
  [
    'address record at a name that is not a host name',
    `${HEAD}  x-: { A: 192.0.2.1 }\n`,
    ['6:9: warning: "x-" has an address record but is not a valid host name'],
  ],
  // pools
  ['pool not a mapping', `${HEAD}  app: { pool: 5 }\n`, ['6:16: pool "app" must be a mapping']],
  [
    'pool scalar options',
    `${HEAD}  app:
    pool:
      policy: closest
      select: best
      answers: 65
      min_healthy: "150%"
      family_fallback: maybe
      all_down: panic
      check: { type: none }
      regions: { us-east: [192.0.2.1] }
`,
    [
      '8:15: pool "app" policy must be one of nearest, failover, map, got "closest"',
      '10:16: pool "app" answers (0 = all) must be an integer from 0 to 64, got 65',
      '9:15: pool "app" select must be one of round-robin, weighted, random, sticky, fastest, got "best"',
      '11:20: pool "app" min_healthy must be a count or a percentage such as "50%"',
      '12:24: pool "app" family_fallback must be one of none, next-region, got "maybe"',
      '13:17: pool "app" all_down must be one of serve-all, nodata, servfail, got "panic"',
    ],
  ],
  [
    'all_down mapping without fallback',
    `${HEAD}  app:
    pool:
      all_down: { pool: other }
      check: { type: none }
      regions: { us-east: [192.0.2.1] }
`,
    [
      '8:19: unknown key "pool" in pool "app" all_down (expected one of: fallback)',
      '8:17: pool "app" all_down must be serve-all, nodata, servfail or { fallback: POOL }',
    ],
  ],
  [
    'all_down fallback: bad name, not a pool, itself',
    `${HEAD}  a1:
    pool: { all_down: { fallback: "x..y" }, check: { type: none }, regions: { us-east: [192.0.2.1] } }
  a2:
    pool: { all_down: { fallback: ns1 }, check: { type: none }, regions: { us-east: [192.0.2.1] } }
  a3:
    pool: { all_down: { fallback: a3 }, check: { type: none }, regions: { us-east: [192.0.2.1] } }
  a4:
    pool: { all_down: { fallback: "" }, check: { type: none }, regions: { us-east: [192.0.2.1] } }
`,
    [
      '7:35: pool "a1" all_down fallback: "x..y" has an empty label',
      '13:35: pool "a4" all_down fallback must be a non-empty string',
      '9:35: pool "a2": all_down fallback "ns1" is not a pool of this zone',
      '11:35: pool "a3": all_down fallback points at itself',
    ],
  ],
  [
    'map problems',
    `${HEAD}  app:
    pool:
      map: { default: [us-east] }
      check: { type: none }
      regions: { us-east: [192.0.2.1] }
  app2:
    pool:
      policy: map
      check: { type: none }
      regions: { us-east: [192.0.2.1] }
  app3:
    pool:
      policy: map
      map: { europe: [us-east], "continent:XX": [us-east], GB: [eu-west], FR: [] }
      check: { type: none }
      regions: { us-east: [192.0.2.1] }
`,
    [
      '8:7: pool "app": map is only used with policy: map',
      '12:5: pool "app2": policy map needs a map: table',
      '19:14: pool "app3" map key "europe" must be continent:XX, a country code (GB), a subdivision (US-CA) or default',
      '19:33: pool "app3" map key "continent:XX" must be continent:XX, a country code (GB), a subdivision (US-CA) or default',
      '19:65: pool "app3" map "GB": region "eu-west" is not one of the pool\'s regions',
      '19:64: pool "app3" map "GB" needs at least one region',
      '19:79: pool "app3" map "FR" needs at least one region',
      '19:12: pool "app3" map needs a default entry',
    ],
  ],
  [
    'check problems',
    `${HEAD}  a1:
    pool: { check: { port: 80 }, regions: { us-east: [192.0.2.1] } }
  a2:
    pool: { check: { type: ping }, regions: { us-east: [192.0.2.1] } }
  a3:
    pool:
      check: { type: tcp, path: /x, host: h, headers: { a: b }, expect: [200], body: x, insecure: true }
      regions: { us-east: [192.0.2.1] }
  a4:
    pool:
      check:
        type: http
        path: healthz
        host: "not a host"
        headers: { "Bad Header": x, X-Ok: "a\\nb" }
        expect: [200, 999]
        interval: 10ms
        initial: sideways
      regions: { us-east: [192.0.2.1] }
`,
    [
      '7:20: pool "a1" check needs type (tcp, http, https or none)',
      '9:28: pool "a2" check type must be one of tcp, http, https, none, got "ping"',
      '12:14: pool "a3" check: a tcp check needs port',
      '12:27: pool "a3" check: path only applies to http and https checks',
      '12:37: pool "a3" check: host only applies to http and https checks',
      '12:46: pool "a3" check: headers only applies to http and https checks',
      '12:65: pool "a3" check: expect only applies to http and https checks',
      '12:80: pool "a3" check: body only applies to http and https checks',
      '12:89: pool "a3" check: insecure only applies to http and https checks',
      '18:15: pool "a4" check path must start with "/" and contain no spaces or control characters',
      '19:15: pool "a4" check host "not a host" is not a host name',
      '20:20: pool "a4" check: "Bad Header" is not a valid header name',
      '20:43: pool "a4" check: header X-Ok contains a line break',
      '21:23: pool "a4" check expect status must be an integer from 100 to 599, got 999',
      '22:19: pool "a4" check interval must be a duration such as 500ms, 5s or 1m of at least 100ms',
      '23:18: pool "a4" check initial must be one of up, down, got "sideways"',
    ],
  ],
  [
    'region and target problems',
    `${HEAD}  a1:
    pool: { check: { type: none }, regions: {} }
  a2:
    pool: { check: { type: none } }
  a3:
    pool:
      check: { type: none }
      regions:
        us-east: 192.0.2.1
        eu-west: []
        ap-south: [{ weight: 1 }, "192.0.2.300", 192.0.2.5, 192.0.2.5, { address: 192.0.2.6, state: gone }]
`,
    [
      '7:45: pool "a1" has no regions',
      '9:5: pool "a2" has no regions',
      '14:18: pool "a3": region "us-east" needs a list of target addresses',
      '15:18: pool "a3": region "eu-west" needs a list of target addresses',
      '16:20: pool "a3" region "ap-south" target needs address',
      '16:35: pool "a3" region "ap-south" target: "192.0.2.300" is not an IP address',
      '16:61: pool "a3": target 192.0.2.5 is listed twice',
      '16:101: pool "a3" region "ap-south" target state must be one of up, down, got "gone"',
    ],
  ],
  ['CNAME that points at itself', `${HEAD}  x: { CNAME: x }\n`, ['6:8: CNAME at "x" points at itself']],
  [
    'MX exchange that is an alias (RFC 2181 §10.3)',
    `${HEAD}  x: { MX: [{ preference: 1, exchange: y }] }\n  y: { CNAME: ns1 }\n`,
    ['6:8: MX at "x": y.example.test. is an alias (CNAME); MX must point at the canonical name (RFC 2181 §10.3)'],
  ],
  [
    'NS target that is an alias',
    `${HEAD}  sub: { NS: [y] }\n  y: { CNAME: ns1 }\n`,
    ['6:10: NS at "sub": y.example.test. is an alias (CNAME); NS must point at the canonical name (RFC 2181 §10.3)'],
  ],
  [
    'SRV target that is not a host name',
    `${HEAD}  _s._tcp: { SRV: { priority: 1, weight: 1, port: 1, target: _sip._tcp } }\n`,
    ['6:14: SRV at "_s._tcp": _sip._tcp.example.test. is not a host name (letters, digits and hyphens)'],
  ],
  [
    'a wildcard below a zone cut',
    `${HEAD}  sub: { NS: [ns.other.test.] }\n  "*.sub": { A: 192.0.2.1 }\n`,
    ['7:3: "*.sub": a wildcard below the zone cut at "sub" is never served'],
  ],
  [
    'glue that no NS names (warning)',
    `${HEAD}  sub: { NS: [ns.other.test.] }\n  a.sub: { A: 192.0.2.1 }\n`,
    ['7:3: warning: "a.sub" is below the zone cut at "sub" but no NS record names it: it is glue for nothing and never served'],
  ],
];

for (const [title, text, expected] of ZONE_ERRORS) {
  test(`zone error: ${title}`, (t) => {
    const { zone: z, diags } = zone(text);
    if (expected.every((e) => e.includes('warning: '))) t.truthy(z);
    else t.is(z, null);
    t.deepEqual(diags, expected);
  });
}

test('zone: a "billion laughs" of aliases is refused, not expanded', (t) => {
  const hundred = Array.from({ length: 100 }, () => '*s').join(', ');
  const many = Array.from({ length: 101 }, () => '*l').join(', ');
  const { zone: z, diags } = zone(`${HEAD}  a: { TXT: [&s "x"] }\n  b: { TXT: [[&l [${hundred}]]] }\n  c: { TXT: [${many}] }\n`);
  t.is(z, null);
  t.true(
    diags.some((d) => d.endsWith(': too many alias expansions (more than 10000): refusing to expand this file')),
    diags.join('\n'),
  );
});

test('zone: records of every type parse to their presentation form', (t) => {
  const { zone: z, diags } = zone(`${HEAD}  x:
    AAAA: "2001:DB8::1"
    MX: [{ preference: 0, exchange: . }]
    TXT: [["a", "b"], "", 42]
    SRV: { priority: 10, weight: 60, port: 5060, target: ns1 }
    CAA: { flags: 128, tag: issue, value: "ca.example" }
    SSHFP: { algorithm: 4, fp_type: 1, fingerprint: "0123456789abcdef0123456789abcdef01234567" }
    TLSA: { usage: 3, selector: 1, matching_type: 1, data: "00ff" }
    NAPTR: { order: 100, preference: 10, flags: "S", services: "SIP+D2T", regexp: "", replacement: _sip._tcp }
  1.2: { PTR: ns1.example.test. }
  sub: { NS: [ns.sub], DS: { key_tag: 12345, algorithm: 13, digest_type: 2, digest: "2bb183af5f22588179a53b0a98631fad1a292118fb8fbbd5c3b3b1e5b6f3e0a1" } }
  ns.sub: { A: 192.0.2.99 }
`);
  t.deepEqual(diags, []);
  const x = z!.names.get('x.example.test')!.rrsets;
  const text = (t2: string) => x.get(t2 as never)!.records.map((r) => r.text);
  t.deepEqual(text('AAAA'), ['2001:db8::1']);
  t.deepEqual(text('MX'), ['0 .']);
  t.deepEqual(text('TXT'), ['"a" "b"', '""', '"42"']);
  t.deepEqual(text('SRV'), ['10 60 5060 ns1.example.test.']);
  t.deepEqual(text('CAA'), ['128 issue "ca.example"']);
  t.deepEqual(text('SSHFP'), ['4 1 0123456789abcdef0123456789abcdef01234567']);
  t.deepEqual(text('TLSA'), ['3 1 1 00ff']);
  t.deepEqual(text('NAPTR'), ['100 10 "S" "SIP+D2T" "" _sip._tcp.example.test.']);
  t.deepEqual(
    z!.names
      .get('1.2.example.test')!
      .rrsets.get('PTR')!
      .records.map((r) => r.text),
    ['ns1.example.test.'],
  );
  t.deepEqual(
    z!.names
      .get('sub.example.test')!
      .rrsets.get('DS')!
      .records.map((r) => r.text),
    ['12345 13 2 2bb183af5f22588179a53b0a98631fad1a292118fb8fbbd5c3b3b1e5b6f3e0a1'],
  );
});

test('http: loopback in any text form is not "reachable beyond this host"; other addresses without a token are', (t) => {
  const warned = (listen: string) =>
    config(`listen: ["127.0.0.1:0"]\nhttp: "${listen}"\n`).diags.some((d) => /reachable beyond this host/.test(d));
  for (const listen of [
    '127.0.0.1:8053',
    '127.0.0.53:8053',
    '127.255.255.254:8053',
    '[::1]:8053',
    '[0:0:0:0:0:0:0:1]:8053',
    '[0::1]:8053',
    '[::ffff:127.0.0.1]:8053',
    '[::ffff:7f00:1]:8053',
    '[0:0:0:0:0:ffff:127.1.2.3]:8053',
  ]) {
    t.false(warned(listen), `${listen} is loopback`);
  }
  for (const listen of [
    '0.0.0.0:8053',
    '[::]:8053',
    '192.0.2.1:8053',
    '128.0.0.1:8053',
    '[::2]:8053',
    '[::ffff:128.0.0.1]:8053',
    '[::127.0.0.1]:8053',
    '[1::1]:8053',
  ]) {
    t.true(warned(listen), `${listen} is not loopback`);
  }
});

test('http.max_connections_per_source: default 16, 0 lifts the cap (a reverse proxy, NAT), out of range and unknown keys are errors', (t) => {
  const http = (extra: string) => config(`listen: ["127.0.0.1:0"]\nhttp:\n  listen: "127.0.0.1:8053"\n${extra}`);
  t.is(http('').config!.http!.maxConnectionsPerSource, 16);
  t.is(http('  max_connections_per_source: 0\n').config!.http!.maxConnectionsPerSource, 0);
  t.is(http('  max_connections_per_source: 200\n').config!.http!.maxConnectionsPerSource, 200);
  t.is(config('listen: ["127.0.0.1:0"]\nhttp: "127.0.0.1:8053"\n').config!.http!.maxConnectionsPerSource, 16, 'the string form too');
  t.deepEqual(http('  max_connections_per_source: -1\n').diags, [
    '4:31: http.max_connections_per_source (0: no cap) must be an integer from 0 to 256, got -1',
  ]);
  t.deepEqual(http('  max_connections_per_source: many\n').diags, [
    '4:31: http.max_connections_per_source (0: no cap) must be an integer from 0 to 256, got "many"',
  ]);
  t.true(
    http('  max_connections: 0\n').diags.some((d) => /^4:3: .*max_connections/.test(d)),
    'an unknown key is still an error',
  );
});
