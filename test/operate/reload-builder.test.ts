// Reloads through the builder thread (docs/configuration.md#reload, docs/architecture.md): zone files are read,
// parsed and built off the answering thread, so a big zone's reload never stops the answers of another zone;
// reloads asked while one runs are merged into one more after it, which reads the latest files; a builder
// thread that dies fails the reload it was doing (every zone keeps its served version) and the next reload works.
import dgram from 'node:dgram';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { ReloadQueue, type ReloadResult } from '../../src/reload.js';
import { BASE_CONFIG, decode, query, spawnServe, startServer, udpRaw, writeFixture } from '../helpers/server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const small = (address: string) => `origin: small.test
soa: { ns: ns1.small.test., email: h@small.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  www: { A: ${address} }
  "*": { A: 192.0.2.99 }
`;

/** big.test: `count` names of one A record, and `v` TXT saying which version it is. */
function big(count: number, version: string): string {
  const lines = ['origin: big.test', 'soa: { ns: ns1.big.test., email: h@big.test }', 'records:', '  "@": { NS: [ns1] }'];
  lines.push('  ns1: { A: 192.0.2.53 }', `  v: { TXT: ["${version}"] }`);
  for (let i = 0; i < count; i++) lines.push(`  h${i}: { A: 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} }`);
  return `${lines.join('\n')}\n`;
}

/** Replaces `file` at once (written beside it, renamed over it), as editors and config tools do. */
function replace(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

async function answer(port: number, name: string, type: string): Promise<string[]> {
  const raw = await udpRaw(port, query(name, type), 5000);
  return raw ? decode(raw).msg.answers.map((a) => String(a.data)) : ['(no answer)'];
}

test('three reloads asked while one runs make one more reload, which reads the latest state', async (t) => {
  let state = 0;
  let served = -1;
  let runs = 0;
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const q = new ReloadQueue(async () => {
    runs++;
    const seen = state;
    if (runs === 1) await gate;
    served = seen;
    return { ok: true, failed: [], parsed: seen, rebuilt: 0 } satisfies ReloadResult;
  });
  state = 1;
  const first = q.request('zones');
  await sleep(0); // the first one runs (and waits at the gate)
  const later: Promise<ReloadResult>[] = [];
  for (const what of ['zones', 'all', 'db'] as const) {
    state++;
    later.push(q.request(what));
  }
  release();
  const results = await Promise.all([first, ...later]);
  t.is(runs, 2, 'the first reload and one more');
  t.is(served, 4, 'the last state is served');
  t.is(results[0]!.parsed, 1);
  t.true(results[1] === results[2] && results[2] === results[3], 'the three share the one reload that covered them');
  t.is(results[3]!.parsed, 4);
  await q.idle();
});

test.serial('reloads asked while one runs, the files edited between them: the server serves the last edit', async (t) => {
  const s = await startServer({ 'small.test.yaml': small('192.0.2.1') }, BASE_CONFIG);
  t.teardown(() => s.stop());
  const file = join(s.dir, 'zones', 'small.test.yaml');
  replace(file, small('192.0.2.2'));
  const first = s.server.reloadZones();
  // the first reload has started (its read is asked of the builder thread) once the queue's turn came
  await null;
  await null;
  const later: Promise<ReloadResult>[] = [];
  for (const last of [3, 4, 5]) {
    replace(file, small(`192.0.2.${last}`));
    later.push(s.server.reloadZones());
  }
  const [r0, ...rs] = await Promise.all([first, ...later]);
  t.true(r0!.ok);
  t.true(
    rs.every((r) => r === rs[0]),
    'one reload covered the three asked meanwhile',
  );
  t.true(rs[0]!.ok);
  t.deepEqual(await answer(s.port, 'www.small.test', 'A'), ['192.0.2.5']);
  const loaded = s.logs.filter((l) => l.msg === 'zone loaded' && l.zone === 'small.test');
  t.true(loaded.length >= 2 && loaded.length <= 3, `the first load and at most two reloads built the zone (${loaded.length})`);
});

test.serial('the builder thread dies during a reload: the reload fails, every zone keeps its version, the next reload works', async (t) => {
  t.timeout(300_000);
  const s = await startServer({ 'small.test.yaml': small('192.0.2.1'), 'big.test.yaml': big(100_000, 'v1') }, BASE_CONFIG);
  t.teardown(() => s.stop());
  const before = s.server.builderThread;
  t.truthy(before, 'the builder thread runs');
  replace(join(s.dir, 'zones', 'big.test.yaml'), big(100_000, 'v2'));
  replace(join(s.dir, 'zones', 'small.test.yaml'), small('192.0.2.2'));
  const reload = s.server.reloadZones();
  await sleep(0); // the reload has asked the thread to read the files: end the thread while it parses them
  await before!.terminate();
  const failed = await reload;
  t.false(failed.ok, 'the reload is reported failed');
  t.true(
    s.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('the builder thread exited')),
    'the thread exit is logged',
  );
  t.deepEqual(await answer(s.port, 'v.big.test', 'TXT'), ['v1'], 'the last good big zone serves');
  t.deepEqual(await answer(s.port, 'www.small.test', 'A'), ['192.0.2.1'], 'the last good small zone serves');
  const next = await s.server.reloadZones();
  t.true(next.ok, 'the next reload works');
  t.not(s.server.builderThread, before, 'in a new thread');
  t.deepEqual(await answer(s.port, 'v.big.test', 'TXT'), ['v2']);
  t.deepEqual(await answer(s.port, 'www.small.test', 'A'), ['192.0.2.2']);
});

test.serial(
  'a 200,000-name zone reloads while another zone keeps answering: answers all through the reload, every query answered',
  async (t) => {
    t.timeout(600_000);
    const NAMES = 200_000;
    const dir = writeFixture(BASE_CONFIG, { 'small.test.yaml': small('192.0.2.1'), 'big.test.yaml': big(NAMES, 'v1') });
    const p = spawnServe(dir);
    t.teardown(() => {
      p.child.kill('SIGKILL');
    });
    const serving = await p.waitForLog((l) => l.msg === 'serving', 300_000);
    const port = Number(/:(\d+)$/.exec((serving.listen as string[])[0]!)![1]);

    // a client paced by a 1 ms timer, each query and answer stamped. It reads answers only between two turns of
    // its timer, so what it adds to a gap between answers is its longest stretch from the end of one turn to
    // the end of the next: a pause of its own, and the batch of queries it then sends before it reads again
    const RATE = 2000;
    // (a receive buffer that holds the answers arriving while this process pauses)
    const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    t.teardown(() => sock.close());
    const answeredAt: number[] = [];
    const sentAt: number[] = [];
    sock.on('message', (m) => {
      answeredAt.push(performance.now());
      t.is(m.readUInt16BE(2) & 0x0f, 0, 'NOERROR');
    });
    let sent = 0;
    const t0 = performance.now();
    let lastTurn = t0;
    const pauses: [number, number][] = []; // [at, length]
    const timer = setInterval(() => {
      const due = Math.floor(((performance.now() - t0) * RATE) / 1000);
      for (; sent < due; sent++) {
        sentAt.push(performance.now());
        sock.send(query(`q${sent}.small.test`, 'A', { id: sent & 0xffff }), port, '127.0.0.1');
      }
      const end = performance.now();
      pauses.push([lastTurn, end - lastTurn]);
      lastTurn = end;
    }, 1);
    t.teardown(() => clearInterval(timer));
    const gapIn = (from: number, to: number) => {
      const w = answeredAt.filter((x) => x >= from && x <= to);
      let gap = 0;
      let at = from;
      for (let i = 1; i < w.length; i++)
        if (w[i]! - w[i - 1]! > gap) {
          gap = w[i]! - w[i - 1]!;
          at = w[i - 1]!;
        }
      return { gap, at };
    };
    const pauseIn = (from: number, to: number) => Math.max(0, ...pauses.filter(([at]) => at >= from && at <= to).map(([, ms]) => ms));
    // how much longer than the client's own stretches overlapping it a gap between two answers is: the server's
    // share of the gap (its own work, or the machine not running it)
    const excessIn = (from: number, to: number) => {
      const w = answeredAt.filter((x) => x >= from && x <= to);
      let excess = 0;
      for (let i = 1; i < w.length; i++) {
        const [a, b] = [w[i - 1]!, w[i]!];
        const client = Math.max(0, ...pauses.filter(([at, ms]) => at < b && at + ms > a).map(([, ms]) => ms));
        excess = Math.max(excess, b - a - client);
      }
      return excess;
    };

    // a few seconds with no reload: the same measures then tell what the machine adds without one
    await sleep(3000);
    const edit = performance.now();
    const from = p.logs.length;
    replace(join(dir, 'zones', 'big.test.yaml'), big(NAMES, 'v2'));
    await p.waitForLog((l) => p.logs.indexOf(l) >= from && l.msg === 'zone loaded' && l.zone === 'big.test', 300_000);
    const loaded = performance.now();
    await sleep(500);
    clearInterval(timer);
    await sleep(1000);
    t.deepEqual(await answer(port, 'v.big.test', 'TXT'), ['v2'], 'the new version serves');

    const { gap, at } = gapIn(edit, loaded);
    const pause = pauseIn(edit, loaded);
    const before = gapIn(t0 + 500, edit).gap;
    const pauseBefore = pauseIn(t0 + 500, edit);
    const lost = sent - answeredAt.length;
    t.log(`reload of ${NAMES.toLocaleString('en-US')} names: ${Math.round(loaded - edit)} ms; ${answeredAt.length}/${sent} answered`);
    t.log(
      `longest gap between answers during it ${gap.toFixed(1)} ms, from ${Math.round(at - edit)} ms after the edit; the client's own longest pause then ${pause.toFixed(1)} ms`,
    );
    t.log(
      `with no reload (the ${Math.round(edit - t0 - 500)} ms before): longest gap ${before.toFixed(1)} ms; the client's longest pause ${pauseBefore.toFixed(1)} ms`,
    );
    t.log(
      `longest gap beyond the client's own stretches in it: ${excessIn(t0 + 500, edit).toFixed(1)} ms with no reload, ${excessIn(edit, loaded).toFixed(1)} ms during it`,
    );
    t.is(lost, 0, 'every query answered');
    // the answering thread only attaches the built zone's buffer and builds its pools: it answers all through
    // the reload. A reload built on this thread stops answering for about its whole length; the bound leaves the
    // rest to the machine (two cores, the builder thread on one of them: the answering thread then waits for a
    // CPU, as the logs above show, which no client-side measure bounds): no gap a quarter of the reload long,
    // and answers in every quarter of it
    const quarter = (loaded - edit) / 4;
    t.true(gap < quarter, `longest gap ${gap.toFixed(1)} ms < a quarter of the reload (${quarter.toFixed(0)} ms)`);
    for (let k = 0; k < 4; k++) {
      const from = edit + k * quarter;
      t.true(
        answeredAt.some((a) => a >= from && a < from + quarter),
        `answers in quarter ${k + 1} of the reload`,
      );
    }
  },
);

