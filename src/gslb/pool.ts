// Pools prepared for answering: targets with their RDATA ready, regions resolved against steerdns.yaml.
// The decision (which region, which targets) is made by pure functions of (pool, client, health, state).
import type { Region, ServerConfig } from '../config/server-config.js';
import { type Diagnostic, displayPath } from '../config/source.js';
import type { CheckSpec, PoolSpec, ZoneSpec } from '../config/zone-file.js';
import { relativeName } from '../dns/name.js';
import { healthKey, tighterCheck } from '../health/probe-list.js';
import { newPoolMemos, type PoolMemos } from './memo.js';
import { dependsOnClient, keyText, type OrderingKey, orderingKey } from './order.js';

export interface Target {
  address: string;
  family: 4 | 6;
  /** A or AAAA RDATA. */
  rdata: Buffer;
  weight: number;
  /** `state: down` in the zone file: never served. */
  adminDown: boolean;
  /** Identity of this target's health check (what is probed, not when): one prober per key. */
  healthKey: string;
}

export interface PoolRegion {
  name: string;
  region: Region;
  targets: Target[];
  /** Prepared at load: targets not `state: down` (all, and by family). */
  live: Target[];
  live4: Target[];
  live6: Target[];
  /** Healthy targets the region needs to qualify (min_healthy over `live`, at least 1). */
  need: number;
}

export interface Pool {
  name: string;
  zone: string;
  spec: PoolSpec;
  ttl: number;
  regions: PoolRegion[];
  has4: boolean;
  has6: boolean;
  /** `all_down: { fallback: POOL }`, resolved among the zone's pools (zonePools). */
  fallback: Pool | null;
  /** What the region order depends on (order.ts), and its identity: pools with one key share a decision table. */
  key: OrderingKey;
  keyText: string;
  /** Whether the order depends on where the client is (then the pool answers from a compiled table). */
  dependsOnClient: boolean;
  /** Region orders and plans memoized for this pool (memo.ts). */
  memos: PoolMemos;
}

/**
 * `check` warnings for a probed identity whose check carries other timings (interval, timeout, rise, fall,
 * initial) in another pool, across all zones: the pools share one prober, and the server picks its timings
 * without a word (health/probe-list.ts probeList: the shortest interval, with its timeout, rise, fall and initial;
 * on equal intervals the first pool in file order). One warning per pool, at its check, against the first pool
 * (in file order) that probes the same identity, naming the timings that will be used. `zones` in file order.
 */
export function sharedCheckTimingWarnings(zones: ZoneSpec[]): Diagnostic[] {
  interface Use {
    zone: ZoneSpec;
    pool: PoolSpec;
    address: string;
  }
  const byKey = new Map<string, { uses: Use[]; used: Use }>();
  for (const zone of zones) {
    for (const n of zone.names.values()) {
      const pool = n.pool;
      if (!pool || pool.check.type === 'none') continue;
      for (const r of pool.regions) {
        for (const t of r.targets) {
          if (t.state === 'down') continue; // never probed
          const use = { zone, pool, address: t.address };
          const k = byKey.get(healthKey(pool, t.address));
          if (!k) byKey.set(healthKey(pool, t.address), { uses: [use], used: use });
          else {
            k.uses.push(use);
            if (tighterCheck(pool.check, k.used.pool.check)) k.used = use;
          }
        }
      }
    }
  }
  const out: Diagnostic[] = [];
  const warned = new Set<PoolSpec>();
  for (const { uses, used } of byKey.values()) {
    const first = uses[0]!;
    for (const u of uses.slice(1)) {
      if (warned.has(u.pool) || u.pool === first.pool || sameTimings(u.pool.check, first.pool.check)) continue;
      warned.add(u.pool);
      const pos = u.pool.check.pos ?? u.zone.originPos;
      const name = (x: Use) => `pool "${x.zone === u.zone ? relativeName(x.pool.name, x.zone.origin) : `${x.pool.name}.`}"`;
      const at = first.pool.check.pos ? ` (${displayPath(first.zone.file)}:${first.pool.check.pos.line}:${first.pool.check.pos.col})` : '';
      out.push({
        file: displayPath(u.zone.file),
        line: pos.line,
        col: pos.col,
        severity: 'warning',
        message: `${name(u)} check probes ${u.address} like ${name(first)}${at} but with other timings: here ${timings(u.pool.check)}; there ${timings(first.pool.check)}. One prober serves both, with ${timings(used.pool.check)}: those of ${used.pool === u.pool ? 'this pool' : name(used)} (${why(uses, used)})`,
      });
    }
  }
  return out.sort((a, b) => (a.file === b.file ? a.line - b.line || a.col - b.col : a.file < b.file ? -1 : 1));
}

/** Why `used` gives the shared prober its timings (as probeList chooses). */
function why(uses: { pool: PoolSpec }[], used: { pool: PoolSpec }): string {
  const iv = used.pool.check.intervalMs;
  return uses.every((x) => x.pool.check.intervalMs === iv)
    ? 'the intervals are equal: the shorter timeout, then the fewer fall, then rise'
    : 'the shortest interval';
}

function sameTimings(a: CheckSpec, b: CheckSpec): boolean {
  return a.intervalMs === b.intervalMs && a.timeoutMs === b.timeoutMs && a.rise === b.rise && a.fall === b.fall && a.initial === b.initial;
}

function timings(c: CheckSpec): string {
  const d = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);
  return `interval ${d(c.intervalMs)}, timeout ${d(c.timeoutMs)}, rise ${c.rise}, fall ${c.fall}, initial ${c.initial}`;
}

export function buildPool(spec: PoolSpec, zone: string, cfg: ServerConfig): Pool {
  const regions: PoolRegion[] = spec.regions.map((r) => {
    const targets: Target[] = r.targets.map((t) => ({
      address: t.address,
      family: t.family,
      rdata: t.bytes,
      weight: t.weight,
      adminDown: t.state === 'down',
      healthKey: healthKey(spec, t.address),
    }));
    const live = targets.filter((t) => !t.adminDown);
    const m = spec.minHealthy;
    const need = Math.max(1, 'count' in m ? m.count : Math.ceil((m.percent * live.length) / 100));
    return {
      name: r.region,
      region: cfg.regions.get(r.region)!,
      targets,
      live,
      live4: live.filter((t) => t.family === 4),
      live6: live.filter((t) => t.family === 6),
      need,
    };
  });
  const all = regions.flatMap((r) => r.targets);
  const key = orderingKey({ spec, regions });
  return {
    name: spec.name,
    zone,
    spec,
    ttl: spec.ttl,
    regions,
    has4: all.some((t) => t.family === 4),
    has6: all.some((t) => t.family === 6),
    fallback: null,
    key,
    keyText: keyText(key),
    dependsOnClient: dependsOnClient(key),
    memos: newPoolMemos(),
  };
}

/**
 * Every pool of a zone, by owner name in file order, with `all_down: { fallback: POOL }` resolved among them
 * (a fallback the zone does not define stays null: the zone reader refuses one, this never guesses).
 */
export function zonePools(spec: ZoneSpec, cfg: ServerConfig): Map<string, Pool> {
  const pools = new Map<string, Pool>();
  for (const n of spec.names.values()) if (n.pool) pools.set(n.name, buildPool(n.pool, spec.origin, cfg));
  for (const p of pools.values()) {
    if (p.spec.allDown.kind === 'fallback') p.fallback = pools.get(p.spec.allDown.pool) ?? null;
  }
  return pools;
}
