// Wiring: config → snapshot → responder → listeners; reload and graceful stop. The edges (sockets,
// signals) turn errors into log lines; the answer path itself never waits on anything.
import type { Server as NetServer } from 'node:net';
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { Builder, BuilderError } from './builder.js';
import type { SerialStore } from './config/serial.js';
import { loadServerConfig, type ProbeSource, type ServerConfig } from './config/server-config.js';
import { formatDiagnostic } from './config/source.js';
import { keepRestartOnly, openSerials, reopenSerials, warnRestartOnly } from './config-change.js';
import { type Handle, TcpConnections, type TcpListener, type UdpListener } from './dns/transport.js';
import type { Signer } from './dnssec/signer.js';
import { explain } from './explain.js';
import type { FleetMember } from './fleet-member.js';
import type { Pool } from './gslb/pool.js';
import { sourceBindError } from './health/checks.js';
import { Prober } from './health/prober.js';
import { HealthTable } from './health/table.js';
import { accessRulesOf } from './http/access.js';
import { HttpApi } from './http/api.js';
import { descriptorNeeds, logOpenFiles } from './limits.js';
import { type BoundAddress, listenText, openDnsListeners } from './listen.js';
import { logLoadProblems, probeListOf, recordLoad } from './load-report.js';
import { Metrics } from './metrics.js';
import { OverrideStore, overrideRoutes } from './overrides.js';
import { type AnswerPath, gslbAnswerPath, queryHandler } from './pipeline.js';
import { loadThroughBuilder, ReloadQueue, type ReloadResult } from './reload.js';
import { type Capabilities, capabilitiesOf, type Role, type RoleHooks } from './role.js';
import { signingStatus, signingWarnings } from './signing-status.js';
import { type LoadReport, type Snapshot, withCurrentDatabase, withZoneFile } from './snapshot.js';
import { createLogger, nothingToServe, StartupError } from './startup.js';
import { statusRoutes } from './status.js';
import { folderStamps, SETTLE_MS, ServerFiles } from './watch.js';

export interface ServerOptions {
  configPath: string;
  logger?: Logger;
  /** Default `single` (src/role.ts); a primary or a worker comes with the hooks of its group. */
  role?: Role;
  hooks?: RoleHooks;
}

type LoadResult = { failed: string[]; parsed: number; rebuilt: number; error?: string };

export class Server {
  snapshot!: Snapshot;
  readonly bound: BoundAddress[] = [];
  private readonly udp: UdpListener[] = [];
  private readonly tcp: TcpListener[] = [];
  /** Every TCP connection, across listen addresses: the connection cap and idle timeout apply to all. */
  private tcpConnections!: TcpConnections;
  /** What every listener's answer path shares (the listeners' handlers are built from it). */
  private readonly answering: AnswerPath<Pool>;
  private serials: SerialStore;
  private stopped = false;
  /** Target health, written by the prober (and tests); read by the answer path. */
  readonly health = new HealthTable();
  readonly metrics = new Metrics();
  readonly prober: Prober;
  /** Runtime overrides (src/overrides.ts): kept in state_dir by a single process or the primary; a worker's come from it. */
  readonly overrides: OverrideStore;
  /** With `fleet:` (single or primary): the link to etcd and the fleet's verdicts (src/fleet-member.ts). */
  fleet: FleetMember | null = null;
  /** What the prober writes: the served table itself, or with a fleet a table of its own the fleet combines. */
  private readonly localHealth: HealthTable;
  private http: HttpApi | null = null;
  httpPort: number | null = null;
  /** What this process does, from its role (src/role.ts). */
  private readonly caps: Capabilities;

  private constructor(
    private config: ServerConfig,
    readonly log: Logger,
    role: Role,
    private readonly hooks: RoleHooks,
  ) {
    this.caps = capabilitiesOf(role);
    this.metrics.worker = hooks.workerId ?? null;
    this.metrics.decisionTables = () => this.snapshot.geo.tables.stats;
    this.serials = openSerials(config.stateDir, this.caps.writesSerials, log);
    this.answering = gslbAnswerPath(() => this.snapshot, this.health, this.metrics, log, config);
    this.overrides = new OverrideStore({ dir: this.caps.writesSerials ? config.stateDir : null, log });
    this.overrides.onChange = (list) => {
      this.answering.gslb!.adjust = this.overrides.adjustments;
      this.health.touch();
      this.metrics.setOverrides(list);
      this.hooks.onOverrides?.(list);
    };
    // with a fleet the prober writes its own table, and the fleet's verdicts make the one the answer path reads
    this.localHealth = config.fleet && this.caps.probes ? new HealthTable() : this.health;
    this.prober = new Prober({
      table: this.localHealth,
      log,
      panic: config.health.panic,
      panicMinTargets: config.health.panicMinTargets,
      source: config.healthSource,
      onResult: (_t, r) => this.metrics.healthCheck(r.kind),
      onChange: (c) => this.metrics.targetChanged(c),
    });
  }

