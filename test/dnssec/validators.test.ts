// Real validators judge the answers steerdns signs online (docs/configuration.md#dnssec, RFC 4033–4035,
// compact denial RFC 9824): BIND's delv with the zone's trust anchor (the DS `steerdns keygen` prints), Unbound
// as a validating resolver with stub zones to steerdns on loopback, and DNSViz. Every tool is checked against
// the prerequisites table (tools/test-prereqs.mjs) first: a missing one fails, it is never skipped.
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { loadKey } from '../../src/dnssec/keys.js';
import { verifyRRset } from '../../src/dnssec/rrsig.js';
import { nameWire } from '../../src/dnssec/wire.js';
import { ipToBytes } from '../../src/net/address.js';
import { ROOT, runCli, startServer, type TestServer, tempDir } from '../helpers/server.js';

const PREREQS = readFileSync(join(ROOT, 'tools', 'test-prereqs.mjs'), 'utf8');

/** The tool is in the prerequisites table and on the PATH (npm test installs it; a missing one fails the test). */
function requireTool(t: ExecutionContext, command: string): void {
  t.true(PREREQS.includes(`command: '${command}'`), `${command} is not in tools/test-prereqs.mjs`);
  const found = spawnSync('/bin/sh', ['-c', `command -v ${command}`]).status === 0;
  t.true(found, `${command} is not installed: run node tools/test-prereqs.mjs as root`);
}

/** Runs a tool without blocking (the server answers in this process), to its end. */
function run(command: string, args: string[], timeout = 30_000): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { encoding: 'utf8', timeout, maxBuffer: 64 << 20 }, (e, stdout, stderr) => {
      const status = e ? (typeof e.code === 'number' ? e.code : null) : 0;
      resolve({ status, out: `${stdout ?? ''}${stderr ?? ''}` });
    });
  });
}

const POOL = (regions: string) => `
    pool:
      ttl: 30
      check: { type: none }
      regions:
${regions}`;

const BIG_TXT = Array.from({ length: 4 }, (_, i) => `"${String(i).repeat(230)}"`).join(', ');

const SIGNED_ZONE = `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, refresh: 7200, retry: 3600, expire: 1209600, minimum: 60, serial: 1 }
records:
  "@":
    NS: [ns1]
    MX: [{ preference: 10, exchange: mail }]
    TXT: ["v=spf1 -all"]
  ns1: { A: 192.0.2.53 }
  mail: { A: 192.0.2.25 }
  www: { CNAME: app }
  "*.wild": { A: 192.0.2.80, TXT: ["wildcard"] }
  host.ent: { A: 192.0.2.7 }
  sub: { NS: [ns.sub.example.test.] }
  ns.sub: { A: 192.0.2.99 }
  ext: { NS: [ns.ext.example.test.] }
  ns.ext: { A: 192.0.2.98 }
  big: { TXT: [${BIG_TXT}] }
  app:${POOL(`        us-east: [192.0.2.10, 192.0.2.11]
        eu-west: [198.51.100.10]
        ap-south: [203.0.113.10, "2001:db8:3::10"]`)}
  v4only:${POOL('        us-east: [192.0.2.30]')}
  rr:${POOL('        us-east: [192.0.2.21, 192.0.2.22, 192.0.2.23]')}
`;

/** The delegated child, served unsigned by the same server: its delegation is proven insecure by the parent. */
const CHILD_ZONE = `
origin: sub.example.test
ttl: 3600
soa: { ns: ns.sub.example.test., email: hostmaster@example.test, serial: 1 }
records:
  "@": { NS: [ns] }
  ns: { A: 192.0.2.99 }
  host: { A: 192.0.2.77 }
`;

const OTHER_ZONE = `
origin: other.test
ttl: 3600
soa: { ns: ns1.other.test., email: hostmaster@other.test, serial: 1 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  www: { A: 192.0.2.60 }
`;

/** ECS subnets (RFC 7871) placed in each region by geoip.networks, and the answer each region gives. */
const SUBNETS = [
  { subnet: '10.1.0.0/24', region: 'us-east', v4: ['192.0.2.10', '192.0.2.11'] },
  { subnet: '10.2.0.0/24', region: 'eu-west', v4: ['198.51.100.10'] },
  { subnet: '10.3.0.0/24', region: 'ap-south', v4: ['203.0.113.10'] },
];

