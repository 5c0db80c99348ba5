// Large zones: a zone of a million names written one per line (`  host1: { A: 192.0.2.1 }`) is read here
// line by line instead of through the YAML library, whose document model needs minutes and gigabytes at
// that size. Only lines in a strict subset of YAML are taken — a plain or double-quoted key at indent 2, a
// one-line flow mapping of A/AAAA/CNAME/NS/PTR (one value or a list) and ttl, values that YAML would read
// as the same strings — and only when they are valid. Every other line (and every invalid one, so its
// error comes out exactly as usual) stays in the text handed to the YAML parser. The taken lines are
// emptied there, not removed, so line and column numbers in that text stay those of the file.
import { lineColumn } from './source.js';

/** A value as read, and where it starts in the YAML text (the emptied line keeps its place). */
export interface FastValue {
  value: string;
  at: number;
  length: number;
}

export interface FastEntry {
  key: FastValue;
  /** `ttl`, then each record type with its values (a list when written as a list). */
  fields: { key: FastValue; values: FastValue[]; list: boolean }[];
}

const FAST_TYPES = new Set(['A', 'AAAA', 'CNAME', 'NS', 'PTR']);

// YAML 1.2 core schema: plain scalars that resolve to something other than a string
const NOT_STRING =
  /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|0x[0-9a-fA-F]+|0o[0-7]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
// a plain scalar we accept: no indicators, quotes, spaces, commas or brackets
const PLAIN = /^[A-Za-z0-9_][A-Za-z0-9_.:*@-]*$/;

/** The string YAML would give for a plain scalar, or null when it is not read as that same string. */
function plainString(tok: string): string | null {
  if (!PLAIN.test(tok)) return null;
  if (NOT_STRING.test(tok)) {
    // a canonical decimal integer key reads back as the same digits: "80" in a reverse zone
    return /^(?:0|[1-9][0-9]{0,14})$/.test(tok) ? tok : null;
  }
  return tok;
}

function quoted(tok: string): string | null {
  return /^"[A-Za-z0-9_.:*@ -]*"$/.test(tok) ? tok.slice(1, -1) : null;
}

const scalar = (tok: string) => (tok.startsWith('"') ? quoted(tok) : plainString(tok));

/** Parses the inside of `{ ... }`: `TYPE: value` or `TYPE: [v, v]` and `ttl: N`, comma-separated. */
function parseFields(body: string, base: number): FastEntry['fields'] | null {
  const fields: FastEntry['fields'] = [];
  let i = 0;
  const n = body.length;
  const skipWs = () => {
    while (i < n && body[i] === ' ') i++;
  };
  const token = (): string | null => {
    const start = i;
    if (body[i] === '"') {
      const end = body.indexOf('"', i + 1);
      if (end < 0) return null;
      i = end + 1;
      return body.slice(start, i);
    }
    while (i < n && !' ,[]{}:#"\''.includes(body[i]!)) i++;
    // a ':' inside a plain value (IPv6): continue while the ':' is not followed by a space
    while (i < n && body[i] === ':' && i + 1 < n && body[i + 1] !== ' ') {
      i++;
      while (i < n && !' ,[]{}:#"\''.includes(body[i]!)) i++;
    }
    return i > start ? body.slice(start, i) : null;
  };
  const value = (): FastValue | null => {
    const at = base + i;
    const tok = token();
    const v = tok && scalar(tok);
    return v === null || v === '' || !tok ? null : { value: v, at, length: tok.length };
  };
  skipWs();
  const seen = new Set<string>();
  while (i < n) {
    const keyAt = base + i;
    const key = token();
    if (!key || body[i] !== ':' || body[i + 1] !== ' ') return null;
    if (!(key === 'ttl' || FAST_TYPES.has(key)) || seen.has(key)) return null;
    seen.add(key);
    i += 2;
    skipWs();
    const values: FastValue[] = [];
    let list = false;
    if (body[i] === '[') {
      list = true;
      i++;
      skipWs();
      for (;;) {
        const v = value();
        if (!v) return null;
        values.push(v);
        skipWs();
        if (body[i] === ',') {
          i++;
          skipWs();
          continue;
        }
        if (body[i] === ']') {
          i++;
          break;
        }
        return null;
      }
    } else {
      const v = value();
      if (!v) return null;
      values.push(v);
    }
    if (key === 'ttl' && (list || !/^(?:0|[1-9][0-9]{0,9})$/.test(values[0]!.value))) return null;
    fields.push({ key: { value: key, at: keyAt, length: key.length }, values, list });
    skipWs();
    if (i >= n) break;
    if (body[i] !== ',') return null;
    i++;
    skipWs();
  }
  return fields.some((f) => f.key.value !== 'ttl') ? fields : null;
}

