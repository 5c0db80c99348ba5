#!/usr/bin/env node
// `npm test` gate: line coverage of src/dns, src/config and src/dnssec must stay at or above 90%.
// Reads the json-summary that c8 writes to coverage/coverage-summary.json.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const GATES = { 'src/dns': 90, 'src/config': 90, 'src/dnssec': 90 };
const summary = JSON.parse(readFileSync(join(root, 'coverage', 'coverage-summary.json'), 'utf8'));
let failed = false;
for (const [dir, min] of Object.entries(GATES)) {
  let covered = 0;
  let total = 0;
  for (const [file, s] of Object.entries(summary)) {
    if (file === 'total' || !relative(root, file).startsWith(`${dir}/`)) continue;
    covered += s.lines.covered;
    total += s.lines.total;
  }
  const pct = total ? (100 * covered) / total : 0;
  const ok = pct >= min;
  failed ||= !ok;
  console.log(`coverage gate: ${dir} lines ${pct.toFixed(2)}% (${covered}/${total}), minimum ${min}%: ${ok ? 'ok' : 'FAILED'}`);
}
process.exitCode = failed ? 1 : 0;
