// The pool decision (docs/dns-behaviour.md#pool-decisions): locate the client → order the regions → take the
// first region that qualifies → select targets → TTL and ECS scope. Pure: health, rotation state and the random
// source come in through `GslbEnv`; `steerdns explain` passes a trace and prints what this same function
// decided. poolResolver() makes it dns/'s dynamic-name resolver (dns/dynamic.ts), the one call the lookup makes.
import type { DynamicAnswer, QueryClient } from '../dns/dynamic.js';
import type { HealthView } from '../health/table.js';
import { maskBytes } from '../net/cidr.js';
import { embeddedIPv4 } from '../net/ranges.js';
import { sourceBytes } from '../net/source.js';
import { type Adjustments, overrideTrace, type PoolAdjust } from './adjust.js';
import { type ClientInfo, type GeoContext, locateClient, usableEcs } from './locate.js';
import { anywhereMemo, type OrderMemo, orderMemo, tableOf } from './memo.js';
import { mapEntry, type RegionOrder, regionOrder } from './order.js';
import { makePlan, type Plan, policyReason } from './plan.js';
import type { Pool, PoolRegion, Target } from './pool.js';
import type { Rotation } from './rotation.js';
import { rotate, selectTargets } from './select.js';
import { ecsLookup, HIT, lookup } from './table.js';
import type { PoolTrace, Reason } from './trace.js';

export interface GslbEnv {
  health: HealthView;
  rotation: Rotation;
  random: () => number;
  /** Called once per pool decision (metrics). */
  onDecision?: (pool: Pool, d: PoolDecision) => void;
  /** `explain`: every pool decision's intermediate results are appended here. */
  trace?: PoolTrace[];
  /** Runtime overrides on top of the zone files and health (gslb/adjust.ts); null or absent: none. */
  adjust?: Adjustments | null;
}

/** A pool's answer (what dns/ reads from a dynamic name's resolver) and why it is that one (metrics). */
export interface PoolDecision extends DynamicAnswer {
  region: string | null;
  reason: Reason;
  /** The fail-open (serve-all) path answered. */
  failOpen: boolean;
}

function clientBlock(bytes: Buffer): Buffer {
  const e = embeddedIPv4(bytes);
  const b = e ? e.v4 : bytes;
  return maskBytes(b, b.length === 4 ? 24 : 56);
}

/** The A (family 4) or AAAA (family 6) answer of a pool for one client. */
export function decidePool(pool: Pool, family: 4 | 6, client: ClientInfo, ctx: GeoContext, env: GslbEnv, depth = 0): PoolDecision {
  const d = decide(pool, family, client, ctx, env, env.trace, depth);
  env.onDecision?.(pool, d);
  return d;
}

/**
 * The resolver the lookup (dns/flat-lookup.ts) calls for pool names (dns/dynamic.ts): decides with `env`'s health table, rotation
 * and hooks, placing the client with the GeoIP context `geo()` gives at the time of the query (a database
 * reload replaces it). The client may be a ClientInfo: where it was placed is then kept on it.
 */
export function poolResolver(env: GslbEnv, geo: () => GeoContext): (pool: Pool, family: 4 | 6, client: ClientInfo) => PoolDecision {
  return (pool, family, client) => decidePool(pool, family, client, geo(), env);
}

/** Pools whose answer may depend on where the client is: an order that does (compiled table), or sticky. */
function needsLocation(pool: Pool): boolean {
  return pool.spec.select === 'sticky' || pool.dependsOnClient;
}

type Ecs = NonNullable<QueryClient['ecs']>;

/** The bytes of the address that placed the client (the ECS address padded with zeros), for sticky. */
function placedBytes(client: QueryClient, ecs: Ecs | null): Buffer {
  if (!ecs) return sourceBytes(client.address);
  const bytes = Buffer.alloc(ecs.family === 1 ? 4 : 16);
  ecs.address.copy(bytes);
  return bytes;
}

