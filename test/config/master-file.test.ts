// RFC 1035 master files in-process (docs/zone-format.md#master-files, #include): what each directive and
// shorthand means — $ORIGIN, $TTL, $INCLUDE and what it restores, the TTL of a record without one, blank and
// `@` owners, escapes in names — and a YAML zone taking its static records (and its SOA) from a master file
// with `include:`, beside its pools. Broken files and their messages: master-errors.test.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { parseMasterZone } from '../../src/config/master-file.js';
import { defaultConfig } from '../../src/config/server-spec.js';
import { type Diagnostic, displayPath } from '../../src/config/source.js';
import { loadZoneFile, type ZoneSpec } from '../../src/config/zone-file.js';
import { rdataToText } from '../../src/dns/rdata-text.js';
import { typeCode } from '../../src/dns/registry.js';
import { folderStamps } from '../../src/watch.js';
import { tempDir } from '../helpers/server.js';

const fmt = (d: Diagnostic) => `${d.file}:${d.line}:${d.col}: ${d.severity === 'warning' ? 'warning: ' : ''}${d.message}`;

/** A zones folder holding `files`; returns the folder and a config for it. */
function folder(files: Record<string, string>) {
  const dir = tempDir();
  const zones = join(dir, 'zones');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(zones, name, '..'), { recursive: true });
    writeFileSync(join(zones, name), text);
  }
  const cfg = defaultConfig(join(dir, 'steerdns.yaml'));
  cfg.regions.set('us-east', { name: 'us-east', location: [39, -77.5], state: 'up' } as never);
  return { zones, cfg, shown: (f: string) => displayPath(join(zones, f)) };
}

/** Every record of a zone as `owner TTL TYPE rdata`, sorted. */
function records(z: ZoneSpec): string[] {
  const out: string[] = [];
  for (const n of z.names.values())
    for (const rr of n.rrsets.values())
      for (const r of rr.records) out.push(`${n.name} ${rr.ttl} ${rr.type} ${rdataToText(typeCode(rr.type)!, r.rdata)}`);
  return out.sort();
}

function load(files: Record<string, string>, file: string) {
  const f = folder(files);
  const r = loadZoneFile(join(f.zones, file), f.cfg);
  return { ...r, zones: f.zones, shown: f.shown, messages: r.diagnostics.map(fmt) };
}

const SOA = '@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n';

test('the origin is the file name; $ORIGIN, relative or absolute, changes it for the names after it', (t) => {
  const r = load({ 'x.test.zone': `$TTL 60\n${SOA}$ORIGIN sub\nwww A 192.0.2.2\n$ORIGIN other.x.test.\n@ TXT "o"\n` }, 'x.test.zone');
  t.deepEqual(r.messages, []);
  t.deepEqual(records(r.zone!), [
    'ns1.x.test 60 A 192.0.2.1',
    'other.x.test 60 TXT "o"',
    'www.sub.x.test 60 A 192.0.2.2',
    'x.test 60 NS ns1.x.test.',
  ]);
});

test('$INCLUDE: the included file starts from the origin given (or the current one) and the TTLs, and the file after it goes on as before', (t) => {
  const r = load(
    {
      'x.test.zone': `$TTL 60\n${SOA}host A 192.0.2.2\n$INCLUDE inc/a.inc lab\n  AAAA 2001:db8::2\n$INCLUDE inc/b.inc\n`,
      'inc/a.inc': '$TTL 5\n@ TXT "lab"\nh1 A 192.0.2.3\n$ORIGIN elsewhere.x.test.\nh2 A 192.0.2.4\n',
      'inc/b.inc': 'h3 A 192.0.2.5\n',
    },
    'x.test.zone',
  );
  t.deepEqual(r.messages, []);
  t.deepEqual(records(r.zone!), [
    'h1.lab.x.test 5 A 192.0.2.3',
    'h2.elsewhere.x.test 5 A 192.0.2.4',
    'h3.x.test 60 A 192.0.2.5',
    'host.x.test 60 A 192.0.2.2',
    'host.x.test 60 AAAA 2001:db8::2',
    'lab.x.test 5 TXT "lab"',
    'ns1.x.test 60 A 192.0.2.1',
    'x.test 60 NS ns1.x.test.',
  ]);
  t.deepEqual(r.zone!.includes, [join(r.zones, 'inc', 'a.inc'), join(r.zones, 'inc', 'b.inc')], 'the files a reload watches');
});

