// A zone as typed arrays (the flat layout; built by flat-build.ts, read by flat-lookup.ts): a handful of
// arrays in one ArrayBuffer instead of an object per name, so a zone of a million names is ~100 MB that the
// garbage collector never walks, and it can be built on another thread and handed over without a copy.
//
// - names: every node's name in lower-case wire form, back to back (node i: nodeName[i] .. nodeName[i + 1]);
// - table: open addressing over name hashes, two words a slot: the hash, then node + 1 (0: empty);
// - per node: parent, the referral of the topmost zone cut at or above it (or -1), its wildcard child `*.`
//   (or -1), flags, its RRsets (nodeSets[i] .. nodeSets[i + 1], in the order written, SOA first at the apex)
//   and its dynamic name (an index into `dynamic`, a JS array attached when the buffer arrives, or -1);
// - per RRset: type, TTL, owner node, RDATA (setCount[i] records from setData[i] in `rdata`, each RDLENGTH
//   then RDATA, as the writer copies them), flags, and its additional data (adds[setAdd[i] .. setAdd[i + 1]]:
//   RRsets of the addresses of NS, MX and SRV targets);
// - per referral (a topmost cut): its node, its NS RRset, its glue (in-domain first: `refMandatory` of them)
//   as RRset numbers in `glue`;
// - per dynamic name: the negative TTL at it and whether it has IPv4/IPv6 answers.
// The apex is node 0 and its first RRset is the SOA.
import type { DynamicName } from './dynamic.js';

export const NODE_APEX = 1;
/** A name below the apex with NS records: a zone cut. */
export const NODE_DELEGATION = 2;
/** Below a zone cut (glue): never answered authoritatively. */
export const NODE_NONAUTH = 4;
/** The first label is `*`. */
export const NODE_WILDCARD = 8;
/** Address RRsets are rotated on every response. */
export const SET_ROTATE = 1;
export const DYN_HAS4 = 1;
export const DYN_HAS6 = 2;

/**
 * Hash of the root name; a name's hash mixes each label into its parent's (so every suffix has one). Hashes
 * keep 30 bits: V8 holds such numbers unboxed (a wider one passed between functions is a heap allocation).
 */
export const ROOT_HASH = 0x811c9dc5 & 0x3fffffff;

/** The hash of `label.rest` from the hash of `rest`: FNV-1a over the label at `at` (length, then octets). */
export function mixLabel(h: number, src: Uint8Array, at: number): number {
  const len = src[at]!;
  let x = Math.imul(h ^ len, 0x01000193);
  for (let i = at + 1, end = at + 1 + len; i < end; i++) x = Math.imul(x ^ src[i]!, 0x01000193);
  return x & 0x3fffffff;
}

/** First slot for a hash in a table of `mask + 1` slots (the hash's bits mixed, so neighbours scatter). */
export function slotOf(h: number, mask: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) & mask;
}

/** The arrays of a flat zone and their place in its buffer (name → [byte offset, length]). */
const ARRAYS = {
  names: Uint8Array,
  table: Uint32Array,
  nodeName: Uint32Array,
  nodeParent: Int32Array,
  nodeCut: Int32Array,
  nodeWild: Int32Array,
  nodeDyn: Int32Array,
  nodeFlags: Uint8Array,
  nodeSets: Uint32Array,
  setType: Uint16Array,
  setTtl: Uint32Array,
  setNode: Uint32Array,
  setData: Uint32Array,
  setCount: Uint16Array,
  setFlags: Uint8Array,
  setAdd: Uint32Array,
  adds: Int32Array,
  rdata: Uint8Array,
  refNode: Int32Array,
  refNs: Int32Array,
  refGlue: Uint32Array,
  refMandatory: Uint32Array,
  glue: Int32Array,
  dynNegTtl: Uint32Array,
  dynFlags: Uint8Array,
} as const;

type ArrayName = keyof typeof ARRAYS;
export type FlatArrays = { [K in ArrayName]: InstanceType<(typeof ARRAYS)[K]> };

/**
 * What the builder hands over: one ArrayBuffer (transferable between threads), where each array lies in it,
 * a few numbers, and the dynamic names in the order nodeDyn numbers them.
 */
export interface FlatZoneData<D extends DynamicName = DynamicName> {
  origin: string;
  serial: number;
  /** TTL of the SOA in negative answers: min(SOA TTL, minimum), RFC 2308 §3. */
  negativeTtl: number;
  buffer: ArrayBuffer;
  layout: Record<ArrayName, [number, number]>;
  dynamic: D[];
}

