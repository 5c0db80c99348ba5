// The authoritative lookup of RFC 1034 §4.3.2 over flat zones (dns/flat-zone.ts), the one the server answers
// with (docs/dns-behaviour.md#lookup; test/helpers/object-lookup.ts is its oracle in the tests): deepest zone,
// zone cuts and referrals with glue (DS at a cut answered by the parent side), exact matches, empty non-terminals, wildcards (RFC 4592), CNAME chasing inside the zone (at most 16, loops
// end the chain; a hosted child zone the zone does not delegate to is not entered), negative answers with the
// SOA (RFC 2308), minimal ANY (RFC 8482), dynamic names answered by the resolver passed in.
// A name is read once into wire form with the hash of each of its suffixes; each zone is then probed suffix
// by suffix, deepest first, so an existing name costs one probe. Nothing is allocated: the answer is written
// into the FlatAnswer the caller passes (and keeps).
import { MAX_CNAME_CHAIN } from './constants.js';
import type { DynamicName, QueryClient, ResolveDynamic } from './dynamic.js';
import { ANSWER_MAX, type FlatAnswer, OWNER_QUESTION } from './flat-answer.js';
import {
  DYN,
  DYN_HAS4,
  DYN_HAS6,
  type FlatZone,
  type FlatZones,
  mixLabel,
  N_CUT,
  N_DYN,
  N_SETS,
  N_SETS_END,
  N_WILD,
  NODE,
  R_GLUE,
  R_GLUE_END,
  R_MANDATORY,
  R_NODE,
  R_NS,
  REF,
  ROOT_HASH,
  S_ADDS,
  S_ADDS_END,
  S_DATA,
  S_TTL,
  S_TYPE,
  SET,
} from './flat-zone.js';
import { RCODE, TYPE } from './registry.js';

const LOWER = new Uint8Array(256).map((_, c) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c));

// The name being looked up: wire form, where each label starts (LABEL[labels]: the root octet), the hash of
// the suffix from each label. Answering is synchronous: one name at a time.
let NAME = Buffer.alloc(2048);
let LABEL = new Int32Array(1024);
let HASH = new Int32Array(1024);
let labels = 0;
/** The name's closest encloser in the zone (the name itself when `exact`), set by encloser(). */
let exact = false;

/** Reads the name asked (internal form) into NAME: each character one octet, as the object lookup compares them. */
function readQname(qname: string): void {
  const length = qname.length;
  if (length + 2 > NAME.length || length + 2 > LABEL.length) {
    NAME = Buffer.alloc(2 * length + 2);
    LABEL = new Int32Array(length + 2);
    HASH = new Int32Array(length + 2);
  }
  if (length === 0) {
    hashName(0, 0);
    return;
  }
  // one pass: the characters after a length octet, each dot closing a label (its length written back)
  let n = 0;
  let at = 0;
  let p = 1;
  for (let i = 0; i <= length; i++) {
    const c = i === length ? 0x2e : qname.charCodeAt(i);
    if (c !== 0x2e) {
      NAME[p++] = Math.min(c, 0xff);
      continue;
    }
    let len = p - at - 1;
    if (len > 63) {
      // no zone has such a label: a one-octet label no zone name can hold stands for it
      NAME[at + 1] = 0xff;
      len = 1;
      p = at + 2;
    }
    NAME[at] = len;
    LABEL[n++] = at;
    at = p++;
  }
  hashName(n, at);
}

/** Reads a CNAME's target (wire form at `at` of `src`) into NAME, lower-cased (as rdataName reads it). */
function readTarget(src: Uint8Array, at: number, end: number): void {
  let n = 0;
  let p = 0;
  for (let o = at; o < end && src[o] !== 0 && n < 128; ) {
    const len = Math.min(src[o]!, end - o - 1, 63);
    LABEL[n++] = p;
    NAME[p++] = len;
    for (let j = 1; j <= len; j++) NAME[p++] = LOWER[src[o + j]!]!;
    o += len + 1;
  }
  hashName(n, p);
}

function hashName(n: number, p: number): void {
  LABEL[n] = p;
  NAME[p] = 0;
  labels = n;
  let h = ROOT_HASH;
  HASH[n] = h;
  for (let i = n - 1; i >= 0; i--) HASH[i] = h = mixLabel(h, NAME, LABEL[i]!);
}

/** Octets of NAME's suffix from label `i`. */
const suffixLength = (i: number) => LABEL[labels]! + 1 - LABEL[i]!;

/** The deepest zone holding NAME's suffix from label `from` on, or null (only suffixes as long as an origin are tried). */
function deepestZone<D extends DynamicName>(table: FlatZones<D>, from: number): FlatZone<D> | null {
  const depths = table.depths;
  for (let i = from; i <= labels; i++) {
    if (labels - i >= depths.length || depths[labels - i] === 0) continue;
    const z = table.find(HASH[i]!, NAME, LABEL[i]!, suffixLength(i));
    if (z !== null) return z;
  }
  return null;
}

