// RDATA in wire form: encoding a record's fields (dns-packet's per-type encoders, at load time only) and
// reading the domain name back out of prepared RDATA.
import packet from 'dns-packet';
import { TYPE } from './registry.js';

// dns-packet's encoders write a 2-byte RDLENGTH first; the RDATA is what follows.
export function encodeRdata(type: string, data: unknown): Buffer {
  const enc = (packet as unknown as { record(t: string): { encode(d: unknown): Buffer } }).record(type);
  const b = enc.encode(data);
  // the RDLENGTH it wrote, not the buffer size: dns-packet over-sizes the buffer by one for the root name
  // (null MX `0 .`, NAPTR replacement `.`) and for an escaped dot in the SOA rname, leaving a stray 0 byte
  return Buffer.from(b.subarray(2, 2 + b.readUInt16BE(0)));
}

/** The SOA RDATA; `email` may be written `user@domain` (a dot in `user` is escaped) or as a name. */
export function soaRdata(
  mname: string,
  rname: string,
  serial: number,
  refresh: number,
  retry: number,
  expire: number,
  minimum: number,
): Buffer {
  return encodeRdata('SOA', { mname, rname, serial, refresh, retry, expire, minimum });
}

/** additionalTargets: the target is the RRset's owner name (SVCB/HTTPS ServiceMode with TargetName "."). */
export const TARGET_OWNER = -2;
/** additionalTargets: no name whose addresses go in the additional section. */
export const TARGET_NONE = -1;

/**
 * Where, in the RDATA of a record of `type`, the name sits whose A and AAAA records an answer carries in the
 * additional section: its byte offset (an uncompressed name, as prepared at load), TARGET_OWNER, or TARGET_NONE.
 * NS (RFC 1035 §3.3.11), MX (§3.3.9), SRV (RFC 2782); SVCB and HTTPS (RFC 9460 §4.2, §7.3): the TargetName
 * after the 2-byte SvcPriority, in AliasMode (priority 0) and ServiceMode alike; "." is the owner name in
 * ServiceMode (§2.5.2) and "no service" in AliasMode (§2.5.1). MX "0 ." (RFC 7505) and SRV "." (RFC 2782) name
 * no host: TARGET_NONE. The one reading of RDATA for additional data: the flat linker (dns/flat-link.ts) and the
 * tests' object oracle (test/helpers/object-zone.ts) use it.
 */
export function additionalTargets(type: number, rdata: Uint8Array): number {
  const at =
    type === TYPE.NS ? 0 : type === TYPE.MX ? 2 : type === TYPE.SRV ? 6 : type === TYPE.SVCB || type === TYPE.HTTPS ? 2 : TARGET_NONE;
  if (at < 0 || at >= rdata.length) return TARGET_NONE;
  if (rdata[at] !== 0) return at;
  // the root name
  const svcb = type === TYPE.SVCB || type === TYPE.HTTPS;
  return svcb && ((rdata[0]! << 8) | rdata[1]!) !== 0 ? TARGET_OWNER : TARGET_NONE;
}

/** The domain name inside NS/CNAME/PTR/MX/SRV RDATA (uncompressed, as prepared at load) → internal form. */
export function rdataName(type: number, rdata: Buffer): string {
  return nameAt(rdata, type === TYPE.MX ? 2 : type === TYPE.SRV ? 6 : 0); // MX: preference; SRV: priority, weight, port
}

/** The uncompressed name at `off` of RDATA → internal form (lower case, no trailing dot; "" for the root). */
export function nameAt(rdata: Buffer, off: number): string {
  let out = '';
  while (off < rdata.length && rdata[off] !== 0) {
    const len = rdata[off]!;
    out += (out ? '.' : '') + rdata.toString('latin1', off + 1, off + 1 + len).toLowerCase();
    off += len + 1;
  }
  return out;
}