function decide(
  pool: Pool,
  family: 4 | 6,
  client: ClientInfo,
  ctx: GeoContext,
  env: GslbEnv,
  trace: PoolTrace[] | undefined,
  depth: number,
): PoolDecision {
  const { health } = env;
  const ecs = usableEcs(client, ctx);
  // step 1 and 2: the client's block in the pool's compiled decision table gives the region order and, with ECS,
  // the scope (docs/dns-behaviour.md#step-7-ecs-scope): one walk. Orders and plans are memoized on the pool.
  let memo: OrderMemo;
  let scope = 0;
  if (pool.dependsOnClient) {
    const table = tableOf(pool, ctx.tables);
    if (ecs) {
      ecsLookup(table, ecs.address, ecs.family === 1, ecs.sourcePrefix);
      scope = HIT.scope;
    } else {
      const bytes = sourceBytes(client.address);
      lookup(table, bytes, bytes.length === 4);
    }
    memo = orderMemo(pool, HIT.order);
  } else memo = anywhereMemo(pool);
  const sticky = pool.spec.select === 'sticky';
  if (sticky && ecs) scope = Math.max(scope, stickyScope(ecs));
  let order = memo.order;
  // explain: where the locator places the client, and the distances to the regions in the order decided
  const cl = trace ? locateClient(client, ctx) : undefined;
  if (cl) {
    const indices = order.ranked.map((r) => pool.regions.indexOf(r.region));
    const mapKey = pool.spec.policy === 'map' ? mapEntry(pool, cl.loc).key : null;
    order = regionOrder(pool, { indices, mapKey }, needsLocation(pool) ? cl.loc : null);
  }
  const t: PoolTrace | undefined = cl
    ? {
        pool: pool.name,
        family,
        client: cl,
        policy: pool.spec.policy,
        mapKey: order.mapKey,
        regions: [],
        chosen: null,
        reason: null,
        select: pool.spec.select,
        candidates: [],
        answer: [],
        ttl: pool.ttl,
        halved: false,
        scope: 0,
        note: null,
      }
    : undefined;
  if (t) trace!.push(t);
  const result = (
    kind: PoolDecision['kind'],
    targets: Target[],
    region: string | null,
    reason: Reason,
    halved: boolean,
    failOpen = false,
    dependsOnClient = true,
  ): PoolDecision => {
    const ttl = halved ? Math.max(1, Math.floor(pool.ttl / 2)) : pool.ttl;
    const s = dependsOnClient ? scope : 0;
    const rdata: Buffer[] = new Array(targets.length);
    for (let i = 0; i < targets.length; i++) rdata[i] = targets[i]!.rdata;
    if (t) Object.assign(t, { chosen: region, reason, answer: targets.map((x) => x.address), ttl, halved, scope: s });
    return { kind, rdata, ttl, scope: s, region, reason, failOpen };
  };

  // step 7: no target of this family anywhere
  if (family === 4 ? !pool.has4 : !pool.has6) {
    if (t) t.note = `no IPv${family} target in any region`;
    return result('nodata', [], null, policyReason(pool), false, false, false);
  }

  // steps 3 and 4 up to the selection: memoized with the order while the health table stands still
  let plan: Plan;
  const version = health.version;
  const adjust = env.adjust ? env.adjust.forPool(pool) : null;
  if (!t && pool.spec.select !== 'fastest') {
    const cached = family === 4 ? memo.plan4 : memo.plan6;
    if (cached && cached.version === version && cached.health === health && cached.adjust === adjust) plan = cached;
    else {
      plan = makePlan(pool, family, order, health, version, undefined, adjust);
      if (family === 4) memo.plan4 = plan;
      else memo.plan6 = plan;
    }
  } else plan = makePlan(pool, family, order, health, version, t, adjust);
  if (t && adjust) t.overrides = adjust.applied.map(overrideTrace);

  // a pool drained as a whole answers from its all_down fallback pool, while that one has an answer
  if (adjust?.poolDrained && pool.fallback && depth < 4) {
    const d = drainedToFallback(pool, family, client, ctx, env, depth, t);
    if (d) return d;
  }
  if (plan.kind === 'all_down') return allDown(pool, family, client, ctx, env, depth, plan.order, result, t, adjust);
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
      clientBlock: clientBlock(cl ? cl.bytes : placedBytes(client, ecs)),
      rttMs: (x) => health.rttMs(x.healthKey),
    });
    chosen = pool.spec.answers > 0 ? ordered.slice(0, pool.spec.answers) : ordered;
  }
  if (t) t.candidates = candidates.map((x) => x.address);
  return result('answer', chosen, region.name, plan.reason, plan.degraded);
}