  static async start(opts: ServerOptions): Promise<Server> {
    const { config, diagnostics } = loadServerConfig(opts.configPath);
    const log = opts.logger ?? createLogger(config);
    for (const d of diagnostics.filter((x) => x.severity === 'warning')) log.warn(formatDiagnostic(d));
    if (!config) throw new StartupError('invalid configuration', diagnostics);
    const server = new Server(config, log, opts.role ?? 'single', opts.hooks ?? {});
    const caps = server.caps;
    if (caps.probes && config.healthSource) await bindableSource(config.healthSource);
    // loaded only with a fleet (serve's module graph stays small: src/limits.ts), before the prober's first results
    if (server.localHealth !== server.health) {
      const { FleetMember } = await import('./fleet-member.js');
      const fleet = new FleetMember(config.fleet!, server.localHealth, server.health, server.overrides, log);
      server.fleet = fleet;
      server.metrics.watchFleet({ connected: () => fleet.connected, lastSync: () => fleet.lastSync, observers: () => fleet.observers() });
    }
    const loaded = folderStamps(config.zonesDir); // before the read: a write after it is seen by the watcher
    await server.loadZones(null);
    if (server.snapshot.zones.size === 0) throw nothingToServe(server.snapshot);
    server.overrides.load();
    // etcd unreachable at start: local health and the last overrides serve while the link retries
    await server.fleet?.start();
    logOpenFiles(log, descriptorNeeds(config, caps, server.prober.size));
    // a worker that caught a file mid-write asks the primary to read it again (a reload rolled to every worker)
    if (!caps.watchesFiles) server.retryUnsettled();
    if (caps.answersDns) {
      await server.hooks.beforeListen?.(server.health, server.overrides);
      await server.listen();
    }
    if (caps.servesHttp) await server.listenHttp();
    if (caps.answersDns) {
      server.expiryTimer = setInterval(() => server.warnExpiry(), 3_600_000);
      server.expiryTimer.unref();
    }
    if (caps.watchesFiles) {
      server.files.watch(config, server.snapshot, loaded);
      server.retryUnsettled();
    }
    return server;
  }

  /** A signature or key near its end: a warning at every load and every hour (times pass without a reload). */
  private warnExpiry(): void {
    for (const w of signingWarnings(this.signer, this.snapshot.signing)) this.log.warn(w);
  }

  private expiryTimer: NodeJS.Timeout | null = null;

  /** The sign stage's signer and signature cache (one per process, kept across reloads). */
  get signer(): Signer {
    return this.answering.responder.signing!.signer;
  }

  get currentConfig(): ServerConfig {
    return this.config;
  }

  /** The zones folder and the GeoIP database: a change reloads what changed (SIGHUP reloads the config too). */
  private readonly files = new ServerFiles({
    zones: () => void this.reloadZones(),
    database: () => void this.reloadDatabase(),
    error: (e) => this.log.error({ err: e }, 'cannot watch the zones folder'),
  });

  /** Reloads the zone files with the running config (a file watch fired). */
  reloadZones(): Promise<ReloadResult> {
    return this.reloads.request('zones');
  }

  private async reloadZonesNow(): Promise<ReloadResult> {
    const { error, ...r } = await this.loadZones(this.snapshot);
    this.retryUnsettled();
    this.hooks.onReloaded?.('zones');
    return { ok: r.failed.length === 0 && !error, ...r };
  }

  /** The last load met a zone file that changed while it was read: it is read again once it holds still. */
  private zonesUnsettled = false;

  private retryUnsettled(): void {
    if (!this.zonesUnsettled) return;
    // only the process that watches the files decides a reload: a worker reading again on its own would reload
    // outside the primary's roll, perhaps while the other workers reload too (docs/operations.md#workers)
    if (this.caps.watchesFiles) this.files.zonesChanged();
    else this.hooks.askReload?.();
  }

  /** A worker caught a zone file mid-write: the zones are read again once they hold still, and rolled out. */
  zonesUnsettledInWorker(): void {
    if (this.caps.watchesFiles) this.files.zonesChanged();
  }

  /** Swaps in the GeoIP database from disk (keeping the old one if the new one fails). */
  reloadDatabase(): Promise<ReloadResult> {
    return this.reloads.request('db');
  }

  private reloadDatabaseNow(): ReloadResult {
    const { snapshot, error, changed } = withCurrentDatabase(this.config, this.snapshot);
    this.snapshot = snapshot;
    if (error) this.log.error({ file: this.config.geoip.database }, error);
    if (changed) {
      this.log.info({ file: snapshot.db?.path, type: snapshot.db?.description }, 'GeoIP database reloaded');
      this.hooks.onReloaded?.('db');
    }
    return { ok: error === null, failed: [], parsed: 0, rebuilt: 0 };
  }

