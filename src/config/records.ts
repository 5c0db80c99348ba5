// Static record types of the zone format (docs/zone-format.md#record-types): YAML value → RDATA bytes,
// encoded at load time. Each parser checks the RFC field ranges and reports with a position. A type whose
// value is a mapping may also be written as one string in master-file presentation form (`MX: "10 mail"`),
// and any type in the generic form of RFC 3597 under its TYPEnnn key (`TYPE65534: '\# 2 abcd'`).
import type { Node } from 'yaml';
import { encodeRdata as encode } from '../dns/rdata.js';
import { rdataToText } from '../dns/rdata-text.js';
import { TYPE, typeCode, typeName } from '../dns/registry.js';
import { ipFamily, ipToBytes } from '../net/address.js';
import { logicalLines } from './master-lexer.js';
import { PRESENTATION, readRdata } from './master-rdata.js';
import { FieldError, Fields } from './master-text.js';
import { type Ctx, characterString, fields, hex, name, type Parser, type RecordData, u8, u16 } from './record-fields.js';
import { MODERN_PARSERS } from './records-modern.js';

export type { RecordData } from './record-fields.js';

/** The types a zone file may contain under a name (SOA has its own section), in the order messages list them. */
const WRITABLE_TYPES = [
  'A',
  'NS',
  'CNAME',
  'PTR',
  'MX',
  'TXT',
  'AAAA',
  'LOC',
  'SRV',
  'NAPTR',
  'DS',
  'SSHFP',
  'TLSA',
  'SVCB',
  'HTTPS',
  'URI',
  'CAA',
] as const;
export type KnownRecordType = (typeof WRITABLE_TYPES)[number];
/** A writable type by name, or another type held only in the generic form of RFC 3597 (`TYPE65534`). */
export type RecordType = KnownRecordType | `TYPE${number}`;

/** RR type codes (from the DNS registry) of the types the zone format accepts by name. */
export const RECORD_TYPES = Object.fromEntries(WRITABLE_TYPES.map((t) => [t, TYPE[t]])) as Record<KnownRecordType, number>;

/** Types written as a mapping of fields: a string value is their presentation form instead. */
const STRUCTURED = new Set<string>(['MX', 'SRV', 'CAA', 'DS', 'SSHFP', 'TLSA', 'NAPTR', 'URI', 'LOC', 'SVCB', 'HTTPS']);

/** The DNSSEC records a signer makes (RFC 4034, RFC 5155, RFC 7344): steerdns signs online, a zone holds none. */
const SIGNER_TYPES = new Map<string, number>([
  ['RRSIG', 46],
  ['NSEC', 47],
  ['DNSKEY', 48],
  ['NSEC3', 50],
  ['NSEC3PARAM', 51],
  ['CDS', 59],
  ['CDNSKEY', 60],
]);
const SIGNER_CODES = new Map([...SIGNER_TYPES].map(([n, c]) => [c, n]));

/**
 * Why a record type (by name or as TYPEnnn) cannot be in a zone file because a signer makes it, or null. The
 * same message for YAML keys and master-file types (docs/zone-format.md#master-files).
 */
export function signerTypeRefusal(type: string): string | null {
  const up = type.toUpperCase();
  const generic = /^TYPE\d{1,5}$/.test(up) ? SIGNER_CODES.get(Number(up.slice(4))) : undefined;
  const name = generic ?? (SIGNER_TYPES.has(up) ? up : null);
  if (!name) return null;
  return `${name}${generic ? ` (${up})` : ''} records are made by DNSSEC signing, not written in a zone: steerdns signs online (dnssec: in steerdns.yaml, docs/configuration.md#dnssec); load the unsigned zone (DS at a delegation stays allowed)`;
}

/**
 * The type a key of a name names (`A`, `https`, `TYPE65`): its writable name and code, and whether its values
 * are in the generic form (a TYPEnnn key); null for neither a writable type nor TYPEnnn of a data type.
 */
export function recordTypeOf(key: string): { type: RecordType; code: number; generic: boolean } | null {
  const up = key.toUpperCase();
  if (Object.hasOwn(RECORD_TYPES, up)) return { type: up as KnownRecordType, code: RECORD_TYPES[up as KnownRecordType], generic: false };
  if (!/^TYPE\d{1,5}$/.test(up)) return null;
  const code = typeCode(up)!;
  // meta and query types (RFC 6895 §3.1), OPT and the SOA (written in soa:) are not data of a name
  if (code > 65535 || code === 0 || code === TYPE.OPT || code === TYPE.SOA || (code >= 128 && code <= 255)) return null;
  const known = typeName(code);
  return { type: Object.hasOwn(RECORD_TYPES, known) ? (known as KnownRecordType) : `TYPE${code}`, code, generic: true };
}

