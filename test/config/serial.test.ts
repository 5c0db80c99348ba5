// Automatic SOA serials (docs/zone-format.md#automatic-serials): max(previous + 1, Unix time) whenever the
// parsed records change, kept in state_dir so a restart never goes back; an explicit `serial:` wins. Unit tests
// of SerialStore, then the serial a real server answers for SOA queries across reloads and restarts.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { pino } from 'pino';
import { SerialStore, serialGreater } from '../../src/config/serial.js';
import { Server } from '../../src/server.js';
import { BASE_CONFIG, execFileP, query, ROOT, startServer, tempDir, udp, writeFixture } from '../helpers/server.js';
import { heldStill, poll } from '../operate/helpers.js';

const now = () => Math.floor(Date.now() / 1000);

function stateDir(t: { teardown(fn: () => void): void }): string {
  const dir = tempDir('steerdns-serial-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('SerialStore: the first serial is at least the current Unix time', (t) => {
  const before = now();
  const s = new SerialStore(stateDir(t));
  const serial = s.serialFor('example.test', 'hash-1');
  t.true(serial >= before, `${serial} >= ${before}`);
  t.true(serial <= now() + 1);
});

test('SerialStore: unchanged content keeps its serial, even much later', (t) => {
  const s = new SerialStore(stateDir(t));
  const first = s.serialFor('example.test', 'hash-1', 1_700_000_000);
  t.is(first, 1_700_000_000);
  t.is(s.serialFor('example.test', 'hash-1', 1_700_000_500), first);
  t.is(s.serialFor('example.test', 'hash-1', 1_800_000_000), first);
});

test('SerialStore: a change moves the serial to max(previous + 1, now)', (t) => {
  const s = new SerialStore(stateDir(t));
  t.is(s.serialFor('example.test', 'h1', 1000), 1000);
  t.is(s.serialFor('example.test', 'h2', 1000), 1001, 'same second: previous + 1');
  t.is(s.serialFor('example.test', 'h3', 900), 1002, 'clock behind: previous + 1');
  t.is(s.serialFor('example.test', 'h4', 5000), 5000, 'clock ahead: now');
  t.is(s.serialFor('example.test', 'h1', 5000), 5001, 'going back to old content is a change too');
});

test('SerialStore: zones are independent; the root zone has a key', (t) => {
  const dir = stateDir(t);
  const s = new SerialStore(dir);
  t.is(s.serialFor('a.test', 'x', 100), 100);
  t.is(s.serialFor('b.test', 'x', 200), 200);
  t.is(s.serialFor('', 'x', 300), 300);
  t.is(s.serialFor('a.test', 'x', 400), 100);
  const saved = JSON.parse(readFileSync(join(dir, 'serials.json'), 'utf8')) as Record<string, { serial: number }>;
  t.deepEqual(Object.keys(saved).sort(), ['.', 'a.test', 'b.test']);
  t.is(saved['.']!.serial, 300);
});

test('SerialStore: state survives a restart, which never goes back even with the clock behind', (t) => {
  const dir = join(stateDir(t), 'nested', 'state');
  const a = new SerialStore(dir);
  t.is(a.serialFor('example.test', 'h1', 2_000_000_000), 2_000_000_000);
  t.true(existsSync(join(dir, 'serials.json')), 'state_dir is created');
  const b = new SerialStore(dir);
  t.is(b.serialFor('example.test', 'h1', 1_000_000_000), 2_000_000_000, 'unchanged: same serial after restart');
  t.is(b.serialFor('example.test', 'h2', 1_000_000_000), 2_000_000_001, 'changed with the clock behind: previous + 1');
  const c = new SerialStore(dir);
  t.is(c.serialFor('example.test', 'h2', 1), 2_000_000_001);
  t.is(c.lastError, null);
});

test('SerialStore: writable=false computes serials without saving them', (t) => {
  const dir = join(stateDir(t), 'state');
  const ro = new SerialStore(dir, false);
  t.is(ro.serialFor('example.test', 'h1', 1000), 1000);
  t.is(ro.serialFor('example.test', 'h2', 1000), 1001);
  t.false(existsSync(dir));
});