/** Copies the arrays into one buffer (each at an offset aligned for its element size). */
export function packArrays(arrays: FlatArrays): { buffer: ArrayBuffer; layout: FlatZoneData['layout'] } {
  const names = Object.keys(ARRAYS) as ArrayName[];
  let size = 0;
  for (const k of names) size = ((size + 7) & ~7) + arrays[k].byteLength;
  const buffer = new ArrayBuffer(size);
  const bytes = new Uint8Array(buffer);
  const layout = {} as FlatZoneData['layout'];
  let at = 0;
  for (const k of names) {
    at = (at + 7) & ~7;
    const a = arrays[k];
    bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    layout[k] = [at, a.length];
    at += a.byteLength;
  }
  return { buffer, layout };
}

/** A flat zone ready to answer from: the arrays as views over the buffer handed over, the dynamic names attached. */
export class FlatZone<D extends DynamicName = DynamicName> {
  readonly origin: string;
  readonly serial: number;
  readonly negativeTtl: number;
  readonly dynamic: D[];
  /** Labels of the origin. */
  readonly originLabels: number;
  readonly mask: number;
  // the arrays (see the top of the file); `names` and `rdata` as Buffers, which the writer copies from
  readonly names: Buffer;
  readonly table: Uint32Array;
  readonly nodeName: Uint32Array;
  readonly nodeParent: Int32Array;
  readonly nodeCut: Int32Array;
  readonly nodeWild: Int32Array;
  readonly nodeDyn: Int32Array;
  readonly nodeFlags: Uint8Array;
  readonly nodeSets: Uint32Array;
  readonly setType: Uint16Array;
  readonly setTtl: Uint32Array;
  readonly setNode: Uint32Array;
  readonly setData: Uint32Array;
  readonly setCount: Uint16Array;
  readonly setFlags: Uint8Array;
  readonly setAdd: Uint32Array;
  readonly adds: Int32Array;
  readonly rdata: Buffer;
  readonly refNode: Int32Array;
  readonly refNs: Int32Array;
  readonly refGlue: Uint32Array;
  readonly refMandatory: Uint32Array;
  readonly glue: Int32Array;
  readonly dynNegTtl: Uint32Array;
  readonly dynFlags: Uint8Array;

  constructor(data: FlatZoneData<D>, dynamic: D[]) {
    this.origin = data.origin;
    this.serial = data.serial;
    this.negativeTtl = data.negativeTtl;
    this.dynamic = dynamic;
    const b = data.buffer;
    const l = data.layout;
    this.names = Buffer.from(b, l.names[0], l.names[1]);
    this.table = new Uint32Array(b, ...l.table);
    this.nodeName = new Uint32Array(b, ...l.nodeName);
    this.nodeParent = new Int32Array(b, ...l.nodeParent);
    this.nodeCut = new Int32Array(b, ...l.nodeCut);
    this.nodeWild = new Int32Array(b, ...l.nodeWild);
    this.nodeDyn = new Int32Array(b, ...l.nodeDyn);
    this.nodeFlags = new Uint8Array(b, ...l.nodeFlags);
    this.nodeSets = new Uint32Array(b, ...l.nodeSets);
    this.setType = new Uint16Array(b, ...l.setType);
    this.setTtl = new Uint32Array(b, ...l.setTtl);
    this.setNode = new Uint32Array(b, ...l.setNode);
    this.setData = new Uint32Array(b, ...l.setData);
    this.setCount = new Uint16Array(b, ...l.setCount);
    this.setFlags = new Uint8Array(b, ...l.setFlags);
    this.setAdd = new Uint32Array(b, ...l.setAdd);
    this.adds = new Int32Array(b, ...l.adds);
    this.rdata = Buffer.from(b, l.rdata[0], l.rdata[1]);
    this.refNode = new Int32Array(b, ...l.refNode);
    this.refNs = new Int32Array(b, ...l.refNs);
    this.refGlue = new Uint32Array(b, ...l.refGlue);
    this.refMandatory = new Uint32Array(b, ...l.refMandatory);
    this.glue = new Int32Array(b, ...l.glue);
    this.dynNegTtl = new Uint32Array(b, ...l.dynNegTtl);
    this.dynFlags = new Uint8Array(b, ...l.dynFlags);
    this.mask = (this.table.length >>> 1) - 1;
    let labels = 0;
    for (let p = 0; this.names[p] !== 0; p += this.names[p]! + 1) labels++;
    this.originLabels = labels;
  }

