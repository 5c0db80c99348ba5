// Compiling the GeoIP database and the `geoip.networks` overlay into decision tables (table.ts), one per
// ordering key (order.ts): the database's tree is walked block by block in address order (mmdb-tree.ts), cut at
// the overlay networks (the longest wins), the private ranges and the alias networks; each block gets its
// result — the region order of where it places a client, and whether it is unlocated or private — and two
// sibling blocks with the same result become their parent, bottom-up, so each leaf is the widest aligned block
// in which every address gets one answer. Private ranges and alias networks are barriers: a block inside one
// never merges with a block outside. A pure function of plain data (database bytes, overlays, keys) giving
// plain data and typed arrays: it can run on another thread.
import { createHash } from 'node:crypto';
import type { GeoOverlay } from '../config/server-spec.js';
import { ipToBytes } from '../net/address.js';
import { overlayPlace, type Place, recordPlace } from './geo.js';
import { addCut, type BlockVisitor, type Cuts, newCuts, openTree, RecordFields, walkTree } from './mmdb-tree.js';
import { keyText, type OrderingKey, orderIndices } from './order.js';
import type { Pool } from './pool.js';
import { type DecisionTable, LEAF, MAPPED, PRIVATE, SIX_TO_FOUR, TEREDO, tableBytes, UNLOCATED } from './table.js';

/** An overlay network with the place it gives (resolved: a region pin's point, a country's point). */
export interface OverlayInput {
  family: 4 | 6;
  bytes: Uint8Array;
  prefix: number;
  place: Place;
}

export interface CompileInput {
  /** The MaxMind DB file's bytes; null: no database (overlays only). */
  db: Uint8Array | null;
  /** `geoip.networks` in written order. */
  overlays: OverlayInput[];
  keys: OrderingKey[];
}

/** The overlay networks of steerdns.yaml as compile inputs. */
export function overlayInputs(overlays: GeoOverlay[], regionPoint: (region: string) => [number, number] | undefined): OverlayInput[] {
  return overlays.map((o) => ({
    family: o.network.family,
    bytes: o.network.bytes,
    prefix: o.network.prefix,
    place: overlayPlace(o, regionPoint),
  }));
}

/**
 * The private ranges (net/ranges.ts privatePrefix: not routable, no place on the Internet), as barriers with the
 * prefix length each stands for. `::` and `::1` are the range ::/127.
 */
export const PRIVATE_RANGES: { family: 4 | 6; network: string; prefix: number }[] = [
  { family: 4, network: '0.0.0.0', prefix: 8 },
  { family: 4, network: '10.0.0.0', prefix: 8 },
  { family: 4, network: '127.0.0.0', prefix: 8 },
  { family: 4, network: '100.64.0.0', prefix: 10 },
  { family: 4, network: '169.254.0.0', prefix: 16 },
  { family: 4, network: '172.16.0.0', prefix: 12 },
  { family: 4, network: '192.168.0.0', prefix: 16 },
  { family: 4, network: '224.0.0.0', prefix: 3 },
  { family: 6, network: '::', prefix: 127 },
  { family: 6, network: 'fc00::', prefix: 7 },
  { family: 6, network: 'fe80::', prefix: 10 },
  { family: 6, network: 'ff00::', prefix: 8 },
];

/** The alias networks of IPv6 and how each is looked up (table.ts MAPPED, SIX_TO_FOUR, TEREDO). */
const ALIASES: { network: string; prefix: number; alias: number }[] = [
  { network: '::ffff:0:0', prefix: 96, alias: MAPPED },
  { network: '2002::', prefix: 16, alias: SIX_TO_FOUR },
  { network: '2001::', prefix: 32, alias: TEREDO },
];

/** The cuts of one family: overlay networks (numbered in written order), private ranges (zones 1..), aliases. */
function cutsOf(family: 4 | 6, overlays: OverlayInput[]): Cuts {
  const c = newCuts();
  overlays.forEach((o, i) => {
    if (o.family === family) addCut(c, o.bytes, o.prefix, { overlay: i });
  });
  PRIVATE_RANGES.forEach((r, i) => {
    if (r.family === family) addCut(c, ipToBytes(r.network), r.prefix, { zone: i + 1 });
  });
  if (family === 6) for (const a of ALIASES) addCut(c, ipToBytes(a.network), a.prefix, { alias: a.alias });
  return c;
}

