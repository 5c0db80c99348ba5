// RDATA in wire form → its presentation text (RFC 1035 §5.1 and each type's RFC), as `dig` prints it but
// for hexadecimal, written in lower case and in one piece. Used by `explain`, /status and `steerdns export`;
// never on the answer path. A type without a known layout, or RDATA that does not fit its type's layout,
// is written in the generic form `\# len hex` of RFC 3597 §5.
import { bytesToIp } from '../net/address.js';
import { TYPE } from './registry.js';

/** A name's presentation text (absolute, with the trailing dot) and the offset after it; null if malformed. */
export function nameText(b: Buffer, off: number): { text: string; end: number } | null {
  let text = '';
  let o = off;
  for (let hops = 0; hops < 128; hops++) {
    if (o >= b.length) return null;
    const len = b[o]!;
    if (len === 0) return { text: text === '' ? '.' : text, end: o + 1 };
    if (len > 63 || o + 1 + len > b.length) return null; // compression has no place in prepared RDATA
    for (let i = o + 1; i <= o + len; i++) text += nameChar(b[i]!);
    text += '.';
    o += len + 1;
  }
  return null;
}

// Characters that mean something in a master file are escaped in a name: RFC 1035 §5.1, as BIND writes them
const NAME_SPECIAL = new Set(['.', ';', '\\', '(', ')', '"', '@', '$']);

function nameChar(c: number): string {
  if (c <= 0x20 || c >= 0x7f) return `\\${String(c).padStart(3, '0')}`;
  const ch = String.fromCharCode(c);
  return NAME_SPECIAL.has(ch) ? `\\${ch}` : ch;
}

/** Octets as the inside of a quoted character-string: `"` and `\` escaped, non-printable octets as \DDD. */
export function quotedBody(bytes: Uint8Array, extra = ''): string {
  let s = '';
  for (const c of bytes) {
    if (c < 0x20 || c >= 0x7f) s += `\\${String(c).padStart(3, '0')}`;
    else if (c === 0x22 || c === 0x5c || extra.includes(String.fromCharCode(c))) s += `\\${String.fromCharCode(c)}`;
    else s += String.fromCharCode(c);
  }
  return s;
}

const quoted = (bytes: Uint8Array) => `"${quotedBody(bytes)}"`;

/** The generic form of RFC 3597 §5. */
export function genericText(rdata: Buffer): string {
  return rdata.length === 0 ? '\\# 0' : `\\# ${rdata.length} ${rdata.toString('hex')}`;
}

/** The presentation text of RDATA of `type`, or the generic form when the type has no known layout here. */
export function rdataToText(type: number, rdata: Buffer): string {
  return knownText(type, rdata) ?? genericText(rdata);
}

/** Reads RDATA field by field; every read past the end (or a malformed name) makes the whole text null. */
class Reader {
  o = 0;
  bad = false;
  constructor(readonly b: Buffer) {}
  u8(): number {
    if (this.o + 1 > this.b.length) return this.fail();
    return this.b[this.o++]!;
  }
  u16(): number {
    if (this.o + 2 > this.b.length) return this.fail();
    const v = this.b.readUInt16BE(this.o);
    this.o += 2;
    return v;
  }
  u32(): number {
    if (this.o + 4 > this.b.length) return this.fail();
    const v = this.b.readUInt32BE(this.o);
    this.o += 4;
    return v;
  }
  bytes(n: number): Buffer {
    if (this.o + n > this.b.length) {
      this.fail();
      return Buffer.alloc(0);
    }
    const v = this.b.subarray(this.o, this.o + n);
    this.o += n;
    return v;
  }
  rest(): Buffer {
    return this.bytes(this.b.length - this.o);
  }
  name(): string {
    const n = nameText(this.b, this.o);
    if (!n) {
      this.fail();
      return '';
    }
    this.o = n.end;
    return n.text;
  }
  string(): Buffer {
    return this.bytes(this.u8());
  }
  private fail(): number {
    this.bad = true;
    this.o = this.b.length + 1;
    return 0;
  }
  /** The text when every field was there and nothing is left over. */
  done(text: string): string | null {
    return this.bad || this.o !== this.b.length ? null : text;
  }
}

