// Pool decisions as the application observes them (the answer path calls `decided` once per decision):
// each counted by pool, region and reason, and a pool entering or leaving all_down said once in the log.
import type { Logger } from 'pino';
import type { PoolDecision } from './gslb/decide.js';
import type { Pool } from './gslb/pool.js';
import type { DecisionCell, Metrics } from './metrics.js';

export class PoolEvents {
  /** A pool's metric cell, found once per pool object (a reload's new pools find theirs again). */
  private readonly cells = new WeakMap<Pool, DecisionCell>();
  /** Pools currently answering with all_down (logged when they enter and leave that state). */
  private readonly allDown = new Set<string>(); // "zone|pool": survives reloads, holds no old objects

  constructor(
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  decided(pool: Pool, d: PoolDecision): void {
    let cell = this.cells.get(pool);
    if (!cell) {
      cell = this.metrics.decisionCell(pool.zone, pool.name);
      this.cells.set(pool, cell);
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
      this.log.warn(
        { zone: pool.zone, pool: pool.name, all_down: pool.spec.allDown.kind, region: d.region },
        `pool ${pool.name}: no healthy target in any region, answering with all_down ${pool.spec.allDown.kind}`,
      );
    } else if (healthy && this.allDown.has(key)) {
      this.allDown.delete(key);
      this.log.info({ zone: pool.zone, pool: pool.name, region: d.region }, `pool ${pool.name}: healthy targets again`);
    }
  }
}
