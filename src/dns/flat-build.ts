// Builds a flat zone (dns/flat-zone.ts) from the input buildZone takes (dns/zone.ts), with the same rules:
// a node per owner name and per empty non-terminal, RRsets in the order written (SOA first at the apex, a
// type given again replacing the first in its place), zone cuts and their referrals (NS, then glue: in-domain
// first and mandatory, then sibling, RFC 9471), the additional data of NS/MX/SRV RRsets (addresses of targets
// in the zone, not at or below a cut, not pools), negative TTLs (RFC 2308 §3, capped at a dynamic name).
// It makes nothing but typed arrays and one ArrayBuffer, and uses nothing a worker_thread lacks, so it can
// run on another thread: the result is transferred, and the dynamic names attached where they live.
import type { DynamicName } from './dynamic.js';
import {
  DYN_HAS4,
  DYN_HAS6,
  type FlatArrays,
  FlatZone,
  type FlatZoneData,
  findSet,
  mixLabel,
  NODE_APEX,
  NODE_DELEGATION,
  NODE_NONAUTH,
  NODE_WILDCARD,
  packArrays,
  ROOT_HASH,
  SET_ROTATE,
  slotOf,
} from './flat-zone.js';
import { soaRdata } from './rdata.js';
import { TYPE } from './registry.js';
import type { ZoneInput } from './zone.js';

type Typed = Uint8Array | Uint16Array | Uint32Array | Int32Array;

/** A typed array that grows by doubling (the builder does not know the zone's size in advance). */
class Grow<T extends Typed> {
  length = 0;
  constructor(public a: T) {}

  push(v: number): number {
    if (this.length === this.a.length) this.reserve(1);
    this.a[this.length] = v;
    return this.length++;
  }

  reserve(n: number): void {
    if (this.length + n <= this.a.length) return;
    let size = this.a.length * 2;
    while (size < this.length + n) size *= 2;
    const b = new (this.a.constructor as new (n: number) => T)(size);
    b.set(this.a);
    this.a = b;
  }

  done(): T {
    return this.a.slice(0, this.length) as T;
  }
}

const u8 = (n = 1024) => new Grow(new Uint8Array(n));
const u16 = (n = 1024) => new Grow(new Uint16Array(n));
const u32 = (n = 1024) => new Grow(new Uint32Array(n));
const i32 = (n = 1024) => new Grow(new Int32Array(n));

/** Lower-case form of each byte (ASCII letters fold): targets in RDATA are looked up as names are stored. */
const LOWER = new Uint8Array(256).map((_, c) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c));

class Builder<D extends DynamicName> {
  readonly names = u8(1 << 16);
  readonly nodeName = u32();
  readonly nodeParent = i32();
  readonly nodeDyn = i32();
  table = new Uint32Array(2 * 1024);
  // RRsets in the order given (grouped per node at the end)
  readonly setNode = u32();
  readonly setType = u16();
  readonly setTtl = u32();
  readonly setData = u32();
  readonly setCount = u16();
  readonly rdata = u8(1 << 16);
  readonly dynamic: D[] = [];
  readonly dynNegTtl: number[] = [];
  readonly dynFlags: number[] = [];
  // one name in wire form: where its labels start and the hash of each suffix
  readonly wire = new Uint8Array(512);
  readonly label = new Int32Array(256);
  readonly hash = new Int32Array(256);
  labels = 0;
  readonly originLabels: number;

  constructor(origin: string) {
    this.readName(origin);
    this.originLabels = this.labels;
    this.addNode(0, -1);
  }

  /** Reads a name in internal form into `wire`, `label` and `hash` (label[labels] is the root octet). */
  readName(name: string): void {
    let n = 0;
    let p = 0;
    if (name !== '') {
      let start = 0;
      for (let i = 0; i <= name.length; i++) {
        if (i === name.length || name.charCodeAt(i) === 0x2e) {
          this.label[n++] = p;
          this.wire[p++] = i - start;
          for (let j = start; j < i; j++) this.wire[p++] = name.charCodeAt(j) & 0xff;
          start = i + 1;
        }
      }
    }
    this.finishName(n, p);
  }

  /** Reads a name in wire form from RDATA (lower-cased; stops at the end of the RDATA, as rdataName does). */
  readWire(src: Uint8Array, at: number, end: number): void {
    let n = 0;
    let p = 0;
    for (let o = at; o < end && src[o] !== 0 && n < 128 && p < 256; ) {
      const len = Math.min(src[o]!, end - o - 1, 63);
      this.label[n++] = p;
      this.wire[p++] = len;
      for (let j = 1; j <= len; j++) this.wire[p++] = LOWER[src[o + j]!]!;
      o += len + 1;
    }
    this.finishName(n, p);
  }

