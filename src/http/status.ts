// GET /status (docs/http-api.md#status): zones with serial and load state; per pool, per region, per target:
// health, last check result and time, response time. The shape, and the render cache the routes serve from; the
// application builds it (src/status.ts) from the snapshot and the health table.

/** An active runtime override as /status shows it (docs/operations.md#runtime-overrides). */
export interface StatusOverride {
  id: string;
  action: 'drain' | 'down' | 'up' | 'weight';
  weight: number | null;
  until: string;
  remainingSeconds: number;
  reason: string;
  author: string;
}

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
  /** Active overrides that apply to this target, at any scope (its own, its region's, its pool's). */
  overrides: StatusOverride[];
  /** With a fleet: each instance's observation of the target, and the fleet's verdict (what is served). */
  observations?: Record<string, 'up' | 'down'>;
  verdict?: 'up' | 'down';
}

/** The fleet part of /status (spec: `fleet: { instance, etcd, instances }`), and per target its observations. */
export interface FleetStatus {
  instance: string;
  etcd: 'connected' | 'unreachable';
  instances: string[];
}

export interface FleetStatusSource {
  status(): FleetStatus;
  target(healthKey: string): { observations: Record<string, 'up' | 'down'>; verdict: 'up' | 'down' } | null;
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
    regions: {
      name: string;
      location: [number, number];
      state: string;
      healthy: number;
      total: number;
      /** Active overrides of the whole region or pool (no address): a drained region shows here. */
      overrides: StatusOverride[];
      targets: StatusTarget[];
    }[];
  }[];
  geoip: {
    database: string | null;
    type: string | null;
    error: string | null;
    overlayNetworks: number;
    ecs: boolean;
    /** Compiled decision tables: one per distinct ordering key of the pools, and the bytes they hold. */
    decisionTables: { keys: number; bytes: number };
  };
  prober: { targets: number; panic: boolean };
  /** With `fleet:` only. */
  fleet?: FleetStatus;
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

  constructor(
    private readonly build: () => T,
    private readonly everyMs = 1000,
    private readonly version: () => unknown = () => undefined,
  ) {}

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