function config(keys: Record<string, string[] | string>, extra = ''): string {
  const dnssec = Object.entries(keys)
    .map(([zone, k]) => `  ${zone}:\n    keys: ${typeof k === 'string' ? k : JSON.stringify(k)}`)
    .join('\n');
  return `
listen: ["127.0.0.1:0"]
zones: ./zones
regions:
  us-east:  { location: [39.0, -77.5] }
  eu-west:  { location: [53.3, -6.3] }
  ap-south: { location: [19.1, 72.9] }
geoip:
  ecs: true
  networks:
    "127.0.0.0/8": { region: us-east }
${SUBNETS.map((s) => `    "${s.subnet.replace('/24', '/16')}": { region: ${s.region} }`).join('\n')}
dnssec:
${dnssec}
log: { level: info }
${extra}`;
}

interface Keygen {
  base: string;
  ds: string;
}

async function keygen(dir: string, zone: string, algorithm = '13'): Promise<Keygen> {
  const r = await runCli(['keygen', zone, '--algorithm', algorithm, '--dir', dir], dir);
  if (r.code !== 0) throw new Error(`keygen failed: ${r.stderr}`);
  const [base, ds] = r.stdout.trim().split('\n');
  return { base: base!, ds: ds! };
}

/** A delv trust anchor file (BIND's trust-anchors statement) holding the DS lines given. */
function anchorFile(dir: string, name: string, ds: string[]): string {
  const lines = ds.map((d) => {
    const [owner, , , tag, alg, digestType, digest] = d.split(/\s+/);
    return `  ${owner} static-ds ${tag} ${alg} ${digestType} "${digest}";`;
  });
  const file = join(dir, name);
  writeFileSync(file, `trust-anchors {\n${lines.join('\n')}\n};\n`);
  return file;
}

async function delv(port: number, anchor: string, zone: string, name: string, type: string): Promise<string> {
  return (await run('delv', ['@127.0.0.1', '-p', String(port), '-a', anchor, `+root=${zone}`, name, type])).out;
}

interface Fixture {
  s: TestServer;
  dir: string;
  key: Keygen;
  anchor: string;
}

let fx: Fixture;

test.before(async () => {
  const dir = tempDir('steerdns-validators-');
  const key = await keygen(dir, 'example.test');
  const other = await keygen(dir, 'other.test');
  const s = await startServer(
    { 'example.test.yaml': SIGNED_ZONE, 'sub.example.test.yaml': CHILD_ZONE, 'other.test.yaml': OTHER_ZONE },
    config({ 'example.test': [key.base], 'other.test': [other.base] }),
  );
  fx = { s, dir, key, anchor: anchorFile(dir, 'anchor.conf', [key.ds]) };
});

test.after.always(async () => {
  await fx?.s.stop();
});

