// `steerdns check` (docs/operations.md#steerdns-check, docs/zone-format.md#errors): broken configs and zones,
// each run through the real CLI, each asserting the exact `file:line:col: message` line and exit status 1; the
// valid case, warnings, and the repository's own config.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { ROOT, runCli, writeFixture } from '../helpers/server.js';

const CONFIG = `listen: ["127.0.0.1:5300"]
zones: ./zones
regions:
  us-east: { location: [39.0, -77.5] }
  eu-west: { location: [53.3, -6.3] }
`;

// Five lines; the cases below append their records from line 6 on.
const HEAD = `origin: example.test
soa: { ns: ns1.example.test., email: hostmaster@example.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
`;

const SIGNED =
  'records are made by DNSSEC signing, not written in a zone: steerdns signs online (dnssec: in steerdns.yaml, docs/configuration.md#dnssec); load the unsigned zone (DS at a delegation stays allowed)';
const TOP_KEYS = 'listen, zones, http, workers, geoip, regions, health, log, nsid, version, state_dir, limits, rrl, dnssec, fleet';
const RECORD_TYPE_LIST =
  'A, NS, CNAME, PTR, MX, TXT, AAAA, LOC, SRV, NAPTR, DS, SSHFP, TLSA, SVCB, HTTPS, URI, CAA, or TYPEnnn in the generic form';
const POOL_KEYS = 'ttl, policy, map, answers, select, min_healthy, family_fallback, all_down, check, regions';
const CHECK_KEYS = 'type, port, path, host, headers, expect, body, insecure, interval, timeout, rise, fall, initial';

interface Case {
  title: string;
  config?: string;
  zones: Record<string, string>;
  /** Exact lines that stderr must contain. */
  errors: string[];
}