/** One record of `type` from its YAML value (`generic`: written under TYPEnnn, in the `\# len hex` form). */
export function parseRecord(
  ctx: Ctx,
  node: Node,
  what: string,
  t: { type: RecordType; code: number; generic: boolean },
): RecordData | null {
  const v = ctx.src.scalar(node);
  if (t.generic || (STRUCTURED.has(t.type) && typeof v === 'string')) {
    if (typeof v !== 'string' || (t.generic && !v.trimStart().startsWith('\\#'))) {
      ctx.src.error(node, `${what} must be a string in the generic form \\# LENGTH HEX (RFC 3597)`);
      return null;
    }
    return presentation(ctx, node, what, t.code, t.type, v);
  }
  return RECORD_PARSERS[t.type as KnownRecordType](ctx, node, what);
}

/** A record written as one string of presentation-format RDATA. */
function presentation(ctx: Ctx, node: Node, what: string, code: number, type: string, text: string): RecordData | null {
  const lines = [...logicalLines(text)];
  const line = lines[0];
  if (lines.length !== 1 || !line || 'error' in line) {
    ctx.src.error(node, `${what}: ${line && 'error' in line ? line.error : 'write the record on one line'}`);
    return null;
  }
  try {
    const f = new Fields(line.tokens, ctx.origin, what, line.tokens[0]!);
    const rdata = readRdata(code, PRESENTATION[type] ? type : `TYPE${code}`, f);
    if (rdata.length > 65535) throw new FieldError(`${what} is ${rdata.length} octets, over 65535`, null);
    return { rdata, text: rdataToText(code, rdata) };
  } catch (e) {
    if (!(e instanceof FieldError)) throw e;
    ctx.src.error(node, e.message);
    return null;
  }
}

/** Splits a string into ≤255-octet pieces (RFC 1035 character-strings); long DKIM keys need several. */
export function splitTxt(s: string): Buffer[] {
  const b = Buffer.from(s, 'utf8');
  if (b.length === 0) return [b];
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += 255) out.push(b.subarray(i, i + 255));
  return out;
}

const address =
  (family: 4 | 6): Parser =>
  (ctx, node, what) => {
    const s = ctx.src.string(node, what);
    if (s === null) return null;
    if (ipFamily(s) !== family) {
      const other = ipFamily(s);
      ctx.src.error(
        node,
        `${what}: "${s}" is not an IPv${family} address${other ? ` (it is IPv${other}: write it under ${other === 6 ? 'AAAA' : 'A'})` : ''}`,
      );
      return null;
    }
    return { rdata: ipToBytes(s), text: s.toLowerCase() }; // A/AAAA RDATA is the address itself
  };

const nameRecord =
  (type: string): Parser =>
  (ctx, node, what) => {
    const n = name(ctx, node, what);
    return n === null ? null : { rdata: encode(type, n), text: `${n}.` };
  };

