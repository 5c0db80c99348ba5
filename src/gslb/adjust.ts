// Runtime overrides (docs/operations.md#runtime-overrides): drain, down, force-up and weight, on a target, a
// region of a pool, a region everywhere, or a whole pool, applied on top of the zone files and health. An
// `Adjustments` is one immutable set of active overrides; the answer path reads it through GslbEnv.adjust (null:
// none, and the decision is exactly today's), and only when a plan is made (plan.ts): plans are memoized, so a
// query costs nothing more. Who stores overrides, and when they expire, is the application's (src/overrides.ts).
import { canonicalIp } from '../net/host.js';
import type { Pool, PoolRegion, Target } from './pool.js';

export type OverrideAction = 'drain' | 'down' | 'up' | 'weight';

/** One override as stored and listed (GET /overrides). Scope fields are null when not narrowed. */
export interface Override {
  id: string;
  action: OverrideAction;
  zone: string | null;
  pool: string | null;
  region: string | null;
  address: string | null;
  /** `weight` overrides: the weight the targets get (0: standby). */
  weight: number | null;
  reason: string;
  author: string;
  /** Epoch milliseconds. */
  created: number;
  until: number;
}

/** What an override changes on one target, strongest first: down > drain > up. */
export type TargetState = 'down' | 'drain' | 'up';

const RANK: Record<TargetState, number> = { down: 3, drain: 2, up: 1 };

/** The overrides that apply to one pool, prepared for plan.ts. */
export interface PoolAdjust {
  /** Every override that matched something in the pool (explain lists them). */
  applied: Override[];
  /** Per target, the strongest state its overrides give (down > drain > up). */
  state: Map<Target, TargetState>;
  /** Targets given another weight (the newest weight override wins): a copy carrying that weight. */
  weighted: Map<Target, Target>;
  /** Regions drained as a whole: ordered after every other region (like `state: drain` in steerdns.yaml). */
  drained: Set<PoolRegion>;
  /** The whole pool drained: its `all_down` fallback pool answers when that one has an answer. */
  poolDrained: boolean;
  /** Whether a target (not a region or pool) is drained: plan.ts then plans twice. */
  targetDrain: boolean;
}

const lowerName = (s: string) => s.trim().toLowerCase().replace(/\.$/, '');

/** Whether an override's pool (relative to its zone, or absolute, `@` the apex) names `pool`. */
function poolMatches(o: Override, pool: Pool): boolean {
  if (o.zone !== null && o.zone !== lowerName(pool.zone)) return false;
  if (o.pool === null) return true;
  const name = lowerName(pool.name);
  const zone = lowerName(pool.zone);
  if (o.pool === '@') return name === zone;
  return name === o.pool || name === `${o.pool}.${zone}`;
}

/** Whether an override applies to a region of a pool (`target` null) or to one of its targets. */
export function appliesTo(o: Override, pool: Pool, region: PoolRegion, target: Target | null): boolean {
  if (!poolMatches(o, pool) || (o.region !== null && o.region !== region.name)) return false;
  if (target === null) return o.address === null;
  return !target.adminDown && (o.address === null || canonicalIp(o.address) === canonicalIp(target.address));
}

/** The level an override acts at: the narrowest field it names. */
function levelOf(o: Override): 'target' | 'region' | 'pool' {
  return o.address !== null ? 'target' : o.region !== null ? 'region' : 'pool';
}

/** One set of active overrides, compiled per pool on first use (a new set replaces this one on any change). */
export class Adjustments {
  private readonly pools = new WeakMap<Pool, PoolAdjust | null>();

  constructor(readonly overrides: readonly Override[]) {}

  /** The overrides of `pool`, or null when none touches it (the plan is then made as without overrides). */
  forPool(pool: Pool): PoolAdjust | null {
    let a = this.pools.get(pool);
    if (a === undefined) {
      a = compile(pool, this.overrides);
      this.pools.set(pool, a);
    }
    return a;
  }
}

function compile(pool: Pool, overrides: readonly Override[]): PoolAdjust | null {
  const out: PoolAdjust = {
    applied: [],
    state: new Map(),
    weighted: new Map(),
    drained: new Set(),
    poolDrained: false,
    targetDrain: false,
  };
  const weightFrom = new Map<Target, Override>();
  for (const o of overrides) {
    if (!poolMatches(o, pool)) continue;
    const level = levelOf(o);
    const address = o.address === null ? null : canonicalIp(o.address);
    let matched = false;
    for (const r of pool.regions) {
      if (o.region !== null && o.region !== r.name) continue;
      if (level === 'region' && o.action === 'drain') {
        out.drained.add(r);
        matched = true;
        continue;
      }
      for (const t of r.live) {
        if (address !== null && canonicalIp(t.address) !== address) continue;
        matched = true;
        if (o.action === 'weight') {
          const prev = weightFrom.get(t);
          if (!prev || o.created > prev.created || (o.created === prev.created && o.id > prev.id)) weightFrom.set(t, o);
          continue;
        }
        if (o.action === 'drain' && level === 'pool') continue;
        const s: TargetState = o.action;
        const prev = out.state.get(t);
        if (!prev || RANK[s] > RANK[prev]) out.state.set(t, s);
      }
    }
    if (level === 'pool' && o.action === 'drain') {
      out.poolDrained = true;
      matched = true;
    }
    if (matched) out.applied.push(o);
  }
  if (out.applied.length === 0) return null;
  for (const [t, o] of weightFrom) out.weighted.set(t, { ...t, weight: o.weight ?? t.weight });
  // a target drained and also down is down: drain only matters while some target is drained
  out.targetDrain = [...out.state.values()].includes('drain');
  return out;
}

/** What explain prints of an override that applied. */
export interface OverrideTrace {
  id: string;
  action: OverrideAction;
  scope: string;
  weight: number | null;
  reason: string;
  author: string;
  until: string;
}

/** The scope of an override in words: `zone example.test pool app region eu-west address 192.0.2.10`. */
export function scopeText(o: Pick<Override, 'zone' | 'pool' | 'region' | 'address'>): string {
  const parts: string[] = [];
  if (o.zone !== null) parts.push(`zone ${o.zone}`);
  if (o.pool !== null) parts.push(`pool ${o.pool}`);
  if (o.region !== null) parts.push(`region ${o.region}`);
  if (o.address !== null) parts.push(`address ${o.address}`);
  return parts.join(' ');
}

export function overrideTrace(o: Override): OverrideTrace {
  return {
    id: o.id,
    action: o.action,
    scope: scopeText(o),
    weight: o.weight,
    reason: o.reason,
    author: o.author,
    until: new Date(o.until).toISOString(),
  };
}
