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

/** The domain name inside NS/CNAME/PTR/MX/SRV RDATA (uncompressed, as prepared at load) → internal form. */
export function rdataName(type: number, rdata: Buffer): string {
  let off = type === TYPE.MX ? 2 : type === TYPE.SRV ? 6 : 0; // MX: preference; SRV: priority, weight, port
  let out = '';
  while (off < rdata.length && rdata[off] !== 0) {
    const len = rdata[off]!;
    out += (out ? '.' : '') + rdata.toString('latin1', off + 1, off + 1 + len).toLowerCase();
    off += len + 1;
  }
  return out;
}
