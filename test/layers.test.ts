// The layers of src/ import one way: every import between folders must be an arrow of this table, and no
// folders import each other in a cycle. Type-only and dynamic imports count as arrows too.
import test from 'ava';
import { arrowKey, arrowsOf, checkLayers, type FileLimit, folderCycles, type LayerTable, readSources, SRC_DIR } from './helpers/layers.js';

/** Folder → the folders it may import ("root" is the files directly in src/). */
const LAYERS: LayerTable = {
  // IP addresses: parse/format, CIDR, masks, embedded IPv4, private ranges, loopback, source bytes, Host names
  net: [],
  // the DNS protocol: registry, names, query parsing, response writing, lookup, zone data, RRL, transports
  dns: ['net'],
  // files → validated specs with file:line:col diagnostics
  config: ['net', 'dns'],
  // probes, prober, health table, the probe list
  health: ['net', 'config'],
  // GeoIP locator, pools, region order, target selection, the pool decision (dns/'s dynamic-name hook)
  gslb: ['net', 'dns', 'config', 'health'],
  // the HTTP edge: access rules, connection budget, routes, pages (snapshot data comes in as functions)
  http: ['net', 'dns', 'config', 'health'],
  // DNSSEC: keys and BIND's key files, canonical RRsets, RRSIG signing and verifying, NSEC and compact denial
  dnssec: ['net', 'dns'],
  // the fleet through etcd: keys and values, the link (lease, observations, overrides, watch), the fleet's verdicts
  fleet: ['net', 'config', 'health', 'gslb'],
  // the application: cli, server wiring, cluster, snapshot, query pipeline, explain, status, metrics, watchers
  root: ['net', 'dns', 'config', 'health', 'gslb', 'http', 'dnssec', 'fleet'],
};

/** gslb/ may use dns/'s dynamic-name hook, names, registry and RDATA helpers, never the machinery that answers queries. */
const BANS: FileLimit[] = [
  {
    from: 'fleet',
    to: 'gslb',
    only: ['gslb/adjust.ts'],
    why: 'fleet/ carries overrides (gslb/adjust.ts types) and nothing else of gslb/',
  },
  {
    from: 'gslb',
    to: 'dns',
    only: ['dns/dynamic.ts', 'dns/name.ts', 'dns/registry.ts', 'dns/rdata.ts'],
    why: 'gslb/ imports from dns/ only the dynamic-name hook, names, the registry and RDATA helpers (never transport, parsing, lookup, writer or RRL)',
  },
];

/**
 * Arrows against the layers that exist today, each removed by a restructuring under way. The list only
 * shrinks: an arrow not listed fails, and so does a listed arrow that no longer exists.
 */
const PENDING: Record<string, string> = {};

const arrows = arrowsOf(readSources(SRC_DIR));

test('every import between src/ folders is an arrow of the layer table (or a listed pending one)', (t) => {
  t.true(arrows.length > 100, `the imports were read (${arrows.length})`);
  const report = checkLayers(arrows, LAYERS, BANS, new Set(Object.keys(PENDING)));
  t.deepEqual(report.unknownFolders, [], 'every folder of src/ has a row in the table');
  t.deepEqual(
    report.forbidden.map((f) => `${f.arrow}: ${f.why}`),
    [],
  );
});

test('no import cycle between src/ folders', (t) => {
  t.deepEqual(folderCycles(new Map(Object.entries(LAYERS).map(([k, v]) => [k, new Set(v)]))), [], 'the table itself is acyclic');
  t.deepEqual(checkLayers(arrows, LAYERS, BANS, new Set(Object.keys(PENDING))).cycles, []);
});

test('every pending arrow still exists and is still against the layers (the list only shrinks)', (t) => {
  const present = new Set(arrows.map(arrowKey));
  t.deepEqual(
    Object.keys(PENDING).filter((p) => !present.has(p)),
    [],
    'gone: remove them from PENDING',
  );
  const against = new Set(checkLayers(arrows, LAYERS, BANS).forbidden.map((f) => f.arrow));
  t.deepEqual(
    Object.keys(PENDING).filter((p) => !against.has(p)),
    [],
    'allowed by the table: remove them from PENDING',
  );
});

// ---- the checker itself ----------------------------------------------------------------------------

