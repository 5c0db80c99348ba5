// `workers: N` (docs/operations.md#workers): N worker processes answer DNS on the same addresses (node:cluster
// shares the sockets); the primary loads and watches the files, runs the one health prober and the HTTP API,
// and sends every worker the health table and reload commands. Workers that cannot start (the address taken, no
// permission) end the primary with the reason; a worker that dies later is restarted with a growing delay and
// counted. Reloads roll over the workers one at a time, so some worker always answers.
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import type { ServerConfig } from './config/server-config.js';
import type { Override } from './gslb/adjust.js';
import type { HealthTable, TargetHealth } from './health/table.js';
import type { OverrideStore } from './overrides.js';
import { Server } from './server.js';

type ToWorker =
  | { t: 'steerdns:health'; entries: [string, TargetHealth | null][]; full: boolean }
  | { t: 'steerdns:reload'; what: 'all' | 'zones' | 'db'; id: number }
  | { t: 'steerdns:metrics'; id: number }
  | { t: 'steerdns:overrides'; list: Override[] }
  | { t: 'steerdns:stop' };

type FromWorker =
  | { t: 'steerdns:hello' }
  | { t: 'steerdns:listening'; listen: string[] }
  | { t: 'steerdns:metrics'; id: number; metrics: unknown }
  | { t: 'steerdns:reloaded'; id: number }
  | { t: 'steerdns:unsettled' }
  | { t: 'steerdns:failed'; reason: string };

type ReloadWhat = 'all' | 'zones' | 'db';

/** Two pending reloads in one: the same kind stays, different kinds make a full one. */
function mergeReload(a: ReloadWhat | null, b: ReloadWhat): ReloadWhat {
  return a === null || a === b ? b : 'all';
}

/** Restart delays of a worker that keeps dying: 1 s, 2 s, 4 s ... capped at 30 s. */
export const RESTART_MIN_MS = 1000;
export const RESTART_MAX_MS = 30_000;
/** A worker that ran this long before it died starts its delays over from 1 s. */
export const RESTART_STABLE_MS = 60_000;

/** The next crash streak and restart delay of a slot whose worker lived `livedMs` (previous streak `streak`). */
export function nextRestart(streak: number, livedMs: number): { streak: number; delayMs: number } {
  const next = livedMs >= RESTART_STABLE_MS ? 1 : streak + 1;
  return { streak: next, delayMs: Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** Math.min(next - 1, 30)) };
}

export function workerCount(cfg: ServerConfig): number {
  return cfg.workers === 'auto' ? Math.max(1, availableParallelism()) : cfg.workers;
}

interface WorkerState {
  worker: Worker;
  slot: number;
  startedAt: number;
  listening: boolean;
  /** When it said it listens: fork to listening is how long a full load takes (the reload wait bound). */
  listeningAt: number | null;
  /** Why it could not start, as it said before it exited. */
  failed: string | null;
  /** The reload it is confirming now (rolling reload). */
  ack: { id: number; done: (ok: boolean) => void } | null;
}

