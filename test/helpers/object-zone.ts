// THE TEST ORACLE for zone data (the server answers from flat zones: src/dns/flat-zone.ts, built by
// flat-build.ts and flat-link.ts). Before flat zones served, this was how the server prepared a zone; it is kept,
// with object-lookup.ts, as the straightforward form the flat one is compared against byte for byte
// (test/dns/flat-differential.test.ts, the lookup tables of test/helpers/lookup.ts).
//
// A zone prepared for answering (design: "do work at load, not per query"): one node per owner name and
// per empty non-terminal, RRsets grouped with their RDATA in wire form, delegations with their referral
// (NS + glue) ready, additional-section data attached to NS/MX/SRV/SVCB/HTTPS RRsets, negative answers' SOA ready.
// The builder takes its own plain input (names, RRsets in wire form, dynamic names already built): it
// knows nothing of zone files or of what a dynamic name is beyond dns/dynamic.ts.

import type { ServerConfig } from '../../src/config/server-config.js';
import type { ZoneSpec } from '../../src/config/zone-file.js';
import type { DynamicName } from '../../src/dns/dynamic.js';
import { isSubdomain, parentName } from '../../src/dns/name.js';
import { additionalTargets, nameAt, rdataName, soaRdata, TARGET_OWNER } from '../../src/dns/rdata.js';
import { TYPE } from '../../src/dns/registry.js';
import { type RRset, rrset } from '../../src/dns/rrset.js';
import type { ZoneInput } from '../../src/dns/zone-input.js';
import type { Pool } from '../../src/gslb/pool.js';
import { zoneInput } from '../../src/served-zone.js';

export type { NameInput, RRsetInput, SoaInput, ZoneInput } from '../../src/dns/zone-input.js';

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

/**
 * Prepares a zone. `extra` is what the caller keeps with it (dns/ never reads it): it is set on the zone
 * object itself, so whoever lists the served zones finds it there.
 */
export function buildZone<D extends DynamicName, X extends object>(input: ZoneInput<D>, extra: X): Zone<D> & X {
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
  // the name whose addresses a record's answer carries (additionalTargets); a wildcard owner stands for the
  // queried name, which the prepared data cannot know: none
  const additionalOf = (owner: string, type: number, rd: Buffer): RRset[] => {
    const at = additionalTargets(type, rd);
    if (at === TARGET_OWNER) return owner.startsWith('*.') || owner === '*' ? [] : addressSets(owner, false);
    return at < 0 ? [] : addressSets(nameAt(rd, at), false);
  };

  for (const zn of nodes.values()) {
    for (const set of zn.rrsets.values()) {
      const extra = set.rdata.flatMap((rd) => additionalOf(zn.name, set.type, rd));
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

/** A zone file's zone as the object oracle (the server's ServedZone, in object form). `spec.names` is consumed. */
export type ObjectZone = Zone<Pool> & { pools: Pool[]; spec: ZoneSpec };

export function prepareObjectZone(spec: ZoneSpec, serial: number, cfg: ServerConfig): ObjectZone {
  const { input, pools } = zoneInput(spec, serial, cfg);
  return buildZone(input, { pools, spec });
}
