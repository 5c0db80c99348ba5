// The oracle of the compiled decision tables' tests: the straightforward path — the GeoIP locator over the
// MaxMind reader (src/gslb/geo.ts, src/gslb/locate.ts locateClient) and orderIndices — and, from the database
// itself, the partition of the address space into elementary intervals on which that path answers alike: the
// reader's networks cut at every overlay network, private range and alias network. Whether a block is uniform
// (every address gets one answer) or maximal (its sibling differs) is read from those intervals.
import type { GeoLocator } from '../../src/gslb/geo.js';
import { locateClient } from '../../src/gslb/locate.js';
import { type OrderingKey, orderIndices } from '../../src/gslb/order.js';
import { bytesToIp } from '../../src/net/address.js';
import { privatePrefix } from '../../src/net/ranges.js';

export type Family = 4 | 6;

export const BITS = { 4: 32, 6: 128 } as const;

export function toBytes(a: bigint, family: Family): Uint8Array {
  const len = family === 4 ? 4 : 16;
  const b = new Uint8Array(len);
  let n = a;
  for (let i = len - 1; i >= 0; i--) {
    b[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return b;
}

export function toBig(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

/** The first address of the `prefix` block around `a`. */
export function blockStart(a: bigint, prefix: number, family: Family): bigint {
  const host = BigInt(BITS[family] - prefix);
  return (a >> host) << host;
}

export const blockEnd = (start: bigint, prefix: number, family: Family): bigint => start + (1n << BigInt(BITS[family] - prefix)) - 1n;

/** The alias networks of IPv6 (looked up by the IPv4 address inside). */
export const ALIAS_NETS: [bigint, number][] = [
  [0xffffn << 32n, 96],
  [0x2002n << 112n, 16],
  [0x20010000n << 96n, 32],
];

/** The straightforward path's answer for one client: its region order (indices) and ECS scope. */
export interface Reference {
  order: string;
  scope: number;
  /** The location decided nothing (the scope is at least the source prefix). */
  unlocated: boolean;
  /** A private address no overlay places: the private range's rule made the scope. */
  private: boolean;
}

/** Today's decision for an ECS client (`bytes` the ECS address, `sourcePrefix` its length) of a clientDependent key. */
export function referenceEcs(geo: GeoLocator, key: OrderingKey, bytes: Uint8Array, sourcePrefix: number): Reference {
  const family = bytes.length === 4 ? 1 : 2;
  const address = Buffer.from(bytes.subarray(0, Math.ceil(sourcePrefix / 8)));
  const cl = locateClient({ address: '192.0.2.1', ecs: { family, sourcePrefix, address } }, { geo, useEcs: true });
  const scope = Math.min(Math.max(cl.loc.prefix, cl.minScope ?? 0), bytes.length * 8);
  return {
    order: orderIndices(key, cl.loc).indices.join(','),
    scope,
    unlocated: cl.unlocated !== undefined,
    private: cl.unlocated === 'private address',
  };
}

/** Today's order for a client asked from `bytes` (no ECS). */
export function referenceSource(geo: GeoLocator, key: OrderingKey, bytes: Uint8Array): string {
  return orderIndices(key, geo.locate(bytes)).indices.join(',');
}

/** One elementary interval: its first address and what the straightforward path answers all through it. */
export interface Interval {
  start: bigint;
  /** The region order of an ECS client here, and of one asked from here (or a 6to4 or Teredo address holding it). */
  ecs: string;
  order: string;
  /** What a compiled result is made of: the order asked from here (no ECS), unlocated, the private range, and
   *  whether that range's rule applies (no overlay places it); or the alias network. */
  result: string;
}

/**
 * The elementary intervals of a family: the reader's networks (walked address by address with
 * getWithPrefixLength), cut at `cuts` (overlay networks, private ranges, alias networks as [start, prefix]).
 * Alias networks of IPv6 are one interval each, not entered.
 */
export function intervals(
  geo: GeoLocator,
  key: OrderingKey,
  family: Family,
  cuts: [bigint, number][],
  nowhere: string,
  orderCache = new Map<string, string>(),
): Interval[] {
  const bits = BITS[family];
  const top = 1n << BigInt(bits);
  const starts = new Set<bigint>([0n]);
  for (const [s, p] of cuts) {
    starts.add(s);
    const end = blockEnd(s, p, family) + 1n;
    if (end < top) starts.add(end);
  }
  const reader = geo.db?.reader;
  const dbFamily = geo.db && !(family === 6 && geo.db.ipVersion === 4);
  if (reader && dbFamily) {
    for (let a = 0n; a < top; ) {
      const alias = family === 6 ? ALIAS_NETS.find(([s, p]) => blockStart(a, p, 6) === s) : undefined;
      const prefix = alias ? alias[1] : reader.getWithPrefixLength(bytesToIp(toBytes(a, family)))[1];
      starts.add(a);
      a = blockEnd(blockStart(a, prefix, family), prefix, family) + 1n;
    }
  }
  const sorted = [...starts].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const orderOf = (loc: Parameters<typeof orderIndices>[1]) => {
    const k = JSON.stringify([loc.lat, loc.lon, loc.region, loc.country, loc.continent, loc.subdivision]);
    let o = orderCache.get(k);
    if (o === undefined) {
      o = orderIndices(key, loc).indices.join(',');
      orderCache.set(k, o);
    }
    return o;
  };
  return sorted.map((start) => {
    const bytes = toBytes(start, family);
    const alias = family === 6 ? ALIAS_NETS.findIndex(([s, p]) => blockStart(start, p, 6) === s) : -1;
    if (alias >= 0) return { start, ecs: `alias ${alias}`, order: `alias ${alias}`, result: `alias ${alias}` };
    const loc = geo.locate(bytes);
    const order = orderOf(loc);
    const range = privatePrefix(bytes);
    const zone = range === null ? '' : `${blockStart(start, range, family)}/${range}`;
    const privateRule = zone !== '' && loc.source !== 'overlay';
    return { start, ecs: privateRule ? nowhere : order, order, result: `${order} ${loc.source === 'unknown'} ${zone} ${privateRule}` };
  });
}

/** Index of the interval holding `a`. */
export function intervalAt(list: Interval[], a: bigint): number {
  let lo = 0;
  let hi = list.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (list[mid]!.start <= a) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The distinct values of `what` over the intervals meeting [start, end] (stops at two). */
export function valuesIn(list: Interval[], start: bigint, end: bigint, what: 'ecs' | 'order' | 'result'): string[] {
  const seen: string[] = [];
  for (let i = intervalAt(list, start); i < list.length && list[i]!.start <= end; i++) {
    const v = list[i]![what];
    if (!seen.includes(v)) {
      seen.push(v);
      if (seen.length > 1) break;
    }
  }
  return seen;
}
