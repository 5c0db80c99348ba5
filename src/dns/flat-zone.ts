// A zone as typed arrays (the flat layout; built by flat-build.ts, read by flat-lookup.ts): a handful of
// arrays in one ArrayBuffer instead of an object per name, so a zone of a million names is ~100 MB that the
// garbage collector never walks, and it can be built on another thread and handed over without a copy.
//
// - names: every node's name in lower-case wire form, back to back;
// - table: open addressing over name hashes, two words a slot: the hash, then node + 1 (0: empty);
// - nodes: a record of NODE words per node — where its name lies, its parent, the referral of the topmost
//   zone cut at or above it (or -1), its wildcard child `*.` (or -1), its dynamic name (an index into
//   `dynamic`, a JS array attached when the buffer arrives, or -1), its RRsets (in the order written, SOA
//   first at the apex), its flags and the length of its name;
// - sets: a record of SET words per RRset — type, TTL, owner node, its records (in `rdata`, back to back,
//   each RDLENGTH then RDATA, as the writer copies them), flags, and its additional data (RRset numbers in
//   `adds`: the addresses of NS, MX, SRV, SVCB and HTTPS targets);
// - refs: a record of REF words per referral (a topmost cut): its node, its NS RRset, its glue (RRset
//   numbers in `glue`) and how many of them are in-domain (first, and mandatory);
// - dyns: per dynamic name, the negative TTL at it and whether it has IPv4/IPv6 answers.
// A lookup touches one table slot, one node record, its name and one RRset record: the fields of a node or
// an RRset sit together (records of 32 bytes), not each in an array of its own, so a zone far larger than
// the CPU caches costs a few memory reads per query, not one per field.
// The apex is node 0 and its first RRset is the SOA.
import type { DynamicName } from './dynamic.js';

/** A node's record: NODE words at node * NODE of `nodes`. */
export const NODE = 8;
/** Offset of the name in `names`. */
export const N_NAME = 0;
export const N_PARENT = 1;
/** Referral number of the topmost zone cut at or above the node, or -1. */
export const N_CUT = 2;
/** The wildcard child (`*.` + the name), or -1. */
export const N_WILD = 3;
/** Index into `dynamic`, or -1. */
export const N_DYN = 4;
/** The node's RRsets: numbers N_SETS .. N_SETS_END. */
export const N_SETS = 5;
export const N_SETS_END = 6;
/** Flags (NODE_*) | the name's length in octets << 8. */
export const N_FLAGS = 7;

export const NODE_APEX = 1;
/** A name below the apex with NS records: a zone cut. */
export const NODE_DELEGATION = 2;
/** Below a zone cut (glue): never answered authoritatively. */
export const NODE_NONAUTH = 4;
/** The first label is `*`. */
export const NODE_WILDCARD = 8;

/** An RRset's record: SET words at set * SET of `sets`. */
export const SET = 8;
export const S_TYPE = 0;
export const S_TTL = 1;
/** The owner node. */
export const S_NODE = 2;
/** Offset of the first record in `rdata`; S_COUNT records follow, each RDLENGTH then RDATA. */
export const S_DATA = 3;
export const S_COUNT = 4;
/** Flags (SET_*). */
export const S_FLAGS = 5;
/** Additional data: adds[S_ADDS .. S_ADDS_END] are RRset numbers. */
export const S_ADDS = 6;
export const S_ADDS_END = 7;
/** Address RRsets are rotated on every response. */
export const SET_ROTATE = 1;

/** A referral's record: REF words at r * REF of `refs`. */
export const REF = 5;
export const R_NODE = 0;
/** The NS RRset of the cut. */
export const R_NS = 1;
/** Glue: glue[R_GLUE .. R_GLUE_END], the first R_MANDATORY of them in-domain (RFC 9471). */
export const R_GLUE = 2;
export const R_GLUE_END = 3;
export const R_MANDATORY = 4;

/** A dynamic name's record in `dyns`: its negative TTL, then its flags (DYN_*). */
export const DYN = 2;
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
  nodes: Int32Array,
  sets: Uint32Array,
  adds: Int32Array,
  rdata: Uint8Array,
  refs: Int32Array,
  glue: Int32Array,
  dyns: Uint32Array,
} as const;

type ArrayName = keyof typeof ARRAYS;
export type FlatArrays = { [K in ArrayName]: InstanceType<(typeof ARRAYS)[K]> };

