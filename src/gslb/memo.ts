// Results that depend only on (client location, pool) — the region order and the plans of answer.ts —
// memoized in one fixed-size table, so memory does not grow with cached client blocks × pools (spoofed ECS
// across many pool names). Entries are keyed by numbers, never by the objects: a pool replaced by a reload
// holds no entry that keeps it alive; its slots are just never hit again and get overwritten.
import type { Location } from './geo.js';
import type { Pool } from './pool.js';

/** Slots of the table: a bound on memory (a few hundred bytes each), not on correctness — a miss recomputes. */
export const MEMO_SLOTS = 1 << 14;

const locKeys = new Float64Array(MEMO_SLOTS);
const poolKeys = new Float64Array(MEMO_SLOTS); // 0: empty slot
const values: unknown[] = new Array<unknown>(MEMO_SLOTS).fill(undefined);

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

/**
 * The memo of (`loc`, `pool`), made by `make` on a miss. Only for locations with an id (cached per client
 * block, see geo.ts): any other location gets a fresh memo that is not kept.
 */
export function locationMemo<T>(loc: Location, pool: Pool, make: (pool: Pool, loc: Location) => T): T {
  const lid = loc.id;
  if (lid === undefined) return make(pool, loc);
  const pid = poolId(pool);
  let h = Math.imul((lid | 0) ^ ((lid / 4294967296) | 0), 0x9e3779b1) ^ Math.imul(pid, 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  const i = h & (MEMO_SLOTS - 1);
  if (locKeys[i] === lid && poolKeys[i] === pid) return values[i] as T;
  const v = make(pool, loc);
  locKeys[i] = lid;
  poolKeys[i] = pid;
  values[i] = v;
  return v;
}

const poolMemos = new WeakMap<Pool, unknown>();

/** The memo of a pool whose answer does not depend on where the client is: it lives and dies with the pool. */
export function poolMemo<T>(pool: Pool, make: (pool: Pool) => T): T {
  let v = poolMemos.get(pool) as T | undefined;
  if (v === undefined) {
    v = make(pool);
    poolMemos.set(pool, v);
  }
  return v;
}