  private finishName(n: number, p: number): void {
    this.label[n] = p;
    this.wire[p] = 0;
    this.labels = n;
    let h = ROOT_HASH;
    this.hash[n] = h;
    for (let i = n - 1; i >= 0; i--) this.hash[i] = h = mixLabel(h, this.wire, this.label[i]!);
  }

  /** The node of the read name's suffix from label `i`, or -1. */
  findSuffix(i: number): number {
    const at = this.label[i]!;
    const len = this.label[this.labels]! + 1 - at;
    const h = this.hash[i]!;
    const table = this.table;
    const mask = (table.length >>> 1) - 1;
    const names = this.names.a;
    const nodeName = this.nodeName.a;
    for (let s = slotOf(h, mask); ; s = (s + 1) & mask) {
      const v = table[2 * s + 1]!;
      if (v === 0) return -1;
      if (table[2 * s] !== h) continue;
      const from = nodeName[v - 1]!;
      if (nodeName[v]! - from !== len) continue;
      let k = 0;
      while (k < len && names[from + k] === this.wire[at + k]) k++;
      if (k === len) return v - 1;
    }
  }

  /** Whether the read name's last labels are the name stored at `at` of `names` (`of` labels). */
  endsWith(at: number, of: number): boolean {
    if (of > this.labels) return false;
    const from = this.label[this.labels - of]!;
    const len = this.label[this.labels]! + 1 - from;
    const names = this.names.a;
    for (let k = 0; k < len; k++) if (names[at + k] !== this.wire[from + k]) return false;
    return true;
  }

  /** A node for the read name's suffix from label `i` (its parent is `parent`). */
  private addNode(i: number, parent: number): number {
    const node = this.nodeParent.push(parent);
    this.nodeDyn.push(-1);
    this.nodeName.push(this.names.length);
    const at = this.label[i]!;
    const len = this.label[this.labels]! + 1 - at;
    this.names.reserve(len);
    const names = this.names.a;
    const to = this.names.length;
    for (let k = 0; k < len; k++) names[to + k] = this.wire[at + k]!; // no view object per name
    this.names.length = to + len;
    // where this name ends (the next node's start overwrites it with the same offset)
    this.nodeName.reserve(1);
    this.nodeName.a[this.nodeName.length] = this.names.length;
    if (2 * (node + 1) > this.table.length >>> 1) this.rehash();
    this.insert(this.hash[i]!, node);
    return node;
  }

  private insert(h: number, node: number): void {
    const table = this.table;
    const mask = (table.length >>> 1) - 1;
    let s = slotOf(h, mask);
    while (table[2 * s + 1] !== 0) s = (s + 1) & mask;
    table[2 * s] = h;
    table[2 * s + 1] = node + 1;
  }

  private rehash(): void {
    const old = this.table;
    this.table = new Uint32Array(old.length * 2);
    for (let s = 0; s < old.length; s += 2) if (old[s + 1] !== 0) this.insert(old[s]!, old[s + 1]! - 1);
  }

  /** The node of a name, made with its missing ancestors (empty non-terminals) up to the apex. */
  intern(name: string): number {
    this.readName(name);
    const found = this.findSuffix(0);
    if (found >= 0) return found;
    const apex = this.labels - this.originLabels;
    if (apex < 0 || !this.endsWith(0, this.originLabels)) return this.addNode(0, -1); // outside the zone
    let i = 1;
    let parent = this.findSuffix(i);
    while (parent < 0) parent = this.findSuffix(++i); // the apex exists: this ends there at the latest
    for (i--; i >= 0; i--) parent = this.addNode(i, parent);
    return parent;
  }

  addSet(node: number, type: number, ttl: number, rdata: readonly Uint8Array[]): void {
    if (rdata.length > 0xffff) throw new Error(`an RRset of ${rdata.length} records`);
    this.setNode.push(node);
    this.setType.push(type);
    this.setTtl.push(ttl);
    this.setCount.push(rdata.length);
    this.setData.push(this.rdata.length);
    for (const rd of rdata) {
      this.rdata.reserve(2 + rd.length);
      const a = this.rdata.a;
      let p = this.rdata.length;
      a[p++] = rd.length >> 8;
      a[p++] = rd.length & 0xff;
      a.set(rd, p);
      this.rdata.length = p + rd.length;
    }
  }

  setDynamic(node: number, d: D, negativeTtl: number): void {
    let i = this.nodeDyn.a[node]!;
    if (i < 0) i = this.nodeDyn.a[node] = this.dynamic.length;
    this.dynamic[i] = d;
    this.dynNegTtl[i] = Math.min(negativeTtl, d.ttl);
    this.dynFlags[i] = (d.has4 ? DYN_HAS4 : 0) | (d.has6 ? DYN_HAS6 : 0);
  }
}