const CASES: Case[] = [
  // ---- steerdns.yaml ----
  {
    title: 'config: unknown top-level key',
    config: `${CONFIG}zone_dir: ./zones\n`,
    zones: { 'x.yaml': HEAD },
    errors: [`steerdns.yaml:6:1: unknown key "zone_dir" in steerdns.yaml (expected one of: ${TOP_KEYS})`],
  },
  {
    title: 'config: listen address that is a host name',
    config: CONFIG.replace('listen: ["127.0.0.1:5300"]', 'listen: ["127.0.0.1:5300", "localhost:5300"]'),
    zones: { 'x.yaml': HEAD },
    errors: ['steerdns.yaml:1:28: listen: "localhost" is not an IP address'],
  },
  {
    title: 'config: IPv6 listen address without brackets, and a port out of range',
    config: CONFIG.replace('listen: ["127.0.0.1:5300"]', 'listen: ["::1:5300", "127.0.0.1:65536"]'),
    zones: { 'x.yaml': HEAD },
    errors: [
      'steerdns.yaml:1:10: listen: "::1:5300" is not host:port (write IPv6 as [addr]:port)',
      'steerdns.yaml:1:22: listen: port of "127.0.0.1:65536" must be 0 to 65535',
    ],
  },
  {
    title: 'config: bad duration',
    config: `${CONFIG}health: { interval: 5sec, timeout: 2s }\n`,
    zones: { 'x.yaml': HEAD },
    errors: ['steerdns.yaml:6:21: health.interval must be a duration such as 500ms, 5s or 1m'],
  },
  {
    title: 'config: duplicate key',
    config: `${CONFIG}zones: ./other\n`,
    zones: { 'x.yaml': HEAD },
    errors: ['steerdns.yaml:6:1: duplicate key "zones" (map keys must be unique)'],
  },
  {
    title: 'config: YAML syntax error (tab indentation)',
    config: `${CONFIG}log:\n\tlevel: info\n`,
    zones: { 'x.yaml': HEAD },
    errors: ['steerdns.yaml:7:1: Tabs are not allowed as indentation'],
  },
  {
    title: 'config: unknown key in a region, latitude out of range',
    config: `${CONFIG}  ap-south: { location: [91, 72.9], stat: up }\n`,
    zones: { 'x.yaml': HEAD },
    errors: [
      'steerdns.yaml:6:37: unknown key "stat" in region "ap-south" (expected one of: location, state)',
      'steerdns.yaml:6:26: region "ap-south" location latitude must be a number from -90 to 90, got 91',
    ],
  },
  // ---- zone files: keys ----
  {
    title: 'zone: unknown top-level key',
    zones: { 'x.yaml': `${HEAD}serial: 2024010101\n` },
    errors: ['zones/x.yaml:6:1: unknown key "serial" in zone file (expected one of: origin, ttl, soa, records, include)'],
  },
  {
    title: 'zone: unknown key in soa',
    zones: { 'x.yaml': HEAD.replace('hostmaster@example.test }', 'hostmaster@example.test, minimun: 60 }') },
    errors: ['zones/x.yaml:2:63: unknown key "minimun" in soa (expected one of: ns, email, refresh, retry, expire, minimum, serial, ttl)'],
  },
  {
    title: 'zone: unknown key in a pool',
    zones: {
      'x.yaml': `${HEAD}  app:
    pool:
      check: { type: none }
      regions: { us-east: [192.0.2.10] }
      polcy: failover
`,
    },
    errors: [`zones/x.yaml:10:7: unknown key "polcy" in pool "app" (expected one of: ${POOL_KEYS})`],
  },
  {
    title: 'zone: unknown key in a check',
    zones: {
      'x.yaml': `${HEAD}  app:
    pool:
      check: { type: http, port: 80, path: /healthz, expects: [200] }
      regions: { us-east: [192.0.2.10] }
`,
    },
    errors: [`zones/x.yaml:8:54: unknown key "expects" in pool "app" check (expected one of: ${CHECK_KEYS})`],
  },
  {
    title: 'zone: unknown key in a target',
    zones: {
      'x.yaml': `${HEAD}  app:
    pool:
      check: { type: none }
      regions:
        us-east: [{ address: 192.0.2.10, wieght: 0 }, 192.0.2.11]
`,
    },
    errors: ['zones/x.yaml:10:42: unknown key "wieght" in pool "app" region "us-east" target (expected one of: address, weight, state)'],
  },
  {
    title: 'zone: unknown record type',
    zones: { 'x.yaml': `${HEAD}  sip: { SPF: "v=spf1 -all" }\n` },
    errors: [`zones/x.yaml:6:10: unknown key "SPF" at "sip" (expected ttl, pool or a record type: ${RECORD_TYPE_LIST})`],
  },
  // ---- zone files: values ----
  {
    title: 'zone: bad IPv4 address in A',
    zones: { 'x.yaml': `${HEAD}  bad: { A: 192.0.2.300 }\n` },
    errors: ['zones/x.yaml:6:13: A at "bad": "192.0.2.300" is not an IPv4 address'],
  },
  {
    title: 'zone: IPv6 address given as A',
    zones: { 'x.yaml': `${HEAD}  v6: { A: "2001:db8::1" }\n` },
    errors: ['zones/x.yaml:6:12: A at "v6": "2001:db8::1" is not an IPv4 address (it is IPv6: write it under AAAA)'],
  },
  {
    title: 'zone: negative TTL',
    zones: { 'x.yaml': `${HEAD}  mail: { A: 192.0.2.25, ttl: -5 }\n` },
    errors: ['zones/x.yaml:6:31: "mail" ttl (seconds) must be an integer from 0 to 2147483647, got -5'],
  },
  {
    title: 'zone: TTL that is a string',
    zones: { 'x.yaml': `${HEAD}  mail: { A: 192.0.2.25, ttl: short }\n` },
    errors: ['zones/x.yaml:6:31: "mail" ttl (seconds) must be an integer from 0 to 2147483647, got "short"'],
  },
  {
    title: 'zone: default TTL above 2147483647',
    zones: { 'x.yaml': HEAD.replace('origin: example.test\n', 'origin: example.test\nttl: 2147483648\n') },
    errors: ['zones/x.yaml:2:6: ttl (seconds) must be an integer from 0 to 2147483647, got 2147483648'],
  },
  {
    title: 'zone: absolute name outside the origin',
    zones: { 'x.yaml': `${HEAD}  www.example.net.: { A: 192.0.2.1 }\n` },
    errors: ['zones/x.yaml:6:3: name "www.example.net." is outside the zone\'s origin example.test.'],
  },
  {
    title: 'zone: label longer than 63 octets',
    zones: { 'x.yaml': `${HEAD}  ${'a'.repeat(64)}.b: { A: 192.0.2.1 }\n` },
    errors: [`zones/x.yaml:6:3: name "${'a'.repeat(64)}.b" has a label longer than 63 octets`],
  },
  {
    title: 'zone: MX without exchange',
    zones: { 'x.yaml': `${HEAD}  mx: { MX: [{ preference: 10 }] }\n` },
    errors: ['zones/x.yaml:6:14: MX at "mx" needs exchange'],
  },
  {
    title: 'zone: YAML syntax error',
    zones: { 'x.yaml': `${HEAD}  www: A: 192.0.2.1\n` },
    errors: ['zones/x.yaml:6:8: Nested mappings are not allowed in compact mappings'],
  },
  {
    title: 'zone: duplicate key',
    zones: { 'x.yaml': `${HEAD}  ns1: { A: 192.0.2.54 }\n` },
    errors: ['zones/x.yaml:6:3: duplicate key "ns1" (map keys must be unique)'],
  },
  {
    title: 'zone: empty file',
    zones: { 'x.yaml': '' },
    errors: ['zones/x.yaml:1:1: zone file is empty (it needs origin, soa and records)'],
  },
  // ---- zone files: whole-zone rules ----
  {
    title: 'zone: CNAME beside other data',
    zones: { 'x.yaml': `${HEAD}  www: { CNAME: ns1, MX: [{ preference: 10, exchange: ns1 }] }\n` },
    errors: ['zones/x.yaml:6:10: CNAME at "www" stands beside other data (MX)'],
  },
  {
    title: 'zone: CNAME at the apex',
    zones: { 'x.yaml': HEAD.replace('"@": { NS: [ns1] }', '"@": { CNAME: www.example.net. }') },
    errors: [
      'zones/x.yaml:4:10: CNAME at "@" stands beside other data (the apex has SOA and NS)',
      'zones/x.yaml:4:3: the apex (@) needs NS records',
    ],
  },
  {
    title: 'zone: CNAME beside a pool',
    zones: {
      'x.yaml': `${HEAD}  app:
    CNAME: ns1
    pool:
      check: { type: none }
      regions: { us-east: [192.0.2.10] }
`,
    },
    errors: [
      'zones/x.yaml:7:5: CNAME at "app" stands beside other data (a pool): a CNAME is not a fallback for a pool; write all_down: { fallback: POOL } or serve-all',
    ],
  },
  {
    title: 'zone: static A beside a pool',
    zones: {
      'x.yaml': `${HEAD}  app:
    A: 192.0.2.1
    pool:
      check: { type: none }
      regions: { us-east: [192.0.2.10] }
`,
    },
    errors: ['zones/x.yaml:7:5: static A at "app" stands beside a pool (the pool owns the name\'s A and AAAA)'],
  },
  {
    title: 'zone: delegation (NS) beside a pool',
    zones: {
      'x.yaml': `${HEAD}  app:
    NS: [ns1.example.net.]
    pool:
      check: { type: none }
      regions: { us-east: [192.0.2.10] }
`,
    },
    errors: ['zones/x.yaml:8:5: pool at "app" stands beside a delegation (NS)'],
  },
  {
    title: 'zone: pool without check',
    zones: {
      'x.yaml': `${HEAD}  app:
    pool:
      regions: { us-east: [192.0.2.10] }
`,
    },
    errors: ['zones/x.yaml:7:5: pool "app" has no check (write check: { type: none } to serve without probing)'],
  },
  {
    title: "zone: pool names a region not declared in steerdns.yaml (the spec's example)",
    config: CONFIG.replace('  eu-west: { location: [53.3, -6.3] }\n', '  ap-south: { location: [19.1, 72.9] }\n'),
    zones: {
      'example.test.yaml': `origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test }
records:
  "@": { NS: [ns1, ns2] }
  ns1: { A: 192.0.2.53 }
  ns2: { A: 198.51.100.53 }
  app:
    pool:
      ttl: 30
      check: { type: http, port: 80, path: /healthz, expect: [200] }
      regions:
        us-east: [192.0.2.10, 192.0.2.11]
        eu-west: [198.51.100.10]
`,
    },
    errors: ['zones/example.test.yaml:14:9: pool "app": region "eu-west" is not declared in steerdns.yaml'],
  },
  {
    title: 'zone: weight 5 without select: weighted',
    zones: {
      'x.yaml': `${HEAD}  app:
    pool:
      check: { type: none }
      regions:
        us-east: [{ address: 192.0.2.10, weight: 5 }, 192.0.2.11]
`,
    },
    errors: ['zones/x.yaml:10:30: pool "app": weight 5 needs select: weighted (without it only 0 = standby and 1 are allowed)'],
  },
  {
    title: 'zone: in-zone NS target without an address',
    zones: { 'x.yaml': HEAD.replace('NS: [ns1]', 'NS: [ns1, ns2]') },
    errors: ['zones/x.yaml:4:10: NS at "@": name server ns2.example.test. is inside the zone but has no A or AAAA record'],
  },
  {
    title: 'zone: in-zone delegation without glue',
    zones: { 'x.yaml': `${HEAD}  sub: { NS: [ns1.sub, ns.example.net.] }\n` },
    errors: [
      'zones/x.yaml:6:10: delegation "sub": name server ns1.sub.example.test. is below the cut and needs glue (A or AAAA at "ns1.sub")',
    ],
  },
  {
    title: 'zone: data other than glue below a zone cut',
    zones: {
      'x.yaml': `${HEAD}  sub: { NS: [ns.sub] }
  ns.sub: { A: 192.0.2.99 }
  www.sub: { A: 192.0.2.80, TXT: "not glue" }
`,
    },
    errors: ['zones/x.yaml:8:3: "www.sub" is below the zone cut at "sub": only A/AAAA glue may be written there, not TXT'],
  },
  // ---- check paths and headers the prober could not send, a target written two ways, probe destinations ----
  {
    title: 'zone: a check path with a character Node cannot send (€)',
    zones: {
      'x.yaml': `${HEAD}  app:
    pool:
      check: { type: http, port: 80, path: "/health€" }
      regions: { us-east: [192.0.2.10] }
`,
    },
    errors: [
      'zones/x.yaml:8:44: pool "app" check path contains "€" (U+20AC), which cannot be sent in a request line: percent-encode it (%E2%82%AC)',
    ],
  },
  {
    title: 'zone: check header values with a control character and a character beyond Latin-1',
    zones: {
      'x.yaml': `${HEAD}  app:
    pool:
      check:
        type: http
        headers: { X-Token: "a\\u0001b", X-Name: "zoë €" }
      regions: { us-east: [192.0.2.10] }
`,
    },
    errors: [
      'zones/x.yaml:10:29: pool "app" check: header X-Token contains "\\u0001" (U+0001) that cannot be sent in an HTTP header (control characters and characters beyond U+00FF are refused)',
      'zones/x.yaml:10:49: pool "app" check: header X-Name contains "€" (U+20AC) that cannot be sent in an HTTP header (control characters and characters beyond U+00FF are refused)',
    ],
  },
  {
    title: 'zone: check headers that break the probe (Trailer, body framing), and a Host header that contradicts host:',
    zones: {
      'x.yaml': `${HEAD}  app:
    pool:
      check:
        type: http
        host: vip.example.test
        headers: { Trailer: x, HOST: a.example, Content-Length: "5", transfer-encoding: chunked, X-Ok: fine }
      regions: { us-east: [192.0.2.10] }
`,
    },
    errors: [
      'zones/x.yaml:11:20: pool "app" check: header Trailer cannot be set in headers: the probe\'s GET has no body, so no trailer (Node refuses to send it)',
      'zones/x.yaml:11:38: pool "app" check: header HOST "a.example" differs from host: "vip.example.test" (the probe sends host: as Host and as TLS SNI)',
      'zones/x.yaml:11:49: pool "app" check: header Content-Length cannot be set in headers: the probe\'s GET has no body (the backend would wait for one until the timeout)',
      'zones/x.yaml:11:70: pool "app" check: header transfer-encoding cannot be set in headers: the probe\'s GET has no body (the backend would wait for one until the timeout)',
    ],
  },
  {
    title: 'zone: one IPv6 target written two ways in a pool',
    zones: {
      'x.yaml': `${HEAD}  app:
    pool:
      check: { type: tcp, port: 443 }
      regions: { us-east: ["2001:db8::1"], eu-west: ["2001:DB8:0::1", { address: "2001:0db8:0000::1" }] }
`,
    },
    errors: [
      'zones/x.yaml:9:54: pool "app": target 2001:DB8:0::1 is listed twice: it is 2001:db8::1 written another way (both are 2001:db8::1)',
      'zones/x.yaml:9:71: pool "app": target 2001:0db8:0000::1 is listed twice: it is 2001:db8::1 written another way (both are 2001:db8::1)',
    ],
  },
  {
    title: 'zone: one IPv4 host written as IPv4 and as IPv4-mapped IPv6 in a pool',
    zones: {
      'x.yaml': `${HEAD}  app:
    pool:
      check: { type: tcp, port: 443 }
      regions: { us-east: [192.0.2.1, "::ffff:192.0.2.2"], eu-west: ["::FFFF:c000:201", { address: 192.0.2.2 }] }
`,
    },
    errors: [
      'zones/x.yaml:9:70: pool "app": target ::FFFF:c000:201 is listed twice: it and 192.0.2.1 are one IPv4 host (192.0.2.1), once in its IPv4-mapped IPv6 form',
      'zones/x.yaml:9:89: pool "app": target 192.0.2.2 is listed twice: it and ::ffff:192.0.2.2 are one IPv4 host (192.0.2.2), once in its IPv4-mapped IPv6 form',
    ],
  },
  {
    title: 'zone: probed targets in networks health checks may not probe (link-local, metadata, IPv4-mapped)',
    zones: {
      'x.yaml': `${HEAD}  app:
    pool:
      check: { type: http, port: 80 }
      regions:
        us-east: [169.254.169.254, "::ffff:169.254.169.253", "fe80::1", "fd00:ec2::254", { address: 169.254.1.1, state: down }]
`,
    },
    errors: [
      'zones/x.yaml:10:19: pool "app": target 169.254.169.254 is in 169.254.0.0/16, a network health checks may not probe (health.deny in steerdns.yaml, by default); list it under health.allow to probe it, or use check: { type: none }',
      'zones/x.yaml:10:36: pool "app": target ::ffff:169.254.169.253 is in 169.254.0.0/16, a network health checks may not probe (health.deny in steerdns.yaml, by default); list it under health.allow to probe it, or use check: { type: none }',
      'zones/x.yaml:10:62: pool "app": target fe80::1 is in fe80::/10, a network health checks may not probe (health.deny in steerdns.yaml, by default); list it under health.allow to probe it, or use check: { type: none }',
      'zones/x.yaml:10:73: pool "app": target fd00:ec2::254 is in fd00:ec2::254/128, a network health checks may not probe (health.deny in steerdns.yaml, by default); list it under health.allow to probe it, or use check: { type: none }',
      'zones/x.yaml:10:101: pool "app": target 169.254.1.1 is in 169.254.0.0/16, a network health checks may not probe (health.deny in steerdns.yaml, by default); list it under health.allow to probe it, or use check: { type: none }',
    ],
  },
  {
    title: 'zone: a NAT64 target (64:ff9b::/96) is judged as the IPv4 address it carries',
    zones: {
      'x.yaml': `${HEAD}  app:
    pool:
      check: { type: http, port: 80 }
      regions: { us-east: ["64:ff9b::a9fe:a9fe", "64:ff9b::c000:20a"] }
`,
    },
    errors: [
      'zones/x.yaml:9:28: pool "app": target 64:ff9b::a9fe:a9fe is in 169.254.0.0/16, a network health checks may not probe (health.deny in steerdns.yaml, by default); list it under health.allow to probe it, or use check: { type: none }',
    ],
  },
  {
    title: 'zone: a probed target in a network of health.deny (in addition to the defaults)',
    config: `${CONFIG}health: { deny: ["10.99.0.0/16", "::ffff:192.0.2.0/120"], allow: ["169.254.10.0/24"] }\n`,
    zones: {
      'x.yaml': `${HEAD}  app:
    pool:
      check: { type: tcp, port: 80 }
      regions: { us-east: [10.99.1.1, 10.98.1.1, 192.0.2.7, 169.254.10.1, 169.254.11.1] }
`,
    },
    errors: [
      'zones/x.yaml:9:28: pool "app": target 10.99.1.1 is in 10.99.0.0/16, a network health checks may not probe (health.deny in steerdns.yaml); list it under health.allow to probe it, or use check: { type: none }',
      'zones/x.yaml:9:50: pool "app": target 192.0.2.7 is in ::ffff:192.0.2.0/120, a network health checks may not probe (health.deny in steerdns.yaml); list it under health.allow to probe it, or use check: { type: none }',
      'zones/x.yaml:9:75: pool "app": target 169.254.11.1 is in 169.254.0.0/16, a network health checks may not probe (health.deny in steerdns.yaml, by default); list it under health.allow to probe it, or use check: { type: none }',
    ],
  },
  {
    title: 'config: health.deny and health.allow take networks',
    config: `${CONFIG}health: { deny: ["10.0.0.1/8", nope], allow: ["fe80::/129"] }\n`,
    zones: { 'x.yaml': HEAD },
    errors: [
      'steerdns.yaml:6:18: health.deny: "10.0.0.1/8" has host bits set (the network is 10.0.0.0/8)',
      'steerdns.yaml:6:32: health.deny: "nope" is not an IP address',
      'steerdns.yaml:6:47: health.allow: prefix length of "fe80::/129" must be 0 to 128',
    ],
  },
  {
    title: 'zone: DNSSEC records a signer makes, by name and as TYPEnnn; DS at a delegation loads',
    zones: {
      'x.yaml': `${HEAD}  www: { A: 192.0.2.1, RRSIG: '\\# 0', NSEC3PARAM: '1 0 0 -' }\n  sub: { NS: ns.example.net., DS: '1 13 2 ${'ab'.repeat(32)}', TYPE48: '\\# 0' }\n`,
    },
    errors: [
      `zones/x.yaml:6:24: RRSIG ${SIGNED}`,
      `zones/x.yaml:6:39: NSEC3PARAM ${SIGNED}`,
      `zones/x.yaml:7:110: DNSKEY (TYPE48) ${SIGNED}`,
    ],
  },
  {
    title: 'zones: two files with the same origin',
    zones: { 'a.yaml': HEAD, 'b.yaml': HEAD },
    errors: ['zones/b.yaml:1:9: zone example.test. is already defined in zones/a.yaml'],
  },
];