test.serial(
  'a zone reload serves each zone once it is built: an edited small zone answers anew while a big one is still being built',
  async (t) => {
    t.timeout(300_000);
    const s = await startServer({ 'small.test.yaml': small('192.0.2.1'), 'big.test.yaml': big(100_000, 'v1') }, BASE_CONFIG);
    t.teardown(() => s.stop());
    replace(join(s.dir, 'zones', 'big.test.yaml'), big(100_000, 'v2'));
    replace(join(s.dir, 'zones', 'small.test.yaml'), small('192.0.2.2'));
    let done = false;
    const reload = s.server.reloadZones().then((r) => {
      done = true;
      return r;
    });
    let seenBigDuring = '';
    for (;;) {
      const a = await answer(s.port, 'www.small.test', 'A');
      if (a[0] === '192.0.2.2') {
        seenBigDuring = (await answer(s.port, 'v.big.test', 'TXT'))[0]!;
        break;
      }
      if (done) break;
      await sleep(5);
    }
    const doneWhenSmallServed = done;
    t.true((await reload).ok);
    t.false(doneWhenSmallServed, 'the small zone served its edit before the reload was done');
    t.is(seenBigDuring, 'v1', 'the big zone served its previous version meanwhile');
    t.deepEqual(await answer(s.port, 'v.big.test', 'TXT'), ['v2']);
    const unchanged = s.server.snapshot.zones.get('small.test');
    await s.server.reloadZones();
    t.is(s.server.snapshot.zones.get('small.test'), unchanged, 'a zone whose file did not change keeps its prepared object');
  },
);
