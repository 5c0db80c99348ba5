// Parsers for the scalar values of config and zone files: durations, sizes, IP addresses and networks,
// domain names. Each returns null (or throws nothing) on bad input so callers can report a position.
import { isIPv4, isIPv6 } from 'node:net';

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

// ---- IP addresses --------------------------------------------------------------------------

export type Family = 4 | 6;

export function ipFamily(s: string): Family | null {
  if (isIPv4(s)) return 4;
  if (isIPv6(s) && !s.includes('%')) return 6;
  return null;
}

/** Address bytes (4 or 16) of a valid textual address; throws on invalid input (validate first). */
export function ipToBytes(s: string): Buffer {
  if (isIPv4(s)) {
    const out = Buffer.allocUnsafe(4);
    let part = 0;
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x2e) {
        out[part++] = n;
        n = 0;
      } else n = n * 10 + (c - 0x30);
    }
    out[part] = n;
    return out;
  }
  if (!isIPv6(s)) throw new Error(`not an IP address: ${s}`);
  let text = s;
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    tail.push(...v4[1]!.split('.').map(Number));
    text = text.slice(0, -v4[1]!.length) + '0:0';
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const words = (p: string) => (p ? p.split(':').map((w) => parseInt(w, 16)) : []);
  const hw = words(head);
  const tw = rest === undefined ? [] : words(rest);
  const fill = rest === undefined ? [] : new Array<number>(8 - hw.length - tw.length).fill(0);
  const all = [...hw, ...fill, ...tw];
  const out = Buffer.alloc(16);
  all.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  if (tail.length) Buffer.from(tail).copy(out, 12);
  return out;
}

/** Canonical text of address bytes (4 → dotted quad, 16 → RFC 5952 compressed). */
export function bytesToIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  // IPv4-mapped addresses keep the dotted quad (RFC 5952 §5): ::ffff:192.0.2.1
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  // longest run of zero words (length ≥ 2) becomes ::
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export interface Cidr {
  family: Family;
  bytes: Buffer;      // network address, host bits zero
  prefix: number;
  text: string;       // canonical "addr/prefix"
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

// ---- domain names --------------------------------------------------------------------------
// Internally a name is lower-case, without the trailing dot; the root is "".

const HOST_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/i;
const LOOSE_LABEL = /^[a-z0-9_-]{1,63}$/i;

/** Wire length of a name in internal form. */
export function wireLength(name: string): number {
  return name === '' ? 1 : name.length + 2;
}

/**
 * Resolves `name` against `origin` (`@` = origin; a trailing dot = absolute) and checks its syntax.
 * `owner` allows a leading `*` label (wildcards). Returns an error message on bad input.
 */
export function resolveName(raw: string, origin: string, opts: { owner?: boolean } = {}): string | { error: string } {
  let abs: string;
  if (raw === '@') abs = origin;
  else if (raw === '.') abs = '';
  else if (raw.endsWith('.')) abs = raw.slice(0, -1);
  else abs = origin === '' ? raw : `${raw}.${origin}`;
  abs = abs.toLowerCase();
  if (abs === '') return abs;
  const labels = abs.split('.');
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l === '') return { error: `"${raw}" has an empty label` };
    if (l.length > 63) return { error: `"${raw}" has a label longer than 63 octets` };
    if (l === '*' && i === 0 && opts.owner) continue;
    if (l.includes('*')) return { error: `"${raw}": "*" is only allowed as the whole leftmost label of an owner name` };
    if (!LOOSE_LABEL.test(l)) return { error: `"${raw}" has a label with characters other than letters, digits, "-" and "_"` };
  }
  if (wireLength(abs) > 255) return { error: `"${raw}" is longer than 255 octets` };
  return abs;
}

/** True when every label of a host name (A/AAAA owner, NS/MX target) is LDH/underscore without edge hyphens. */
export function isHostName(name: string): boolean {
  return name === '' || name.split('.').every((l) => HOST_LABEL.test(l));
}

export function isSubdomain(name: string, of: string): boolean {
  return of === '' || name === of || name.endsWith(`.${of}`);
}

export function parentName(name: string): string {
  const i = name.indexOf('.');
  return i < 0 ? '' : name.slice(i + 1);
}

/** Name relative to `origin` for messages (`@` for the apex). */
export function relativeName(name: string, origin: string): string {
  if (name === origin) return '@';
  if (origin !== '' && name.endsWith(`.${origin}`)) return name.slice(0, -origin.length - 1);
  return `${name}.`;
}
