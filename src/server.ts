// Wiring: config → snapshot → responder → listeners; reload and graceful stop. The edges (sockets,
// signals) turn errors into log lines; the answer path itself never waits on anything.
import { createRequire } from 'node:module';
import type { Server as NetServer } from 'node:net';
import { pino, type Logger } from 'pino';
import { SerialStore } from './config/serial.js';
import { loadServerConfig, type HttpConfig, type ServerConfig } from './config/server-config.js';
import { formatDiagnostic, type Diagnostic } from './config/source.js';
import type { ResponseRateLimiter } from './dns/rrl.js';
import { TcpConnections, TcpListener, UdpListener, type Handle } from './dns/transport.js';
import { Rotation, type GslbEnv, type PoolDecision } from './gslb/answer.js';
import { tighterCheck, type Pool } from './gslb/pool.js';
import { HealthTable } from './health/table.js';
import { bundledDatabasePath, databaseStamp } from './gslb/geo.js';
import { Prober, type CheckTarget } from './health/prober.js';
import { HttpApi } from './http/api.js';
import { unmappedIPv4 } from './net/address.js';
import { statusFragment, statusPage } from './http/page.js';
import { buildStatus, RenderCache } from './http/status.js';
import type { AccessRules } from './http/access.js';
import { HTTP_MAX_CONNECTIONS } from './config/http-defaults.js';
import { checkDescriptors } from './limits.js';
import { FolderWatcher, folderStamps, SETTLE_MS } from './watch.js';
import { Metrics, type DecisionCell } from './metrics.js';
import { AnswerPath, queryHandler, Responder } from './pipeline.js';
import { geoContext, loadDatabase, loadSnapshot, type Snapshot } from './snapshot.js';

/** The package version (for /status). */
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

export class StartupError extends Error {
  /** `logged`: the diagnostics were already logged by the server (zone load errors). */
  constructor(message: string, readonly diagnostics: Diagnostic[] = [], readonly logged = false) {
    super(message);
  }
}

/**
 * `single`: one process does everything (workers: 1). With workers > 1 the `primary` loads, probes,
 * watches and serves HTTP but answers no DNS, and each `worker` answers DNS from its own snapshot, with
 * health and reload commands from the primary (src/cluster.ts).
 */
export type Role = 'single' | 'primary' | 'worker';

export interface ServerOptions {
  configPath: string;
  logger?: Logger;
  role?: Role;
  /** Worker: runs after the zones load and before the sockets open (waits for the health table). */
  beforeListen?: (server: Server) => Promise<void>;
}

export interface BoundAddress {
  host: string;
  port: number;
  family: 4 | 6;
}

export function createLogger(cfg: Pick<ServerConfig, 'log'> | null, processName?: string): Logger {
  return pino({ level: cfg?.log.level ?? 'info', base: processName ? { name: 'steerdns', process: processName } : { name: 'steerdns' } });
}

export class Server {
  snapshot!: Snapshot;
  readonly bound: BoundAddress[] = [];
  private readonly udp: UdpListener[] = [];
  private readonly tcp: TcpListener[] = [];
  /** Every TCP connection, across listen addresses: the connection cap and idle timeout apply to all. */
  private tcpConnections!: TcpConnections;
  private readonly responder: Responder;
  /** What every listener's answer path shares (the listeners' handlers are built from it). */
  private readonly answering: AnswerPath;
  private serials: SerialStore;
  private stopped = false;
  /** Target health, written by the prober (and tests); read by the answer path. */
  readonly health = new HealthTable();
  readonly metrics = new Metrics();
  readonly prober: Prober;
  private http: HttpApi | null = null;
  httpPort: number | null = null;
  /** Pools currently answering with all_down (logged when they enter and leave that state). */
  private readonly allDown = new Set<string>(); // "zone|pool": survives reloads, holds no old objects
  /** Primary: told after every reload, to pass it on to the workers. */
  onReloaded: ((what: 'all' | 'zones' | 'db') => void) | null = null;
  /** Primary: the worker processes, for /status. */
  workerInfo: (() => unknown[]) | null = null;
  /** Primary: /metrics aggregated over every process. */
  metricsText: (() => Promise<string>) | null = null;
  /** Primary: why no worker answers DNS yet (null when one does). */
  notReady: (() => string | null) | null = null;
  /** Worker: its cluster id, a label of steerdns_worker_queries_total. */
  workerId: string | null = null;