/**
 * Compiles one decision table per key. Throws mmdb-tree.ts's TreeError when the database's tree cannot be
 * walked (the caller keeps what it had).
 */
export function compileTables(input: CompileInput): DecisionTable[] {
  const tree = input.db ? openTree(input.db) : null;
  const fields = tree ? new RecordFields(tree) : null;
  const cuts4 = cutsOf(4, input.overlays);
  const cuts6 = cutsOf(6, input.overlays);
  const overlays4 = input.overlays.filter((o) => o.family === 4);
  const overlays6 = input.overlays.filter((o) => o.family === 6);
  const packed = (list: OverlayInput[], size: number) => {
    const out = new Uint8Array(list.length * size);
    for (let i = 0; i < list.length; i++) out.set(list[i]!.bytes.subarray(0, size), i * size);
    return out;
  };
  return input.keys.map((key) => {
    const c = new KeyCompiler(key, fields, input.overlays);
    const root4 = walkTree(tree, 4, cuts4, c.visitor(c.trie4));
    const root6 = walkTree(tree, 6, cuts6, c.visitor(c.trie6));
    return {
      key: keyText(key),
      nodes4: c.trie4.finish(),
      root4,
      nodes6: c.trie6.finish(),
      root6,
      resultOrder: Uint32Array.from(c.resultOrder),
      resultFlags: Uint8Array.from(c.resultFlags),
      resultRange: Uint8Array.from(c.resultRange),
      orders: c.orders,
      nowhere: c.nowhere,
      overlays4: packed(overlays4, 4),
      overlayPrefixes4: Uint8Array.from(overlays4.map((o) => o.prefix)),
      overlays6: packed(overlays6, 16),
      overlayPrefixes6: Uint8Array.from(overlays6.map((o) => o.prefix)),
    };
  });
}

/** A trie being built bottom-up: a node only where its two halves differ. */
class TrieBuilder {
  private nodes = new Uint32Array(1024);
  private count = 0;

  /** The slot of a prefix from its halves' slots: a leaf when both are the same leaf, else a new node. */
  join(left: number, right: number): number {
    if (left === right && left >= LEAF) return left;
    if (2 * this.count + 2 > this.nodes.length) {
      const bigger = new Uint32Array(this.nodes.length * 2);
      bigger.set(this.nodes);
      this.nodes = bigger;
    }
    this.nodes[2 * this.count] = left;
    this.nodes[2 * this.count + 1] = right;
    return this.count++;
  }

  finish(): Uint32Array {
    return this.nodes.slice(0, 2 * this.count);
  }
}

/** One key's orders and results, as the walk meets the places of its blocks. */
class KeyCompiler {
  readonly trie4 = new TrieBuilder();
  readonly trie6 = new TrieBuilder();
  readonly orders: number[][] = [];
  readonly resultOrder: number[] = [];
  readonly resultFlags: number[] = [];
  readonly resultRange: number[] = [];
  readonly nowhere: number;
  private readonly orderIds = new Map<string, number>();
  private readonly resultIds = new Map<number, number>();
  private readonly overlayOrder: number[];
  /** Per record fields number (mmdb-tree.ts RecordFields): its order, and whether it places nowhere. */
  private readonly fieldOrder: number[] = [];
  private readonly fieldUnlocated: boolean[] = [];
  private fieldResult = new Int32Array(1024).fill(-1);

  constructor(
    private readonly key: OrderingKey,
    private readonly fields: RecordFields | null,
    overlays: OverlayInput[],
  ) {
    this.nowhere = this.orderOf({ source: 'unknown' });
    this.overlayOrder = overlays.map((o) => this.orderOf(o.place));
  }

  private orderOf(place: Place): number {
    const indices = orderIndices(this.key, place).indices;
    const text = indices.join(',');
    let id = this.orderIds.get(text);
    if (id === undefined) {
      id = this.orders.length;
      this.orders.push(indices);
      this.orderIds.set(text, id);
    }
    return id;
  }

  /** The result number of (order, flags, zone): equal results merge, so the zone keeps ranges apart. */
  private resultOf(order: number, flags: number, zone: number): number {
    const k = (order * 64 + zone) * 16 + flags;
    let id = this.resultIds.get(k);
    if (id === undefined) {
      id = this.resultOrder.length;
      this.resultOrder.push(order);
      this.resultFlags.push(flags);
      this.resultRange.push(zone > 0 ? PRIVATE_RANGES[zone - 1]!.prefix : 0);
      this.resultIds.set(k, id);
    }
    return id;
  }

