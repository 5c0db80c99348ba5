// The unit of answer data: an RRset with its RDATA already in wire form (prepared at load time), and the
// Answer a lookup returns — sections of RRsets plus the flags the writer needs. No I/O, no parsing here.
import { CLASS, TYPE } from './registry.js';

export interface RRset {
  /** Owner in internal form: lower-case, no trailing dot ("" = root). */
  owner: string;
  type: number;
  class: number;
  ttl: number;
  rdata: Buffer[];
  /** Rotate record order on every response (address RRsets: round robin). */
  rotate: boolean;
  /** Prepared additional-section data (addresses of NS/MX/SRV targets in the zone). */
  additional?: RRset[];
  /** CNAME: the target name, in internal form. */
  target?: string;
}

export interface Answer {
  rcode: number;
  aa: boolean;
  answer: RRset[];
  authority: RRset[];
  additional: RRset[];
  /** The first N additional RRsets are mandatory (in-domain glue, RFC 9471): if they do not fit, TC=1. */
  mandatoryAdditional: number;
  /** ECS scope prefix length for the response (0 = the answer does not depend on the client). */
  ecsScope: number;
  /** Origin of the zone that answered, "" root, null when outside every zone. */
  zone: string | null;
  /** The wildcard (`*.parent`) the answer was synthesized from, if any. */
  wildcard: string | null;
  /** The zone cut of a referral, if the response is one. */
  cut: string | null;
}

export function rrset(
  owner: string,
  type: number,
  ttl: number,
  rdata: Buffer[],
  rotate = type === TYPE.A || type === TYPE.AAAA,
  klass: number = CLASS.IN,
): RRset {
  return { owner, type, class: klass, ttl, rdata, rotate };
}

/** The same records under another owner (wildcard synthesis, RFC 4592). */
export function withOwner(set: RRset, owner: string): RRset {
  return set.owner === owner ? set : { ...set, owner };
}

export function emptyAnswer(rcode: number, zone: string | null, aa = false): Answer {
  return { rcode, aa, answer: [], authority: [], additional: [], mandatoryAdditional: 0, ecsScope: 0, zone, wildcard: null, cut: null };
}
