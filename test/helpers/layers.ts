// The layer checker of test/layers.test.ts: reads the imports of every src/ file (static `import` and
// `export ... from`, `import type`, dynamic `import()`, `require()` and `createRequire(...)()`), maps each
// file to its folder, and reports the arrows between folders that the layer table does not allow, arrows
// outside a folder's allowed files, imports whose path is computed (they cannot be checked), and cycles
// between folders.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import ts from 'typescript';

/** Folder → the folders it may import ("root" is the files directly in src/). */
export type LayerTable = Record<string, readonly string[]>;

/** A file-level limit inside an allowed folder arrow: files of `from` import only these files of `to`. */
export interface FileLimit {
  from: string;
  to: string;
  only: readonly string[];
  why: string;
}

/** The target of an import whose path is not a literal (`import(p)`, `require(p)`): nothing can check it. */
export const COMPUTED = '(computed path)';

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

/**
 * Module specifiers a source text imports, by TypeScript's own scanner (type-only and dynamic included), plus
 * the paths given to `require()`, `createRequire(...)()` and names bound to `createRequire(...)`; COMPUTED
 * when such a path or an `import()`'s is not a literal.
 */
export function importSpecifiers(text: string): string[] {
  const out = new Set(ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName));
  const isLiteral = (n: ts.Node | undefined) => n !== undefined && (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n));
  const file = ts.createSourceFile('x.ts', text, ts.ScriptTarget.Latest);
  // names bound to createRequire(...) in this file, besides `require` itself
  const requires = new Set(['require']);
  const bind = (n: ts.Node): void => {
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer && ts.isCallExpression(n.initializer)) {
      const c = n.initializer.expression;
      if (ts.isIdentifier(c) && c.text === 'createRequire') requires.add(n.name.text);
    }
    ts.forEachChild(n, bind);
  };
  bind(file);
  const isRequire = (callee: ts.Expression): boolean =>
    (ts.isIdentifier(callee) && requires.has(callee.text)) ||
    (ts.isPropertyAccessExpression(callee) && isRequire(callee.expression)) ||
    (ts.isCallExpression(callee) && ts.isIdentifier(callee.expression) && callee.expression.text === 'createRequire');
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n) && (n.expression.kind === ts.SyntaxKind.ImportKeyword || isRequire(n.expression))) {
      const arg = n.arguments[0];
      out.add(isLiteral(arg) ? (arg as ts.StringLiteral).text : COMPUTED);
    }
    ts.forEachChild(n, visit);
  };
  visit(file);
  return [...out];
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
      if (spec === COMPUTED) {
        out.push({ from, to: COMPUTED });
        continue;
      }
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
  /** Arrows against the table or a file limit, and computed imports, with the reason. */
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
  limits: readonly FileLimit[] = [],
  exempt: ReadonlySet<string> = new Set(),
): LayerReport {
  const forbidden: LayerReport['forbidden'] = [];
  const unknown = new Set<string>();
  const graph = new Map<string, Set<string>>();
  for (const a of arrows) {
    if (a.to === COMPUTED) {
      forbidden.push({ arrow: arrowKey(a), why: 'an import whose path is computed cannot be checked: write the path' });
      continue;
    }
    const from = folderOf(a.from);
    const to = folderOf(a.to);
    for (const f of [from, to]) if (!(f in table)) unknown.add(f);
    if (from === to || exempt.has(arrowKey(a))) continue;
    if (!graph.has(from)) graph.set(from, new Set());
    graph.get(from)!.add(to);
    if (!(table[from] ?? []).includes(to)) forbidden.push({ arrow: arrowKey(a), why: `${from}/ may not import ${to}/` });
    for (const l of limits) {
      if (l.from === from && l.to === to && !l.only.includes(a.to)) forbidden.push({ arrow: arrowKey(a), why: l.why });
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
