// Builds a flat zone (dns/flat-zone.ts) from a zone's input (dns/zone-input.ts), with the rules of the zone data:
// a node per owner name and per empty non-terminal, RRsets in the order written (SOA first at the apex, a
// type given again replacing the first in its place), zone cuts and their referrals (NS, then glue: in-domain
// first and mandatory, then sibling, RFC 9471), the additional data of NS/MX/SRV RRsets (addresses of targets
// in the zone, not at or below a cut, not pools), negative TTLs (RFC 2308 §3, capped at a dynamic name).
// Names and RRsets are taken in here as they come; what needs the whole zone is done at the end (flat-link.ts).
// It makes nothing but typed arrays and one ArrayBuffer, and uses nothing a worker_thread lacks, so it can
// run on another thread: the result is transferred, and the dynamic names attached where they live.
import type { DynamicName } from './dynamic.js';
import { linkZone } from './flat-link.js';
import { DYN_HAS4, DYN_HAS6, FlatZone, type FlatZoneData, mixLabel, ROOT_HASH, slotOf } from './flat-zone.js';
import { soaRdata } from './rdata.js';
import { TYPE } from './registry.js';
import type { ZoneInput } from './zone-input.js';

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

/** A zone being built: its names (interned, with a hash table), RRsets and dynamic names so far. */
export class Builder<D extends DynamicName> {
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

/** Builds the flat form of a zone from its input (the names iterated once). */
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
  return linkZone(b, origin, serial, negativeTtl);
}

/** The zone of a built buffer, with its dynamic names (`dynamic`: the ones of this thread, in the same order). */
export function attachFlatZone<D extends DynamicName, X extends object>(
  data: FlatZoneData<D>,
  extra: X,
  dynamic: D[] = data.dynamic,
): FlatZone<D> & X {
  return Object.assign(new FlatZone<D>(data, dynamic), extra);
}