function fixture(t: { teardown(fn: () => void): void }, config: string, zones: Record<string, string>): string {
  const dir = writeFixture(config, zones);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('at least 26 broken configs and zones are checked', (t) => {
  t.true(CASES.length >= 26, `${CASES.length} cases`);
});

for (const c of CASES) {
  test(`check: ${c.title}`, async (t) => {
    const dir = fixture(t, c.config ?? CONFIG, c.zones);
    const r = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
    t.is(r.code, 1, r.stderr);
    const lines = r.stderr.split('\n');
    for (const e of c.errors) t.true(lines.includes(e), `expected the line\n  ${e}\nin stderr:\n${r.stderr}`);
    // every reported problem names file:line:col; the last line counts them
    const diags = lines.filter((l) => l && !/^\d+ errors?$/.test(l));
    for (const l of diags) t.regex(l, /^(steerdns\.yaml|zones\/[\w.]+\.yaml):\d+:\d+: \S/);
    if (diags.length) t.true(lines.includes(`${diags.length} error${diags.length === 1 ? '' : 's'}`), r.stderr);
    t.notRegex(r.stdout, /^ok:/m);
  });
}

test('check: several errors in one file are all reported', async (t) => {
  const dir = fixture(t, CONFIG, {
    'x.yaml': `origin: example.test
bogus: 1
ttl: -1
soa: { ns: ns1.example.test., email: hostmaster@example.test }
records:
  "@": { NS: [ns1, ns2] }
  ns1: { A: "2001:db8::1" }
  ns2: { AAAA: 192.0.2.1 }
  x: { TXT: "ok", FOO: 1 }
`,
  });
  const r = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
  t.is(r.code, 1);
  t.deepEqual(r.stderr.split('\n').filter(Boolean), [
    'zones/x.yaml:2:1: unknown key "bogus" in zone file (expected one of: origin, ttl, soa, records, include)',
    'zones/x.yaml:3:6: ttl (seconds) must be an integer from 0 to 2147483647, got -1',
    'zones/x.yaml:7:13: A at "ns1": "2001:db8::1" is not an IPv4 address (it is IPv6: write it under AAAA)',
    'zones/x.yaml:8:16: AAAA at "ns2": "192.0.2.1" is not an IPv6 address (it is IPv4: write it under A)',
    `zones/x.yaml:9:19: unknown key "FOO" at "x" (expected ttl, pool or a record type: ${RECORD_TYPE_LIST})`,
    'zones/x.yaml:6:10: NS at "@": name server ns1.example.test. is inside the zone but has no A or AAAA record',
    'zones/x.yaml:6:10: NS at "@": name server ns2.example.test. is inside the zone but has no A or AAAA record',
    '7 errors',
  ]);
});

test('check: errors in several files and in the config are all reported', async (t) => {
  const dir = fixture(t, `${CONFIG}lisen: 1\n`, { 'a.yaml': `${HEAD}  bad: { A: 1.2.3 }\n` });
  const r = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
  t.is(r.code, 1);
  // a broken steerdns.yaml stops there: the zones are checked against a config that loads
  t.true(r.stderr.includes(`steerdns.yaml:6:1: unknown key "lisen" in steerdns.yaml (expected one of: ${TOP_KEYS})\n`), r.stderr);
  writeFileSync(join(dir, 'steerdns.yaml'), CONFIG);
  writeFileSync(
    join(dir, 'zones', 'b.yaml'),
    HEAD.replace('example.test', 'b.test')
      .replace(/ns1\.example\.test\./, 'ns1.b.test.')
      .replace('ns1: { A: 192.0.2.53 }', 'ns1: { A: 192.0.2.53, AAAA: nope }'),
  );
  const r2 = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
  t.is(r2.code, 1);
  t.deepEqual(r2.stderr.split('\n').filter(Boolean), [
    'zones/a.yaml:6:13: A at "bad": "1.2.3" is not an IPv4 address',
    'zones/b.yaml:5:31: AAAA at "ns1": "nope" is not an IPv6 address',
    '2 errors',
  ]);
});

test('check: a valid config and zone → exit 0 and "ok:"', async (t) => {
  const dir = fixture(t, CONFIG, { 'x.yaml': HEAD });
  const r = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'ok: 1 zone (example.test.)\n');
  t.is(r.stderr, '');
});

