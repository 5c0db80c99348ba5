// Ordering a pool's regions for one client (docs/dns-behaviour.md#step-2-order-the-regions): `nearest` by
// great-circle distance, `failover` in written order, `map` by an explicit table. Regions `state: down` in
// steerdns.yaml are left out; `drain` ones go last. Pure functions of (pool, location).
import type { Location } from './geo.js';
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

/** The most specific `map` entry for a location: CC-SUB, then CC, then continent:XX, then default. */
export function mapEntry(pool: Pool, loc: Location): { key: string; regions: string[] } {
  const table = pool.spec.map;
  const find = (k: string) => table.find((m) => m.key === k);
  const hit =
    (loc.country && loc.subdivision && find(`${loc.country}-${loc.subdivision}`)) ||
    (loc.country && find(loc.country)) ||
    (loc.continent && find(`continent:${loc.continent}`)) ||
    find('default')!;
  return hit;
}

/** The region order for a location, computed (memo.ts orderRegions keeps it for a shared location). */
export function computeOrder(pool: Pool, loc: Location): RegionOrder {
  const live = pool.regions.filter((r) => r.region.state !== 'down');
  const point: [number, number] | null = loc.lat !== undefined && loc.lon !== undefined ? [loc.lat, loc.lon] : null;
  const dist = (r: PoolRegion) => (point ? haversineKm(point, r.region.location) : null);
  let ranked: RankedRegion[];
  let mapKey: string | null = null;
  let clientDependent = false;
  if (pool.spec.policy === 'map') {
    const entry = mapEntry(pool, loc);
    mapKey = entry.key;
    ranked = entry.regions
      .map((name) => live.find((r) => r.name === name))
      .filter((r): r is PoolRegion => !!r)
      .map((r) => ({ region: r, distanceKm: dist(r) }));
    clientDependent = true;
  } else {
    ranked = live.map((r) => ({ region: r, distanceKm: dist(r) }));
    if (pool.spec.policy === 'nearest') {
      // stable sort: ties keep the written order. Located or not, the order depends on the client
      // (others are placed elsewhere), so the ECS scope must say which block this answer is for.
      if (point) ranked.sort((a, b) => a.distanceKm! - b.distanceKm!);
      clientDependent = live.length > 1;
    }
  }
  // an overlay pin puts its region first (nearest and map); `failover` is always the written order
  // (docs/dns-behaviour.md#step-2-order-the-regions), so its answer never depends on the client and its ECS
  // scope 0 stays true for every block
  if (loc.region && pool.spec.policy !== 'failover') {
    const i = ranked.findIndex((r) => r.region.name === loc.region);
    if (i > 0) ranked.unshift(...ranked.splice(i, 1));
    clientDependent = clientDependent || live.length > 1;
  }
  // drain: used only when no other region qualifies
  const drained = ranked.filter((r) => r.region.region.state === 'drain');
  if (drained.length) ranked = [...ranked.filter((r) => r.region.region.state !== 'drain'), ...drained];
  let allHealthy = ranked.findIndex((r) => r.region.live.length >= r.region.need);
  if (allHealthy < 0) allHealthy = ranked.findIndex((r) => r.region.live.length > 0);
  return { ranked, mapKey, clientDependent, allHealthy };
}