/** Builds the flat form of a zone from the input buildZone takes (the names iterated once). */
export function buildFlatZone<D extends DynamicName>(input: ZoneInput<D>): FlatZoneData<D> {
  const { origin, soa: s, serial } = input;
  const b = new Builder<D>(origin);
  const negativeTtl = Math.min(s.ttl, s.minimum);
  b.addSet(0, TYPE.SOA, s.ttl, [soaRdata(s.mname, s.rname, serial, s.refresh, s.retry, s.expire, s.minimum)]);
  for (const n of input.names) {
    const node = b.intern(n.name);
    for (const set of n.rrsets) b.addSet(node, set.type, set.ttl, set.rdata);
    if (n.dynamic) b.setDynamic(node, n.dynamic, negativeTtl);
  }
  return finish(b, origin, serial, negativeTtl);
}

/** The flat zone of `input` built here, on this thread, with `extra` set on it (as buildZone does). */
export function flatZone<D extends DynamicName, X extends object>(input: ZoneInput<D>, extra: X): FlatZone<D> & X {
  return attachFlatZone(buildFlatZone(input), extra);
}

/** The zone of a built buffer, with its dynamic names (`dynamic`: the ones of this thread, in the same order). */
export function attachFlatZone<D extends DynamicName, X extends object>(
  data: FlatZoneData<D>,
  extra: X,
  dynamic: D[] = data.dynamic,
): FlatZone<D> & X {
  return Object.assign(new FlatZone<D>(data, dynamic), extra);
}

function finish<D extends DynamicName>(b: Builder<D>, origin: string, serial: number, negativeTtl: number): FlatZoneData<D> {
  const nodes = b.nodeParent.length;
  const built = b.setNode.length;
  // ---- RRsets grouped by node, in the order given; a type given again at a node takes the first one's place
  const nodeSets = new Uint32Array(nodes + 1);
  const setNode = b.setNode.a;
  const setType = b.setType.a;
  for (let i = 0; i < built; i++) nodeSets[setNode[i]! + 1]!++;
  for (let i = 0; i < nodes; i++) nodeSets[i + 1]! += nodeSets[i]!;
  const slot = nodeSets.slice(0, nodes);
  const grouped = new Uint32Array(built);
  for (let i = 0; i < built; i++) grouped[slot[setNode[i]!]!++] = i;
  const order = new Grow(new Uint32Array(built || 1));
  for (let n = 0; n < nodes; n++) {
    const first = order.length;
    for (let k = nodeSets[n]!; k < nodeSets[n + 1]!; k++) {
      const i = grouped[k]!;
      let j = first;
      while (j < order.length && setType[order.a[j]!] !== setType[i]) j++;
      if (j < order.length) order.a[j] = i;
      else order.push(i);
    }
    nodeSets[n] = first;
  }
  nodeSets[nodes] = order.length;
  const sets = order.length;
  const pick = <T extends Typed>(from: T, make: new (n: number) => T): T => {
    const out = new make(sets);
    for (let i = 0; i < sets; i++) out[i] = from[order.a[i]!]!;
    return out;
  };
  b.nodeName.push(b.names.length); // the end of the last name
  const a: FlatArrays = {
    names: b.names.done(),
    table: b.table,
    nodeName: b.nodeName.done(),
    nodeParent: b.nodeParent.done(),
    nodeCut: new Int32Array(nodes).fill(-1),
    nodeWild: new Int32Array(nodes).fill(-1),
    nodeDyn: b.nodeDyn.done(),
    nodeFlags: new Uint8Array(nodes),
    nodeSets,
    setType: pick(b.setType.a, Uint16Array),
    setTtl: pick(b.setTtl.a, Uint32Array),
    setNode: pick(b.setNode.a, Uint32Array),
    setData: pick(b.setData.a, Uint32Array),
    setCount: pick(b.setCount.a, Uint16Array),
    setFlags: new Uint8Array(sets),
    setAdd: new Uint32Array(sets + 1),
    adds: new Int32Array(0),
    rdata: b.rdata.done(),
    refNode: new Int32Array(0),
    refNs: new Int32Array(0),
    refGlue: new Uint32Array(1),
    refMandatory: new Uint32Array(0),
    glue: new Int32Array(0),
    dynNegTtl: Uint32Array.from(b.dynNegTtl),
    dynFlags: Uint8Array.from(b.dynFlags),
  };
  for (let i = 0; i < sets; i++) if (a.setType[i] === TYPE.A || a.setType[i] === TYPE.AAAA) a.setFlags[i] = SET_ROTATE;
  linkNodes(a);
  additionalData(b, a);
  return { origin, serial, negativeTtl, dynamic: b.dynamic, ...packArrays(a) };
}

