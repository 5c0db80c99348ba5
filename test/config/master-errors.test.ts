// Broken RFC 1035 master files (docs/zone-format.md#master-files): each one refused by `steerdns check` with
// the exact file:line:col message of the rule it breaks — in the file itself or in a file it includes —
// and nothing more (no message that only repeats an earlier one). One zones folder of broken files, one
// `check` run; every file's lines are compared in full.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { type CliResult, runCli, tempDir } from '../helpers/server.js';

const HEAD = '$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n';

/** A broken zone: its files (the zone file and any it includes) and every line `check` prints about them. */
interface Broken {
  title: string;
  files: Record<string, string>;
  lines: string[];
}

const BROKEN: Broken[] = [
  {
    title: 'a parenthesis not closed before the end of the file',
    files: { 'b01.zone': '$TTL 300\n@ SOA ns1 hostmaster ( 1 3600 600\n  86400 300\n@ NS ns1\n' },
    lines: ['zones/b01.zone:2:22: "(" is not closed before the end of the file'],
  },
  {
    title: 'a closing parenthesis without an opening one',
    files: { 'b02.zone': `${HEAD}www A 192.0.2.2 )\n` },
    lines: ['zones/b02.zone:5:17: ")" without an opening "("'],
  },
  {
    title: 'a quoted string not closed on its line',
    files: { 'b03.zone': `${HEAD}www TXT "abc\n` },
    lines: ['zones/b03.zone:5:9: a quoted string is not closed on its line'],
  },
  {
    title: 'parentheses inside parentheses',
    files: { 'b04.zone': '$TTL 300\n@ SOA ns1 hostmaster ( 1 3600 ( 600 86400 300 )\n@ NS ns1\nns1 A 192.0.2.1\n' },
    lines: ['zones/b04.zone:2:31: "(" inside parentheses (the one opened at line 2:22 is not closed)'],
  },
  {
    title: 'a type steerdns does not name, not in the generic form',
    files: { 'b05.zone': `${HEAD}www HINFO "PC" "Linux"\n` },
    lines: ['zones/b05.zone:5:5: unknown record type "HINFO" (a type steerdns does not name is written TYPEnnn \\# LENGTH HEX, RFC 3597)'],
  },
  {
    title: 'an address that is not IPv4',
    files: { 'b06.zone': `${HEAD}www A 192.0.2.256\n` },
    lines: ['zones/b06.zone:5:7: A at "www": "192.0.2.256" is not an IPv4 address'],
  },
  {
    title: 'a record before the SOA',
    files: { 'b07.zone': '$TTL 300\nwww A 192.0.2.1\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n' },
    lines: ['zones/b07.zone:2:1: the first record of a zone file must be its SOA (RFC 1035 §5.2)'],
  },
  {
    title: 'no SOA at all',
    files: { 'b08.zone': '$TTL 300\n; nothing but comments\n' },
    lines: ['zones/b08.zone:1:1: no SOA record: the first record of a zone file is its SOA (RFC 1035 §5.2)'],
  },
  {
    title: 'a second SOA',
    files: { 'b09.zone': `${HEAD}@ SOA ns1 hostmaster 2 3600 600 86400 300\n` },
    lines: ['zones/b09.zone:5:3: a zone has one SOA (the first is at zones/b09.zone:2:1)'],
  },
  {
    title: 'a name outside the zone',
    files: { 'b10.zone': `${HEAD}www.other.test. A 192.0.2.2\n` },
    lines: ['zones/b10.zone:5:1: name "www.other.test." is outside the zone\'s origin b10.'],
  },
  {
    title: 'a class other than IN',
    files: { 'b11.zone': `${HEAD}www CH TXT "x"\n` },
    lines: ['zones/b11.zone:5:5: class CH: only class IN is served (or written: IN is the default)'],
  },
  {
    title: 'a TTL beyond 2^31 - 1',
    files: { 'b12.zone': `${HEAD}www 99999999999 A 192.0.2.2\n` },
    lines: ['zones/b12.zone:5:5: TTL must be 0 to 2147483647 seconds, or with units such as 1h or 2d (RFC 2181 §8), got "99999999999"'],
  },
  {
    title: '$INCLUDE of a file outside the zones folder',
    files: { 'b13.zone': `${HEAD}$INCLUDE ../steerdns.yaml\n` },
    lines: ['zones/b13.zone:5:10: cannot include steerdns.yaml: it is outside the zones folder zones'],
  },
  {
    title: '$INCLUDE loop, reported in the included file that closes it',
    files: {
      'b14.zone': `${HEAD}$INCLUDE inc/loop-a.inc\n`,
      'inc/loop-a.inc': '$INCLUDE loop-b.inc\n',
      'inc/loop-b.inc': 'x A 192.0.2.9\n$INCLUDE loop-a.inc\n',
    },
    lines: ['zones/inc/loop-b.inc:2:10: include loop: zones/inc/loop-a.inc → zones/inc/loop-b.inc → zones/inc/loop-a.inc'],
  },
  {
    title: '$GENERATE',
    files: { 'b15.zone': `${HEAD}$GENERATE 1-10 host$ A 192.0.2.$\n` },
    lines: ['zones/b15.zone:5:1: $GENERATE (a BIND extension) is not supported: write the records out'],
  },
  {
    title: 'generic RDATA shorter than its length says',
    files: { 'b16.zone': `${HEAD}www TYPE65280 \\# 4 0102\n` },
    lines: ['zones/b16.zone:5:20: TYPE65280 at "www": \\# says 4 octets, the hexadecimal has 2'],
  },
  {
    title: 'SVCB AliasMode with SvcParams',
    files: { 'b17.zone': `${HEAD}svc SVCB 0 foo.example. alpn=h2\n` },
    lines: ['zones/b17.zone:5:25: SVCB at "svc": AliasMode (priority 0) takes no SvcParams (RFC 9460 §2.4.2)'],
  },
  {
    title: 'HTTPS mandatory naming a key the record does not have',
    files: { 'b18.zone': `${HEAD}svc HTTPS 1 . mandatory=port alpn=h2\n` },
    lines: ['zones/b18.zone:5:15: HTTPS at "svc": mandatory lists port, which the record does not have (RFC 9460 §8)'],
  },
  {
    title: 'LOC latitude beyond 90 degrees',
    files: { 'b19.zone': `${HEAD}here LOC 91 00 00 N 0 0 0 E 0m\n` },
    lines: ['zones/b19.zone:5:10: LOC at "here": latitude degrees must be an integer from 0 to 90, got "91"'],
  },
  {
    title: 'DS away from a delegation',
    files: { 'b20.zone': `${HEAD}www DS 60485 13 2 D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A\n` },
    lines: ['zones/b20.zone:5:5: DS at "www": DS records belong at a delegation (a name with NS)'],
  },
  {
    title: 'a \\DDD escape beyond 255',
    files: { 'b21.zone': `${HEAD}www TXT "bad \\300 escape"\n` },
    lines: ['zones/b21.zone:5:9: escape \\300 is not an octet (\\000 to \\255)'],
  },
  {
    title: 'a TXT character-string of 256 octets',
    files: { 'b22.zone': `${HEAD}www TXT "${'x'.repeat(256)}"\n` },
    lines: [
      'zones/b22.zone:5:9: TXT at "www" character-string is 256 octets, over 255: write it as several quoted strings (RFC 1035 §3.3.14)',
    ],
  },
  {
    title: 'a CNAME beside other data',
    files: { 'b23.zone': `${HEAD}www CNAME ns1\nwww TXT "beside a CNAME"\n` },
    lines: ['zones/b23.zone:5:5: CNAME at "www" stands beside other data (TXT)'],
  },
  {
    title: 'a missing field in an included file, at its line there',
    files: { 'b24.zone': `${HEAD}$INCLUDE inc/bad-host.inc\n`, 'inc/bad-host.inc': '; included\nhost A 192.0.2.10\nhost MX 10\n' },
    lines: ['zones/inc/bad-host.inc:3:9: MX at "host" needs exchange'],
  },
  {
    title: 'a blank owner on the first record',
    files: { 'b25.zone': '  A 192.0.2.1\n' },
    lines: ['zones/b25.zone:1:3: the first record of a file needs an owner name (a line that starts blank takes the previous one)'],
  },
  {
    title: 'a meta type as data',
    files: { 'b26.zone': `${HEAD}www TYPE255 \\# 0\n` },
    lines: ['zones/b26.zone:5:5: TYPE255 is a query or meta type, not data a zone holds (RFC 6895 §3.1)'],
  },
  {
    title: 'a misspelt directive',
    files: { 'b27.zone': `${HEAD}$ORIGN other.test.\n` },
    lines: ['zones/b27.zone:5:1: unknown directive "$ORIGN" (expected $ORIGIN, $TTL or $INCLUDE)'],
  },
  {
    title: 'an RRset too large for any DNS message',
    files: {
      'b28.zone': `${HEAD}${Array.from({ length: 260 }, (_, i) => `big TXT "${String(i).padStart(3, '0')}${'x'.repeat(252)}"`).join('\n')}\n`,
    },
    lines: [
      'zones/b28.zone:5:5: TXT at "big" is about 69769 octets on the wire: it cannot fit in a DNS message (65535 octets, even over TCP)',
    ],
  },
  {
    title: 'DNSSEC records a signer makes (RRSIG, NSEC, NSEC3, NSEC3PARAM, DNSKEY, CDS, CDNSKEY), by name or as TYPEnnn',
    files: {
      'b29.zone': `${HEAD}www RRSIG A 13 2 300 20260101000000 20250101000000 12345 b29. AAAA\nwww NSEC ns1 A RRSIG NSEC\n@ NSEC3PARAM 1 0 0 -\nx NSEC3 1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A\n@ DNSKEY 257 3 13 AAAA\n@ CDS 1 13 2 ${'ab'.repeat(32)}\n@ CDNSKEY 0 3 0 AA==\n@ TYPE46 \\# 0\n`,
    },
    lines: [
      'zones/b29.zone:5:5: RRSIG records are made by DNSSEC signing, not written in a zone: steerdns signs online (dnssec: in steerdns.yaml, docs/configuration.md#dnssec); load the unsigned zone (DS at a delegation stays allowed)',
      'zones/b29.zone:6:5: NSEC records are made by DNSSEC signing, not written in a zone: steerdns signs online (dnssec: in steerdns.yaml, docs/configuration.md#dnssec); load the unsigned zone (DS at a delegation stays allowed)',
      'zones/b29.zone:7:3: NSEC3PARAM records are made by DNSSEC signing, not written in a zone: steerdns signs online (dnssec: in steerdns.yaml, docs/configuration.md#dnssec); load the unsigned zone (DS at a delegation stays allowed)',
      'zones/b29.zone:8:3: NSEC3 records are made by DNSSEC signing, not written in a zone: steerdns signs online (dnssec: in steerdns.yaml, docs/configuration.md#dnssec); load the unsigned zone (DS at a delegation stays allowed)',
      'zones/b29.zone:9:3: DNSKEY records are made by DNSSEC signing, not written in a zone: steerdns signs online (dnssec: in steerdns.yaml, docs/configuration.md#dnssec); load the unsigned zone (DS at a delegation stays allowed)',
      'zones/b29.zone:10:3: CDS records are made by DNSSEC signing, not written in a zone: steerdns signs online (dnssec: in steerdns.yaml, docs/configuration.md#dnssec); load the unsigned zone (DS at a delegation stays allowed)',
      'zones/b29.zone:11:3: CDNSKEY records are made by DNSSEC signing, not written in a zone: steerdns signs online (dnssec: in steerdns.yaml, docs/configuration.md#dnssec); load the unsigned zone (DS at a delegation stays allowed)',
      'zones/b29.zone:12:3: RRSIG (TYPE46) records are made by DNSSEC signing, not written in a zone: steerdns signs online (dnssec: in steerdns.yaml, docs/configuration.md#dnssec); load the unsigned zone (DS at a delegation stays allowed)',
    ],
  },
  {
    title: 'an RRset with two TTLs and a duplicate record: warnings, the zone loads',
    files: { 'w28.zone': `${HEAD}www 300 A 192.0.2.2\nwww 600 A 192.0.2.3\nwww A 192.0.2.2\n` },
    lines: [
      'zones/w28.zone:6:9: warning: A at "www": TTL 600 differs from the TTL 300 of the RRset at zones/w28.zone:5:9, which is used (RFC 2181 §5.2)',
      'zones/w28.zone:7:5: warning: A at "www": duplicate record 192.0.2.2 (ignored)',
    ],
  },
];

let out: CliResult;
test.before(async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'zones', 'inc'), { recursive: true });
  writeFileSync(join(dir, 'steerdns.yaml'), 'listen: ["127.0.0.1:0"]\nzones: ./zones\n');
  for (const b of BROKEN) for (const [name, text] of Object.entries(b.files)) writeFileSync(join(dir, 'zones', name), text);
  out = await runCli(['check'], dir);
});

test('check exits 1 and counts the errors of every broken master file', (t) => {
  t.is(out.code, 1);
  const errors = BROKEN.flatMap((b) => b.lines).filter((l) => !l.includes(': warning: ')).length;
  t.true(out.stderr.endsWith(`\n${errors} errors\n`), out.stderr);
});

for (const b of BROKEN) {
  test(`master file: ${b.title}`, (t) => {
    const files = Object.keys(b.files).map((f) => `zones/${f}:`);
    const printed = `${out.stdout}${out.stderr}`.split('\n').filter((l) => files.some((f) => l.startsWith(f)));
    t.deepEqual(printed, b.lines);
  });
}