/** The presentation text of RDATA in its type's known layout; null when there is none or it does not fit. */
export function knownText(type: number, rdata: Buffer): string | null {
  const r = new Reader(rdata);
  switch (type) {
    case TYPE.A:
      return rdata.length === 4 ? bytesToIp(rdata) : null;
    case TYPE.AAAA:
      return rdata.length === 16 ? bytesToIp(rdata) : null;
    case TYPE.NS:
    case TYPE.CNAME:
    case TYPE.PTR:
      return r.done(r.name());
    case TYPE.MX:
      return r.done(`${r.u16()} ${r.name()}`);
    case TYPE.SRV:
      return r.done(`${r.u16()} ${r.u16()} ${r.u16()} ${r.name()}`);
    case TYPE.SOA:
      return r.done(`${r.name()} ${r.name()} ${r.u32()} ${r.u32()} ${r.u32()} ${r.u32()} ${r.u32()}`);
    case TYPE.TXT: {
      const parts: string[] = [];
      while (r.o < rdata.length) parts.push(quoted(r.string()));
      return parts.length ? r.done(parts.join(' ')) : null;
    }
    case TYPE.CAA: {
      const flags = r.u8();
      const tag = r.string();
      if (tag.length === 0 || !/^[A-Za-z0-9]+$/.test(tag.toString('latin1'))) return null;
      return r.done(`${flags} ${tag.toString('latin1')} ${quoted(r.rest())}`);
    }
    case TYPE.DS:
      return hexTail(r, `${r.u16()} ${r.u8()} ${r.u8()}`);
    case TYPE.SSHFP:
      return hexTail(r, `${r.u8()} ${r.u8()}`);
    case TYPE.TLSA:
      return hexTail(r, `${r.u8()} ${r.u8()} ${r.u8()}`);
    case TYPE.NAPTR:
      return r.done(`${r.u16()} ${r.u16()} ${quoted(r.string())} ${quoted(r.string())} ${quoted(r.string())} ${r.name()}`);
    case TYPE.URI: {
      const head = `${r.u16()} ${r.u16()}`;
      const target = r.rest();
      return target.length ? r.done(`${head} ${quoted(target)}`) : null;
    }
    case TYPE.LOC:
      return locText(rdata);
    case TYPE.SVCB:
    case TYPE.HTTPS: {
      const head = `${r.u16()} ${r.name()}`;
      const params = r.bad ? null : svcParamsText(r.rest());
      return params === null ? null : r.done(params ? `${head} ${params}` : head);
    }
    default:
      return null;
  }
}

function hexTail(r: Reader, head: string): string | null {
  const rest = r.rest();
  return rest.length ? r.done(`${head} ${rest.toString('hex')}`) : null;
}

// ---- SVCB and HTTPS (RFC 9460) ----------------------------------------------------------------------

/** SvcParamKey numbers and names (RFC 9460 §14.3.2). */
export const SVC_KEYS: Record<string, number> = {
  mandatory: 0,
  alpn: 1,
  'no-default-alpn': 2,
  port: 3,
  ipv4hint: 4,
  ech: 5,
  ipv6hint: 6,
};
export const SVC_KEY_NAMES: Record<number, string> = Object.fromEntries(Object.entries(SVC_KEYS).map(([k, v]) => [v, k]));

export function svcKeyName(key: number): string {
  return SVC_KEY_NAMES[key] ?? `key${key}`;
}

/** The SvcParams of RDATA as `key=value` words in wire order; null when they do not follow RFC 9460 §2.2. */
export function svcParamsText(b: Buffer): string | null {
  const out: string[] = [];
  let o = 0;
  let last = -1;
  while (o < b.length) {
    if (o + 4 > b.length) return null;
    const key = b.readUInt16BE(o);
    const len = b.readUInt16BE(o + 2);
    if (key <= last || o + 4 + len > b.length) return null; // keys in strictly increasing order (§2.2)
    last = key;
    const v = b.subarray(o + 4, o + 4 + len);
    o += 4 + len;
    const text = svcValueText(key, v);
    if (text === null) return null;
    out.push(text === '' ? svcKeyName(key) : `${svcKeyName(key)}=${text}`);
  }
  return out.join(' ');
}