test('check: health.allow reopens a denied network; targets of check type none are not probed and not judged', async (t) => {
  const zone = `${HEAD}  app:
    pool:
      check: { type: tcp, port: 80 }
      regions: { us-east: [169.254.169.254, "::ffff:169.254.169.255", 127.0.0.1, 10.1.2.3, 192.168.1.1, "fd12::1"] }
  static:
    pool:
      check: { type: none }
      regions: { us-east: [169.254.1.1] }
`;
  const dir = fixture(t, `${CONFIG}health: { allow: ["169.254.169.254/31"] }\n`, { 'x.yaml': zone });
  const r = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr, '');
  // without the allow entry the metadata address is refused again (both forms): the allow list did it
  writeFileSync(join(dir, 'steerdns.yaml'), CONFIG);
  const r2 = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
  t.is(r2.code, 1);
  t.deepEqual(
    r2.stderr
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/, a network .*/, '')),
    [
      'zones/x.yaml:9:28: pool "app": target 169.254.169.254 is in 169.254.0.0/16',
      'zones/x.yaml:9:45: pool "app": target ::ffff:169.254.169.255 is in 169.254.0.0/16',
      '2 errors',
    ],
  );
});

test("check: one probed target with other timings in two pools (in one zone or two) is a warning at the second pool's check naming the timings used, exit 0", async (t) => {
  const a = `${HEAD}  app:
    pool:
      check: { type: tcp, port: 443 }
      regions: { us-east: [192.0.2.10, 192.0.2.11] }
  fast:
    pool:
      check: { type: tcp, port: 443, interval: 1s, timeout: 500ms }
      regions: { eu-west: [192.0.2.11, 192.0.2.12] }
  same:
    pool:
      check: { type: tcp, port: 443 }
      regions: { us-east: [192.0.2.10, { address: 192.0.2.12, state: down }] }
  other-port:
    pool:
      check: { type: tcp, port: 80, rise: 5 }
      regions: { us-east: [192.0.2.10] }
`;
  const b = `${HEAD.replaceAll('example.test', 'other.test')}  x:
    pool:
      check: { type: tcp, port: 443, fall: 5 }
      regions: { us-east: [192.0.2.10] }
  y:
    pool:
      check: { type: tcp, port: 443, interval: 1s, timeout: 500ms }
      regions: { us-east: ["::ffff:192.0.2.12"] }
`;
  const dir = fixture(t, CONFIG, { 'a.yaml': a, 'b.yaml': b });
  const r = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr, '');
  const defaults = 'interval 5s, timeout 2s, rise 2, fall 3, initial up';
  const fast = 'interval 1s, timeout 500ms, rise 2, fall 3, initial up';
  // "same" has the first pool's timings, "other-port" probes another port, "y" the mapped form of a target of
  // "fast" with its timings, and the state: down target is not probed: none of them is a warning
  t.deepEqual(
    r.stdout.split('\n').filter((l) => l.includes('warning')),
    [
      `zones/a.yaml:12:14: warning: pool "fast" check probes 192.0.2.11 like pool "app" (zones/a.yaml:8:14) but with other timings: here ${fast}; there ${defaults}. One prober serves both, with ${fast}: those of this pool (the shortest interval)`,
      `zones/b.yaml:8:14: warning: pool "x" check probes 192.0.2.10 like pool "app.example.test." (zones/a.yaml:8:14) but with other timings: here interval 5s, timeout 2s, rise 2, fall 5, initial up; there ${defaults}. One prober serves both, with ${defaults}: those of pool "app.example.test." (the intervals are equal: the shorter timeout, then the fewer fall, then rise)`,
    ],
  );
  t.regex(r.stdout, /^ok: 2 zones/m);
});

