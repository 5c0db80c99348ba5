// Host names as the HTTP Host header and `http.allowed_hosts` write them: `host[:port]`, `[v6]:port`.
// Part of the src/net leaf (imports nothing from the other folders).
import net from 'node:net';

/** A host as the Host header and `allowed_hosts` name it: canonical host (no brackets), port or null. */
export interface HostName {
  host: string;
  port: number | null;
}

const HOST_FORM = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+))(?::(\d{1,5}))?$/;

/** The canonical text of an IP literal: lower-case, IPv6 compressed (`0:0::1` → `::1`). */
export function canonicalIp(ip: string): string {
  return net.isIPv6(ip) ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

/**
 * Parses `host[:port]` (`[v6]:port` for IPv6; a bare IPv6 address when `bareIpv6`). Names are lower-cased
 * and lose a trailing dot. Anything else (user info, paths, spaces, port 0) is null.
 */
export function parseHostName(text: string, opts: { bareIpv6?: boolean } = {}): HostName | null {
  if (opts.bareIpv6 && net.isIPv6(text)) return { host: canonicalIp(text), port: null };
  const m = HOST_FORM.exec(text);
  if (!m) return null;
  const port = m[3] === undefined ? null : Number(m[3]);
  if (port !== null && (port < 1 || port > 65535)) return null;
  if (m[1] !== undefined) return net.isIPv6(m[1]) ? { host: canonicalIp(m[1]), port } : null;
  const name = m[2]!.toLowerCase().replace(/\.$/, '');
  if (name === '' || name.split('.').some((l) => l === '')) return null;
  return { host: name, port };
}