test('a record without a TTL: $TTL, else the last TTL written (RFC 1035 §5.1), else the SOA minimum with a warning', (t) => {
  const last = load(
    { 'x.test.zone': '@ 100 SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 7 A 192.0.2.1\nwww A 192.0.2.2\n' },
    'x.test.zone',
  );
  t.deepEqual(last.messages, []);
  t.deepEqual(records(last.zone!), ['ns1.x.test 7 A 192.0.2.1', 'www.x.test 7 A 192.0.2.2', 'x.test 100 NS ns1.x.test.']);
  const none = load({ 'x.test.zone': '@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n' }, 'x.test.zone');
  t.deepEqual(none.messages, [
    `${none.shown('x.test.zone')}:2:3: warning: no TTL written and no $TTL before: the SOA minimum 300 is used (write $TTL)`,
  ]);
  t.is(none.zone!.soa.ttl, 300);
  t.deepEqual(records(none.zone!), ['ns1.x.test 300 A 192.0.2.1', 'x.test 300 NS ns1.x.test.']);
});

test('names: escapes that stand for letters are read, a literal dot or space inside a label is an error; quoted names are errors', (t) => {
  const ok = load({ 'x.test.zone': `$TTL 60\n${SOA}\\065\\l\\112ha A 192.0.2.2\n` }, 'x.test.zone');
  t.deepEqual(ok.messages, []);
  t.true(ok.zone!.names.has('alpha.x.test'));
  const bad = load({ 'x.test.zone': `$TTL 60\n${SOA}a\\.b A 192.0.2.2\n"quoted" A 192.0.2.3\nc CNAME a\\032b\n` }, 'x.test.zone');
  const at = bad.shown('x.test.zone');
  t.deepEqual(bad.messages, [
    `${at}:5:1: owner: "a\\.b" has a label with characters other than letters, digits, "-" and "_"`,
    `${at}:6:1: owner: a name is not written in quotes`,
    `${at}:7:9: CNAME at "c" target: "a\\032b" has a label with characters other than letters, digits, "-" and "_"`,
  ]);
});

test('the SOA mailbox may escape dots in its first label; the apex is the SOA owner, the file name only the first origin', (t) => {
  const r = load(
    {
      'named-for-nothing.zone':
        '$TTL 60\nx.test. SOA ns1.x.test. first\\.last.x.test. 1 1h 10m 1d 5m\nx.test. NS ns1.x.test.\nns1.x.test. A 192.0.2.1\n',
    },
    'named-for-nothing.zone',
  );
  t.deepEqual(r.messages, []);
  t.is(r.zone!.origin, 'x.test');
  t.like(r.zone!.soa, { rname: 'first\\.last.x.test', refresh: 3600, retry: 600, expire: 86400, minimum: 300, serial: 1 });
});

