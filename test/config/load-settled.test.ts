// A zone file that changes while it is being read is refused, not served: what was read is neither the old file
// nor the new one (docs/zone-format.md#reload-and-the-last-good-version). The read of a large zone takes long
// enough for a writer in another process, appending a line every 5 ms, to change the file in the middle of it.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { SerialStore } from '../../src/config/serial.js';
import { parseServerConfig } from '../../src/config/server-config.js';
import { loadSnapshot } from '../../src/snapshot.js';
import { tempDir } from '../helpers/server.js';

const NAMES = 60_000;
const ZONE = (a: string) => {
  let s =
    'origin: big.test\nsoa: { ns: ns1.big.test., email: hostmaster@big.test }\nrecords:\n  "@": { NS: [ns1] }\n  ns1: { A: 192.0.2.53 }\n';
  for (let i = 0; i < NAMES; i++) s += `  n${i}: { A: ${a} }\n`;
  return s;
};

// From "go" on stdin until "stop", appends a line every 5 ms; then reports when it first appended (Date.now()).
const APPENDER = `
const fs = require('node:fs');
const [file] = process.argv.slice(1);
let first = null, n = 0, timer = null;
process.stdout.write('ready\\n');
process.stdin.setEncoding('utf8').on('data', (d) => {
  if (d.includes('go') && !timer) {
    const append = () => {
      fs.appendFileSync(file, '  late' + n++ + ': { A: 192.0.2.9 }\\n');
      first ??= Date.now();
    };
    append();
    timer = setInterval(append, 5);
  }
  if (d.includes('stop')) {
    clearInterval(timer);
    process.stdout.write(JSON.stringify({ first }) + '\\n');
    process.exit(0);
  }
});
`;

async function appender(file: string): Promise<{ go(): void; stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, ['-e', APPENDER, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let ready: () => void = () => undefined;
  const isReady = new Promise<void>((r) => {
    ready = r;
  });
  const report = new Promise<number | null>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.startsWith('ready\n')) ready();
      const m = /\{.*\}/.exec(out);
      if (m) resolve((JSON.parse(m[0]) as { first: number | null }).first);
    });
    child.on('close', (code) => reject(new Error(`appender exited ${code} before reporting`)));
  });
  await isReady;
  return {
    go: () => child.stdin.write('go\n'),
    stop: () => {
      child.stdin.write('stop\n');
      return report;
    },
  };
}

test('load: a zone file appended to while it is read is refused, the served version stays, and the next load reads it whole', async (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { config } = parseServerConfig(
    join(dir, 'steerdns.yaml'),
    'listen: ["127.0.0.1:0"]\nregions: { us-east: { location: [39.0, -77.5] } }\n',
  );
  const cfg = config!;
  const file = join(cfg.zonesDir, 'big.test.yaml');
  mkdirSync(cfg.zonesDir);
  writeFileSync(file, ZONE('192.0.2.1'));
  const serials = new SerialStore(cfg.stateDir, false);
  const started = performance.now();
  const first = loadSnapshot(cfg, serials, null);
  const served = first.snapshot.zones.get('big.test')!;
  t.truthy(served);
  t.log(`one read of the zone: ${Math.round(performance.now() - started)} ms`);

  let report: ReturnType<typeof loadSnapshot> | null = null;
  for (let attempt = 1; attempt <= 3; attempt++) {
    writeFileSync(file, ZONE('192.0.2.2')); // a new version, then lines appended during its read
    const a = await appender(file);
    a.go();
    const from = Date.now();
    report = loadSnapshot(cfg, serials, first.snapshot);
    const to = Date.now();
    const firstAppend = await a.stop();
    if (firstAppend !== null && firstAppend < to) break;
    // the appender woke only after the read (a loaded machine): that run proves nothing, run it again
    t.log(
      `attempt ${attempt}: first append at +${firstAppend === null ? '-' : firstAppend - from} ms, the read took ${to - from} ms: again`,
    );
    report = null;
  }
  if (!report) return t.fail('the append never landed during a read');
  t.deepEqual(report.unsettled, [file]);
  t.deepEqual(report.failed, [], 'not counted as a broken zone');
  t.is(report.snapshot.zones.get('big.test'), served, 'the version served before stays');
  t.true(
    report.messages.some((m) => m.level === 'warn' && /changed while it was being read/.test(m.text)),
    JSON.stringify(report.messages),
  );

  // still now: the next load reads it, whole
  const next = loadSnapshot(cfg, serials, report.snapshot);
  t.deepEqual(next.unsettled, []);
  const zone = next.snapshot.zones.get('big.test')!;
  t.not(zone, served);
  t.true(zone.has('late0.big.test'));
  t.true(zone.has(`n${NAMES - 1}.big.test`));
});