test('SerialStore: unreadable or corrupt state starts fresh; unwritable state is reported, not fatal', (t) => {
  const dir = stateDir(t);
  writeFileSync(join(dir, 'serials.json'), '{ not json');
  const s = new SerialStore(dir);
  t.is(s.serialFor('example.test', 'h1', 1000), 1000);
  writeFileSync(
    join(dir, 'serials.json'),
    JSON.stringify({ 'example.test': { hash: 'h1', serial: 'x' }, 'b.test': { hash: 'h', serial: 7 } }),
  );
  const s2 = new SerialStore(dir);
  t.is(s2.serialFor('example.test', 'h1', 1000), 1000, 'a malformed entry is ignored');
  t.is(s2.serialFor('b.test', 'h', 1000), 7, 'a well-formed entry is kept');

  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  const broken = new SerialStore(join(file, 'state'));
  t.is(broken.serialFor('example.test', 'h1', 1000), 1000);
  t.regex(broken.lastError ?? '', /^cannot save automatic serials in .*serials\.json: /);
});

test('SerialStore: at 2^32 - 1 the serial wraps forward in RFC 1982 arithmetic instead of sticking', (t) => {
  const dir = stateDir(t);
  writeFileSync(join(dir, 'serials.json'), JSON.stringify({ 'example.test': { hash: 'h1', serial: 4_294_967_295 } }));
  const s = new SerialStore(dir);
  const next = s.serialFor('example.test', 'h2', 1000);
  t.is(next, 1000);
  t.true(serialGreater(next, 4_294_967_295), 'secondaries see it as newer');
  // and with a clock behind, the step is + 1 with wrap-around
  writeFileSync(join(dir, 'serials.json'), JSON.stringify({ 'example.test': { hash: 'h1', serial: 4_294_967_295 } }));
  t.is(new SerialStore(dir).serialFor('example.test', 'h3', 4_294_967_000), 0);
});

test('SerialStore: dropping an explicit serial continues above it, never below', (t) => {
  const dir = stateDir(t);
  const s = new SerialStore(dir);
  t.is(s.serialFor('example.test', 'h1', 1_795_700_000), 1_795_700_000);
  s.recordExplicit('example.test', 2_026_112_601, 'h1'); // a date-style serial, above Unix time
  const after = new SerialStore(dir); // across a restart too
  t.is(after.serialFor('example.test', 'h1', 1_795_700_100), 2_026_112_602);
  t.is(after.serialFor('example.test', 'h1', 1_795_700_200), 2_026_112_602, 'then stable while the content stays');
});

test('SerialStore: the temp file is unique: a writer with the same PID (PID 1 in two containers) is never clobbered', (t) => {
  const dir = stateDir(t);
  // another process sharing this state_dir, with our PID, is half-way through its own save
  const theirs = join(dir, `serials.json.${process.pid}.tmp`);
  const theirText = '{ "other.test": { "hash": "theirs", "serial": 77 } }\n';
  writeFileSync(theirs, theirText);
  const a = new SerialStore(dir);
  const b = new SerialStore(dir);
  t.is(a.serialFor('a.test', 'h', 1000), 1000);
  t.is(b.serialFor('b.test', 'h', 2000), 2000);
  t.is(a.lastError, null);
  t.is(b.lastError, null);
  t.true(existsSync(theirs), 'their temp file was renamed away');
  t.is(readFileSync(theirs, 'utf8'), theirText, 'their temp file was overwritten');
  // ours are gone (renamed into place): only the state and their temp file remain
  t.deepEqual(readdirSync(dir).sort(), ['serials.json', `serials.json.${process.pid}.tmp`]);
  t.is((JSON.parse(readFileSync(join(dir, 'serials.json'), 'utf8')) as Record<string, { serial: number }>)['b.test']!.serial, 2000);
});

