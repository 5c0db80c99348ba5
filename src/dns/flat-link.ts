// The last step of building a flat zone (dns/flat-build.ts): the RRsets grouped by node and packed with the
// nodes into records, then what depends on the whole zone — flags, the topmost cut above each node and its
// referral with its glue (in-domain first and mandatory, then sibling, RFC 9471; none for name servers
// outside the zone), wildcard children, and the additional data of NS, MX, SRV, SVCB and HTTPS RRsets
// (addresses of the targets additionalTargets reads in the zone, not at or below a cut, not pools) — and
// everything copied into one ArrayBuffer.
import type { DynamicName } from './dynamic.js';
import type { Builder } from './flat-build.js';
import {
  DYN,
  type FlatArrays,
  type FlatZoneData,
  findSet,
  N_CUT,
  N_DYN,
  N_FLAGS,
  N_NAME,
  N_PARENT,
  N_SETS,
  N_SETS_END,
  N_WILD,
  NODE,
  NODE_APEX,
  NODE_DELEGATION,
  NODE_NONAUTH,
  NODE_WILDCARD,
  packArrays,
  R_GLUE,
  R_GLUE_END,
  R_MANDATORY,
  R_NODE,
  R_NS,
  REF,
  S_ADDS,
  S_ADDS_END,
  S_COUNT,
  S_DATA,
  S_FLAGS,
  S_NODE,
  S_TTL,
  S_TYPE,
  SET,
  SET_ROTATE,
} from './flat-zone.js';
import { additionalTargets, TARGET_NONE, TARGET_OWNER } from './rdata.js';
import { TYPE } from './registry.js';

/**
 * The types whose records name a target for additional data, asked of additionalTargets itself (RDATA of
 * eight octets of 1: a name at any offset it reads one from), so the list is that function's alone. The RDATA
 * of other types is never looked at.
 */
const PROBE_RDATA = new Uint8Array(8).fill(1);
const TARGET_TYPES = new Uint8Array(65536).map((_, t) => (additionalTargets(t, PROBE_RDATA) === TARGET_NONE ? 0 : 1));

/** The flat zone of what `b` holds once every name is in. */
export function linkZone<D extends DynamicName>(b: Builder<D>, origin: string, serial: number, negativeTtl: number): FlatZoneData<D> {
  const count = b.nodeParent.length;
  const built = b.setNode.length;
  // ---- RRsets grouped by node, in the order given; a type given again at a node takes the first one's place
  const first = new Uint32Array(count + 1);
  const setNode = b.setNode.a;
  const setType = b.setType.a;
  for (let i = 0; i < built; i++) first[setNode[i]! + 1]!++;
  for (let i = 0; i < count; i++) first[i + 1]! += first[i]!;
  const slot = first.slice(0, count);
  const grouped = new Uint32Array(built);
  for (let i = 0; i < built; i++) grouped[slot[setNode[i]!]!++] = i;
  const order = new Uint32Array(built);
  let total = 0;
  const nodes = new Int32Array(count * NODE);
  const names = b.names.a;
  for (let n = 0; n < count; n++) {
    const start = total;
    for (let k = first[n]!; k < first[n + 1]!; k++) {
      const i = grouped[k]!;
      let j = start;
      while (j < total && setType[order[j]!] !== setType[i]) j++;
      if (j < total) order[j] = i;
      else order[total++] = i;
    }
    const r = n * NODE;
    const at = b.nodeName.a[n]!;
    nodes[r + N_NAME] = at;
    nodes[r + N_PARENT] = b.nodeParent.a[n]!;
    nodes[r + N_CUT] = nodes[r + N_WILD] = -1;
    nodes[r + N_DYN] = b.nodeDyn.a[n]!;
    nodes[r + N_SETS] = start;
    nodes[r + N_SETS_END] = total;
    nodes[r + N_FLAGS] = (b.nodeName.a[n + 1]! - at) << 8;
    if (names[at] === 1 && names[at + 1] === 0x2a) nodes[r + N_FLAGS]! |= NODE_WILDCARD;
  }
  const sets = new Uint32Array(total * SET);
  for (let s = 0; s < total; s++) {
    const i = order[s]!;
    const r = s * SET;
    const type = setType[i]!;
    sets[r + S_TYPE] = type;
    sets[r + S_TTL] = b.setTtl.a[i]!;
    sets[r + S_NODE] = setNode[i]!;
    sets[r + S_DATA] = b.setData.a[i]!;
    sets[r + S_COUNT] = b.setCount.a[i]!;
    sets[r + S_FLAGS] = type === TYPE.A || type === TYPE.AAAA ? SET_ROTATE : 0;
  }
  const dyns = new Uint32Array(b.dynamic.length * DYN);
  for (let d = 0; d < b.dynamic.length; d++) {
    dyns[d * DYN] = b.dynNegTtl[d]!;
    dyns[d * DYN + 1] = b.dynFlags[d]!;
  }
  const a: FlatArrays = {
    names: b.names.done(),
    table: b.table,
    nodes,
    sets,
    adds: new Int32Array(0),
    rdata: b.rdata.done(),
    refs: new Int32Array(0),
    glue: new Int32Array(0),
    dyns,
  };
  linkNodes(a);
  additionalData(b, a);
  return { origin, serial, negativeTtl, dynamic: b.dynamic, ...packArrays(a) };
}

