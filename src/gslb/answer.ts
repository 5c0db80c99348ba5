// The answer for a pool name (spec §5): locate the client → order the regions → take the first region
// that qualifies → select targets → TTL and ECS scope. Pure: health, rotation state and the random source
// come in through `GslbEnv`; `steerdns explain` passes a trace and prints what this same function decided.
import type { ClientSubnet } from '../dns/query.js';
import type { HealthView } from '../health/table.js';
import { maskBytes } from '../net/cidr.js';
import { embeddedIPv4, isPrivate } from '../net/ranges.js';
import { sourceBytes } from '../net/source.js';
import type { GeoLocator, Location } from './geo.js';
import { poolMemo } from './memo.js';
import { computeOrder, orderMemo, type OrderMemo, type RegionOrder } from './order.js';
import type { Pool, PoolRegion, Target } from './pool.js';
import { rotate, selectTargets } from './select.js';

export { ALL_UP } from '../health/table.js';
export type { HealthView } from '../health/table.js';

/** Round-robin positions, one counter per pool region and family (per process). */
export class Rotation {
  private readonly counters = new WeakMap<object, [number, number]>();

  next(key: object, family: 4 | 6): number {
    let c = this.counters.get(key);
    if (!c) {
      c = [0, 0];
      this.counters.set(key, c);
    }
    const i = family === 4 ? 0 : 1;
    const n = c[i]!;
    c[i] = n >= 0x3fffffff ? 0 : n + 1;
    return n;
  }
}

export interface ClientInfo {
  /** Source address of the query (text). */
  address: string;
  /** EDNS Client Subnet of the query, if any. */
  ecs?: ClientSubnet | null;
  /** Memo: where this client was placed (set on first use within one query). */
  located?: ClientLocation;
}

export interface ClientLocation {
  loc: Location;
  /** Which address decided: the ECS subnet, or the packet's source address. */
  via: 'ecs' | 'source';
  /** Why ECS was not used, when the query had it. */
  ecsIgnored?: string;
  /** Why an ECS address that decided has no location: the client is unknown (not the resolver's place). */
  unlocated?: 'private address' | 'located by nothing';
  /** The least ECS scope an answer for this client may claim (spec §10: an unlocated block, at least the source prefix). */
  minScope?: number;
  /** The address looked up, 4 or 16 bytes (ECS address padded with zeros). */
  bytes: Buffer;
}

export interface GeoContext {
  geo: GeoLocator;
  /** `geoip.ecs`: use EDNS Client Subnet when present. */
  useEcs: boolean;
}

export interface GslbEnv {
  health: HealthView;
  rotation: Rotation;
  random: () => number;
  /** Called once per pool decision (metrics). */
  onDecision?: (pool: Pool, d: PoolDecision) => void;
  /** `explain`: every pool decision's intermediate results are appended here. */
  trace?: PoolTrace[];
}

export type Reason = 'nearest' | 'failover' | 'map' | 'all_down' | 'fallback';

export interface PoolDecision {
  kind: 'answer' | 'nodata' | 'servfail';
  rdata: Buffer[];
  ttl: number;
  /** ECS scope prefix length this decision depends on (0 = same answer for every client). */
  scope: number;
  region: string | null;
  reason: Reason;
  /** The fail-open (serve-all) path answered. */
  failOpen: boolean;
}

export interface RegionTrace {
  name: string;
  state: string;
  distanceKm: number | null;
  healthy: number;
  total: number;
  needed: number;
  qualifies: boolean;
}

export interface PoolTrace {
  pool: string;
  family: 4 | 6;
  client: ClientLocation;
  policy: string;
  mapKey: string | null;
  regions: RegionTrace[];
  chosen: string | null;
  reason: Reason | null;
  select: string;
  candidates: string[];
  answer: string[];
  ttl: number;
  halved: boolean;
  scope: number;
  note: string | null;
}

/** Why a query's ECS option was not used when `geoip.ecs` is false (the server does not echo it either). */
export const ECS_OFF = 'geoip.ecs is off';

