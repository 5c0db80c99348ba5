// Prometheus metrics (spec §8), through prom-client. Label values are bounded: zones and pools come from
// the config, qtype is a known type or `other`, rcode a known name. Hot-path counters are bound to their
// label values once and cached, so counting a query is a Map lookup and an increment.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly queries: Counter<'zone' | 'qtype' | 'rcode' | 'transport'>;
  readonly truncated: Counter;
  readonly duration: Histogram;
  readonly targetUp: Gauge<'zone' | 'pool' | 'region' | 'address'>;
  readonly healthChecks: Counter<'result'>;
  readonly failopen: Counter<'zone' | 'pool'>;
  readonly zoneSerial: Gauge<'zone'>;
  readonly poolAnswers: Counter<'zone' | 'pool' | 'region' | 'reason'>;
  readonly rrl: Counter<'action'>;
  readonly zoneLoadErrors: Counter<'zone'>;
  readonly workerQueries: Counter<'worker'>;
  private readonly bound = new Map<object, Map<string, { inc(): void }>>();

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.queries = new Counter({ name: 'steerdns_queries_total', help: 'DNS queries answered, by zone, query type, response code and transport', labelNames: ['zone', 'qtype', 'rcode', 'transport'], registers });
    this.truncated = new Counter({ name: 'steerdns_responses_truncated_total', help: 'UDP responses sent with TC=1', registers });
    this.duration = new Histogram({
      name: 'steerdns_query_duration_seconds', help: 'Time to answer a query, from bytes in to bytes out', registers,
      buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01],
    });
    // with workers, every process knows the same states and serials: aggregate those with max, not sum
    this.targetUp = new Gauge({ name: 'steerdns_target_up', help: 'Health of a pool target (1 up, 0 down)', labelNames: ['zone', 'pool', 'region', 'address'], registers, aggregator: 'max' });
    this.healthChecks = new Counter({ name: 'steerdns_health_checks_total', help: 'Health probes by result', labelNames: ['result'], registers });
    this.failopen = new Counter({ name: 'steerdns_failopen_total', help: 'Pool answers given while no target was healthy (all_down applied)', labelNames: ['zone', 'pool'], registers });
    this.zoneSerial = new Gauge({ name: 'steerdns_zone_serial', help: 'SOA serial of each zone being served', labelNames: ['zone'], registers, aggregator: 'max' });
    this.poolAnswers = new Counter({ name: 'steerdns_pool_answers_total', help: 'Pool decisions by region and reason (nearest, failover, map, all_down, fallback)', labelNames: ['zone', 'pool', 'region', 'reason'], registers });
    this.rrl = new Counter({ name: 'steerdns_rrl_total', help: 'Response rate limiting actions', labelNames: ['action'], registers });
    this.zoneLoadErrors = new Counter({ name: 'steerdns_zone_load_errors_total', help: 'Zone files that failed to load', labelNames: ['zone'], registers, aggregator: 'max' });
    this.workerQueries = new Counter({ name: 'steerdns_worker_queries_total', help: 'Queries answered by each worker process (workers > 1)', labelNames: ['worker'], registers });
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** A counter child for fixed label values, created once; `key` identifies the values within `c`. */
  child<L extends string>(c: Counter<L>, key: string, labels: Record<L, string>): { inc(): void } {
    let perMetric = this.bound.get(c);
    if (!perMetric) {
      perMetric = new Map();
      this.bound.set(c, perMetric);
    }
    let b = perMetric.get(key);
    if (!b) {
      b = c.labels(labels);
      if (perMetric.size > 100_000) perMetric.clear();
      perMetric.set(key, b);
    }
    return b;
  }
}
