// After `npm install`, `npm start` answers
// `dig @127.0.0.1 -p 5300 www.example.test` from the repository's own steerdns.yaml and sample zones.
import dgram from 'node:dgram';
import test from 'ava';
import { execFileP, ROOT, spawnLogged } from './helpers/server.js';

/** True while any process of the group `pgid` is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}

async function waitGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!groupAlive(pgid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !groupAlive(pgid);
}

/** Resolves true when a UDP socket can bind 127.0.0.1:port (nobody is serving there). */
function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

// The sample pool "app" (zones/example.test.yaml): IPv4 targets that may be answered. 203.0.113.11 is
// `state: down` in the zone and is never served.
const APP_V4 = ['192.0.2.10', '192.0.2.11', '198.51.100.10', '198.51.100.11', '198.51.100.12', '203.0.113.10'];

test('npm start serves the sample zones: dig @127.0.0.1 -p 5300 www.example.test', async (t) => {
  t.timeout(120_000);
  // the sample config's fixed ports: say so plainly if something else holds them
  t.true(
    await udpPortFree(5300),
    "port 5300 (the sample config's listen port) is already in use by another process: stop it and run again",
  );
  // npm runs the server as its child: a process group of our own lets us stop both, and nothing else
  const p = spawnLogged('npm', ['start'], { cwd: ROOT, detached: true });
  const pgid = p.child.pid!;
  t.teardown(() => {
    if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
  });

  const serving = await p.waitForLog((l) => l.msg === 'serving', 60_000);
  t.deepEqual(serving.listen, ['127.0.0.1:5300', '[::1]:5300']);
  t.true((serving.zones as string[]).includes('example.test'));

  const { stdout } = await execFileP('dig', ['@127.0.0.1', '-p', '5300', '+time=3', '+tries=2', 'www.example.test']);
  t.regex(stdout, /status: NOERROR/, stdout);
  t.regex(stdout, /;; flags: qr aa rd;/, `authoritative, no recursion available:\n${stdout}`);
  t.regex(stdout, /^www\.example\.test\.\s+\d+\s+IN\s+CNAME\s+app\.example\.test\.$/m, stdout);
  const a = [...stdout.matchAll(/^app\.example\.test\.\s+(\d+)\s+IN\s+A\s+(\S+)$/gm)];
  t.true(a.length >= 1, `at least one A for app.example.test:\n${stdout}`);
  for (const [, ttl, addr] of a) {
    t.true(APP_V4.includes(addr!), `${addr} is a served target of the pool`);
    t.true(Number(ttl) <= 30, `pool TTL ${ttl} ≤ 30`);
  }
  t.true(a.length <= 2, 'answers: 2');

  // the same over IPv6 loopback, the other configured listen address
  const v6 = await execFileP('dig', ['@::1', '-p', '5300', '+time=3', '+tries=2', '+short', 'ns1.example.test']);
  t.is(v6.stdout.trim(), '192.0.2.53');

  // stop the process group we created; the server itself must exit, not only npm
  process.kill(-pgid, 'SIGTERM');
  t.true(await waitGone(pgid, 15_000), 'every process of the group exited after SIGTERM');
  await p.exited;
  t.true(
    p.logs.some((l) => l.msg === 'stopped'),
    p.lines.join('\n'),
  );
  t.true(await udpPortFree(5300), 'port 5300 is released');
});
