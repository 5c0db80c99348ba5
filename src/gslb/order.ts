// Ordering a pool's regions for one client (docs/dns-behaviour.md#step-2-order-the-regions): `nearest` by
// great-circle distance, `failover` in written order, `map` by an explicit table. Regions `state: down` in
// steerdns.yaml are left out; `drain` ones go last. The order depends only on the pool's ordering key (policy,
// regions with their coordinates and states, the map) and the client's place: orderIndices() is the one
// implementation, used by the reference path (computeOrder) and by the compiled decision table (compile.ts).
import type { RegionState } from '../config/server-spec.js';
import type { Place } from './geo.js';
import type { Pool, PoolRegion } from './pool.js';

const EARTH_RADIUS_KM = 6371;
const rad = Math.PI / 180;

/** Great-circle distance (haversine on a sphere), kilometres. */
export function haversineKm(a: [number, number], b: [number, number]): number {
  const dLat = (b[0] - a[0]) * rad;
  const dLon = (b[1] - a[1]) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[0] * rad) * Math.cos(b[0] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** A region of an ordering key: what of it the order reads. */
export interface KeyRegion {
  name: string;
  location: [number, number];
  state: RegionState;
}

/**
 * What a pool's region order depends on, and nothing else (not its targets, select or min_healthy): pools
 * with equal keys order every client alike, and share one compiled decision table. Plain data.
 */
export interface OrderingKey {
  policy: 'nearest' | 'failover' | 'map';
  /** The pool's regions in written order; orders are indices into this list. */
  regions: KeyRegion[];
  /** `map` entries (policy map), in written order. */
  map: { key: string; regions: string[] }[];
}

/** The ordering key of a pool (its regions as steerdns.yaml placed them when the pool was built). */
export function orderingKey(pool: Pick<Pool, 'spec' | 'regions'>): OrderingKey {
  return {
    policy: pool.spec.policy,
    regions: pool.regions.map((r) => ({ name: r.name, location: r.region.location, state: r.region.state })),
    map: pool.spec.policy === 'map' ? pool.spec.map.map((m) => ({ key: m.key, regions: m.regions })) : [],
  };
}

/** The identity of an ordering key (equal texts, equal orders for every client). */
export function keyText(key: OrderingKey): string {
  return JSON.stringify(key);
}

/**
 * Whether the order depends on where the client is: `map`, or `nearest` with more than one live region. Such a
 * pool answers from a compiled decision table, and its ECS scope says which block the answer is for; any other
 * pool orders every client alike (failover is always the written order, and pins do not move it).
 */
export function dependsOnClient(key: OrderingKey): boolean {
  if (key.policy === 'map') return true;
  if (key.policy === 'failover') return false;
  let live = 0;
  for (const r of key.regions) if (r.state !== 'down') live++;
  return live > 1;
}

/** The most specific `map` entry for a place: CC-SUB, then CC, then continent:XX, then default. */
export function mapEntryOf(map: OrderingKey['map'], loc: Place): { key: string; regions: string[] } {
  const find = (k: string) => map.find((m) => m.key === k);
  return (
    (loc.country && loc.subdivision && find(`${loc.country}-${loc.subdivision}`)) ||
    (loc.country && find(loc.country)) ||
    (loc.continent && find(`continent:${loc.continent}`)) ||
    find('default')!
  );
}

/** The most specific `map` entry of a pool for a place. */
export function mapEntry(pool: Pool, loc: Place): { key: string; regions: string[] } {
  return mapEntryOf(pool.spec.map, loc);
}

/** A client's region order under a key: indices into `key.regions`, and the `map` entry that matched. */
export interface KeyOrder {
  indices: number[];
  mapKey: string | null;
}

/** The region order of a client at `loc` under `key` (docs/dns-behaviour.md#step-2-order-the-regions). */
export function orderIndices(key: OrderingKey, loc: Place): KeyOrder {
  const regions = key.regions;
  const live: number[] = [];
  for (let i = 0; i < regions.length; i++) if (regions[i]!.state !== 'down') live.push(i);
  const point: [number, number] | null = loc.lat !== undefined && loc.lon !== undefined ? [loc.lat, loc.lon] : null;
  let ranked: number[];
  let mapKey: string | null = null;
  if (key.policy === 'map') {
    const entry = mapEntryOf(key.map, loc);
    mapKey = entry.key;
    ranked = [];
    for (const name of entry.regions) {
      const i = live.find((x) => regions[x]!.name === name);
      if (i !== undefined) ranked.push(i);
    }
  } else {
    ranked = live;
    // stable sort: ties keep the written order
    if (key.policy === 'nearest' && point) {
      const dist = new Map(live.map((i) => [i, haversineKm(point, regions[i]!.location)]));
      ranked = live.slice().sort((a, b) => dist.get(a)! - dist.get(b)!);
    }
  }
  // an overlay pin puts its region first (nearest and map); `failover` is always the written order
  if (loc.region && key.policy !== 'failover') {
    const i = ranked.findIndex((x) => regions[x]!.name === loc.region);
    if (i > 0) ranked = [ranked[i]!, ...ranked.slice(0, i), ...ranked.slice(i + 1)];
  }
  // drain: used only when no other region qualifies
  if (ranked.some((x) => regions[x]!.state === 'drain'))
    ranked = [...ranked.filter((x) => regions[x]!.state !== 'drain'), ...ranked.filter((x) => regions[x]!.state === 'drain')];
  return { indices: ranked, mapKey };
}

export interface RankedRegion {
  region: PoolRegion;
  /** Distance from the client, when the client's position is known. */
  distanceKm: number | null;
}

export interface RegionOrder {
  ranked: RankedRegion[];
  /** The `map` key that matched (policy map), for explain and metrics. */
  mapKey: string | null;
  /** Whether the order depends on where the client is (ECS scope must then be set). */
  clientDependent: boolean;
  /**
   * Index in `ranked` of the region of the all-healthy answer (docs/dns-behaviour.md#step-6-ttl): the first
   * that qualifies with every target up, given the configured states — a region whose targets are all
   * `state: down`, or whose min_healthy exceeds its size, never qualifies, and passing it over is
   * configuration, not failover. Failing that, the first with any live target; -1 when none has one.
   */
  allHealthy: number;
}

/**
 * A pool's region order from the indices of its key's order; with `loc`, the distances from the client
 * (explain prints them).
 */
export function regionOrder(pool: Pool, order: KeyOrder, loc: Place | null): RegionOrder {
  const point: [number, number] | null = loc && loc.lat !== undefined && loc.lon !== undefined ? [loc.lat, loc.lon] : null;
  const ranked: RankedRegion[] = order.indices.map((i) => {
    const region = pool.regions[i]!;
    return { region, distanceKm: point ? haversineKm(point, region.region.location) : null };
  });
  let allHealthy = ranked.findIndex((r) => r.region.live.length >= r.region.need);
  if (allHealthy < 0) allHealthy = ranked.findIndex((r) => r.region.live.length > 0);
  return { ranked, mapKey: order.mapKey, clientDependent: pool.dependsOnClient, allHealthy };
}

/** The region order of a pool for a client at `loc`, computed (the reference path). */
export function computeOrder(pool: Pool, loc: Place): RegionOrder {
  return regionOrder(pool, orderIndices(pool.key, loc), loc);
}
