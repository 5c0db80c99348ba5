// Bad files: a truncated or corrupt GeoIP database, an empty zone
// file, a zone over limits.zone_bytes, a binary or non-UTF-8 zone, a directory or a dangling symlink where a
// zone should be, YAML nested thousands deep, deep YAML aliases ("billion laughs") in a zone and in
// steerdns.yaml, and a zone of 100,000 bad lines. Every case is walked end to end on a real server that was
// serving good data: the bad file arrives on disk (the watcher picks it up) or by a SIGHUP-equivalent reload;
// the exact message (file:line:col for zone and config files) shows in /status and the log, once, the
// steerdns_zone_load_errors_total metric rises, the last good data keeps being answered over UDP, and fixing
// the file recovers. Broken databases are built here from the project's own MaxMind DB writer (never from
// files outside the repository).
import { mkdirSync, renameSync, rmdirSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import test, { type ExecutionContext } from 'ava';
import { Reader } from 'maxmind';
import { parseServerConfig } from '../../src/config/server-config.js';
import { displayPath, formatDiagnostic, MAX_DIAGNOSTICS } from '../../src/config/source.js';
import { loadZoneFile } from '../../src/config/zone-file.js';
import { openDatabase } from '../../src/gslb/geo.js';
import { MAX_DATA_DEPTH } from '../../src/gslb/mmdb-check.js';
import { geoRecord } from '../../tools/geodb-build.mjs';
import { encodeValue, type Value, writeMmdb } from '../../tools/mmdb-writer.mjs';
import { BASE_CONFIG, query, runCli, startServer, type TestServer, tempDir, udp, writeFixture } from '../helpers/server.js';
import { addressesOf, get, poll, sampleValue, scrape, sleep, soaSerial } from '../operate/helpers.js';

const HTTP_CONFIG = `${BASE_CONFIG}http: "127.0.0.1:0"\n`;

/** A good zone; `extra` starts at line 8. */
const ZONE = (www: string, extra = '') => `origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  www: { A: ${www} }
${extra}`;

const rep = (s: string, n: number) => Array<string>(n).fill(s).join(', ');

// The loaders never expand a YAML document as a whole: they follow aliases only as deep as the schema reads
// (records, a TXT record's strings), counting every alias followed against a budget of 10,000 per file. The
// classic 9 levels × 10 is therefore refused by the schema after a few hundred aliases; the budget is reached
// by a file that is wide where the schema reads, as here.
/** Aliases past the expansion budget: 101 TXT records, each an alias of one record of 100 aliased strings. */
const LAUGHS = `  a: { TXT: [&l1 [&l0 "lol", ${rep('*l0', 99)}]] }\n  b: { TXT: [${rep('*l1', 101)}] }\n`;
/** The classic: 9 levels of anchors, each 10 aliases of the one before (10^8 strings if expanded). */
const CLASSIC_LEVELS = Array.from({ length: 8 }, (_, i) => `  l${i + 1}: { TXT: &l${i + 1} [${rep(`*l${i}`, 10)}] }`);
const CLASSIC_LAUGHS = `${['  l0: { TXT: &l0 ["lol"] }', ...CLASSIC_LEVELS].join('\n')}\n`;
const ALIAS_BUDGET = 'too many alias expansions (more than 10000): refusing to expand this file';
const TOO_DEEP = 'YAML nested too deeply to read \\(Maximum call stack size exceeded\\)';
/** `text` as a regular expression matching itself. */
const lit = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Replaces `file` atomically (write beside, rename over), as editors, git and geoipupdate do. */
function swap(file: string, content: string | Buffer): void {
  writeFileSync(`${file}.tmp`, content);
  renameSync(`${file}.tmp`, file);
}

interface StatusZone {
  origin: string | null;
  file: string;
  serial: number | null;
  state: string;
  loadedAt: string | null;
  failedAt: string | null;
  errors: string[];
}

interface Status {
  zones: StatusZone[];
  geoip: { database: string | null; error: string | null };
}

async function status(s: TestServer): Promise<Status> {
  return JSON.parse((await get(s.server.httpPort!, '/status')).body) as Status;
}

async function loadErrors(s: TestServer, zone: string): Promise<number> {
  return sampleValue(await scrape(s.server.httpPort!), 'steerdns_zone_load_errors_total', { zone }) ?? 0;
}

/** Error-level log lines since `from` whose message matches. */
function errorLogs(s: TestServer, from: number, match: string | RegExp): Record<string, unknown>[] {
  return s.logs
    .slice(from)
    .filter((l) => l.level === 50 && typeof l.msg === 'string' && (typeof match === 'string' ? l.msg === match : match.test(l.msg)));
}

const matches = (text: string, want: string | RegExp) => (typeof want === 'string' ? text === want : want.test(text));

function started(t: ExecutionContext, s: TestServer): TestServer {
  t.teardown(() => s.stop());
  return s;
}

/** Waits until `name` answers `want` (A, over UDP). */
async function served(port: number, name: string, want: string, what: string): Promise<number> {
  const { ms } = await poll(async () => ((await addressesOf(port, name)).join(',') === want ? true : undefined), {
    timeoutMs: 10_000,
    what,
  });
  return ms;
}

// ---- 1. GeoIP database ----------------------------------------------------------------------------------

const GEO_ZONE = `origin: example.test
soa: { ns: ns1.example.test., email: hostmaster@example.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  app:
    pool:
      check: { type: none }
      regions:
        us-east: [192.0.2.10]
        eu-west: [198.51.100.10]
        ap-south: [203.0.113.10]
`;

// 81.2.69.0/24 is in London: the bundled country database (what stands in when no database opens) answers
// eu-west for it. The test databases place it elsewhere, so an answer tells which database located it.
const SEATTLE = { country: 'US', continent: 'NA', location: [47.61, -122.33] as [number, number] };
const MUMBAI = { country: 'IN', continent: 'AS', location: [19.08, 72.88] as [number, number] };
const geoDb = (e: typeof SEATTLE) =>
  writeMmdb(
    [
      { network: '81.2.69.0/24', data: geoRecord(e, '81.2.69.0/24') },
      { network: '2001:db8::/32', data: geoRecord(e, '2001:db8::/32') },
    ],
    { buildEpoch: 1_700_000_000 },
  );

const MARKER = Buffer.from([0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com')]);

/** The database's metadata re-encoded with another node count (MaxMind's "invalid node count" test file). */
function withNodeCount(db: Buffer, nodeCount: number): Buffer {
  const md = new Reader(db).metadata;
  return Buffer.concat([
    db.subarray(0, db.lastIndexOf(MARKER) + MARKER.length),
    encodeValue({
      binary_format_major_version: { type: 'uint16', value: 2 },
      binary_format_minor_version: { type: 'uint16', value: 0 },
      build_epoch: { type: 'uint64', value: 1_700_000_000 },
      database_type: md.databaseType,
      description: { en: 'steerdns GeoIP database' },
      ip_version: { type: 'uint16', value: 6 },
      languages: ['en'],
      node_count: { type: 'uint32', value: nodeCount },
      record_size: { type: 'uint16', value: md.recordSize },
    }),
  ]);
}

/** A value of maps nested `n` deep: {a: {a: … 'x'}}. */
const nested = (n: number): Value => (n === 0 ? 'x' : { a: nested(n - 1) });

/** Deterministic noise. */
function randomBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** The A addresses answered to an ECS query for `ip/len`, and the scope of the reply. */
async function ecsAnswer(port: number, name: string, ip: string, len: number): Promise<{ addrs: string[]; scope: number | undefined }> {
  const r = await udp(port, query(name, 'A', { edns: true, options: [{ code: 'CLIENT_SUBNET', ip, sourcePrefixLength: len }] }));
  const opt = r.msg.additionals.find((a) => a.type === 'OPT');
  return {
    addrs: r.msg.answers
      .filter((a) => a.type === 'A')
      .map((a) => a.data as string)
      .sort(),
    scope: opt?.options?.find((o) => o.code === 8)?.scopePrefixLength,
  };
}

test('geoip: truncated, corrupt-tree, bad node counts (far and one off), random .mmdb files and bad values in the data section (a 2-byte double, a pointer past its end, maps nested too deep) are refused with their message; the old database keeps locating clients; a good one is picked up', async (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'geo.mmdb');
  const good = geoDb(SEATTLE);
  writeFileSync(file, good);
  const s = started(t, await startServer({ 'example.test.yaml': GEO_ZONE }, `${HTTP_CONFIG}geoip: { database: ${file}, ecs: true }\n`));
  const db0 = s.server.snapshot.db;
  t.is(db0?.path, file);
  t.deepEqual(await ecsAnswer(s.port, 'app.example.test', '81.2.69.0', 24), { addrs: ['192.0.2.10'], scope: 24 }, 'Seattle: us-east');
  t.like((await status(s)).geoip, { database: file, error: null });

  const md = new Reader(good).metadata;
  const metadataAt = good.lastIndexOf(MARKER);
  const treeEnd = md.searchTreeSize;
  // every record of the search tree's root pointing far past the data section
  const brokenTree = Buffer.from(good);
  brokenTree.writeUIntBE(0xffffff, 0, 3);
  brokenTree.writeUIntBE(0xffffff, 3, 3);
  const NO_METADATA = 'not a readable MaxMind DB: no metadata section (the file is truncated or of another format)';
  // the data section, walked value by value when the database opens: `good` with bytes overwritten at the
  // first latitude (a double: control byte 0x68, type 3 size 8, then 8 bytes)
  const dataAt = treeEnd + 16;
  const dataBytes = metadataAt - dataAt;
  const latAt = good.indexOf(encodeValue({ type: 'double', value: SEATTLE.location[0] }), dataAt);
  const patched = (bytes: number[]) => {
    const b = Buffer.from(good);
    Buffer.from(bytes).copy(b, latAt);
    return b;
  };
  // the writer puts the one record at data offset 0: a map (1 byte) and its key "a" (2 bytes) per level
  const tooDeep = writeMmdb([{ network: '81.2.69.0/24', data: nested(MAX_DATA_DEPTH + 1) }], { buildEpoch: 1_700_000_000 });
  const cases: [string, Buffer, string][] = [
    [
      'cut inside the metadata',
      good.subarray(0, metadataAt + MARKER.length + 20),
      'not a readable MaxMind DB: Unknown type NaN at offset 1043',
    ],
    [
      'cut right after the metadata marker',
      good.subarray(0, metadataAt + MARKER.length),
      'not a readable MaxMind DB: Invalid Extended Type at offset 0 val 7',
    ],
    ['cut inside the data section', good.subarray(0, treeEnd + 16 + 40), NO_METADATA],
    ['cut inside the search tree', good.subarray(0, Math.floor(treeEnd / 2)), NO_METADATA],
    ['0 bytes', Buffer.alloc(0), NO_METADATA],
    [
      'a node count of 100,000 (the tree would run past the data)',
      withNodeCount(good, 100_000),
      'corrupt MaxMind DB: the search tree (100000 nodes) runs past the data section',
    ],
    [
      'a node count one too high (the tree ends inside the separator)',
      withNodeCount(good, md.nodeCount + 1),
      `corrupt MaxMind DB: no data section separator after the search tree (${md.nodeCount + 1} nodes of ${md.recordSize} bits): the node count or record size is wrong`,
    ],
    ['a search tree whose root points past the data section', brokenTree, 'corrupt MaxMind DB: Unknown type NaN at offset 16777962'],
    ['64 KB of random bytes', randomBytes(65_536, 7), NO_METADATA],
    // MaxMind's GeoIP2-City-Test-Broken-Double-Format.mmdb: the reader reads 8 bytes whatever the size says, and
    // places every client near (0, 0)
    [
      'a double whose size nibble says 2 bytes',
      patched([0x62]),
      `corrupt MaxMind DB: a double of 2 bytes at data offset ${latAt - dataAt} (doubles are 8)`,
    ],
    // 001 00 111, 0xff: an 11-bit pointer to data offset 2047 (the writer itself emits no pointers)
    [
      'a pointer past the end of the data section',
      patched([0x27, 0xff]),
      `corrupt MaxMind DB: a pointer at data offset ${latAt - dataAt} to data offset 2047, outside the data section (${dataBytes} bytes)`,
    ],
    [
      `maps nested ${MAX_DATA_DEPTH + 1} deep`,
      tooDeep,
      `corrupt MaxMind DB: maps and arrays nested more than ${MAX_DATA_DEPTH} deep at data offset ${3 * MAX_DATA_DEPTH}`,
    ],
  ];
  // what the file looks like to the reader: good metadata from the same writer, a sane tree size
  t.true(treeEnd + 16 < metadataAt && treeEnd > 100, `tree ${treeEnd} bytes, metadata at ${metadataAt}`);
  t.is(withNodeCount(good, md.nodeCount).length, good.length, 'the metadata re-encoded as the writer does');
  t.true(latAt > dataAt && good[latAt] === 0x68 && dataBytes < 2047, `latitude at ${latAt}, data section ${dataAt}+${dataBytes}`);
  t.deepEqual(new Reader(tooDeep).get('81.2.69.1'), nested(MAX_DATA_DEPTH + 1), 'the reader itself reads it');

  const shown = displayPath(file);
  for (const [what, bytes, message] of cases) {
    const from = s.logs.length;
    swap(file, bytes);
    // openDatabase's own message, then the server's: which file, what is wrong, what keeps serving
    t.throws(() => openDatabase(file), { message: `${file}: ${message}` }, what);
    const want = `GeoIP database ${shown}: ${message} (keeping the previous database ${shown})`;
    await poll(() => (errorLogs(s, from, want).length > 0 ? true : undefined), {
      timeoutMs: 10_000,
      what: `${what}: the log says ${want}`,
    });
    t.is((await status(s)).geoip.error, want, what);
    t.is(s.server.snapshot.db, db0, `${what}: the same database object keeps serving`);
    t.deepEqual(
      await ecsAnswer(s.port, 'app.example.test', '81.2.69.0', 24),
      { addrs: ['192.0.2.10'], scope: 24 },
      `${what}: still located in Seattle`,
    );
    t.deepEqual((await ecsAnswer(s.port, 'app.example.test', '2001:db8:1::', 48)).addrs, ['192.0.2.10'], `${what}: IPv6 too`);
  }
  // said once per file, not on every poll of the unchanged broken file
  await sleep(1500);
  const last = `GeoIP database ${shown}: ${NO_METADATA} (keeping the previous database ${shown})`;
  t.is(s.logs.filter((l) => l.msg === last).length, cases.filter(([, , m]) => m === NO_METADATA).length);
  t.false(s.logs.some((l) => l.msg === 'GeoIP database reloaded'));

  // a good database again (another location for the same block): picked up, the error cleared
  const from = s.logs.length;
  swap(file, geoDb(MUMBAI));
  await poll(async () => ((await ecsAnswer(s.port, 'app.example.test', '81.2.69.0', 24)).addrs[0] === '203.0.113.10' ? true : undefined), {
    timeoutMs: 10_000,
    what: 'the new database answers ap-south',
  });
  t.true(s.logs.slice(from).some((l) => l.msg === 'GeoIP database reloaded'));
  t.like((await status(s)).geoip, { database: file, error: null });
  t.not(s.server.snapshot.db, db0);
  t.deepEqual(errorLogs(s, from, /./), []);
});

// ---- 2–7. bad zone files on a running server ---------------------------------------------------------------

interface ZoneCase {
  what: string;
  /** What is written over the zone file (a Buffer for bytes that are not text). */
  bad: string | Buffer | { symlinkTo: string };
  /** The errors, in order; or, with `anyOf`, errors each matching one of these, each of these matched. */
  errors: (string | RegExp)[];
  /** Set where the parser's stack decides how often it gives up (YAML nested deeper than the stack). */
  anyOf?: true;
}

/**
 * Cycles the zone file of a running server through good → bad → good: the bad version's errors must show in
 * /status and the log (each once), the metric must rise, the last good answers and serial must stay; the next
 * good version must be served.
 */
async function badThenFixed(
  t: ExecutionContext,
  s: TestServer,
  file: string,
  c: ZoneCase,
  goodWww: string,
  nextWww: string,
): Promise<void> {
  const { what } = c;
  const serial = await soaSerial(s.port, 'example.test');
  const before = (await status(s)).zones.find((z) => z.file === file)!;
  t.like(before, { state: 'loaded', errors: [] }, what);
  const errorsBefore = await loadErrors(s, 'example.test');
  const from = s.logs.length;
  if (typeof c.bad === 'object' && !Buffer.isBuffer(c.bad)) {
    symlinkSync(c.bad.symlinkTo, `${file}.tmp`);
    renameSync(`${file}.tmp`, file);
  } else swap(file, c.bad);
  const { value: st, ms } = await poll(
    async () => {
      const z = (await status(s)).zones.find((x) => x.file === file);
      return z && z.errors.length > 0 ? z : undefined;
    },
    { timeoutMs: 15_000, what: `${what}: errors in /status` },
  );
  if (c.anyOf) {
    t.true(st.errors.length <= 10, `${what}: ${JSON.stringify(st.errors).slice(0, 2000)}`);
    for (const e of st.errors)
      t.true(
        c.errors.some((want) => matches(e, want)),
        `${what}: unexpected ${e.slice(0, 300)}`,
      );
    for (const want of c.errors)
      t.true(
        st.errors.some((e) => matches(e, want)),
        `${what}: no ${String(want)} in ${JSON.stringify(st.errors)}`,
      );
  } else {
    t.is(st.errors.length, c.errors.length, `${what}: ${JSON.stringify(st.errors).slice(0, 2000)}`);
    for (const [i, want] of c.errors.entries()) {
      t.true(matches(st.errors[i] ?? '', want), `${what}: error ${i}: ${st.errors[i]?.slice(0, 300)} ≠ ${String(want).slice(0, 300)}`);
    }
  }
  t.like(st, { origin: 'example.test', state: 'stale', serial, loadedAt: before.loadedAt }, what);
  t.truthy(st.failedAt, what);
  // the log: each error once (a dangling link too: its own identity is compared, so it is not re-read)
  for (const e of st.errors) t.is(errorLogs(s, from, e).length, 1, `${what}: logged once: ${e.slice(0, 200)}`);
  const kept = errorLogs(s, from, `zone example.test. did not load: the last good version (serial ${serial}) keeps serving`).length;
  t.is(kept, 1, `${what}: "keeps serving" logged ${kept} times`);
  const errorsAfter = await loadErrors(s, 'example.test');
  t.is(errorsAfter, errorsBefore + 1, `${what}: steerdns_zone_load_errors_total ${errorsBefore} → ${errorsAfter}`);
  // the last good data keeps being answered
  t.deepEqual(await addressesOf(s.port, 'www.example.test'), [goodWww], what);
  t.is(await soaSerial(s.port, 'example.test'), serial, what);
  t.log(`${what}: in /status after ${ms} ms`);
  // fixed: served again, state loaded
  swap(file, ZONE(nextWww));
  await served(s.port, 'www.example.test', nextWww, `${what}: the fix`);
  t.like(
    (await status(s)).zones.find((z) => z.file === file),
    { state: 'loaded', errors: [] },
    what,
  );
}

test('zone files: empty, whitespace or comments only, binary, not UTF-8, a dangling symlink, YAML nested 10,000 and 100,000 deep, billion laughs — each refused with its message while the last good zone keeps serving', async (t) => {
  const s = started(t, await startServer({ 'example.test.yaml': ZONE('192.0.2.1') }, HTTP_CONFIG));
  const file = join(s.dir, 'zones', 'example.test.yaml');
  const D = displayPath(file);
  const EMPTY = `${D}:1:1: zone file is empty (it needs origin, soa and records)`;
  const lol = (n: number) => Array<string>(n).fill('"lol"').join(' ');
  const cases: ZoneCase[] = [
    { what: '0 bytes (a truncated write)', bad: '', errors: [EMPTY] },
    { what: 'whitespace only', bad: '   \n\n\t \n', errors: [EMPTY] },
    { what: 'comments only', bad: '# example.test is retired\n   # nothing below\n\n', errors: [EMPTY] },
    {
      what: 'a NUL byte',
      bad: ZONE('192.0.2.99', '  bin: { TXT: "a\0b" }\n'),
      errors: [`${D}:8:17: zone file is binary, not text (a NUL byte)`],
    },
    { what: 'a gzip file named .yaml', bad: gzipSync(ZONE('192.0.2.99')), errors: [`${D}:1:2: zone file is not UTF-8 text (byte 0x8b)`] },
    {
      what: 'Latin-1, not UTF-8 (columns count characters: ï is one)',
      bad: Buffer.concat([Buffer.from(ZONE('192.0.2.99', '  bin: { TXT: "naïve caf')), Buffer.from([0xe9]), Buffer.from('" }\n')]),
      errors: [`${D}:8:25: zone file is not UTF-8 text (byte 0xe9)`],
    },
    {
      what: 'cut inside a UTF-8 character',
      bad: Buffer.from(ZONE('192.0.2.99', '  bin: { TXT: "é" }\n')).subarray(
        0,
        Buffer.byteLength(ZONE('192.0.2.99', '  bin: { TXT: "')) + 1,
      ),
      errors: [`${D}:8:16: zone file is not UTF-8 text (byte 0xc3)`],
    },
    {
      what: 'a symbolic link to a file that does not exist',
      bad: { symlinkTo: 'nowhere/example.test.yaml' },
      errors: [`${D}:1:1: cannot read zone file: it is a symbolic link to nowhere/example.test.yaml, which does not exist`],
    },
    {
      what: 'YAML nested 10,000 deep',
      bad: ZONE('192.0.2.99', `  deep: { TXT: ${'['.repeat(10_000)}"lol"${']'.repeat(10_000)} }\n`),
      errors: [new RegExp(`^${lit(D)}:8:\\d+: ${TOO_DEEP}$`)],
      anyOf: true,
    },
    {
      what: 'YAML nested 100,000 deep, never closed',
      bad: ZONE('192.0.2.99', `  deep: ${'{a: '.repeat(100_000)}\n`),
      errors: [
        new RegExp(`^${lit(D)}:8:\\d+: ${TOO_DEEP}$`),
        new RegExp(`^${lit(D)}:8:\\d+: Flow map in block collection must be sufficiently indented and end with a }$`),
      ],
      anyOf: true,
    },
    {
      what: 'billion laughs past the alias budget (101 × 100 aliases)',
      bad: ZONE('192.0.2.99', LAUGHS),
      errors: [
        `${D}:8:18: TXT at "b": duplicate record ${lol(100)}`,
        `${D}:8:520: ${ALIAS_BUDGET}`,
        `${D}:8:18: TXT at "b": duplicate record "lol"`,
      ],
    },
    {
      what: 'billion laughs, the classic 9 levels × 10 aliases (never expanded past what the schema reads)',
      bad: ZONE('192.0.2.99', CLASSIC_LAUGHS),
      errors: [
        `${D}:8:18: TXT at "l1": duplicate record "lol"`,
        ...[2, 3, 4, 5, 6, 7, 8].map((i) => `${D}:${7 + i - 1}:18: TXT at "l${i}" must be a string or a list of strings`),
      ],
    },
  ];
  let www = '192.0.2.1';
  for (const [i, c] of cases.entries()) {
    const next = `192.0.2.${10 + i}`;
    await badThenFixed(t, s, file, c, www, next);
    www = next;
  }

  // not zone files at all, beside the good one: a directory named x.yaml and a dangling y.yaml
  const zones = join(s.dir, 'zones');
  mkdirSync(join(zones, 'x.yaml'));
  symlinkSync('gone/y.yaml', join(zones, 'y.yaml'));
  const want = {
    [join(zones, 'x.yaml')]: `${displayPath(join(zones, 'x.yaml'))}:1:1: not a zone file: it is a directory`,
    [join(zones, 'y.yaml')]:
      `${displayPath(join(zones, 'y.yaml'))}:1:1: cannot read zone file: it is a symbolic link to gone/y.yaml, which does not exist`,
  };
  const { value: listed } = await poll(
    async () => {
      const z = (await status(s)).zones.filter((x) => x.file in want);
      return z.length === 2 ? z : undefined;
    },
    { timeoutMs: 10_000, what: 'x.yaml and y.yaml in /status' },
  );
  for (const z of listed) t.like(z, { state: 'error', serial: null, loadedAt: null, errors: [want[z.file]!] });
  t.true(s.logs.some((l) => l.level === 50 && l.msg === want[join(zones, 'x.yaml')]));
  t.true(s.logs.some((l) => l.level === 50 && l.msg === want[join(zones, 'y.yaml')]));
  const fams = await scrape(s.server.httpPort!);
  t.true((sampleValue(fams, 'steerdns_zone_load_errors_total', { zone: 'x' }) ?? 0) >= 1);
  t.true((sampleValue(fams, 'steerdns_zone_load_errors_total', { zone: 'y' }) ?? 0) >= 1);
  // a zones reload (what the folder watcher runs) with nothing changed re-reads neither: no new log line, no
  // new count (SIGHUP re-reads every file: the config may have changed how they read)
  const logsBefore = s.logs.length;
  await s.server.reloadZones();
  const again = await scrape(s.server.httpPort!);
  for (const zone of ['x', 'y'])
    t.is(
      sampleValue(again, 'steerdns_zone_load_errors_total', { zone }),
      sampleValue(fams, 'steerdns_zone_load_errors_total', { zone }),
      zone,
    );
  t.false(
    s.logs.slice(logsBefore).some((l) => l.level === 50),
    'nothing logged again',
  );
  t.like(
    (await status(s)).zones.find((z) => z.file === file),
    { state: 'loaded', errors: [] },
  );
  t.deepEqual(await addressesOf(s.port, 'www.example.test'), [www]);
  // removed: gone from /status, example.test untouched
  rmdirSync(join(zones, 'x.yaml'));
  unlinkSync(join(zones, 'y.yaml'));
  await poll(async () => ((await status(s)).zones.length === 1 ? true : undefined), {
    timeoutMs: 10_000,
    what: 'x.yaml and y.yaml gone from /status',
  });
  t.deepEqual(await addressesOf(s.port, 'www.example.test'), [www]);
});

test('limits.zone_bytes: a zone over the limit is refused unread, naming its size and the limit; the limit follows steerdns.yaml on reload', async (t) => {
  const config = (limit: string) => `${HTTP_CONFIG}limits: { zone_bytes: ${limit} }\n`;
  const s = started(t, await startServer({ 'example.test.yaml': ZONE('192.0.2.1') }, config('4KB')));
  const file = join(s.dir, 'zones', 'example.test.yaml');
  const D = displayPath(file);
  const sized = (www: string, bytes: number) => {
    const z = ZONE(www, '# padding ');
    return `${z}${'x'.repeat(bytes - Buffer.byteLength(z) - 1)}\n`;
  };
  // exactly at the limit: loads
  t.is(Buffer.byteLength(sized('192.0.2.2', 4096)), 4096);
  swap(file, sized('192.0.2.2', 4096));
  await served(s.port, 'www.example.test', '192.0.2.2', 'a zone of exactly 4096 bytes');
  const serial = await soaSerial(s.port, 'example.test');

  // one byte over, then 64 MB (sparse: the server must not read it to refuse it)
  const errors0 = await loadErrors(s, 'example.test');
  for (const [what, write, size] of [
    ['one byte over', () => swap(file, sized('192.0.2.3', 4097)), 4097],
    [
      '64 MB',
      () => {
        writeFileSync(`${file}.tmp`, ZONE('192.0.2.4'));
        truncateSync(`${file}.tmp`, 64 * 1024 * 1024);
        renameSync(`${file}.tmp`, file);
      },
      64 * 1024 * 1024,
    ],
  ] as const) {
    const from = s.logs.length;
    write();
    const want = `${D}:1:1: zone file is ${size} bytes, over limits.zone_bytes (4096)`;
    const { ms } = await poll(async () => ((await status(s)).zones.find((z) => z.file === file)?.errors[0] === want ? true : undefined), {
      timeoutMs: 10_000,
      what: `${what}: ${want}`,
    });
    t.is(errorLogs(s, from, want).length, 1, what);
    t.like(
      (await status(s)).zones.find((z) => z.file === file),
      { state: 'stale', serial, errors: [want] },
      what,
    );
    t.deepEqual(await addressesOf(s.port, 'www.example.test'), ['192.0.2.2'], what);
    t.log(`${what}: refused in ${ms} ms`);
  }
  t.is(await loadErrors(s, 'example.test'), errors0 + 2);

  // 4097 bytes again, then a SIGHUP-equivalent reload with the limit raised: it loads
  swap(file, sized('192.0.2.5', 4097));
  await poll(async () => ((await status(s)).zones.find((z) => z.file === file)?.errors[0]?.includes('4097 bytes') ? true : undefined), {
    timeoutMs: 10_000,
    what: '4097 bytes refused',
  });
  writeFileSync(join(s.dir, 'steerdns.yaml'), config('8KB'));
  t.like(await s.server.reload(), { ok: true, failed: [] });
  t.deepEqual(await addressesOf(s.port, 'www.example.test'), ['192.0.2.5']);
  t.like(
    (await status(s)).zones.find((z) => z.file === file),
    { state: 'loaded', errors: [] },
  );
});

// ---- 4–5. steerdns.yaml on a reload, and `steerdns check` ------------------------------------------------

/** BASE_CONFIG with 10,001 aliases of one anchor: one past the expansion budget. */
const CONFIG_LAUGHS = `${BASE_CONFIG.replace('version: "steerdns-test"', 'version: "steerdns-v2"')}rrl: { responses_per_second: 20, exempt: [&n "192.0.2.0/24", ${rep('*n', 10_001)}] }\n`;
const CONFIG_LAUGHS_LINE = CONFIG_LAUGHS.split('\n').length - 1;
const CONFIG_LAUGHS_COL = CONFIG_LAUGHS.split('\n')[CONFIG_LAUGHS_LINE - 1]!.indexOf('*n') + 1 + 10_000 * 4;

async function versionBind(port: number): Promise<string> {
  const r = await udp(port, query('version.bind', 'TXT', { klass: 'CH' }));
  return r.msg.answers.map((a) => (a.data as Buffer[]).map(String).join('')).join(',');
}

test('steerdns.yaml on reload (SIGHUP): billion laughs and YAML nested 10,000 deep keep the running config, with the message once; a fixed file applies', async (t) => {
  const s = started(t, await startServer({ 'example.test.yaml': ZONE('192.0.2.1') }));
  const cfgFile = join(s.dir, 'steerdns.yaml');
  const C = displayPath(cfgFile);
  t.is(await versionBind(s.port), 'steerdns-test');
  const cases: [string, string, (string | RegExp)[]][] = [
    ['10,001 aliases of one anchor', CONFIG_LAUGHS, [`${C}:${CONFIG_LAUGHS_LINE}:${CONFIG_LAUGHS_COL}: ${ALIAS_BUDGET}`]],
    [
      'YAML nested 10,000 deep',
      `${BASE_CONFIG}rrl: { exempt: ${'['.repeat(10_000)}"192.0.2.0/24"${']'.repeat(10_000)} }\n`,
      [new RegExp(`^${lit(C)}:11:\\d+: ${TOO_DEEP}$`)],
    ],
  ];
  for (const [what, text, errors] of cases) {
    writeFileSync(cfgFile, text);
    const from = s.logs.length;
    const t0 = performance.now();
    const r = await s.server.reload();
    const ms = performance.now() - t0;
    t.like(r, { ok: false, failed: [] }, what);
    const logged = s.logs
      .slice(from)
      .filter((l) => l.level === 50)
      .map((l) => String(l.msg));
    t.is(logged.length, errors.length + 1, `${what}: ${JSON.stringify(logged).slice(0, 1000)}`);
    for (const [i, e] of errors.entries()) t.true(matches(logged[i]!, e), `${what}: ${logged[i]} ≠ ${String(e)}`);
    t.is(logged.at(-1), 'configuration did not load: keeping the running configuration; zones are reloaded with it', what);
    t.true(ms < 15_000, `${what}: reload took ${Math.round(ms)} ms`);
    // the running config stays: same version, no rrl, the zone still answered
    t.is(await versionBind(s.port), 'steerdns-test', what);
    t.is(s.server.currentConfig.rrl, null, what);
    t.deepEqual(await addressesOf(s.port, 'www.example.test'), ['192.0.2.1'], what);
  }
  writeFileSync(cfgFile, BASE_CONFIG.replace('version: "steerdns-test"', 'version: "steerdns-v2"'));
  t.like(await s.server.reload(), { ok: true });
  t.is(await versionBind(s.port), 'steerdns-v2');
});

test('steerdns check: billion laughs in a zone and in steerdns.yaml exit 1 with the message, once', async (t) => {
  const zoneDir = writeFixture(BASE_CONFIG, { 'example.test.yaml': ZONE('192.0.2.1', LAUGHS) });
  const cfgDir = writeFixture(CONFIG_LAUGHS, { 'example.test.yaml': ZONE('192.0.2.1') });
  t.teardown(() => {
    rmSync(zoneDir, { recursive: true, force: true });
    rmSync(cfgDir, { recursive: true, force: true });
  });
  const [zone, cfg] = await Promise.all([
    runCli(['check', '-c', 'steerdns.yaml'], zoneDir),
    runCli(['check', '-c', 'steerdns.yaml'], cfgDir),
  ]);
  const lol = (n: number) => Array<string>(n).fill('"lol"').join(' ');
  t.is(zone.code, 1, zone.stderr);
  t.is(
    zone.stderr,
    [
      `zones/example.test.yaml:8:18: TXT at "b": duplicate record ${lol(100)}`,
      `zones/example.test.yaml:8:520: ${ALIAS_BUDGET}`,
      'zones/example.test.yaml:8:18: TXT at "b": duplicate record "lol"',
      '3 errors',
      '',
    ].join('\n'),
  );
  t.is(cfg.code, 1, cfg.stderr);
  t.is(cfg.stderr, `steerdns.yaml:${CONFIG_LAUGHS_LINE}:${CONFIG_LAUGHS_COL}: ${ALIAS_BUDGET}\n1 error\n`);
});

// ---- measured in this process: time and memory ---------------------------------------------------------

test.serial('billion laughs loaded directly: refused in milliseconds, heap and RSS grow < 50 MB, the budget message once', (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { config } = parseServerConfig(join(dir, 'steerdns.yaml'), BASE_CONFIG);
  for (const [i, [what, extra, budget]] of (
    [
      ['past the alias budget', LAUGHS, 1],
      ['the classic 9 × 10', CLASSIC_LAUGHS, 0],
    ] as const
  ).entries()) {
    const file = join(dir, `laughs${i}.yaml`);
    writeFileSync(file, ZONE('192.0.2.1', extra));
    const m0 = process.memoryUsage();
    const t0 = performance.now();
    const r = loadZoneFile(file, config!);
    const ms = performance.now() - t0;
    const m1 = process.memoryUsage();
    const heap = (m1.heapUsed - m0.heapUsed) / 2 ** 20;
    const rss = (m1.rss - m0.rss) / 2 ** 20;
    t.log(`${what}: ${ms.toFixed(1)} ms, heap +${heap.toFixed(1)} MB, RSS +${rss.toFixed(1)} MB, ${r.diagnostics.length} diagnostics`);
    t.is(r.zone, null, what);
    t.is(r.diagnostics.filter((d) => d.message === ALIAS_BUDGET).length, budget, what);
    t.true(r.diagnostics.length <= 10, `${what}: ${r.diagnostics.map(formatDiagnostic).join('\n').slice(0, 2000)}`);
    t.true(ms < 2000, `${what}: ${ms} ms`);
    t.true(heap < 50 && rss < 50, `${what}: heap +${heap} MB, RSS +${rss} MB`);
  }
});

test.serial(
  '100,000 lines of bad records on a running server: the first 1,000 reported and the rest counted, in seconds of CPU time; the last good zone keeps serving',
  async (t) => {
    const s = started(t, await startServer({ 'example.test.yaml': ZONE('192.0.2.1') }, HTTP_CONFIG));
    const file = join(s.dir, 'zones', 'example.test.yaml');
    const D = displayPath(file);
    const serial = await soaSerial(s.port, 'example.test');
    const errors0 = await loadErrors(s, 'example.test');
    // four kinds of bad line, in turn, all read through the YAML parser (the fast line reader takes no quoted
    // 'values' nor MX): one mapping of 100,000 keys
    const kinds = [
      (i: number) => `  a${i}: { A: '192.0.2.${256 + (i % 100)}' }`,
      (i: number) => `  m${i}: { MX: { preference: x, exchange: mail } }`,
      (i: number) => `  t${i}: { XYZ: 1 }`,
      (i: number) => `  c${i}: { CNAME: 'a..b' }`,
    ];
    const lines = [ZONE('192.0.2.1').trimEnd()];
    for (let i = 0; i < 100_000; i++) lines.push(kinds[i % 4]!(i));
    const from = s.logs.length;
    const t0 = Date.now();
    const cpu0 = process.cpuUsage();
    swap(file, `${lines.join('\n')}\n`);
    // the load blocks this process's event loop (the server is in it): a probe that times out meanwhile is retried
    const { value: st, ms } = await poll(
      async () => {
        const z = (await status(s).catch(() => null))?.zones.find((x) => x.file === file);
        return z && z.errors.length > 0 ? z : undefined;
      },
      { timeoutMs: 100_000, what: 'the errors in /status', from: t0 },
    );
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
    t.log(`100,000 bad lines: in /status after ${ms} ms, ${cpuMs} ms of CPU (the server runs in this process)`);
    // a few seconds. CPU time, not the wall clock: the full suite runs files side by side on a 2-core machine
    // (a load of 9 stretched ~5 s to ~38 s). The YAML parser's own duplicate-key check, each key against every
    // earlier one, took minutes of CPU here.
    t.true(cpuMs < 30_000, `${cpuMs} ms of CPU`);
    // the first MAX_DIAGNOSTICS lines, then one line counting the rest from where they start
    t.is(st.errors.length, MAX_DIAGNOSTICS + 1);
    t.is(new Set(st.errors).size, MAX_DIAGNOSTICS + 1);
    const all = new Set(st.errors);
    for (const e of [
      `${D}:8:12: A at "a0": "192.0.2.256" is not an IPv4 address`,
      `${D}:9:27: MX at "m1" preference must be an integer from 0 to 65535, got "x"`,
      `${D}:10:9: unknown key "XYZ" at "t2" (expected ttl, pool or a record type: A, NS, CNAME, PTR, MX, TXT, AAAA, LOC, SRV, NAPTR, DS, SSHFP, TLSA, SVCB, HTTPS, URI, CAA, or TYPEnnn in the generic form)`,
      `${D}:11:16: CNAME at "c3": "a..b" has an empty label`,
      `${D}:1007:18: CNAME at "c999": "a..b" has an empty label`,
    ])
      t.true(all.has(e), e);
    t.is(st.errors.at(-1), `${D}:1008:15: 99000 more errors from here on, not listed (only the first ${MAX_DIAGNOSTICS} are)`);
    t.like(st, { state: 'stale', serial });
    t.is(s.logs.slice(from).filter((l) => l.level === 50 && String(l.msg).startsWith(`${D}:`)).length, MAX_DIAGNOSTICS + 1);
    t.is(await loadErrors(s, 'example.test'), errors0 + 1);
    t.deepEqual(await addressesOf(s.port, 'www.example.test'), ['192.0.2.1']);
    t.is(await soaSerial(s.port, 'example.test'), serial);
    swap(file, ZONE('192.0.2.2'));
    await served(s.port, 'www.example.test', '192.0.2.2', 'the fix');
  },
);
