// Reading YAML with positions. Every value the loaders take out of a file goes through these helpers,
// so every error can name `file:line:col` of the node that broke a rule. Nothing here knows DNS.
import type { Stats } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  type Scalar,
  visit,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';

export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  message: string;
  severity: 'error' | 'warning';
}

/** Diagnostics reported per file: past this many, one line says how many more there are. */
export const MAX_DIAGNOSTICS = 1000;

/**
 * A file's diagnostics, at most MAX_DIAGNOSTICS of them plus a last line counting the rest: a file broken on
 * every line must not flood the log and /status with hundreds of thousands of lines.
 */
export function reportable(diags: Diagnostic[]): Diagnostic[] {
  if (diags.length <= MAX_DIAGNOSTICS) return diags;
  const shown = diags.slice(0, MAX_DIAGNOSTICS);
  const rest = diags.slice(MAX_DIAGNOSTICS);
  const first = rest[0]!;
  const errors = rest.filter((d) => d.severity === 'error').length;
  const more = [
    errors && `${errors} more error${errors === 1 ? '' : 's'}`,
    rest.length - errors && `${rest.length - errors} more warning${rest.length - errors === 1 ? '' : 's'}`,
  ]
    .filter(Boolean)
    .join(' and ');
  shown.push({
    ...first,
    message: `${more} from here on, not listed (only the first ${MAX_DIAGNOSTICS} are)`,
    severity: errors ? 'error' : 'warning',
  });
  return shown;
}

/**
 * What a path that is not a regular file is ("a directory", "a named pipe", …), null for a regular file:
 * reading a directory fails, a named pipe blocks for ever, a device may never end.
 */
