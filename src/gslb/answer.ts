// The answer for a pool name (spec §5): locate the client → order the regions → take the first region
// that qualifies → select targets → TTL and ECS scope. Pure: health, rotation state and the random source
// come in through `GslbEnv`; `steerdns explain` passes a trace and prints what this same function decided.
import type { ClientSubnet } from '../dns/query.js';
import type { HealthView } from '../health/table.js';
import { ipToBytes, maskBytes } from '../config/values.js';
import { embeddedIPv4, isPrivate, type GeoLocator, type Location } from './geo.js';
import { orderRegions, type RegionOrder } from './order.js';
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

/** Places the client: the ECS address when present, enabled and locatable, else the source address. */
export function locateClient(client: ClientInfo, ctx: GeoContext): ClientLocation {
  if (client.located) return client.located;
  let ignored: string | undefined;
  const ecs = client.ecs;
  if (ecs && !ctx.useEcs) ignored = 'geoip.ecs is off';
  else if (ecs && ecs.sourcePrefix === 0) ignored = 'source prefix 0 (the client opted out)';
  else if (ecs) {
    const bytes = Buffer.alloc(ecs.family === 1 ? 4 : 16);
    ecs.address.copy(bytes);
    const loc = ctx.geo.locate(bytes);
    const located = loc.source !== 'unknown';
    if (located && (loc.source === 'overlay' || !isPrivate(bytes))) {
      client.located = { loc, via: 'ecs', bytes };
      return client.located;
    }
    ignored = isPrivate(bytes) ? 'private address' : 'located by nothing';
  }
  const bytes = ipToBytes(client.address.startsWith('::ffff:') && client.address.includes('.') ? client.address.slice(7) : client.address);
  client.located = { loc: ctx.geo.locate(bytes), via: 'source', bytes, ...(ignored ? { ecsIgnored: ignored } : {}) };
  return client.located;
}

function clientBlock(bytes: Buffer): Buffer {
  const e = embeddedIPv4(bytes);
  const b = e ? e.v4 : bytes;
  return maskBytes(b, b.length === 4 ? 24 : 56);
}

function needed(pool: Pool, total: number): number {
  const m = pool.spec.minHealthy;
  const n = 'count' in m ? m.count : Math.ceil((m.percent * total) / 100);
  return Math.max(1, n);
}

const live = (t: Target) => !t.adminDown;

/** The A (family 4) or AAAA (family 6) answer of a pool for one client. */
export function decidePool(pool: Pool, family: 4 | 6, client: ClientInfo, ctx: GeoContext, env: GslbEnv, depth = 0): PoolDecision {
  const d = decide(pool, family, client, ctx, env, env.trace, depth);
  env.onDecision?.(pool, d);
  return d;
}

