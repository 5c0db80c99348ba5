// The answer for a pool name: which region, which targets, what TTL. Pure: health, rotation state and the
// random source come in through `GslbEnv`, so tests and `explain` call the same function the server does.
import type { Pool, PoolRegion, Target } from './pool.js';

/** Read-only view of the prober's table. */
export interface HealthView {
  isUp(key: string): boolean;
}

export const ALL_UP: HealthView = { isUp: () => true };

/** Round-robin positions, one counter per pool region (per process). */
export class Rotation {
  private readonly counters = new WeakMap<object, number>();

  next(key: object): number {
    const n = (this.counters.get(key) ?? -1) + 1;
    this.counters.set(key, n >= 0x3fffffff ? 0 : n);
    return n;
  }
}

export interface ClientInfo {
  /** Source address of the query (text). */
  address: string;
}

export interface GslbEnv {
  health: HealthView;
  rotation: Rotation;
  random: () => number;
}

export interface PoolDecision {
  kind: 'answer' | 'nodata' | 'servfail';
  rdata: Buffer[];
  ttl: number;
  /** ECS scope prefix length this decision depends on (0 = same answer for every client). */
  scope: number;
}

function usable(t: Target, env: GslbEnv): boolean {
  return !t.adminDown && env.health.isUp(t.healthKey);
}

function pickRegion(pool: Pool, env: GslbEnv): PoolRegion | null {
  for (const r of pool.regions) {
    if (r.region.state !== 'down' && r.targets.some((t) => usable(t, env))) return r;
  }
  return pool.regions.find((r) => r.targets.some((t) => !t.adminDown)) ?? null;
}

/** The A (family 4) or AAAA (family 6) answer of a pool for one client. */
export function answerPool(pool: Pool, family: 4 | 6, _client: ClientInfo, env: GslbEnv): PoolDecision {
  const nodata: PoolDecision = { kind: 'nodata', rdata: [], ttl: pool.ttl, scope: 0 };
  if (family === 4 ? !pool.has4 : !pool.has6) return nodata;
  const region = pickRegion(pool, env);
  if (!region) return nodata;
  let live = region.targets.filter((t) => t.family === family && usable(t, env));
  if (live.length === 0) live = region.targets.filter((t) => t.family === family && !t.adminDown);
  const active = live.filter((t) => t.weight > 0);
  const chosen = active.length ? active : live;
  if (chosen.length === 0) return nodata;
  const start = env.rotation.next(region) % chosen.length;
  const ordered = [...chosen.slice(start), ...chosen.slice(0, start)];
  const n = pool.spec.answers > 0 ? Math.min(pool.spec.answers, ordered.length) : ordered.length;
  return { kind: 'answer', rdata: ordered.slice(0, n).map((t) => t.rdata), ttl: pool.ttl, scope: 0 };
}