test('check: a Host header without host: is taken as host: and a Connection header is ignored, both warnings (zones written before these rules still load), exit 0', async (t) => {
  const dir = fixture(t, CONFIG, {
    'x.yaml': `${HEAD}  app:
    pool:
      check: { type: http, headers: { Host: vip.example.test., Connection: keep-alive, X-Ok: fine } }
      regions: { us-east: [192.0.2.10] }
`,
  });
  const r = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(
    r.stdout.split('\n').filter((l) => l.includes('warning')),
    [
      'zones/x.yaml:8:39: warning: pool "app" check: header Host is taken as host: "vip.example.test" (sent as Host and as TLS SNI): write host: instead',
      'zones/x.yaml:8:64: warning: pool "app" check: header Connection is ignored: each probe opens its own connection and closes it (Connection: close)',
    ],
  );
});

test('check: a wildcard listen address is a warning naming file:line:col, exit 0', async (t) => {
  const dir = fixture(t, CONFIG.replace('listen: ["127.0.0.1:5300"]', 'listen: ["0.0.0.0:5300", "[::]:5300"]'), { 'x.yaml': HEAD });
  const r = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const tail =
    'is a wildcard address: on a host with several addresses UDP replies may leave from another address than the one asked; list each address instead';
  t.true(lines.includes(`steerdns.yaml:1:10: warning: listen: "0.0.0.0:5300" ${tail}`), r.stdout);
  t.true(lines.includes(`steerdns.yaml:1:26: warning: listen: "[::]:5300" ${tail}`), r.stdout);
  t.true(lines.includes('ok: 1 zone (example.test.)'), r.stdout);
  t.is(r.stderr, '');
});