  private recordResult(data: number, zone: number): number {
    if (data < 0) return this.resultOf(this.nowhere, zone > 0 ? UNLOCATED | PRIVATE : UNLOCATED, zone);
    const f = this.fields!.idOf(data);
    // outside ranges (nearly every block) the result of a record's fields is kept by their number
    if (zone === 0 && f < this.fieldResult.length && this.fieldResult[f]! >= 0) return this.fieldResult[f]!;
    if (this.fieldOrder[f] === undefined) {
      const place = recordPlace(this.fields!.fieldsOf[f]!);
      this.fieldOrder[f] = this.orderOf(place);
      this.fieldUnlocated[f] = place.source === 'unknown';
    }
    const flags = this.fieldUnlocated[f] ? UNLOCATED : 0;
    const r = this.resultOf(this.fieldOrder[f]!, zone > 0 ? flags | PRIVATE : flags, zone);
    if (zone === 0) {
      if (f >= this.fieldResult.length) {
        const bigger = new Int32Array(Math.max(2 * this.fieldResult.length, f + 1)).fill(-1);
        bigger.set(this.fieldResult);
        this.fieldResult = bigger;
      }
      this.fieldResult[f] = r;
    }
    return r;
  }

  visitor(trie: TrieBuilder): BlockVisitor {
    return {
      block: (_depth, data, overlay, zone) =>
        LEAF + (overlay >= 0 ? this.resultOf(this.overlayOrder[overlay]!, 0, zone) : this.recordResult(data, zone)),
      alias: (_depth, alias) => LEAF + this.resultOf(this.nowhere, alias, 0),
      join: (_depth, left, right) => trie.join(left, right),
    };
  }
}

/**
 * Tables alive anywhere in this process, by what they are compiled from (the database's content, the overlays,
 * the key), held weakly: a reload, a database file rewritten with the same content, or another server in the
 * process (tests) takes the table already built, and one no snapshot uses any more is collected.
 */
const alive = new Map<string, WeakRef<DecisionTable>>();
const collected = new FinalizationRegistry<string>((id) => {
  if (alive.get(id)?.deref() === undefined) alive.delete(id);
});
const contentIds = new WeakMap<Uint8Array, string>();

function contentId(db: Uint8Array | null): string {
  if (!db) return 'none';
  let id = contentIds.get(db);
  if (id === undefined) {
    id = createHash('sha256').update(db).digest('hex');
    contentIds.set(db, id);
  }
  return id;
}

/**
 * The decision tables of one database and overlay set, by ordering key: compiled at load for every pool that
 * needs one (prepare), or on first use (explain, tests); a table already alive in the process for the same
 * inputs is taken as it is.
 */
export class GeoTables {
  private readonly byKey = new Map<string, DecisionTable>();
  private readonly inputs: string;

  constructor(
    readonly db: Uint8Array | null,
    private readonly overlays: OverlayInput[],
  ) {
    this.inputs = `${contentId(db)}\n${JSON.stringify(overlays)}\n`;
  }

  /** The table of a pool's ordering key. */
  get(pool: Pool): DecisionTable {
    const t = this.byKey.get(pool.keyText);
    if (t) return t;
    this.prepare([pool]);
    return this.byKey.get(pool.keyText)!;
  }

  /**
   * Compiles the tables of `pools` whose order depends on the client (those not alive already). Throws
   * mmdb-tree.ts's TreeError for a tree that cannot be walked.
   */
  prepare(pools: Iterable<Pool>): void {
    const missing = new Map<string, OrderingKey>();
    for (const p of pools) {
      if (!p.dependsOnClient || this.byKey.has(p.keyText) || missing.has(p.keyText)) continue;
      const old = alive.get(this.inputs + p.keyText)?.deref();
      if (old) this.byKey.set(p.keyText, old);
      else missing.set(p.keyText, p.key);
    }
    if (missing.size === 0) return;
    for (const t of compileTables({ db: this.db, overlays: this.overlays, keys: [...missing.values()] })) {
      this.byKey.set(t.key, t);
      const id = this.inputs + t.key;
      alive.set(id, new WeakRef(t));
      collected.register(t, id);
    }
  }

  /** How many keys have a table, and the bytes of those tables. */
  get stats(): { keys: number; bytes: number } {
    let bytes = 0;
    for (const t of this.byKey.values()) bytes += tableBytes(t);
    return { keys: this.byKey.size, bytes };
  }
}
