// Results that depend only on (pool, region order) — the region order with the pool's regions, and the plans
// made from it — memoized on the pool itself: per order of its compiled decision table (compile.ts), or once
// for a pool whose order does not depend on the client. At most ORDER_SLOTS memos a pool, never more whatever
// the clients asked: a table of many regions has thousands of distinct orders (GeoLite2-City with 30 regions:
// ~8,700), and a sweep of client subnets would otherwise keep a memo for each in every pool. Kept with the
// pool, so a pool replaced by a reload takes its memos with it.

import type { GeoTables } from './compile.js';
import { NOWHERE } from './locate.js';
import { computeOrder, type RegionOrder, regionOrder } from './order.js';
import type { Plan } from './plan.js';
import type { Pool } from './pool.js';
import type { DecisionTable } from './table.js';

/** Memos a pool keeps for the orders of its table: a direct-mapped set, order id modulo this (a power of two). */
export const ORDER_SLOTS = 256;

/** What is memoized per (pool, order): the region order, and the plan per family made from it. */
export interface OrderMemo {
  /** The order's number in the pool's table (-1: the order of a client placed nowhere). */
  id: number;
  order: RegionOrder;
  /** Made on first use; a plan is good while the health table stays at the version it records. */
  plan4: Plan | undefined;
  plan6: Plan | undefined;
}

/** A pool's memos: its table in the tables last asked, by order number of that table (slot id % ORDER_SLOTS:
 *  an order whose slot holds another is made again), and the one of a client placed nowhere. */
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
  const slot = id & (ORDER_SLOTS - 1);
  let v = m.byOrder[slot];
  if (v === undefined || v.id !== id) {
    v = { id, order: regionOrder(pool, { indices: m.table!.orders[id]!, mapKey: null }, null), plan4: undefined, plan6: undefined };
    m.byOrder[slot] = v;
  }
  return v;
}

/** The memo of a pool whose answer does not depend on where the client is (its order for a client placed nowhere). */
export function anywhereMemo(pool: Pool): OrderMemo {
  let v = pool.memos.anywhere;
  if (v === undefined) {
    v = { id: -1, order: computeOrder(pool, NOWHERE), plan4: undefined, plan6: undefined };
    pool.memos.anywhere = v;
  }
  return v;
}