test('SerialStore: a damaged state file is an error, kept aside, and the serial never goes back below what it still shows', (t) => {
  const dir = stateDir(t);
  // cut short by a disk fault: the first zone is still legible, the second is not
  const damaged = '{\n  "example.test": {\n    "hash": "h1",\n    "serial": 2026112601\n  },\n  "b.test": {\n    "hash": "h';
  writeFileSync(join(dir, 'serials.json'), damaged);
  const s = new SerialStore(dir);
  t.regex(s.readError ?? '', /^cannot read automatic serials from .*serials\.json: .*1 zone serial\(s\) recovered/);
  const next = s.serialFor('example.test', 'h1', 1_795_700_000);
  t.true(serialGreater(next, 2_026_112_601), `${next} is above the serial the damaged file still shows`);
  t.is(s.serialFor('b.test', 'h', 1_795_700_000), 1_795_700_000, 'unknown zones continue from the Unix time');
  t.is(readFileSync(join(dir, 'serials.json.corrupt'), 'utf8'), damaged, 'the damaged file is kept for the operator');
  t.is(s.lastError, null);
  // a state file that is a folder cannot be read either: an error, never a silent fresh start
  const dir2 = stateDir(t);
  mkdirSync(join(dir2, 'serials.json'));
  t.regex(new SerialStore(dir2, false).readError ?? '', /^cannot read automatic serials from .*EISDIR/);
  // no state file yet is no error
  t.is(new SerialStore(stateDir(t)).readError, null);
});

test('SerialStore: valid JSON of the wrong shape is a read error; the well-formed entries are kept', (t) => {
  const dir = stateDir(t);
  writeFileSync(join(dir, 'serials.json'), 'null');
  t.regex(new SerialStore(dir, false).readError ?? '', /^cannot read automatic serials from .*serials\.json: .*the whole file/);
  writeFileSync(join(dir, 'serials.json'), '[1, 2]');
  t.regex(new SerialStore(dir, false).readError ?? '', /the whole file/);
  writeFileSync(
    join(dir, 'serials.json'),
    JSON.stringify({ 'a.test': { hash: 'h', serial: '2500000000' }, 'b.test': null, 'c.test': { hash: 'h', serial: 2_500_000_000 } }),
  );
  const s = new SerialStore(dir, false);
  t.regex(
    s.readError ?? '',
    /^cannot read automatic serials from .*: not \{ zone: \{ hash, serial \} \} for a\.test, b\.test; 1 zone serial\(s\) kept/,
  );
  t.is(s.serialFor('c.test', 'h', 1_795_700_000), 2_500_000_000, 'the well-formed entry is kept');
});

test('SerialStore: temp files left by a crashed save (older than a minute) are removed when the store opens; a recent one is left alone', (t) => {
  const dir = stateDir(t);
  const stale = join(dir, 'serials.json.4242.0123456789abcdef.tmp');
  const recent = join(dir, 'serials.json.4243.fedcba9876543210.tmp');
  writeFileSync(stale, '{}');
  writeFileSync(recent, '{}');
  const old = new Date(Date.now() - 5 * 60_000);
  utimesSync(stale, old, old);
  new SerialStore(dir, false);
  t.true(existsSync(stale), 'steerdns check (read-only) removes nothing');
  new SerialStore(dir);
  t.false(existsSync(stale), 'the stale temp file is removed');
  t.true(existsSync(recent), 'a recent one may be another process saving: kept');
});

test('SerialStore: a save cut short (file size limit) is an error and never leaves a truncated state file', async (t) => {
  const dir = stateDir(t);
  // in a child with a 1 KiB file size limit: the saves grow past it, and one write comes back short
  const script = `import { SerialStore } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'config', 'serial.js')).href)};
const s = new SerialStore(process.argv[1]);
let firstError = null;
for (let i = 0; i < 40; i++) { s.serialFor('zone-' + i + '.test', 'h', 1000 + i); firstError ??= s.lastError; }
process.stdout.write(JSON.stringify({ firstError }));`;
  const { stdout } = await execFileP('bash', [
    '-c',
    'ulimit -f 1; exec "$0" --input-type=module -e "$1" "$2"',
    process.execPath,
    script,
    dir,
  ]);
  const { firstError } = JSON.parse(stdout) as { firstError: string | null };
  t.regex(firstError ?? '', /^cannot save automatic serials in .*serials\.json: /, 'the save past the limit is reported');
  const saved = readFileSync(join(dir, 'serials.json'), 'utf8');
  t.notThrows(() => JSON.parse(saved), `the state file is whole: ${saved.slice(-80)}`);
  t.deepEqual(readdirSync(dir), ['serials.json'], 'no temp file left behind');
});

