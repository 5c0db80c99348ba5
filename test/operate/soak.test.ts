// The soak: tools/soak.sh (10 minutes by default) is run as written for 20 seconds, with a zone reload every
// 5 s so a short run still reloads: the real server (dist/cli.js) under closed-loop dnsperf (100 queries
// outstanding), four HTTP backends of a pool flapping every 3 s. Its report is then read: no query lost, some
// answered (a QPS figure, whose value is not judged: other test files share the machine), targets going down
// and up, the zone loaded and reloaded, no error in the log, the server alive to the end, RSS sampled. dnsperf
// is needed (`.ci/run` installs it): without it the test fails, it is not skipped.
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import test from 'ava';
import { ROOT, tempDir } from '../helpers/server.js';

const DURATION = 20;
const RELOAD_EVERY = 5;

const hasDnsperf = () => spawnSync('sh', ['-c', 'command -v dnsperf'], { stdio: 'ignore' }).status === 0;

/** Whether `port` can be bound on every address, TCP (and UDP when asked). */
async function bindable(port: number, hosts: string[], udp: boolean): Promise<boolean> {
  const tcpOk = (host: string) =>
    new Promise<boolean>((res) => {
      const s = net.createServer();
      s.once('error', () => res(false));
      s.listen(port, host, () => s.close(() => res(true)));
    });
  const udpOk = (host: string) =>
    new Promise<boolean>((res) => {
      const s = dgram.createSocket('udp4');
      s.once('error', () => {
        s.close();
        res(false);
      });
      s.bind(port, host, () => s.close(() => res(true)));
    });
  for (const h of hosts) {
    if (!(await tcpOk(h))) return false;
    if (udp && !(await udpOk(h))) return false;
  }
  return true;
}

/**
 * A port free on every address, taken from 20000–32767: below Linux's ephemeral range, so no port-0 listener
 * or outgoing connection of another test file can come to hold it while the soak runs.
 */
async function freeFixedPort(hosts: string[], udp: boolean, not: number[] = []): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 12768);
    if (!not.includes(port) && (await bindable(port, hosts, udp))) return port;
  }
  throw new Error(`no free port on ${hosts.join(', ')}`);
}

/** The number after `label:` in the report; fails the parse (throws) when the line is missing. */
function figure(report: string, label: string): number {
  const m = new RegExp(`^\\s*${label}:\\s+([\\d.]+)`, 'm').exec(report);
  if (!m) throw new Error(`no "${label}" line in the report:\n${report}`);
  return Number(m[1]);
}

test('soak (tools/soak.sh, 20 s): no query lost, targets flap down and up, the zone reloads, no error logged, the server lives to the end, RSS sampled', async (t) => {
  t.timeout(120_000);
  if (!hasDnsperf()) {
    t.fail('needs dnsperf: apt-get install -y dnsperf');
    return;
  }
  t.true(existsSync(join(ROOT, 'dist', 'cli.js')), 'dist/cli.js is built (npm test builds it first)');
  const dir = tempDir('steerdns-soak-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const report = join(dir, 'report.txt');
  const port = await freeFixedPort(['127.0.0.1'], true);
  const backendPort = await freeFixedPort(['127.0.3.1', '127.0.3.2', '127.0.3.3', '127.0.3.4'], false, [port]);

  // its own process group: the server, the backends, dnsperf and the script's loops all go with it
  const child = spawn('bash', [join(ROOT, 'tools', 'soak.sh')], {
    cwd: dir,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DURATION: String(DURATION),
      RELOAD_EVERY: String(RELOAD_EVERY),
      PORT: String(port),
      BACKEND_PORT: String(backendPort),
      REPORT: report,
    },
  });
  const pgid = child.pid!;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pgid, signal);
    } catch {
      // the group is gone
    }
  };
  // on teardown (the test failed, timed out or passed): whatever is left of the group, e.g. a loop's `sleep`
  t.teardown(() => killGroup('SIGKILL'));
  let output = '';
  child.stdout.on('data', (b: Buffer) => {
    output += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    output += b.toString();
  });
  const started = Date.now();
  // a hang past every timeout of the script (start 15 s, the run, dnsperf's 5 s for the last replies)
  // is a failure with the output so far, before ava's t.timeout
  const watchdog = setTimeout(
    () => {
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), 3000).unref();
    },
    (DURATION + 60) * 1000,
  );
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.on('exit', (code, signal) => res({ code, signal }));
  });
  clearTimeout(watchdog);
  // the output's last lines may still be in the pipe
  await new Promise<void>((res) => {
    if (child.stdout.readableEnded && child.stderr.readableEnded) return res();
    const done = setTimeout(res, 2000);
    child.on('close', () => {
      clearTimeout(done);
      res();
    });
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  t.log(`tools/soak.sh took ${seconds} s, exit ${JSON.stringify(exit)}\n${output}`);
  t.deepEqual(exit, { code: 0, signal: null }, `tools/soak.sh failed after ${seconds} s:\n${output}`);
  t.true(existsSync(report), `no report written:\n${output}`);
  if (!existsSync(report)) return;
  const text = readFileSync(report, 'utf8');

  // dnsperf: closed loop, so a loaded machine slows it down but loses nothing
  const sent = figure(text, 'Queries sent');
  const completed = figure(text, 'Queries completed');
  t.is(figure(text, 'Queries lost'), 0, text);
  t.true(completed > 0 && completed === sent, `${completed} of ${sent} queries completed\n${text}`);
  t.true(figure(text, 'Queries per second') > 0, 'a QPS figure');

  // the server's log: flaps, loads, errors
  const log = /^log lines: (\d+) \((\d+) targets down, (\d+) up, (\d+) zone loads, (\d+) errors\)$/m.exec(text);
  t.truthy(log, `no log line count in the report:\n${text}`);
  if (log) {
    const [, , down, up, loads, errors] = log.map(Number);
    t.true(down! >= 1, `targets down: ${down}`);
    t.true(up! >= 1, `targets up: ${up}`);
    t.true(loads! >= 2, `zone loads (the first and at least one reload every ${RELOAD_EVERY} s): ${loads}`);
    t.is(errors, 0, 'no error-level log line');
  }

  t.regex(text, /^server: alive to the end$/m);

  // RSS every 10 s: at 0, 10 (and 20 if the sampler got there before the report)
  const rss = /^RSS samples \(s MB\):\n(.*)$/m.exec(text)?.[1]?.trim().split(/\s+/).map(Number) ?? [];
  const samples: [number, number][] = [];
  for (let i = 0; i + 1 < rss.length; i += 2) samples.push([rss[i]!, rss[i + 1]!]);
  t.true(samples.length >= 2, `RSS samples: ${JSON.stringify(samples)}`);
  t.true(
    samples.every(([s, mb]) => Number.isFinite(s) && mb > 0),
    `every RSS sample has a size: ${JSON.stringify(samples)}`,
  );
});