/**
 * Places the client: the ECS address when present and enabled, else the source address. An ECS address
 * decides even when nothing locates it (private and not in `geoip.networks`, or unknown to the database):
 * the client is then unknown — regions in written order, the map's `default` — and never placed where its
 * resolver is, since the answer is cached for the client's block (RFC 7871 §7.3.1), not for the resolver.
 */
export function locateClient(client: ClientInfo, ctx: GeoContext): ClientLocation {
  if (client.located) return client.located;
  let ignored: string | undefined;
  const ecs = client.ecs;
  if (ecs && !ctx.useEcs) ignored = ECS_OFF;
  else if (ecs && ecs.sourcePrefix === 0) ignored = 'source prefix 0 (the client opted out)';
  else if (ecs) {
    const bytes = Buffer.alloc(ecs.family === 1 ? 4 : 16);
    ecs.address.copy(bytes);
    const loc = ctx.geo.locate(bytes);
    // a private address counts only where an overlay network maps it (your own resolvers' clients)
    if (loc.source !== 'overlay' && isPrivate(bytes)) {
      client.located = { loc: ctx.geo.unlocatedPrivate(bytes, ecs.sourcePrefix), via: 'ecs', bytes, unlocated: 'private address' };
    } else if (loc.source === 'unknown') {
      client.located = { loc, via: 'ecs', bytes, unlocated: 'located by nothing', minScope: ecs.sourcePrefix };
    } else client.located = { loc, via: 'ecs', bytes };
    return client.located;
  }
  const bytes = sourceBytes(client.address);
  client.located = { loc: ctx.geo.locate(bytes), via: 'source', bytes, ...(ignored ? { ecsIgnored: ignored } : {}) };
  return client.located;
}

function clientBlock(bytes: Buffer): Buffer {
  const e = embeddedIPv4(bytes);
  const b = e ? e.v4 : bytes;
  return maskBytes(b, b.length === 4 ? 24 : 56);
}

