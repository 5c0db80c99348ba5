// Large zones take a line-by-line reader for one-line records: it must give exactly what the YAML path
// gives — the same names and records, the same content hash (so the same serial), and the same errors at
// the same file:line:col — whatever mix of lines it is handed.
import test from 'ava';
import { parseServerConfig } from '../../src/config/server-config.js';
import { parseZone, type ZoneResult } from '../../src/config/zone-file.js';
import { mulberry32 } from '../helpers/random.js';
import { BASE_CONFIG } from '../helpers/server.js';

const cfg = parseServerConfig('/tmp/steerdns.yaml', BASE_CONFIG).config!;

const rnd = mulberry32;

/** A zone of `n` generated lines: mostly fast-readable, with every kind of line the fast reader must leave alone. */
function zoneText(n: number, seed: number, broken: 'none' | 'semantic' | 'yaml'): string {
  const r = rnd(seed);
  const out = [
    'origin: big.test',
    'ttl: 300',
    'soa: { ns: ns1.big.test., email: h@big.test }',
    'records:',
    '  "@": { NS: [ns1] }',
    '  ns1: { A: 192.0.2.53 }',
    '  true: { A: 192.0.2.99 }',
  ]; // a key YAML reads as a boolean: left to it
  for (let i = 0; i < n; i++) {
    const k = r();
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    if (k < 0.55) out.push(`  h${i}: { A: ${ip} }`);
    else if (k < 0.62)
      out.push(`  h${i}: { A: [${ip}, 10.200.${i & 255}.1], AAAA: "2001:db8::${(i % 65535).toString(16)}", ttl: ${i % 900} }`);
    else if (k < 0.67) out.push(`  "q${i}": { CNAME: h${i - 1} }`);
    else if (k < 0.7) out.push(`  n${i}: { NS: ns1.example.net., ttl: 60 }`);
    else if (k < 0.72) out.push(`  ${i}: { PTR: h${i}.big.test. }`);
    else if (k < 0.74) out.push(`  h${i}: { A: ${ip} }   # a comment: the YAML path`);
    else if (k < 0.76) out.push(`  h${i}:`, `    A: ${ip}`, '    TXT: "multi-line entry"');
    else if (k < 0.78)
      out.push(`  f${i}: { A: [${ip},`, `    10.9.9.9] }`); // a flow collection over two lines
    else if (k < 0.8) out.push(`  h${i}: { MX: [{ preference: 10, exchange: mail }] }`);
    else if (k < 0.81) out.push('', '  # a comment line', '');
    else if (k < 0.82) out.push(`  "*.w${i}": { A: ${ip} }`);
    else if (k < 0.83) out.push(`  t${i}: { TXT: "v=spf1 -all" }`);
    else if (k < 0.84) out.push(`  x${i}: { A: ${ip}, AAAA: 2001:db8::${(i % 65535).toString(16)} }`);
    else if (k < 0.85)
      out.push(`  0${i + 100000}: { A: ${ip} }`, `  ${i}.5: { A: ${ip} }`); // YAML reads these keys as numbers
    else if (broken !== 'none' && k < 0.86) out.push(`  b${i}: { A: 300.1.2.${i & 255} }`);
    else if (broken !== 'none' && k < 0.87) out.push(`  c${i}: { A: 2001:db8::1 }`);
    else if (broken !== 'none' && k < 0.88)
      out.push(`  H${i - 3}: { A: ${ip} }`); // a name given twice (case-insensitively)
    else if (broken !== 'none' && k < 0.89) out.push(`  d${i}: { CNAME: [a, b] }`);
    else if (broken !== 'none' && k < 0.9) out.push(`  e${i}: { A: [${ip}, ${ip}] }`);
    else if (broken !== 'none' && k < 0.905) out.push(`  o${i}: { A: ${ip} }`, `  o${i}.big.test.: { A: ${ip} }`);
    else if (broken === 'yaml' && k < 0.91)
      out.push(`  g${i}: { A: ${ip}, A: ${ip} }`, `  h${i - 5}: { A: ${ip} }`); // YAML errors: duplicate keys
    else out.push(`  z${i}: { AAAA: [2001:db8:1::${(i % 65535).toString(16)}, "2001:db8:2::1"] }`);
  }
  out.push('');
  return out.join('\n');
}

function summary(r: ZoneResult) {
  return {
    diagnostics: r.diagnostics.map((d) => `${d.line}:${d.col}: ${d.severity}: ${d.message}`).sort(),
    hash: r.zone?.contentHash ?? null,
    names: r.zone
      ? [...r.zone.names.values()]
          .map((n) => [
            n.name,
            [...n.rrsets.values()].map((s) => [s.type, s.ttl, s.records.map((x) => `${x.text}=${x.rdata.toString('hex')}`)]),
          ])
          .sort((a, b) => String(a[0]).localeCompare(String(b[0])))
      : null,
  };
}

for (const [title, broken, seed] of [
  ['valid', 'none', 1],
  ['with records that are errors', 'semantic', 2],
  ['with YAML errors (duplicate keys)', 'yaml', 3],
] as const) {
  test(`fast reader and YAML path agree on a 6,000-line zone (${title})`, (t) => {
    const text = zoneText(6000, seed, broken);
    const fast = parseZone('/tmp/zones/big.test.yaml', text, cfg);
    const slow = parseZone('/tmp/zones/big.test.yaml', text, cfg, { fastRecords: false });
    const a = summary(fast);
    const b = summary(slow);
    t.deepEqual(a.diagnostics, b.diagnostics);
    t.is(a.hash, b.hash);
    t.deepEqual(a.names, b.names);
    if (broken !== 'none') t.true(a.diagnostics.length > 10, 'the broken lines were reported');
    else t.truthy(fast.zone);
  });
}

test('a small zone never takes the fast reader (the YAML path is the reference)', (t) => {
  const text = zoneText(100, 4, 'none');
  t.deepEqual(
    summary(parseZone('/tmp/zones/big.test.yaml', text, cfg)),
    summary(parseZone('/tmp/zones/big.test.yaml', text, cfg, { fastRecords: false })),
  );
});
