// Presentation format (RFC 1035 §5 style, as dig prints it) of prepared RRsets, for `explain` and /status.
import { rdataToText } from './rdata-text.js';
import { className, typeName } from './registry.js';
import type { RRset } from './rrset.js';

/** The presentation text of one record's RDATA (dns/rdata-text.ts: the generic form for unknown types). */
export function rdataText(type: number, rdata: Buffer): string {
  return rdataToText(type, rdata);
}

/** Every record of an RRset as a presentation line. */
export function rrsetLines(set: RRset): string[] {
  const owner = set.owner === '' ? '.' : `${set.owner}.`;
  const type = typeName(set.type);
  const klass = className(set.class);
  return set.rdata.map((rd) => `${owner} ${set.ttl} ${klass} ${type} ${rdataText(set.type, rd)}`);
}
