// Each record type's RDATA from its presentation form (RFC 1035 §5.1 and the type's RFC), field by field,
// to wire form, with the same rules as the YAML forms of records.ts. Also the generic form `\# len hex`
// (RFC 3597 §5), for any type: a known type written so is read back through its own rules.
import { knownText } from '../dns/rdata-text.js';
import { TYPE } from '../dns/registry.js';
import { ipFamily, ipToBytes } from '../net/address.js';
import { locFromWords } from './loc.js';
import { logicalLines, type Token } from './master-lexer.js';
import { FieldError, Fields, genericRdata, nameWire, tokenBytes } from './master-text.js';
import { type SvcParam, svcbRdata, svcKeyNumber, svcValueFromText } from './svcb.js';

const u8 = (n: number) => Buffer.from([n]);
const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const str = (b: Buffer) => Buffer.concat([u8(b.length), b]);

/** The digest length each DS digest type defines (RFC 4034 SHA-1, RFC 4509 SHA-256, RFC 6605 SHA-384). */
export const DS_DIGEST_LENGTH: Record<number, number> = { 1: 20, 2: 32, 4: 48 };

type Reader = (f: Fields) => Buffer;

function address(family: 4 | 6): Reader {
  return (f) => {
    const t = f.next(`an IPv${family} address`);
    if (ipFamily(t.raw) !== family) {
      const other = ipFamily(t.raw);
      throw new FieldError(
        `${f.what}: "${t.raw}" is not an IPv${family} address${other ? ` (it is IPv${other}: write it as ${other === 6 ? 'AAAA' : 'A'})` : ''}`,
        t,
      );
    }
    return ipToBytes(t.raw);
  };
}

const nameOnly: Reader = (f) => nameWire(f.name('target'));

/** The presentation readers of every writable type (the SOA is read by the master-file reader). */
export const PRESENTATION: Record<string, Reader> = {
  A: address(4),
  AAAA: address(6),
  NS: nameOnly,
  CNAME: nameOnly,
  PTR: nameOnly,
  MX: (f) => Buffer.concat([u16(f.int('preference', 0, 65535)), nameWire(f.name('exchange'))]),
  TXT(f) {
    const parts: Buffer[] = [];
    do {
      parts.push(str(f.string('character-string', 255, ': write it as several quoted strings (RFC 1035 §3.3.14)')));
    } while (f.more());
    return Buffer.concat(parts);
  },
  SRV: (f) =>
    Buffer.concat([
      u16(f.int('priority', 0, 65535)),
      u16(f.int('weight', 0, 65535)),
      u16(f.int('port', 0, 65535)),
      nameWire(f.name('target')),
    ]),
  CAA(f) {
    const flags = f.int('flags', 0, 255);
    const tagTok = f.next('tag');
    if (!/^[A-Za-z0-9]{1,15}$/.test(tagTok.raw))
      throw new FieldError(`${f.what} tag must be 1 to 15 letters or digits (issue, issuewild, iodef, ...)`, tagTok);
    const value = f.string('value', 65535);
    return Buffer.concat([u8(flags), str(Buffer.from(tagTok.raw, 'latin1')), value]);
  },
  DS(f) {
    const keyTag = f.int('key tag', 0, 65535);
    const algorithm = f.int('algorithm', 0, 255);
    const digestType = f.int('digest type', 0, 255);
    const digest = f.hexRest('digest', DS_DIGEST_LENGTH[digestType]);
    return Buffer.concat([u16(keyTag), u8(algorithm), u8(digestType), digest]);
  },
  SSHFP(f) {
    const algorithm = f.int('algorithm', 0, 255);
    const fpType = f.int('fingerprint type (1 = SHA-1, 2 = SHA-256)', 1, 2);
    return Buffer.concat([u8(algorithm), u8(fpType), f.hexRest('fingerprint', fpType === 1 ? 20 : 32)]);
  },
  TLSA: (f) =>
    Buffer.concat([
      u8(f.int('usage', 0, 255)),
      u8(f.int('selector', 0, 255)),
      u8(f.int('matching type', 0, 255)),
      f.hexRest('certificate association data'),
    ]),
  NAPTR: (f) =>
    Buffer.concat([
      u16(f.int('order', 0, 65535)),
      u16(f.int('preference', 0, 65535)),
      str(f.string('flags')),
      str(f.string('services')),
      str(f.string('regexp')),
      nameWire(f.name('replacement')),
    ]),
  URI(f) {
    const priority = f.int('priority', 0, 65535);
    const weight = f.int('weight', 0, 65535);
    const target = f.string('target', 65531);
    if (target.length === 0) throw new FieldError(`${f.what} target must not be empty (RFC 7553 §4.5)`, f.tokens[f.i - 1]!);
    return Buffer.concat([u16(priority), u16(weight), target]);
  },
  LOC(f) {
    const toks = f.tokens.slice(f.i);
    f.i = f.tokens.length;
    if (toks.length === 0) throw new FieldError(`${f.what} needs a latitude, a longitude and an altitude`, null);
    const r = locFromWords(toks.map((t) => t.raw));
    if (!Buffer.isBuffer(r)) throw new FieldError(`${f.what}: ${r.error}`, toks[Math.max(0, r.at)]!);
    return r;
  },
  SVCB: svcb,
  HTTPS: svcb,
};