  private constructor(private config: ServerConfig, readonly log: Logger, readonly role: Role) {
    // only one process writes the automatic serials: workers read what the primary wrote
    this.serials = openSerials(config.stateDir, role !== 'worker', log);
    const gslb: GslbEnv = {
      health: this.health, rotation: new Rotation(), random: Math.random,
      onDecision: (pool, d) => this.countDecision(pool, d),
    };
    this.responder = new Responder(() => this.snapshot, config, gslb);
    this.prober = new Prober({
      table: this.health, log, panic: config.health.panic, panicMinTargets: config.health.panicMinTargets,
      onResult: (_t, r) => this.metrics.healthCheck(r.kind),
      onChange: (c) => {
        for (const u of c.uses) this.metrics.targetUp.set({ zone: u.zone, pool: u.pool, region: u.region, address: c.address }, c.to === 'up' ? 1 : 0);
      },
    });
    this.responder.onError = (e, msg) => this.log.error({ err: e, query: msg.toString('base64') }, 'internal error answering a query');
    this.answering = new AnswerPath(this.responder, this.metrics, log, config);
  }

  static async start(opts: ServerOptions): Promise<Server> {
    const { config, diagnostics } = loadServerConfig(opts.configPath);
    const log = opts.logger ?? createLogger(config);
    for (const d of diagnostics.filter((x) => x.severity === 'warning')) log.warn(formatDiagnostic(d));
    if (!config) throw new StartupError('invalid configuration', diagnostics);
    const role = opts.role ?? 'single';
    const server = new Server(config, log, role);
    const loaded = folderStamps(config.zonesDir); // before the read: a write after it is seen by the watcher
    server.loadZones(null);
    if (server.snapshot.zones.size === 0) {
      // the zone errors go to stderr too: an operator starting by hand must see why nothing serves
      const errors = [...server.snapshot.files.values()].flatMap((f) => f.errors);
      throw new StartupError('no zone could be loaded: nothing to serve', errors, true);
    }
    server.logDescriptors();
    if (role === 'worker') {
      server.retryUnsettled();
      await opts.beforeListen?.(server);
      await server.listen();
      return server;
    }
    if (role === 'single') await server.listen();
    await server.listenHttp();
    server.watchDatabase();
    server.zoneWatcher.watch(config.zonesDir, loaded);
    server.retryUnsettled();
    return server;
  }

  /** Says at start (and when limits change) whether RLIMIT_NOFILE covers what this process may hold open. */
  private logDescriptors(): void {
    const dns = this.role !== 'primary';
    const api = this.role !== 'worker' && this.config.http !== null;
    const c = checkDescriptors({
      tcpConnections: dns ? this.config.limits.tcpConnections : 0,
      listenSockets: (dns ? 2 * this.config.listen.length : 0) + (api ? 1 : 0),
      httpConnections: api ? HTTP_MAX_CONNECTIONS : 0,
      probes: this.role !== 'worker' ? this.prober.size : 0,
    });
    if (c) this.log[c.level]({ limit: c.limit, needed: c.needed }, c.message);
  }

  get currentConfig(): ServerConfig {
    return this.config;
  }

  /** Edits in the zones folder reload the zones (once they hold still); SIGHUP reloads the config too. */
  private readonly zoneWatcher = new FolderWatcher(() => this.reloadZones(), SETTLE_MS, (e) => this.log.error({ err: e }, 'cannot watch the zones folder'));

