// Special address ranges: IPv4 embedded in IPv6 (mapped, 6to4, Teredo, NAT64), addresses not routable on
// the Internet, loopback. Part of the src/net leaf (imports nothing from the other folders).
import { literalBytes } from './source.js';

/** For IPv4-mapped (::ffff:0:0/96), 6to4 (2002::/16) and Teredo (2001::/32) addresses, the IPv4 inside. */
export function embeddedIPv4(b: Uint8Array): { v4: Buffer; offsetBits: number } | null {
  if (b.length !== 16) return null;
  let zero10 = true;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) zero10 = false;
  if (zero10 && b[10] === 0xff && b[11] === 0xff) return { v4: Buffer.from(b.subarray(12, 16)), offsetBits: 96 };
  if (b[0] === 0x20 && b[1] === 0x02) return { v4: Buffer.from(b.subarray(2, 6)), offsetBits: 16 };
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0 && b[3] === 0) {
    // Teredo: the client's address is the last 32 bits, inverted; no prefix maps onto it
    return { v4: Buffer.from(b.subarray(12, 16).map((x) => x ^ 0xff)), offsetBits: -1 };
  }
  return null;
}

/** NAT64's well-known prefix 64:ff9b::/96 (RFC 6052): a translator sends what is behind it to the IPv4 address. */
export function isNat64(b: Uint8Array): boolean {
  return b.length === 16 && b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && b.subarray(4, 12).every((x) => x === 0);
}

/** Not routable on the Internet: RFC 1918, loopback, link-local, CGNAT, ULA, multicast, unspecified. */
export function isPrivate(b: Uint8Array): boolean {
  return privatePrefix(b) !== null;
}

/** The prefix length of the non-routable range (see isPrivate) that contains the address, or null. */
export function privatePrefix(b: Uint8Array): number | null {
  if (b.length === 4) {
    const [a, c] = [b[0]!, b[1]!];
    if (a === 0 || a === 10 || a === 127) return 8;
    if (a === 100 && (c & 0xc0) === 64) return 10;
    if (a === 169 && c === 254) return 16;
    if (a === 172 && (c & 0xf0) === 16) return 12;
    if (a === 192 && c === 168) return 16;
    return a >= 224 ? 3 : null;
  }
  const e = embeddedIPv4(b);
  if (e && e.offsetBits === 96) {
    const p = privatePrefix(e.v4);
    return p === null ? null : 96 + p;
  }
  if (b.every((x, i) => (i < 15 ? x === 0 : x <= 1))) return 127; // :: and ::1
  if ((b[0]! & 0xfe) === 0xfc) return 7;
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 10;
  return b[0] === 0xff ? 8 : null;
}

/** Loopback by value, in any text form: 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104. */
export function isLoopbackIp(ip: string): boolean {
  const b = literalBytes(ip);
  if (!b) return false;
  if (b.length === 4) return b[0] === 127;
  return b.subarray(0, 15).every((x) => x === 0) && b[15] === 1;
}
