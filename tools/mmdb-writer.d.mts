// Types for mmdb-writer.mjs (a plain ES module), so TypeScript callers (the tests) type-check.
export type Value =
  | string
  | number
  | boolean
  | { [k: string]: Value }
  | Value[]
  | { type: 'uint16' | 'uint32' | 'uint64' | 'double'; value: number };

export interface WriteOptions {
  databaseType?: string;
  description?: string;
  languages?: string[];
  buildEpoch?: number;
  /** Record size in bits (default: the smallest that holds the tree). */
  recordSize?: 24 | 28 | 32;
  /** 4: an IPv4-only tree (IPv4 networks only); default 6, IPv4 networks at ::/96. */
  ipVersion?: 4 | 6;
  /** Point ::ffff:0:0/96, 2001::/32 and 2002::/16 at the IPv4 subtree, as MaxMind's databases do. */
  aliases?: boolean;
}

/** Encodes one value (MaxMind DB data field). */
export function encodeValue(v: Value): Buffer;
/** `addr/len` → 16 bytes (IPv4 mapped into ::/96) and the prefix length in the IPv6 tree. */
export function parseNetwork(text: string): { bytes: Buffer; prefix: number };
/** Builds a MaxMind DB; a more specific network wins over a less specific one containing it. */
export function writeMmdb(networks: { network: string; data: Value }[], opts?: WriteOptions): Buffer;
