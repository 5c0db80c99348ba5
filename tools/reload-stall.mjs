#!/usr/bin/env node
// Reload stall: does answering stop while a big zone is reloaded? No dnsperf needed.
//
// Starts the built server (dist/cli.js; run `npm run build` first) on 127.0.0.1:PORT with two zones: big.test,
// N names of one A record each (the shape of tools/zone-scale.sh, default 1,000,000) and small.test (1,000
// names and a wildcard). Once both answer, a client in this process sends `q<seq>.small.test A` at a fixed
// rate (RATE, default 5,000/s, paced every millisecond), each stamped with its send time, and stamps every
// answer. Meanwhile big.test is reloaded RELOADS times (default 5), alternating:
//   - file edit: a new version of big.test.yaml (its `v` TXT record says which) is written outside the
//     zones folder and renamed over it; the server's folder watcher reloads it;
//   - SIGHUP: limits.zone_bytes in steerdns.yaml changes (2GB ↔ 2047MB) and the server gets SIGHUP: a
//     changed zone_bytes rebuilds every zone (docs/configuration.md#reload).
// A reload is complete when the server's log says so (a "zone loaded" line for big.test, or "reloaded"; with
// workers, then every worker's "worker N reloaded"), then 1 s passes before the next. After the last, 2 s
// more, then the client stops and waits 3 s for late answers. Reports per reload and in all: queries lost
// (sent, never answered), the longest gap between two answers, the answer latency, and the client's own
// longest pause between two paced sends (a gap as long as that is the client's, not the server's).
//
//   node tools/reload-stall.mjs
//   WORKERS=2 node tools/reload-stall.mjs          # workers: 2 (the server and its workers unpinned)
//   N=200000 RATE=2000 RELOADS=3 PORT=5348 node tools/reload-stall.mjs
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { open, rename, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT, startServer, tempFolder } from './serve-temp.mjs';

const N = Number(process.env.N ?? 1_000_000);
const RATE = Number(process.env.RATE ?? 5000);
const RELOADS = Number(process.env.RELOADS ?? 5);
const WORKERS = Number(process.env.WORKERS ?? 1);
const PORT = Number(process.env.PORT ?? 5347);
const RELOAD_BOUND_MS = (WORKERS > 1 ? 300 : 120) * 1000;
if (!existsSync(join(ROOT, 'dist/cli.js'))) {
  console.error('reload-stall: no dist/cli.js: run `npm run build` first');
  process.exit(2);
}
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the zones and the config ---------------------------------------------------------------------------

const soa = (name) =>
  `origin: ${name}.test\nttl: 300\nsoa: { ns: ns1.${name}.test., email: h@${name}.test }\nrecords:\n  "@": { NS: [ns1] }\n  ns1: { A: 192.0.2.53 }\n`;
const names = (count) => {
  const parts = [];
  for (let i = 0; i < count; i++) parts.push(`  h${i}: { A: ${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.1 }\n`);
  return parts.join('');
};
const bigBody = Buffer.from(names(N));
const bigHead = (version) => `${soa('big')}  v: { TXT: "version ${version}" }\n`;
const config = (zoneBytes) =>
  `listen: ["127.0.0.1:${PORT}"]\nzones: ./zones\nworkers: ${WORKERS}\nlimits: { zone_bytes: ${zoneBytes} }\nlog: { level: info }\n`;

// ---- the paced client -------------------------------------------------------------------------------------

function query(seq) {
  const label = Buffer.from(`q${seq}`);
  const msg = Buffer.alloc(12 + 1 + label.length + 12 + 4);
  msg.writeUInt16BE(seq & 0xffff, 0);
  msg.writeUInt16BE(1, 4); // QDCOUNT
  let at = 12;
  msg[at++] = label.length;
  at += label.copy(msg, at);
  for (const l of ['small', 'test']) {
    msg[at++] = l.length;
    at += msg.write(l, at, 'latin1');
  }
  msg[at++] = 0;
  msg.writeUInt16BE(1, at); // A
  msg.writeUInt16BE(1, at + 2); // IN
  return msg;
}