/** One SvcParamValue as BIND writes it ('' for a key without a value); null when malformed. */
function svcValueText(key: number, v: Buffer): string | null {
  const list = (size: number, f: (x: Buffer) => string) => {
    if (v.length === 0 || v.length % size) return null;
    const items: string[] = [];
    for (let i = 0; i < v.length; i += size) items.push(f(v.subarray(i, i + size)));
    return items.join(',');
  };
  switch (key) {
    case 0:
      return list(2, (x) => svcKeyName(x.readUInt16BE(0)));
    case 1: {
      // each alpn-id is a character-string; in the comma-separated list a comma or backslash inside an id is
      // escaped once for the list and once more for the quoted string (RFC 9460 Appendix A.1)
      const ids: string[] = [];
      for (let i = 0; i < v.length; ) {
        const n = v[i]!;
        if (n === 0 || i + 1 + n > v.length) return null;
        ids.push(
          quotedBody(v.subarray(i + 1, i + 1 + n), ',').replace(/\\([,\\])/g, (_, c: string) => (c === ',' ? '\\\\,' : '\\'.repeat(4))),
        );
        i += 1 + n;
      }
      return ids.length ? `"${ids.join(',')}"` : null;
    }
    case 2:
      return v.length === 0 ? '' : null;
    case 3:
      return v.length === 2 ? String(v.readUInt16BE(0)) : null;
    case 4:
      return list(4, bytesToIp);
    case 5:
      return v.length ? v.toString('base64') : null;
    case 6:
      return list(16, bytesToIp);
    default:
      return v.length === 0 ? '' : `"${quotedBody(v)}"`;
  }
}

// ---- LOC (RFC 1876) ---------------------------------------------------------------------------------

/** A LOC size or precision octet (mantissa and power of ten, in centimetres) as BIND writes it, in metres. */
export function locSizeText(octet: number): string | null {
  const mantissa = octet >> 4;
  const exponent = octet & 0x0f;
  if (mantissa > 9 || exponent > 9) return null;
  if (exponent >= 2) return `${mantissa * 10 ** (exponent - 2)}m`;
  return `0.${String(mantissa * 10 ** exponent).padStart(2, '0')}m`;
}

function angleText(raw: number, pos: string, neg: string): string {
  let a = raw - 2 ** 31;
  const hemi = a < 0 ? neg : pos;
  a = Math.abs(a);
  const ms = a % 1000;
  a = Math.floor(a / 1000);
  const s = a % 60;
  a = Math.floor(a / 60);
  return `${Math.floor(a / 60)} ${a % 60} ${s}.${String(ms).padStart(3, '0')} ${hemi}`;
}

function locText(b: Buffer): string | null {
  if (b.length !== 16 || b[0] !== 0) return null; // version 0 is the only one defined
  const size = locSizeText(b[1]!);
  const hp = locSizeText(b[2]!);
  const vp = locSizeText(b[3]!);
  const lat = b.readUInt32BE(4);
  const lon = b.readUInt32BE(8);
  if (size === null || hp === null || vp === null) return null;
  if (Math.abs(lat - 2 ** 31) > 90 * 3_600_000 || Math.abs(lon - 2 ** 31) > 180 * 3_600_000) return null;
  const altCm = b.readUInt32BE(12) - 10_000_000;
  const m = Math.abs(altCm);
  const alt = `${altCm < 0 ? '-' : ''}${Math.floor(m / 100)}.${String(m % 100).padStart(2, '0')}m`;
  return `${angleText(lat, 'N', 'S')} ${angleText(lon, 'E', 'W')} ${alt} ${size} ${hp} ${vp}`;
}