/**
 * The zone answering for NAME. DS at a hosted child's apex belongs to the parent side of the cut (RFC 4035
 * §3.1.4.1): the nearest hosted parent answers it when that parent delegates exactly there.
 */
function findZone<D extends DynamicName>(table: FlatZones<D>, qtype: number): FlatZone<D> | null {
  const z = deepestZone(table, 0);
  if (z === null || qtype !== TYPE.DS || labels === 0 || z.originLabels !== labels) return z;
  const parent = deepestZone(table, 1);
  if (parent === null) return z;
  const node = parent.find(HASH[0]!, NAME, LABEL[0]!, suffixLength(0));
  const r = node >= 0 ? parent.nodes[node * NODE + N_CUT]! : -1;
  return r >= 0 && parent.refs[r * REF + R_NODE] === node ? parent : z;
}

/** NAME's closest encloser in `zone` (NAME inside it): the deepest of its suffixes that is a node. Sets `exact`. */
function encloser(zone: FlatZone): number {
  const apex = labels - zone.originLabels;
  for (let i = 0; i < apex; i++) {
    const node = zone.find(HASH[i]!, NAME, LABEL[i]!, suffixLength(i));
    if (node >= 0) {
      exact = i === 0;
      return node;
    }
  }
  exact = apex === 0;
  return 0;
}

/**
 * Answers (name, type) from the zones into `ans` (and returns it): REFUSED outside every zone. A/AAAA at a
 * dynamic name is answered by `resolveDynamic`, called with `client` as given.
 */
export function lookupFlat<D extends DynamicName>(
  table: FlatZones<D>,
  qname: string,
  qtype: number,
  client: QueryClient,
  resolveDynamic: ResolveDynamic<D>,
  ans: FlatAnswer<D>,
): FlatAnswer<D> {
  ans.reset(qname);
  readQname(qname);
  const zone = findZone(table, qtype);
  if (zone === null) {
    ans.rcode = RCODE.REFUSED;
    return ans;
  }
  ans.zone = zone;
  ans.aa = true;
  let owner = OWNER_QUESTION;
  for (let depth = 0; ; depth++) {
    const cname = step(ans, zone, owner, qtype, client, resolveDynamic);
    if (cname < 0) return ans;
    // chase the CNAME (ANY and QTYPE CNAME never get here); the chain starts with the name asked
    if (depth === 0) keepName(ans);
    const at = zone.sets[cname * SET + S_DATA]!;
    readTarget(zone.rdata, at + 2, at + 2 + zone.rdata.readUInt16BE(at));
    if (!inZone(table, zone) || depth + 1 >= MAX_CNAME_CHAIN || seen(ans)) return ans;
    owner = keepName(ans);
  }
}

/** Whether a CNAME of `zone` is followed to NAME: a name of the zone, or one below a cut of the zone. */
function inZone<D extends DynamicName>(table: FlatZones<D>, zone: FlatZone<D>): boolean {
  const k = zone.originLabels;
  if (k > labels) return false;
  const from = LABEL[labels - k]!;
  for (let i = 0, len = suffixLength(labels - k); i < len; i++) if (NAME[from + i] !== zone.names[i]) return false;
  return deepestZone(table, 0) === zone || zone.nodes[encloser(zone) * NODE + N_CUT]! >= 0;
}

/** Whether NAME is already in the chain (a loop: the chain so far is the answer). */
function seen(ans: FlatAnswer): boolean {
  const len = suffixLength(0);
  for (let c = 0; c < ans.chainLength; c++) {
    const from = ans.chainAt[c]!;
    if (ans.chainAt[c + 1]! - from !== len) continue;
    let i = 0;
    while (i < len && ans.names[from + i] === NAME[i]) i++;
    if (i === len) return true;
  }
  return false;
}

/** Copies NAME into the answer's chain; returns where it lies there. */
function keepName(ans: FlatAnswer): number {
  const len = suffixLength(0);
  const at = ans.namesEnd;
  if (at + len > ans.names.length) {
    const bigger = Buffer.alloc(2 * (at + len));
    ans.names.copy(bigger, 0, 0, at);
    ans.names = bigger;
  }
  const names = ans.names;
  for (let i = 0; i < len; i++) names[at + i] = NAME[i]!; // Buffer#copy of a range makes a view object
  ans.chainAt[ans.chainLength++] = at;
  ans.chainAt[ans.chainLength] = ans.namesEnd = at + len;
  return at;
}