  /** Reloads run one at a time; those asked while one runs are merged into one more after it (ReloadQueue). */
  private readonly reloads = new ReloadQueue(async (what) => {
    try {
      if (what.has('all')) return await this.reloadNow();
      let r: ReloadResult = { ok: true, failed: [], parsed: 0, rebuilt: 0 };
      if (what.has('zones')) r = await this.reloadZonesNow();
      if (what.has('db')) r = { ...r, ok: this.reloadDatabaseNow().ok && r.ok };
      return r;
    } catch (e) {
      // a fault, never bad input (that is in the load's report): what serves stays
      this.log.error({ err: e }, 'reload failed: what was served keeps serving');
      return { ok: false, failed: [], parsed: 0, rebuilt: 0 };
    }
  });

  /** The builder thread now, if started (read-only, for tests). */
  get builderThread(): Worker | null {
    return this.builder.worker;
  }

  /** Reads and builds zone files off this thread (src/builder.ts). */
  private readonly builder = new Builder((why) =>
    this.log.error(`the builder thread ${why}: the zones it was loading keep their last good version`),
  );

  private async listenHttp(): Promise<void> {
    const addr = this.config.http;
    if (!addr) return;
    const workers = () => this.hooks.workerInfo?.() ?? [];
    this.http = new HttpApi({
      zoneCount: () => this.snapshot.zones.size,
      explain: (q) => explain(this.snapshot, this.health, 'live', q, Math.random, this.overrides.adjustments),
      metricsText: () => this.hooks.metricsText?.() ?? this.metrics.registry.metrics(),
      metricsContentType: this.metrics.registry.contentType,
      notReady: () => this.hooks.notReady?.() ?? (this.caps.answersDns && this.bound.length === 0 ? 'not listening yet' : null),
      readyDetail: () =>
        this.fleet && !this.fleet.connected ? 'fleet: etcd unreachable: answering with local health and the last overrides' : null,
      log: this.log,
      access: accessRulesOf(addr),
      connectionsPerSource: addr.maxConnectionsPerSource,
      routes: statusRoutes(
        () => this.snapshot,
        this.health,
        this.prober,
        workers,
        () => this.overrides.adjustments,
        () => this.fleet?.statusSource(this.health) ?? null,
        () => signingStatus(this.signer, this.snapshot.signing),
      ),
      overrides: overrideRoutes(
        this.overrides,
        () => [...this.snapshot.zones.values()].flatMap((z) => z.pools),
        () => this.fleet,
      ),
    });
    this.httpPort = await this.http.listen(addr.host, addr.port);
    const http = listenText([{ host: addr.host, port: this.httpPort, family: addr.family }])[0];
    this.log.info({ http, token: addr.token !== null, allowedHosts: addr.allowedHosts.length }, 'HTTP API listening');
  }

  /** The listening sockets whose 'error' is a failed accept: the HTTP API's and each DNS TCP listener's (read-only, for tests). */
  get acceptingSockets(): { http: NetServer | null; tcp: NetServer[] } {
    return { http: this.http?.httpServer ?? null, tcp: this.tcp.map((l) => l.netServer).filter((x): x is NetServer => x !== null) };
  }

  get zoneCount(): number {
    return this.snapshot.zones.size;
  }

  private async loadZones(previous: Snapshot | null, settleMs?: number): Promise<LoadResult> {
    // a worker re-reads the serials the primary has just written
    if (!this.caps.writesSerials) this.serials = openSerials(this.config.stateDir, false, this.log);
    const cfg = this.config;
    let report: LoadReport;
    try {
      report = await loadThroughBuilder(this.builder, cfg, this.serials, previous, { settleMs }, (state) => {
        // a zone built while the rest of the load goes on is served at once (same config only: a SIGHUP's
        // zones wait for its snapshot)
        const next = this.stopped || this.snapshot.config !== cfg ? null : withZoneFile(this.snapshot, state);
        if (!next) return;
        this.snapshot = next;
        if (this.caps.probes) this.prober.update(probeListOf(next));
      });
    } catch (e) {
      if (!previous || !(e instanceof BuilderError)) throw e;
      // the builder thread died while reading: nothing of this load is applied, the next one reads again
      this.log.error(`zones not reloaded: ${e.message}; every zone keeps its served version`);
      return { failed: [], parsed: 0, rebuilt: 0, error: e.message };
    }
    if (this.stopped) return { failed: report.failed, parsed: report.parsed, rebuilt: report.changed.length };
    logLoadProblems(report, this.log);
    this.snapshot = report.snapshot;
    // a worker does not ask again about a file too recent at a SIGHUP: it was too recent (or changed after) for
    // the primary's read just before, and the primary's retry reaches the workers one at a time
    this.zonesUnsettled = report.unsettled.some((f) => this.caps.watchesFiles || !report.recent.includes(f));
    if (this.caps.probes) this.prober.update(probeListOf(report.snapshot));
    recordLoad(report, this.metrics, this.log, this.health, this.caps.probes);
    this.warnExpiry();
    return { failed: report.failed, parsed: report.parsed, rebuilt: report.changed.length };
  }

