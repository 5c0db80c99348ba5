// Zone content must never take the server down: a check path or header that
// Node refuses to send is refused by `steerdns check` and by a reload of a running server like any broken zone
// (the last good version keeps serving, and probing); a probe that throws anyway is a failed probe with the
// reason; a rejection nothing handled is logged, and the server goes on. Real `steerdns serve` processes
// (dist/cli.js), real HTTP backends on 127.0.6.x, real DNS queries. Also: a reload that brings a target in a
// health.deny network is refused the same way.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import {
  BASE_CONFIG,
  CLI,
  type LoggedProcess,
  query,
  ROOT,
  runCli,
  servingPort,
  spawnLogged,
  spawnServe,
  startServer,
  udp,
  writeFixture,
} from '../helpers/server.js';
import { HttpBackend, TcpBackend, waitFor } from './backends.js';

const CONFIG = `${BASE_CONFIG}health: { interval: 200ms, timeout: 150ms, rise: 1, fall: 2 }\n`;

const zone = (origin: string, pools: string) => `origin: ${origin}
soa: { ns: ns1.${origin}., email: hostmaster@${origin} }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
${pools}`;

const pool = (name: string, check: string, target: string) => `  ${name}:
    pool:
      check: ${check}
      regions: { us-east: [${target}] }
`;

/** line:col of the first `needle` in `text` (1-based), as diagnostics give it. */
function at(text: string, needle: string): string {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.includes(needle));
  return `${i + 1}:${lines[i]!.indexOf(needle) + 1}`;
}

async function answers(port: number, name: string): Promise<string[]> {
  const { msg } = await udp(port, query(name, 'A'));
  return msg.answers.filter((r) => r.type === 'A').map((r) => r.data as string);
}

/** Stops a spawned server (SIGTERM) and returns how it exited; it must still be running when asked. */
async function stopServe(t: ExecutionContext, proc: LoggedProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  t.false(proc.done, `the server exited:\n${proc.lines.join('\n')}\n${proc.stderr()}`);
  proc.child.kill('SIGTERM');
  return proc.exited;
}

function cleanup(t: ExecutionContext, proc: () => LoggedProcess | null, dir: string): void {
  t.teardown(async () => {
    const p = proc();
    if (p && !p.done) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });
}

test('a zone with path "/health€" or a header with \\u0001 — check exits 1 with file:line:col; a reload of a running server refuses it and the last good version keeps serving and probing', async (t) => {
  const b = await HttpBackend.start('127.0.6.1');
  t.teardown(() => b.close());
  const check = (extra: string) => `{ type: http, port: ${b.port}, path: /healthz${extra} }`;
  const good = {
    'example.test.yaml': zone('example.test', pool('app', check(''), b.host)),
    'other.test.yaml': zone('other.test', pool('www', check(', headers: { X-Env: test }'), b.host)),
  };
  const dir = writeFixture(CONFIG, good);
  let proc: LoggedProcess | null = null;
  cleanup(t, () => proc, dir);
  proc = spawnServe(dir);
  const port = await servingPort(proc);
  await waitFor(() => b.requests.length >= 2, 10_000, 'the backend probed');
  t.deepEqual(await answers(port, 'app.example.test'), [b.host]);

  // the broken versions: each zone file on its own (the folder watcher may load them before the SIGHUP does)
  const before = proc.logs.length;
  const badPath = zone('example.test', pool('app', `{ type: http, port: ${b.port}, path: "/health€" }`, b.host));
  const badHeader = zone('other.test', pool('www', check(', headers: { X-Env: "a\\u0001b" }'), b.host));
  writeFileSync(join(dir, 'zones', 'example.test.yaml'), badPath);
  writeFileSync(join(dir, 'zones', 'other.test.yaml'), badHeader);
  const pathAt = at(badPath, '"/health€"');
  const headerAt = at(badHeader, '"a\\u0001b"');
  const c = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
  t.is(c.code, 1, c.stderr);
  t.deepEqual(c.stderr.split('\n').filter(Boolean), [
    `zones/example.test.yaml:${pathAt}: pool "app" check path contains "€" (U+20AC), which cannot be sent in a request line: percent-encode it (%E2%82%AC)`,
    `zones/other.test.yaml:${headerAt}: pool "www" check: header X-Env contains "\\u0001" (U+0001) that cannot be sent in an HTTP header (control characters and characters beyond U+00FF are refused)`,
    '2 errors',
  ]);

  proc.child.kill('SIGHUP');
  for (const f of ['example.test', 'other.test']) {
    await proc.waitForLog(
      (l) =>
        proc!.logs.indexOf(l) >= before && l.level === 50 && String(l.msg).startsWith(`zone ${f}. did not load: the last good version`),
    );
  }
  await proc.waitForLog((l) => l.msg === 'reloaded' && proc!.logs.indexOf(l) >= before);
  const since = proc.logs.slice(before);
  t.true(
    since.some((l) =>
      String(l.msg).endsWith(
        `zones/example.test.yaml:${pathAt}: pool "app" check path contains "€" (U+20AC), which cannot be sent in a request line: percent-encode it (%E2%82%AC)`,
      ),
    ),
    since.map((l) => l.msg).join('\n'),
  );
  t.true(
    since.some((l) => String(l.msg).includes(`zones/other.test.yaml:${headerAt}: pool "www" check: header X-Env contains`)),
    since.map((l) => l.msg).join('\n'),
  );

  // the last good versions keep serving and the prober keeps probing them: five more probes, five intervals
  // (the process ended about one interval after such a zone loaded, before this fix)
  const n = b.requests.length;
  await waitFor(() => b.requests.length >= n + 5 || proc!.done, 10_000, 'five more probes');
  t.false(proc.done, `the server exited:\n${proc.lines.slice(-5).join('\n')}\n${proc.stderr()}`);
  t.true(
    b.requests.slice(n).every((r) => r.url === '/healthz'),
    'the old check is probed, the refused one never',
  );
  t.deepEqual(await answers(port, 'app.example.test'), [b.host]);
  t.deepEqual(await answers(port, 'www.other.test'), [b.host]);
  t.like(await stopServe(t, proc), { code: 0 });
});

