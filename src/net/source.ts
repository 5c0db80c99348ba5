// The address a packet or connection came from (Node's `remoteAddress` text) as bytes: the cached parse
// of the answer path, and the checked one of the HTTP edge. Part of the src/net leaf.
import net from 'node:net';
import { ipToBytes, isMappedIPv4 } from './address.js';

// Source addresses as bytes: resolvers are few and ask often, so the text → bytes parse is cached
const SOURCES = new Map<string, Buffer>();

/** Bytes of a socket's source address (valid by construction); IPv4-mapped text → the 4 IPv4 bytes. */
export function sourceBytes(address: string): Buffer {
  let b = SOURCES.get(address);
  if (!b) {
    b = ipToBytes(address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address);
    if (SOURCES.size >= 65_536) SOURCES.clear();
    SOURCES.set(address, b);
  }
  return b;
}

/** Address bytes of an IP literal (a `%zone` suffix dropped), IPv4-mapped IPv6 as the IPv4 address; null if not an IP. */
export function literalBytes(ip: string): Buffer | null {
  const bare = ip.replace(/%.*$/, '');
  if (!net.isIP(bare)) return null;
  const b = ipToBytes(bare);
  return isMappedIPv4(b) ? b.subarray(12) : b;
}
