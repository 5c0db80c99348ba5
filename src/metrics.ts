// Prometheus metrics (docs/http-api.md#metrics), exported through prom-client. Label values are bounded: zones
// and pools come from the config, qtype is a known type or `other`, rcode a known name.
//
// The per-query counters (queries, truncation, latency, pool decisions) are kept in plain typed arrays and
// turned into Prometheus samples only when /metrics is scraped: counting a query is an array increment,
// not a label hash. Everything else uses prom-client's metric classes directly.
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { RCODE_NAMES, TYPE_NAMES } from './dns/registry.js';
import type { Override } from './gslb/adjust.js';
import type { StateChange } from './health/prober.js';

type Sample = { labels: Record<string, string | number>; value: number; metricName?: string };

/** The sign stage's numbers for the metrics. */
export interface SigningNumbers {
  made: number;
  hits: number;
  misses: number;
  entries: number;
  signatureExpiryDays: number | null;
  keyExpiryDays: number | null;
}

/** A metric whose samples are computed at scrape time (prom-client calls `get`). */
class ScrapeMetric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    private readonly samples: () => Sample[],
    readonly aggregator = 'sum',
  ) {}

  async get(): Promise<{ name: string; help: string; type: string; values: Sample[]; aggregator: string }> {
    return { name: this.name, help: this.help, type: this.type, values: this.samples(), aggregator: this.aggregator };
  }
}

// qtype label index: the known types, then `other`
const QTYPES = Object.entries(TYPE_NAMES).map(([code, name]) => ({ code: Number(code), name }));
const QTYPE_INDEX = new Uint8Array(65536).fill(QTYPES.length);
QTYPES.forEach((q, i) => {
  QTYPE_INDEX[q.code] = i;
});
const QTYPE_LABELS = [...QTYPES.map((q) => q.name), 'other'];
const RCODES = 24; // 0..22 by name (BADVERS is 16); the last cell counts anything else as `other`
const CELLS = QTYPE_LABELS.length * RCODES * 2;
const BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.1, 1];
const REASONS = ['nearest', 'failover', 'map', 'all_down', 'fallback'] as const;
export type DecisionReason = (typeof REASONS)[number];

/** Per-query counts, kept as arrays. */
class QueryStats {
  /** zone → counts by (qtype, rcode, transport). */
  readonly byZone = new Map<string, Float64Array>();
  truncated = 0;
  readonly buckets = new Float64Array(BUCKETS.length);
  sum = 0;
  count = 0;

  add(zone: string, qtype: number, rcode: number, tcp: boolean, truncated: boolean, seconds: number): void {
    let cells = this.byZone.get(zone);
    if (!cells) {
      cells = new Float64Array(CELLS);
      this.byZone.set(zone, cells);
    }
    cells[(QTYPE_INDEX[qtype]! * RCODES + (rcode < RCODES ? rcode : RCODES - 1)) * 2 + (tcp ? 1 : 0)]!++;
    if (truncated) this.truncated++;
    let b = 0;
    while (b < BUCKETS.length && seconds > BUCKETS[b]!) b++;
    if (b < BUCKETS.length) this.buckets[b]!++;
    this.sum += seconds;
    this.count++;
  }

  querySamples(): Sample[] {
    const out: Sample[] = [];
    for (const [zone, cells] of this.byZone) {
      for (let i = 0; i < CELLS; i++) {
        if (!cells[i]) continue;
        const transport = i % 2 ? 'tcp' : 'udp';
        const rcode = Math.floor(i / 2) % RCODES;
        const qtype = QTYPE_LABELS[Math.floor(i / 2 / RCODES)]!;
        out.push({
          labels: { zone, qtype, rcode: rcode < RCODES - 1 ? (RCODE_NAMES[rcode] ?? 'other') : 'other', transport },
          value: cells[i]!,
        });
      }
    }
    return out;
  }

  durationSamples(name: string): Sample[] {
    const out: Sample[] = [];
    let acc = 0;
    BUCKETS.forEach((le, i) => {
      acc += this.buckets[i]!;
      out.push({ labels: { le }, value: acc, metricName: `${name}_bucket` });
    });
    out.push({ labels: { le: '+Inf' }, value: this.count, metricName: `${name}_bucket` });
    out.push({ labels: {}, value: this.sum, metricName: `${name}_sum` });
    out.push({ labels: {}, value: this.count, metricName: `${name}_count` });
    return out;
  }
}

/** Pool decisions by (zone, pool, region, reason); a cell per pool, found once per pool object. */
export interface DecisionCell {
  zone: string;
  pool: string;
  byRegion: Map<string, Float64Array>;
  failopen: number;
}

