#!/usr/bin/env node
// `npm run fuzz`: the property tests (test/dns/property.test.ts) with a random seed and many more cases than
// `npm test` runs. Prints the seed first; reproduce a failure with FUZZ_SEED=<seed> npm run fuzz (or
// FUZZ_SEED=<seed> npx ava test/dns/property.test.ts). FUZZ_SEED and FUZZ_RUNS may be set to override.
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';

const seed = process.env.FUZZ_SEED ?? String(randomInt(-(2 ** 31), 2 ** 31));
const runs = process.env.FUZZ_RUNS ?? '200000';
console.log(`fuzz: FUZZ_SEED=${seed} FUZZ_RUNS=${runs}`);
const r = spawnSync('npx', ['ava', '--timeout=30m', 'test/dns/property.test.ts'], {
  stdio: 'inherit',
  env: { ...process.env, FUZZ_SEED: seed, FUZZ_RUNS: runs },
});
if (r.error) {
  console.error(`fuzz: cannot run ava: ${r.error.message}`);
  process.exit(1);
}
console.log(`fuzz: FUZZ_SEED=${seed} FUZZ_RUNS=${runs}: ${r.status === 0 ? 'passed' : 'FAILED'}`);
process.exit(r.status ?? 1);