test('checker: a forbidden import is reported, whether static, type-only, re-exported, dynamic or required', (t) => {
  const files = new Map([
    ['dns/x.ts', "import { decide } from '../gslb/y.js';\n"],
    ['dns/r.ts', "import { createRequire } from 'node:module';\nconst m = createRequire(import.meta.url)('../gslb/y.js');\n"],
    ['dns/t.ts', "import type { Pool } from '../gslb/y.js';\n"],
    ['dns/e.ts', "export { decide } from '../gslb/y.js';\n"],
    ['dns/d.ts', "export async function f() { return import('../gslb/y.js'); }\n"],
    ['dns/ok.ts', "import { ipToBytes } from '../net/a.js';\nimport dgram from 'node:dgram';\nimport { other } from './x.js';\n"],
    [
      'gslb/y.ts',
      "import { TYPE } from '../dns/registry.js';\nimport { lookup } from '../dns/lookup.js';\nimport type { Exchange } from '../dns/exchange.js';\n",
    ],
    ['net/a.ts', ''],
  ]);
  const report = checkLayers(arrowsOf(files), LAYERS, BANS);
  t.deepEqual(report.forbidden.map((f) => f.arrow).sort(), [
    'dns/d.ts → gslb/y.ts',
    'dns/e.ts → gslb/y.ts',
    'dns/r.ts → gslb/y.ts',
    'dns/t.ts → gslb/y.ts',
    'dns/x.ts → gslb/y.ts',
    'gslb/y.ts → dns/exchange.ts',
    'gslb/y.ts → dns/lookup.ts',
  ]);
  t.is(report.forbidden.find((f) => f.arrow === 'dns/x.ts → gslb/y.ts')!.why, 'dns/ may not import gslb/');
  t.deepEqual(
    checkLayers(arrowsOf(files), LAYERS, BANS, new Set(['dns/x.ts → gslb/y.ts']))
      .forbidden.map((f) => f.arrow)
      .includes('dns/x.ts → gslb/y.ts'),
    false,
    'an exempt (pending) arrow is not reported',
  );
});

test('checker: an import or require whose path is computed is reported, wherever it is', (t) => {
  const files = new Map([
    ['dns/c.ts', "const p = '../gslb/y.js';\nexport async function f() { return import(p); }\n"],
    [
      'root.ts',
      "import { createRequire } from 'node:module';\nconst req = createRequire(import.meta.url);\nexport const m = (p: string) => req(p);\n",
    ],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text under test holds a template literal
    ['net/t.ts', 'export const f = (n: string) => import(`../dns/${n}.js`);\n'],
    ['net/ok.ts', "export const g = () => import('./t.js');\n"],
    [
      'net/alias.ts',
      "import { createRequire } from 'node:module';\nconst load = createRequire(import.meta.url);\nexport const d = load('../dns/z.js');\n",
    ],
  ]);
  const report = checkLayers(arrowsOf(files), LAYERS);
  t.deepEqual(report.forbidden.map((f) => f.arrow).sort(), [
    'dns/c.ts → (computed path)',
    'net/alias.ts → dns/z.ts',
    'net/t.ts → (computed path)',
    'root.ts → (computed path)',
  ]);
});

test('checker: root files are the folder "root"; an unknown folder is reported', (t) => {
  const files = new Map([
    ['http/p.ts', "import type { Snapshot } from '../snapshot.js';\n"],
    ['extra/z.ts', "import { x } from '../net/a.js';\n"],
  ]);
  const report = checkLayers(arrowsOf(files), LAYERS);
  t.deepEqual(
    report.forbidden.map((f) => f.why),
    ['http/ may not import root/', 'extra/ may not import net/'],
  );
  t.deepEqual(report.unknownFolders, ['extra']);
});

test('checker: a cycle between folders is reported even when the table allows each arrow', (t) => {
  const loose: LayerTable = { a: ['b'], b: ['c'], c: ['a'] };
  const files = new Map([
    ['a/1.ts', "import '../b/2.js';\n"],
    ['b/2.ts', "import '../c/3.js';\n"],
    ['c/3.ts', "import type { T } from '../a/1.js';\n"],
  ]);
  const report = checkLayers(arrowsOf(files), loose);
  t.deepEqual(report.forbidden, []);
  t.deepEqual(report.cycles, ['a → b → c → a']);
  t.deepEqual(
    checkLayers(
      arrowsOf(
        new Map([
          ['a/1.ts', "import '../b/2.js';\n"],
          ['b/2.ts', ''],
        ]),
      ),
      loose,
    ).cycles,
    [],
    'one way is no cycle',
  );
});