/** Flags, the topmost cut at or above each node (and its referral), wildcard children. Parents come first. */
function linkNodes(a: FlatArrays): void {
  const { nodes, sets } = a;
  const refs: number[] = [];
  for (let i = 0; i < nodes.length / NODE; i++) {
    const r = i * NODE;
    const p = nodes[r + N_PARENT]!;
    let f = i === 0 ? NODE_APEX : 0;
    if (i !== 0 && findSet(nodes, sets, i, TYPE.NS) >= 0) f |= NODE_DELEGATION;
    // below a cut: a proper ancestor below the apex is a cut (the apex's NS is no cut)
    if (p > 0 && (nodes[p * NODE + N_FLAGS]! & (NODE_DELEGATION | NODE_NONAUTH)) !== 0) f |= NODE_NONAUTH;
    if ((nodes[r + N_FLAGS]! & NODE_WILDCARD) !== 0 && p >= 0) nodes[p * NODE + N_WILD] = i;
    nodes[r + N_FLAGS]! |= f;
    nodes[r + N_CUT] = p >= 0 ? nodes[p * NODE + N_CUT]! : -1;
    if ((f & (NODE_DELEGATION | NODE_NONAUTH)) === NODE_DELEGATION) {
      nodes[r + N_CUT] = refs.length / REF;
      refs.push(i, findSet(nodes, sets, i, TYPE.NS), 0, 0, 0);
    }
  }
  a.refs = Int32Array.from(refs);
}

/** The addresses (A, then AAAA, static only) at a node. */
function addressSets(a: FlatArrays, node: number, out: number[]): void {
  for (const t of [TYPE.A, TYPE.AAAA]) {
    const s = findSet(a.nodes, a.sets, node, t);
    if (s >= 0 && !out.includes(s)) out.push(s);
  }
}

/** Additional data of NS, MX, SRV, SVCB and HTTPS RRsets, and the glue of each referral. */
function additionalData<D extends DynamicName>(b: Builder<D>, a: FlatArrays): void {
  const { nodes, sets, refs } = a;
  const adds: number[] = [];
  const list: number[] = [];
  const authoritative = (t: number) => (nodes[t * NODE + N_FLAGS]! & (NODE_DELEGATION | NODE_NONAUTH)) === 0;
  for (let s = 0; s < sets.length / SET; s++) {
    const r = s * SET;
    sets[r + S_ADDS] = sets[r + S_ADDS_END] = adds.length;
    const type = sets[r + S_TYPE]!;
    if (TARGET_TYPES[type] === 0) continue;
    const owner = sets[r + S_NODE]!;
    list.length = 0;
    eachRecord(a, s, (at, end) => {
      const target = additionalTargets(type, a.rdata.subarray(at, end));
      if (target === TARGET_OWNER) {
        // SVCB/HTTPS ServiceMode "." (RFC 9460 §2.5.2): the owner's own addresses; a wildcard's owner is the
        // name asked, which the zone cannot know: none
        if ((nodes[owner * NODE + N_FLAGS]! & NODE_WILDCARD) === 0 && authoritative(owner)) addressSets(a, owner, list);
        return;
      }
      if (target < 0) return;
      b.readWire(a.rdata, at + target, end);
      const t = b.findSuffix(0);
      if (t >= 0 && authoritative(t)) addressSets(a, t, list);
    });
    adds.push(...list);
    sets[r + S_ADDS_END] = adds.length;
  }
  a.adds = Int32Array.from(adds);

  const glue: number[] = [];
  const inDomain: number[] = [];
  const sibling: number[] = [];
  for (let r = 0; r < refs.length; r += REF) {
    const cutAt = nodes[refs[r + R_NODE]! * NODE + N_NAME]!;
    const cutLabels = labelCount(a.names, cutAt);
    inDomain.length = sibling.length = 0;
    eachRecord(a, refs[r + R_NS]!, (at, end) => {
      b.readWire(a.rdata, at, end);
      if (!b.endsWith(0, b.originLabels)) return; // outside the zone: no glue
      const t = b.findSuffix(0);
      if (t >= 0) addressSets(a, t, b.endsWith(cutAt, cutLabels) ? inDomain : sibling);
    });
    refs[r + R_GLUE] = glue.length;
    refs[r + R_MANDATORY] = inDomain.length;
    glue.push(...inDomain);
    for (const g of sibling) if (!inDomain.includes(g)) glue.push(g);
    refs[r + R_GLUE_END] = glue.length;
  }
  a.glue = Int32Array.from(glue);
}

/** Calls `fn(start, end)` with the RDATA of each record of RRset `s`. */
function eachRecord(a: FlatArrays, s: number, fn: (at: number, end: number) => void): void {
  let at = a.sets[s * SET + S_DATA]!;
  for (let k = 0; k < a.sets[s * SET + S_COUNT]!; k++) {
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
