// The status of this process — GET /status and the status page (/ and /?fragment=1) — built from the
// snapshot and the health table; http/ renders it and serves the routes.
import { createRequire } from 'node:module';
import { formatDiagnostic } from './config/source.js';
import { type Adjustments, appliesTo, type Override } from './gslb/adjust.js';
import type { HealthView } from './health/table.js';
import type { ApiSources } from './http/api.js';
import { statusFragment, statusPage } from './http/page.js';
import { type FleetStatusSource, RenderCache, type Status, type StatusOverride, type StatusTarget } from './http/status.js';
import { zoneNameOfFile } from './load-report.js';
import type { Snapshot } from './snapshot.js';

/** The package version (for /status). */
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

interface ProberState {
  size: number;
  inPanic: boolean;
}

/**
 * /status, / and /?fragment=1, rendered at most once a second from the current snapshot (at once after a
 * reload); `workers`: the worker processes (with workers > 1).
 */
export function statusRoutes(
  snapshot: () => Snapshot,
  health: HealthView,
  prober: ProberState,
  workers: () => unknown[],
  adjust: () => Adjustments | null = () => null,
  fleet: () => FleetStatusSource | null = () => null,
  dnssec: () => unknown = () => null,
): NonNullable<ApiSources['routes']> {
  const status = () => ({
    ...buildStatus(snapshot(), health, prober, VERSION, adjust(), Date.now(), fleet()),
    dnssec: dnssec(),
    workers: workers(),
    generatedAt: new Date().toISOString(),
  });
  // a reload, or a change of the overrides, renders again at once
  let seen = { s: snapshot(), a: adjust() };
  const version = () => {
    const s = snapshot();
    const a = adjust();
    if (s !== seen.s || a !== seen.a) seen = { s, a };
    return seen;
  };
  const rendered = new RenderCache(status, 1000, version);
  return new Map([
    ['/status', () => ({ status: 200, type: 'application/json', body: rendered.body('json', (st) => `${JSON.stringify(st, null, 2)}\n`) })],
    [
      '/',
      (url: URL) =>
        url.searchParams.has('fragment')
          ? { status: 200, type: 'text/html; charset=utf-8', body: rendered.body('fragment', statusFragment) }
          : { status: 200, type: 'text/html; charset=utf-8', body: rendered.body('page', statusPage) },
    ],
  ]);
}

const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : null);

function statusOverride(o: Override, now: number): StatusOverride {
  return {
    id: o.id,
    action: o.action,
    weight: o.weight,
    until: new Date(o.until).toISOString(),
    remainingSeconds: Math.max(0, Math.ceil((o.until - now) / 1000)),
    reason: o.reason,
    author: o.author,
  };
}

export function buildStatus(
  s: Snapshot,
  health: HealthView,
  prober: ProberState,
  version: string,
  adjust: Adjustments | null = null,
  now = Date.now(),
  fleet: FleetStatusSource | null = null,
): Status {
  const zones: Status['zones'] = [...s.files.values()].map((f) => ({
    // a file that never loaded has no origin yet: its file name stands in (as in the load-error metric)
    origin: f.zone ? f.zone.origin : zoneNameOfFile(f.file),
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
          const active = adjust?.forPool(p)?.applied ?? [];
          const targets: StatusTarget[] = r.targets.map((t) => {
            const h = health.get(t.healthKey);
            const up = health.isUp(t.healthKey);
            return {
              address: t.address,
              family: t.family,
              weight: t.weight,
              admin: t.adminDown ? 'down' : 'up',
              health: t.adminDown || c.type === 'none' ? 'not probed' : up ? 'up' : 'down',
              changing: health.isChanging(t.healthKey),
              since: iso(h?.since),
              lastCheck: iso(h?.lastCheck),
              lastResult: h?.lastResult ?? null,
              rttMs: h?.rttMs === null || h?.rttMs === undefined ? null : Math.round(h.rttMs * 10) / 10,
              served: !t.adminDown && up,
              overrides: active.filter((o) => appliesTo(o, p, r, t)).map((o) => statusOverride(o, now)),
              ...(fleet && !t.adminDown && c.type !== 'none' ? fleet.target(t.healthKey) : null),
            };
          });
          return {
            name: r.name,
            location: r.region.location,
            state: r.region.state,
            healthy: targets.filter((t) => t.served).length,
            total: targets.filter((t) => t.admin === 'up').length,
            overrides: active.filter((o) => appliesTo(o, p, r, null)).map((o) => statusOverride(o, now)),
            targets,
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
    geoip: {
      database: s.db?.path ?? null,
      type: s.db?.description ?? null,
      error: s.dbError,
      overlayNetworks: s.config.geoip.networks.length,
      ecs: s.config.geoip.ecs,
      decisionTables: s.geo.tables.stats,
    },
    prober: { targets: prober.size, panic: prober.inPanic },
    ...(fleet ? { fleet: fleet.status() } : {}),
  };
}