  /** Reloads the zone files with the running config (a file watch fired). */
  reloadZones(): { failed: string[]; parsed: number; rebuilt: number } {
    const r = this.loadZones(this.snapshot);
    this.retryUnsettled();
    this.onReloaded?.('zones');
    return r;
  }

  /** The last load met a zone file that changed while it was read: it is read again once it holds still. */
  private zonesUnsettled = false;

  /** (A worker's watcher watches no folder: it only waits the settle time, then reloads its zones.) */
  private retryUnsettled(): void {
    if (this.zonesUnsettled) this.zoneWatcher.changed();
  }

  private watchedDb: string | null = null;
  /** File identity of the database last tried (loaded or failed): a new identity is tried again. */
  private dbSeen: string | null = null;
  private dbPoll: NodeJS.Timeout | null = null;

  /**
   * A changed GeoIP database file is reloaded; if the new file fails to open, the old one stays. The file
   * is polled once a second by identity (inode, size, mtime), which also catches an atomic rename and
   * never misses a change made while the watch was starting.
   */
  private watchDatabase(): void {
    // the configured file (or the bundled one): a database that failed to open is retried when it changes
    const path = this.config.geoip.database ?? bundledDatabasePath();
    if (path !== this.watchedDb) {
      this.watchedDb = path;
      this.dbSeen = this.snapshot.db?.path === path ? this.snapshot.db.stamp : null;
    }
    if (!this.dbPoll) {
      this.dbPoll = setInterval(() => this.pollDatabase(), 1000);
      this.dbPoll.unref();
    }
  }

  private pollDatabase(): void {
    if (!this.watchedDb) return;
    let stamp: string;
    try {
      stamp = databaseStamp(this.watchedDb);
    } catch {
      return; // missing for now (being replaced): the next poll sees it
    }
    if (stamp === this.dbSeen) return;
    this.dbSeen = stamp;
    this.reloadDatabase();
  }

  /** Swaps in the GeoIP database from disk (keeping the old one if the new one fails). */
  reloadDatabase(): void {
    const { db, dbError } = loadDatabase(this.config, this.snapshot);
    if (dbError) {
      this.log.error({ file: this.config.geoip.database }, dbError);
      if (dbError !== this.snapshot.dbError) this.snapshot = { ...this.snapshot, dbError }; // /status says why
      return;
    }
    if (db === this.snapshot.db) return;
    this.snapshot = { ...this.snapshot, db, dbError: null, geo: geoContext(this.config, db), generation: this.snapshot.generation + 1 };
    this.log.info({ file: db?.path, type: db?.description }, 'GeoIP database reloaded');
    this.onReloaded?.('db');
  }

  private readonly decisionCells = new WeakMap<Pool, DecisionCell>();

  private countDecision(pool: Pool, d: PoolDecision): void {
    let cell = this.decisionCells.get(pool);
    if (!cell) {
      cell = this.metrics.decisionCell(pool.zone, pool.name);
      this.decisionCells.set(pool, cell);
    }
    const reason = d.reason;
    this.metrics.countDecision(cell, d.region ?? '', reason);
    const down = reason === 'all_down' || reason === 'fallback';
    if (!down && this.allDown.size === 0) return;
    const key = `${pool.zone}|${pool.name}`;
    // healthy again only on an answer from healthy targets (a NODATA for a family the pool lacks says nothing)
    const healthy = !down && d.kind === 'answer';
    if (down && !this.allDown.has(key)) {
      this.allDown.add(key);
      this.log.warn({ zone: pool.zone, pool: pool.name, all_down: pool.spec.allDown.kind, region: d.region }, `pool ${pool.name}: no healthy target in any region, answering with all_down ${pool.spec.allDown.kind}`);
    } else if (healthy && this.allDown.has(key)) {
      this.allDown.delete(key);
      this.log.info({ zone: pool.zone, pool: pool.name, region: d.region }, `pool ${pool.name}: healthy targets again`);
    }
  }