/** One name of the chain (NAME, owner `owner`); returns the CNAME RRset to follow next, or -1 when done. */
function step<D extends DynamicName>(
  ans: FlatAnswer<D>,
  zone: FlatZone<D>,
  owner: number,
  qtype: number,
  client: QueryClient,
  resolveDynamic: ResolveDynamic<D>,
): number {
  let node = encloser(zone);
  const cut = zone.nodes[node * NODE + N_CUT]!;
  const refs = zone.refs;
  const r = cut * REF;
  if (cut >= 0 && !(exact && refs[r + R_NODE] === node && qtype === TYPE.DS)) {
    // a referral: AA stays set when a CNAME we own led here (RFC 1034: AA describes the first owner name)
    if (ans.answerCount === 0) ans.aa = false;
    ans.cutNode = refs[r + R_NODE]!;
    const ns = refs[r + R_NS]!;
    authority(ans, ns, zone.sets[ns * SET + S_TTL]!);
    ans.additional = zone.glue;
    ans.additionalStart = refs[r + R_GLUE]!;
    ans.additionalEnd = refs[r + R_GLUE_END]!;
    ans.mandatoryAdditional = refs[r + R_MANDATORY]!;
    return -1;
  }
  if (!exact) {
    // RFC 4592: the source of synthesis `*.<closest encloser>`, if it exists
    const w = zone.nodes[node * NODE + N_WILD]!;
    if (w < 0) {
      ans.rcode = RCODE.NXDOMAIN;
      authority(ans, soaOf(zone), zone.negativeTtl);
      return -1;
    }
    node = w;
    if (ans.wildcardNode < 0) ans.wildcardNode = w;
  }
  return answerAt(ans, zone, node, owner, qtype, client, resolveDynamic);
}

const soaOf = (zone: FlatZone) => zone.nodes[N_SETS]!;

function authority(ans: FlatAnswer, set: number, ttl: number): void {
  ans.authoritySet = set;
  ans.authorityTtl = ttl;
}

function answerAt<D extends DynamicName>(
  ans: FlatAnswer<D>,
  zone: FlatZone<D>,
  node: number,
  owner: number,
  qtype: number,
  client: QueryClient,
  resolveDynamic: ResolveDynamic<D>,
): number {
  const cname = zone.setOf(node, TYPE.CNAME);
  if (cname >= 0 && qtype !== TYPE.CNAME) {
    push(ans, cname, owner);
    return qtype === TYPE.ANY ? -1 : cname; // ANY: the CNAME alone
  }
  const dyn = zone.nodes[node * NODE + N_DYN]!;
  let type = qtype;
  if (qtype === TYPE.ANY) type = anyType(zone, node, dyn);
  if (dyn >= 0 && (type === TYPE.A || type === TYPE.AAAA)) {
    const d = resolveDynamic(zone.dynamic[dyn]!, type === TYPE.A ? 4 : 6, client);
    if (d.scope > ans.ecsScope) ans.ecsScope = d.scope;
    if (d.kind === 'answer') {
      const i = push(ans, -1, owner); // already in the resolver's order
      ans.answerType[i] = type;
      ans.answerTtl[i] = d.ttl;
      ans.answerData[i] = d.rdata;
    } else if (d.kind === 'servfail') {
      ans.rcode = RCODE.SERVFAIL;
      for (let i = 0; i < ans.answerCount; i++) ans.answerData[i] = null;
      ans.answerCount = 0;
    } else {
      // NODATA at a dynamic name: the negative TTL is at most the resolver's (a pool's is halved when degraded)
      const negative = zone.dyns[dyn * DYN]!;
      authority(ans, soaOf(zone), Math.min(d.ttl, negative));
    }
    return -1;
  }
  const set = zone.setOf(node, type);
  if (set < 0) {
    authority(ans, soaOf(zone), dyn >= 0 ? zone.dyns[dyn * DYN]! : zone.negativeTtl);
    return -1;
  }
  push(ans, set, owner);
  ans.additional = zone.adds;
  ans.additionalStart = zone.sets[set * SET + S_ADDS]!;
  ans.additionalEnd = zone.sets[set * SET + S_ADDS_END]!;
  return -1;
}

/** RFC 8482: the type ANY answers — the first present of A, AAAA, MX, TXT, else the first written, else none. */
function anyType(zone: FlatZone, node: number, dyn: number): number {
  const f = dyn >= 0 ? zone.dyns[dyn * DYN + 1]! : 0;
  if ((f & DYN_HAS4) !== 0 || zone.setOf(node, TYPE.A) >= 0) return TYPE.A;
  if ((f & DYN_HAS6) !== 0 || zone.setOf(node, TYPE.AAAA) >= 0) return TYPE.AAAA;
  if (zone.setOf(node, TYPE.MX) >= 0) return TYPE.MX;
  if (zone.setOf(node, TYPE.TXT) >= 0) return TYPE.TXT;
  const first = zone.nodes[node * NODE + N_SETS]!;
  return first < zone.nodes[node * NODE + N_SETS_END]! ? zone.sets[first * SET + S_TYPE]! : TYPE.ANY;
}

function push(ans: FlatAnswer, set: number, owner: number): number {
  const i = ans.answerCount++;
  if (i >= ANSWER_MAX) throw new Error('answer section overflow');
  ans.answerSet[i] = set;
  ans.answerOwner[i] = owner;
  return i;
}
