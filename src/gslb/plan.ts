// Steps 3 and 4 of a pool decision up to the selection (docs/dns-behaviour.md#step-3-qualify-a-region): the
// first region that qualifies, the one-region-for-both-families rule, which targets to select from, and whether
// the answer differs from the all-healthy one (step 6). A plan depends only on (pool, family, region order,
// health state): memo.ts keeps it with the order while the health table stands still.
import type { HealthView } from '../health/table.js';
import type { PoolAdjust } from './adjust.js';
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
  /** The pool's runtime overrides the plan was made with (null: none). */
  adjust: PoolAdjust | null;
  /** The region order the plan followed (regions drained by override moved last). */
  order: RegionOrder;
}

export function policyReason(pool: Pool): Reason {
  return pool.spec.policy === 'map' ? 'map' : pool.spec.policy === 'failover' ? 'failover' : 'nearest';
}

/** How a plan sees a target: healthy, between states, and the target it serves (another weight by override). */
interface TargetView {
  up(x: Target): boolean;
  changing(x: Target): boolean;
  serve(x: Target): Target;
}

function healthView(health: HealthView): TargetView {
  return { up: (x) => health.isUp(x.healthKey), changing: (x) => health.isChanging(x.healthKey), serve: (x) => x };
}

/**
 * Health with runtime overrides on top (docs/operations.md#runtime-overrides): down > drain > up. A drained target
 * counts as down unless `drainServes` (the second plan, made when the first found nothing to serve).
 */
function adjustedView(health: HealthView, a: PoolAdjust, drainServes: boolean): TargetView {
  return {
    up: (x) => {
      const s = a.state.get(x);
      if (s === undefined) return health.isUp(x.healthKey);
      return s === 'up' || (s === 'drain' && drainServes && health.isUp(x.healthKey));
    },
    changing: (x) => {
      const s = a.state.get(x);
      return (s === undefined || (s === 'drain' && drainServes)) && health.isChanging(x.healthKey);
    },
    serve: (x) => a.weighted.get(x) ?? x,
  };
}

/** The order with regions drained by override after every other (their relative order kept), as `state: drain`. */
function drainedLast(order: RegionOrder, drained: Set<PoolRegion>): RegionOrder {
  const ranked = [...order.ranked.filter((r) => !drained.has(r.region)), ...order.ranked.filter((r) => drained.has(r.region))];
  let allHealthy = ranked.findIndex((r) => r.region.live.length >= r.region.need);
  if (allHealthy < 0) allHealthy = ranked.findIndex((r) => r.region.live.length > 0);
  return { ...order, ranked, allHealthy };
}

/**
 * Steps 3–4 up to the selection, with the pool's runtime overrides (`adjust`, null: none) applied on top of
 * health: a region drained by override goes last; drained targets serve only when no plan without them has
 * anything to serve.
 */
export function makePlan(
  pool: Pool,
  family: 4 | 6,
  order: RegionOrder,
  health: HealthView,
  version: number,
  t: PoolTrace | undefined,
  adjust: PoolAdjust | null = null,
): Plan {
  if (!adjust) return planWith(pool, family, order, health, version, t, healthView(health), null);
  const ordered = adjust.drained.size > 0 ? drainedLast(order, adjust.drained) : order;
  let plan = planWith(pool, family, ordered, health, version, t, adjustedView(health, adjust, false), adjust);
  if (plan.kind === 'all_down' && adjust.targetDrain) {
    if (t) t.regions.length = 0;
    plan = planWith(pool, family, ordered, health, version, t, adjustedView(health, adjust, true), adjust);
    if (plan.kind !== 'all_down') plan.note = `nothing but drained targets can serve: they do${plan.note ? `; ${plan.note}` : ''}`;
  }
  return plan;
}

/**
 * Step 3 (the first region that qualifies: at least `need` of its live targets healthy, both families
 * counted), the one-region-for-both-families rule, and which targets step 4 selects from; whether the
 * answer differs from the all-healthy one (step 6).
 */
function planWith(
  pool: Pool,
  family: 4 | 6,
  order: RegionOrder,
  health: HealthView,
  version: number,
  t: PoolTrace | undefined,
  view: TargetView,
  adjust: PoolAdjust | null,
): Plan {
  const ranked = order.ranked;
  const up = view.up;
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
        state: adjust?.drained.has(r) ? 'drain (override)' : r.region.state,
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
    adjust,
    order,
  };
  if (idx < 0) idx = anyIdx;
  if (idx < 0) return { ...plan, kind: 'all_down' };

  // one region for both families: no healthy target of the asked family → NODATA, or the next region
  const famOf = (r: PoolRegion) => (family === 4 ? r.live4 : r.live6);
  const healthyOf = (r: PoolRegion) => famOf(r).filter(up).map(view.serve);
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
  for (const x of fam) if (view.serve(x).weight > 0) anyWeighted = true;
  let degraded = skippedForHealth;
  for (const x of fam) {
    if (degraded) break;
    if ((view.serve(x).weight > 0 || !anyWeighted) && (!up(x) || view.changing(x))) degraded = true;
  }
  plan.degraded = degraded;
  return plan;
}
