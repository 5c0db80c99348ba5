// Networks: `addr/prefix` parsing into canonical form, masking address bytes to a prefix, membership.
// Part of the src/net leaf (imports nothing from the other folders).
import { bytesToIp, type Family, ipFamily, ipToBytes } from './address.js';

export interface Cidr {
  family: Family;
  bytes: Buffer; // network address, host bits zero
  prefix: number;
  text: string; // canonical "addr/prefix"
}

/** Parses `addr/len` (or a bare address as a host route). Returns an error string on bad input. */
export function parseCidr(s: string): Cidr | string {
  const [addr, len, extra] = s.split('/');
  if (extra !== undefined || !addr) return `"${s}" is not a network (expected address/prefix)`;
  const family = ipFamily(addr);
  if (!family) return `"${addr}" is not an IP address`;
  const max = family === 4 ? 32 : 128;
  const prefix = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return `prefix length of "${s}" must be 0 to ${max}`;
  const bytes = ipToBytes(addr);
  const masked = maskBytes(bytes, prefix);
  if (!masked.equals(bytes)) return `"${s}" has host bits set (the network is ${bytesToIp(masked)}/${prefix})`;
  return { family, bytes, prefix, text: `${bytesToIp(bytes)}/${prefix}` };
}

export function maskBytes(b: Uint8Array, prefix: number): Buffer {
  const out = Buffer.from(b);
  for (let i = 0; i < out.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    out[i]! &= bits === 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
  }
  return out;
}

/** True when `addr` (bytes of the network's own family) is inside the network; other lengths never are. */
export function inNetwork(network: { bytes: Buffer; prefix: number }, addr: Uint8Array): boolean {
  return network.bytes.length === addr.length && maskBytes(addr, network.prefix).equals(network.bytes);
}