test('load: a zone file caught mid-write still claims its origin: another file declaring it in the same load is refused', async (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { config } = parseServerConfig(
    join(dir, 'steerdns.yaml'),
    'listen: ["127.0.0.1:0"]\nregions: { us-east: { location: [39.0, -77.5] } }\n',
  );
  const cfg = config!;
  const file = join(cfg.zonesDir, 'big.test.yaml');
  const dup = join(cfg.zonesDir, 'zz-copy.yaml'); // read after big.test.yaml
  mkdirSync(cfg.zonesDir);
  writeFileSync(file, ZONE('192.0.2.1'));
  const serials = new SerialStore(cfg.stateDir, false);
  const first = loadSnapshot(cfg, serials, null);
  const served = first.snapshot.zones.get('big.test')!;
  t.truthy(served);

  let report: ReturnType<typeof loadSnapshot> | null = null;
  for (let attempt = 1; attempt <= 3; attempt++) {
    writeFileSync(file, ZONE('192.0.2.2'));
    // a second file with the same origin appears in the same load (a copy made while editing)
    writeFileSync(
      dup,
      'origin: big.test\nsoa: { ns: ns1.big.test., email: hostmaster@big.test }\nrecords:\n  "@": { NS: [ns1] }\n  ns1: { A: 192.0.2.99 }\n',
    );
    const a = await appender(file);
    a.go();
    report = loadSnapshot(cfg, serials, first.snapshot);
    const to = Date.now();
    const firstAppend = await a.stop();
    if (firstAppend !== null && firstAppend < to && report.unsettled.includes(file)) break;
    t.log(`attempt ${attempt}: the append did not land during the read: again`);
    report = null;
  }
  if (!report) return t.fail('the append never landed during a read');
  t.deepEqual(report.unsettled, [file]);
  t.deepEqual(report.failed, [dup], 'the other file is refused as a duplicate');
  t.regex(report.snapshot.files.get(dup)!.errors[0]!.message, /^zone big\.test\. is already defined in .*big\.test\.yaml$/);
  t.is(report.snapshot.zones.get('big.test'), served, 'the version served before stays, alone');
});

// A SIGHUP load (settleMs given) reads no file that changed within the settle time, whatever its last load
// did: a file whose last load failed still serves its older good version, and must not swap it for half a file.
const SETTLE_MS = 400;
const SMALL = (names: string) =>
  `origin: small.test\nsoa: { ns: ns1.small.test., email: hostmaster@small.test }\nrecords:\n  "@": { NS: [ns1] }\n  ns1: { A: 192.0.2.53 }\n${names}`;
const settleCfg = (dir: string) =>
  parseServerConfig(join(dir, 'steerdns.yaml'), 'listen: ["127.0.0.1:0"]\nregions: { us-east: { location: [39.0, -77.5] } }\n').config!;
const changedAgo = (f: string) => {
  const st = statSync(f);
  return Date.now() - Math.max(st.mtimeMs, st.ctimeMs);
};
async function holdsStill(files: string[]): Promise<void> {
  while (files.some((f) => changedAgo(f) < SETTLE_MS)) await new Promise((r) => setTimeout(r, 25));
}

