// DNS numbers used across src/dns (RFC 1035, 6891, 7871, 5001).
export const TYPE = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, NAPTR: 35, OPT: 41, DS: 43,
  SSHFP: 44, TLSA: 52, IXFR: 251, AXFR: 252, ANY: 255, CAA: 257,
} as const;

export const CLASS = { IN: 1, CH: 3, ANY: 255 } as const;

export const RCODE = {
  NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16,
} as const;

export const RCODE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(RCODE).map(([k, v]) => [v, k]));

export const OPTION = { NSID: 3, ECS: 8 } as const;

/** Our EDNS UDP payload size (the DNS flag day 2020 value). */
export const EDNS_PAYLOAD = 1232;

export const MAX_CNAME_CHAIN = 16;