function client() {
  const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  const sentAt = [];
  const answeredAt = [];
  const answerTimes = []; // in arrival order, so ascending
  const st = { sent: 0, answered: 0, otherRcode: 0, lastAnswer: 0, maxGap: 0, maxGapAt: 0, maxPause: 0, maxPauseAt: 0, t0: 0 };
  sock.on('message', (msg) => {
    const now = performance.now();
    const len = msg[12];
    const seq = Number(msg.toString('latin1', 14, 13 + len));
    if (!Number.isInteger(seq) || seq >= st.sent || answeredAt[seq] !== undefined) return;
    answeredAt[seq] = now;
    answerTimes.push(now);
    st.answered++;
    if ((msg[3] & 0x0f) !== 0) st.otherRcode++;
    if (st.lastAnswer && now - st.lastAnswer > st.maxGap) [st.maxGap, st.maxGapAt] = [now - st.lastAnswer, st.lastAnswer];
    st.lastAnswer = now;
  });
  let timer = null;
  let lastTick = 0;
  return {
    st,
    sentAt,
    answeredAt,
    answerTimes,
    start() {
      st.t0 = lastTick = performance.now();
      timer = setInterval(() => {
        const now = performance.now();
        if (now - lastTick > st.maxPause) [st.maxPause, st.maxPauseAt] = [now - lastTick, lastTick];
        lastTick = now;
        const due = Math.floor(((now - st.t0) * RATE) / 1000);
        while (st.sent < due) {
          sentAt[st.sent] = performance.now();
          sock.send(query(st.sent++), PORT, '127.0.0.1');
        }
      }, 1);
    },
    stop: () => clearInterval(timer),
    close: () => sock.close(),
  };
}

/** One query (a fresh socket) for `name` `type`; resolves to the response or null after `ms`. */
function ask(name, type, ms = 1000) {
  const sock = dgram.createSocket('udp4');
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const msg = Buffer.concat([Buffer.from([0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, type, 0, 1])]);
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(null), ms);
    const done = (r) => {
      clearTimeout(timer);
      sock.close();
      resolve(r);
    };
    sock.on('message', (m) => done(m));
    sock.send(msg, PORT, '127.0.0.1');
  });
}

async function waitAnswers(name, type, test, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const r = await ask(name, type);
    if (r && test(r)) return;
    await sleep(100);
  }
  throw new Error(`${name} ${type === 16 ? 'TXT' : 'A'}: no expected answer within ${ms / 1000} s`);
}

// ---- the run -------------------------------------------------------------------------------------------