test('load: at a SIGHUP a broken zone file rewritten within the settle time keeps its good version; once still it loads', async (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = settleCfg(dir);
  const file = join(cfg.zonesDir, 'small.test.yaml');
  const fresh = join(cfg.zonesDir, 'new.test.yaml');
  mkdirSync(cfg.zonesDir);
  writeFileSync(file, SMALL('  www: { A: 192.0.2.1 }\n  last: { A: 192.0.2.1 }\n'));
  const serials = new SerialStore(cfg.stateDir, false);
  const good = loadSnapshot(cfg, serials, null);
  const served = good.snapshot.zones.get('small.test')!;
  t.truthy(served);
  writeFileSync(file, SMALL('  www: { A: [[[\n'));
  await holdsStill([file]);
  const broken = loadSnapshot(cfg, serials, good.snapshot, { settleMs: SETTLE_MS });
  t.deepEqual(broken.failed, [file]);
  t.is(broken.snapshot.zones.get('small.test'), served, 'the good version serves while the file is broken');

  // the fix is written in two steps; the SIGHUP lands between them (and a new file is being written too)
  const wrote = Date.now();
  writeFileSync(file, SMALL('  www: { A: 192.0.2.2 }\n'));
  writeFileSync(fresh, 'origin: new.test\nsoa: { ns: ns1.new.test., email: hostmaster@new.test }\nrecords:\n');
  const hup = loadSnapshot(cfg, serials, broken.snapshot, { settleMs: SETTLE_MS });
  if (Date.now() - wrote >= SETTLE_MS) return t.fail(`the load took ${Date.now() - wrote} ms: past the settle time, nothing tested`);
  t.deepEqual(hup.recent, [fresh, file].sort());
  t.deepEqual(hup.failed, []);
  t.is(hup.snapshot.zones.get('small.test'), served, 'the full good version still serves, not half the new file');
  t.false(hup.snapshot.zones.has('new.test'), 'a new file is not read mid-write');

  appendFileSync(file, '  last: { A: 192.0.2.2 }\n');
  appendFileSync(fresh, '  "@": { NS: [ns1] }\n  ns1: { A: 192.0.2.54 }\n');
  await holdsStill([file, fresh]);
  const retry = loadSnapshot(cfg, serials, hup.snapshot, { settleMs: SETTLE_MS });
  t.deepEqual(retry.unsettled, []);
  t.deepEqual(retry.failed, []);
  const names = retry.snapshot.zones.get('small.test')!.nodeNames();
  t.true(names.includes('last.small.test'), 'the completed file serves whole');
  t.true(retry.snapshot.zones.has('new.test'));
});

test('load: at a SIGHUP a zone file stamped in the future (clock skew) is read as settled, with one warning', (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = settleCfg(dir);
  const file = join(cfg.zonesDir, 'small.test.yaml');
  mkdirSync(cfg.zonesDir);
  writeFileSync(file, SMALL('  www: { A: 192.0.2.1 }\n'));
  const serials = new SerialStore(cfg.stateDir, false);
  const first = loadSnapshot(cfg, serials, null);
  writeFileSync(file, SMALL('  www: { A: 192.0.2.2 }\n'));
  const future = new Date(Date.now() + 3_600_000); // `cp -p` from a host an hour ahead
  utimesSync(file, future, future);
  const hup = loadSnapshot(cfg, serials, first.snapshot, { settleMs: SETTLE_MS });
  t.deepEqual(hup.unsettled, [], 'a file stamped in the future never gets older: it is not waited for');
  t.deepEqual(hup.changed, [file]);
  const skew = hup.messages.filter((m) => /in the future/.test(m.text));
  t.is(skew.length, 1, JSON.stringify(hup.messages));
  t.is(skew[0]!.level, 'warn');
  t.regex(skew[0]!.text, /stamped \d+ ms in the future/);
  const again = loadSnapshot(cfg, serials, hup.snapshot, { settleMs: SETTLE_MS });
  t.false(
    again.messages.some((m) => /in the future/.test(m.text)),
    'the skew of an unchanged file is not logged again',
  );
});