function svcb(f: Fields): Buffer {
  const priority = f.int('priority', 0, 65535);
  const target = nameWire(f.name('target'));
  const params: SvcParam[] = [];
  const first = f.peek();
  while (f.more()) {
    const t = f.next('a SvcParam');
    const eq = t.raw.indexOf('=');
    const keyName = eq < 0 ? t.raw : t.raw.slice(0, eq);
    const key = svcKeyNumber(keyName);
    if (typeof key === 'string') throw new FieldError(`${f.what}: ${key}`, t);
    const value = svcValueFromText(key, eq < 0 ? null : tokenBytes({ ...t, raw: t.raw.slice(eq + 1) }));
    if (typeof value === 'string') throw new FieldError(`${f.what}: ${value}`, t);
    params.push({ key, value });
  }
  const r = svcbRdata(priority, target, params);
  if (typeof r === 'string') throw new FieldError(`${f.what}: ${r}`, first ?? null);
  return r;
}

/** The SOA fields after the owner: MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM (times may carry units). */
export function soaFields(f: Fields): { mname: string; rname: Token; serial: number; times: number[] } {
  const mname = f.name('MNAME (the primary name server)');
  const rname = f.next('RNAME (the mailbox)');
  const serial = f.int('serial', 0, 4_294_967_295);
  const times = ['refresh', 'retry', 'expire', 'minimum'].map((field) => {
    const t = f.next(field);
    const v = ttlValue(t.raw);
    if (v === null || v > 4_294_967_295)
      throw new FieldError(`${f.what} ${field} must be a time in seconds (or with units such as 1h, 2d), got "${t.raw}"`, t);
    return v;
  });
  f.end();
  return { mname, rname, serial, times };
}

/** A TTL as BIND reads it: seconds, or numbers with units w, d, h, m, s (`1h30m`); null when not one. */
export function ttlValue(text: string): number | null {
  if (/^\d{1,10}$/.test(text)) return Number(text);
  if (!/^(\d+[wdhms])+$/i.test(text)) return null;
  const mult: Record<string, number> = { w: 604800, d: 86400, h: 3600, m: 60, s: 1 };
  let total = 0;
  for (const [, n, u] of text.matchAll(/(\d+)([wdhms])/gi)) total += Number(n) * mult[u!.toLowerCase()]!;
  return Number.isSafeInteger(total) ? total : null;
}

/**
 * RDATA of `type` from the fields after the type (`typeName` is the writable name, or TYPEnnn for a type
 * held in generic form only). Throws a FieldError.
 */
export function readRdata(code: number, typeName: string, f: Fields): Buffer {
  if (f.peek()?.raw === '\\#') {
    f.i++;
    const rdata = genericRdata(f);
    const reader = PRESENTATION[typeName];
    if (!reader) return rdata;
    // a known type in the generic form obeys the type's own rules: read back through its presentation
    const at = f.tokens[f.i - 1] ?? null;
    const text = knownText(code, rdata);
    const line = text === null ? null : logicalLines(text).next().value;
    if (!line || !('tokens' in line)) throw new FieldError(`${f.what}: the \\# data is not ${typeName} RDATA`, at);
    try {
      const again = new Fields(line.tokens, '', f.what, f.at);
      const r = reader(again);
      again.end();
      return r;
    } catch (e) {
      if (e instanceof FieldError) throw new FieldError(`${e.message} (in the \\# data)`, at);
      throw e;
    }
  }
  const reader = PRESENTATION[typeName];
  if (!reader)
    throw new FieldError(`${f.what}: a type steerdns has no presentation form for is written \\# LENGTH HEX (RFC 3597)`, f.peek() ?? null);
  if (code === TYPE.SOA) throw new FieldError(`${f.what}: the SOA is read apart`, null);
  const rdata = reader(f);
  f.end();
  return rdata;
}