export function notARegularFile(st: Stats): string | null {
  if (st.isFile()) return null;
  return st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a named pipe' : st.isSocket() ? 'a socket' : 'a device';
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.severity === 'warning' ? 'warning: ' : ''}${d.message}`;
}

/** A path as shown in messages: relative to the working directory when below it. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** Where a diagnostic points: a YAML node, or a raw offset in the file (or a lineColumn() code). */
export type At = Node | number | null | undefined;

// Positions of text the YAML parser never saw (large zones' fast-read lines) are coded directly as line and
// column, in numbers beyond any file offset; every position helper below decodes them.
const LINE_COL = 2 ** 45;

/** A position code for line `line` (1-based) and column `col` (1-based); `code + n` is n columns further. */
export function lineColumn(line: number, col: number): number {
  return LINE_COL + line * 65536 + col;
}

// Positions in other files read with this one (master files a zone includes): the file's number, line and
// column, beyond the codes above (up to 255 files of 2^28 lines; a column past 65535 is shown as 65535).
const OTHER_FILE = 2 ** 48;
const FILE_STRIDE = 2 ** 44;
export const MAX_OTHER_FILES = 255;

// Aliases are expanded as the loaders walk the tree; a budget keeps a "billion laughs" file from
// expanding into billions of nodes.
const MAX_ALIAS_EXPANSIONS = 10_000;

export class SourceFile {
  readonly doc: Document.Parsed;
  readonly diagnostics: Diagnostic[] = [];
  private readonly lines = new LineCounter();
  private aliasExpansions = 0;

  constructor(
    readonly path: string,
    text: string,
    readonly display = displayPath(path),
  ) {
    // the parser's own duplicate-key check (uniqueKeys) compares each key with every earlier key of its
    // mapping: minutes for a file of 100,000 names. duplicateKeys() finds the same keys in one pass.
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: false });
    const dups = this.duplicateKeys(text);
    let d = 0;
    for (const e of this.doc.errors) {
      for (; d < dups.length && dups[d]!.offset < e.pos[0]; d++) this.errorAt(dups[d]!.offset, dups[d]!.message);
      // RESOURCE_EXHAUSTION: the parser ran out of stack on collections nested thousands deep
      this.errorAt(e.pos[0], e.code === 'RESOURCE_EXHAUSTION' ? `YAML nested too deeply to read (${e.message})` : e.message);
    }
    for (; d < dups.length; d++) this.errorAt(dups[d]!.offset, dups[d]!.message);
    for (const w of this.doc.warnings) this.warnAt(w.pos[0], w.message);
  }

  /**
   * Every repeated key of every mapping, as the parser's uniqueKeys check finds them (scalar keys of equal
   * value), in file order. One walk with a set per mapping; iterative, for documents nested thousands deep.
   */
  private duplicateKeys(text: string): { offset: number; message: string }[] {
    const out: { offset: number; message: string }[] = [];
    const stack: unknown[] = [this.doc.contents];
    while (stack.length > 0) {
      const n = stack.pop();
      if (isMap(n)) {
        const seen = new Set<unknown>();
        for (const p of n.items) {
          const k = p.key;
          if (isScalar(k) && !Number.isNaN(k.value)) {
            if (!seen.has(k.value)) seen.add(k.value);
            else {
              // an empty key (`: value`) may be placed before the blanks that the parser points past
              let at = k.range?.[0] ?? 0;
              if (k.range && k.range[0] === k.range[1]) while (text[at] === ' ' || text[at] === '\t') at++;
              out.push({
                offset: at,
                message:
                  at === k.range?.[0]
                    ? `duplicate key "${String(k.value)}" (map keys must be unique)`
                    : 'duplicate key (map keys must be unique)',
              });
            }
          }
          stack.push(p.key, p.value);
        }
      } else if (isSeq(n)) {
        for (const i of n.items) stack.push(i);
      }
    }
    return out.sort((a, b) => a.offset - b.offset);
  }

  get root(): Node | null {
    return this.deref(this.doc.contents as Node | null);
  }

  get hasErrors(): boolean {
    return this.diagnostics.some((d) => d.severity === 'error');
  }

  offsetOf(at: At): number {
    if (typeof at === 'number') return at;
    return at?.range?.[0] ?? 0;
  }

  position(at: At): { line: number; col: number } {
    return this.linePos(this.offsetOf(at));
  }

  private linePos(offset: number): { line: number; col: number } {
    if (offset >= OTHER_FILE) offset = ((offset - OTHER_FILE) % FILE_STRIDE) + LINE_COL;
    if (offset >= LINE_COL) return { line: Math.floor((offset - LINE_COL) / 65536), col: (offset - LINE_COL) % 65536 };
    return this.lines.linePos(offset);
  }

  /** Display paths of the other files positions may point into (fileLineColumn). */
  private readonly otherFiles: string[] = [];

  /** A position code for `line` and `col` of another file read with this one (an included master file). */
  fileLineColumn(display: string, line: number, col: number): number {
    let i = this.otherFiles.indexOf(display);
    if (i < 0) {
      if (this.otherFiles.length >= MAX_OTHER_FILES) throw new Error(`more than ${MAX_OTHER_FILES} files in one zone`);
      i = this.otherFiles.push(display) - 1;
    }
    return OTHER_FILE + i * FILE_STRIDE + line * 65536 + Math.min(col, 65535);
  }

  /** The file a position is in (this one, or an included one). */
  fileOf(offset: number): string {
    return offset >= OTHER_FILE ? this.otherFiles[Math.floor((offset - OTHER_FILE) / FILE_STRIDE)]! : this.display;
  }

  error(at: At, message: string): void {
    this.errorAt(this.offsetOf(at), message);
  }

  warn(at: At, message: string): void {
    this.warnAt(this.offsetOf(at), message);
  }

  private errorAt(offset: number, message: string): void {
    this.push(offset, message, 'error');
  }

  private warnAt(offset: number, message: string): void {
    this.push(offset, message, 'warning');
  }

  /** line:col:message of every diagnostic, to drop repeats in constant time (a bad file can have 100,000s). */
  private readonly reported = new Set<string>();

  private push(offset: number, message: string, severity: Diagnostic['severity']): void {
    const { line, col } = this.linePos(offset);
    const file = this.fileOf(offset);
    const key = `${file}:${line}:${col}:${message}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.diagnostics.push({ file, line, col, message, severity });
  }

  /** Follows aliases (`*name`), counting expansions against the budget. */
  deref(node: Node | null | undefined): Node | null {
    let n: unknown = node ?? null;
    while (isAlias(n)) {
      if (++this.aliasExpansions > MAX_ALIAS_EXPANSIONS) {
        // said once, at the first alias over the budget: the rest of the file's aliases stay unexpanded
        if (this.aliasExpansions === MAX_ALIAS_EXPANSIONS + 1)
          this.error(n, `too many alias expansions (more than ${MAX_ALIAS_EXPANSIONS}): refusing to expand this file`);
        return null;
      }
      n = this.aliasTarget(n);
    }
    return n as Node | null;
  }

  /** Alias → the node it names (its anchor's last definition before it), found in one walk of the document. */
  private aliasTargets: WeakMap<object, Node> | null = null;

  private aliasTarget(alias: object): Node | null {
    // yaml's Alias.resolve() walks the whole document on every call: quadratic in a file of many aliases
    if (!this.aliasTargets) {
      const targets = new WeakMap<object, Node>();
      const anchors = new Map<string, Node>();
      visit(this.doc, {
        Node(_, node) {
          if (isAlias(node)) {
            const target = anchors.get(node.source);
            if (target) targets.set(node, target);
          } else if (node.anchor) anchors.set(node.anchor, node);
        },
      });
      this.aliasTargets = targets;
    }
    return this.aliasTargets.get(alias) ?? null;
  }

  // ---- typed access ------------------------------------------------------------------------

  /** The entries of a mapping, keys as strings; reports and returns null when `node` is not a mapping. */
  map(node: Node | null, what: string): Entry[] | null {
    const n = this.deref(node);
    if (!isMap(n)) {
      this.error(n ?? node, `${what} must be a mapping`);
      return null;
    }
    return this.entries(n);
  }

  private entries(m: YAMLMap): Entry[] {
    const out: Entry[] = [];
    for (const pair of m.items) {
      const keyNode = this.deref(pair.key as Node | null);
      if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === 'object') {
        this.error(keyNode ?? m, 'mapping keys must be plain strings');
        continue;
      }
      out.push({ key: String(keyNode.value), keyNode, value: this.deref(pair.value as Node | null) });
    }
    return out;
  }

  /** Reports every key not in `allowed`. */
  knownKeys(entries: Entry[], allowed: readonly string[], what: string): void {
    for (const e of entries) {
      if (!allowed.includes(e.key)) {
        this.error(e.keyNode, `unknown key "${e.key}" in ${what} (expected one of: ${allowed.join(', ')})`);
      }
    }
  }

  /**
   * A top-level section of mapping form (`health:`, `rrl:`, ...) by key: null when it is absent or written
   * empty (the defaults hold), or not a mapping (reported); every key not in `allowed` is reported.
   */
  section(ent: Entry | undefined, what: string, allowed: readonly string[]): Map<string, Entry> | null {
    if (!ent || this.scalar(ent.value) === null) return null;
    const entries = this.map(ent.value, what);
    if (!entries) return null;
    this.knownKeys(entries, allowed, what);
    return entryMap(entries);
  }

  /** A sequence's items, or a single non-sequence value as a one-item list. */
  list(node: Node | null): Node[] {
    const n = this.deref(node);
    if (isSeq(n)) return (n as YAMLSeq<Node>).items.map((i) => this.deref(i)).filter((i): i is Node => i !== null);
    return n === null ? [] : [n];
  }

  isSeq(node: Node | null): boolean {
    return isSeq(this.deref(node));
  }

  isMap(node: Node | null): boolean {
    return isMap(this.deref(node));
  }

  scalar(node: Node | null): unknown {
    const n = this.deref(node);
    return isScalar(n) ? (n as Scalar).value : undefined;
  }

  /** The scalar as written in the file (for hex digests and the like, which YAML would read as numbers). */
  sourceText(node: Node | null): string | undefined {
    const n = this.deref(node);
    if (!isScalar(n)) return undefined;
    const s = (n as Scalar & { source?: string }).source;
    return typeof n.value === 'string' ? n.value : (s ?? (n.value === null ? undefined : String(n.value)));
  }

  string(node: Node | null, what: string): string | null {
    const v = this.scalar(node);
    if (typeof v === 'string' && v.length > 0) return v;
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    this.error(node, `${what} must be a non-empty string`);
    return null;
  }

  integer(node: Node | null, what: string, min: number, max: number): number | null {
    const v = this.scalar(node);
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
    this.error(node, `${what} must be an integer from ${min} to ${max}${v === undefined ? '' : `, got ${JSON.stringify(v)}`}`);
    return null;
  }

  number(node: Node | null, what: string, min: number, max: number): number | null {
    const v = this.scalar(node);
    if (typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max) return v;
    this.error(node, `${what} must be a number from ${min} to ${max}${v === undefined ? '' : `, got ${JSON.stringify(v)}`}`);
    return null;
  }

  boolean(node: Node | null, what: string): boolean | null {
    const v = this.scalar(node);
    if (typeof v === 'boolean') return v;
    this.error(node, `${what} must be true or false`);
    return null;
  }

  oneOf<T extends string>(node: Node | null, what: string, values: readonly T[]): T | null {
    const v = this.scalar(node);
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
    this.error(node, `${what} must be one of ${values.join(', ')}${v === undefined ? '' : `, got ${JSON.stringify(v)}`}`);
    return null;
  }
}

export interface Entry {
  key: string;
  keyNode: Node;
  value: Node | null;
}

export function entryMap(entries: Entry[]): Map<string, Entry> {
  return new Map(entries.map((e) => [e.key, e]));
}
