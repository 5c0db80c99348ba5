// Reading the fields of presentation-format RDATA (RFC 1035 §5.1, RFC 3597 §5): numbers, names, character
// strings with their escapes, hexadecimal. A field that breaks a rule throws a FieldError naming the token,
// so the caller can report its line and column. Used by the master-file reader and by the one-string
// presentation form of the YAML zone format.
import { resolveName } from '../dns/name.js';
import type { Token } from './master-lexer.js';

export class FieldError extends Error {
  constructor(
    message: string,
    /** The token at fault; null: the end of the record (a field is missing). */
    readonly token: Token | null,
  ) {
    super(message);
  }
}

/**
 * The octets of a token read as a character-string: quotes dropped, `\DDD` (decimal, at most 255) and `\X`
 * escapes resolved, other characters as their UTF-8 octets. Throws a FieldError on a bad escape.
 */
export function tokenBytes(tok: Token): Buffer {
  const raw = tok.raw;
  if (!raw.includes('\\') && !raw.includes('"')) return Buffer.from(raw, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '"') continue;
    if (ch !== '\\') {
      const code = raw.codePointAt(i)!;
      if (code < 0x80) out.push(code);
      else {
        const s = String.fromCodePoint(code);
        out.push(...Buffer.from(s, 'utf8'));
        i += s.length - 1;
      }
      continue;
    }
    const ddd = /^\d{3}/.exec(raw.slice(i + 1, i + 4));
    if (ddd) {
      const v = Number(ddd[0]);
      if (v > 255) throw new FieldError(`escape \\${ddd[0]} is not an octet (\\000 to \\255)`, tok);
      out.push(v);
      i += 3;
    } else if (/^\d/.test(raw[i + 1] ?? '')) {
      throw new FieldError(`escape \\${raw.slice(i + 1, i + 4)} needs three decimal digits (\\DDD)`, tok);
    } else {
      const s = String.fromCodePoint(raw.codePointAt(i + 1)!);
      out.push(...Buffer.from(s, 'utf8'));
      i += s.length;
    }
  }
  return Buffer.from(out);
}

/** A name written in a master file (escapes resolved) → internal form; throws a FieldError. */
export function tokenName(tok: Token, origin: string | null, what: string, opts: { owner?: boolean } = {}): string {
  if (tok.quoted) throw new FieldError(`${what}: a name is not written in quotes`, tok);
  let text = tok.raw;
  if (text.includes('\\')) {
    // an escape may stand for an ordinary character (\065 = A); a literal dot or other octet inside a label
    // cannot be served here
    let plain = '';
    for (let i = 0; i < text.length; i++) {
      if (text[i] !== '\\') {
        plain += text[i];
        continue;
      }
      const one = tokenBytes({ ...tok, raw: /^\\\d/.test(text.slice(i)) ? text.slice(i, i + 4) : text.slice(i, i + 2) });
      const ch = String.fromCharCode(one[0]!);
      if (one.length !== 1 || !/[A-Za-z0-9_-]/.test(ch))
        throw new FieldError(`${what}: "${tok.raw}" has a label with characters other than letters, digits, "-" and "_"`, tok);
      plain += ch;
      i += /^\\\d/.test(text.slice(i)) ? 3 : 1;
    }
    text = plain;
  }
  if (origin === null && text !== '.' && !text.endsWith('.'))
    throw new FieldError(
      `${what}: "${tok.raw}" is relative, and there is no origin yet (write $ORIGIN, or name the file ORIGIN.zone)`,
      tok,
    );
  const n = resolveName(text, origin ?? '', opts);
  if (typeof n !== 'string') throw new FieldError(`${what}: ${n.error}`, tok);
  return n;
}

/** A domain name in wire form (uncompressed, lower case as held internally). */
export function nameWire(name: string): Buffer {
  if (name === '') return Buffer.from([0]);
  const out = Buffer.allocUnsafe(name.length + 2);
  let o = 0;
  for (const label of name.split('.')) {
    out[o++] = label.length;
    o += out.write(label, o, 'latin1');
  }
  out[o] = 0;
  return out;
}

/** The fields of one record's RDATA, read left to right. `what` starts every message (`MX at "mail"`). */
export class Fields {
  i = 0;
  constructor(
    readonly tokens: Token[],
    readonly origin: string | null,
    readonly what: string,
    /** Where a missing field is reported: the type token. */
    readonly at: Token,
  ) {}

  more(): boolean {
    return this.i < this.tokens.length;
  }

  peek(): Token | undefined {
    return this.tokens[this.i];
  }

  next(field: string): Token {
    const t = this.tokens[this.i];
    if (!t) throw new FieldError(`${this.what} needs ${field}`, null);
    this.i++;
    return t;
  }

  int(field: string, min: number, max: number): number {
    const t = this.next(field);
    const v = /^\d{1,10}$/.test(t.raw) ? Number(t.raw) : Number.NaN;
    if (!(v >= min && v <= max)) throw new FieldError(`${this.what} ${field} must be an integer from ${min} to ${max}, got "${t.raw}"`, t);
    return v;
  }

  name(field: string): string {
    return tokenName(this.next(field), this.origin, `${this.what} ${field}`);
  }

  /** A character-string: at most 255 octets (RFC 1035 §3.3). */
  string(field: string, max = 255, hint = ''): Buffer {
    const t = this.next(field);
    const b = tokenBytes(t);
    if (b.length > max) throw new FieldError(`${this.what} ${field} is ${b.length} octets, over ${max}${hint}`, t);
    return b;
  }

  /** Hexadecimal to the end of the record (it may be written in several pieces). */
  hexRest(field: string, length?: number): Buffer {
    const first = this.next(field);
    let hex = first.raw;
    while (this.more()) hex += this.next(field).raw;
    if (!/^([0-9a-fA-F]{2})+$/.test(hex) || (length !== undefined && hex.length !== length * 2))
      throw new FieldError(`${this.what} ${field} must be ${length ? `${length} octets of ` : ''}hexadecimal`, first);
    return Buffer.from(hex, 'hex');
  }

  /** Nothing may follow the last field. */
  end(): void {
    const t = this.tokens[this.i];
    if (t) throw new FieldError(`${this.what}: unexpected "${t.raw}" after the last field`, t);
  }
}

/** RDATA in the generic form `\# len hex` of RFC 3597 §5 (the `\#` already read). */
export function genericRdata(f: Fields): Buffer {
  const len = f.int('length (\\# LENGTH HEX, RFC 3597)', 0, 65535);
  if (len === 0) {
    f.end();
    return Buffer.alloc(0);
  }
  const first = f.peek();
  const data = f.more() ? f.hexRest('hexadecimal data') : Buffer.alloc(0);
  if (data.length !== len) throw new FieldError(`${f.what}: \\# says ${len} octets, the hexadecimal has ${data.length}`, first ?? null);
  return data;
}