const work = tempFolder('reload-stall-');
const zones = join(work.dir, 'zones');
let server;
let c;
const bigVersion = { n: 0 };
const warnings = []; // the server's warn and error lines, with the time they came
let code = 0;
try {
  const up = performance.now();
  server = await startServer({
    dir: work.dir,
    config: config('2GB'),
    zones: {
      'big.test.yaml': Buffer.concat([Buffer.from(bigHead(0)), bigBody]),
      'small.test.yaml': `${soa('small')}  "*": { A: 192.0.2.1 }\n${names(1000)}`,
    },
    onLine: (rec) => {
      if (rec.level >= 40) warnings.push({ at: performance.now(), rec });
    },
  });
  await waitAnswers('v.big.test', 16, (m) => m.includes('version 0'), 60_000);
  await waitAnswers('h1.small.test', 1, (m) => (m[3] & 0x0f) === 0, 60_000);
  console.log(
    `reload-stall: big.test (${fmt(N)} names, ${(bigBody.length / 2 ** 20).toFixed(0)} MB of YAML) + small.test (1,000 names) · workers ${WORKERS}` +
      ` · ${fmt(RATE)} queries/s to small.test · node ${process.version} · ${cpus().length} cores · load ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
  );
  console.log(`started: answering both zones ${((performance.now() - up) / 1000).toFixed(1)} s after the start`);

  c = client();
  c.start();
  await sleep(2000);
  const windows = [];
  for (let i = 1; i <= RELOADS; i++) {
    const edit = i % 2 === 1;
    const from = performance.now();
    const firstSeq = c.st.sent;
    const done = completion(edit);
    if (edit) {
      bigVersion.n = i;
      // written outside the watched folder, then renamed over the zone; asynchronous, so the client keeps its pace
      const tmp = join(work.dir, 'big.test.yaml.new');
      const fh = await open(tmp, 'w');
      await fh.write(bigHead(i));
      await fh.write(bigBody);
      await fh.close();
      await rename(tmp, join(zones, 'big.test.yaml'));
    } else {
      await writeFile(join(work.dir, 'steerdns.yaml'), config(i % 4 === 2 ? '2047MB' : '2GB'));
      server.signal('SIGHUP');
    }
    const seen = await done.catch((e) => e.message.split('\n')[0]);
    const to = performance.now();
    await sleep(1000);
    windows.push({ i, what: edit ? 'file edit' : 'SIGHUP', from, to, firstSeq, lastSeq: c.st.sent, seen });
  }
  await sleep(2000);
  c.stop();
  const stoppedAt = performance.now();
  while (c.st.answered < c.st.sent && performance.now() - stoppedAt < 3000) await sleep(50);
  report(c, windows);
  if (bigVersion.n > 0) await waitAnswers('v.big.test', 16, (m) => m.includes(`version ${bigVersion.n}`), 5000);
} catch (e) {
  console.error(`reload-stall: ${e.message}`);
  code = 1;
} finally {
  c?.close();
  await server?.stop();
  work.remove();
}
process.exit(code);

/**
 * Resolves when the server's log says the reload is complete: the process that reads the files logs
 * "zone loaded" for big.test (file edit) or "reloaded" (SIGHUP); with workers, each worker's "worker N
 * reloaded" (or that it did not confirm) after that line counts, not those of a roll still under way.
 * Rejects with a message after RELOAD_BOUND_MS.
 */
function completion(edit) {
  const primary = (r) =>
    !/^worker-/.test(r.process ?? '') && (edit ? r.msg === 'zone loaded' && r.zone === 'big.test' : r.msg === 'reloaded');
  let loaded = false;
  const acked = new Map();
  const what = `${edit ? '"zone loaded" (big.test)' : '"reloaded"'}${WORKERS > 1 ? `, then "worker N reloaded" for ${WORKERS} workers` : ''}`;
  const done = server.waitFor(
    (r) => {
      if (!loaded) {
        loaded = primary(r);
        return loaded && WORKERS <= 1;
      }
      const m = /^worker (\d+) (reloaded|did not confirm)/.exec(r.msg ?? '');
      if (m) acked.set(m[1], m[2] === 'reloaded' ? `worker ${m[1]} in ${fmt(r.ms)} ms` : `worker ${m[1]} did not confirm`);
      return acked.size >= WORKERS;
    },
    RELOAD_BOUND_MS,
    what,
  );
  return done.then(() => (WORKERS > 1 ? `logged; ${[...acked.values()].join(', ')}` : 'logged'));
}

function report(cl, windows) {
  const { st, sentAt, answeredAt, answerTimes } = cl;
  const at = (t) => `+${((t - st.t0) / 1000).toFixed(1)} s`;
  const lat = [];
  for (let s = 0; s < st.sent; s++) if (answeredAt[s] !== undefined) lat.push(answeredAt[s] - sentAt[s]);
  lat.sort((a, b) => a - b);
  const pct = (p) => (lat.length ? lat[Math.max(0, Math.ceil(p * lat.length) - 1)] : 0);
  for (const w of windows) {
    // the longest gap between two answers that overlaps the reload's window (its start to 1 s after it completed)
    let gap = 0;
    for (let k = 1; k < answerTimes.length; k++)
      if (answerTimes[k] >= w.from && answerTimes[k - 1] <= w.to + 1000) gap = Math.max(gap, answerTimes[k] - answerTimes[k - 1]);
    let lost = 0;
    for (let s = w.firstSeq; s < w.lastSeq; s++) if (answeredAt[s] === undefined) lost++;
    console.log(
      `reload ${w.i} (${w.what}, at ${at(w.from)}): complete after ${((w.to - w.from) / 1000).toFixed(1)} s (${w.seen}) · ` +
        `longest gap between answers ${fmt(gap)} ms · lost ${fmt(lost)} of ${fmt(w.lastSeq - w.firstSeq)} sent meanwhile`,
    );
  }
  const lost = st.sent - st.answered;
  console.log(
    `in all: ${fmt(st.sent)} queries over ${((performance.now() - st.t0) / 1000).toFixed(0)} s, ${fmt(lost)} lost (${((100 * lost) / st.sent).toFixed(2)}%)` +
      `${st.otherRcode ? `, ${fmt(st.otherRcode)} answered with another rcode than NOERROR` : ''}` +
      ` · longest gap between answers ${fmt(st.maxGap)} ms (from ${at(st.maxGapAt)})` +
      ` · latency p50 ${pct(0.5).toFixed(2)} ms, p99.9 ${fmt(pct(0.999))} ms, max ${fmt(pct(1))} ms` +
      ` · the client's longest pause between paced sends ${fmt(st.maxPause)} ms (from ${at(st.maxPauseAt)})`,
  );
  console.log(`goal (0 lost, longest gap under 50 ms): ${lost === 0 && st.maxGap < 50 ? 'met' : 'not met'}`);
  if (warnings.length > 0) console.log(`the server's warnings and errors (${warnings.length}):`);
  for (const w of warnings.slice(0, 10)) console.log(`  ${at(w.at)} ${w.rec.process ?? ''} ${w.rec.msg}`);
}
