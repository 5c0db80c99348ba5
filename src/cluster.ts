// `workers: N` (spec §2, §6): N worker processes answer DNS on the same addresses (node:cluster shares the
// sockets); the primary loads and watches the files, runs the one health prober and the HTTP API, and
// sends every worker the health table and reload commands. A worker that dies is restarted and logged.
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import type { ServerConfig } from './config/server-config.js';
import type { HealthTable, TargetHealth } from './health/table.js';
import { Server } from './server.js';

type ToWorker =
  | { t: 'steerdns:health'; entries: [string, TargetHealth | null][]; full: boolean }
  | { t: 'steerdns:reload'; what: 'all' | 'zones' | 'db' }
  | { t: 'steerdns:metrics'; id: number }
  | { t: 'steerdns:stop' };

type FromWorker =
  | { t: 'steerdns:hello' }
  | { t: 'steerdns:listening'; listen: string[] }
  | { t: 'steerdns:metrics'; id: number; metrics: unknown };

export function workerCount(cfg: ServerConfig): number {
  return cfg.workers === 'auto' ? Math.max(1, availableParallelism()) : cfg.workers;
}

interface WorkerState {
  worker: Worker;
  slot: number;
  startedAt: number;
  listening: boolean;
}

/** The primary: loads, probes, watches, serves HTTP, and keeps `count` workers answering. */
export async function runPrimary(configPath: string, count: number, log: Logger): Promise<{ stop(): Promise<void>; server: Server }> {
  const server = await Server.start({ configPath, logger: log, role: 'primary' });
  const workers = new Map<number, WorkerState>(); // by slot
  const restarts = new Map<number, number>();
  let stopping = false;
  let announced = false;

  const send = (w: Worker, m: ToWorker) => {
    if (w.isConnected()) w.send(m);
  };
  const broadcast = (m: ToWorker) => {
    for (const s of workers.values()) send(s.worker, m);
  };

  // Health goes out in two speeds: a target going up or down (or starting to change) at once, batched
  // per event-loop turn; everything else a probe updates (response time, last result) once a second.
  // Every probe result would otherwise be a message to every worker (1,000 targets: 1,000 a second).
  const sentState = new Map<string, string>();
  let urgent = new Map<string, TargetHealth | null>();
  let lazy = new Map<string, TargetHealth | null>();
  const flush = (batch: Map<string, TargetHealth | null>) => {
    if (batch.size) broadcast({ t: 'steerdns:health', entries: [...batch], full: false });
  };
  server.health.onChange = (key, entry) => {
    const state = entry ? `${entry.up}|${entry.changing}` : 'gone';
    if (sentState.get(key) !== state) {
      if (entry) sentState.set(key, state);
      else sentState.delete(key);
      if (urgent.size === 0) setImmediate(() => {
        const batch = urgent;
        urgent = new Map();
        flush(batch);
      });
      urgent.set(key, entry);
      lazy.delete(key);
    } else lazy.set(key, entry);
  };
  const lazyTimer = setInterval(() => {
    const batch = lazy;
    lazy = new Map();
    flush(batch);
  }, 1000);
  lazyTimer.unref();
  server.onReloaded = (what) => broadcast({ t: 'steerdns:reload', what });

  // /metrics: this process's registry plus every worker's, aggregated (counters summed). Counters must
  // never go back: a worker that exits leaves its last counts behind (`carried`), and one that does not
  // answer in time is counted with what it said last.
  type MetricsJSON = Awaited<ReturnType<typeof server.metrics.registry.getMetricsAsJSON>>;
  const lastSeen = new Map<number, MetricsJSON>(); // by slot, for the worker now in it
  let carried: MetricsJSON[] = [];
  let metricsId = 0;
  const waiting = new Map<number, { left: Set<number>; done: () => void }>();
  server.metricsText = async () => {
    const id = ++metricsId;
    const live = [...workers.values()].filter((s) => s.worker.isConnected());
    await new Promise<void>((resolve) => {
      if (live.length === 0) return resolve();
      const timer = setTimeout(() => {
        waiting.delete(id);
        resolve();
      }, 2000);
      waiting.set(id, { left: new Set(live.map((s) => s.slot)), done: () => { clearTimeout(timer); resolve(); } });
      for (const s of live) send(s.worker, { t: 'steerdns:metrics', id });
    });
    const own = await server.metrics.registry.getMetricsAsJSON();
    if (carried.length > 8) carried = [await AggregatorRegistry.aggregate(carried).getMetricsAsJSON()];
    return AggregatorRegistry.aggregate([own, ...carried, ...lastSeen.values()]).metrics();
  };
  /** Keeps a worker's counters (and histograms) when it exits, so the totals carry on. */
  const carry = (slot: number) => {
    const last = lastSeen.get(slot);
    lastSeen.delete(slot);
    if (last) carried.push(last.filter((m) => String(m.type) === 'counter' || String(m.type) === 'histogram'));
  };
  server.notReady = () => ([...workers.values()].some((s) => s.listening && !s.worker.isDead()) ? null : 'no worker is answering DNS yet');
  server.workerInfo = () => [...workers.values()].map((s) => ({
    slot: s.slot, id: s.worker.id, pid: s.worker.process.pid, startedAt: new Date(s.startedAt).toISOString(),
    listening: s.listening, restarts: restarts.get(s.slot) ?? 0,
  }));

  const fork = (slot: number) => {
    const worker = cluster.fork({ STEERDNS_WORKER_SLOT: String(slot) });
    const st: WorkerState = { worker, slot, startedAt: Date.now(), listening: false };
    workers.set(slot, st);
    worker.on('message', (m: FromWorker) => {
      // a worker asks for the whole table once its handlers are in place (messages before that are lost)
      if (m?.t === 'steerdns:hello') send(worker, { t: 'steerdns:health', entries: server.health.entriesList(), full: true });
      else if (m?.t === 'steerdns:listening') {
        st.listening = true;
        if (!announced && [...workers.values()].every((s) => s.listening)) {
          announced = true;
          log.info({ listen: m.listen, zones: [...server.snapshot.zones.keys()], workers: workers.size }, 'serving');
        }
      } else if (m?.t === 'steerdns:metrics') {
        lastSeen.set(slot, m.metrics as MetricsJSON);
        const w = waiting.get(m.id);
        if (!w) return;
        w.left.delete(slot);
        if (w.left.size === 0) {
          waiting.delete(m.id);
          w.done();
        }
      }
    });
  };

  cluster.on('exit', (worker, code, signal) => {
    const st = [...workers.values()].find((s) => s.worker === worker);
    if (!st || stopping) return;
    st.listening = false;
    carry(st.slot);
    const lived = Date.now() - st.startedAt;
    restarts.set(st.slot, (restarts.get(st.slot) ?? 0) + 1);
    // a worker that keeps dying right after start is restarted at most once a second
    const delay = lived < 5000 ? 1000 : 0;
    log.error({ worker: st.slot, pid: worker.process.pid, code, signal, restartIn: delay }, `worker ${st.slot} exited (${signal ?? `code ${code}`}): restarting it`);
    setTimeout(() => {
      if (!stopping) fork(st.slot);
    }, delay);
  });

  for (let slot = 1; slot <= count; slot++) fork(slot);

  return {
    server,
    async stop() {
      stopping = true;
      clearInterval(lazyTimer);
      const exits = [...workers.values()].map((s) => new Promise<void>((resolve) => {
        if (s.worker.isDead()) return resolve();
        s.worker.once('exit', () => resolve());
        send(s.worker, { t: 'steerdns:stop' });
      }));
      const deadline = new Promise<void>((r) => setTimeout(r, 10_000).unref());
      await Promise.race([Promise.all(exits), deadline]);
      for (const s of workers.values()) if (!s.worker.isDead()) s.worker.process.kill('SIGKILL');
      await server.stop();
    },
  };
}