// ---- the serial a real server answers -------------------------------------------------------

const ZONE = (a: string, soaExtra = '') => `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test${soaExtra} }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  www: { A: ${a} }
`;

async function soaSerial(port: number): Promise<number> {
  const r = await udp(port, query('example.test', 'SOA'));
  if (r.msg.rcode !== 'NOERROR' || r.msg.answers[0]?.type !== 'SOA') throw new Error(`no SOA: ${JSON.stringify(r.msg)}`);
  return r.msg.answers[0].data.serial as number;
}

async function serve(dir: string): Promise<Server> {
  return Server.start({ configPath: join(dir, 'steerdns.yaml'), logger: pino({ level: 'silent' }) });
}

test('server: automatic serial ≥ now, kept on an unchanged reload, moved by a change, kept across restart', async (t) => {
  const dir = writeFixture(`${BASE_CONFIG}state_dir: ./state\n`, { 'example.test.yaml': ZONE('192.0.2.80') });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const before = now();
  let server = await serve(dir);
  try {
    const first = await soaSerial(server.bound[0]!.port);
    t.true(first >= before, `${first} >= ${before}`);
    const saved = JSON.parse(readFileSync(join(dir, 'state', 'serials.json'), 'utf8')) as Record<string, { serial: number }>;
    t.is(saved['example.test']!.serial, first, 'kept in state_dir');

    // unchanged content, and a change that only touches comments and layout: same serial
    t.true((await server.reload()).ok);
    t.is(await soaSerial(server.bound[0]!.port), first);
    writeFileSync(
      join(dir, 'zones', 'example.test.yaml'),
      `# a comment\n${ZONE('192.0.2.80').replace('www: { A: 192.0.2.80 }', 'www:\n    A: [192.0.2.80]')}`,
    );
    await heldStill(join(dir, 'zones', 'example.test.yaml')); // (a SIGHUP reads only a file that held still)
    t.true((await server.reload()).ok);
    t.is(await soaSerial(server.bound[0]!.port), first);

    // a changed record: max(previous + 1, now)
    const t0 = now();
    writeFileSync(join(dir, 'zones', 'example.test.yaml'), ZONE('192.0.2.81'));
    await heldStill(join(dir, 'zones', 'example.test.yaml'));
    t.true((await server.reload()).ok);
    const second = await soaSerial(server.bound[0]!.port);
    t.true(second >= first + 1 && second >= t0, `${second} >= max(${first} + 1, ${t0})`);
    t.true(second <= Math.max(first + 1, now()));

    // restart with the same content: the serial does not move
    await server.stop();
    server = await serve(dir);
    t.is(await soaSerial(server.bound[0]!.port), second);
  } finally {
    await server.stop();
  }
});

test('server: an explicit serial wins and is what the SOA answer shows', async (t) => {
  const s = await startServer({ 'example.test.yaml': ZONE('192.0.2.80', ', serial: 2024010101') });
  try {
    t.is(await soaSerial(s.port), 2024010101);
    const r = await udp(s.port, query('nope.example.test', 'A'));
    t.is(r.msg.rcode, 'NXDOMAIN');
    t.is(r.msg.authorities[0]?.data.serial, 2024010101, 'negative answers carry the same SOA');
    // a content change with an explicit serial keeps the written serial
    writeFileSync(join(s.dir, 'zones', 'example.test.yaml'), ZONE('192.0.2.81', ', serial: 2024010101'));
    await heldStill(join(s.dir, 'zones', 'example.test.yaml'));
    t.true((await s.server.reload()).ok);
    t.is(await soaSerial(s.port), 2024010101);
    const www = await udp(s.port, query('www.example.test', 'A'));
    t.deepEqual(
      www.msg.answers.map((a) => a.data),
      ['192.0.2.81'],
    );
    // and a changed explicit serial is served as written, even when lower
    writeFileSync(join(s.dir, 'zones', 'example.test.yaml'), ZONE('192.0.2.81', ', serial: 7'));
    await heldStill(join(s.dir, 'zones', 'example.test.yaml'));
    t.true((await s.server.reload()).ok);
    t.is(await soaSerial(s.port), 7);
  } finally {
    await s.stop();
  }
});

