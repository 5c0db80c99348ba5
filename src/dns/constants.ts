// DNS limits of this server that are not registry numbers (those are in registry.ts).

/** Our EDNS UDP payload size (the DNS flag day 2020 value). */
export const EDNS_PAYLOAD = 1232;

/** CNAMEs followed inside a zone before the chain so far is the answer. */
export const MAX_CNAME_CHAIN = 16;
