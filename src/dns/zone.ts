// A zone prepared for answering (design: "do work at load, not per query"): one node per owner name and
// per empty non-terminal, RRsets grouped with their RDATA in wire form, delegations with their referral
// (NS + glue) ready, additional-section data attached to NS/MX/SRV RRsets, negative answers' SOA ready.
import type { ServerConfig } from '../config/server-config.js';
import type { ZoneSpec } from '../config/zone-file.js';
import { buildPool, type Pool } from '../gslb/pool.js';
import { isSubdomain, parentName } from './name.js';
import { rdataName, soaRdata } from './rdata.js';
import { TYPE, typeCode } from './registry.js';
import { rrset, type RRset } from './rrset.js';

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

export interface ZoneNode {
  name: string;
  /** Static RRsets by type, in a stable order (SOA first at the apex). */
  rrsets: RRsets;
  pool: Pool | null;
  /** A delegation point (NS below the apex). */
  referral: Referral | null;
  /** SOA for NODATA at this name (TTL capped by a pool's ttl). */
  negative: RRset;
}

export interface Zone {
  origin: string;
  serial: number;
  soa: RRset;
  /** SOA for negative answers: TTL = min(SOA TTL, minimum), RFC 2308. */
  negative: RRset;
  nodes: Map<string, ZoneNode>;
  hasCuts: boolean;
  pools: Pool[];
  spec: ZoneSpec;
}

/** Prepares a zone. `spec.names` is consumed (emptied): the prepared nodes replace it. */
export function buildZone(spec: ZoneSpec, serial: number, cfg: ServerConfig): Zone {
  const { origin, soa: s } = spec;
  const soa = rrset(origin, TYPE.SOA, s.ttl, [soaRdata(s.mname, s.rname, serial, s.refresh, s.retry, s.expire, s.minimum)]);
  const negative: RRset = { ...soa, ttl: Math.min(s.ttl, s.minimum) };
  const nodes = new Map<string, ZoneNode>();
  const node = (name: string): ZoneNode => {
    let n = nodes.get(name);
    if (!n) {
      n = { name, rrsets: new RRsets(), pool: null, referral: null, negative };
      nodes.set(name, n);
    }
    return n;
  };
  node(origin).rrsets.set(TYPE.SOA, soa);

  const pools: Pool[] = [];
  // the per-name specs are consumed as they are prepared: a large zone never holds both in full
  for (const [key, n] of spec.names) {
    spec.names.delete(key);
    const zn = node(n.name);
    // empty non-terminals: every ancestor up to the apex exists as a node
    for (let p = parentName(n.name); isSubdomain(p, origin) && p !== origin; p = parentName(p)) node(p);
    for (const [typeName, set] of n.rrsets) {
      const type = typeCode(typeName)!;
      const prepared = rrset(n.name, type, set.ttl, set.records.map((r) => r.rdata));
      if (type === TYPE.CNAME) prepared.target = rdataName(type, prepared.rdata[0]!);
      zn.rrsets.set(type, prepared);
    }
    if (n.pool) {
      zn.pool = buildPool(n.pool, origin, cfg);
      zn.negative = { ...negative, ttl: Math.min(negative.ttl, n.pool.ttl) };
      pools.push(zn.pool);
    }
  }

  for (const p of pools) {
    if (p.spec.allDown.kind === 'fallback') p.fallback = nodes.get(p.spec.allDown.pool)?.pool ?? null;
  }

  const cuts = new Set([...nodes.values()].filter((n) => n.name !== origin && n.rrsets.has(TYPE.NS)).map((n) => n.name));
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
  return { origin, serial, soa, negative, nodes, hasCuts: cuts.size > 0, pools, spec };
}

function dedupe(sets: RRset[]): RRset[] {
  return [...new Set(sets)];
}