test('check: a missing config file, a missing zones folder, an empty zones folder', async (t) => {
  const dir = fixture(t, CONFIG, {});
  const missing = await runCli(['check', '-c', 'nope.yaml'], dir);
  t.is(missing.code, 1);
  t.is(missing.stderr, 'nope.yaml:1:1: cannot read config: file not found\n1 error\n');
  const empty = await runCli(['check', '-c', 'steerdns.yaml'], dir);
  t.is(empty.code, 1);
  t.is(empty.stderr, `no zone files (*.yaml, *.zone) in ${join(dir, 'zones')}\n`);
  writeFileSync(join(dir, 'steerdns.yaml'), CONFIG.replace('zones: ./zones', 'zones: ./nowhere'));
  const noDir = await runCli(['check', '-c', 'steerdns.yaml'], dir);
  t.is(noDir.code, 1);
  t.true(noDir.stderr.startsWith('cannot read the zones folder nowhere: '), noDir.stderr);
});

test('check: the default config path is ./steerdns.yaml', async (t) => {
  const dir = fixture(t, CONFIG, { 'x.yaml': HEAD });
  const r = await runCli(['check'], dir);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'ok: 1 zone (example.test.)\n');
});

test('check: does not write state_dir', async (t) => {
  const dir = fixture(t, `${CONFIG}state_dir: ./state\n`, { 'x.yaml': HEAD });
  const r = await runCli(['check', '-c', 'steerdns.yaml'], dir);
  t.is(r.code, 0, r.stderr);
  t.false(existsSync(join(dir, 'state')));
  t.false(existsSync(join(dir, '.steerdns-state')));
});