/**
 * What the builder hands over: one ArrayBuffer (transferable between threads), where each array lies in it,
 * a few numbers, and the dynamic names in the order the nodes number them.
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
  readonly nodes: Int32Array;
  readonly sets: Uint32Array;
  readonly adds: Int32Array;
  readonly rdata: Buffer;
  readonly refs: Int32Array;
  readonly glue: Int32Array;
  readonly dyns: Uint32Array;

  constructor(data: FlatZoneData<D>, dynamic: D[]) {
    this.origin = data.origin;
    this.serial = data.serial;
    this.negativeTtl = data.negativeTtl;
    this.dynamic = dynamic;
    const b = data.buffer;
    const l = data.layout;
    this.names = Buffer.from(b, l.names[0], l.names[1]);
    this.table = new Uint32Array(b, ...l.table);
    this.nodes = new Int32Array(b, ...l.nodes);
    this.sets = new Uint32Array(b, ...l.sets);
    this.adds = new Int32Array(b, ...l.adds);
    this.rdata = Buffer.from(b, l.rdata[0], l.rdata[1]);
    this.refs = new Int32Array(b, ...l.refs);
    this.glue = new Int32Array(b, ...l.glue);
    this.dyns = new Uint32Array(b, ...l.dyns);
    this.mask = (this.table.length >>> 1) - 1;
    let labels = 0;
    for (let p = 0; this.names[p] !== 0; p += this.names[p]! + 1) labels++;
    this.originLabels = labels;
  }

  get nodeCount(): number {
    return this.nodes.length / NODE;
  }

  get setTotal(): number {
    return this.sets.length / SET;
  }

  /** The node named by the `len` octets at `at` of `src` (wire form) whose hash is `h`, or -1. */
  find(h: number, src: Uint8Array, at: number, len: number): number {
    const { table, names, nodes, mask } = this;
    for (let s = slotOf(h, mask); ; s = (s + 1) & mask) {
      const v = table[2 * s + 1]!;
      if (v === 0) return -1;
      if (table[2 * s] !== h) continue;
      const n = (v - 1) * NODE;
      if (nodes[n + N_FLAGS]! >>> 8 !== len) continue;
      const from = nodes[n + N_NAME]!;
      let i = 0;
      while (i < len && names[from + i] === src[at + i]) i++;
      if (i === len) return v - 1;
    }
  }

  /** The RRset of `type` at `node`, or -1. */
  setOf(node: number, type: number): number {
    return findSet(this.nodes, this.sets, node, type);
  }

  /** Whether a node is named `name` (internal form): for reports and tests, not the answer path (it allocates). */
  has(name: string): boolean {
    const labels = name === '' ? [] : name.split('.');
    const wire = Buffer.alloc(name.length + 2);
    const starts: number[] = [];
    let p = 0;
    for (const l of labels) {
      starts.push(p);
      wire[p] = l.length;
      wire.write(l, p + 1, 'latin1');
      p += l.length + 1;
    }
    let h = ROOT_HASH;
    for (let i = starts.length - 1; i >= 0; i--) h = mixLabel(h, wire, starts[i]!);
    return this.find(h, wire, 0, p + 1) >= 0;
  }

  /** Every node's name in internal form, in node order (for reports and tests: this allocates). */
  nodeNames(): string[] {
    return Array.from({ length: this.nodeCount }, (_, n) => this.nameOf(n));
  }

  /** A node's RRsets with their records' RDATA (copies): for reports (plan, tests), not the answer path. */
  rrsetsAt(node: number): { type: number; ttl: number; rdata: Buffer[] }[] {
    const { nodes, sets, rdata } = this;
    const out: { type: number; ttl: number; rdata: Buffer[] }[] = [];
    for (let s = nodes[node * NODE + N_SETS]!; s < nodes[node * NODE + N_SETS_END]!; s++) {
      const records: Buffer[] = [];
      for (let i = 0, at = sets[s * SET + S_DATA]!; i < sets[s * SET + S_COUNT]!; i++) {
        const len = rdata.readUInt16BE(at);
        records.push(Buffer.from(rdata.subarray(at + 2, at + 2 + len)));
        at += 2 + len;
      }
      out.push({ type: sets[s * SET + S_TYPE]!, ttl: sets[s * SET + S_TTL]!, rdata: records });
    }
    return out;
  }

  /** A node's dynamic name (a pool in the server), or null. */
  dynamicAt(node: number): D | null {
    const d = this.nodes[node * NODE + N_DYN]!;
    return d < 0 ? null : this.dynamic[d]!;
  }

  /** A node's name in internal form (lower case, no trailing dot, "" the root): for reports, not the answer path. */
  nameOf(node: number): string {
    return wireToName(this.names, this.nodes[node * NODE + N_NAME]!);
  }
}

/** The RRset of `type` at `node`, or -1. */
export function findSet(nodes: Int32Array, sets: Uint32Array, node: number, type: number): number {
  const end = nodes[node * NODE + N_SETS_END]!;
  for (let s = nodes[node * NODE + N_SETS]!; s < end; s++) if (sets[s * SET + S_TYPE] === type) return s;
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
      if (this.hashes[s] !== h || z.nodes[N_FLAGS]! >>> 8 !== len) continue;
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