/** What steps 3–4 decide before the within-region selection: memoizable per location and health state. */
interface Plan {
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

/** The A (family 4) or AAAA (family 6) answer of a pool for one client. */
export function decidePool(pool: Pool, family: 4 | 6, client: ClientInfo, ctx: GeoContext, env: GslbEnv, depth = 0): PoolDecision {
  const d = decide(pool, family, client, ctx, env, env.trace, depth);
  env.onDecision?.(pool, d);
  return d;
}

/** Pools whose answer cannot depend on where the client is: one region or failover order, not sticky. */
function needsLocation(pool: Pool): boolean {
  return pool.spec.select === 'sticky' || (pool.spec.policy !== 'failover' && pool.regions.length > 1);
}

const NOWHERE: Location = { source: 'unknown', network: null, prefix: 0 };
const NOWHERE_CLIENT: ClientLocation = { loc: NOWHERE, via: 'source', bytes: Buffer.alloc(4) };
// the memo of a pool that answers every client alike lives on the pool (weakly), never in a global
const nowhereMemo = (pool: Pool): OrderMemo => ({ order: computeOrder(pool, NOWHERE) });

function decide(pool: Pool, family: 4 | 6, client: ClientInfo, ctx: GeoContext, env: GslbEnv,
  trace: PoolTrace[] | undefined, depth: number): PoolDecision {
  const { health } = env;
  // a failover or single-region pool answers every client alike: no need to place this one
  const cl = trace || needsLocation(pool) ? locateClient(client, ctx) : (client.located ?? NOWHERE_CLIENT);
  const located = needsLocation(pool);
  const loc = located ? cl.loc : NOWHERE;
  // region order and plans memoized per (location, pool): in a fixed-size table (memo.ts) or on the pool
  const memo = located ? orderMemo(pool, loc) : poolMemo(pool, nowhereMemo);
  const order = memo.order;
  const t: PoolTrace | undefined = trace ? {
    pool: pool.name, family, client: cl, policy: pool.spec.policy, mapKey: order.mapKey, regions: [], chosen: null,
    reason: null, select: pool.spec.select, candidates: [], answer: [], ttl: pool.ttl, halved: false, scope: 0, note: null,
  } : undefined;
  if (t) trace!.push(t);
  const result = (kind: PoolDecision['kind'], targets: Target[], region: string | null, reason: Reason,
    halved: boolean, failOpen = false, dependsOnClient = true): PoolDecision => {
    const ttl = halved ? Math.max(1, Math.floor(pool.ttl / 2)) : pool.ttl;
    const scope = dependsOnClient ? scopeFor(pool, cl, order) : 0;
    const rdata: Buffer[] = new Array(targets.length);
    for (let i = 0; i < targets.length; i++) rdata[i] = targets[i]!.rdata;
    if (t) Object.assign(t, { chosen: region, reason, answer: targets.map((x) => x.address), ttl, halved, scope });
    return { kind, rdata, ttl, scope, region, reason, failOpen };
  };

  // step 7: no target of this family anywhere
  if (family === 4 ? !pool.has4 : !pool.has6) {
    if (t) t.note = `no IPv${family} target in any region`;
    return result('nodata', [], null, policyReason(pool), false, false, false);
  }

  // steps 3 and 4 up to the selection: memoized with the order while the health table stands still
  let plan: Plan;
  const version = health.version;
  if (!t && pool.spec.select !== 'fastest') {
    const cached = (family === 4 ? memo.plan4 : memo.plan6) as Plan | undefined;
    if (cached && cached.version === version && cached.health === health) plan = cached;
    else {
      plan = makePlan(pool, family, order, health, version, undefined);
      if (family === 4) memo.plan4 = plan;
      else memo.plan6 = plan;
    }
  } else plan = makePlan(pool, family, order, health, version, t);

  if (plan.kind === 'all_down') return allDown(pool, family, client, ctx, env, depth, order, result, t);
  if (t && plan.note) t.note = plan.note;
  const region = plan.region!;
  if (plan.kind === 'nodata') return result('nodata', [], region.name, plan.reason, plan.degraded);

  // step 4: select within the region
  const candidates = plan.candidates;
  const position = env.rotation.next(region, family);
  let chosen: Target[];
  if (pool.spec.select === 'round-robin') {
    // rotation written straight into the answer: no intermediate copies
    const len = candidates.length;
    const n = pool.spec.answers > 0 ? Math.min(pool.spec.answers, len) : len;
    chosen = new Array(n);
    const start = position % len;
    for (let i = 0; i < n; i++) chosen[i] = candidates[(start + i) % len]!;
  } else {
    const ordered = selectTargets({
      mode: pool.spec.select,
      targets: candidates,
      position,
      random: env.random,
      clientBlock: clientBlock(cl.bytes),
      rttMs: (x) => health.rttMs(x.healthKey),
    });
    chosen = pool.spec.answers > 0 ? ordered.slice(0, pool.spec.answers) : ordered;
  }
  if (t) t.candidates = candidates.map((x) => x.address);
  return result('answer', chosen, region.name, plan.reason, plan.degraded);
}

/**
 * Step 3 (the first region that qualifies: at least `need` of its live targets healthy, both families
 * counted), the one-region-for-both-families rule, and which targets step 4 selects from; whether the
 * answer differs from the all-healthy one (step 6).
 */
function makePlan(pool: Pool, family: 4 | 6, order: RegionOrder, health: HealthView, version: number, t: PoolTrace | undefined): Plan {
  const ranked = order.ranked;
  const up = (x: Target) => health.isUp(x.healthKey);
  let idx = -1;
  let anyIdx = -1;
  for (let i = 0; i < ranked.length; i++) {
    const r = ranked[i]!.region;
    let healthy = 0;
    for (const x of r.live) if (up(x)) healthy++;
    const qualifies = healthy >= r.need;
    if (t) t.regions.push({ name: r.name, state: r.region.state, distanceKm: ranked[i]!.distanceKm, healthy, total: r.live.length, needed: r.need, qualifies });
    if (qualifies && idx < 0) {
      idx = i;
      if (!t) break;
    }
    if (healthy > 0 && anyIdx < 0) anyIdx = i;
  }
  const plan: Plan = { kind: 'answer', region: null, candidates: [], reason: policyReason(pool), degraded: false, note: null, health, version };
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
      const later = ranked.slice(idx + 1).map((r) => r.region).filter((r) => healthyOf(r).length > 0);
      next = later.find((r) => r.live.filter(up).length >= r.need) ?? later[0];
    }
    if (!next) {
      return { ...plan, kind: 'nodata', region, reason: skippedForHealth ? 'failover' : plan.reason, degraded: skippedForHealth || byHealth,
        note: `region ${region.name} has no healthy IPv${family} target` };
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

function policyReason(pool: Pool): Reason {
  return pool.spec.policy === 'map' ? 'map' : pool.spec.policy === 'failover' ? 'failover' : 'nearest';
}

/** Step 5: nothing healthy anywhere. */
function allDown(pool: Pool, family: 4 | 6, client: ClientInfo, ctx: GeoContext, env: GslbEnv, depth: number, order: RegionOrder, result: (k: PoolDecision['kind'], ts: Target[], r: string | null, reason: Reason, halved: boolean, failOpen?: boolean, dependsOnClient?: boolean) => PoolDecision,
  t: PoolTrace | undefined): PoolDecision {
  const mode = pool.spec.allDown;
  if (t) t.note = `no healthy target in any region: all_down ${mode.kind}`;
  if (mode.kind === 'fallback' && pool.fallback && depth < 4) {
    const d = decidePool(pool.fallback, family, client, ctx, env, depth + 1);
    if (t) Object.assign(t, { reason: 'fallback', answer: [], ttl: d.ttl, halved: true, scope: d.scope, chosen: d.region });
    return { ...d, reason: 'fallback', ttl: Math.max(1, Math.min(d.ttl, Math.floor(pool.ttl / 2))) };
  }
  // the same NODATA / SERVFAIL for every client: ECS scope 0 (spec §4)
  if (mode.kind === 'nodata') return result('nodata', [], null, 'all_down', true, false, false);
  if (mode.kind === 'servfail') return result('servfail', [], null, 'all_down', true, false, false);
  // serve-all (and a fallback that cannot be followed): fail open with the first region's targets —
  // the same region for A and AAAA, so NODATA when it has none of this family (unless family_fallback)
  const famOf = (r: PoolRegion) => (family === 4 ? r.live4 : r.live6);
  const ranked = order.ranked.filter((r) => r.region.live.length > 0);
  const first = ranked[0];
  const pick = first && (famOf(first.region).length > 0 || pool.spec.familyFallback !== 'next-region')
    ? first : ranked.find((r) => famOf(r.region).length > 0);
  const targets = pick ? famOf(pick.region) : [];
  if (!pick || targets.length === 0) return result('nodata', [], first?.region.name ?? null, 'all_down', true);
  const ordered = rotate(targets, env.rotation.next(pick.region, family));
  const n = pool.spec.answers > 0 ? Math.min(pool.spec.answers, ordered.length) : ordered.length;
  return result('answer', ordered.slice(0, n), pick.region.name, 'all_down', true, true);
}

/**
 * ECS scope: the block the client was placed by when the answer depends on the client — an unlocated one
 * (spec §10) at least as long as the source prefix —, widened to /24 (/56) for sticky.
 */
function scopeFor(pool: Pool, cl: ClientLocation, order: RegionOrder): number {
  if (cl.via !== 'ecs') return 0;
  const sticky = pool.spec.select === 'sticky';
  if (!order.clientDependent && !sticky) return 0;
  const v4 = cl.bytes.length === 4;
  let scope = order.clientDependent ? Math.max(cl.loc.prefix, cl.minScope ?? 0) : 0;
  if (sticky) {
    // the sticky block: /24 (/56), or for an IPv4 inside IPv6 the bits of that IPv4 /24 (Teredo: all)
    const e = v4 ? null : embeddedIPv4(cl.bytes);
    scope = Math.max(scope, v4 ? 24 : !e ? 56 : e.offsetBits < 0 ? 128 : e.offsetBits + 24);
  }
  return Math.min(scope, v4 ? 32 : 128);
}
