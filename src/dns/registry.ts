// The DNS registry: every type, class, rcode and EDNS option number steerdns knows, with its name, in both
// directions (the IANA "Domain Name System (DNS) Parameters" registry; RFC 1035, 3597, 6891, 7871, 5001; the
// DNSSEC types of RFC 4034 and RFC 7344).
// The name tables are plain objects: reading one on the answer path is a property load, never a call.
// Which types a zone file may contain is config's choice (src/config/records.ts), drawn from this table.

export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  LOC: 29,
  SRV: 33,
  NAPTR: 35,
  OPT: 41,
  DS: 43,
  SSHFP: 44,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  TLSA: 52,
  CDS: 59,
  CDNSKEY: 60,
  SVCB: 64,
  HTTPS: 65,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
  URI: 256,
  CAA: 257,
} as const;
export type TypeName = keyof typeof TYPE;

export const CLASS = { IN: 1, CH: 3, ANY: 255 } as const;

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  BADVERS: 16,
} as const;

export const OPTION = { NSID: 3, ECS: 8 } as const;

const byCode = (table: Record<string, number>): Record<number, string> =>
  Object.fromEntries(Object.entries(table).map(([name, code]) => [code, name]));

/** Code → name of the known types, classes, rcodes and options (absent: unknown). */
export const TYPE_NAMES: Record<number, string> = byCode(TYPE);
export const CLASS_NAMES: Record<number, string> = byCode(CLASS);
export const RCODE_NAMES: Record<number, string> = byCode(RCODE);
export const OPTION_NAMES: Record<number, string> = byCode(OPTION);

/** The presentation name of a type: its mnemonic, else the generic `TYPE123` (RFC 3597 §5). */
export function typeName(code: number): string {
  return TYPE_NAMES[code] ?? `TYPE${code}`;
}

/** The code of a type written as its upper-case mnemonic or as `TYPE123` (RFC 3597 §5); null if neither. */
export function typeCode(name: string): number | null {
  if (Object.hasOwn(TYPE, name)) return TYPE[name as TypeName];
  return /^TYPE\d+$/.test(name) ? Number(name.slice(4)) : null;
}

/** The presentation name of a class: its mnemonic, else the generic `CLASS123` (RFC 3597 §5). */
export function className(code: number): string {
  return CLASS_NAMES[code] ?? `CLASS${code}`;
}

/** The name of an rcode, else its number as text. */
export function rcodeName(code: number): string {
  return RCODE_NAMES[code] ?? String(code);
}
