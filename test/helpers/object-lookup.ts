// THE TEST ORACLE for lookups (the server answers with src/dns/flat-lookup.ts over flat zones): the RFC 1034
// lookup over the object zones of object-zone.ts, kept as the straightforward reading of the rules that the
// flat lookup is compared against (test/dns/flat-differential.test.ts, test/dns/differential.test.ts, the
// lookup tables of test/helpers/lookup.ts).
//
// The authoritative lookup of RFC 1034 §4.3.2 over prepared zones: deepest zone, zone cuts and
// referrals, exact matches, empty non-terminals, wildcards (RFC 4592), CNAME chasing inside the zone,
// negative answers with the SOA (RFC 2308), minimal ANY (RFC 8482), dynamic names for A/AAAA (answered by
// the resolver the caller passes: dns/dynamic.ts). Synchronous: (zones, name, type, client, resolver) → Answer.
import { MAX_CNAME_CHAIN } from '../../src/dns/constants.js';
import type { DynamicName, QueryClient, ResolveDynamic } from '../../src/dns/dynamic.js';
import { parentName } from '../../src/dns/name.js';
import { RCODE, TYPE } from '../../src/dns/registry.js';
import { type Answer, emptyAnswer, type RRset, rrset, withOwner } from '../../src/dns/rrset.js';
import type { Zone, ZoneNode } from './object-zone.js';

export interface ZoneTable<D extends DynamicName = DynamicName> {
  zones: ReadonlyMap<string, Zone<D>>;
}

/**
 * The deepest hosted zone containing `name`. DS at a hosted child's apex belongs to the parent side of the
 * cut (RFC 4035 §3.1.4.1): the nearest hosted parent answers it when that parent delegates exactly there;
 * without such a cut the parent is not the child's parent side, and the child answers (NODATA at its apex).
 */
export function findZone<D extends DynamicName>(table: ZoneTable<D>, name: string, qtype: number): Zone<D> | null {
  let n = name;
  for (;;) {
    const z = table.zones.get(n);
    if (z) {
      if (qtype !== TYPE.DS || n !== name || n === '') return z;
      const parent = findZone(table, parentName(n), 0);
      return parent && findCut(parent, name)?.name === name ? parent : z;
    }
    if (n === '') return null;
    n = parentName(n);
  }
}

/**
 * Answers (name, type) from the zones; REFUSED outside every zone. A/AAAA at a dynamic name is answered by
 * `resolveDynamic`, called with `client` as given.
 */
export function lookup<D extends DynamicName>(
  table: ZoneTable<D>,
  qname: string,
  qtype: number,
  client: QueryClient,
  resolveDynamic: ResolveDynamic<D>,
): Answer {
  const zone = findZone(table, qname, qtype);
  if (!zone) return emptyAnswer(RCODE.REFUSED, null);
  const s = new Search(table, zone, client, resolveDynamic);
  resolve(s, qname, qtype);
  return s.ans;
}

/** One lookup: what stays the same along a CNAME chain (which never leaves its zone), and the chain so far. */
class Search<D extends DynamicName> {
  readonly ans: Answer;
  /** CNAMEs followed so far. */
  depth = 0;
  /** Names of the chain, from its first CNAME on (a name met again is a loop: it ends the chain). */
  seen: Set<string> | null = null;

  constructor(
    readonly table: ZoneTable<D>,
    readonly zone: Zone<D>,
    readonly client: QueryClient,
    readonly resolveDynamic: ResolveDynamic<D>,
  ) {
    this.ans = emptyAnswer(RCODE.NOERROR, zone.origin, true);
  }
}

/** The first zone cut at or above `name` (below the apex), searching from the apex down. */
function findCut<D extends DynamicName>(zone: Zone<D>, name: string): ZoneNode<D> | null {
  if (!zone.hasCuts || name === zone.origin) return null;
  // labels of `name` below the origin, from the apex downwards
  const stop = zone.origin === '' ? name.length : name.length - zone.origin.length - 1;
  let i = stop;
  for (;;) {
    const start = name.lastIndexOf('.', i - 1) + 1;
    const candidate = name.slice(start);
    const node = zone.nodes.get(candidate);
    if (!node) return null; // nothing exists below a missing name: no cut further down
    if (node.referral) return node;
    if (start === 0) return null;
    i = start - 1;
  }
}

