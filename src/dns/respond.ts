// The lookup stage of the answer path: the checks that answer without the zones (NOTIMP, FORMERR,
// BADVERS, a refused class or transfer), the CHAOS identity names, then lookupFlat() over the flat zones
// into the exchange's own FlatAnswer. Synchronous and allocation-light; what it finds goes into the exchange
// for the write stage.
import type { DynamicName, ResolveDynamic } from './dynamic.js';
import type { Exchange } from './exchange.js';
import type { FlatAnswer } from './flat-answer.js';
import { lookupFlat } from './flat-lookup.js';
import type { FlatZones } from './flat-zone.js';
import { isBadQtype, type Query } from './query.js';
import { CLASS, RCODE, TYPE } from './registry.js';
import { type Answer, emptyAnswer, rrset } from './rrset.js';
import type { RotationCounters } from './writer.js';

/** What the server says about itself: the NSID option (RFC 5001) and the CHAOS identity names. */
export interface ServerIdentity {
  nsid: Buffer | null;
  version: string | null;
}

/** What the lookup stage answers from: the served zones in the flat layout (the application's snapshot). */
export interface ServedTable<D extends DynamicName> {
  readonly flat: FlatZones<D>;
}

/** How answers are computed beyond the zone data: dynamic names, and the round-robin of address RRsets. */
export interface ResponderHooks<D extends DynamicName> {
  resolveDynamic: ResolveDynamic<D>;
  rotation: RotationCounters;
}

/** Sets `ex.rcode`, `ex.answer` and `ex.zone` for the parsed query `ex.query`. */
export function respond<D extends DynamicName>(
  ex: Exchange,
  table: ServedTable<D>,
  identity: ServerIdentity,
  dynamic: ResolveDynamic<D>,
): void {
  const q = ex.query!;
  let rcode: number = RCODE.NOERROR;
  let ans: Answer | FlatAnswer | null = null;
  if (q.opcode !== 0) rcode = RCODE.NOTIMP;
  else if (q.formerr) rcode = RCODE.FORMERR;
  else if (q.edns !== null && q.edns.version > 0) rcode = RCODE.BADVERS;
  else {
    ans = answerQuestion(ex, q, table, identity, dynamic);
    rcode = ans.rcode;
  }
  ex.rcode = rcode;
  ex.answer = ans;
  ex.zone = ans === null ? null : ans === ex.flat ? ex.flat.origin : (ans as Answer).zone;
}

function answerQuestion<D extends DynamicName>(
  ex: Exchange,
  q: Query,
  table: ServedTable<D>,
  identity: ServerIdentity,
  dynamic: ResolveDynamic<D>,
): Answer | FlatAnswer {
  const { name, qtype, qclass } = q.question!;
  if (isBadQtype(qtype)) return emptyAnswer(RCODE.FORMERR, null);
  if (qclass === CLASS.CH) return chaos(name, qtype, identity);
  if (qclass !== CLASS.IN) return emptyAnswer(RCODE.REFUSED, null);
  if (qtype === TYPE.AXFR || qtype === TYPE.IXFR) return emptyAnswer(RCODE.REFUSED, null); // no zone transfers
  // the client: the packet's source and the query's Client Subnet (a new object: pools memoize its place)
  const client = { address: ex.address, ecs: q.edns !== null ? q.edns.ecs : null };
  return lookupFlat(table.flat, name, qtype, client, dynamic, ex.flat as FlatAnswer<D>);
}

/** CHAOS TXT id.server / hostname.bind (the NSID) and version.bind / version.server. */
function chaos(name: string, qtype: number, identity: ServerIdentity): Answer {
  let text: string | null = null;
  if (name === 'id.server' || name === 'hostname.bind') text = identity.nsid?.toString() ?? null;
  else if (name === 'version.bind' || name === 'version.server') text = identity.version;
  if (text === null) return emptyAnswer(RCODE.REFUSED, null);
  const a = emptyAnswer(RCODE.NOERROR, null, true);
  if (qtype !== TYPE.TXT && qtype !== TYPE.ANY) return a; // the name exists, with TXT only: NODATA
  const data = Buffer.from(text).subarray(0, 255);
  a.answer.push(rrset(name, TYPE.TXT, 0, [Buffer.concat([Buffer.from([data.length]), data])], false, CLASS.CH));
  return a;
}
