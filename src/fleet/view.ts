// The fleet's verdict on each probed target (docs/configuration.md#fleet): this instance's prober (the local
// table) and the other live instances' observations (from etcd) make the health the answer path reads (the
// served table: the same HealthTable object it reads without a fleet). `majority`: down when more than half of
// the observers see it down (a tie is up); `any_up`: up while any observer sees it up; `local`: this
// instance's own checks only. An observer is an instance whose lease is alive and that published the target.
import type { FleetHealth } from '../config/server-fleet.js';
import type { HealthTable, TargetHealth } from '../health/table.js';
import type { Observation } from './codec.js';

/** The verdict from the observations: `local` this instance's (undefined: not probed here), `remote` the others'. */
export function verdict(mode: FleetHealth, local: boolean | undefined, remote: readonly boolean[]): boolean {
  if (mode === 'local') return local ?? true;
  let up = local === undefined ? 0 : local ? 1 : 0;
  let down = local === false ? 1 : 0;
  for (const r of remote) {
    if (r) up++;
    else down++;
  }
  const observers = up + down;
  if (observers === 0) return true; // nobody probes it: up, as a target never heard of (health/table.ts)
  return mode === 'any_up' ? up > 0 : down <= observers / 2;
}

export class FleetView {
  /** Other instances' observations: instance → health key → observation. */
  private readonly remote = new Map<string, Map<string, Observation>>();

  constructor(
    private mode: FleetHealth,
    /** What this instance's prober writes. */
    private readonly local: HealthTable,
    /** What the answer path reads: kept equal to the verdicts. */
    private readonly served: HealthTable,
  ) {}

  setMode(mode: FleetHealth): void {
    this.mode = mode;
    for (const k of this.keys()) this.recompute(k);
  }

  /** An observation of another instance arrived (null: it was withdrawn). */
  setRemote(instance: string, healthKey: string, o: Observation | null): void {
    let m = this.remote.get(instance);
    if (o) {
      if (!m) {
        m = new Map();
        this.remote.set(instance, m);
      }
      m.set(healthKey, o);
    } else m?.delete(healthKey);
    this.recompute(healthKey);
  }

  /** Replaces every remote observation (a resync after (re)connecting; an empty map: etcd lost too long). */
  replaceRemote(all: Map<string, Map<string, Observation>>): void {
    const touched = new Set(this.keys());
    this.remote.clear();
    for (const [i, m] of all) {
      this.remote.set(i, new Map(m));
      for (const k of m.keys()) touched.add(k);
    }
    for (const k of touched) this.recompute(k);
  }

  /** The local table changed for `key` (the prober's onChange). */
  localChanged(key: string): void {
    this.recompute(key);
  }

  /** Per instance (this one included), up or down, by instance name, for /status. */
  observations(key: string, self: string): Record<string, 'up' | 'down'> {
    const seen: [string, 'up' | 'down'][] = [];
    const l = this.local.get(key);
    if (l) seen.push([self, l.up ? 'up' : 'down']);
    for (const [i, m] of this.remote) {
      const o = m.get(key);
      if (o) seen.push([i, o.up ? 'up' : 'down']);
    }
    return Object.fromEntries(seen.sort((a, b) => (a[0] < b[0] ? -1 : 1)));
  }

  /** How many instances observe `key` (metrics: steerdns_fleet_observers). */
  observers(key: string): number {
    let n = this.local.get(key) ? 1 : 0;
    for (const m of this.remote.values()) if (m.has(key)) n++;
    return n;
  }

  /** observers() of every target any instance observes. */
  allObservers(): [string, number][] {
    return [...this.keys()].map((k) => [k, this.observers(k)]);
  }

  private keys(): Set<string> {
    const ks = new Set<string>(this.local.keys());
    for (const m of this.remote.values()) for (const k of m.keys()) ks.add(k);
    return ks;
  }

  private recompute(key: string): void {
    const l = this.local.get(key);
    const remote: boolean[] = [];
    for (const m of this.remote.values()) {
      const o = m.get(key);
      if (o) remote.push(o.up);
    }
    const up = verdict(this.mode, l?.up, remote);
    const cur = this.served.get(key);
    // the served entry is the local one with the fleet's up/down (changing only when the verdict follows it)
    const patch: Partial<TargetHealth> = {
      up,
      changing: l !== undefined && l.up === up ? l.changing : false,
      lastCheck: l?.lastCheck ?? null,
      lastResult: l?.lastResult ?? (remote.length ? 'fleet' : null),
      rttMs: l?.rttMs ?? null,
    };
    if (!l && remote.length === 0) {
      // nobody observes it any more (no longer probed anywhere): a target never heard of, as without a fleet
      if (cur) this.served.delete(key);
      return;
    }
    if (cur && cur.up === patch.up && cur.changing === patch.changing && cur.lastCheck === patch.lastCheck && cur.rttMs === patch.rttMs)
      return;
    this.served.set(key, patch);
  }
}
