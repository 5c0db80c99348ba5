// GET /status (spec §8): zones with serial and load state; per pool, per region, per target: health,
// last check result and time, response time. Plain data from the snapshot and the health table.
import { formatDiagnostic } from '../config/source.js';
import type { HealthView } from '../health/table.js';
import type { Snapshot } from '../snapshot.js';

export interface StatusTarget {
  address: string;
  family: 4 | 6;
  weight: number;
  admin: 'up' | 'down';
  health: 'up' | 'down' | 'not probed';
  changing: boolean;
  since: string | null;
  lastCheck: string | null;
  lastResult: string | null;
  rttMs: number | null;
  served: boolean;
}

export interface Status {
  version: string;
  generation: number;
  uptimeSeconds: number;
  zones: {
    origin: string;
    file: string;
    serial: number | null;
    state: 'loaded' | 'error' | 'stale';
    loadedAt: string | null;
    failedAt: string | null;
    errors: string[];
    warnings: string[];
  }[];
  pools: {
    zone: string;
    name: string;
    policy: string;
    select: string;
    ttl: number;
    check: string;
    regions: { name: string; location: [number, number]; state: string; healthy: number; total: number; targets: StatusTarget[] }[];
  }[];
  geoip: { database: string | null; type: string | null; error: string | null; overlayNetworks: number; ecs: boolean };
  prober: { targets: number; panic: boolean };
}

const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : null);

export function buildStatus(s: Snapshot, health: HealthView, prober: { size: number; inPanic: boolean }, version: string): Status {
  const zones: Status['zones'] = [...s.files.values()].map((f) => ({
    // a file that never loaded has no origin yet: its file name stands in (as in the load-error metric)
    origin: f.zone ? f.zone.origin : (f.file.split('/').pop() ?? f.file).replace(/\.yaml$/, ''),
    file: f.file,
    serial: f.zone?.serial ?? null,
    state: f.errors.length === 0 ? 'loaded' : f.zone ? 'stale' : 'error',
    loadedAt: iso(f.loadedAt),
    failedAt: iso(f.failedAt),
    errors: f.errors.map(formatDiagnostic),
    warnings: f.warnings.map(formatDiagnostic),
  }));
  const pools: Status['pools'] = [];
  for (const z of s.zones.values()) {
    for (const p of z.pools) {
      const c = p.spec.check;
      pools.push({
        zone: z.origin,
        name: p.name,
        policy: p.spec.policy,
        select: p.spec.select,
        ttl: p.ttl,
        check: c.type === 'none' ? 'none' : c.type === 'tcp' ? `tcp port ${c.port}` : `${c.type}://${c.host}:${c.port}${c.path}`,
        regions: p.regions.map((r) => {
          const targets: StatusTarget[] = r.targets.map((t) => {
            const h = health.get(t.healthKey);
            const up = health.isUp(t.healthKey);
            return {
              address: t.address, family: t.family, weight: t.weight,
              admin: t.adminDown ? 'down' : 'up',
              health: t.adminDown || c.type === 'none' ? 'not probed' : up ? 'up' : 'down',
              changing: health.isChanging(t.healthKey),
              since: iso(h?.since), lastCheck: iso(h?.lastCheck), lastResult: h?.lastResult ?? null,
              rttMs: h?.rttMs === null || h?.rttMs === undefined ? null : Math.round(h.rttMs * 10) / 10,
              served: !t.adminDown && up,
            };
          });
          return {
            name: r.name, location: r.region.location, state: r.region.state,
            healthy: targets.filter((t) => t.served).length, total: targets.filter((t) => t.admin === 'up').length, targets,
          };
        }),
      });
    }
  }
  return {
    version,
    generation: s.generation,
    uptimeSeconds: Math.round(process.uptime()),
    zones,
    pools,
    geoip: { database: s.db?.path ?? null, type: s.db?.description ?? null, error: s.dbError, overlayNetworks: s.config.geoip.networks.length, ecs: s.config.geoip.ecs },
    prober: { targets: prober.size, panic: prober.inPanic },
  };
}

/**
 * /status, / and /?fragment=1 rendered at most once per `everyMs` and served from that render: a flood of
 * requests costs one render a period, not one each (a render walks every pool target). A reload (a new
 * snapshot, `version()` changes) renders again at once: what was loaded or refused shows without delay.
 */
export class RenderCache<T> {
  private renderedAt = -Infinity;
  private value: T | null = null;
  private renderedVersion: unknown = undefined;
  private readonly bodies = new Map<string, string>();

  constructor(private readonly build: () => T, private readonly everyMs = 1000, private readonly version: () => unknown = () => undefined) {}

  private current(): T {
    const now = performance.now();
    const version = this.version();
    if (this.value === null || now - this.renderedAt >= this.everyMs || version !== this.renderedVersion) {
      this.value = this.build();
      this.renderedAt = now;
      this.renderedVersion = version;
      this.bodies.clear();
    }
    return this.value;
  }

  /** The body of one kind (JSON, page, fragment) of the current render. */
  body(kind: string, render: (value: T) => string): string {
    const v = this.current();
    let b = this.bodies.get(kind);
    if (b === undefined) {
      b = render(v);
      this.bodies.set(kind, b);
    }
    return b;
  }
}
