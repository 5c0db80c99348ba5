// A stall of the prober's event loop (a long GC pause, a starved CPU) must not bunch the probe schedule for good
// (what made the scale test's "spread" flaky). The probes due during the stall all start
// together when it ends — nothing can help that — but each keeps its place in the schedule: the next round is
// spread as before the stall, not fired together again one interval later, and the one after that, and so on.
// In its own process (ava runs each file apart): the stall is this event loop held busy on purpose.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import test from 'ava';
import type { ProbeResult } from '../../src/health/checks.js';
import { Prober } from '../../src/health/prober.js';
import { HealthTable } from '../../src/health/table.js';
import { captureLogger, checkSpec, checkTarget } from './backends.js';

const N = 300;
const IV = 500;
const STALL = 300;
const BUCKET = 50;

test('after a stall of the event loop the next rounds of probes are spread as before, not bunched', async (t) => {
  const starts: number[] = [];
  // what is under test is the schedule: the probe itself answers at once (no network involved)
  const instant = (): Promise<ProbeResult> => {
    starts.push(performance.now());
    return Promise.resolve({ ok: true, reason: 'connected', kind: 'success', rttMs: 0 });
  };
  const prober = new Prober({ table: new HealthTable(), log: captureLogger().log, panic: null, panicMinTargets: 10, probe: instant });
  t.teardown(() => prober.stop());
  prober.update(
    Array.from({ length: N }, (_, i) =>
      checkTarget(`192.0.2.${i % 250}`, checkSpec({ type: 'tcp', port: 1000 + i, intervalMs: IV, timeoutMs: 100 })),
    ),
  );
  await new Promise((r) => setTimeout(r, 2 * IV));

  // the stall: this event loop busy for STALL ms, the prober's ticks with it
  const s0 = performance.now();
  while (performance.now() - s0 < STALL) {
    /* busy */
  }
  const end = performance.now();
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  await new Promise((r) => setTimeout(r, 2.2 * IV));
  lag.disable();

  const pile = starts.filter((x) => x >= end && x < end + 2 * 25).length;
  // one interval on (from 0.6 to 1.6 intervals after the stall): were the piled probes still together, about
  // STALL / IV × N of them (180) would fall in the two or three buckets one jittered interval after the pile
  const from = end + 0.6 * IV;
  const buckets = new Array<number>(IV / BUCKET).fill(0);
  for (const x of starts) if (x >= from && x < from + IV) buckets[Math.floor((x - from) / BUCKET)]!++;
  const mean = N / buckets.length;
  // uniform: 30 a bucket (binomial, σ ≈ 5); plus what a stall of this process while measuring piled up (measured)
  const lagMs = lag.max / 1e6;
  const bound = 2 * mean + Math.ceil((lagMs / IV) * N);
  t.log(
    `${pile} probes started together right after the ${STALL} ms stall; one interval later, per ${BUCKET} ms: ${buckets.join(' ')} (bound ${bound}, event-loop delay while measuring ${lagMs.toFixed(0)} ms)`,
  );
  t.true(pile >= 0.5 * (STALL / IV) * N, `the stall piled up ${pile} probes`);
  t.true(Math.max(...buckets) <= bound, `probes per ${BUCKET} ms one interval after the stall: ${buckets.join(' ')}`);
  // about one probe of each target in that interval (± the jitter)
  const total = buckets.reduce((a, b) => a + b, 0);
  t.true(total >= 0.8 * N && total <= 1.2 * N, `${total} probes in one interval`);
});
