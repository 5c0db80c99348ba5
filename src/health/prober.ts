// The active health prober (docs/operations.md#health-checking). It owns time: one schedule per distinct check
// identity (what is probed: address, port, check, host — however many pools share it), probes spread over the
// interval with jitter, rise/fall state machine, exponential backoff for down targets, and panic mode. It
// writes the HealthTable and emits state changes; the answer path only reads the table. The schedule runs on
// the monotonic clock (performance.now()): a step of the wall clock neither freezes probing nor fires every
// probe at once; the wall clock only stamps what people read (lastCheck).
import type { Logger } from 'pino';
import type { HealthDefaults } from '../config/server-config.js';
import type { CheckSpec } from '../config/zone-file.js';
import { probe as defaultProbe, type ProbeResult, type ProbeSource, type ProbeTarget } from './checks.js';
import type { HealthTable } from './table.js';

/** Where a probed target is used, for logs and metrics. */
export interface TargetUse {
  zone: string;
  pool: string;
  region: string;
}

export interface CheckTarget {
  key: string;
  address: string;
  check: CheckSpec;
  uses: TargetUse[];
}

export interface StateChange {
  key: string;
  address: string;
  uses: TargetUse[];
  from: 'up' | 'down';
  to: 'up' | 'down';
  reason: string;
}

interface Scheduled {
  target: CheckTarget;
  up: boolean;
  successes: number;
  failures: number;
  /** The latest probe failed (panic counts these). */
  failing: boolean;
  /** Consecutive probes while down, for the backoff. */
  downProbes: number;
  rttMs: number | null;
  /** When the next probe is due (monotonic ms, performance.now()), 0 when none is scheduled, and its wheel slot. */
  due: number;
  slot: number;
  /** When the probe now running (or the last one) was due. */
  dueWas: number;
  inFlight: boolean;
  stopped: boolean;
  probes: number;
}

export interface ProberOptions {
  table: HealthTable;
  log: Logger;
  panic: HealthDefaults['panic'];
  panicMinTargets: number;
  /** Called for every probe result (metrics). */
  onResult?: (t: CheckTarget, r: ProbeResult) => void;
  onChange?: (c: StateChange) => void;
  /** `health.source`: the address probes of its family leave from (not part of a check's identity). */
  source?: ProbeSource | null;
  /** Replaceable for tests. */
  probe?: (t: ProbeTarget) => Promise<ProbeResult>;
  random?: () => number;
}

const JITTER = 0.1; // ±10% of the interval
export const SLOT_MS = 25; // resolution of the probe schedule
const EWMA = 0.3; // weight of the newest response time

export class Prober {
  private readonly targets = new Map<string, Scheduled>();
  private panicking = false;
  /** Targets whose latest probe failed (kept as a count: panic is re-evaluated on every result). */
  private failingCount = 0;
  private readonly probeFn: (t: ProbeTarget) => Promise<ProbeResult>;
  private readonly random: () => number;

  constructor(private opts: ProberOptions) {
    this.probeFn = opts.probe ?? defaultProbe;
    this.random = opts.random ?? Math.random;
  }

  setPanic(panic: HealthDefaults['panic'], panicMinTargets: number): void {
    this.opts = { ...this.opts, panic, panicMinTargets };
    this.updatePanic();
  }

  get size(): number {
    return this.targets.size;
  }

  get inPanic(): boolean {
    return this.panicking;
  }

  /** Probes completed per key (tests and /status). */
  probeCount(key: string): number {
    return this.targets.get(key)?.probes ?? 0;
  }