test('a probe that throws inside http.request and a stray unhandled rejection: logged, and the server keeps answering and probing', async (t) => {
  const thrower = await HttpBackend.start('127.0.6.2');
  const fine = await HttpBackend.start('127.0.6.3');
  t.teardown(() => Promise.all([thrower.close(), fine.close()]));
  const dir = writeFixture(CONFIG, {
    'example.test.yaml': zone(
      'example.test',
      [
        pool('app', `{ type: http, port: ${thrower.port}, path: /throw-sync }`, thrower.host),
        pool('www', `{ type: http, port: ${fine.port}, path: /healthz }`, fine.host),
      ].join(''),
    ),
  });
  let proc: LoggedProcess | null = null;
  cleanup(t, () => proc, dir);
  const preload = pathToFileURL(join(ROOT, 'test', 'fixtures', 'inject-faults.mjs')).href;
  proc = spawnLogged(process.execPath, ['--import', preload, CLI, 'serve', '-c', 'steerdns.yaml'], { cwd: dir });
  const port = await servingPort(proc);

  // the throwing probe is a failed probe: the target goes down (fall 2) with the reason
  const down = await proc.waitForLog((l) => l.target === thrower.host && l.to === 'down');
  t.is(down.reason, 'probe not sent: injected: request refused synchronously');
  t.is(thrower.requests.length, 0);

  // a rejection nothing handles: one error line, and the process goes on
  proc.child.kill('SIGUSR2');
  const line = await proc.waitForLog((l) => l.level === 50 && /injected unhandled rejection/.test(String(l.msg)));
  t.regex(String(line.msg), /^unexpected error, not handled where it arose \(the server goes on\)/);

  const n = fine.requests.length;
  await waitFor(() => fine.requests.length >= n + 5 || proc!.done, 10_000, 'five more probes of the other pool');
  t.false(proc.done, `the server exited:\n${proc.lines.slice(-5).join('\n')}\n${proc.stderr()}`);
  t.deepEqual(await answers(port, 'www.example.test'), [fine.host]);
  // all_down: serve-all (the default) still answers for the pool whose only target is down
  t.deepEqual(await answers(port, 'app.example.test'), [thrower.host]);
  t.like(await stopServe(t, proc), { code: 0 });
});

test('health.deny: a reload bringing a probed target in a denied network is refused like any broken zone', async (t) => {
  const b = await TcpBackend.start('127.0.6.10');
  t.teardown(() => b.close());
  const check = `{ type: tcp, port: ${b.port} }`;
  const ts = await startServer(
    { 'example.test.yaml': zone('example.test', pool('app', check, b.host)) },
    `${CONFIG}`.replace('health: {', 'health: { deny: ["127.0.6.128/25"],'),
  );
  t.teardown(() => ts.stop());
  t.deepEqual(await answers(ts.port, 'app.example.test'), [b.host]);
  const denied = zone('example.test', pool('app', check, `${b.host}, "::ffff:127.0.6.200"`));
  writeFileSync(join(ts.dir, 'zones', 'example.test.yaml'), denied);
  // the file was written just now: the SIGHUP leaves it to be read once it held still (by its retry, or the
  // folder watcher), and that read refuses it
  await ts.server.reload();
  const message = `example.test.yaml:${at(denied, '"::ffff:')}: pool "app": target ::ffff:127.0.6.200 is in 127.0.6.128/25, a network health checks may not probe (health.deny in steerdns.yaml); list it under health.allow to probe it, or use check: { type: none }`;
  await waitFor(() => ts.logs.some((l) => String(l.msg).endsWith(message)), 10_000, 'the denied target refused');
  t.true(
    ts.logs.some(
      (l) =>
        l.level === 50 && /^zone example\.test\. did not load: the last good version \(serial \d+\) keeps serving$/.test(String(l.msg)),
    ),
    'refused like any broken zone (counted as failed)',
  );
  t.deepEqual(await answers(ts.port, 'app.example.test'), [b.host], 'the last good version serves');
  t.is(ts.server.prober.size, 1, 'nothing new is probed');
});