function resolve<D extends DynamicName>(s: Search<D>, qname: string, qtype: number): void {
  const { zone, ans } = s;
  const cut = findCut(zone, qname);
  if (cut && !(cut.name === qname && qtype === TYPE.DS)) {
    referral(cut, ans);
    return;
  }
  let node = zone.nodes.get(qname);
  if (!node) {
    const wildcard = closestWildcard(zone, qname);
    if (!wildcard) {
      ans.rcode = RCODE.NXDOMAIN;
      ans.authority.push(zone.negative);
      return;
    }
    node = wildcard;
    ans.wildcard ??= wildcard.name;
  }
  answerAt(s, node, qname, qtype);
}

/** RFC 4592: the source of synthesis `*.<closest encloser>`, if it exists. */
function closestWildcard<D extends DynamicName>(zone: Zone<D>, qname: string): ZoneNode<D> | null {
  let n = qname;
  while (n !== zone.origin) {
    const dot = n.indexOf('.');
    n = dot < 0 ? '' : n.slice(dot + 1);
    if (zone.nodes.has(n)) return zone.nodes.get(n === '' ? '*' : `*.${n}`) ?? null;
  }
  return null;
}

const ANY_PREFERENCE = [TYPE.A, TYPE.AAAA, TYPE.MX, TYPE.TXT];

function answerAt<D extends DynamicName>(s: Search<D>, node: ZoneNode<D>, owner: string, qtype: number): void {
  const ans = s.ans;
  const cname = node.rrsets.get(TYPE.CNAME);
  if (cname && qtype !== TYPE.CNAME) {
    ans.answer.push(withOwner(cname, owner));
    if (qtype !== TYPE.ANY) chase(s, cname, owner, qtype); // ANY: the CNAME alone
    return;
  }
  let type = qtype;
  if (qtype === TYPE.ANY) {
    // RFC 8482: one RRset — the first present of A, AAAA, MX, TXT, else the first other one
    const present = (t: number) =>
      node.rrsets.has(t) || (!!node.dynamic && (t === TYPE.A ? node.dynamic.has4 : t === TYPE.AAAA && node.dynamic.has6));
    type = ANY_PREFERENCE.find(present) ?? node.rrsets.firstType() ?? TYPE.ANY;
  }
  if (node.dynamic && (type === TYPE.A || type === TYPE.AAAA)) {
    const d = s.resolveDynamic(node.dynamic, type === TYPE.A ? 4 : 6, s.client);
    ans.ecsScope = Math.max(ans.ecsScope, d.scope);
    if (d.kind === 'answer') {
      ans.answer.push(rrset(owner, type, d.ttl, d.rdata, false)); // already in the resolver's order
      return;
    }
    if (d.kind === 'servfail') {
      ans.rcode = RCODE.SERVFAIL;
      ans.answer.length = 0;
      return;
    }
    // NODATA at a dynamic name: the negative TTL is at most the resolver's (a pool's is halved when degraded)
    ans.authority.push(d.ttl < node.negative.ttl ? { ...node.negative, ttl: d.ttl } : node.negative);
    return;
  }
  const set = node.rrsets.get(type);
  if (!set) {
    ans.authority.push(node.negative);
    return;
  }
  ans.answer.push(withOwner(set, owner));
  if (set.additional) ans.additional.push(...set.additional);
}

function chase<D extends DynamicName>(s: Search<D>, cname: RRset, owner: string, qtype: number): void {
  const target = cname.target!;
  if (!inZone(s.table, s.zone, target) || s.depth + 1 >= MAX_CNAME_CHAIN) return;
  s.seen ??= new Set([owner]);
  if (s.seen.has(target)) return; // loop: the chain so far is the answer
  s.seen.add(target);
  s.depth++;
  resolve(s, target, qtype);
}

/**
 * Whether a CNAME of `zone` is followed to `target`: a name of the zone, or one below a cut of the zone (the
 * chase ends in the referral). A name of another zone hosted here — below this one's apex, but not delegated
 * by it — is not: its own zone answers for it when the resolver asks.
 */
function inZone<D extends DynamicName>(table: ZoneTable<D>, zone: Zone<D>, target: string): boolean {
  if (zone.origin !== '' && target !== zone.origin && !target.endsWith(`.${zone.origin}`)) return false;
  return findZone(table, target, 0) === zone || findCut(zone, target) !== null;
}

function referral(cut: ZoneNode, ans: Answer): void {
  const r = cut.referral!;
  // AA stays set when a CNAME we own led here (RFC 1034: AA describes the first owner name)
  if (ans.answer.length === 0) ans.aa = false;
  ans.cut = cut.name;
  ans.authority.push(r.ns);
  ans.additional.push(...r.glue);
  ans.mandatoryAdditional = r.mandatory;
}
