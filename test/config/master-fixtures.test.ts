// Twenty master files shaped like the ones operators keep (test/fixtures/master: BIND, NSD and Knot styles,
// SOA in parentheses, $TTL with units, $INCLUDE, reverse zones, every supported type, escapes, long TXT,
// CRLF line ends), end to end (docs/zone-format.md#master-files):
// - BIND reads each the same way steerdns does: `named-compilezone` prints the zone as it loaded it, and that
//   text, read back here, holds exactly the records steerdns read from the source;
// - `steerdns serve` answers every RRset of every zone, as dig shows it;
// - `named-checkzone` (BIND) and `kzonecheck` (Knot) accept what `steerdns export` prints, and it holds the
//   same records;
// - `steerdns import` then `export` gives the same zone back (records compared sorted, in canonical form).
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { parseMasterZone } from '../../src/config/master-file.js';
import { defaultConfig } from '../../src/config/server-spec.js';
import { loadZoneFile, type ZoneSpec } from '../../src/config/zone-file.js';
import { rdataToText } from '../../src/dns/rdata-text.js';
import { typeCode } from '../../src/dns/registry.js';
import { canonicalRecords } from '../../src/zone-io.js';
import { BASE_CONFIG, ROOT, runCli, startServer, type TestServer, tempDir } from '../helpers/server.js';

const execFileP = promisify(execFile);
const FIXTURES = join(ROOT, 'test', 'fixtures', 'master');
const ZONE_FILES = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.zone'))
  .sort();
const INCLUDED = readdirSync(join(FIXTURES, 'include')).map((f) => `include/${f}`);
const origin = (file: string) => file.slice(0, -'.zone'.length);

const cfg = defaultConfig(join(FIXTURES, 'steerdns.yaml'));
cfg.zonesDir = FIXTURES;

/** Every fixture as steerdns reads it. */
const zones = new Map<string, ZoneSpec>();
for (const f of ZONE_FILES) {
  const r = loadZoneFile(join(FIXTURES, f), cfg);
  if (!r.zone) throw new Error(`${f} does not load: ${r.diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`).join('; ')}`);
  zones.set(f, r.zone);
}

/** A zone read from master-file text (BIND's dump, steerdns's own export): its sorted canonical records. */
function canonicalOf(text: string, zone: string): string[] {
  const dir = tempDir();
  const r = parseMasterZone(join(dir, `${zone}.zone`), text, { ...cfg, zonesDir: dir }, { origin: zone });
  if (!r.zone) throw new Error(`${zone}: ${r.diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`).join('; ')}\n${text}`);
  return canonicalRecords(r.zone);
}

test('there are twenty fixtures, and every one loads without an error or a warning', (t) => {
  t.is(ZONE_FILES.length, 20);
  for (const f of ZONE_FILES) {
    const r = loadZoneFile(join(FIXTURES, f), cfg);
    t.deepEqual(r.diagnostics, [], f);
  }
});

for (const f of ZONE_FILES) {
  test(`${f}: BIND's named-compilezone reads the same records as steerdns`, async (t) => {
    const { stdout } = await execFileP('named-compilezone', ['-D', '-q', '-o', '-', origin(f), f], { cwd: FIXTURES });
    t.deepEqual(canonicalOf(stdout, origin(f)), canonicalRecords(zones.get(f)!));
  });
}

/** A zones folder with every fixture and its included files, and a config serving it. */
function fixtureFolder(): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'zones', 'include'), { recursive: true });
  writeFileSync(join(dir, 'steerdns.yaml'), BASE_CONFIG);
  for (const f of [...ZONE_FILES, ...INCLUDED]) writeFileSync(join(dir, 'zones', f), readFileSync(join(FIXTURES, f)));
  return dir;
}

