// `steerdns keygen ZONE [--algorithm 13|15] [--dir DIR]` (docs/operations.md#steerdns-keygen), run through
// the real CLI: the key's base path and then its DS record, one per line; BIND's file names and format, the
// private key readable by its owner only; BIND's dnssec-dsfromkey accepts the key and prints the same DS.
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { loadKey, roleAt } from '../../src/dnssec/keys.js';
import { CLI, runCli, tempDir } from '../helpers/server.js';
import { tool } from './helpers.js';

function withDir(t: { teardown(fn: () => void): void }): string {
  const dir = tempDir('steerdns-keygen-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('keygen: the key base path, then the DS line; the files BIND would name; the default algorithm is 13', async (t) => {
  const dir = withDir(t);
  const r = await runCli(['keygen', 'example.test'], dir);
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr, '');
  const lines = r.stdout.split('\n');
  t.is(lines.length, 3, 'two lines and the final newline');
  t.is(lines[2], '');
  const m = /^Kexample\.test\.\+013\+(\d{5})$/.exec(lines[0]!);
  t.truthy(m, lines[0]);
  const tag = Number(m![1]);
  t.regex(lines[1]!, new RegExp(`^example\\.test\\. IN DS ${tag} 13 2 [0-9A-F]{64}$`));
  t.deepEqual(readdirSync(dir).sort(), [`${lines[0]}.key`, `${lines[0]}.private`]);
  // BIND reads the key and computes the same DS (the DS for the parent zone)
  const ds = tool('dnssec-dsfromkey', ['-2', `${lines[0]}.key`], dir);
  t.is(ds.status, 0, ds.stderr);
  t.is(ds.stdout.trim(), lines[1]);
  // a combined signing key, published and active from now
  const key = loadKey(join(dir, lines[0]!), true);
  t.is(key.tag, tag);
  t.is(key.flags, 257);
  t.deepEqual(roleAt(key.timing, Date.now() / 1000 + 1), { published: true, active: true });
});

test('keygen: the private key is mode 0600 and the public key never writable by others; keys made one after another each get their own files', async (t) => {
  const dir = withDir(t);
  const bases = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const r = await runCli(['keygen', 'example.test', '--algorithm', '15', '--dir', 'keys'], dir);
    t.is(r.code, 0, r.stderr);
    const base = r.stdout.split('\n')[0]!;
    t.regex(base, /^keys\/Kexample\.test\.\+015\+\d{5}$/);
    bases.add(base);
    t.is(statSync(join(dir, `${base}.private`)).mode & 0o777, 0o600);
    t.is(statSync(join(dir, `${base}.key`)).mode & 0o022, 0);
    const ds = tool('dnssec-dsfromkey', ['-2', `${base}.key`], dir);
    t.is(`${ds.stdout.trim()}\n`, r.stdout.split('\n').slice(1).join('\n'));
  }
  t.is(bases.size, 3, 'three keys, three pairs of files');
  t.is(readdirSync(join(dir, 'keys')).length, 6);
  t.is(statSync(join(dir, 'keys')).mode & 0o077, 0, 'a folder keygen makes is its owner’s only');
});

test('keygen: a zone written with a trailing dot and capitals names the same zone, in lower case', async (t) => {
  const dir = withDir(t);
  const r = await runCli(['keygen', 'Example.TEST.', '--algorithm', '13', '--dir', dir], dir);
  t.is(r.code, 0, r.stderr);
  const [base, ds] = r.stdout.split('\n');
  t.regex(base!, /\/Kexample\.test\.\+013\+\d{5}$/);
  t.true(base!.startsWith(dir), 'an absolute --dir gives an absolute path');
  t.regex(ds!, /^example\.test\. IN DS /);
});

test('keygen: a bad algorithm or zone is refused with a message and no file; no zone is a usage error', async (t) => {
  const dir = withDir(t);
  const bad = await runCli(['keygen', 'example.test', '--algorithm', '8'], dir);
  t.is(bad.code, 1);
  t.is(bad.stderr, 'steerdns keygen: --algorithm must be 13 (ECDSAP256SHA256) or 15 (ED25519), not "8"\n');
  const name = await runCli(['keygen', 'exa mple.test'], dir);
  t.is(name.code, 1);
  t.regex(name.stderr, /^steerdns keygen: zone "exa mple\.test" has a label with characters other than letters, digits, "-" and "_"\n$/);
  t.deepEqual(readdirSync(dir), []);
  const none = await runCli(['keygen'], dir);
  t.is(none.code, 2);
  t.regex(none.stderr, /^steerdns keygen: one ZONE is required\nusage:/);
});

test('keygen: a key file that cannot be written in full leaves no file behind, neither the .private nor a cut .key', (t) => {
  // prlimit's file size limit: 100 octets cuts the .private (about 190), 250 the .key (about 330) after the
  // .private is whole; Node ignores SIGXFSZ, so the write fails with EFBIG
  for (const [fsize, which] of [
    [100, 'private'],
    [250, 'key'],
  ] as const) {
    const dir = withDir(t);
    const r = tool('prlimit', [`--fsize=${fsize}`, process.execPath, CLI, 'keygen', 'example.test', '--dir', 'keys'], dir);
    t.is(r.status, 1, r.stderr);
    t.regex(
      r.stderr,
      new RegExp(`^steerdns keygen: cannot write keys/Kexample\\.test\\.\\+013\\+\\d{5}\\.${which}: EFBIG: file too large, write\\n$`),
    );
    t.is(r.stdout, '');
    t.deepEqual(readdirSync(join(dir, 'keys')), [], `fsize ${fsize}: no key file is left`);
  }
});