/** Tracks open flow brackets and quotes across slow lines, so a line inside a multi-line value is never taken. */
function balanceAfter(line: string, depth: number): number {
  let d = depth;
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || line[i - 1] === ' ' || line[i - 1] === '\t')) break;
    else if (c === '{' || c === '[') d++;
    else if (c === '}' || c === ']') d = Math.max(0, d - 1);
  }
  // an open quote runs on to the next line: treat it like an open bracket
  return quote ? d + 1 : d;
}

/**
 * The key of an entry line at indent 2, as YAML compares keys (numbers and booleans by value), or null.
 * Rough for unusual keys, exact for the ones the fast reader takes.
 */
function entryKey(line: string): string | null {
  const m = /^ {2}("[^"\\]*"|'[^']*'|[^\s:#'"{}[\],&*!|>%@`][^:#]*?):(?:[ \t]|$)/.exec(line);
  if (!m) return null;
  const k = m[1]!;
  if (k.startsWith('"') || k.startsWith("'")) return `s:${k.slice(1, -1)}`;
  if (NOT_STRING.test(k)) {
    const n = Number(k.replace(/^0o/, '0o'));
    return Number.isNaN(n) ? `x:${k.toLowerCase()}` : `n:${n}`;
  }
  return `s:${k}`;
}

const LINE = /^ {2}("[A-Za-z0-9_.*@-]+"|[A-Za-z0-9_][A-Za-z0-9_.*@-]*): \{ ?(.*?) ?\}[ \t]*$/;

/** Reads one line of the fast subset; null when it is not one. `lineNo`: its line number (1-based). */
export function readFastLine(line: string, lineNo: number): FastEntry | null {
  if (line.length >= 60_000) return null;
  const mm = LINE.exec(line.endsWith('\r') ? line.slice(0, -1) : line);
  if (!mm) return null;
  const lineOffset = lineColumn(lineNo, 1); // positions are coded as line and column: the line is emptied
  const key = mm[1]!.startsWith('"') ? quoted(mm[1]!) : plainString(mm[1]!);
  if (!key) return null;
  const brace = line.indexOf('{');
  const bodyStart = brace + 1 + (line[brace + 1] === ' ' ? 1 : 0);
  const fields = parseFields(mm[2]!, lineOffset + bodyStart);
  return fields ? { key: { value: key, at: lineOffset + 2, length: mm[1]!.length }, fields } : null;
}

export interface FastRecords {
  /** The text for the YAML parser: the fast lines emptied, every position unchanged. */
  yamlText: string;
  /** How many fast lines; `each` reads them one at a time (nothing of them is kept in between). */
  count: number;
  each(fn: (e: FastEntry) => void): void;
}

/**
 * Splits a zone file: lines of `records:` that fit the fast subset, and the text for the YAML parser with
 * those lines emptied. Only files large enough to matter (`minEntries` fast lines) take this path.
 */
export function splitFastRecords(text: string, minEntries = 2000): FastRecords {
  const none: FastRecords = { yamlText: text, count: 0, each: () => undefined };
  const m = /^records:[ \t]*(?:#.*)?$/m.exec(text);
  if (!m || text.length < minEntries * 16) return none;
  const lines = text.split('\n');
  let offset = 0;
  let start = -1;
  for (let i = 0; i < lines.length; i++) {
    if (offset === m.index) {
      start = i + 1;
      break;
    }
    offset += lines[i]!.length + 1;
  }
  if (start < 0) return none;
  // A key written twice is a YAML error the YAML parser must see: lines with repeated keys are never taken
  const counts = new Map<string, number>();
  for (let i = start; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^[^ \t#\r]/.test(line)) break;
    const k = entryKey(line);
    if (k !== null) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const taken: number[] = []; // line indexes
  const original = lines.slice();
  let depth = 0;
  for (let i = start; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^[^ \t#\r]/.test(line)) break; // the next top-level key: records are over
    // a line at indent 2 starts a new entry only when nothing multi-line is open before it
    if (depth === 0 && line.startsWith('  ') && counts.get(entryKey(line)!) === 1 && readFastLine(line, i + 1)) {
      taken.push(i);
      lines[i] = ''; // emptied, not removed: the lines after it keep their numbers
      continue;
    }
    depth = balanceAfter(line, depth);
  }
  if (taken.length < minEntries) return none;
  return {
    yamlText: lines.join('\n'),
    count: taken.length,
    each(fn) {
      for (const i of taken) fn(readFastLine(original[i]!, i + 1)!);
    },
  };
}