/** The primary: loads, probes, watches, serves HTTP, and keeps `count` workers answering. */
export async function runPrimary(configPath: string, count: number, log: Logger): Promise<{ stop(): Promise<void>; server: Server }> {
  const workers = new Map<number, WorkerState>(); // by slot
  const restarts = new Map<number, number>();
  const streaks = new Map<number, number>(); // crashes in a row per slot (restart back-off)
  const restartTimers = new Set<NodeJS.Timeout>();
  let stopping = false;
  let announced = false;
  let startedOk: () => void = () => undefined;
  let startFailed: (e: Error) => void = () => undefined;
  const started = new Promise<void>((resolve, reject) => {
    startedOk = resolve;
    startFailed = reject;
  });

  // a worker that is exiting can still look connected: the write then fails (EPIPE) after the fact. With a
  // callback the failure comes here instead of as an 'error' event that, unhandled, ends the primary; the
  // worker's 'exit' is what the primary acts on.
  const send = (w: Worker, m: ToWorker) => {
    if (!w.isConnected()) return;
    w.send(m, undefined, (e: Error | null) => {
      if (e) log.debug({ worker: w.id, err: e.message }, 'message to an exiting worker not delivered');
    });
  };
  const broadcast = (m: ToWorker) => {
    for (const s of workers.values()) send(s.worker, m);
  };

  // Rolling reload: one worker at a time reloads (it answers nothing meanwhile) and confirms; the next starts
  // after it. Reloads asked while one rolls are merged into the next roll.
  let reloadId = 0;
  let pendingReload: ReloadWhat | null = null;
  let rolling = false;
  /** How long to wait for a worker's confirmation: well over the longest full load a worker took to start. */
  const ackBound = () =>
    Math.max(10_000, 3 * Math.max(0, ...[...workers.values()].map((s) => (s.listeningAt ?? s.startedAt) - s.startedAt)));
  const reloadOne = (st: WorkerState, what: ReloadWhat): Promise<void> => {
    const id = ++reloadId;
    send(st.worker, { t: 'steerdns:reload', what, id });
    // a worker still starting applies it once its server exists: nothing to wait for
    if (!st.listening) return Promise.resolve();
    const bound = ackBound();
    const from = performance.now();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => finish(false), bound);
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        st.ack = null;
        const ms = Math.round(performance.now() - from);
        if (ok) log.info({ worker: st.slot, what, ms }, `worker ${st.slot} reloaded`);
        else
          log.warn(
            { worker: st.slot, what, ms, bound },
            `worker ${st.slot} did not confirm its reload within ${bound} ms: going on with the next`,
          );
        resolve();
      };
      st.ack = { id, done: finish };
    });
  };
  const roll = async () => {
    rolling = true;
    while (pendingReload && !stopping) {
      const what = pendingReload;
      pendingReload = null;
      const slots = [...workers.keys()].sort((a, b) => a - b);
      log.info({ what, workers: slots.length }, 'rolling reload: one worker at a time');
      for (const slot of slots) {
        const st = workers.get(slot);
        if (stopping) break;
        if (st?.worker.isConnected()) await reloadOne(st, what);
      }
    }
    rolling = false;
  };
  const onReloaded = (what: ReloadWhat) => {
    pendingReload = mergeReload(pendingReload, what);
    if (!rolling) void roll();
  };

  // /metrics: this process's registry plus every worker's, aggregated (counters summed). Counters must
  // never go back: a worker that exits leaves its last counts behind (`carried`), and one that does not
  // answer in time is counted with what it said last.
  type MetricsJSON = Awaited<ReturnType<typeof server.metrics.registry.getMetricsAsJSON>>;
  const lastSeen = new Map<number, MetricsJSON>(); // by slot, for the worker now in it
  let carried: MetricsJSON[] = [];
  let metricsId = 0;
  const waiting = new Map<number, { left: Set<number>; done: () => void }>();
  const metricsText = async () => {
    const id = ++metricsId;
    const live = [...workers.values()].filter((s) => s.worker.isConnected());
    await new Promise<void>((resolve) => {
      if (live.length === 0) return resolve();
      const timer = setTimeout(() => {
        waiting.delete(id);
        resolve();
      }, 2000);
      waiting.set(id, {
        left: new Set(live.map((s) => s.slot)),
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      });
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
  const server = await Server.start({
    configPath,
    logger: log,
    role: 'primary',
    hooks: {
      onReloaded,
      onOverrides: (list) => broadcast({ t: 'steerdns:overrides', list }),
      metricsText,
      notReady: () => ([...workers.values()].some((s) => s.listening && !s.worker.isDead()) ? null : 'no worker is answering DNS yet'),
      workerInfo: () =>
        [...workers.values()].map((s) => ({
          slot: s.slot,
          id: s.worker.id,
          pid: s.worker.process.pid,
          startedAt: new Date(s.startedAt).toISOString(),
          listening: s.listening,
          restarts: restarts.get(s.slot) ?? 0,
        })),
    },
  });

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
      if (urgent.size === 0)
        setImmediate(() => {
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

  const fork = (slot: number) => {
    const worker = cluster.fork({ STEERDNS_WORKER_SLOT: String(slot) });
    const st: WorkerState = { worker, slot, startedAt: Date.now(), listening: false, listeningAt: null, failed: null, ack: null };
    workers.set(slot, st);
    // an IPC failure not tied to one send (the channel closing under a write): the 'exit' event follows
    worker.on('error', (e) => log.warn({ worker: slot, err: e.message }, `worker ${slot}: ${e.message}`));
    worker.on('message', (m: FromWorker) => {
      // a worker asks for the whole table once its handlers are in place (messages before that are lost)
      // the overrides first: a worker starts answering once the full health table is in
      if (m?.t === 'steerdns:hello') {
        send(worker, { t: 'steerdns:overrides', list: server.overrides.list() });
        send(worker, { t: 'steerdns:health', entries: server.health.entriesList(), full: true });
      } else if (m?.t === 'steerdns:listening') {
        st.listening = true;
        st.listeningAt = Date.now();
        if (!announced && [...workers.values()].every((s) => s.listening)) {
          announced = true;
          log.info({ listen: m.listen, zones: [...server.snapshot.zones.keys()], workers: workers.size }, 'serving');
          startedOk();
        }
      } else if (m?.t === 'steerdns:reloaded') {
        if (st.ack?.id === m.id) st.ack.done(true);
      } else if (m?.t === 'steerdns:unsettled') {
        // a worker caught a zone file mid-write: the primary reads the zones again once they hold still and
        // rolls the reload over the workers, one at a time (a worker never reloads on its own)
        server.zonesUnsettledInWorker();
      } else if (m?.t === 'steerdns:failed') {
        st.failed = m.reason;
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

  /** Stops every worker (their answers flushed), SIGKILL after 10 s. */
  const stopWorkers = async () => {
    const exits = [...workers.values()].map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.worker.isDead()) return resolve();
          s.worker.once('exit', () => resolve());
          send(s.worker, { t: 'steerdns:stop' });
        }),
    );
    const deadline = new Promise<void>((r) => setTimeout(r, 10_000).unref());
    await Promise.race([Promise.all(exits), deadline]);
    for (const s of workers.values()) if (!s.worker.isDead()) s.worker.process.kill('SIGKILL');
  };

  cluster.on('exit', (worker, code, signal) => {
    const st = [...workers.values()].find((s) => s.worker === worker);
    if (!st || stopping) return;
    st.listening = false;
    st.ack?.done(false);
    carry(st.slot);
    const how = signal ?? `code ${code}`;
    if (!announced) {
      // the workers could not start (address taken, no permission, a config they cannot load): restarting
      // would fail the same way for ever while /healthz says 200. Stop, and say why.
      stopping = true;
      const reason = st.failed ?? `exited (${how}) before it listened`;
      log.fatal({ worker: st.slot, pid: worker.process.pid, code, signal, reason }, `worker ${st.slot} could not start: ${reason}`);
      void stopWorkers()
        .then(() => server.stop())
        .finally(() => startFailed(new Error(`worker ${st.slot} could not start: ${reason}`)));
      return;
    }
    const lived = Date.now() - st.startedAt;
    restarts.set(st.slot, (restarts.get(st.slot) ?? 0) + 1);
    server.metrics.workerRestarts.inc({ worker: String(st.slot) });
    // a worker that keeps dying is restarted after 1 s, 2 s, 4 s ... 30 s; one that ran a while starts over
    const { streak, delayMs } = nextRestart(streaks.get(st.slot) ?? 0, lived);
    streaks.set(st.slot, streak);
    log.error(
      {
        worker: st.slot,
        pid: worker.process.pid,
        code,
        signal,
        livedMs: lived,
        restartIn: delayMs,
        inARow: streak,
        reason: st.failed ?? undefined,
      },
      `worker ${st.slot} exited (${how}): restarting it`,
    );
    const timer = setTimeout(() => {
      restartTimers.delete(timer);
      if (!stopping) fork(st.slot);
    }, delayMs);
    restartTimers.add(timer);
  });

  for (let slot = 1; slot <= count; slot++) fork(slot);
  await started;

  return {
    server,
    async stop() {
      stopping = true;
      for (const t of restartTimers) clearTimeout(t);
      clearInterval(lazyTimer);
      await stopWorkers();
      await server.stop();
    },
  };
}

/** A worker: answers DNS; health, reloads and stop come from the primary. */
export async function runWorker(configPath: string, log: Logger): Promise<void> {
  let gotHealth: () => void = () => undefined;
  const firstHealth = new Promise<void>((r) => {
    gotHealth = r;
  });
  let server: Server | null = null;
  let table: HealthTable | null = null; // set as soon as the server's table exists, before it listens
  const early: [string, TargetHealth | null][][] = [];
  let overrides: OverrideStore | null = null; // as soon as the server's store exists, before it listens
  let earlyOverrides: Override[] | null = null;
  let reloadMissed: ReloadWhat | null = null;
  let reloadMissedId = 0;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    if (server) await server.stop();
    process.exit(0);
  };
  const reload = (what: ReloadWhat, id: number) => {
    if (!server) {
      reloadMissed = mergeReload(reloadMissed, what);
      reloadMissedId = id;
      return;
    }
    log.info({ what }, 'reloading');
    const done = what === 'all' ? server.reload() : what === 'zones' ? server.reloadZones() : server.reloadDatabase();
    // the primary waits for this before the next worker reloads (rolling reload)
    void done
      .catch((e: Error) => log.error({ err: e.message }, 'reload failed'))
      .then(() => process.send?.({ t: 'steerdns:reloaded', id }));
  };
  process.on('message', (m: ToWorker) => {
    switch (m?.t) {
      case 'steerdns:health':
        if (table) table.apply(m.entries);
        else early.push(m.entries);
        if (m.full) gotHealth();
        break;
      case 'steerdns:overrides':
        if (overrides) overrides.replace(m.list);
        else earlyOverrides = m.list;
        break;
      case 'steerdns:reload':
        reload(m.what, m.id);
        break;
      case 'steerdns:metrics':
        if (server)
          void server.metrics.registry.getMetricsAsJSON().then((metrics) => process.send?.({ t: 'steerdns:metrics', id: m.id, metrics }));
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
  try {
    server = await Server.start({
      configPath,
      logger: log,
      role: 'worker',
      hooks: {
        workerId: process.env.STEERDNS_WORKER_SLOT ?? String(cluster.worker?.id ?? 0),
        askReload: () => process.send?.({ t: 'steerdns:unsettled' } satisfies FromWorker),
        beforeListen: async (health, store) => {
          // answer nothing until the health table has arrived: never serve a target the prober has down
          await Promise.race([firstHealth, new Promise((r) => setTimeout(r, 5000))]);
          table = health;
          for (const entries of early) health.apply(entries);
          overrides = store;
          if (earlyOverrides) store.replace(earlyOverrides);
        },
      },
    });
  } catch (e) {
    // the primary decides from this whether the group can start at all: tell it why before exiting
    const reason = (e as Error).message;
    await new Promise<void>((resolve) => {
      if (!process.send) return resolve();
      process.send({ t: 'steerdns:failed', reason } satisfies FromWorker, undefined, {}, () => resolve());
    });
    throw e;
  }
  if (reloadMissed) reload(reloadMissed, reloadMissedId);
  process.send?.({ t: 'steerdns:listening', listen: server.listenText() });
}