  private async listenHttp(): Promise<void> {
    const addr = this.config.http;
    if (!addr) return;
    const status = () => ({ ...buildStatus(this.snapshot, this.health, this.prober, VERSION), workers: this.workerInfo?.() ?? [], generatedAt: new Date().toISOString() });
    const rendered = new RenderCache(status, 1000, () => this.snapshot);
    this.http = new HttpApi({
      snapshot: () => this.snapshot,
      health: this.health,
      metrics: this.metrics,
      metricsText: () => this.metricsText?.() ?? this.metrics.registry.metrics(),
      notReady: () => this.notReady?.() ?? (this.role === 'single' && this.bound.length === 0 ? 'not listening yet' : null),
      log: this.log,
      access: accessRules(addr),
      connectionsPerSource: addr.maxConnectionsPerSource,
      routes: new Map([
        ['/status', () => ({ status: 200, type: 'application/json', body: rendered.body('json', (st) => `${JSON.stringify(st, null, 2)}\n`) })],
        ['/', (url: URL) => (url.searchParams.has('fragment')
          ? { status: 200, type: 'text/html; charset=utf-8', body: rendered.body('fragment', statusFragment) }
          : { status: 200, type: 'text/html; charset=utf-8', body: rendered.body('page', statusPage) })],
      ]),
    });
    this.httpPort = await this.http.listen(addr.host, addr.port);
    this.log.info({ http: `${addr.family === 6 ? `[${addr.host}]` : addr.host}:${this.httpPort}`, token: addr.token !== null, allowedHosts: addr.allowedHosts.length },
      'HTTP API listening');
  }

  /** The listening sockets whose 'error' is a failed accept: the HTTP API's and each DNS TCP listener's (read-only, for tests). */
  get acceptingSockets(): { http: NetServer | null; tcp: NetServer[] } {
    return { http: this.http?.httpServer ?? null, tcp: this.tcp.map((l) => l.netServer).filter((x): x is NetServer => x !== null) };
  }

  get zoneCount(): number {
    return this.snapshot.zones.size;
  }

  private loadZones(previous: Snapshot | null, settleMs?: number): { failed: string[]; parsed: number; rebuilt: number } {
    // a worker re-reads the serials the primary has just written
    if (this.role === 'worker') this.serials = openSerials(this.config.stateDir, false, this.log);
    const report = loadSnapshot(this.config, this.serials, previous, { settleMs });
    for (const m of report.messages) this.log[m.level]({ file: m.file }, m.text);
    for (const f of report.failed) {
      const kept = report.snapshot.files.get(f)?.zone;
      this.log.error({ file: f, keeping: kept ? kept.serial : null },
        kept ? `zone ${kept.origin}. did not load: the last good version (serial ${kept.serial}) keeps serving` : 'zone file did not load: it is not served');
    }
    this.snapshot = report.snapshot;
    // a worker does not read again by itself a file too recent at a SIGHUP: it was too recent (or changed after)
    // for the primary's read just before, and the primary's retry reaches the workers one at a time
    this.zonesUnsettled = report.unsettled.some((f) => this.role !== 'worker' || !report.recent.includes(f));
    if (this.role !== 'worker') this.prober.update(checkTargets(report.snapshot));
    const m = this.metrics;
    m.targetUp.reset();
    // target health is the prober's: only its process exports it (workers' copies would be stale)
    if (this.role !== 'worker') for (const z of report.snapshot.zones.values()) {
      for (const p of z.pools) {
        for (const r of p.regions) {
          for (const t of r.targets) m.targetUp.set({ zone: z.origin, pool: p.name, region: r.name, address: t.address }, !t.adminDown && this.health.isUp(t.healthKey) ? 1 : 0);
        }
      }
    }
    m.zoneSerial.reset();
    for (const z of report.snapshot.zones.values()) m.zoneSerial.set({ zone: z.origin }, z.serial);
    // every zone has its series from the start (an alert on increase() must see the first failure)
    for (const [f, st] of report.snapshot.files) m.zoneLoadErrors.inc({ zone: st.zone?.origin ?? zoneNameOfFile(f) }, 0);
    for (const f of report.failed) {
      const st = report.snapshot.files.get(f);
      m.zoneLoadErrors.inc({ zone: st?.zone?.origin ?? zoneNameOfFile(f) });
    }
    for (const z of report.snapshot.zones.values()) for (const p of z.pools) m.decisionCell(z.origin, p.name);
    for (const z of report.snapshot.zones.values()) {
      if (report.changed.some((f) => report.snapshot.files.get(f)?.zone === z)) {
        this.log.info({ zone: z.origin, serial: z.serial, file: z.spec.file }, 'zone loaded');
      }
    }
    return { failed: report.failed, parsed: report.parsed, rebuilt: report.changed.length };
  }

