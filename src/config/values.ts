// Parsers for the scalar values of config files: durations, sizes, host:port. Each returns null (or an
// error string) on bad input so callers can report a position. Addresses and networks are src/net's,
// domain names src/dns/name.ts's. `durationOf` reads a duration at a node of a file and reports it there.
import type { Node } from 'yaml';
import { type Family, ipFamily } from '../net/address.js';
import type { SourceFile } from './source.js';

/** `500ms`, `5s`, `1m`, `1h`, or a plain number of seconds → milliseconds. */
export function parseDuration(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v * 1000) : null;
  if (typeof v !== 'string') return null;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(n * unit);
}

export function durationOf(src: SourceFile, node: Node | null, what: string, minMs = 1): number | null {
  const ms = parseDuration(src.scalar(node));
  if (ms === null || ms < minMs) {
    src.error(node, `${what} must be a duration such as 500ms, 5s or 1m${ms !== null ? ` of at least ${minMs}ms` : ''}`);
    return null;
  }
  return ms;
}

/** `256MB`, `64KB`, `1GB`, or a plain number of bytes (binary multiples). */
export function parseSize(v: unknown): number | null {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : null;
  if (typeof v !== 'string') return null;
  const m = /^(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB)?$/i.exec(v.trim());
  if (!m) return null;
  const unit = (m[2] ?? 'B').toUpperCase().replace('I', '');
  const mult = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[unit as 'B' | 'KB' | 'MB' | 'GB'];
  return Number(m[1]) * mult;
}

/** `host:port` / `[v6]:port` as written in `listen:` and `http:`. */
export function parseHostPort(s: string): { host: string; port: number; family: Family } | string {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:[\]]+):(\d+)$/.exec(s);
  if (!m) return `"${s}" is not host:port (write IPv6 as [addr]:port)`;
  const host = m[1]!;
  const family = ipFamily(host);
  if (!family) return `"${host}" is not an IP address`;
  const port = Number(m[2]);
  if (!(port >= 0 && port <= 65535)) return `port of "${s}" must be 0 to 65535`;
  return { host, port, family };
}
