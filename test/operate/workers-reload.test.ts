// Rolling reloads with workers (docs/operations.md#workers, docs/configuration.md#reload): only the primary
// decides a reload and rolls it over the workers one at a time, so one worker always answers. A worker that
// finds a zone file changing while it reads it keeps its served version and asks the primary for a reload; it
// never reads the file again on its own, outside the roll.
//
// Against the real command line (`node dist/cli.js serve`, built by `npm test`), in a process group of its own.
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { SETTLE_MS } from '../../src/watch.js';
import { CLI, decode, type LoggedProcess, query, spawnLogged, tempDir, udpRaw } from '../helpers/server.js';
import { startLoop } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const SMALL = `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, minimum: 60, serial: 1 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  www: { A: 192.0.2.80 }
`;

const CONFIG = `
listen: ["127.0.0.1:0"]
zones: ./zones
workers: 2
log: { level: info }
state_dir: ./.steerdns-state
`;

/** big.test: `count` names of one A record, and `v` TXT saying which version this is. */
function bigZone(count: number, version: string): string {
  const lines = [
    'origin: big.test',
    'ttl: 300',
    'soa: { ns: ns1.big.test., email: h@big.test }',
    'records:',
    '  "@": { NS: [ns1] }',
    '  ns1: { A: 192.0.2.53 }',
    `  v: { TXT: ["${version}"] }`,
  ];
  for (let i = 0; i < count; i++) lines.push(`  h${i}: { A: 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} }`);
  return `${lines.join('\n')}\n`;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function serve(t: ExecutionContext, zones: Record<string, string>): Promise<{ dir: string; p: LoggedProcess; port: number }> {
  const dir = tempDir('steerdns-roll-');
  mkdirSync(join(dir, 'zones'));
  writeFileSync(join(dir, 'steerdns.yaml'), CONFIG);
  for (const [name, text] of Object.entries(zones)) writeFileSync(join(dir, 'zones', name), text);
  const p = spawnLogged(process.execPath, [CLI, 'serve', '-c', join(dir, 'steerdns.yaml')], { cwd: dir, detached: true });
  const pgid = p.child.pid!;
  t.teardown(async () => {
    if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
    await Promise.race([p.exited, sleep(5000)]);
    rmSync(dir, { recursive: true, force: true });
  });
  const serving = await p.waitForLog((l) => l.msg === 'serving', 120_000);
  return { dir, p, port: Number(/:(\d+)$/.exec((serving.listen as string[])[0]!)![1]) };
}

type Line = Record<string, unknown>;
const time = (l: Line) => l.time as number;
const isAck = (slot: number) => (l: Line) => l.process === undefined && l.msg === `worker ${slot} reloaded`;

/**
 * Each worker's rolled reloads as [start, end]: from its own "reloading" line to the primary's "worker N
 * reloaded" (the confirmation; its `ms` is the time the primary waited).
 */
function rolledReloads(logs: Line[], slot: number): [number, number][] {
  const out: [number, number][] = [];
  for (const ack of logs.filter(isAck(slot))) {
    const end = time(ack);
    const starts = logs.filter((l) => l.process === `worker-${slot}` && l.msg === 'reloading' && time(l) <= end);
    // (the primary's `ms` is rounded: the worker's own line is the start when there is one)
    out.push([starts.length ? time(starts[starts.length - 1]!) : end - (ack.ms as number), end]);
  }
  return out;
}

test.serial(
  'workers: 2 with a zone file written in parts during a rolling reload: the workers never reload at the same time, and one always answers',
  async (t) => {
    t.timeout(600_000);
    const NAMES = 30_000;
    const r = await serve(t, { 'example.test.yaml': SMALL, 'big.test.yaml': bigZone(NAMES, 'v0') });
    const file = join(r.dir, 'zones', 'big.test.yaml');
    const answeredAt: number[] = [];
    const loop = startLoop(t, r.port, [{ name: 'www.example.test', type: 'A', judge: (m) => (m.rcode === 'NOERROR' ? null : m.rcode) }], {
      timeoutMs: 60_000,
      describe: (q, m) => {
        answeredAt.push(Date.now());
        return `${q.type} ${m.rcode}`;
      },
    });
    const renameIn = (text: string) => {
      writeFileSync(join(r.dir, 'big.tmp'), text);
      renameSync(join(r.dir, 'big.tmp'), file);
    };

    // 1. one whole edit: how long one worker takes to reload the big zone, measured here
    let from = r.p.logs.length;
    renameIn(bigZone(NAMES, 'v1'));
    await r.p.waitForLog((l) => r.p.logs.indexOf(l) >= from && isAck(2)(l), 120_000);
    const single = Math.min(
      ...r.p.logs
        .slice(from)
        .filter((l) => isAck(1)(l) || isAck(2)(l))
        .map((l) => l.ms as number),
    );
    t.log(`one worker reloads the big zone in ${single} ms (the shorter of the two)`);

    // 2. another whole edit, and while the workers roll it in, the file is rewritten in place in parts (a pause
    //    shorter than the settle time between them) for three single reloads: reads of a worker see it change
    from = r.p.logs.length;
    const phase = Date.now();
    renameIn(bigZone(NAMES, 'v2'));
    await r.p.waitForLog((l) => r.p.logs.indexOf(l) >= from && l.msg === 'rolling reload: one worker at a time', 120_000);
    const text = Buffer.from(bigZone(NAMES, 'v3'));
    const pause = SETTLE_MS / 3;
    const parts = Math.max(2, Math.ceil((3 * single) / pause));
    const fd = openSync(file, 'w');
    for (let i = 0; i < parts; i++) {
      const a = Math.floor((i * text.length) / parts);
      writeSync(fd, text, a, Math.floor(((i + 1) * text.length) / parts) - a);
      await sleep(pause);
    }
    closeSync(fd);
    const written = Date.now();

    // every worker ends up serving v3
    const v3 = async () => {
      for (let i = 0; i < 8; i++) {
        const raw = await udpRaw(r.port, query('v.big.test', 'TXT'), 2000);
        if (!raw || !decode(raw).msg.answers.some((a) => String(a.data) === 'v3')) return false;
      }
      return true;
    };
    const until = Date.now() + 30 * single + 60_000;
    while (!(await v3())) {
      if (Date.now() > until) return t.fail(`v3 not served by every worker\n${r.p.lines.slice(-40).join('\n')}`);
      await sleep(200);
    }
    // the last roll is confirmed by both workers before the loop stops
    await sleep(single);
    const res = await loop.stop();
    const logs = r.p.logs.filter((l) => time(l) >= phase);

    // the workers' reloads (their "reloading" to the primary's confirmation) never overlap
    const w1 = rolledReloads(logs, 1);
    const w2 = rolledReloads(logs, 2);
    const show = logs
      .filter((l) => l.msg !== 'query')
      .map((l) => `${time(l) - phase} ${String(l.process ?? 'primary')} ${String(l.msg)} ${String(l.what ?? '')}`)
      .join('\n');
    for (const [a0, a1] of w1)
      for (const [b0, b1] of w2)
        t.true(
          a1 <= b0 || b1 <= a0,
          `worker 1 [${a0 - phase}, ${a1 - phase}] and worker 2 [${b0 - phase}, ${b1 - phase}] overlap\n${show}`,
        );
    // and a worker reads zone files only inside a reload the primary rolled to it
    for (const [slot, spans] of [
      [1, w1],
      [2, w2],
    ] as const) {
      const reads = logs.filter(
        (l) => l.process === `worker-${slot}` && typeof l.file === 'string' && (l.file as string).includes('big.test'),
      );
      for (const l of reads)
        t.true(
          spans.some(([a, b]) => time(l) >= a && time(l) <= b),
          `worker ${slot} read the zone outside a rolled reload at ${time(l) - phase} ms: ${String(l.msg)}\n${show}`,
        );
      t.true(
        logs.some((l) => l.process === `worker-${slot}` && /changed while it was being read/.test(String(l.msg))) || reads.length > 0,
        `worker ${slot} read the zone during the writes`,
      );
    }
    t.true(
      logs.some((l) => l.process !== undefined && /changed while it was being read/.test(String(l.msg))),
      `a worker caught the file mid-write (the case under test)\n${show}`,
    );

    // answers kept flowing: no gap as long as one worker's reload, measured above
    const window = answeredAt.filter((x) => x >= phase);
    let maxGap = 0;
    for (let i = 1; i < window.length; i++) maxGap = Math.max(maxGap, window[i]! - window[i - 1]!);
    t.log(
      `${parts} parts written over ${written - phase} ms; ${res.answered}/${res.sent} answered; longest gap ${maxGap} ms; single reload ${single} ms`,
    );
    t.deepEqual(res.failures, [], 'every query answered');
    t.true(maxGap < single, `longest gap between answers ${maxGap} ms is shorter than one worker's reload (${single} ms)`);
  },
);
