// IP addresses as text and as bytes: family, parse, canonical text (RFC 5952), and the IPv4 address an
// IPv4-mapped literal stands for. The leaf of src/: imports nothing from the other folders, knows no DNS.
import { isIPv4, isIPv6 } from 'node:net';

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
    text = `${text.slice(0, -v4[1]!.length)}0:0`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const words = (p: string) => (p ? p.split(':').map((w) => parseInt(w, 16)) : []);
  const hw = words(head);
  const tw = rest === undefined ? [] : words(rest);
  const fill = rest === undefined ? [] : new Array<number>(8 - hw.length - tw.length).fill(0);
  const all = [...hw, ...fill, ...tw];
  const out = Buffer.alloc(16);
  for (let i = 0; i < all.length; i++) out.writeUInt16BE(all[i]!, i * 2);
  if (tail.length) Buffer.from(tail).copy(out, 12);
  return out;
}

/** Canonical text of address bytes (4 → dotted quad, 16 → RFC 5952 compressed). */
export function bytesToIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  // IPv4-mapped addresses keep the dotted quad (RFC 5952 §5): ::ffff:192.0.2.1
  if (isMappedIPv4(b)) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  // longest run of zero words (length ≥ 2) becomes ::
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** An IPv4-mapped IPv6 address (::ffff:0:0/96, RFC 4291 §2.5.5.2), as 16 bytes. */
export function isMappedIPv4(b: Uint8Array): boolean {
  return b.length === 16 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
}

/**
 * The IPv4 address an IPv4-mapped literal (`::ffff:192.0.2.1`, canonical text) stands for — the host a probe
 * of it reaches; any other text unchanged. (An answer keeps the address as written: an AAAA RR stays one.)
 */
export function unmappedIPv4(address: string): string {
  return /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)?.[1] ?? address;
}
