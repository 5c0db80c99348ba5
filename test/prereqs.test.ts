import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const script = fileURLToPath(new URL('../tools/test-prereqs.mjs', import.meta.url));

test('npm test preflight: every tool present → exit 0, nothing printed', (t) => {
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.is(r.stderr, '');
});

test('npm test preflight: a missing tool stops at once with the exact apt-get install line', (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'steerdns-path-'));
  try {
    // a PATH where no tool is found; STEERDNS_NO_INSTALL keeps a root run from installing
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', env: { PATH: empty, STEERDNS_NO_INSTALL: '1' } });
    t.is(r.status, 1);
    t.regex(r.stderr, /needs `dig` \(Debian package bind9-dnsutils\)/);
    t.regex(r.stderr, /needs `dnsperf` \(Debian package dnsperf\)/);
    t.regex(
      r.stderr,
      /sudo apt-get install -y bind9-dnsutils dnsperf git util-linux libc-bin coreutils bind9-utils knot-dnssecutils unbound dnsviz knot-dnsutils etcd-server\n/,
    );
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
