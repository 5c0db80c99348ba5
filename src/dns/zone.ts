// A zone prepared for answering (design: "do work at load, not per query"): one node per owner name and
// per empty non-terminal, RRsets grouped with their RDATA in wire form, delegations with their referral
// (NS + glue) ready, additional-section data attached to NS/MX/SRV RRsets, negative answers' SOA ready.
// The builder takes its own plain input (names, RRsets in wire form, dynamic names already built): it
// knows nothing of zone files or of what a dynamic name is beyond dns/dynamic.ts.
import type { DynamicName } from './dynamic.js';
import { isSubdomain, parentName } from './name.js';
import { rdataName, soaRdata } from './rdata.js';
import { TYPE } from './registry.js';
import { type RRset, rrset } from './rrset.js';

export interface Referral {
  ns: RRset;
  glue: RRset[];
  /** The first `mandatory` glue RRsets are in-domain (below the cut) and must fit (RFC 9471). */
  mandatory: number;
}

/**
 * A node's RRsets by type, in the order written (SOA first at the apex). A node rarely has more than a few
 * types, so a short array beats a Map — in a zone of a million names the Maps alone would cost ~150 MB.
 */
export class RRsets {
  /** One RRset held directly (most names have one type), more in an array. */
  private one: RRset | null = null;
  private more: RRset[] | null = null;

  get(type: number): RRset | undefined {
    if (this.one) return this.one.type === type ? this.one : undefined;
    if (this.more) for (const s of this.more) if (s.type === type) return s;
    return undefined;
  }

  has(type: number): boolean {
    return this.get(type) !== undefined;
  }

  set(type: number, set: RRset): void {
    if (!this.one && !this.more) {
      this.one = set;
      return;
    }
    const list = this.values();
    const i = list.findIndex((s) => s.type === type);
    if (i >= 0) list[i] = set;
    else list.push(set);
    this.more = list;
    this.one = null;
  }

  get size(): number {
    return this.one ? 1 : this.more ? this.more.length : 0;
  }

  values(): RRset[] {
    return this.one ? [this.one] : this.more ? this.more.slice() : [];
  }

  /** The first type written at this name. */
  firstType(): number | undefined {
    return (this.one ?? this.more?.[0])?.type;
  }
}

export interface ZoneNode<D extends DynamicName = DynamicName> {
  name: string;
  /** Static RRsets by type, in a stable order (SOA first at the apex). */
  rrsets: RRsets;
  /** A/AAAA computed per query by the resolver lookup() is given (a GSLB pool), or null. */
  dynamic: D | null;
  /** A delegation point (NS below the apex). */
  referral: Referral | null;
  /** SOA for NODATA at this name (TTL capped by a dynamic name's ttl). */
  negative: RRset;
}

export interface Zone<D extends DynamicName = DynamicName> {
  origin: string;
  serial: number;
  soa: RRset;
  /** SOA for negative answers: TTL = min(SOA TTL, minimum), RFC 2308. */
  negative: RRset;
  nodes: Map<string, ZoneNode<D>>;
  hasCuts: boolean;
}

/** The SOA of a zone as written (the serial is given to the builder apart: it may be computed). */
export interface SoaInput {
  mname: string;
  rname: string;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
  ttl: number;
}

/** One RRset of a name: its type code, TTL and RDATA in wire form (kept as given, not copied). */
export interface RRsetInput {
  type: number;
  ttl: number;
  rdata: Buffer[];
}

/** One owner name: its RRsets in the order written, and its dynamic name if it has one. */
export interface NameInput<D extends DynamicName> {
  name: string;
  rrsets: RRsetInput[];
  dynamic: D | null;
}

export interface ZoneInput<D extends DynamicName> {
  origin: string;
  soa: SoaInput;
  serial: number;
  /**
   * Every owner name, iterated once and prepared as it comes: a generator that hands them out one by one
   * (and drops its own copy of each) keeps a zone of a million names from being held in both forms at once.
   */
  names: Iterable<NameInput<D>>;
}

/**
 * Prepares a zone. `extra` is what the caller keeps with it (dns/ never reads it): it is set on the zone
 * object itself, so whoever lists the served zones finds it there.
 */
