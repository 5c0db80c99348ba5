// The health table: one entry per health-check identity (address, port, check, host). Written only by the
// prober (and by tests, which set states directly); read by the answer path through HealthView. A target the
// table has never heard of is up: a restart never black-holes traffic (docs/operations.md#health-checking).

export interface TargetHealth {
  up: boolean;
  /** Consecutive results pointing the other way (rise/fall in progress): "between states". */
  changing: boolean;
  since: number;
  lastCheck: number | null;
  lastResult: string | null;
  /** Smoothed response time of successful probes, milliseconds. */
  rttMs: number | null;
}

/** What the answer path may ask of health: synchronous table lookups, nothing else. */
export interface HealthView {
  /** Changes whenever a target's up/down or between-states flag changes (not on every probe). */
  readonly version: number;
  isUp(key: string): boolean;
  /** Up but with failures accumulating, or down with successes accumulating. */
  isChanging(key: string): boolean;
  rttMs(key: string): number | null;
  get(key: string): TargetHealth | undefined;
}

export class HealthTable implements HealthView {
  private readonly entries = new Map<string, TargetHealth>();
  /** Bumped when a target goes up or down or starts or stops changing: decisions memoized on it are stale. */
  version = 0;
  /** Called on every change (the primary forwards them to the worker processes). */
  onChange: ((key: string, entry: TargetHealth | null) => void) | null = null;

  isUp(key: string): boolean {
    return this.entries.get(key)?.up ?? true;
  }

  isChanging(key: string): boolean {
    return this.entries.get(key)?.changing ?? false;
  }

  rttMs(key: string): number | null {
    return this.entries.get(key)?.rttMs ?? null;
  }

  get(key: string): TargetHealth | undefined {
    return this.entries.get(key);
  }

  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  /** Sets a target's state (the prober, tests, worker updates). */
  set(key: string, patch: Partial<TargetHealth>): void {
    const prev = this.entries.get(key);
    if (!prev) {
      this.entries.set(key, { up: true, changing: false, since: Date.now(), lastCheck: null, lastResult: null, rttMs: null, ...patch });
      this.version++;
      this.onChange?.(key, this.entries.get(key)!);
      return;
    }
    // updated in place: a prober writes here thousands of times a second (readers are synchronous)
    const wasUp = prev.up;
    const wasChanging = prev.changing;
    if (patch.up !== undefined) prev.up = patch.up;
    if (patch.changing !== undefined) prev.changing = patch.changing;
    if (patch.lastCheck !== undefined) prev.lastCheck = patch.lastCheck;
    if (patch.lastResult !== undefined) prev.lastResult = patch.lastResult;
    if (patch.rttMs !== undefined) prev.rttMs = patch.rttMs;
    if (patch.since !== undefined) prev.since = patch.since;
    else if (wasUp !== prev.up) prev.since = Date.now();
    if (wasUp !== prev.up || wasChanging !== prev.changing) this.version++;
    this.onChange?.(key, prev);
  }

  /** Something the answer reads along with health changed (runtime overrides): decisions memoized on this table are stale. */
  touch(): void {
    this.version++;
  }

  delete(key: string): void {
    if (this.entries.delete(key)) {
      this.version++;
      this.onChange?.(key, null);
    }
  }

  /** Every entry, for a worker that starts. */
  entriesList(): [string, TargetHealth][] {
    return [...this.entries];
  }

  /** Applies entries from the primary as they are (null deletes). */
  apply(list: [string, TargetHealth | null][]): void {
    for (const [key, e] of list) {
      if (e) this.entries.set(key, e);
      else this.entries.delete(key);
    }
    this.version++;
  }
}

export const ALL_UP: HealthView = {
  version: 0,
  isUp: () => true,
  isChanging: () => false,
  rttMs: () => null,
  get: () => undefined,
};