export const RECORD_PARSERS: Record<KnownRecordType, Parser> = {
  ...MODERN_PARSERS,
  A: address(4),
  AAAA: address(6),
  NS: nameRecord('NS'),
  CNAME: nameRecord('CNAME'),
  PTR: nameRecord('PTR'),
  MX(ctx, node, what) {
    const f = fields(ctx, node, what, ['preference', 'exchange']);
    if (!f) return null;
    const preference = u16(ctx, f.get('preference'), `${what} preference`);
    const exchange = name(ctx, f.get('exchange')!, `${what} exchange`);
    if (preference === null || exchange === null) return null;
    return { rdata: encode('MX', { preference, exchange }), text: `${preference} ${exchange}.` };
  },
  TXT(ctx, node, what) {
    // A plain string is one record (split into 255-octet pieces); a list of strings is one record of several.
    const parts = ctx.src.isSeq(node) ? ctx.src.list(node) : [node];
    const chunks: Buffer[] = [];
    for (const p of parts) {
      const v = ctx.src.scalar(p);
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
        ctx.src.error(p, `${what} must be a string or a list of strings`);
        return null;
      }
      chunks.push(...splitTxt(String(v)));
    }
    if (chunks.length === 0) chunks.push(Buffer.alloc(0));
    // checked before encoding: dns-packet throws a RangeError on an RDLENGTH over 65535
    if (chunks.reduce((n, c) => n + 1 + c.length, 0) > 65535) {
      ctx.src.error(node, `${what} is longer than 65535 octets`);
      return null;
    }
    const rdata = encode('TXT', chunks);
    return { rdata, text: chunks.map((c) => JSON.stringify(c.toString('latin1'))).join(' ') };
  },
  SRV(ctx, node, what) {
    const f = fields(ctx, node, what, ['priority', 'weight', 'port', 'target']);
    if (!f) return null;
    const priority = u16(ctx, f.get('priority'), `${what} priority`);
    const weight = u16(ctx, f.get('weight'), `${what} weight`);
    const port = u16(ctx, f.get('port'), `${what} port`);
    const target = name(ctx, f.get('target')!, `${what} target`);
    if (priority === null || weight === null || port === null || target === null) return null;
    return { rdata: encode('SRV', { priority, weight, port, target }), text: `${priority} ${weight} ${port} ${target}.` };
  },
  CAA(ctx, node, what) {
    const f = fields(ctx, node, what, ['flags', 'tag', 'value']);
    if (!f) return null;
    const flags = u8(ctx, f.get('flags'), `${what} flags`);
    const tag = ctx.src.string(f.get('tag')!, `${what} tag`);
    if (tag !== null && !/^[A-Za-z0-9]{1,15}$/.test(tag)) {
      ctx.src.error(f.get('tag')!, `${what} tag must be 1 to 15 letters or digits (issue, issuewild, iodef, ...)`);
      return null;
    }
    const v = ctx.src.scalar(f.get('value')!);
    if (typeof v !== 'string') {
      ctx.src.error(f.get('value')!, `${what} value must be a string`);
      return null;
    }
    if (flags === null || tag === null) return null;
    return { rdata: encode('CAA', { flags, tag, value: v }), text: `${flags} ${tag} ${JSON.stringify(v)}` };
  },
  DS(ctx, node, what) {
    const f = fields(ctx, node, what, ['key_tag', 'algorithm', 'digest_type', 'digest']);
    if (!f) return null;
    const keyTag = u16(ctx, f.get('key_tag'), `${what} key_tag`);
    const algorithm = u8(ctx, f.get('algorithm'), `${what} algorithm`);
    const digestType = u8(ctx, f.get('digest_type'), `${what} digest_type`);
    // the digest length each digest type defines (RFC 4034 SHA-1, RFC 4509 SHA-256, RFC 6605 SHA-384)
    const expected = digestType === null ? undefined : ({ 1: 20, 2: 32, 4: 48 } as Record<number, number>)[digestType];
    const digest = hex(ctx, f.get('digest')!, `${what} digest`, expected);
    if (keyTag === null || algorithm === null || digestType === null || digest === null) return null;
    return {
      rdata: encode('DS', { keyTag, algorithm, digestType, digest }),
      text: `${keyTag} ${algorithm} ${digestType} ${digest.toString('hex')}`,
    };
  },
  SSHFP(ctx, node, what) {
    const f = fields(ctx, node, what, ['algorithm', 'fp_type', 'fingerprint']);
    if (!f) return null;
    const algorithm = u8(ctx, f.get('algorithm'), `${what} algorithm`);
    const hash = ctx.src.integer(f.get('fp_type') ?? null, `${what} fp_type (1 = SHA-1, 2 = SHA-256)`, 1, 2);
    if (algorithm === null || hash === null) return null;
    const fp = hex(ctx, f.get('fingerprint')!, `${what} fingerprint`, hash === 1 ? 20 : 32);
    if (fp === null) return null;
    return {
      rdata: encode('SSHFP', { algorithm, hash, fingerprint: fp.toString('hex') }),
      text: `${algorithm} ${hash} ${fp.toString('hex')}`,
    };
  },
  TLSA(ctx, node, what) {
    const f = fields(ctx, node, what, ['usage', 'selector', 'matching_type', 'data']);
    if (!f) return null;
    const usage = u8(ctx, f.get('usage'), `${what} usage`);
    const selector = u8(ctx, f.get('selector'), `${what} selector`);
    const matchingType = u8(ctx, f.get('matching_type'), `${what} matching_type`);
    const certificate = hex(ctx, f.get('data')!, `${what} data`);
    if (usage === null || selector === null || matchingType === null || certificate === null) return null;
    return {
      rdata: encode('TLSA', { usage, selector, matchingType, certificate }),
      text: `${usage} ${selector} ${matchingType} ${certificate.toString('hex')}`,
    };
  },
  NAPTR(ctx, node, what) {
    const f = fields(ctx, node, what, ['order', 'preference', 'flags', 'services', 'regexp', 'replacement']);
    if (!f) return null;
    const order = u16(ctx, f.get('order'), `${what} order`);
    const preference = u16(ctx, f.get('preference'), `${what} preference`);
    const flags = characterString(ctx, f.get('flags')!, `${what} flags`);
    const services = characterString(ctx, f.get('services')!, `${what} services`);
    const regexp = characterString(ctx, f.get('regexp')!, `${what} regexp`);
    const replacement = name(ctx, f.get('replacement')!, `${what} replacement`);
    if (order === null || preference === null || flags === null || services === null || regexp === null || replacement === null)
      return null;
    return {
      rdata: encode('NAPTR', { order, preference, flags, services, regexp, replacement }),
      text: `${order} ${preference} ${JSON.stringify(flags)} ${JSON.stringify(services)} ${JSON.stringify(regexp)} ${replacement}.`,
    };
  },
};
