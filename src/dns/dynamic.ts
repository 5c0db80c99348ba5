// The dynamic-name hook: a name whose A/AAAA answer is computed per query (a GSLB pool) instead of read
// from the zone. dns/ only states what the lookup (flat-lookup.ts) needs from such a name and from its resolver; the resolver
// itself (gslb/'s pool decision) is passed in by the application, so dns/ never knows what steers the answer.
import type { ClientSubnet } from './query.js';

/** What the lookup reads from a dynamic name without asking its resolver. */
export interface DynamicName {
  /** Whether it has IPv4 / IPv6 answers at all (ANY picks its RRset by them, RFC 8482). */
  readonly has4: boolean;
  readonly has6: boolean;
  /** Caps the negative (SOA) TTL at this name: a NODATA is cached no longer than an answer would be. */
  readonly ttl: number;
}

/** A resolver's answer for one query: the RDATA in the order to serve, or NODATA, or SERVFAIL. */
export interface DynamicAnswer {
  kind: 'answer' | 'nodata' | 'servfail';
  /** A or AAAA RDATA (wire form); empty unless `kind` is 'answer'. */
  rdata: Buffer[];
  /** TTL of the answer; for NODATA, the most the negative TTL may be. */
  ttl: number;
  /** ECS scope prefix length the answer depends on (0 = the same for every client, RFC 7871 §7.2.1). */
  scope: number;
}

/** The client of one query, as dns/ knows it. A resolver may keep its own memo on the object it is given. */
export interface QueryClient {
  /** Source address of the query (text). */
  address: string;
  /** EDNS Client Subnet of the query, if any. */
  ecs: ClientSubnet | null;
}

/**
 * Answers A (family 4) or AAAA (family 6) at a dynamic name for one client. Called once per question that
 * reaches such a name — the hot path: it must not throw, and the lookup adds nothing around it.
 */
export type ResolveDynamic<D extends DynamicName> = (name: D, family: 4 | 6, client: QueryClient) => DynamicAnswer;
