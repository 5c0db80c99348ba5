// From query bytes to response bytes (spec §4): drop / FORMERR / NOTIMP / REFUSED / BADVERS decisions,
// CHAOS identity queries, the zone lookup, EDNS and the UDP size limit. Synchronous and allocation-light;
// the transports (udp.ts, tcp.ts) only move bytes.
import { EDNS_PAYLOAD } from './constants.js';
import type { DynamicName, ResolveDynamic } from './dynamic.js';
import { CLASS, RCODE, TYPE } from './registry.js';
import { lookup, type ZoneTable } from './lookup.js';
import { isBadQtype, mustDrop, parseQuery, type Query } from './query.js';
import { emptyAnswer, rrset, type Answer } from './rrset.js';
import { writeResponse, type RotationCounters } from './writer.js';

export type Transport = 'udp' | 'tcp';

export interface ResponderConfig {
  nsid: string | null;
  version: string | null;
  /** `geoip.ecs: false`: a server that does not use ECS neither reads nor echoes it (RFC 7871 §7.2.1). */
  geoip: { ecs: boolean };
}

/** How answers are computed beyond the zone data: dynamic names, and the round-robin of address RRsets. */
export interface ResponderHooks<D extends DynamicName> {
  resolveDynamic: ResolveDynamic<D>;
  rotation: RotationCounters;
}

/** What the last handled query was, for metrics, query logs and rate limiting. */
export interface QueryInfo {
  name: string;
  qtype: number;
  rcode: number;
  zone: string | null;
  truncated: boolean;
  /** Records in the answer section of the response. */
  answers: number;
  /** The wildcard the answer came from, and the zone cut of a referral (rate limiting keys on them). */
  wildcard: string | null;
  cut: string | null;
}

export class Responder<D extends DynamicName = DynamicName> {
  private nsid: Buffer | null;
  private version: string | null;
  private useEcs: boolean;
  readonly last: QueryInfo = { name: '', qtype: 0, rcode: 0, zone: null, truncated: false, answers: 0, wildcard: null, cut: null };

  /** Parse every query with the full decoder (the differential tests compare it with the direct reader). */
  slowParse = false;

  constructor(private readonly table: () => ZoneTable<D>, cfg: ResponderConfig, private readonly hooks: ResponderHooks<D>) {
    this.nsid = cfg.nsid === null ? null : Buffer.from(cfg.nsid);
    this.version = cfg.version;
    this.useEcs = cfg.geoip.ecs;
  }

  configure(cfg: ResponderConfig): void {
    this.nsid = cfg.nsid === null ? null : Buffer.from(cfg.nsid);
    this.version = cfg.version;
    this.useEcs = cfg.geoip.ecs;
  }

  /** The response to `msg`, or null to drop it. Never throws: an internal fault answers SERVFAIL. */
  handle(msg: Buffer, transport: Transport, client: { address: string }): Buffer | null {
    try {
      return this.respond(msg, transport, client);
    } catch (e) {
      this.onError?.(e as Error, msg);
      this.last.rcode = RCODE.SERVFAIL;
      return servfail(msg);
    }
  }

  /** Called with internal faults (a bug, never bad input): the server logs them. */
  onError: ((e: Error, msg: Buffer) => void) | null = null;

  private respond(msg: Buffer, transport: Transport, client: { address: string }): Buffer | null {
    const info = this.last;
    info.name = '';
    info.qtype = 0;
    info.zone = null;
    info.truncated = false;
    info.answers = 0;
    info.wildcard = info.cut = null;
    if (mustDrop(msg)) return null;
    const table = this.table();
    const q = parseQuery(msg, this.slowParse ? { slow: true } : undefined, !this.useEcs);
    info.name = q.question?.name ?? '';
    info.qtype = q.question?.qtype ?? 0;
    let rcode: number = RCODE.NOERROR;
    let ans: Answer | null = null;
    if (q.opcode !== 0) rcode = RCODE.NOTIMP;
    else if (q.formerr) rcode = RCODE.FORMERR;
    else if (q.edns && q.edns.version > 0) rcode = RCODE.BADVERS;
    else {
      ans = this.answer(table, q, client);
      rcode = ans.rcode;
    }
    info.rcode = rcode;
    info.zone = ans?.zone ?? null;
    info.wildcard = ans?.wildcard ?? null;
    info.cut = ans?.cut ?? null;
    const maxSize = transport === 'tcp' ? 65535
      : q.edns ? Math.min(Math.max(q.edns.payload, 512), EDNS_PAYLOAD) : 512;
    const out = writeResponse(msg, q, ans, {
      rcode,
      aa: ans?.aa ?? false,
      maxSize,
      rotation: this.hooks.rotation,
      nsid: q.edns?.nsid && this.nsid ? this.nsid : null,
      ecsScope: ans?.ecsScope ?? 0,
    });
    info.truncated = (out[2]! & 0x02) !== 0;
    info.answers = (out[6]! << 8) | out[7]!;
    return out;
  }

  /** The rate limiter's "slip": the response to `msg` cut to header, question and OPT, with TC=1. */
  truncatedReply(msg: Buffer, rcode: number): Buffer | null {
    if (mustDrop(msg)) return null;
    const q = parseQuery(msg, undefined, !this.useEcs);
    return writeResponse(msg, q, null, {
      rcode, aa: false, maxSize: 512, rotation: null, nsid: null, ecsScope: 0, truncate: true,
    });
  }

  private answer(table: ZoneTable<D>, q: Query, client: { address: string }): Answer {
    const { name, qtype, qclass } = q.question!;
    if (isBadQtype(qtype)) return emptyAnswer(RCODE.FORMERR, null);
    if (qclass === CLASS.CH) return this.chaos(name, qtype);
    if (qclass !== CLASS.IN) return emptyAnswer(RCODE.REFUSED, null);
    if (qtype === TYPE.AXFR || qtype === TYPE.IXFR) return emptyAnswer(RCODE.REFUSED, null); // no zone transfers
    return lookup(table, name, qtype, { address: client.address, ecs: q.edns?.ecs ?? null }, this.hooks.resolveDynamic);
  }

  /** CHAOS TXT id.server / hostname.bind (the NSID) and version.bind / version.server. */
  private chaos(name: string, qtype: number): Answer {
    let text: string | null = null;
    if (name === 'id.server' || name === 'hostname.bind') text = this.nsid?.toString() ?? null;
    else if (name === 'version.bind' || name === 'version.server') text = this.version;
    if (text === null) return emptyAnswer(RCODE.REFUSED, null);
    const a = emptyAnswer(RCODE.NOERROR, null, true);
    if (qtype !== TYPE.TXT && qtype !== TYPE.ANY) return a; // the name exists, with TXT only: NODATA
    const data = Buffer.from(text).subarray(0, 255);
    a.answer.push(rrset(name, TYPE.TXT, 0, [Buffer.concat([Buffer.from([data.length]), data])], false, CLASS.CH));
    return a;
  }
}

/** A bare SERVFAIL echoing the header of a message whose header is readable. */
function servfail(msg: Buffer): Buffer | null {
  if (mustDrop(msg)) return null;
  const out = Buffer.alloc(12);
  msg.copy(out, 0, 0, 4);
  out[2] = 0x80 | (msg[2]! & 0x79); // QR, opcode, RD
  out[3] = RCODE.SERVFAIL;
  return out;
}
