// Steps 3 and 4 of a pool decision up to the selection (docs/dns-behaviour.md#step-3-qualify-a-region): the
// first region that qualifies, the one-region-for-both-families rule, which targets to select from, and whether
// the answer differs from the all-healthy one (step 6). A plan depends only on (pool, family, region order,
// health state): memo.ts keeps it with the order while the health table stands still.
import type { HealthView } from '../health/table.js';
import type { RegionOrder } from './order.js';
import type { Pool, PoolRegion, Target } from './pool.js';
import type { PoolTrace, Reason } from './trace.js';

/** What steps 3–4 decide before the within-region selection: memoizable per location and health state. */
export interface Plan {
  kind: 'answer' | 'nodata' | 'all_down';
  region: PoolRegion | null;
  /** Healthy targets to select from (weighted ones, else the region's standbys). */
  candidates: Target[];
  reason: Reason;
  degraded: boolean;
  note: string | null;
  /** The health view and its version the plan was made with (two views may stand at one version number). */
  health: HealthView;
  version: number;
}

export function policyReason(pool: Pool): Reason {
  return pool.spec.policy === 'map' ? 'map' : pool.spec.policy === 'failover' ? 'failover' : 'nearest';
}

/**
 * Step 3 (the first region that qualifies: at least `need` of its live targets healthy, both families
 * counted), the one-region-for-both-families rule, and which targets step 4 selects from; whether the
 * answer differs from the all-healthy one (step 6).
 */
export function makePlan(
  pool: Pool,
  family: 4 | 6,
  order: RegionOrder,
  health: HealthView,
  version: number,
  t: PoolTrace | undefined,
): Plan {
  const ranked = order.ranked;
  const up = (x: Target) => health.isUp(x.healthKey);
  let idx = -1;
  let anyIdx = -1;
  for (let i = 0; i < ranked.length; i++) {
    const r = ranked[i]!.region;
    let healthy = 0;
    for (const x of r.live) if (up(x)) healthy++;
    const qualifies = healthy >= r.need;
    if (t)
      t.regions.push({
        name: r.name,
        state: r.region.state,
        distanceKm: ranked[i]!.distanceKm,
        healthy,
        total: r.live.length,
        needed: r.need,
        qualifies,
      });
    if (qualifies && idx < 0) {
      idx = i;
      if (!t) break;
    }
    if (healthy > 0 && anyIdx < 0) anyIdx = i;
  }
  const plan: Plan = {
    kind: 'answer',
    region: null,
    candidates: [],
    reason: policyReason(pool),
    degraded: false,
    note: null,
    health,
    version,
  };
  if (idx < 0) idx = anyIdx;
  if (idx < 0) return { ...plan, kind: 'all_down' };

  // one region for both families: no healthy target of the asked family → NODATA, or the next region
  const famOf = (r: PoolRegion) => (family === 4 ? r.live4 : r.live6);
  const healthyOf = (r: PoolRegion) => famOf(r).filter(up);
  let region = ranked[idx]!.region;
  // a region that has targets of the family, all unhealthy, is skipped for health (the answer changed);
  // one that simply has none of that family is skipped by design (family_fallback), with the usual TTL.
  // Likewise regions passed over by configuration (no live target, min_healthy above their size): only a
  // region other than the all-healthy answer's is a failover
  let skippedForHealth = idx !== order.allHealthy;
  let healthy = healthyOf(region);
  if (healthy.length === 0) {
    const byHealth = famOf(region).length > 0;
    let next: PoolRegion | undefined;
    if (pool.spec.familyFallback === 'next-region') {
      const later = ranked
        .slice(idx + 1)
        .map((r) => r.region)
        .filter((r) => healthyOf(r).length > 0);
      next = later.find((r) => r.live.filter(up).length >= r.need) ?? later[0];
    }
    if (!next) {
      return {
        ...plan,
        kind: 'nodata',
        region,
        reason: skippedForHealth ? 'failover' : plan.reason,
        degraded: skippedForHealth || byHealth,
        note: `region ${region.name} has no healthy IPv${family} target`,
      };
    }
    plan.note = `family_fallback: region ${region.name} has no healthy IPv${family} target`;
    skippedForHealth ||= byHealth;
    region = next;
    healthy = healthyOf(region);
  }
  // standbys (weight 0) only when no weighted target of the region is healthy
  const active = healthy.filter((x) => x.weight > 0);
  plan.candidates = active.length ? active : healthy;
  plan.region = region;
  if (skippedForHealth) plan.reason = 'failover';
  // step 6: the TTL is halved when a region was skipped for health, or a target of the all-healthy answer
  // (the region's weighted targets of this family, else its standbys) is down or between states
  const fam = famOf(region);
  let anyWeighted = false;
  for (const x of fam) if (x.weight > 0) anyWeighted = true;
  let degraded = skippedForHealth;
  for (const x of fam) {
    if (degraded) break;
    if ((x.weight > 0 || !anyWeighted) && (!health.isUp(x.healthKey) || health.isChanging(x.healthKey))) degraded = true;
  }
  plan.degraded = degraded;
  return plan;
}