  /**
   * Replaces the set of probed targets: new ones start (spread over their interval), removed ones stop,
   * unchanged ones keep their state and schedule (a reload never resets health).
   */
  update(list: CheckTarget[]): void {
    const next = new Map(list.filter((t) => t.check.type !== 'none').map((t) => [t.key, t]));
    for (const [key, s] of this.targets) {
      if (!next.has(key)) {
        if (s.failing) this.failingCount--;
        s.stopped = true;
        s.due = 0;
        this.targets.delete(key);
        this.opts.table.delete(key);
      }
    }
    for (const [key, t] of next) {
      const s = this.targets.get(key);
      if (s) {
        const was = s.target.check.intervalMs;
        s.target = t; // new uses or timings (rise, fall, timeout, interval): the state stays, they apply from now
        if (t.check.intervalMs !== was) this.reschedule(s);
        continue;
      }
      const up = t.check.initial === 'up';
      const st: Scheduled = {
        target: t,
        up,
        successes: 0,
        failures: 0,
        failing: false,
        downProbes: 0,
        rttMs: null,
        due: 0,
        slot: 0,
        dueWas: 0,
        inFlight: false,
        stopped: false,
        probes: 0,
      };
      this.targets.set(key, st);
      this.opts.table.set(key, {
        up,
        changing: false,
        lastCheck: null,
        lastResult: up ? 'not checked yet' : 'not checked yet (initial: down)',
        rttMs: null,
      });
      this.schedule(st, this.random() * t.check.intervalMs);
    }
    // every target of type none is simply up; those no pool uses any more leave the table
    const none = new Set(list.filter((t) => t.check.type === 'none').map((t) => t.key));
    for (const key of none)
      if (!this.opts.table.get(key)) this.opts.table.set(key, { up: true, lastResult: 'not checked (check type none)' });
    for (const key of [...this.noneKeys]) if (!none.has(key)) this.opts.table.delete(key);
    this.noneKeys = none;
    this.updatePanic(); // fewer or more targets may change the verdict now, not at the next probe
  }

  private noneKeys = new Set<string>();

  /**
   * A new interval applies from now: a probe due later than the new schedule allows (an up target's jittered
   * interval, a down one's capped backoff) moves into the new interval, spread as new targets are. One due
   * sooner keeps its time; the probes after it follow the new interval.
   */
  private reschedule(s: Scheduled): void {
    if (s.inFlight || s.due === 0) return; // the end of the probe in flight schedules with the new interval
    const iv = s.target.check.intervalMs;
    const most = s.up ? iv * (1 + JITTER) : 4 * iv;
    if (s.due - performance.now() > most) this.schedule(s, this.random() * iv);
  }

  stop(): void {
    for (const s of this.targets.values()) {
      s.stopped = true;
      s.due = 0;
    }
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    this.wheel.clear();
    this.targets.clear();
    this.failingCount = 0;
  }

  // Probes are due at jittered, all-different times: one Node timer each would give Node's timer lists
  // tens of thousands of distinct durations to keep sorted. Instead a wheel of 25 ms slots and one ticking
  // interval: a tick starts every probe that is due, so a probe runs at the first tick at or after its due
  // time — never early, at most one tick late (plus however late the tick itself fires).
  private readonly wheel = new Map<number, Scheduled[]>();
  private ticker: NodeJS.Timeout | null = null;
  /** The first slot the next tick looks at (slots before it are empty). */
  private lastSlot = Math.floor(performance.now() / SLOT_MS);

  private schedule(s: Scheduled, delayMs: number): void {
    if (s.stopped) return;
    s.due = performance.now() + Math.max(0, delayMs);
    // the slot holding the due time, never one the wheel has already passed
    const slot = Math.max(Math.floor(s.due / SLOT_MS), this.ticker ? this.lastSlot : 0);
    s.slot = slot;
    const list = this.wheel.get(slot);
    if (list) list.push(s);
    else this.wheel.set(slot, [s]);
    if (!this.ticker) {
      this.lastSlot = Math.floor(performance.now() / SLOT_MS);
      this.ticker = setInterval(() => this.tick(), SLOT_MS);
      this.ticker.unref();
    }
  }

  private tick(): void {
    const at = performance.now();
    const now = Math.floor(at / SLOT_MS);
    const ready: Scheduled[] = [];
    for (let slot = this.lastSlot; slot <= now; slot++) {
      const list = this.wheel.get(slot);
      if (!list) continue;
      this.wheel.delete(slot);
      let later: Scheduled[] | null = null;
      for (const s of list) {
        // a target stopped or rescheduled since has another slot now: skip this entry
        if (s.stopped || s.due === 0 || s.slot !== slot) continue;
        // the current slot holds probes due later in it: they wait for the next tick
        if (s.due > at) {
          later ??= [];
          later.push(s);
        } else {
          s.dueWas = s.due;
          s.due = 0;
          ready.push(s);
        }
      }
      if (later) this.wheel.set(slot, later);
    }
    this.lastSlot = now;
    for (const s of ready) this.start(s);
    if (this.wheel.size === 0 && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = null;
    }
  }

  /** Runs a probe; whatever goes wrong in it is logged, never left as an unhandled rejection. */
  private start(s: Scheduled): void {
    this.run(s).catch((e: unknown) => {
      s.inFlight = false;
      this.opts.log.error(
        { err: e, target: s.target.address, key: s.target.key },
        `prober: unexpected error probing ${s.target.address}: ${(e as Error)?.message ?? String(e)}`,
      );
      // the target keeps its schedule: probed again one interval later
      if (!s.stopped && s.due === 0) this.schedule(s, this.jittered(s.target.check.intervalMs));
    });
  }

