// Runs before `npm test`: every system tool the tests use must be on the PATH before a single test starts,
// so a newcomer never meets ENOENT half-way through the suite. Missing tools are installed when this runs as
// root on Debian (as in CI); otherwise it stops at once and prints the exact `apt-get install` line.
// One table: a tool the tests start, and the Debian package that brings it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const TOOLS = [
  { command: 'dig', package: 'bind9-dnsutils', usedBy: 'DNS end-to-end tests (test/helpers/server.ts)' },
  { command: 'dnsperf', package: 'dnsperf', usedBy: 'the short soak (test/operate/soak.test.ts)' },
  { command: 'git', package: 'git', usedBy: 'zones kept in git (test/operate/reload.test.ts)' },
  { command: 'prlimit', package: 'util-linux', usedBy: 'descriptor limits (test/operate/fd-limit.test.ts)' },
  { command: 'getconf', package: 'libc-bin', usedBy: 'CPU accounting (test/health/scale.test.ts)' },
  { command: 'mkfifo', package: 'coreutils', usedBy: 'non-regular files (test/gslb/geo-edge-cases.test.ts)' },
  { command: 'dnssec-keygen', package: 'bind9-utils', usedBy: "BIND's key files (test/dnssec/keys.test.ts)" },
  { command: 'dnssec-dsfromkey', package: 'bind9-utils', usedBy: 'key tags and DS records (test/dnssec/keys.test.ts)' },
  { command: 'dnssec-signzone', package: 'bind9-utils', usedBy: "signatures against BIND's (test/dnssec/signing.test.ts)" },
  { command: 'dnssec-settime', package: 'bind9-utils', usedBy: 'key times (test/dnssec/online-signing.test.ts)' },
  { command: 'dnssec-verify', package: 'bind9-utils', usedBy: 'zones signed by steerdns (test/dnssec/signing.test.ts)' },
  { command: 'kzonecheck', package: 'knot-dnssecutils', usedBy: 'zones signed by steerdns, by Knot (test/dnssec/signing.test.ts)' },
  { command: 'delv', package: 'bind9-dnsutils', usedBy: 'a validating client judges signed answers (test/dnssec/validators.test.ts)' },
  { command: 'unbound', package: 'unbound', usedBy: 'a validating resolver judges signed answers (test/dnssec/validators.test.ts)' },
  { command: 'dnsviz', package: 'dnsviz', usedBy: 'DNSViz analyses a signed zone (test/dnssec/validators.test.ts)' },
  { command: 'kdig', package: 'knot-dnsutils', usedBy: 'a second decoder of every record type (test/dns/record-types.test.ts)' },
  { command: 'etcd', package: 'etcd-server', usedBy: 'the fleet link against a real etcd (test/fleet/link.test.ts)' },
  {
    command: 'named-checkzone',
    package: 'bind9-utils',
    usedBy: 'BIND checks what `steerdns export` writes (test/config/master-fixtures.test.ts)',
  },
  {
    command: 'named-compilezone',
    package: 'bind9-utils',
    usedBy: 'BIND reads the master-file fixtures (test/config/master-fixtures.test.ts)',
  },
];

const onPath = (command) => spawnSync('/bin/sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

function main() {
  const missing = TOOLS.filter((t) => !onPath(t.command));
  if (missing.length === 0) return 0;
  const packages = [...new Set(missing.map((t) => t.package))];
  const line = `apt-get install -y ${packages.join(' ')}`;
  for (const t of missing) console.error(`npm test: needs \`${t.command}\` (Debian package ${t.package}) for ${t.usedBy}`);
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !existsSync('/etc/debian_version') || process.env.STEERDNS_NO_INSTALL) {
    console.error(`npm test: install them first:\n  sudo apt-get update && sudo ${line}`);
    return 1;
  }
  console.error(`npm test: running as root on Debian: apt-get update && ${line}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', ...packages],
  ]) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (r.status !== 0) {
      console.error(`npm test: \`apt-get ${args.join(' ')}\` failed (exit ${r.status ?? r.signal})`);
      return 1;
    }
  }
  const still = TOOLS.filter((t) => !onPath(t.command));
  if (still.length > 0) {
    console.error(`npm test: still missing after the install: ${still.map((t) => t.command).join(', ')}`);
    return 1;
  }
  return 0;
}

process.exitCode = main();