for (const f of ZONE_FILES) {
  test(`${f}: named-checkzone and kzonecheck accept \`steerdns export\`, which holds the same records`, async (t) => {
    const dir = fixtureFolder();
    const out = await runCli(['export', origin(f)], dir);
    t.is(out.code, 0, out.stderr);
    t.is(out.stderr, '');
    const file = join(dir, 'exported.zone');
    writeFileSync(file, out.stdout);
    await t.notThrowsAsync(execFileP('named-checkzone', ['-q', origin(f), file]), 'named-checkzone');
    await t.notThrowsAsync(execFileP('kzonecheck', ['-o', origin(f), file]), 'kzonecheck');
    t.deepEqual(canonicalOf(out.stdout, origin(f)), canonicalRecords(zones.get(f)!));
  });

  test(`${f}: \`steerdns import\` then \`export\` gives back the same records`, async (t) => {
    const dir = fixtureFolder();
    const imported = await runCli(['import', `zones/${f}`], dir);
    t.is(imported.code, 0, imported.stderr);
    // the YAML zone replaces the master file in the folder
    const yamlDir = tempDir();
    mkdirSync(join(yamlDir, 'zones'));
    writeFileSync(join(yamlDir, 'steerdns.yaml'), BASE_CONFIG);
    writeFileSync(join(yamlDir, 'zones', `${origin(f)}.yaml`), imported.stdout);
    const check = await runCli(['check'], yamlDir);
    t.is(check.code, 0, `${check.stderr}\n${imported.stdout}`);
    const exported = await runCli(['export', origin(f)], yamlDir);
    t.is(exported.code, 0, exported.stderr);
    t.deepEqual(canonicalOf(exported.stdout, origin(f)), canonicalRecords(zones.get(f)!));
  });
}

// ---- served ---------------------------------------------------------------------------------------

let S: TestServer;
test.before(async () => {
  const files: Record<string, string> = {};
  for (const f of [...ZONE_FILES, ...INCLUDED]) files[f] = readFileSync(join(FIXTURES, f), 'utf8');
  S = await startServer(files);
});
test.after.always(async () => {
  await S?.stop();
});

/** Hexadecimal in one lower-case piece (dig writes it upper case, in pieces), and single spaces. */
function digForm(type: string, text: string): string {
  const words = text.trim().split(/\s+/);
  const fixed = words[0] === '\\#' ? 2 : ({ DS: 3, SSHFP: 2, TLSA: 3 } as Record<string, number>)[type];
  if (fixed === undefined || words.length <= fixed) return words.join(' ');
  return [...words.slice(0, fixed), words.slice(fixed).join('').toLowerCase()].join(' ');
}

test('steerdns serves every RRset of every fixture, as dig shows it', async (t) => {
  const expected = new Map<string, string[]>();
  const queries: string[] = [];
  for (const z of zones.values()) {
    const cuts = [...z.names.values()].filter((n) => n.name !== z.origin && n.rrsets.has('NS')).map((n) => n.name);
    for (const n of z.names.values()) {
      // at and below a cut the parent refers (NS, glue); its DS is the parent's own answer
      if (cuts.some((c) => n.name.endsWith(`.${c}`))) continue;
      for (const rr of n.rrsets.values()) {
        if (cuts.includes(n.name) && rr.type === 'NS') continue;
        const key = `${n.name}. ${rr.type}`;
        queries.push(`${n.name}. ${rr.type}`);
        const code = typeCode(rr.type)!;
        expected.set(key, rr.records.map((r) => `${rr.ttl} ${digForm(rr.type, rdataToText(code, r.rdata))}`).sort());
      }
    }
  }
  const batch = join(S.dir, 'queries.txt');
  writeFileSync(batch, `${queries.join('\n')}\n`);
  const { stdout } = await execFileP(
    'dig',
    ['@127.0.0.1', '-p', String(S.port), '+time=10', '+tries=2', '+norec', '+noall', '+answer', '-f', batch],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const got = new Map<string, string[]>();
  for (const line of stdout.split('\n').filter((l) => l.trim() && !l.startsWith(';'))) {
    const m = /^(\S+)\s+(\d+)\s+IN\s+(\S+)\s+(.*)$/.exec(line)!;
    const key = `${m[1]!.toLowerCase()} ${m[3]}`;
    got.set(key, [...(got.get(key) ?? []), `${m[2]} ${digForm(m[3]!, m[4]!)}`]);
  }
  for (const [key, want] of expected) t.deepEqual(got.get(key)?.sort(), want, key);
  t.true(expected.size > 300, `${expected.size} RRsets asked`);
});