test("check: the repository's own steerdns.yaml and sample zones pass", async (t) => {
  const r = await runCli(['check', '-c', 'steerdns.yaml'], ROOT);
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr, '');
  t.regex(r.stdout, /^ok: \d+ zones? \(.*\bexample\.test\..*\)\n$/m);
  t.notRegex(r.stdout, /warning/);
});

test('command line: usage, unknown command', async (t) => {
  const help = await runCli(['--help'], ROOT);
  t.is(help.code, 0);
  t.regex(help.stdout, /steerdns check \[-c steerdns\.yaml\]/);
  const none = await runCli([], ROOT);
  t.is(none.code, 2);
  const bad = await runCli(['frobnicate'], ROOT);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /^steerdns: unknown command "frobnicate"/);
});

// docs/configuration.md#traps-check-warns-about: each a warning at file:line:col; the zone loads
const TRAPS = `${HEAD}  "*": { A: 192.0.2.1 }
  www: { TXT: "only text" }
  a.b: { A: 192.0.2.2 }
  _dmarc: { TXT: "v=DMARC1; p=none" }
  x._domainkey: { TXT: "v=DKIM1; p=" }
  "*.apps": { CNAME: ns1 }
  sub: { NS: [ns.example.net.] }
  host: { A: 192.0.2.3 }
  app:
    pool:
      ttl: 600
      select: weighted
      check: { type: none }
      regions: { us-east: [{ address: 192.0.2.10, weight: 3 }, 192.0.2.11] }
  split:
    pool:
      ttl: 300
      select: weighted
      answers: 1
      check: { type: none }
      regions: { us-east: [{ address: 192.0.2.12, weight: 3 }, 192.0.2.13] }
`;