/** What each name must be, as delv reports it. */
const DELV_CASES: { name: string; type: string; expect: RegExp; what: string }[] = [
  { name: 'example.test', type: 'DNSKEY', expect: /^; fully validated/m, what: 'the apex DNSKEY RRset' },
  { name: 'example.test', type: 'CDS', expect: /^; fully validated/m, what: 'CDS of the active key (RFC 7344)' },
  { name: 'example.test', type: 'CDNSKEY', expect: /^; fully validated/m, what: 'CDNSKEY of the active key (RFC 8078)' },
  { name: 'example.test', type: 'MX', expect: /^; fully validated/m, what: 'a static RRset' },
  { name: 'mail.example.test', type: 'A', expect: /^; fully validated/m, what: 'a static name' },
  { name: 'www.example.test', type: 'A', expect: /^; fully validated/m, what: 'a CNAME to a pool: every RRset signed' },
  { name: 'app.example.test', type: 'A', expect: /^; fully validated/m, what: 'a GSLB pool name' },
  { name: 'x.y.wild.example.test', type: 'A', expect: /^; fully validated/m, what: 'a wildcard answer, with its proof' },
  { name: 'x.wild.example.test', type: 'TXT', expect: /^; fully validated/m, what: 'a wildcard answer of another type' },
  { name: 'x.wild.example.test', type: 'MX', expect: /^; negative response, fully validated/m, what: 'NODATA at a wildcard' },
  { name: 'nx.example.test', type: 'A', expect: /^; negative response, fully validated/m, what: 'a name that does not exist' },
  { name: 'a.b.nx.example.test', type: 'AAAA', expect: /^; negative response, fully validated/m, what: 'below a missing name' },
  { name: 'mail.example.test', type: 'TXT', expect: /^; negative response, fully validated/m, what: 'NODATA' },
  { name: 'ent.example.test', type: 'A', expect: /^; negative response, fully validated/m, what: 'an empty non-terminal' },
  {
    name: 'app.example.test',
    type: 'AAAA',
    expect: /^; negative response, fully validated/m,
    what: 'AAAA at a pool with none in this client’s region',
  },
  { name: 'v4only.example.test', type: 'AAAA', expect: /^; negative response, fully validated/m, what: 'AAAA at an IPv4-only pool' },
  { name: 'sub.example.test', type: 'DS', expect: /^; negative response, fully validated/m, what: 'no DS at the cut' },
  { name: 'ext.example.test', type: 'DS', expect: /^; negative response, fully validated/m, what: 'no DS at a cut served elsewhere' },
  { name: 'host.sub.example.test', type: 'A', expect: /^; unsigned answer/m, what: 'below an insecure delegation' },
];

test('delv with the trust anchor of keygen’s DS: static names, a CNAME to a pool, wildcards, NXDOMAIN, NODATA, an empty non-terminal, an IPv4-only pool asked AAAA and an insecure delegation all validate', async (t) => {
  requireTool(t, 'delv');
  for (const c of DELV_CASES) {
    const out = await delv(fx.s.port, fx.anchor, 'example.test', c.name, c.type);
    t.regex(out, c.expect, `${c.what}: ${c.name} ${c.type}\n${out}`);
  }
});

test('a wildcard answer carries the wildcard’s label count (RFC 4034 §3.1.3) and an NSEC covering the next closer name, naming no record of the zone', async (t) => {
  requireTool(t, 'dig');
  const out = (await run('dig', ['@127.0.0.1', '-p', String(fx.s.port), '+dnssec', '+norec', 'x.y.wild.example.test', 'A'])).out;
  t.regex(out, /x\.y\.wild\.example\.test\.\s+\d+\s+IN\s+RRSIG\s+A 13 3 /, out);
  // the proof covers y.wild.example.test (the next closer name): from just before it to just past its subtree
  t.regex(out, /x\\255\.wild\.example\.test\.\s+\d+\s+IN\s+NSEC\s+y\\000\.wild\.example\.test\. RRSIG NSEC/, out);
});

test('compact denial (RFC 9824): NXDOMAIN is NOERROR with one NSEC at the name (RRSIG NSEC NXNAME), its next name the immediate successor', async (t) => {
  const out = (await run('dig', ['@127.0.0.1', '-p', String(fx.s.port), '+dnssec', '+norec', 'nx.example.test', 'A'])).out;
  t.regex(out, /status: NOERROR/, out);
  t.regex(out, /nx\.example\.test\.\s+60\s+IN\s+NSEC\s+\\000\.nx\.example\.test\. RRSIG NSEC TYPE128/, out);
  t.regex(out, /example\.test\.\s+60\s+IN\s+RRSIG\s+SOA 13 2 /, out);
  // NODATA at a pool lists the families it answers; at the cut NS and no DS
  const pool = (await run('dig', ['@127.0.0.1', '-p', String(fx.s.port), '+dnssec', '+norec', 'v4only.example.test', 'AAAA'])).out;
  t.regex(pool, /v4only\.example\.test\.\s+30\s+IN\s+NSEC\s+\\000\.v4only\.example\.test\. A RRSIG NSEC/, pool);
  const cut = (await run('dig', ['@127.0.0.1', '-p', String(fx.s.port), '+dnssec', '+norec', 'host.ext.example.test', 'A'])).out;
  t.regex(cut, /ext\.example\.test\.\s+\d+\s+IN\s+NSEC\s+\\000\.ext\.example\.test\. NS RRSIG NSEC/, cut);
  t.notRegex(cut, /RRSIG\s+NS /, 'the NS of a delegation is not signed by the parent');
  t.notRegex(cut, /RRSIG\s+A /, 'glue is never signed');
});

