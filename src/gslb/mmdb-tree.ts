// The MaxMind DB search tree read straight from the file's bytes (format spec:
// https://maxmind.github.io/MaxMind-DB/), for compiling it (compile.ts): the metadata, records of 24, 28 or 32
// bits, an iterative walk of every block in address order with a budget of node visits (a corrupt or cyclic
// tree fails cleanly instead of running away), and the fields locating needs, read once per data record.
// No reader object and no closures over the file: plain data in, plain data out, so the walk can run anywhere.
import { type GeoFields, readRecord } from './geo.js';

/** A search tree that cannot be walked: the message says why. */
export class TreeError extends Error {
  override name = 'TreeError';
}

const METADATA_MARKER = [0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com')];

export interface MmdbTree {
  bytes: Uint8Array;
  nodeCount: number;
  recordSize: 24 | 28 | 32;
  ipVersion: 4 | 6;
  /** File offsets of the data section: from after the separator to the metadata marker. */
  dataStart: number;
  dataEnd: number;
}

/** The tree of a MaxMind DB's bytes; throws TreeError when its metadata does not describe one. */
export function openTree(bytes: Uint8Array): MmdbTree {
  const at = lastIndexOf(bytes, METADATA_MARKER);
  if (at < 0) throw new TreeError('no metadata section');
  const md = new DataReader(bytes, at + METADATA_MARKER.length, bytes.length);
  const meta = md.value(0, wanted({ node_count: 1, record_size: 1, ip_version: 1 })) as Record<string, unknown>;
  const nodeCount = meta.node_count;
  const recordSize = meta.record_size;
  const ipVersion = meta.ip_version;
  if (typeof nodeCount !== 'number' || !Number.isInteger(nodeCount) || nodeCount < 1) throw new TreeError('no node count in the metadata');
  if (recordSize !== 24 && recordSize !== 28 && recordSize !== 32) throw new TreeError(`record size ${String(recordSize)} (24, 28 or 32)`);
  if (ipVersion !== 4 && ipVersion !== 6) throw new TreeError(`IP version ${String(ipVersion)} (4 or 6)`);
  const treeSize = (nodeCount * recordSize) / 4;
  if (treeSize + 16 > at) throw new TreeError(`the search tree (${nodeCount} nodes) runs past the data section`);
  return { bytes, nodeCount, recordSize, ipVersion, dataStart: treeSize + 16, dataEnd: at };
}

function lastIndexOf(bytes: Uint8Array, pattern: number[]): number {
  outer: for (let i = bytes.length - pattern.length; i >= 0; i--) {
    for (let j = 0; j < pattern.length; j++) if (bytes[i + j] !== pattern[j]) continue outer;
    return i;
  }
  return -1;
}

/** A record of node `node` (bit 0 left, 1 right): a node number, `nodeCount` (no data), or a data pointer. */
export function recordOf(t: MmdbTree, node: number, bit: number): number {
  const b = t.bytes;
  if (t.recordSize === 24) {
    const o = node * 6 + bit * 3;
    return (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
  }
  if (t.recordSize === 28) {
    const o = node * 7;
    const high = bit === 0 ? b[o + 3]! >>> 4 : b[o + 3]! & 0x0f;
    const p = o + bit * 4;
    return high * 0x1000000 + ((b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!);
  }
  const o = node * 8 + bit * 4;
  return b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
}

// ---- the data section: only the fields locating reads ---------------------------------------------------

/** What of a value to decode: 1 the value itself, a map of wanted keys, or [what of the first item]. */
type Want = 1 | { [key: string]: Want } | [Want];

/** The fields readRecord (geo.ts) reads, in both schemas: nothing else of a record is decoded. */
const GEO_FIELDS: Want = {
  location: { latitude: 1, longitude: 1 },
  latitude: 1,
  longitude: 1,
  country: { iso_code: 1 },
  country_code: 1,
  registered_country: { iso_code: 1 },
  continent: { code: 1 },
  continent_code: 1,
  subdivisions: [{ iso_code: 1 }],
  state1_code: 1,
};

/** A Want made ready for decoding: map keys as UTF-8 bytes (compared with the file's, never decoded). */
interface Wanted {
  id: number;
  /** A map's wanted keys, their bytes and what of each value. */
  keys: string[];
  bytes: Uint8Array[];
  of: (Wanted | null)[];
  /** An array: what of its first item. */
  item: Wanted | null | undefined;
}

let wantedIds = 0;

/** The Wanted of a Want (null: a leaf, decoded whole). */
function wanted(w: Want): Wanted | null {
  if (w === 1) return null;
  if (Array.isArray(w)) return { id: wantedIds++, keys: [], bytes: [], of: [], item: wanted(w[0]) };
  const keys = Object.keys(w);
  return { id: wantedIds++, keys, bytes: keys.map((k) => Buffer.from(k)), of: keys.map((k) => wanted(w[k]!)), item: undefined };
}

const GEO_WANTED = wanted(GEO_FIELDS)!;

/** Maps and arrays nested deeper than this are refused (as mmdb-check.ts's MAX_DATA_DEPTH). */
const MAX_DEPTH = 64;

/**
 * Values of a data section (`start` to `end` of the file), decoded as the MaxMind reader decodes them, but only
 * what is wanted of maps. A map or array reached through a pointer is shared by many records (a country, a
 * continent): what was wanted of it is kept by its offset.
 */
class DataReader {
  private readonly view: DataView;
  private readonly text: Buffer;
  private readonly shared = new Map<number, unknown>();
  // the value head() read: its type, size, payload file offset, data offset, and whether a pointer led there
  private type = 0;
  private size = 0;
  private pos = 0;
  private at = 0;
  private pointed = false;

  constructor(
    private readonly b: Uint8Array,
    private readonly start: number,
    private readonly end: number,
  ) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.text = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  }

  private fail(off: number, what: string): never {
    throw new TreeError(`${what} at data offset ${off}`);
  }

  private byte(p: number): number {
    if (p >= this.end) this.fail(p - this.start, 'a value runs past the end of the data section');
    return this.b[p]!;
  }

  /** Reads the head of the value at data offset `off` (following a pointer when `follow`) into the fields above. */
  private head(off: number, follow: boolean): void {
    let p = this.start + off;
    const ctrl = this.byte(p++);
    let type = ctrl >>> 5;
    this.pointed = false;
    if (type === 1) {
      if (!follow) {
        this.type = 1;
        this.pos = p;
        return;
      }
      const ss = (ctrl >>> 3) & 3;
      let target = ss === 3 ? 0 : ctrl & 7;
      for (let i = 0; i <= ss; i++) target = target * 256 + this.byte(p + i);
      target += ss === 1 ? 2048 : ss === 2 ? 526336 : 0;
      if (target >= this.end - this.start) this.fail(off, `a pointer to data offset ${target}, outside the data section,`);
      this.head(target, false);
      if (this.type === 1) this.fail(off, 'a pointer to a pointer');
      this.pointed = true;
      return;
    }
    if (type === 0) {
      type = 7 + this.byte(p++);
      if (type < 8) this.fail(off, 'an unknown extended type');
    }
    let size = ctrl & 31;
    if (size >= 29) {
      const n = size - 28;
      let v = 0;
      for (let i = 0; i < n; i++) v = v * 256 + this.byte(p + i);
      size = (n === 1 ? 29 : n === 2 ? 285 : 65_821) + v;
      p += n;
    }
    this.type = type;
    this.size = size;
    this.pos = p;
    this.at = off;
  }

  /** The data offset just past the value at `off` (a pointer: past the pointer itself). */
  skip(off: number, depth = 0): number {
    if (depth > MAX_DEPTH) this.fail(off, 'maps and arrays nested too deep');
    const ctrl = this.byte(this.start + off);
    if (ctrl >>> 5 === 1) return off + 2 + ((ctrl >>> 3) & 3);
    this.head(off, false);
    const { type, size } = this;
    let next = this.pos - this.start;
    if (type === 7 || type === 11) {
      const n = type === 7 ? size * 2 : size;
      for (let i = 0; i < n; i++) next = this.skip(next, depth + 1);
      return next;
    }
    // a boolean's size is its value
    return type === 14 ? next : next + size;
  }

  /** Which of `w`'s keys the map key at `off` is (its string compared byte for byte), or -1. */
  private keyIndex(off: number, w: Wanted): number {
    this.head(off, true);
    if (this.type !== 2) this.fail(off, 'a map key that is not a string');
    const { size, pos } = this;
    if (pos + size > this.end) this.fail(off, 'a string runs past the end of the data section');
    next: for (let k = 0; k < w.bytes.length; k++) {
      const name = w.bytes[k]!;
      if (name.length !== size) continue;
      for (let i = 0; i < size; i++) if (this.b[pos + i] !== name[i]) continue next;
      return k;
    }
    return -1;
  }

  /** The value at `off` with only what `want` names of its maps decoded (a pointer is followed). */
  value(off: number, want: Wanted | null, depth = 0): unknown {
    if (depth > MAX_DEPTH) this.fail(off, 'maps and arrays nested too deep');
    this.head(off, true);
    const { type, size, pos: p } = this;
    switch (type) {
      case 2:
        if (p + size > this.end) this.fail(off, 'a string runs past the end of the data section');
        return this.text.toString('utf8', p, p + size);
      case 3:
        if (size !== 8 || p + 8 > this.end) this.fail(off, 'a double that is not 8 bytes');
        return this.view.getFloat64(p);
      case 15:
        if (size !== 4 || p + 4 > this.end) this.fail(off, 'a float that is not 4 bytes');
        return this.view.getFloat32(p);
      case 5:
      case 6:
      case 8: {
        if (size > 4 || p + size > this.end) this.fail(off, 'an integer longer than its type');
        if (type === 8 && size === 4) return this.view.getInt32(p);
        let v = 0;
        for (let i = 0; i < size; i++) v = v * 256 + this.b[p + i]!;
        return v;
      }
      case 14:
        return size !== 0;
      case 4:
      case 9:
      case 10:
        // bytes and 64- or 128-bit integers: never a coordinate, code or map to readRecord
        return null;
      case 7:
      case 11: {
        const keyed = want !== null && want.item === undefined;
        if (type === 7 ? !keyed : want === null || want.item === undefined) return type === 7 ? {} : [];
        if (type === 11 && size === 0) return [];
        const cacheKey = this.pointed ? this.at * 1024 + want!.id : -1;
        if (cacheKey >= 0 && this.shared.has(cacheKey)) return this.shared.get(cacheKey);
        const v = type === 7 ? this.map(p - this.start, size, want!, depth) : [this.value(p - this.start, want!.item!, depth + 1)];
        if (cacheKey >= 0) this.shared.set(cacheKey, v);
        return v;
      }
      default:
        return this.fail(off, `a value of type ${type}`);
    }
  }

  /** A map of `size` pairs from data offset `off`: the wanted keys' values (the last of a key given twice). */
  private map(off: number, size: number, want: Wanted, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    let next = off;
    for (let i = 0; i < size; i++) {
      const k = this.keyIndex(next, want);
      next = this.skip(next);
      if (k >= 0) out[want.keys[k]!] = this.value(next, want.of[k]!, depth + 1);
      next = this.skip(next);
    }
    return out;
  }
}

/** No data offset (a data section is shorter than 2^32 bytes). */
const EMPTY = 0xffffffff;

/** A string or none, unambiguously (its length first). */
const str = (s: string | undefined) => (s === undefined ? '-' : `${s.length}:${s}`);

/**
 * The fields locating reads (geo.ts readRecord) of each data record of a tree, read once per record: a data
 * record is named by its offset in the data section, and its fields get a number (records with the same fields
 * share one), `fieldsOf` the fields by that number.
 */
export class RecordFields {
  private readonly reader: DataReader;
  private readonly byText = new Map<string, number>();
  readonly fieldsOf: GeoFields[] = [];
  // data offset → fields number, open addressing over typed arrays (a Map of a million numbers is slow)
  private keys = new Uint32Array(1 << 12).fill(EMPTY);
  private ids = new Int32Array(1 << 12);
  private shift = 32 - 12;
  private count = 0;

  constructor(tree: MmdbTree) {
    this.reader = new DataReader(tree.bytes, tree.dataStart, tree.dataEnd);
  }

  /** The number of the fields of the record at data offset `off`. */
  idOf(off: number): number {
    const mask = this.keys.length - 1;
    // Fibonacci hashing: the high bits of the product
    let slot = Math.imul(off, 0x9e3779b1) >>> this.shift;
    for (let k = this.keys[slot]!; k !== EMPTY; k = this.keys[slot]!) {
      if (k === off) return this.ids[slot]!;
      slot = (slot + 1) & mask;
    }
    const f = readRecord(this.reader.value(off, GEO_WANTED) as Record<string, unknown>);
    const text = `${f.lat}|${f.lon}|${str(f.country)}|${str(f.continent)}|${str(f.subdivision)}`;
    let id = this.byText.get(text);
    if (id === undefined) {
      id = this.fieldsOf.length;
      this.fieldsOf.push(f);
      this.byText.set(text, id);
    }
    this.keys[slot] = off;
    this.ids[slot] = id;
    if (++this.count * 2 > this.keys.length) this.grow();
    return id;
  }

  private grow(): void {
    const { keys, ids } = this;
    this.keys = new Uint32Array(keys.length * 2).fill(EMPTY);
    this.ids = new Int32Array(keys.length * 2);
    this.shift--;
    const mask = this.keys.length - 1;
    for (let i = 0; i < keys.length; i++) {
      const off = keys[i]!;
      if (off === EMPTY) continue;
      let slot = Math.imul(off, 0x9e3779b1) >>> this.shift;
      while (this.keys[slot] !== EMPTY) slot = (slot + 1) & mask;
      this.keys[slot] = off;
      this.ids[slot] = ids[i]!;
    }
  }
}

// ---- the walk ---------------------------------------------------------------------------------------------

/**
 * Prefixes the walk cuts the address space at, as a small binary trie (node 0 the root, two children per node,
 * -1 none). At a node: the overlay network that starts there (its index, -1 none), the range (`zone` above 0:
 * a private range whose blocks are never merged with others) and the alias network (above 0) whose addresses
 * are looked up elsewhere: the walk does not enter it.
 */
export interface Cuts {
  child: number[];
  overlay: number[];
  zone: number[];
  alias: number[];
}

/** A trie of no cuts. */
export function newCuts(): Cuts {
  return { child: [-1, -1], overlay: [-1], zone: [0], alias: [0] };
}

/** Adds a prefix (the first `prefix` bits of `bytes`) and what it marks. */
export function addCut(c: Cuts, bytes: Uint8Array, prefix: number, mark: { overlay?: number; zone?: number; alias?: number }): void {
  let n = 0;
  for (let i = 0; i < prefix; i++) {
    const bit = (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
    let next = c.child[2 * n + bit]!;
    if (next < 0) {
      next = c.overlay.length;
      c.child[2 * n + bit] = next;
      c.child.push(-1, -1);
      c.overlay.push(-1);
      c.zone.push(0);
      c.alias.push(0);
    }
    n = next;
  }
  // the first mark given for a prefix stays (overlays: the first written of two equal networks wins)
  if (mark.overlay !== undefined && c.overlay[n]! < 0) c.overlay[n] = mark.overlay;
  if (mark.zone) c.zone[n] ||= mark.zone;
  if (mark.alias) c.alias[n] ||= mark.alias;
}

/** What the walk hands each block to, in address order; results of siblings are joined bottom-up. */
export interface BlockVisitor {
  /** A block (`depth` bits long) of one database value (`data`: its data offset, -1 none), inside overlay
   *  network `overlay` (the innermost, -1 none) and range `zone` (0 none). */
  block(depth: number, data: number, overlay: number, zone: number): number;
  /** An alias network: its addresses are looked up in another tree. */
  alias(depth: number, alias: number): number;
  /** The result of a prefix from its two halves'. */
  join(depth: number, left: number, right: number): number;
}

/**
 * Walks the IPv4 (family 4) or IPv6 tree of `tree` (null: no database, every block without data) block by
 * block in address order, cut at `cuts`, depth first with an explicit stack, and returns the root's result.
 * IPv4 in an IPv6 database is the subtree at ::/96 (as the MaxMind reader looks IPv4 addresses up); an IPv4
 * database has no IPv6 tree. A node is entered once in a sound tree, or a few times where a writer shares a
 * subtree (MaxMind's aliases, when not cut out): entering nodes more than four times the node count over is a
 * loop, and a TreeError; so is a node past the last bit of an address, or a record outside the data section.
 */
export function walkTree(tree: MmdbTree | null, family: 4 | 6, cuts: Cuts, v: BlockVisitor): number {
  const bits = family === 4 ? 32 : 128;
  const nodeCount = tree ? tree.nodeCount : 0;
  const dataEnd = nodeCount + 16 + (tree ? tree.dataEnd - tree.dataStart : 0);
  let budget = 4 * nodeCount + 512;
  // per depth of the path: the record value there (a node below nodeCount, else nodeCount for no data, or a data
  // pointer), the right record of a node entered, the cut node (-1 none), the overlay and zone in force, how far
  // the frame is (0 new, 1 left done, 2 right done) and the left half's result
  const rec = new Float64Array(bits + 1);
  const right = new Float64Array(bits + 1);
  const cut = new Int32Array(bits + 1);
  const ov = new Int32Array(bits + 1);
  const zone = new Int32Array(bits + 1);
  const state = new Uint8Array(bits + 1);
  const left = new Float64Array(bits + 1);
  const { child, overlay, alias } = cuts;
  let root = nodeCount; // no data
  if (tree && !(family === 6 && tree.ipVersion === 4)) {
    root = 0;
    if (family === 4 && tree.ipVersion === 6) for (let i = 0; i < 96 && root < nodeCount; i++) root = recordOf(tree, root, 0);
  }
  rec[0] = root;
  cut[0] = 0;
  ov[0] = overlay[0]!;
  zone[0] = cuts.zone[0]!;
  state[0] = 0;
  let d = 0;
  let res = 0;
  for (;;) {
    const s = state[d]!;
    let next: number;
    if (s === 0) {
      const c = cut[d]!;
      const r = rec[d]!;
      if (r > nodeCount && (r < nodeCount + 16 || r >= dataEnd)) throw new TreeError(`a record points outside the data section (${r})`);
      const cutBelow = c >= 0 && (child[2 * c]! >= 0 || child[2 * c + 1]! >= 0);
      if (c >= 0 && alias[c]! > 0) res = v.alias(d, alias[c]!);
      else if (r >= nodeCount && !cutBelow) res = v.block(d, r > nodeCount ? r - nodeCount - 16 : -1, ov[d]!, zone[d]!);
      else if (d === bits) {
        // a node past the last bit of the address: the tree is deeper than an address (it loops back)
        throw new TreeError(`the search tree goes deeper than an IPv${family} address (node ${r} after bit ${bits}): it loops`);
      } else {
        state[d] = 1;
        if (r < nodeCount) {
          if (--budget < 0) throw new TreeError(`the search tree loops: the walk entered its ${nodeCount} nodes more than four times over`);
          next = recordOf(tree!, r, 0);
          right[d] = recordOf(tree!, r, 1);
        } else {
          next = r;
          right[d] = r;
        }
        d = enter(d, 0, next);
        continue;
      }
    } else if (s === 1) {
      left[d] = res;
      state[d] = 2;
      d = enter(d, 1, right[d]!);
      continue;
    } else res = v.join(d, left[d]!, res);
    if (d === 0) return res;
    d--;
  }

  /** Opens the frame of half `bit` of the prefix at depth `at`, whose record is `r`; its depth. */
  function enter(at: number, bit: number, r: number): number {
    const c = cut[at]!;
    const cc = c >= 0 ? child[2 * c + bit]! : -1;
    const n = at + 1;
    rec[n] = r;
    cut[n] = cc;
    ov[n] = cc >= 0 && overlay[cc]! >= 0 ? overlay[cc]! : ov[at]!;
    zone[n] = cc >= 0 && cuts.zone[cc]! > 0 ? cuts.zone[cc]! : zone[at]!;
    state[n] = 0;
    return n;
  }
}
