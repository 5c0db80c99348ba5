// What a zone file becomes (docs/zone-format.md): the plain ZoneSpec that src/served-zone.ts prepares for
// answering, and the TTL range every TTL of the file obeys. Types and that one rule only: the readers are
// zone-file.ts (the file), zone-records.ts (names), zone-pools.ts (pools) and zone-rules.ts (the whole zone).
import type { Node } from 'yaml';
import type { SoaInput } from '../dns/zone-input.js';
import type { Family } from '../net/address.js';
import type { RecordData, RecordType } from './records.js';
import type { Diagnostic, SourceFile } from './source.js';

export interface RRsetSpec {
  type: RecordType;
  ttl: number;
  records: RecordData[];
  /** Where it is written (an offset: a zone of a million names keeps no YAML nodes around). */
  at: number;
}

export interface TargetSpec {
  address: string;
  family: Family;
  bytes: Buffer;
  weight: number;
  state: 'up' | 'down';
  at: Node;
}

export interface PoolRegionSpec {
  region: string;
  targets: TargetSpec[];
  at: Node;
}

export interface CheckSpec {
  type: 'tcp' | 'http' | 'https' | 'none';
  port: number;
  path: string;
  host: string;
  headers: Record<string, string>;
  expect: number[];
  body: string | null;
  insecure: boolean;
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
  initial: 'up' | 'down';
  /** Where the check is written (for diagnostics that span files; not part of what is probed). */
  pos?: { line: number; col: number };
}

export type SelectMode = 'round-robin' | 'weighted' | 'random' | 'sticky' | 'fastest';
export type AllDown = { kind: 'serve-all' } | { kind: 'nodata' } | { kind: 'servfail' } | { kind: 'fallback'; pool: string; at: Node };

export interface PoolSpec {
  name: string;
  ttl: number;
  policy: 'nearest' | 'failover' | 'map';
  map: { key: string; regions: string[] }[];
  answers: number;
  select: SelectMode;
  minHealthy: { count: number } | { percent: number };
  familyFallback: 'none' | 'next-region';
  allDown: AllDown;
  check: CheckSpec;
  regions: PoolRegionSpec[];
  at: Node;
}

export interface NameSpec {
  name: string;
  /** Where the name is written (offset in the file). */
  at: number;
  rrsets: Map<RecordType, RRsetSpec>;
  pool: PoolSpec | null;
}

/** The SOA as the zone builder takes it, plus the serial as written (null: automatic). */
export interface SoaSpec extends SoaInput {
  serial: number | null;
}

export interface ZoneSpec {
  file: string;
  origin: string;
  originPos: { line: number; col: number };
  ttl: number;
  soa: SoaSpec;
  names: Map<string, NameSpec>;
  /** Hash of everything that answers are made of: a change moves the automatic serial. */
  contentHash: string;
  /** The master files it includes (`include:`, `$INCLUDE`), absolute: a change to one reloads the zone. */
  includes?: string[];
}

export interface ZoneResult {
  zone: ZoneSpec | null;
  diagnostics: Diagnostic[];
  /** The master files the zone file included (read or not), absolute: a change to one may change the zone. */
  includes?: string[];
}

export const MAX_TTL = 2_147_483_647; // RFC 2181 §8

export function readTtl(src: SourceFile, node: Node | null, what: string): number | null {
  return src.integer(node, `${what} (seconds)`, 0, MAX_TTL);
}