test('a GSLB pool from three client subnets (ECS, RFC 7871): each region’s answer signed, the scope echoed, every RRSIG valid under the project’s verifier', async (t) => {
  requireTool(t, 'dig');
  const key = loadKey(fx.key.base, false);
  const seen = new Set<string>();
  for (const c of SUBNETS) {
    const out = (
      await run('dig', ['@127.0.0.1', '-p', String(fx.s.port), '+dnssec', '+norec', `+subnet=${c.subnet}`, 'app.example.test', 'A'])
    ).out;
    t.regex(out, /CLIENT-SUBNET: 10\.\d\.0\.0\/24\/16/, out);
    const addresses = [...out.matchAll(/^app\.example\.test\.\s+30\s+IN\s+A\s+(\S+)$/gm)].map((m) => m[1]!).sort();
    t.deepEqual(addresses, c.v4, out);
    const sig = /^app\.example\.test\.\s+30\s+IN\s+RRSIG\s+(.+)$/m.exec(out);
    t.truthy(sig, out);
    const rrsig = rrsigWire(sig![1]!);
    const set = { owner: 'app.example.test', type: 1, class: 1, rdata: addresses.map((a) => Buffer.from(ipToBytes(a)!)) };
    t.is(verifyRRset(set, rrsig, key, Date.now() / 1000), null, `${c.region}: ${out}`);
    seen.add(rrsig.toString('hex'));
  }
  t.is(seen.size, 3, 'each region’s set has its own signature');
});

/** A parent with a signed delegation (DS at the cut) and a pool, the child signed by its own key, and the HTTP API. */
const DELEGATING_ZONE = (ds: string) => `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, minimum: 60, serial: 1 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  secure: { NS: [ns.secure.example.test.], DS: "${ds}" }
  ns.secure: { A: 192.0.2.97 }
  far: { NS: [ns.far.example.test.], DS: "${ds}" }
  ns.far: { A: 192.0.2.96 }
  app:${POOL(`        us-east: [192.0.2.10, 192.0.2.11]
        eu-west: [198.51.100.10]
        ap-south: [203.0.113.10, "2001:db8:3::10"]`)}
`;

const SECURE_CHILD = `
origin: secure.example.test
ttl: 3600
soa: { ns: ns.secure.example.test., email: hostmaster@example.test, serial: 1 }
records:
  "@": { NS: [ns] }
  ns: { A: 192.0.2.97 }
  host: { A: 192.0.2.78 }
`;

test('a secure delegation (the DS signed at the cut) and a region drained by a runtime override validate under delv', async (t) => {
  requireTool(t, 'delv');
  const dir = tempDir('steerdns-validators-drain-');
  const parent = await keygen(dir, 'example.test');
  const child = await keygen(dir, 'secure.example.test');
  const token = join(dir, 'api.token');
  writeFileSync(token, 'Zq8wTn3LpX0vR7sKd2Jm\n', { mode: 0o600 });
  const s = await startServer(
    { 'example.test.yaml': DELEGATING_ZONE(child.ds.split(/\s+/).slice(3).join(' ')), 'secure.example.test.yaml': SECURE_CHILD },
    config({ 'example.test': [parent.base], 'secure.example.test': [child.base] }, `http: { listen: "127.0.0.1:0", token_file: ${token} }`),
  );
  t.teardown(() => s.stop());
  const anchor = anchorFile(dir, 'anchor.conf', [parent.ds]);
  const ask = (name: string, type: string) => delv(s.port, anchor, 'example.test', name, type);
  // a referral's DS is signed by the parent; the child's answers validate through it
  t.regex(await ask('secure.example.test', 'DS'), /^; fully validated/m);
  const host = await ask('host.secure.example.test', 'A');
  t.regex(host, /^; fully validated/m, host);
  t.regex(host, /192\.0\.2\.78/, host);
  // a referral to a child served elsewhere: the DS and its RRSIG in the authority section, the NS and glue unsigned
  const far = (await run('dig', ['@127.0.0.1', '-p', String(s.port), '+dnssec', '+norec', 'www.far.example.test', 'A'])).out;
  t.regex(far, /^far\.example\.test\.\s+\d+\s+IN\s+DS\s+/m, far);
  t.regex(far, /^far\.example\.test\.\s+\d+\s+IN\s+RRSIG\s+DS 13 3 /m, far);
  t.notRegex(far, /RRSIG\s+(NS|A) /, far);
  t.notRegex(far, /IN\s+NSEC\s/, far);
  // loopback clients are in us-east: drain it, and the pool's answer (another region's) is signed anew
  t.regex(await ask('app.example.test', 'A'), /192\.0\.2\.10/);
  const r = await fetch(`http://127.0.0.1:${s.server.httpPort}/overrides`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer Zq8wTn3LpX0vR7sKd2Jm' },
    body: JSON.stringify({ action: 'drain', zone: 'example.test', pool: 'app', region: 'us-east', for: '30m', reason: 'validators' }),
    signal: AbortSignal.timeout(5000),
  });
  t.is(r.status, 201, await r.text());
  const drained = await ask('app.example.test', 'A');
  t.regex(drained, /^; fully validated/m, drained);
  t.regex(drained, /198\.51\.100\.10/, drained);
  t.notRegex(drained, /192\.0\.2\.1[01]/, drained);
  // the drained region's answer has no AAAA: a NODATA that validates
  t.regex(await ask('app.example.test', 'AAAA'), /^; negative response, fully validated/m);
});