  private jittered(ms: number): number {
    return ms * (1 + JITTER * (2 * this.random() - 1));
  }

  private async run(s: Scheduled): Promise<void> {
    if (s.stopped || s.inFlight) return;
    s.inFlight = true;
    const { address, check } = s.target;
    const started = performance.now();
    let r: ProbeResult;
    try {
      r = await this.probeFn({ address, check, source: this.opts.source });
    } catch (e) {
      // a probe that throws (synchronously or not) is a failed probe with the reason, never a crash
      r = { ok: false, reason: `probe error: ${(e as Error)?.message ?? String(e)}`, kind: 'error', rttMs: performance.now() - started };
    }
    s.inFlight = false;
    if (s.stopped) return;
    s.probes++;
    this.opts.onResult?.(s.target, r);
    this.record(s, r);
    // a down target backs off exponentially (capped at 4 × interval); a success returns to the interval
    const iv = s.target.check.intervalMs; // the latest timings: a reload during the probe applies to the next
    const backoff = !s.up && !r.ok;
    const base = backoff ? iv * 2 ** Math.min(s.downProbes, 8) : iv;
    // jitter spreads the probes, but never past the cap: a down target is probed at least every 4 × interval
    const delay = backoff ? Math.min(4 * iv, this.jittered(base)) : this.jittered(base);
    // measured from this probe's start, so a slow (timing-out) probe does not stretch the schedule: still probed
    // every interval, and down within fall × interval + timeout. A start later than one tick of the wheel (the
    // event loop stalled) counts from the due time instead: measured from their late start, every probe due
    // during a stall would stay bunched with the others, a burst of connections, for many intervals
    const from = Math.min(started, s.dueWas + SLOT_MS);
    this.schedule(s, delay - (performance.now() - from));
  }

  private record(s: Scheduled, r: ProbeResult): void {
    const { check, key } = s.target;
    if (s.failing !== !r.ok) this.failingCount += r.ok ? -1 : 1;
    s.failing = !r.ok;
    if (r.ok) {
      s.successes++;
      s.failures = 0;
      s.downProbes = 0;
      s.rttMs = s.rttMs === null ? r.rttMs : s.rttMs + EWMA * (r.rttMs - s.rttMs);
    } else {
      s.failures++;
      s.successes = 0;
      if (!s.up) s.downProbes++;
    }
    this.updatePanic();
    let changed: StateChange | null = null;
    if (!s.up && s.successes >= check.rise) {
      s.up = true;
      changed = { key, address: s.target.address, uses: s.target.uses, from: 'down', to: 'up', reason: r.reason };
    } else if (s.up && s.failures >= check.fall && !this.panicking) {
      s.up = false;
      s.downProbes = 0;
      changed = { key, address: s.target.address, uses: s.target.uses, from: 'up', to: 'down', reason: r.reason };
    }
    const changing = s.up ? s.failures > 0 : s.successes > 0;
    this.opts.table.set(key, { up: s.up, changing, lastCheck: Date.now(), lastResult: r.reason, rttMs: s.rttMs });
    if (changed) {
      this.opts.log[changed.to === 'down' ? 'warn' : 'info'](
        {
          target: changed.address,
          key,
          pools: changed.uses.map((u) => `${u.pool} (${u.region})`),
          from: changed.from,
          to: changed.to,
          reason: changed.reason,
        },
        `target ${changed.address} ${changed.from} → ${changed.to}: ${changed.reason}`,
      );
      this.opts.onChange?.(changed);
    }
  }

  /** Panic: more than `panic` of the probed targets failing (and enough of them) suspends up → down. */
  private updatePanic(): void {
    const { panic, panicMinTargets } = this.opts;
    const failing = this.failingCount;
    const total = this.targets.size;
    const now = panic !== null && total >= panicMinTargets && failing > panic * total;
    if (now === this.panicking) return;
    this.panicking = now;
    if (now) {
      this.opts.log.error(
        { failing, total, panic },
        `PANIC: ${failing} of ${total} probed targets are failing (over ${Math.round(panic! * 100)}%): suspecting the prober's own network, no target is taken down until this clears`,
      );
    } else {
      this.opts.log.warn({ failing, total }, `panic over: ${failing} of ${total} probed targets failing; normal health transitions resume`);
    }
  }
}
