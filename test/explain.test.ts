// `steerdns explain` and `GET /explain`: the built command line on the
// repository's own config (bundled country database, no geoip.database), the fallback to configured
// states when no server answers, the live view of a running server, --json, --subnet, bad inputs.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Reader } from 'maxmind';
import { bundledDatabasePath } from '../src/gslb/geo.js';
import { type CliResult, ROOT, runCli, startServer, type TestServer } from './helpers/server.js';

const temps: string[] = [];
function temp(): string {
  const d = mkdtempSync(join(tmpdir(), 'steerdns-explain-'));
  temps.push(d);
  return d;
}
test.after.always(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** A loopback TCP port nothing listens on (bound, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

const explainCli = (args: string[], cwd = ROOT): Promise<CliResult> => runCli(['explain', ...args], cwd);

const lines = (out: string) => out.split('\n');
/** The region lines of the first pool block: `  1. eu-west   328 km   healthy 4/4 (needs 1) qualifies  ← chosen`. */
function regionLines(out: string): string[] {
  return lines(out).filter((l) => /^\s+\d+\. \S+\s/.test(l));
}
function chosen(out: string): string[] {
  return regionLines(out)
    .filter((l) => l.includes('← chosen'))
    .map((l) => /^\s+\d+\. (\S+)/.exec(l)![1]!);
}

/** The key lines every text explain of app.example.test from the London address must show. */
function assertLondonGB(t: import('ava').ExecutionContext, r: CliResult): void {
  t.is(r.code, 0, r.stderr);
  const out = r.stdout;
  t.regex(out, /^query: +app\.example\.test\. A from 81\.2\.69\.142$/m);
  t.regex(out, /^client: +81\.2\.69\.142 \(query source address\)/m);
  t.regex(out, /^located: GB\b.*continent EU at -?\d+\.\d+, -?\d+\.\d+$/m);
  t.regex(out, /^source: +database record \S+\/\d+, country only: .*\(coarse\)$/m);
  t.regex(out, /^pool app\.example\.test\. \(IPv4\): policy nearest/m);
  // regions with distances, eu-west first and chosen
  const regs = regionLines(out);
  t.true(regs.length >= 3, out);
  t.regex(regs[0]!, /^\s+1\. eu-west\s+[\d,]+ km\s+healthy \d+\/\d+ .*← chosen$/);
  t.deepEqual(chosen(out), ['eu-west']);
  // the answer: eu-west's addresses of the sample zone
  t.regex(out, /^response: NOERROR, authoritative$/m);
  const answers = lines(out).filter((l) => /^ {2}app\.example\.test\. \d+ IN A /.test(l));
  t.true(answers.length > 0, out);
  for (const a of answers) t.regex(a, /^ {2}app\.example\.test\. 30 IN A 198\.51\.100\.\d+$/);
}

// ---- the repository config: the bundled country database, no geoip.database ----------------------

test('the repository config (bundled database) --offline: 81.2.69.142 is located in GB (coarse) and eu-west is chosen', async (t) => {
  const r = await explainCli(['app.example.test', '--from', '81.2.69.142', '--offline']);
  assertLondonGB(t, r);
  t.regex(r.stdout, /^health: +configured states \(--offline\)/m);
  // sanity: the repository config really has no geoip.database
  t.notRegex(readFileSync(join(ROOT, 'steerdns.yaml'), 'utf8'), /^\s*database:/m);
});

test('the repository config --offline: an IPv6 client in India gets ap-south; a state: down target is neither counted nor answered', async (t) => {
  const ip = '2401:4900::1';
  // precondition on the bundled data (Bharti Airtel, IN), so a database update fails here, clearly
  const reader = new Reader<Record<string, unknown>>(readFileSync(bundledDatabasePath()));
  const [rec, prefix] = reader.getWithPrefixLength(ip);
  t.is(rec?.country_code, 'IN');
  const r = await explainCli(['app.example.test', '--from', ip, '--offline']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^located: IN, continent AS at /m);
  t.regex(r.stdout, new RegExp(`^source: +database record 2401:4900::/${prefix}, country only: .*\\(coarse\\)$`, 'm'));
  t.deepEqual(chosen(r.stdout), ['ap-south']);
  // the sample zone's ap-south: 203.0.113.10, and 203.0.113.11 with state: down
  t.regex(regionLines(r.stdout)[0]!, /^\s+1\. ap-south\s+[\d,]+ km\s+healthy 1\/1 /);
  t.regex(r.stdout, /^ {2}app\.example\.test\. 30 IN A 203\.0\.113\.10$/m);
  t.notRegex(r.stdout, /203\.0\.113\.11/);
});

test('the repository config --offline: 127.0.0.1 is placed by the overlay', async (t) => {
  const r = await explainCli(['app.example.test', '--from', '127.0.0.1', '--offline']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^source: +overlay network 127\.0\.0\.0\/8 → region eu-west$/m);
  t.deepEqual(chosen(r.stdout), ['eu-west']);
});

/** The repository's steerdns.yaml with absolute zones/state paths and another http address. */
function repoConfigCopy(http: string): string {
  const dir = temp();
  let text = readFileSync(join(ROOT, 'steerdns.yaml'), 'utf8');
  const before = text;
  text = text
    .replace(/^zones: .*$/m, `zones: ${JSON.stringify(join(ROOT, 'zones'))}`)
    .replace(/^http: .*$/m, `http: "${http}"`)
    .replace(/^state_dir: .*$/m, `state_dir: ${JSON.stringify(join(dir, 'state'))}`);
  if (text === before || !text.includes(`http: "${http}"`)) throw new Error('could not adapt steerdns.yaml');
  const file = join(dir, 'steerdns.yaml');
  writeFileSync(file, text);
  return file;
}

test('no server answering at the configured http address: explain uses the configured states and says so', async (t) => {
  const port = await freePort();
  const cfg = repoConfigCopy(`127.0.0.1:${port}`);
  const r = await explainCli(['app.example.test', '--from', '81.2.69.142', '-c', cfg]);
  assertLondonGB(t, r);
  t.regex(r.stdout, new RegExp(`^health: +configured states: no server answered at 127\\.0\\.0\\.1:${port}\\b`, 'm'));
  t.notRegex(r.stdout, /live/);
});

test('--json (offline, bundled database): parses; client.country GB, pools[0].chosen eu-west', async (t) => {
  const r = await explainCli(['app.example.test', '--from', '81.2.69.142', '--offline', '--json']);
  t.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as {
    health: string;
    client: { country: string; continent: string; source: string; via: string };
    pools: { pool: string; chosen: string; reason: string; answer: string[]; regions: { name: string; distanceKm: number }[] }[];
    answer: { rcode: string; answer: string[] };
  };
  t.is(j.health, 'configured');
  t.is(j.client.country, 'GB');
  t.is(j.client.continent, 'EU');
  t.is(j.client.source, 'coarse');
  t.is(j.client.via, 'source');
  t.is(j.pools.length, 1);
  t.is(j.pools[0]!.pool, 'app.example.test');
  t.is(j.pools[0]!.chosen, 'eu-west');
  t.is(j.pools[0]!.reason, 'nearest');
  // distances ascending (nearest policy)
  const d = j.pools[0]!.regions.map((x) => x.distanceKm);
  t.deepEqual(
    d,
    [...d].sort((a, b) => a - b),
  );
  t.is(j.answer.rcode, 'NOERROR');
  t.true(j.answer.answer.length > 0);
  for (const a of j.pools[0]!.answer) t.regex(a, /^198\.51\.100\.\d+$/);
});

test('--subnet shows the ECS path: the client subnet is located (US → us-east) and the scope is the database prefix', async (t) => {
  // the bundled database's own network for that address; no overlay of steerdns.yaml overlaps it
  const reader = new Reader<Record<string, unknown>>(readFileSync(bundledDatabasePath()));
  const [, prefix] = reader.getWithPrefixLength('216.160.83.0');
  const r = await explainCli(['app.example.test', 'AAAA', '--from', '127.0.0.1', '--subnet', '216.160.83.0/24', '--offline']);
  t.is(r.code, 0, r.stderr);
  const out = r.stdout;
  t.regex(out, /^query: +app\.example\.test\. AAAA from 127\.0\.0\.1 with client subnet 216\.160\.83\.0\/24$/m);
  t.regex(out, /^client: +216\.160\.83\.0 \(EDNS client subnet\)$/m);
  t.regex(out, /^located: US\b/m);
  t.regex(out, /^pool app\.example\.test\. \(IPv6\)/m);
  t.deepEqual(chosen(out), ['us-east']);
  t.regex(out, new RegExp(`ecs scope /${prefix}\\)$`, 'm'));
  t.regex(out, new RegExp(`^response: NOERROR, authoritative, ECS scope /${prefix}$`, 'm'));
  t.regex(out, /^ {2}app\.example\.test\. 30 IN AAAA 2001:db8:1::10$/m);

  const j = JSON.parse(
    (await explainCli(['app.example.test', '--from', '127.0.0.1', '--subnet', '216.160.83.0/24', '--offline', '--json'])).stdout,
  ) as {
    client: { via: string; country: string };
    answer: { ecsScope: number };
  };
  t.is(j.client.via, 'ecs');
  t.is(j.client.country, 'US');
  t.is(j.answer.ecsScope, prefix);
});

// the ECS address decides even when private: the client is unknown, not at its resolver's place
// (docs/dns-behaviour.md#unlocatable-and-private-ecs-addresses)
test('--subnet with a private address: the client is unknown, regions in written order, scope the source prefix', async (t) => {
  const r = await explainCli(['app.example.test', '--from', '81.2.69.142', '--subnet', '10.1.2.0/24', '--offline']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^client: +10\.1\.2\.0 \(EDNS client subnet\)$/m);
  t.regex(r.stdout, /^located: nowhere known at no coordinates$/m);
  t.regex(r.stdout, /^source: +unknown \(a private address, 10\.1\.2\.0\/24, in no overlay network\): regions in written order$/m);
  t.deepEqual(chosen(r.stdout), ['us-east']);
  t.regex(r.stdout, /^response: NOERROR, authoritative, ECS scope \/24$/m);
  const j = JSON.parse(
    (await explainCli(['app.example.test', '--from', '81.2.69.142', '--subnet', '10.1.2.0/24', '--offline', '--json'])).stdout,
  ) as {
    client: { via: string; source: string; unlocated: string | null; ecsIgnored: string | null };
    answer: { ecsScope: number };
  };
  t.like(j.client, { via: 'ecs', source: 'unknown', unlocated: 'private address', ecsIgnored: null });
  t.is(j.answer.ecsScope, 24);
});

test('--subnet with geoip.ecs: false: the source address decides, and the response has no ECS option (as the server answers)', async (t) => {
  const cfg = repoConfigCopy('127.0.0.1:1');
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace(/^( +)ecs: true\b.*$/m, '$1ecs: false'));
  t.regex(readFileSync(cfg, 'utf8'), /^ +ecs: false$/m);
  const r = await explainCli(['app.example.test', '--from', '81.2.69.142', '--subnet', '216.160.83.0/24', '-c', cfg, '--offline']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^client: +81\.2\.69\.142 \(query source address\); client subnet ignored: geoip\.ecs is off$/m);
  t.deepEqual(chosen(r.stdout), ['eu-west']);
  t.regex(r.stdout, /^response: NOERROR, authoritative, no ECS option \(geoip\.ecs is off\)$/m);
});

test('bad inputs exit non-zero with a clear message', async (t) => {
  const cases: { args: string[]; msg: RegExp }[] = [
    { args: ['app.example.test', '--from', 'nope'], msg: /--from "nope" is not an IP address/ },
    { args: ['app.example.test', 'BOGUS', '--from', '81.2.69.142'], msg: /unknown record type "BOGUS"/ },
    { args: ['app.example.test', '--from', '81.2.69.142', '--subnet', '81.2.69.0/40'], msg: /--subnet/ },
    { args: ['bad..name', '--from', '81.2.69.142'], msg: /is not a domain name/ },
    { args: ['app.example.test'], msg: /--from IP (are|is) required/ },
  ];
  for (const c of cases) {
    const r = await explainCli([...c.args, '--offline']);
    t.not(r.code, 0, `${c.args.join(' ')}: ${r.stdout}`);
    t.regex(r.stderr, c.msg, c.args.join(' '));
    t.is(r.stdout, '', c.args.join(' '));
  }
});

// ---- a running server: explain shows live health -------------------------------------------------

const ZONE = `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, minimum: 60, serial: 1 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  app:
    pool:
      ttl: 30
      check: { type: none }
      regions:
        us-east: [192.0.2.10, 192.0.2.11, "2001:db8:1::10"]
        eu-west: [198.51.100.10, 198.51.100.11]
        ap-south: [203.0.113.10]
`;

const SERVER_CONFIG = `
listen: ["127.0.0.1:0"]
zones: ./zones
http: "127.0.0.1:0"
regions:
  us-east:  { location: [39.0, -77.5] }
  eu-west:  { location: [53.3, -6.3] }
  ap-south: { location: [19.1, 72.9] }
log: { level: info }
`;

let live: TestServer;
let liveConfig = '';

test.before(async () => {
  live = await startServer({ 'example.test.yaml': ZONE }, SERVER_CONFIG);
  // a config for the CLI naming the running server's zones and its HTTP port
  const dir = temp();
  liveConfig = join(dir, 'steerdns.yaml');
  const liveText = SERVER_CONFIG.replace('zones: ./zones', `zones: ${JSON.stringify(join(live.dir, 'zones'))}`).replace(
    'http: "127.0.0.1:0"',
    `http: "127.0.0.1:${live.server.httpPort}"`,
  );
  writeFileSync(liveConfig, `${liveText}state_dir: ${JSON.stringify(join(dir, 'state'))}\n`);
  const eu = live.server.snapshot.zones.get('example.test')!.pools[0]!.regions.find((r) => r.name === 'eu-west')!;
  live.server.health.set(eu.targets.find((x) => x.address === '198.51.100.10')!.healthKey, { up: false, lastResult: 'status 503' });
});

test.after.always(async () => {
  await live?.stop();
});

test.serial('against a running server: live health, the down target shown unhealthy and left out of the answer', async (t) => {
  const r = await explainCli(['app.example.test', '--from', '81.2.69.142', '-c', liveConfig]);
  t.is(r.code, 0, r.stderr);
  const out = r.stdout;
  t.regex(out, new RegExp(`^health: +live, from the running server at 127\\.0\\.0\\.1:${live.server.httpPort}$`, 'm'));
  t.regex(out, /^located: GB\b/m);
  t.deepEqual(chosen(out), ['eu-west']);
  t.regex(regionLines(out)[0]!, /^\s+1\. eu-west\s+[\d,]+ km\s+healthy 1\/2 \(needs 1\) qualifies\s+← chosen$/);
  t.regex(out, /^ {2}answer: +198\.51\.100\.11 \(reason nearest, ttl 15, halved/m);
  t.regex(out, /^ {2}app\.example\.test\. 15 IN A 198\.51\.100\.11$/m);
  t.notRegex(out, /IN A 198\.51\.100\.10$/m);

  // the same config offline: configured states, every probed target counted up
  const off = await explainCli(['app.example.test', '--from', '81.2.69.142', '-c', liveConfig, '--offline']);
  t.is(off.code, 0, off.stderr);
  t.regex(off.stdout, /^health: +configured states \(--offline\)/m);
  t.regex(regionLines(off.stdout)[0]!, /eu-west .*healthy 2\/2/);
  t.regex(off.stdout, /^ {2}app\.example\.test\. 30 IN A 198\.51\.100\.10$/m);

  // --json from the live server
  const j = JSON.parse((await explainCli(['app.example.test', '--from', '81.2.69.142', '-c', liveConfig, '--json'])).stdout) as {
    health: string;
    client: { country: string };
    pools: { chosen: string; answer: string[]; regions: { name: string; healthy: number; total: number }[] }[];
  };
  t.is(j.health, 'live');
  t.is(j.client.country, 'GB');
  t.is(j.pools[0]!.chosen, 'eu-west');
  t.deepEqual(j.pools[0]!.answer, ['198.51.100.11']);
  t.like(
    j.pools[0]!.regions.find((x) => x.name === 'eu-west'),
    { healthy: 1, total: 2 },
  );

  // a bad input through the live path: the server's 400 message, non-zero exit
  const bad = await explainCli(['app.example.test', '--from', 'nope', '-c', liveConfig]);
  t.not(bad.code, 0);
  t.regex(bad.stderr, /--from "nope" is not an IP address/);
});

test.serial('GET /explain: 200 with the JSON; 400 on missing or bad parameters', async (t) => {
  const base = `http://127.0.0.1:${live.server.httpPort}/explain`;
  const ok = await fetch(`${base}?name=app.example.test&type=A&from=81.2.69.142`);
  t.is(ok.status, 200);
  t.regex(ok.headers.get('content-type') ?? '', /application\/json/);
  const j = (await ok.json()) as {
    health: string;
    query: { name: string; type: string };
    client: { country: string; source: string };
    pools: { chosen: string }[];
    answer: { rcode: string; answer: string[] };
  };
  t.is(j.health, 'live');
  t.deepEqual(j.query, { name: 'app.example.test', type: 'A', from: '81.2.69.142', subnet: null });
  t.is(j.client.country, 'GB');
  t.is(j.client.source, 'coarse');
  t.is(j.pools[0]!.chosen, 'eu-west');
  t.is(j.answer.rcode, 'NOERROR');
  t.deepEqual(j.answer.answer, ['app.example.test. 15 IN A 198.51.100.11']);

  const withSubnet = (await (await fetch(`${base}?name=app.example.test&type=AAAA&from=127.0.0.1&subnet=216.160.83.0/24`)).json()) as {
    client: { via: string; country: string };
    pools: { chosen: string }[];
    answer: { ecsScope: number };
  };
  t.is(withSubnet.client.via, 'ecs');
  t.is(withSubnet.client.country, 'US');
  t.is(withSubnet.pools[0]!.chosen, 'us-east');
  t.true(withSubnet.answer.ecsScope > 0);

  for (const q of [
    '?from=81.2.69.142',
    '?name=app.example.test',
    '',
    '?name=app.example.test&from=nope',
    '?name=app.example.test&from=81.2.69.142&type=BOGUS',
  ]) {
    const res = await fetch(`${base}${q}`);
    t.is(res.status, 400, q);
    const body = (await res.json()) as { error: string };
    t.is(typeof body.error, 'string', q);
    t.true(body.error.length > 0, q);
  }
});
