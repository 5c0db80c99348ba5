// The lexical layer of RFC 1035 master files (§5.1): one entry per logical line — a directive or a record —
// with parentheses joining lines, `;` comments, quoted strings and backslash escapes, each token with its
// line and column. Tokens keep their characters as written (quotes and escapes included): what an escape
// means depends on the field (a `\.` inside a name is not a label separator), so the field readers
// (master-text.ts) resolve them.

export interface Token {
  /** The characters as written, quotes and escapes kept. */
  raw: string;
  /** The whole token is one quoted string. */
  quoted: boolean;
  line: number;
  col: number;
}

export interface LogicalLine {
  tokens: Token[];
  /** The line starts with blank space: the record has no owner written (the previous owner's). */
  blankOwner: boolean;
}

export interface LexError {
  error: string;
  line: number;
  col: number;
}

const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SEMI = 0x3b;
const OPEN = 0x28;
const CLOSE = 0x29;

const isBlank = (c: number) => c === SPACE || c === TAB || c === CR;
const ends = (c: number) => isBlank(c) || c === LF || c === SEMI || c === OPEN || c === CLOSE || Number.isNaN(c);

/**
 * The logical lines of a master file, in order; a lexical error ends the reading of that line (what comes
 * after its end is read on). `text` is the whole file.
 */
export function* logicalLines(text: string): Generator<LogicalLine | LexError> {
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const n = text.length;
  let tokens: Token[] = [];
  let blankOwner = false;
  let paren: { line: number; col: number } | null = null;
  let atLineStart = true;
  let broken = false; // an error in this logical line: skip to its end

  while (i < n) {
    const c = text.charCodeAt(i);
    if (atLineStart) {
      atLineStart = false;
      if (!paren && tokens.length === 0) blankOwner = isBlank(c);
    }
    if (c === LF) {
      i++;
      line++;
      lineStart = i;
      atLineStart = true;
      if (!paren) {
        if (tokens.length && !broken) yield { tokens, blankOwner };
        tokens = [];
        broken = false;
      }
      continue;
    }
    if (isBlank(c)) {
      i++;
      continue;
    }
    if (c === SEMI) {
      while (i < n && text.charCodeAt(i) !== LF) i++;
      continue;
    }
    const col = i - lineStart + 1;
    if (c === OPEN) {
      if (paren && !broken) {
        broken = true;
        yield { error: `"(" inside parentheses (the one opened at line ${paren.line}:${paren.col} is not closed)`, line, col };
      }
      paren = { line, col };
      i++;
      continue;
    }
    if (c === CLOSE) {
      if (!paren && !broken) {
        broken = true;
        yield { error: '")" without an opening "("', line, col };
      }
      paren = null;
      i++;
      continue;
    }
    // a token: quoted, or running to a blank, a comment or a parenthesis (a quoted part inside it, as in
    // `alpn="h2,h3"`, runs to its closing quote)
    const start = i;
    const startLine = line;
    const quoted = c === QUOTE;
    let inQuote = false;
    let bad: LexError | null = null;
    while (i < n) {
      const d = text.charCodeAt(i);
      if (d === BACKSLASH) {
        const next = text.charCodeAt(i + 1);
        if (next === LF || Number.isNaN(next)) {
          bad = { error: 'a backslash at the end of a line (escape the character after it, or write \\DDD)', line, col: i - lineStart + 1 };
          i++;
          break;
        }
        i += 2;
        continue;
      }
      if (d === QUOTE) {
        inQuote = !inQuote;
        i++;
        if (!inQuote && quoted) break; // a quoted token ends at its closing quote
        continue;
      }
      if (inQuote) {
        if (d === LF) break;
        i++;
        continue;
      }
      if (ends(d)) break;
      i++;
    }
    if (!bad && inQuote) bad = { error: 'a quoted string is not closed on its line', line: startLine, col };
    if (bad) {
      if (!broken) yield bad;
      broken = true;
      continue;
    }
    tokens.push({ raw: text.slice(start, i), quoted, line: startLine, col });
  }
  if (paren && !broken) {
    yield { error: `"(" is not closed before the end of the file`, line: paren.line, col: paren.col };
    return;
  }
  if (tokens.length && !broken) yield { tokens, blankOwner };
}
