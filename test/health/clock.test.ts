// The probe schedule runs on the monotonic clock (docs/operations.md#health-checking): a step of the wall
// clock — NTP fixing a wrong clock at boot, an operator's `date -s`, a VM resumed — neither freezes probing (a
// step back) nor fires every probe at once (a step forward). The wall clock is stepped here by replacing
// Date.now in this test process (its own process: ava runs each file apart), with real probes of real TCP
// backends on 127.0.8.x; probe times are taken with performance.now(). lastCheck, which people read, still
// follows the wall clock.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import test from 'ava';
import { type ProbeResult, type ProbeTarget, probe } from '../../src/health/checks.js';
import { Prober, SLOT_MS } from '../../src/health/prober.js';
import { HealthTable } from '../../src/health/table.js';
import { captureLogger, checkSpec, checkTarget, TcpBackend } from './backends.js';

const IV = 200;
const HOUR = 3_600_000;

/** Polls on the monotonic clock (Date.now is being stepped here). */
async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a wall-clock step back or forward changes nothing in the probe schedule; lastCheck follows the wall clock', async (t) => {
  const backends = await TcpBackend.startMany([1, 2, 3, 4, 5].map((i) => `127.0.8.${i}`));
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const realNow = Date.now;
  let offset = 0;
  Date.now = () => realNow() + offset;
  t.teardown(() => {
    Date.now = realNow;
  });

  const starts = new Map<string, number[]>(backends.map((b) => [b.host, []]));
  const recording = (pt: ProbeTarget): Promise<ProbeResult> => {
    starts.get(pt.address)!.push(performance.now());
    return probe(pt);
  };
  // how late this event loop ran, from before the first probe: the only slack added to the bounds (the gap
  // straddling a step starts at a probe of the warm-up, so a stall then must be counted too)
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  t.teardown(() => lag.disable());
  const table = new HealthTable();
  const prober = new Prober({ table, log: captureLogger().log, panic: null, panicMinTargets: 10, probe: recording });
  t.teardown(() => prober.stop());
  const targets = backends.map((b) =>
    checkTarget(b.host, checkSpec({ type: 'tcp', port: b.port, intervalMs: IV, timeoutMs: 1000, rise: 1, fall: 3 })),
  );
  prober.update(targets);
  const each = (n: number, from: number) => [...starts.values()].every((s) => s.filter((x) => x >= from).length >= n);
  await until(() => each(2, 0), 10_000, 'two probes of every target');

  const steps: { name: string; by: number }[] = [
    { name: 'back one hour', by: -HOUR },
    { name: 'forward two hours', by: 2 * HOUR },
  ];
  for (const step of steps) {
    const at = performance.now();
    offset += step.by;
    await until(() => each(4, at), 10_000, `four probes of every target after the step ${step.name}`);
    const slack = SLOT_MS + 10 + lag.max / 1e6;
    for (const [host, s] of starts) {
      // the gap straddling the step, and the ones after it: each one jittered interval (± 10 %), no more, no less
      const from = s.findLastIndex((x) => x < at);
      const gaps = s.slice(Math.max(0, from) + 1).map((x, i) => x - s[Math.max(0, from) + i]!);
      t.true(
        gaps.every((g) => g >= 0.9 * IV - 5 - lag.max / 1e6 && g <= 1.1 * IV + slack),
        `${host} after the step ${step.name}: gaps ${gaps.map((g) => g.toFixed(0)).join(', ')} ms (slack ${slack.toFixed(0)} ms)`,
      );
    }
    // what people read is wall-clock time: the last check is stamped with the stepped clock
    for (const x of targets)
      t.true(
        Math.abs(table.get(x.key)!.lastCheck! - Date.now()) < 10 * IV,
        `${x.address}: lastCheck ${table.get(x.key)!.lastCheck} vs now ${Date.now()}`,
      );
  }
  lag.disable();
  t.true(targets.every((x) => table.isUp(x.key)));
  t.true([...starts.values()].every((s) => s.length >= 10));
});