/** A drained pool's answer from its fallback pool, or null when the fallback has none (the pool then answers). */
function drainedToFallback(
  pool: Pool,
  family: 4 | 6,
  client: ClientInfo,
  ctx: GeoContext,
  env: GslbEnv,
  depth: number,
  t: PoolTrace | undefined,
): PoolDecision | null {
  const d = decidePool(pool.fallback!, family, client, ctx, env, depth + 1);
  if (d.kind !== 'answer' || d.failOpen || d.reason === 'all_down') {
    if (t) t.note = `pool drained by override, but its fallback ${pool.fallback!.name} has no answer: the pool answers`;
    return null;
  }
  const ttl = Math.max(1, Math.min(d.ttl, Math.floor(pool.ttl / 2)));
  if (t)
    Object.assign(t, {
      note: 'pool drained by override: its fallback answers',
      reason: 'fallback',
      ttl,
      halved: true,
      scope: d.scope,
      chosen: d.region,
    });
  return { ...d, reason: 'fallback', ttl };
}

/** Step 5: nothing healthy anywhere. */
function allDown(
  pool: Pool,
  family: 4 | 6,
  client: ClientInfo,
  ctx: GeoContext,
  env: GslbEnv,
  depth: number,
  order: RegionOrder,
  result: (
    k: PoolDecision['kind'],
    ts: Target[],
    r: string | null,
    reason: Reason,
    halved: boolean,
    failOpen?: boolean,
    dependsOnClient?: boolean,
  ) => PoolDecision,
  t: PoolTrace | undefined,
  adjust: PoolAdjust | null,
): PoolDecision {
  const mode = pool.spec.allDown;
  if (t) t.note = `no healthy target in any region: all_down ${mode.kind}`;
  if (mode.kind === 'fallback' && pool.fallback && depth < 4) {
    const d = decidePool(pool.fallback, family, client, ctx, env, depth + 1);
    if (t) Object.assign(t, { reason: 'fallback', answer: [], ttl: d.ttl, halved: true, scope: d.scope, chosen: d.region });
    return { ...d, reason: 'fallback', ttl: Math.max(1, Math.min(d.ttl, Math.floor(pool.ttl / 2))) };
  }
  // the same NODATA / SERVFAIL for every client: ECS scope 0 (docs/dns-behaviour.md#step-7-ecs-scope)
  if (mode.kind === 'nodata') return result('nodata', [], null, 'all_down', true, false, false);
  if (mode.kind === 'servfail') return result('servfail', [], null, 'all_down', true, false, false);
  // serve-all (and a fallback that cannot be followed): fail open with the first region's targets —
  // the same region for A and AAAA, so NODATA when it has none of this family (unless family_fallback)
  // targets down by override are left out like `state: down` ones
  const served = (ts: Target[]) => (adjust ? ts.filter((x) => adjust.state.get(x) !== 'down') : ts);
  const famOf = (r: PoolRegion) => served(family === 4 ? r.live4 : r.live6);
  const ranked = order.ranked.filter((r) => served(r.region.live).length > 0);
  const first = ranked[0];
  const pick =
    first && (famOf(first.region).length > 0 || pool.spec.familyFallback !== 'next-region')
      ? first
      : ranked.find((r) => famOf(r.region).length > 0);
  const targets = pick ? famOf(pick.region) : [];
  if (!pick || targets.length === 0) return result('nodata', [], first?.region.name ?? null, 'all_down', true);
  const ordered = rotate(targets, env.rotation.next(pick.region, family));
  const n = pool.spec.answers > 0 ? Math.min(pool.spec.answers, ordered.length) : ordered.length;
  return result('answer', ordered.slice(0, n), pick.region.name, 'all_down', true, true);
}

/**
 * The sticky block of an ECS client (docs/dns-behaviour.md#step-7-ecs-scope): /24 (/56), or for an IPv4 address
 * inside IPv6 the bits of that IPv4 /24 (Teredo: all). The address may stop after its source prefix's bytes.
 */
function stickyScope(ecs: Ecs): number {
  if (ecs.family === 1) return 24;
  const b = ecs.address;
  const at = (i: number) => (i < b.length ? b[i]! : 0);
  let zero10 = true;
  for (let i = 0; i < 10; i++) if (at(i) !== 0) zero10 = false;
  if (zero10 && at(10) === 0xff && at(11) === 0xff) return 96 + 24;
  if (at(0) === 0x20 && at(1) === 0x02) return 16 + 24;
  if (at(0) === 0x20 && at(1) === 0x01 && at(2) === 0 && at(3) === 0) return 128;
  return 56;
}