/** Flags, the topmost cut at or above each node (and its referral), wildcard children. Parents come first. */
function linkNodes(a: FlatArrays): void {
  const refs: number[] = [];
  for (let i = 0; i < a.nodeFlags.length; i++) {
    const p = a.nodeParent[i]!;
    let f = i === 0 ? NODE_APEX : 0;
    if (i !== 0 && findSet(a.nodeSets, a.setType, i, TYPE.NS) >= 0) f |= NODE_DELEGATION;
    // below a cut: a proper ancestor below the apex is a cut (the apex's NS is no cut)
    if (p > 0 && (a.nodeFlags[p]! & (NODE_DELEGATION | NODE_NONAUTH)) !== 0) f |= NODE_NONAUTH;
    const at = a.nodeName[i]!;
    if (a.names[at] === 1 && a.names[at + 1] === 0x2a) {
      f |= NODE_WILDCARD;
      if (p >= 0) a.nodeWild[p] = i;
    }
    a.nodeFlags[i] = f;
    a.nodeCut[i] = p >= 0 ? a.nodeCut[p]! : -1;
    if ((f & (NODE_DELEGATION | NODE_NONAUTH)) === NODE_DELEGATION) {
      a.nodeCut[i] = refs.length;
      refs.push(i);
    }
  }
  a.refNode = Int32Array.from(refs);
}

/** The addresses (A, then AAAA, static only) at a node. */
function addressSets(a: FlatArrays, node: number, out: number[]): void {
  for (const t of [TYPE.A, TYPE.AAAA]) {
    const s = findSet(a.nodeSets, a.setType, node, t);
    if (s >= 0 && !out.includes(s)) out.push(s);
  }
}

/** Additional data of NS, MX and SRV RRsets, and the referral of each topmost cut with its glue. */
function additionalData<D extends DynamicName>(b: Builder<D>, a: FlatArrays): void {
  const adds: number[] = [];
  const list: number[] = [];
  for (let s = 0; s < a.setType.length; s++) {
    a.setAdd[s] = adds.length;
    const type = a.setType[s]!;
    if (type !== TYPE.NS && type !== TYPE.MX && type !== TYPE.SRV) continue;
    const skip = type === TYPE.MX ? 2 : type === TYPE.SRV ? 6 : 0; // MX: preference; SRV: priority, weight, port
    list.length = 0;
    eachRecord(a, s, (at, end) => {
      b.readWire(a.rdata, at + skip, end);
      const t = b.findSuffix(0);
      if (t >= 0 && (a.nodeFlags[t]! & (NODE_DELEGATION | NODE_NONAUTH)) === 0) addressSets(a, t, list);
    });
    adds.push(...list);
  }
  a.setAdd[a.setType.length] = adds.length;
  a.adds = Int32Array.from(adds);

  const refs = a.refNode.length;
  a.refNs = new Int32Array(refs);
  a.refGlue = new Uint32Array(refs + 1);
  a.refMandatory = new Uint32Array(refs);
  const glue: number[] = [];
  const inDomain: number[] = [];
  const sibling: number[] = [];
  for (let r = 0; r < refs; r++) {
    const cut = a.refNode[r]!;
    const ns = findSet(a.nodeSets, a.setType, cut, TYPE.NS);
    a.refNs[r] = ns;
    a.refGlue[r] = glue.length;
    const cutAt = a.nodeName[cut]!;
    const cutLabels = labelCount(a.names, cutAt);
    inDomain.length = sibling.length = 0;
    eachRecord(a, ns, (at, end) => {
      b.readWire(a.rdata, at, end);
      if (!b.endsWith(0, b.originLabels)) return; // outside the zone: no glue
      const t = b.findSuffix(0);
      if (t >= 0) addressSets(a, t, b.endsWith(cutAt, cutLabels) ? inDomain : sibling);
    });
    a.refMandatory[r] = inDomain.length;
    glue.push(...inDomain);
    for (const g of sibling) if (!inDomain.includes(g)) glue.push(g);
  }
  a.refGlue[refs] = glue.length;
  a.glue = Int32Array.from(glue);
}

/** Calls `fn(start, end)` with the RDATA of each record of RRset `s`. */
function eachRecord(a: FlatArrays, s: number, fn: (at: number, end: number) => void): void {
  let at = a.setData[s]!;
  for (let k = 0; k < a.setCount[s]!; k++) {
    const len = (a.rdata[at]! << 8) | a.rdata[at + 1]!;
    fn(at + 2, at + 2 + len);
    at += 2 + len;
  }
}

function labelCount(src: Uint8Array, at: number): number {
  let n = 0;
  for (let p = at; src[p] !== 0; p += src[p]! + 1) n++;
  return n;
}