  private async listen(): Promise<void> {
    const onError = (e: Error) => this.log.error({ err: e }, 'socket error');
    // a TCP listener's errors are failed accepts (out of descriptors): they repeat on every poll, log one a burst
    let lastAcceptError = 0;
    const onAcceptError = (e: Error) => {
      const now = Date.now();
      if (now - lastAcceptError < 10_000) return;
      lastAcceptError = now;
      this.log.error({ err: e, code: (e as NodeJS.ErrnoException).code }, 'DNS over TCP: cannot accept a connection: still listening');
    };
    this.tcpConnections = new TcpConnections({ maxConnections: this.config.limits.tcpConnections, idleMs: this.config.limits.tcpIdleMs });
    for (const addr of this.config.listen) {
      // UDP and TCP share the port; with port 0 the kernel picks one for UDP and TCP takes the same
      for (let attempt = 0; ; attempt++) {
        const udp = new UdpListener(this.handler(), onError);
        const port = await udp.bind(addr.host, addr.port, addr.family);
        const tcp = new TcpListener(this.handler(), this.tcpConnections, onAcceptError);
        try {
          await tcp.listen(addr.host, port, addr.family);
        } catch (e) {
          await udp.close();
          if (addr.port === 0 && (e as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 20) continue;
          throw e;
        }
        this.udp.push(udp);
        this.tcp.push(tcp);
        this.bound.push({ host: addr.host, port, family: addr.family });
        break;
      }
    }
    if (this.role === 'single') this.log.info({ listen: this.listenText(), zones: [...this.snapshot.zones.keys()] }, 'serving');
  }

  /** Response rate limiting (UDP only), when `rrl:` is configured. */
  private get rrl(): ResponseRateLimiter | null {
    return this.answering.rrl;
  }

  listenText(): string[] {
    return this.bound.map((b) => (b.family === 6 ? `[${b.host}]:${b.port}` : `${b.host}:${b.port}`));
  }

  /** A new handler for one listener: parse → lookup → write → limit → observe, through its own exchange. */
  private handler(): Handle {
    return queryHandler(this.answering);
  }

  /**
   * Re-reads steerdns.yaml and every zone. A broken config keeps the running one; a broken zone keeps
   * its last good version. Listen addresses and workers only change on restart.
   */
  reload(): { ok: boolean; failed: string[] } {
    const { config, diagnostics } = loadServerConfig(this.config.file);
    for (const d of diagnostics) this.log[d.severity === 'error' ? 'error' : 'warn'](formatDiagnostic(d));
    if (!config) {
      this.log.error('configuration did not load: keeping the running configuration; zones are reloaded with it');
    } else {
      const restartOnly: [string, unknown, unknown][] = [
        ['listen', config.listen, this.config.listen], ['http.listen', config.http?.text, this.config.http?.text],
        ['workers', config.workers, this.config.workers], ['log.level', config.log.level, this.config.log.level],
      ];
      for (const [key, a, b] of restartOnly) {
        if (JSON.stringify(a) !== JSON.stringify(b)) this.log.warn(`${key} changed: it takes effect on restart`);
      }
      const previousTcp = this.config.limits.tcpConnections;
      const sameStateDir = config.stateDir === this.config.stateDir;
      this.config = config;
      // token and allowed hosts apply now (a rotated token file is read on SIGHUP); the address on restart
      if (config.http) this.http?.configure(accessRules(config.http));
      const serials = openSerials(config.stateDir, this.role !== 'worker', this.log);
      // serials this process handed out but could not save (disk full, read-only) must not go back
      if (sameStateDir) serials.mergeFrom(this.serials);
      this.serials = serials;
      this.answering.configure(config);
      this.prober.setPanic(config.health.panic, config.health.panicMinTargets);
      this.tcpConnections?.setLimits({ maxConnections: config.limits.tcpConnections, idleMs: config.limits.tcpIdleMs });
      if (config.limits.tcpConnections !== previousTcp) this.logDescriptors();
    }
    // the zone files as they were before this read: one written after it reloads again (watch() compares)
    const loaded = folderStamps(this.config.zonesDir);
    // a SIGHUP may come between two writes of a file: one changed within the settle time keeps its served
    // version and is read once it held still (retryUnsettled), as the folder watcher would
    const { failed, parsed, rebuilt } = this.loadZones(this.snapshot, SETTLE_MS);
    if (this.role !== 'worker') {
      this.watchDatabase();
      this.zoneWatcher.watch(this.config.zonesDir, loaded);
      this.onReloaded?.('all');
    }
    this.retryUnsettled();
    // parsed / rebuilt: zone files read again, zones prepared anew (unchanged ones are kept as they were)
    this.log.info({ zones: [...this.snapshot.zones.keys()], failed: failed.length, parsed, rebuilt }, 'reloaded');
    return { ok: !!config && failed.length === 0, failed };
  }

  /** Stops listening, lets TCP connections flush their answers, then resolves. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.dbPoll) clearInterval(this.dbPoll);
    this.zoneWatcher.close();
    this.prober.stop();
    await Promise.all([...this.udp.map((u) => u.close()), ...this.tcp.map((t) => t.close()), this.tcpConnections?.close(), this.http?.close()]);
    this.log.info('stopped');
  }
}

/** The automatic serials' state; a state file that exists but cannot be read is an error in the log. */
function openSerials(dir: string, writable: boolean, log: Logger): SerialStore {
  const store = new SerialStore(dir, writable);
  if (store.readError) log.error({ dir }, store.readError);
  return store;
}

function accessRules(h: HttpConfig): AccessRules {
  return { token: h.token, allowedHosts: h.allowedHosts, metricsAuth: h.metricsAuth };
}

/** For metrics of a zone file that never loaded: its file name without `.yaml` (bounded by the folder). */
function zoneNameOfFile(file: string): string {
  return (file.split('/').pop() ?? file).replace(/\.yaml$/, '');
}

/** The distinct health checks of every pool target (admin-down targets are not probed). */
export function checkTargets(snapshot: Snapshot): CheckTarget[] {
  const byKey = new Map<string, CheckTarget>();
  for (const z of snapshot.zones.values()) {
    for (const p of z.pools) {
      for (const r of p.regions) {
        for (const t of r.targets) {
          if (t.adminDown) continue;
          let c = byKey.get(t.healthKey);
          if (!c) {
            // an IPv4-mapped target is probed at its IPv4 address (its identity), whichever form a pool wrote first
            c = { key: t.healthKey, address: unmappedIPv4(t.address), check: p.spec.check, uses: [] };
            byKey.set(t.healthKey, c);
          } else if (tighterCheck(p.spec.check, c.check)) c.check = p.spec.check; // shared: the tighter schedule
          c.uses.push({ zone: z.origin, pool: p.name, region: r.name });
        }
      }
    }
  }
  return [...byKey.values()];
}
