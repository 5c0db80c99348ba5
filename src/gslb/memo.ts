// Results that depend only on (client location, pool) — the region order and the plans made from it —
// memoized in one fixed-size table, so memory does not grow with cached client blocks × pools (spoofed ECS
// across many pool names). Entries are keyed by numbers, never by the objects: a pool replaced by a reload
// holds no entry that keeps it alive; its slots are just never hit again and get overwritten.
import type { Location } from './geo.js';
import { NOWHERE } from './locate.js';
import { computeOrder, type RegionOrder } from './order.js';
import type { Plan } from './plan.js';
import type { Pool } from './pool.js';

/** What is memoized per (location, pool): the region order, and the plan per family made from it. */
export interface OrderMemo {
  order: RegionOrder;
  /** Made on first use; a plan is good while the health table stays at the version it records. */
  plan4: Plan | undefined;
  plan6: Plan | undefined;
}

/** Slots of the table: a bound on memory (a few hundred bytes each), not on correctness — a miss recomputes. */
export const MEMO_SLOTS = 1 << 14;

const locKeys = new Float64Array(MEMO_SLOTS);
const poolKeys = new Float64Array(MEMO_SLOTS); // 0: empty slot
const values: (OrderMemo | undefined)[] = new Array<OrderMemo | undefined>(MEMO_SLOTS).fill(undefined);

let nextPoolId = 1;
const poolIds = new WeakMap<Pool, number>();

function poolId(pool: Pool): number {
  let id = poolIds.get(pool);
  if (id === undefined) {
    id = nextPoolId++;
    poolIds.set(pool, id);
  }
  return id;
}

function makeMemo(pool: Pool, loc: Location): OrderMemo {
  return { order: computeOrder(pool, loc), plan4: undefined, plan6: undefined };
}

/**
 * The memo of (`loc`, `pool`). Only a location with an id (cached per client block, see geo.ts) is kept in
 * the table: any other location gets a fresh memo that is not kept.
 */
export function orderMemo(pool: Pool, loc: Location): OrderMemo {
  const lid = loc.id;
  if (lid === undefined) return makeMemo(pool, loc);
  const pid = poolId(pool);
  let h = Math.imul((lid | 0) ^ ((lid / 4294967296) | 0), 0x9e3779b1) ^ Math.imul(pid, 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  const i = h & (MEMO_SLOTS - 1);
  if (locKeys[i] === lid && poolKeys[i] === pid) return values[i]!;
  const v = makeMemo(pool, loc);
  locKeys[i] = lid;
  poolKeys[i] = pid;
  values[i] = v;
  return v;
}

/** The region order for a location (memoized for a shared one). */
export function orderRegions(pool: Pool, loc: Location): RegionOrder {
  return orderMemo(pool, loc).order;
}

const anywhereMemos = new WeakMap<Pool, OrderMemo>();

/**
 * The memo of a pool whose answer does not depend on where the client is (its order for a client placed
 * nowhere): it lives and dies with the pool, never in the shared table.
 */
export function anywhereMemo(pool: Pool): OrderMemo {
  let v = anywhereMemos.get(pool);
  if (v === undefined) {
    v = makeMemo(pool, NOWHERE);
    anywhereMemos.set(pool, v);
  }
  return v;
}