export class Metrics {
  readonly registry = new Registry();
  readonly queryStats = new QueryStats();
  readonly targetUp: Gauge<'zone' | 'pool' | 'region' | 'address'>;
  readonly healthChecks: Counter<'result'>;
  readonly zoneSerial: Gauge<'zone'>;
  /** Active runtime overrides (1 each), by id, action and scope. */
  readonly overrideActive: Gauge<'id' | 'action' | 'zone' | 'pool' | 'region' | 'address'>;
  readonly rrl: Counter<'action'>;
  readonly zoneLoadErrors: Counter<'zone'>;
  /** The primary (workers > 1): worker processes restarted after they exited, by slot. */
  readonly workerRestarts: Counter<'worker'>;
  /** The GeoIP decision tables in use (set by the server: they change with every load and database). */
  decisionTables: (() => { keys: number; bytes: number }) | null = null;
  /** Worker processes: the answering process's label in steerdns_worker_queries_total. */
  worker: string | null = null;
  /** The sign stage's counts, read when scraped (set by the answer path). */
  signing: (() => SigningNumbers) | null = null;
  private readonly decisions = new Map<string, DecisionCell>();
  private readonly healthBound = new Map<string, { inc(): void }>();

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const qs = this.queryStats;
    const reg = (m: ScrapeMetric) => this.registry.registerMetric(m as never);
    reg(
      new ScrapeMetric(
        'steerdns_queries_total',
        'DNS queries received (rate-limited ones too; packets dropped unread not), by zone, query type, response code and transport',
        'counter',
        () => qs.querySamples(),
      ),
    );
    reg(
      new ScrapeMetric('steerdns_responses_truncated_total', 'UDP responses sent with TC=1', 'counter', () => [
        { labels: {}, value: qs.truncated },
      ]),
    );
    reg(
      new ScrapeMetric('steerdns_query_duration_seconds', 'Time to answer a query, from bytes in to bytes out', 'histogram', () =>
        qs.durationSamples('steerdns_query_duration_seconds'),
      ),
    );
    reg(
      new ScrapeMetric('steerdns_worker_queries_total', 'Queries answered by each worker process (workers > 1)', 'counter', () =>
        this.worker ? [{ labels: { worker: this.worker }, value: qs.count }] : [],
      ),
    );
    reg(
      new ScrapeMetric(
        'steerdns_pool_answers_total',
        'Pool decisions by region and reason (nearest, failover, map, all_down, fallback)',
        'counter',
        () => this.decisionSamples(),
      ),
    );
    reg(
      new ScrapeMetric('steerdns_failopen_total', 'Pool answers given while no target was healthy (all_down applied)', 'counter', () =>
        [...this.decisions.values()].map((c) => ({ labels: { zone: c.zone, pool: c.pool }, value: c.failopen })),
      ),
    );
    const sig = (pick: (n: SigningNumbers) => number | null) => () => {
      const v = this.signing === null ? null : pick(this.signing());
      return v === null ? [] : [{ labels: {}, value: v }];
    };
    reg(
      new ScrapeMetric(
        'steerdns_dnssec_signatures_total',
        'RRSIGs made by the sign stage (DO=1 answers of signed zones)',
        'counter',
        sig((n) => n.made),
      ),
    );
    reg(
      new ScrapeMetric(
        'steerdns_dnssec_cache_hits_total',
        'Signed RRsets whose signatures came from the cache',
        'counter',
        sig((n) => n.hits),
      ),
    );
    reg(
      new ScrapeMetric(
        'steerdns_dnssec_cache_misses_total',
        'Signed RRsets signed anew (not cached, or due for re-signing)',
        'counter',
        sig((n) => n.misses),
      ),
    );
    reg(
      new ScrapeMetric(
        'steerdns_dnssec_cache_entries',
        'Signed RRsets held in the signature cache',
        'gauge',
        sig((n) => n.entries),
      ),
    );
    reg(
      new ScrapeMetric(
        'steerdns_dnssec_signature_expiry_days',
        'Days until the nearest expiration of a cached signature',
        'gauge',
        sig((n) => n.signatureExpiryDays),
        'min',
      ),
    );
    reg(
      new ScrapeMetric(
        'steerdns_dnssec_key_expiry_days',
        "Days until the nearest Inactive or Delete time of a signed zone's key (keys without such times: no sample)",
        'gauge',
        sig((n) => n.keyExpiryDays),
        'min',
      ),
    );
    // with workers each process compiles its own tables: the count is the same in each (max), the bytes add up
    const tables = () => this.decisionTables?.() ?? null;
    reg(
      new ScrapeMetric(
        'steerdns_geoip_decision_tables',
        'Compiled GeoIP decision tables: one per distinct set of pool regions (policy, regions, order, map)',
        'gauge',
        () => {
          const t = tables();
          return t ? [{ labels: {}, value: t.keys }] : [];
        },
        'max',
      ),
    );
    reg(
      new ScrapeMetric(
        'steerdns_geoip_decision_table_bytes',
        'Memory held by the compiled GeoIP decision tables, all processes together',
        'gauge',
        () => {
          const t = tables();
          return t ? [{ labels: {}, value: t.bytes }] : [];
        },
      ),
    );
    // with workers, every process knows the same states and serials: aggregate those with max, not sum
    this.targetUp = new Gauge({
      name: 'steerdns_target_up',
      help: 'Health of a pool target (1 up, 0 down)',
      labelNames: ['zone', 'pool', 'region', 'address'],
      registers,
      aggregator: 'max',
    });
    this.overrideActive = new Gauge({
      name: 'steerdns_override_active',
      help: 'Active runtime overrides (1 each): action and scope (an empty label: not narrowed by it)',
      labelNames: ['id', 'action', 'zone', 'pool', 'region', 'address'],
      registers,
      aggregator: 'max',
    });
    this.healthChecks = new Counter({
      name: 'steerdns_health_checks_total',
      help: 'Health probes by result',
      labelNames: ['result'],
      registers,
    });
    this.zoneSerial = new Gauge({
      name: 'steerdns_zone_serial',
      help: 'SOA serial of each zone being served',
      labelNames: ['zone'],
      registers,
      aggregator: 'max',
    });
    this.rrl = new Counter({ name: 'steerdns_rrl_total', help: 'Response rate limiting actions', labelNames: ['action'], registers });
    for (const action of ['slip', 'drop']) this.rrl.labels({ action }).inc(0); // both series from the start
    this.zoneLoadErrors = new Counter({
      name: 'steerdns_zone_load_errors_total',
      help: 'Zone files that failed to load',
      labelNames: ['zone'],
      registers,
      aggregator: 'max',
    });
    this.workerRestarts = new Counter({
      name: 'steerdns_worker_restarts_total',
      help: 'Worker processes restarted after they exited (workers > 1), by worker slot',
      labelNames: ['worker'],
      registers,
    });
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** The counts of one pool (kept across reloads: counters never go back). */
  decisionCell(zone: string, pool: string): DecisionCell {
    const key = `${zone}\u0000${pool}`;
    let c = this.decisions.get(key);
    if (!c) {
      c = { zone, pool, byRegion: new Map(), failopen: 0 };
      this.decisions.set(key, c);
    }
    return c;
  }