  private async listen(): Promise<void> {
    this.tcpConnections = new TcpConnections({ maxConnections: this.config.limits.tcpConnections, idleMs: this.config.limits.tcpIdleMs });
    const sinks = { udp: this.udp, tcp: this.tcp, bound: this.bound };
    await openDnsListeners(this.config.listen, () => this.handler(), this.tcpConnections, this.log, sinks);
    if (this.caps.announcesServing) this.log.info({ listen: this.listenText(), zones: [...this.snapshot.zones.keys()] }, 'serving');
  }

  listenText(): string[] {
    return listenText(this.bound);
  }

  /** A new handler for one listener: parse → lookup → write → limit → observe, through its own exchange. */
  private handler(): Handle {
    return queryHandler(this.answering);
  }

  /**
   * Re-reads steerdns.yaml and every zone. A broken config keeps the running one; a broken zone keeps
   * its last good version. Listen addresses and workers only change on restart.
   */
  reload(): Promise<ReloadResult> {
    return this.reloads.request('all');
  }

  private async reloadNow(): Promise<ReloadResult> {
    const { config, diagnostics } = loadServerConfig(this.config.file);
    for (const d of diagnostics) this.log[d.severity === 'error' ? 'error' : 'warn'](formatDiagnostic(d));
    if (!config) {
      this.log.error('configuration did not load: keeping the running configuration; zones are reloaded with it');
    } else {
      warnRestartOnly(this.log, config, this.config);
      keepRestartOnly(config, this.config);
      const previousTcp = this.config.limits.tcpConnections;
      const runningStateDir = this.config.stateDir;
      this.config = config;
      // token and allowed hosts apply now (a rotated token file is read on SIGHUP); the address on restart
      if (config.http) this.http?.configure(accessRulesOf(config.http));
      this.serials = reopenSerials(this.serials, runningStateDir, config, this.caps.writesSerials, this.log);
      this.answering.configure(config);
      this.prober.setPanic(config.health.panic, config.health.panicMinTargets);
      this.tcpConnections?.setLimits({ maxConnections: config.limits.tcpConnections, idleMs: config.limits.tcpIdleMs });
      if (config.limits.tcpConnections !== previousTcp) logOpenFiles(this.log, descriptorNeeds(config, this.caps, this.prober.size));
    }
    // the zone files as they were before this read: one written after it reloads again (watch() compares)
    const loaded = folderStamps(this.config.zonesDir);
    // a SIGHUP may come between two writes of a file: one changed within the settle time keeps its served
    // version and is read once it held still (retryUnsettled), as the folder watcher would
    const { failed, parsed, rebuilt, error } = await this.loadZones(this.snapshot, SETTLE_MS);
    if (this.caps.watchesFiles) this.files.watch(this.config, this.snapshot, loaded);
    this.hooks.onReloaded?.('all');
    this.retryUnsettled();
    // parsed / rebuilt: zone files read again, zones prepared anew (unchanged ones are kept as they were)
    this.log.info({ zones: [...this.snapshot.zones.keys()], failed: failed.length, parsed, rebuilt }, 'reloaded');
    return { ok: !!config && failed.length === 0 && !error, failed, parsed, rebuilt };
  }

  /** Stops listening, lets TCP connections flush their answers, then resolves. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.expiryTimer !== null) clearInterval(this.expiryTimer);
    this.files.close();
    this.prober.stop();
    this.overrides.close();
    // the listeners close at once; the fleet link revokes its lease meanwhile (this instance leaves the quorum)
    await Promise.all([
      ...this.udp.map((u) => u.close()),
      ...this.tcp.map((t) => t.close()),
      this.tcpConnections?.close(),
      this.http?.close(),
      this.fleet?.stop(),
      this.builder.close(),
    ]);
    this.log.info('stopped');
  }
}

/** health.source must be an address of this host: probes bound to another would all fail (docs/configuration.md#health). */
async function bindableSource(source: ProbeSource): Promise<void> {
  const e = await sourceBindError(source.address);
  if (!e) return;
  const why = e.code === 'EADDRNOTAVAIL' ? 'EADDRNOTAVAIL: it is not an address of this host' : (e.code ?? e.message);
  const message = `health.source: cannot bind probes to ${source.address} (${why})`;
  throw new StartupError('health checks cannot leave from health.source', [{ ...source.at, message, severity: 'error' }]);
}