test('check: traps are warnings at file:line:col, exit 0 — weighted with answers 0, a pool TTL above 300 s, names that shadow a wildcard (RFC 4592 §2.2.1)', async (t) => {
  const dir = fixture(t, CONFIG, { 'x.yaml': TRAPS });
  const r = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
  t.is(r.code, 0, r.stderr);
  const shadow = (name: string, why: string) =>
    `warning: "${name}" ${why}: the wildcard "*" does not answer for a name that exists, so "${name}" answers NODATA to A and AAAA and names below it that are not written answer NXDOMAIN (RFC 4592 §2.2.1)`;
  t.deepEqual(r.stdout.split('\n').filter(Boolean), [
    'zones/x.yaml:17:15: warning: pool "app": select: weighted with answers: 0 (every address) only orders the answer, and resolvers and clients reorder it again: weights split traffic only with answers: 1 (or a few)',
    'zones/x.yaml:16:12: warning: pool "app" ttl 600 is above 300 s: resolvers keep a steered answer that long, so a failover or a region change reaches clients only after it',
    `zones/x.yaml:7:3: ${shadow('www', 'has no address of its own')}`,
    `zones/x.yaml:8:3: ${shadow('b', 'is an empty non-terminal (it exists because of "a.b")')}`,
    'ok: 1 zone (example.test.)',
  ]);
});