  get nodeCount(): number {
    return this.nodeFlags.length;
  }

  get setTotal(): number {
    return this.setType.length;
  }

  /** The node named by the `len` octets at `at` of `src` (wire form) whose hash is `h`, or -1. */
  find(h: number, src: Uint8Array, at: number, len: number): number {
    const { table, names, nodeName, mask } = this;
    for (let s = slotOf(h, mask); ; s = (s + 1) & mask) {
      const v = table[2 * s + 1]!;
      if (v === 0) return -1;
      if (table[2 * s] !== h) continue;
      const node = v - 1;
      const from = nodeName[node]!;
      if (nodeName[node + 1]! - from !== len) continue;
      let i = 0;
      while (i < len && names[from + i] === src[at + i]) i++;
      if (i === len) return node;
    }
  }

  /** The RRset of `type` at `node`, or -1. */
  setOf(node: number, type: number): number {
    return findSet(this.nodeSets, this.setType, node, type);
  }

  /** A node's name in internal form (lower case, no trailing dot, "" the root): for reports, not the answer path. */
  nameOf(node: number): string {
    return wireToName(this.names, this.nodeName[node]!);
  }
}

/** The RRset of `type` at `node` (RRsets nodeSets[node] .. nodeSets[node + 1]), or -1. */
export function findSet(nodeSets: Uint32Array, setType: Uint16Array, node: number, type: number): number {
  for (let s = nodeSets[node]!, end = nodeSets[node + 1]!; s < end; s++) if (setType[s] === type) return s;
  return -1;
}

/** A name in wire form at `at` of `src` as the internal form (labels joined by dots, octets as latin1). */
export function wireToName(src: Uint8Array, at: number): string {
  let out = '';
  for (let p = at; src[p] !== 0; p += src[p]! + 1) {
    if (out !== '' || p !== at) out += '.';
    for (let i = p + 1; i <= p + src[p]!; i++) out += String.fromCharCode(src[i]!);
  }
  return out;
}

/**
 * The flat zones of a snapshot, found by origin: an open-addressed table over the origins' hashes, probed
 * with the hashes of a name's suffixes, deepest first (dns/flat-lookup.ts).
 */
export class FlatZones<D extends DynamicName = DynamicName> {
  readonly zones: ReadonlyMap<string, FlatZone<D>>;
  /** depths[k] is 1 when an origin has k labels: only suffixes of those lengths can name a zone. */
  readonly depths = new Uint8Array(128);
  private readonly slots: (FlatZone<D> | null)[];
  private readonly hashes: Int32Array;
  private readonly mask: number;

  constructor(zones: Iterable<FlatZone<D>>) {
    const map = new Map<string, FlatZone<D>>();
    for (const z of zones) map.set(z.origin, z);
    this.zones = map;
    let size = 8;
    while (size < map.size * 2) size *= 2;
    this.mask = size - 1;
    this.slots = new Array<FlatZone<D> | null>(size).fill(null);
    this.hashes = new Int32Array(size);
    for (const z of map.values()) {
      this.depths[z.originLabels] = 1;
      const h = originHash(z);
      let s = slotOf(h, this.mask);
      while (this.slots[s] !== null) s = (s + 1) & this.mask;
      this.slots[s] = z;
      this.hashes[s] = h;
    }
  }

  /** The zone whose origin is the `len` octets at `at` of `src` (wire form) with hash `h`, or null. */
  find(h: number, src: Uint8Array, at: number, len: number): FlatZone<D> | null {
    for (let s = slotOf(h, this.mask); ; s = (s + 1) & this.mask) {
      const z = this.slots[s]!;
      if (z === null) return null;
      if (this.hashes[s] !== h || z.nodeName[1]! !== len) continue;
      let i = 0;
      while (i < len && z.names[i] === src[at + i]) i++;
      if (i === len) return z;
    }
  }
}

/** The hash of a zone's origin (node 0's name). */
function originHash(z: FlatZone): number {
  const starts: number[] = [];
  for (let p = 0; z.names[p] !== 0; p += z.names[p]! + 1) starts.push(p);
  let h = ROOT_HASH;
  for (let i = starts.length - 1; i >= 0; i--) h = mixLabel(h, z.names, starts[i]!);
  return h;
}