/** RRSIG RDATA from dig's presentation form (one line: type alg labels ttl exp inc tag signer base64...). */
function rrsigWire(text: string): Buffer {
  const [, alg, labels, ttl, exp, inc, tag, signer, ...sig] = text.trim().split(/\s+/);
  const time = (s: string) =>
    Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(8, 10), +s.slice(10, 12), +s.slice(12, 14)) / 1000;
  const head = Buffer.alloc(18);
  head.writeUInt16BE(1, 0);
  head[2] = Number(alg);
  head[3] = Number(labels);
  head.writeUInt32BE(Number(ttl), 4);
  head.writeUInt32BE(time(exp!), 8);
  head.writeUInt32BE(time(inc!), 12);
  head.writeUInt16BE(Number(tag), 16);
  return Buffer.concat([head, nameWire(signer!), Buffer.from(sig.join(''), 'base64')]);
}

// ---- Unbound, a validating resolver -------------------------------------------------------------

/** A free UDP/TCP port on loopback (bound and released at once). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

interface Unbound {
  port: number;
  proc: ChildProcess;
}

/** Unbound with stub zones to steerdns and trust anchors given as DS lines, in its own folder; killed by PID at the end. */
async function startUnbound(t: ExecutionContext, upstream: number, anchors: string[], zones: string[]): Promise<Unbound> {
  const dir = tempDir('steerdns-unbound-');
  const port = await freePort();
  const conf = join(dir, 'unbound.conf');
  writeFileSync(
    conf,
    `server:
  interface: 127.0.0.1
  port: ${port}
  username: ""
  chroot: ""
  directory: "${dir}"
  pidfile: ""
  use-syslog: no
  logfile: ""
  verbosity: 0
  do-not-query-localhost: no
  access-control: 127.0.0.0/8 allow
  local-zone: "test." nodefault
  module-config: "subnetcache validator iterator"
  send-client-subnet: 127.0.0.1
  root-hints: ""
  target-fetch-policy: "0 0 0 0 0"
  harden-referral-path: no
${anchors.map((a) => `  trust-anchor: "${a}"`).join('\n')}
remote-control:
  control-enable: no
${zones.map((z) => `stub-zone:\n  name: "${z}"\n  stub-addr: 127.0.0.1@${upstream}`).join('\n')}
`,
  );
  const proc = spawn('unbound', ['-d', '-c', conf], { stdio: 'ignore' });
  t.teardown(() => {
    if (proc.exitCode === null && proc.pid) process.kill(proc.pid, 'SIGTERM');
  });
  for (let i = 0; i < 50; i++) {
    if ((await run('dig', ['@127.0.0.1', '-p', String(port), '+time=1', '+tries=1', 'example.test', 'SOA'])).out.includes('status:')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, proc };
}

async function resolve(u: Unbound, name: string, type: string, extra: string[] = []): Promise<string> {
  return (await run('dig', ['@127.0.0.1', '-p', String(u.port), '+dnssec', '+time=5', '+tries=1', ...extra, name, type])).out;
}

test('Unbound with the trust anchor from keygen’s DS answers AD=1 (insecure below the delegation: no AD, no SERVFAIL), and SERVFAIL for a zone signed with a key it does not trust', async (t) => {
  requireTool(t, 'unbound');
  const untrusted = await keygen(fx.dir, 'other.test'); // a key of other.test that the server does not sign with
  const u = await startUnbound(t, fx.s.port, [fx.key.ds, untrusted.ds], ['example.test', 'sub.example.test', 'other.test']);
  for (const c of DELV_CASES) {
    const out = await resolve(u, c.name, c.type);
    if (c.name === 'host.sub.example.test') {
      t.regex(out, /status: NOERROR/, out);
      t.notRegex(out, /flags:[^;]* ad/, `insecure: ${out}`);
      continue;
    }
    t.regex(out, /status: NOERROR/, `${c.what}: ${out}`);
    t.regex(out, /flags:[^;]* ad[ ;]/, `${c.what}: ${c.name} ${c.type}\n${out}`);
  }
  for (const c of SUBNETS) {
    const out = await resolve(u, 'app.example.test', 'A', [`+subnet=${c.subnet}`]);
    t.regex(out, /flags:[^;]* ad[ ;]/, `${c.region}: ${out}`);
    t.regex(out, new RegExp(`IN\\s+A\\s+${c.v4[0]!.replaceAll('.', '\\.')}`), `${c.region}: ${out}`);
  }
  t.regex(await resolve(u, 'www.other.test', 'A'), /status: SERVFAIL/);
});

// Debian 12's dnsviz 0.9.4 looks for `pygraphviz.release`, which its python3-pygraphviz 1.7 no longer has, and
// then refuses to grok: the module is supplied from pygraphviz's own version before dnsviz runs.
const GROK = `import sys, types, pygraphviz
m = types.ModuleType('pygraphviz.release'); m.version = pygraphviz.__version__
sys.modules['pygraphviz.release'] = m; pygraphviz.release = m
sys.argv = ['dnsviz'] + sys.argv[1:]
exec(compile(open('/usr/bin/dnsviz').read(), '/usr/bin/dnsviz', 'exec'))`;

test('dnsviz probe and grok with the trust anchor report no errors or warnings, every RRset SECURE', async (t) => {
  requireTool(t, 'dnsviz');
  const probe = join(fx.dir, 'probe.json');
  const names = ['example.test', 'x.y.wild.example.test', 'www.example.test', 'sub.example.test'];
  const server = `127.0.0.1:${fx.s.port}`;
  const p = await run(
    'dnsviz',
    ['probe', '-A', '-t', '4', '-x', `example.test+:${server}`, '-x', `sub.example.test+:${server}`, '-o', probe, ...names],
    180_000,
  );
  t.is(p.status, 0, p.out);
  const ta = join(fx.dir, 'ta.txt');
  writeFileSync(ta, readFileSync(`${fx.key.base}.key`, 'utf8'));
  // -P: the servers are on loopback; -l warning prints only the names with a warning or an error
  const issues = await run('/usr/bin/python3', ['-c', GROK, 'grok', '-P', '-t', ta, '-l', 'warning', '-r', probe], 60_000);
  t.is(issues.status, 0, issues.out);
  t.is(issues.out.trim(), '', issues.out.slice(0, 4000));
  // the full status of the signed names (dnsviz 0.9.4 fails serializing the unsigned child's SOA at this level)
  const out = join(fx.dir, 'grok.json');
  const all = await run('/usr/bin/python3', ['-c', GROK, 'grok', '-P', '-t', ta, '-r', probe, '-o', out, ...names.slice(0, 3)], 60_000);
  t.is(all.status, 0, all.out);
  const text = readFileSync(out, 'utf8');
  const report = JSON.parse(text) as Record<string, { status: string; zone?: { status: string } }>;
  t.is(report['example.test.']?.zone?.status, 'SECURE', text.slice(0, 2000));
  t.notRegex(text, /"status": "(BOGUS|INSECURE|INVALID|INDETERMINATE)"/);
});