test('server: the other SOA fields come from the soa: section', async (t) => {
  const s = await startServer({
    'example.test.yaml': ZONE('192.0.2.80', ', refresh: 7200, retry: 3600, expire: 1209600, minimum: 60, serial: 42'),
  });
  try {
    const r = await udp(s.port, query('example.test', 'SOA'));
    t.like(r.msg.answers[0]!.data, {
      mname: 'ns1.example.test',
      rname: 'hostmaster.example.test',
      serial: 42,
      refresh: 7200,
      retry: 3600,
      expire: 1209600,
      minimum: 60,
    });
  } finally {
    await s.stop();
  }
});

test('server: a state_dir that cannot be written still serves, with a warning', async (t) => {
  const dir = writeFixture(`${BASE_CONFIG}state_dir: ./blocked/state\n`, { 'example.test.yaml': ZONE('192.0.2.80') });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'blocked'), 'a file, not a folder');
  const logs: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    {
      write: (s: string) => {
        logs.push(JSON.parse(s) as Record<string, unknown>);
      },
    },
  );
  const before = now();
  const server = await Server.start({ configPath: join(dir, 'steerdns.yaml'), logger });
  try {
    t.true((await soaSerial(server.bound[0]!.port)) >= before);
    t.true(
      logs.some((l) => l.level === 40 && typeof l.msg === 'string' && l.msg.startsWith('cannot save automatic serials in ')),
      JSON.stringify(logs),
    );
  } finally {
    await server.stop();
  }
});

test('server: a damaged serials.json is an error in the log; the served serial stays above what it still shows', async (t) => {
  const dir = writeFixture(`${BASE_CONFIG}state_dir: ./state\n`, { 'example.test.yaml': ZONE('192.0.2.80') });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'state'));
  const far = 2_500_000_000; // above the Unix time (by less than 2^31): only the damaged file says it was served
  writeFileSync(join(dir, 'state', 'serials.json'), `{ "example.test": { "hash": "x", "serial": ${far} }, "x`);
  const logs: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    {
      write: (s: string) => {
        logs.push(JSON.parse(s) as Record<string, unknown>);
      },
    },
  );
  const server = await Server.start({ configPath: join(dir, 'steerdns.yaml'), logger });
  try {
    const serial = await soaSerial(server.bound[0]!.port);
    t.true(serialGreater(serial, far), `${serial} is above ${far}`);
    t.true(
      logs.some((l) => l.level === 50 && typeof l.msg === 'string' && l.msg.startsWith('cannot read automatic serials from ')),
      JSON.stringify(logs),
    );
  } finally {
    await server.stop();
  }
});

test('server: a serial handed out but not saved (unwritable state) never goes back after a SIGHUP', async (t) => {
  const dir = writeFixture(`${BASE_CONFIG}state_dir: ./state\n`, { 'example.test.yaml': ZONE('192.0.2.80', ', serial: 3000000000') });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // a folder where serials.json should be: neither read nor saved (as a read-only or full state_dir)
  mkdirSync(join(dir, 'state', 'serials.json'), { recursive: true });
  const logs: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    {
      write: (s: string) => {
        logs.push(JSON.parse(s) as Record<string, unknown>);
      },
    },
  );
  const server = await Server.start({ configPath: join(dir, 'steerdns.yaml'), logger });
  t.teardown(() => server.stop());
  const port = server.bound[0]!.port;
  t.is(await soaSerial(port), 3_000_000_000);
  t.true(
    logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('cannot save automatic serials in ')),
    'the save failed',
  );
  await server.reload(); // nothing changed: the serials known only in memory stay
  // `serial:` dropped and a record changed: the next serial continues above the one served
  writeFileSync(join(dir, 'zones', 'example.test.yaml'), ZONE('192.0.2.81'));
  await poll(async () => ((await udp(port, query('www.example.test', 'A'))).msg.answers[0]?.data === '192.0.2.81' ? true : undefined), {
    timeoutMs: 10_000,
    what: 'the edit served',
  });
  const after = await soaSerial(port);
  t.true(serialGreater(after, 3_000_000_000), `${after} is above 3000000000, the serial served before`);
});