export function buildZone<D extends DynamicName, X extends object>(input: ZoneInput<D>, extra: X): Zone<D> & X {
  const steps = buildZoneSteps(input, extra);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Names or nodes prepared between two yields of buildZoneSteps. */
const STEP = 2048;

/**
 * buildZone in steps: it yields every few thousand names (and nodes while linking), so a caller can prepare a
 * big zone in slices and do other work between them (answer queries); the zone is the generator's result.
 */
export function* buildZoneSteps<D extends DynamicName, X extends object>(input: ZoneInput<D>, extra: X): Generator<void, Zone<D> & X> {
  let done = 0;
  const { origin, soa: s, serial } = input;
  const soa = rrset(origin, TYPE.SOA, s.ttl, [soaRdata(s.mname, s.rname, serial, s.refresh, s.retry, s.expire, s.minimum)]);
  const negative: RRset = { ...soa, ttl: Math.min(s.ttl, s.minimum) };
  const nodes = new Map<string, ZoneNode<D>>();
  const node = (name: string): ZoneNode<D> => {
    let n = nodes.get(name);
    if (!n) {
      n = { name, rrsets: new RRsets(), dynamic: null, referral: null, negative };
      nodes.set(name, n);
    }
    return n;
  };
  node(origin).rrsets.set(TYPE.SOA, soa);

  for (const n of input.names) {
    if (++done % STEP === 0) yield;
    const zn = node(n.name);
    // empty non-terminals: every ancestor up to the apex exists as a node
    for (let p = parentName(n.name); isSubdomain(p, origin) && p !== origin; p = parentName(p)) node(p);
    for (const set of n.rrsets) {
      const prepared = rrset(n.name, set.type, set.ttl, set.rdata);
      if (set.type === TYPE.CNAME) prepared.target = rdataName(set.type, prepared.rdata[0]!);
      zn.rrsets.set(set.type, prepared);
    }
    if (n.dynamic) {
      zn.dynamic = n.dynamic;
      zn.negative = { ...negative, ttl: Math.min(negative.ttl, n.dynamic.ttl) };
    }
  }

  const cuts = new Set<string>();
  for (const n of nodes.values()) {
    if (++done % STEP === 0) yield;
    if (n.name !== origin && n.rrsets.has(TYPE.NS)) cuts.add(n.name);
  }
  const belowCut = (name: string): boolean => {
    for (let p = name; p !== origin && isSubdomain(p, origin); p = parentName(p)) if (cuts.has(p) && p !== name) return true;
    return false;
  };
  const addressSets = (target: string, glue: boolean): RRset[] => {
    const t = nodes.get(target);
    if (!t || (!glue && (belowCut(target) || cuts.has(target)))) return [];
    return [t.rrsets.get(TYPE.A), t.rrsets.get(TYPE.AAAA)].filter((x): x is RRset => !!x);
  };
  const targetOf = rdataName;

  for (const zn of nodes.values()) {
    if (++done % STEP === 0) yield;
    for (const set of zn.rrsets.values()) {
      if (set.type !== TYPE.NS && set.type !== TYPE.MX && set.type !== TYPE.SRV) continue;
      const extra = set.rdata.flatMap((rd) => addressSets(targetOf(set.type, rd), false));
      if (extra.length) set.additional = dedupe(extra);
    }
    if (cuts.has(zn.name) && !belowCut(zn.name)) {
      const ns = zn.rrsets.get(TYPE.NS)!;
      const inDomain: RRset[] = [];
      const sibling: RRset[] = [];
      for (const rd of ns.rdata) {
        const target = targetOf(TYPE.NS, rd);
        if (!isSubdomain(target, origin)) continue;
        (isSubdomain(target, zn.name) ? inDomain : sibling).push(...addressSets(target, true));
      }
      const glue = dedupe([...inDomain, ...sibling]);
      zn.referral = { ns, glue, mandatory: dedupe(inDomain).length };
    }
  }
  return { origin, serial, soa, negative, nodes, hasCuts: cuts.size > 0, ...extra };
}

function dedupe(sets: RRset[]): RRset[] {
  return [...new Set(sets)];
}
