// What a zone builder takes (dns/flat-build.ts): the zone's origin, SOA and serial, and its names with their
// RRsets in wire form and their dynamic names already built. Plain data: it knows nothing of zone files or of
// what a dynamic name is beyond dns/dynamic.ts.
import type { DynamicName } from './dynamic.js';

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
