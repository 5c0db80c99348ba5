// A compiled GeoIP decision table (compile.ts builds it) and its lookup: per ordering key, a binary trie per
// address family over typed arrays whose leaves index results — a region order (indices into the key's
// regions), whether the block is unlocated, private, or an alias network looked up by its embedded IPv4
// address. Adjacent blocks with the same result are merged, so the depth of a leaf is the widest block in
// which every address gets that answer: the ECS scope (docs/dns-behaviour.md#step-7-ecs-scope). The lookup
// walks the address's bits and allocates nothing; its result is left in HIT.

/** A trie slot at or above this is a leaf: the result number is the rest; below it, a node number. */
export const LEAF = 0x80000000;

/** Result flags. */
export const UNLOCATED = 1;
/** A private range's block that no overlay network places (docs/dns-behaviour.md#unlocatable-and-private-ecs-addresses). */
export const PRIVATE = 2;
/** Alias networks, looked up by the IPv4 address inside (docs/dns-behaviour.md#step-1-locate-the-client). */
export const MAPPED = 4;
export const SIX_TO_FOUR = 8;
export const TEREDO = 12;
export const ALIAS = 12;

/** One ordering key's compiled table: plain data and typed arrays (it can cross a thread). */
export interface DecisionTable {
  /** The ordering key's identity (order.ts keyText). */
  key: string;
  /** Trie nodes, two slots each (bit 0, bit 1), and the root slot; IPv4 and IPv6. */
  nodes4: Uint32Array;
  root4: number;
  nodes6: Uint32Array;
  root6: number;
  /** Per result: its region order, flags, and for a private block the prefix length of its range. */
  resultOrder: Uint32Array;
  resultFlags: Uint8Array;
  resultRange: Uint8Array;
  /** The distinct region orders: indices into the key's regions. */
  orders: number[][];
  /** The order of a client placed nowhere (a private ECS address). */
  nowhere: number;
  /** Overlay networks (4 or 16 bytes each) and their prefix lengths: a private block's scope is lengthened
   *  for those inside it. */
  overlays4: Uint8Array;
  overlayPrefixes4: Uint8Array;
  overlays6: Uint8Array;
  overlayPrefixes6: Uint8Array;
}

/** What a lookup found; one object, overwritten by each lookup. */
export interface Hit {
  /** The region order (an index into the table's orders). */
  order: number;
  /** The ECS scope of an answer that depends on the client (ecsLookup), or the block's depth (lookup). */
  scope: number;
  /** Bit offset of the embedded IPv4 address looked up in its stead: 96 (mapped), 16 (6to4), -1 (Teredo), else 0. */
  offset: number;
}

export const HIT: Hit = { order: 0, scope: 0, offset: 0 };

let result = 0;

/** Walks a trie from bit `off` of `bytes` (missing bytes are zeros, each byte XORed with `xor`); the depth. */
function walk(nodes: Uint32Array, root: number, bytes: Uint8Array, off: number, xor: number): number {
  let v = root;
  let i = off;
  const len = bytes.length;
  while (v < LEAF) {
    const byte = (i >>> 3 < len ? bytes[i >>> 3]! : 0) ^ xor;
    v = nodes[2 * v + ((byte >>> (7 - (i & 7))) & 1)]!;
    i++;
  }
  result = v - LEAF;
  return i - off;
}

/**
 * Looks an address up (4 bytes IPv4, else IPv6; an ECS address may stop after its source prefix's bytes): the
 * result number, with HIT.scope the depth of its block in the family of the address and HIT.offset set.
 */
function find(t: DecisionTable, bytes: Uint8Array, v4: boolean): number {
  if (v4) {
    HIT.offset = 0;
    HIT.scope = walk(t.nodes4, t.root4, bytes, 0, 0);
    return result;
  }
  let depth = walk(t.nodes6, t.root6, bytes, 0, 0);
  const alias = t.resultFlags[result]! & ALIAS;
  if (alias === 0) {
    HIT.offset = 0;
    HIT.scope = depth;
    return result;
  }
  // IPv4-mapped (::ffff:0:0/96), 6to4 (2002::/16), Teredo (2001::/32: the client's address inverted, at the end)
  const off = alias === SIX_TO_FOUR ? 16 : 96;
  depth = walk(t.nodes4, t.root4, bytes, off, alias === TEREDO ? 0xff : 0);
  HIT.offset = alias === TEREDO ? -1 : off;
  // no prefix of a Teredo address maps onto its IPv4 address: only the whole address is that client
  HIT.scope = alias === TEREDO ? 128 : off + depth;
  return result;
}

/** The order of an address asked from (no ECS): HIT.order, and HIT.scope the depth of its block. */
export function lookup(t: DecisionTable, bytes: Uint8Array, v4: boolean): void {
  HIT.order = t.resultOrder[find(t, bytes, v4)]!;
}

/**
 * The order and ECS scope of an ECS client (`bytes` the ECS address, `v4` its family): HIT.order and HIT.scope.
 * Located: the merged block. Unlocated: the block, at least the source prefix. A private address no overlay
 * places: nowhere, and the scope the private range or the source prefix, whichever is longer, lengthened for
 * overlay networks inside it (docs/dns-behaviour.md#unlocatable-and-private-ecs-addresses) — an IPv4-mapped one
 * as its IPv4 address; a 6to4 or Teredo address is not private for what it carries.
 */
export function ecsLookup(t: DecisionTable, bytes: Uint8Array, v4: boolean, sourcePrefix: number): void {
  const r = find(t, bytes, v4);
  const flags = t.resultFlags[r]!;
  const off = HIT.offset;
  if ((flags & PRIVATE) !== 0 && (off === 0 || off === 96)) {
    HIT.order = t.nowhere;
    const max = v4 ? 32 : off === 96 ? 32 : 128;
    const source = off === 96 ? Math.max(0, sourcePrefix - 96) : sourcePrefix;
    const range = Math.max(t.resultRange[r]!, Math.min(source, max));
    const inner =
      max === 32
        ? nested(t.overlays4, t.overlayPrefixes4, 4, bytes, off, range)
        : nested(t.overlays6, t.overlayPrefixes6, 16, bytes, 0, range);
    HIT.scope = off + inner;
    return;
  }
  HIT.order = t.resultOrder[r]!;
  if ((flags & UNLOCATED) !== 0 && sourcePrefix > HIT.scope) HIT.scope = sourcePrefix;
}

/**
 * The prefix `range`, lengthened to the longest overlay network inside the block of that length around the
 * address (its bits from `off`): a cached answer must not cover addresses an overlay answers otherwise.
 */
function nested(nets: Uint8Array, prefixes: Uint8Array, size: number, bytes: Uint8Array, off: number, range: number): number {
  let p = range;
  for (let k = 0; k < prefixes.length; k++) {
    const len = prefixes[k]!;
    if (len <= p) continue;
    let inside = true;
    for (let i = 0; i < range && inside; i++) {
      const j = off + i;
      const a = j >>> 3 < bytes.length ? (bytes[j >>> 3]! >>> (7 - (j & 7))) & 1 : 0;
      const b = (nets[k * size + (i >>> 3)]! >>> (7 - (i & 7))) & 1;
      inside = a === b;
    }
    if (inside && len > p) p = len;
  }
  return p;
}

/** Bytes a table holds (its tries and result arrays). */
export function tableBytes(t: DecisionTable): number {
  return t.nodes4.byteLength + t.nodes6.byteLength + t.resultOrder.byteLength + 2 * t.resultFlags.byteLength;
}