function decide(pool: Pool, family: 4 | 6, client: ClientInfo, ctx: GeoContext, env: GslbEnv,
  trace: PoolTrace[] | undefined, depth: number): PoolDecision {
  const { health } = env;
  const up = (t: Target) => !t.adminDown && health.isUp(t.healthKey);
  const cl = locateClient(client, ctx);
  const order = orderRegions(pool, cl.loc);
  const t: PoolTrace | undefined = trace ? {
    pool: pool.name, family, client: cl, policy: pool.spec.policy, mapKey: order.mapKey, regions: [], chosen: null,
    reason: null, select: pool.spec.select, candidates: [], answer: [], ttl: pool.ttl, halved: false, scope: 0, note: null,
  } : undefined;
  if (t) trace!.push(t);
  const result = (kind: PoolDecision['kind'], targets: Target[], region: string | null, reason: Reason,
    halved: boolean, failOpen = false, dependsOnClient = true): PoolDecision => {
    const ttl = halved ? Math.max(1, Math.floor(pool.ttl / 2)) : pool.ttl;
    const scope = dependsOnClient ? scopeFor(pool, cl, order) : 0;
    if (t) Object.assign(t, { chosen: region, reason, answer: targets.map((x) => x.address), ttl, halved, scope });
    return { kind, rdata: targets.map((x) => x.rdata), ttl, scope, region, reason, failOpen };
  };

  // step 7: no target of this family anywhere
  if (family === 4 ? !pool.has4 : !pool.has6) {
    if (t) t.note = `no IPv${family} target in any region`;
    return result('nodata', [], null, policyReason(pool), false, false, false);
  }

  // step 3: the first region that qualifies (min_healthy over both families)
  const stats = order.ranked.map((r) => {
    const targets = r.region.targets.filter(live);
    const healthy = targets.filter(up).length;
    const need = needed(pool, targets.length);
    return { r: r.region, healthy, total: targets.length, need, qualifies: healthy >= need, distanceKm: r.distanceKm };
  });
  if (t) t.regions = stats.map((s) => ({ name: s.r.name, state: s.r.region.state, distanceKm: s.distanceKm, healthy: s.healthy, total: s.total, needed: s.need, qualifies: s.qualifies }));
  let idx = stats.findIndex((s) => s.qualifies);
  if (idx < 0) idx = stats.findIndex((s) => s.healthy > 0);

  if (idx < 0) return allDown(pool, family, client, ctx, env, depth, order, result, t);

  // one region for both families: no healthy target of the asked family → NODATA, or the next region
  const firstIdx = idx;
  let chosen = stats[idx]!;
  const ofFamily = (r: PoolRegion) => r.targets.filter((x) => x.family === family && up(x));
  // a region that has targets of the family, all unhealthy, is skipped for health (the answer changed);
  // one that simply has none of that family is skipped by design (family_fallback), with the usual TTL
  let skippedForHealth = firstIdx > 0;
  if (ofFamily(chosen.r).length === 0) {
    const byHealth = chosen.r.targets.some((x) => x.family === family && live(x));
    const later = stats.slice(idx + 1).filter((s) => ofFamily(s.r).length > 0);
    const next = pool.spec.familyFallback === 'next-region' ? later.find((s) => s.qualifies) ?? later[0] : undefined;
    if (!next) {
      if (t) t.note = `region ${chosen.r.name} has no healthy IPv${family} target`;
      return result('nodata', [], chosen.r.name, skippedForHealth ? 'failover' : policyReason(pool), skippedForHealth || byHealth);
    }
    if (t) t.note = `family_fallback: region ${chosen.r.name} has no healthy IPv${family} target`;
    skippedForHealth ||= byHealth;
    idx = stats.indexOf(next);
    chosen = next;
  }

  // step 4: select within the region; standbys (weight 0) only when no weighted target is healthy
  const healthy = ofFamily(chosen.r);
  const active = healthy.filter((x) => x.weight > 0);
  const candidates = active.length ? active : healthy;
  const ordered = selectTargets({
    mode: pool.spec.select,
    targets: candidates,
    position: env.rotation.next(chosen.r, family),
    random: env.random,
    clientBlock: clientBlock(cl.bytes),
    rttMs: (x) => health.rttMs(x.healthKey),
  });
  const n = pool.spec.answers > 0 ? Math.min(pool.spec.answers, ordered.length) : ordered.length;
  if (t) t.candidates = candidates.map((x) => x.address);

  // step 6: halve the TTL when the answer differs from the all-healthy one: a region skipped for health,
  // or a target of the all-healthy answer (the region's weighted targets of this family, else its
  // standbys) down or between states. A down standby behind healthy weighted targets changes nothing.
  const family_ = chosen.r.targets.filter((x) => x.family === family && live(x));
  const wouldServe = family_.some((x) => x.weight > 0) ? family_.filter((x) => x.weight > 0) : family_;
  const degraded = skippedForHealth || wouldServe.some((x) => !health.isUp(x.healthKey) || health.isChanging(x.healthKey));
  return result('answer', ordered.slice(0, n), chosen.r.name, skippedForHealth ? 'failover' : policyReason(pool), degraded);
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
  const ranked = order.ranked.filter((r) => r.region.targets.some(live));
  const first = ranked[0];
  const pick = first && (first.region.targets.some((x) => x.family === family && live(x)) || pool.spec.familyFallback !== 'next-region')
    ? first : ranked.find((r) => r.region.targets.some((x) => x.family === family && live(x)));
  const targets = pick ? pick.region.targets.filter((x) => x.family === family && live(x)) : [];
  if (!pick || targets.length === 0) return result('nodata', [], first?.region.name ?? null, 'all_down', true);
  const ordered = rotate(targets, env.rotation.next(pick.region, family));
  const n = pool.spec.answers > 0 ? Math.min(pool.spec.answers, ordered.length) : ordered.length;
  return result('answer', ordered.slice(0, n), pick.region.name, 'all_down', true, true);
}

/** ECS scope: the located block when the answer depends on the client, widened to /24 (/56) for sticky. */
function scopeFor(pool: Pool, cl: ClientLocation, order: RegionOrder): number {
  if (cl.via !== 'ecs') return 0;
  const sticky = pool.spec.select === 'sticky';
  if (!order.clientDependent && !sticky) return 0;
  const v4 = cl.bytes.length === 4;
  let scope = order.clientDependent ? cl.loc.prefix : 0;
  if (sticky) {
    // the sticky block: /24 (/56), or for an IPv4 inside IPv6 the bits of that IPv4 /24 (Teredo: all)
    const e = v4 ? null : embeddedIPv4(cl.bytes);
    scope = Math.max(scope, v4 ? 24 : !e ? 56 : e.offsetBits < 0 ? 128 : e.offsetBits + 24);
  }
  return Math.min(scope, v4 ? 32 : 128);
}