/** A worker: answers DNS; health, reloads and stop come from the primary. */
export async function runWorker(configPath: string, log: Logger): Promise<void> {
  let gotHealth: () => void = () => undefined;
  const firstHealth = new Promise<void>((r) => { gotHealth = r; });
  let server: Server | null = null;
  let table: HealthTable | null = null; // set as soon as the server's table exists, before it listens
  const early: [string, TargetHealth | null][][] = [];
  let reloadMissed: 'all' | 'zones' | 'db' | null = null;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    if (server) await server.stop();
    process.exit(0);
  };
  const reload = (what: 'all' | 'zones' | 'db') => {
    if (!server) {
      reloadMissed = reloadMissed === 'all' || what === 'all' || (reloadMissed && reloadMissed !== what) ? 'all' : what;
      return;
    }
    if (what === 'all') server.reload();
    else if (what === 'zones') server.reloadZones();
    else server.reloadDatabase();
  };
  process.on('message', (m: ToWorker) => {
    switch (m?.t) {
      case 'steerdns:health':
        if (table) table.apply(m.entries);
        else early.push(m.entries);
        if (m.full) gotHealth();
        break;
      case 'steerdns:reload':
        reload(m.what);
        break;
      case 'steerdns:metrics':
        if (server) void server.metrics.registry.getMetricsAsJSON().then((metrics) => process.send?.({ t: 'steerdns:metrics', id: m.id, metrics }));
        else process.send?.({ t: 'steerdns:metrics', id: m.id, metrics: [] });
        break;
      case 'steerdns:stop':
        void stop();
        break;
      default:
        break;
    }
  });
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.on('SIGHUP', () => undefined); // the primary reloads and tells the workers
  // the primary going away (killed outright) takes the workers with it
  process.on('disconnect', () => void stop());
  process.send?.({ t: 'steerdns:hello' });
  server = await Server.start({
    configPath, logger: log, role: 'worker',
    beforeListen: async (s) => {
      // answer nothing until the health table has arrived: never serve a target the prober has down
      await Promise.race([firstHealth, new Promise((r) => setTimeout(r, 5000))]);
      table = s.health;
      for (const entries of early) s.health.apply(entries);
    },
  });
  server.workerId = process.env.STEERDNS_WORKER_SLOT ?? String(cluster.worker?.id ?? 0);
  server.metrics.worker = server.workerId;
  if (reloadMissed) reload(reloadMissed);
  process.send?.({ t: 'steerdns:listening', listen: server.listenText() });
}