  countDecision(cell: DecisionCell, region: string, reason: DecisionReason): void {
    let r = cell.byRegion.get(region);
    if (!r) {
      r = new Float64Array(REASONS.length);
      cell.byRegion.set(region, r);
    }
    r[REASONS.indexOf(reason)]!++;
    if (reason === 'all_down' || reason === 'fallback') cell.failopen++;
  }

  private decisionSamples(): Sample[] {
    const out: Sample[] = [];
    for (const c of this.decisions.values()) {
      for (const [region, counts] of c.byRegion) {
        REASONS.forEach((reason, i) => {
          if (counts[i]) out.push({ labels: { zone: c.zone, pool: c.pool, region, reason }, value: counts[i]! });
        });
      }
    }
    return out;
  }

  rrlAction(action: 'slip' | 'drop'): void {
    this.rrl.labels({ action }).inc();
  }

  /** A probed target went up or down: its gauge in every pool region that uses it. */
  targetChanged(c: StateChange): void {
    for (const u of c.uses) this.targetUp.set({ zone: u.zone, pool: u.pool, region: u.region, address: c.address }, c.to === 'up' ? 1 : 0);
  }

  /**
   * With a fleet: how many live instances observe each probed target (`target`: its check identity, the health
   * key), whether etcd is connected, and when the fleet's keys were last read whole. Read when scraped.
   */
  watchFleet(src: { connected(): boolean; lastSync(): number | null; observers(): [string, number][] }): void {
    const registers = [this.registry];
    new Gauge({
      name: 'steerdns_fleet_observers',
      help: 'Live fleet instances that observe a probed target (target: its check identity)',
      labelNames: ['target'],
      registers,
      aggregator: 'max',
      collect() {
        this.reset();
        for (const [target, n] of src.observers()) this.set({ target }, n);
      },
    });
    new Gauge({
      name: 'steerdns_etcd_connected',
      help: '1 while the fleet link to etcd is up, else 0',
      registers,
      aggregator: 'max',
      collect() {
        this.set(src.connected() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'steerdns_etcd_last_sync_timestamp_seconds',
      help: "When the fleet's keys were last read whole from etcd (0: never)",
      registers,
      aggregator: 'max',
      collect() {
        this.set((src.lastSync() ?? 0) / 1000);
      },
    });
  }

  /** The active overrides now (replaces the series of those that ended). */
  setOverrides(list: readonly Override[]): void {
    this.overrideActive.reset();
    for (const o of list) {
      const labels = {
        id: o.id,
        action: o.action,
        zone: o.zone ?? '',
        pool: o.pool ?? '',
        region: o.region ?? '',
        address: o.address ?? '',
      };
      this.overrideActive.set(labels, 1);
    }
  }

  healthCheck(result: string): void {
    let b = this.healthBound.get(result);
    if (!b) {
      b = this.healthChecks.labels({ result });
      this.healthBound.set(result, b);
    }
    b.inc();
  }
}
