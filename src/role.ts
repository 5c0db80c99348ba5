// The role of a process and what follows from it. `single`: one process does everything (workers: 1). With
// workers > 1 the `primary` loads, probes, watches and serves HTTP but answers no DNS, and each `worker`
// answers DNS from its own snapshot, with health and reload commands from the primary (src/cluster.ts).
// The server asks its capabilities, decided here once, never the role; src/cluster.ts joins a primary or a
// worker to its group through the hooks it gives Server.start.
import type { Override } from './gslb/adjust.js';
import type { HealthTable } from './health/table.js';
import type { OverrideStore } from './overrides.js';

export type Role = 'single' | 'primary' | 'worker';

export interface Capabilities {
  /** Listens for DNS (single, worker). */
  answersDns: boolean;
  /** Runs the health prober and exports target health (single, primary): a worker's table comes from the primary. */
  probes: boolean;
  /** Serves the HTTP API, when `http:` is configured (single, primary). */
  servesHttp: boolean;
  /** Watches the zones folder and the GeoIP database (single, primary); a worker reloads only when the primary says. */
  watchesFiles: boolean;
  /** Writes the automatic serials (single, primary); a worker re-reads at each load what the primary wrote. */
  writesSerials: boolean;
  /** Says 'serving' once its sockets are open (single); with workers the primary says it once all listen. */
  announcesServing: boolean;
}

export function capabilitiesOf(role: Role): Capabilities {
  const worker = role === 'worker';
  return {
    answersDns: role !== 'primary',
    probes: !worker,
    servesHttp: !worker,
    watchesFiles: !worker,
    writesSerials: !worker,
    announcesServing: role === 'single',
  };
}

/** What src/cluster.ts adds to a primary or a worker; given to Server.start and never changed after. */
export interface RoleHooks {
  /** Primary: told after every reload, to pass it on to the workers. */
  onReloaded?: (what: 'all' | 'zones' | 'db') => void;
  /** Primary: the worker processes, for /status. */
  workerInfo?: () => unknown[];
  /** Primary: /metrics aggregated over every process. */
  metricsText?: () => Promise<string>;
  /** Primary: told after every change of the runtime overrides, to pass them on to the workers. */
  onOverrides?: (list: Override[]) => void;
  /** Primary: why no worker answers DNS yet (null when one does). */
  notReady?: () => string | null;
  /** Worker: its cluster id, a label of steerdns_worker_queries_total. */
  workerId?: string;
  /**
   * Worker: a zone file changed while this worker read it. It never reads again on its own (that would be a
   * reload outside the primary's roll, with another worker perhaps reloading too): the primary is asked.
   */
  askReload?: () => void;
  /** Worker: runs after the zones load and before the sockets open (waits for the primary's health table). */
  beforeListen?: (health: HealthTable, overrides: OverrideStore) => Promise<void>;
}
