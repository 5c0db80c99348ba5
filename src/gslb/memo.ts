// Results that depend only on (pool, region order) — the region order with the pool's regions, and the plans
// made from it — memoized on the pool itself: per order of its compiled decision table (compile.ts), or once
// for a pool whose order does not depend on the client. Bounded by the table's distinct orders, never by the
// clients asked; kept with the pool, so a pool replaced by a reload takes its memos with it.

import type { GeoTables } from './compile.js';
import { NOWHERE } from './locate.js';
import { computeOrder, type RegionOrder, regionOrder } from './order.js';
import type { Plan } from './plan.js';
import type { Pool } from './pool.js';
import type { DecisionTable } from './table.js';

/** What is memoized per (pool, order): the region order, and the plan per family made from it. */
export interface OrderMemo {
  order: RegionOrder;
  /** Made on first use; a plan is good while the health table stays at the version it records. */
  plan4: Plan | undefined;
  plan6: Plan | undefined;
}

/** A pool's memos: its table in the tables last asked, by order number of that table, and the one of a client
 *  placed nowhere. */
export interface PoolMemos {
  tables: GeoTables | null;
  table: DecisionTable | null;
  byOrder: (OrderMemo | undefined)[];
  anywhere: OrderMemo | undefined;
}

export function newPoolMemos(): PoolMemos {
  return { tables: null, table: null, byOrder: [], anywhere: undefined };
}

/** The decision table of a pool in `tables` (kept on the pool: no lookup by key per query). */
export function tableOf(pool: Pool, tables: GeoTables): DecisionTable {
  const m = pool.memos;
  if (m.tables !== tables) {
    const t = tables.get(pool);
    m.tables = tables;
    if (t !== m.table) {
      m.table = t;
      m.byOrder = [];
    }
  }
  return m.table!;
}

/** The memo of order `id` of the pool's table (tableOf): the table's orders are indices into the pool's regions. */
export function orderMemo(pool: Pool, id: number): OrderMemo {
  const m = pool.memos;
  let v = m.byOrder[id];
  if (v === undefined) {
    v = { order: regionOrder(pool, { indices: m.table!.orders[id]!, mapKey: null }, null), plan4: undefined, plan6: undefined };
    m.byOrder[id] = v;
  }
  return v;
}

/** The memo of a pool whose answer does not depend on where the client is (its order for a client placed nowhere). */
export function anywhereMemo(pool: Pool): OrderMemo {
  let v = pool.memos.anywhere;
  if (v === undefined) {
    v = { order: computeOrder(pool, NOWHERE), plan4: undefined, plan6: undefined };
    pool.memos.anywhere = v;
  }
  return v;
}
