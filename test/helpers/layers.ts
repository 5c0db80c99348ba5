// The layer checker of test/layers.test.ts: reads the imports of every src/ file (static `import` and
// `export ... from`, `import type`, dynamic `import()`), maps each file to its folder, and reports the arrows
// between folders that the layer table does not allow, file-level bans, and cycles between folders.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import ts from 'typescript';

/** Folder → the folders it may import ("root" is the files directly in src/). */
export type LayerTable = Record<string, readonly string[]>;

/** A file-level ban inside an allowed folder arrow: files of `from` never import these files. */
export interface FileBan {
  from: string;
  files: readonly string[];
  why: string;
}

/** One import between two src files, as paths relative to src/ (`dns/lookup.ts`). */
export interface Arrow {
  from: string;
  to: string;
}

/** Where a file sits: its first path segment, or "root" for a file directly in src/. */
export function folderOf(file: string): string {
  const i = file.indexOf('/');
  return i < 0 ? 'root' : file.slice(0, i);
}

/** Module specifiers a source text imports, by TypeScript's own scanner (type-only and dynamic included). */
export function importSpecifiers(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** Every `.ts` file under `srcDir` → its text, keyed by path relative to src/ with `/` separators. */
export function readSources(srcDir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) out.set(relative(srcDir, p).split('\\').join('/'), readFileSync(p, 'utf8'));
    }
  };
  walk(srcDir);
  return out;
}

/** The arrows between src files: relative specifiers resolved (`.js` → `.ts`); packages and files outside src/ skipped. */
export function arrowsOf(files: Map<string, string>): Arrow[] {
  const out: Arrow[] = [];
  for (const [from, text] of files) {
    for (const spec of importSpecifiers(text)) {
      if (!spec.startsWith('.')) continue;
      const target = posix.normalize(posix.join(posix.dirname(from), spec)).replace(/\.js$/, '.ts');
      if (target.startsWith('../')) continue; // outside src/ (package.json)
      out.push({ from, to: target });
    }
  }
  return out;
}

export const arrowKey = (a: Arrow): string => `${a.from} → ${a.to}`;

export interface LayerReport {
  /** Arrows against the table or a file ban, with the reason. */
  forbidden: { arrow: string; why: string }[];
  /** Cycles between folders, each as `a → b → a`. */
  cycles: string[];
  /** Folders of src/ the table does not name. */
  unknownFolders: string[];
}

/**
 * Checks the arrows against the table and the bans. Arrows listed in `exempt` (known, pending removal) are
 * neither reported nor counted in the folder graph searched for cycles.
 */
export function checkLayers(
  arrows: Arrow[],
  table: LayerTable,
  bans: readonly FileBan[] = [],
  exempt: ReadonlySet<string> = new Set(),
): LayerReport {
  const forbidden: LayerReport['forbidden'] = [];
  const unknown = new Set<string>();
  const graph = new Map<string, Set<string>>();
  for (const a of arrows) {
    const from = folderOf(a.from);
    const to = folderOf(a.to);
    for (const f of [from, to]) if (!(f in table)) unknown.add(f);
    if (from === to || exempt.has(arrowKey(a))) continue;
    if (!graph.has(from)) graph.set(from, new Set());
    graph.get(from)!.add(to);
    if (!(table[from] ?? []).includes(to)) forbidden.push({ arrow: arrowKey(a), why: `${from}/ may not import ${to}/` });
    for (const ban of bans) {
      if (ban.from === from && ban.files.includes(a.to)) forbidden.push({ arrow: arrowKey(a), why: ban.why });
    }
  }
  return { forbidden, cycles: folderCycles(graph), unknownFolders: [...unknown].sort() };
}

/** Every elementary cycle's first sighting in a depth-first walk of the folder graph (empty: acyclic). */
export function folderCycles(graph: Map<string, Set<string>>): string[] {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    path.push(n);
    for (const m of [...(graph.get(n) ?? [])].sort()) {
      if (state.get(m) === 'open') cycles.push([...path.slice(path.indexOf(m)), m].join(' → '));
      else if (!state.has(m)) visit(m);
    }
    path.pop();
    state.set(n, 'done');
  };
  for (const n of [...graph.keys()].sort()) if (!state.has(n)) visit(n);
  return cycles;
}

/** The src/ folder of this repository (test/helpers → ../../src). */
export const SRC_DIR = join(dirname(new URL(import.meta.url).pathname), '..', '..', 'src');
