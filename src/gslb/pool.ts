// Pools prepared for answering: targets with their RDATA ready, regions resolved against steerdns.yaml.
// The decision (which region, which targets) is made by pure functions of (pool, client, health, state).
import type { Region, ServerConfig } from '../config/server-config.js';
import { probedAddress, type PoolSpec } from '../config/zone-file.js';

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
  /** `all_down: { fallback: POOL }`, resolved when the zone is built. */
  fallback: Pool | null;
}

/**
 * A check's identity: what is probed — type, address (canonical text, as the zone reader writes it; an
 * IPv4-mapped one as its IPv4 address), port,
 * and for HTTP(S) the Host/SNI, path, headers, expected statuses, body and TLS verification. Pools probing
 * the same target the same way share one prober and one state. The timings (interval, timeout, rise, fall,
 * initial) are not part of it: editing them applies to the state already known (a down target stays down)
 * instead of starting over as "not checked yet".
 */
export function healthKey(spec: PoolSpec, written: string): string {
  const c = spec.check;
  // an IPv4-mapped address (::ffff:192.0.2.1) is probed as the IPv4 host it is: one key with 192.0.2.1
  const address = probedAddress(written);
  if (c.type === 'none') return `none|${address}`;
  if (c.type === 'tcp') return `tcp|${address}|${c.port}`;
  // header names are case-insensitive and their order carries no meaning
  const headers = Object.entries(c.headers).map(([k, v]) => [k.toLowerCase(), v]).sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0));
  return `${c.type}|${address}|${c.port}|${c.host.toLowerCase()}|${c.path}|${[...c.expect].sort((a, b) => a - b).join(',')}|${c.body ?? ''}|${c.insecure}|${JSON.stringify(headers)}`;
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
      name: r.region, region: cfg.regions.get(r.region)!, targets, live,
      live4: live.filter((t) => t.family === 4), live6: live.filter((t) => t.family === 6), need,
    };
  });
  const all = regions.flatMap((r) => r.targets);
  return {
    name: spec.name, zone, spec, ttl: spec.ttl, regions,
    has4: all.some((t) => t.family === 4), has6: all.some((t) => t.family === 6), fallback: null,
  };
}