test('parseMasterZone with an origin of its own (steerdns import --origin)', (t) => {
  const f = folder({});
  const r = parseMasterZone(join(f.zones, 'db.x'), `$TTL 60\n${SOA}`, f.cfg, { origin: 'x.test' });
  t.is(r.zone?.origin, 'x.test');
  const none = parseMasterZone(join(f.zones, 'db.x'), `$TTL 60\n${SOA}`, f.cfg);
  t.deepEqual(
    none.diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`),
    [
      '2:1: owner: "@" is relative, and there is no origin yet (write $ORIGIN, or name the file ORIGIN.zone)',
      '3:1: owner: "@" is relative, and there is no origin yet (write $ORIGIN, or name the file ORIGIN.zone)',
      '4:1: owner: "ns1" is relative, and there is no origin yet (write $ORIGIN, or name the file ORIGIN.zone)',
    ],
  );
});

// ---- include: in a YAML zone ----------------------------------------------------------------------

const YAML = (extra: string) => `origin: x.test
ttl: 120
${extra}`;
const YAML_SOA = 'soa: { ns: ns1.x.test., email: h@x.test, serial: 7 }\n';
const POOL = '  app:\n    pool: { check: { type: none }, regions: { us-east: [192.0.2.10] } }\n';

test('include: a YAML zone takes its static records from a master file, beside its pools, at its origin and TTL', (t) => {
  const r = load(
    {
      'x.yaml': YAML(`${YAML_SOA}include: records/x.test.zone\nrecords:\n${POOL}`),
      'records/x.test.zone': '@ NS ns1\nns1 A 192.0.2.1\napp TXT "static beside the pool"\napp 30 MX 10 ns1\n',
    },
    'x.yaml',
  );
  t.deepEqual(r.messages, []);
  t.deepEqual(records(r.zone!), [
    'app.x.test 120 TXT "static beside the pool"',
    'app.x.test 30 MX 10 ns1.x.test.',
    'ns1.x.test 120 A 192.0.2.1',
    'x.test 120 NS ns1.x.test.',
  ]);
  t.truthy(r.zone!.names.get('app.x.test')!.pool);
  t.is(r.zone!.soa.serial, 7);
});

test("include: without soa: in YAML, the SOA of the master file is the zone's", (t) => {
  const r = load(
    {
      'x.yaml': YAML('include: [inc/x.test.zone]\n'),
      'inc/x.test.zone': '@ 60 SOA ns1 hostmaster 42 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n',
    },
    'x.yaml',
  );
  t.deepEqual(r.messages, []);
  t.like(r.zone!.soa, { serial: 42, ttl: 60, mname: 'ns1.x.test' });
});

test('include: the errors of the rules between records and of the included file, each where it is', (t) => {
  const r = load(
    {
      'x.yaml': YAML(`${YAML_SOA}include: inc/x.inc\nrecords:\n  "@": { NS: ns1 }\n  ns1: { A: 192.0.2.1 }\n${POOL}`),
      'inc/x.inc': '@ SOA ns1 hostmaster 42 3600 600 86400 300\nns1 A 192.0.2.9\napp A 192.0.2.11\nwww CNAME app\nwww TXT "x"\n',
    },
    'x.yaml',
  );
  const inc = r.shown('inc/x.inc');
  t.deepEqual(r.messages, [
    `${inc}:1:3: the zone's SOA is already given by soa: at ${r.shown('x.yaml')}:3:1 (write it in one place)`,
    `${inc}:2:5: A at "ns1" is also written at ${r.shown('x.yaml')}:7:10: write an RRset in one file`,
    `${inc}:3:5: static A at "app" stands beside a pool (the pool owns the name's A and AAAA)`,
    `${inc}:4:5: CNAME at "www" stands beside other data (TXT)`,
  ]);
});

test('include: a zone file of the folder itself, or a file outside the folder, cannot be included', (t) => {
  const r = load(
    {
      'x.yaml': YAML(`${YAML_SOA}include: [other.zone, ../steerdns.yaml]\nrecords:\n  "@": { NS: ns1 }\n  ns1: { A: 192.0.2.1 }\n`),
      'other.zone': '',
    },
    'x.yaml',
  );
  t.deepEqual(r.messages, [
    `${r.shown('x.yaml')}:4:11: cannot include ${r.shown('other.zone')}: it is a zone file of its own (move the included file into a sub-folder)`,
    `${r.shown('x.yaml')}:4:23: cannot include ${r.shown('../steerdns.yaml')}: it is outside the zones folder ${r.shown('')}`,
  ]);
});

test('the folder stamps that start a reload include the files of sub-folders (what zones include)', (t) => {
  const f = folder({ 'x.test.zone': `$TTL 60\n${SOA}$INCLUDE inc/a.inc\n`, 'inc/a.inc': 'h A 192.0.2.2\n', 'notes.txt': 'not a zone' });
  const before = folderStamps(f.zones);
  t.regex(before, /^inc\/a\.inc:\d+/);
  t.notRegex(before, /notes\.txt/, 'other files at the top are not zone files');
  writeFileSync(join(f.zones, 'inc', 'a.inc'), 'h A 192.0.2.3\nh2 A 192.0.2.4\n');
  t.not(folderStamps(f.zones), before);
});
