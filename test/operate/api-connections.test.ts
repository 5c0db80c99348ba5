// HTTP API connection limits (docs/http-api.md#connection-limits): no one client can block the whole API,
// /healthz included — say with idle half-sent requests holding every connection slot until Node's own
// connection check, which runs every 30 s. A half request is dropped at the headers timeout (checked every
// second); each source beyond this host
// (an IPv4 address, an IPv6 /64) holds at most http.max_connections_per_source (16; 0: no cap), over that
// they are closed at once; sources beyond this host share 256, loopback has 64 of its own with no cap per
// address (a local proxy), so the local health check gets in whatever comes from outside. Against the real
// server (in this process), half requests from 127.x source addresses (the test machine has only loopback).
import http from 'node:http';
import net from 'node:net';
import test from 'ava';
import { HTTP_CONNECTIONS_PER_SOURCE, HTTP_LOOPBACK_CONNECTIONS, HTTP_REMOTE_CONNECTIONS } from '../../src/config/http-defaults.js';
import { CHECK_INTERVAL_MS, HTTP_HEADERS_TIMEOUT_MS as HEADERS_TIMEOUT_MS } from '../../src/http/api.js';
import { ConnectionBudget, connectionSource } from '../../src/http/connections.js';
import { Lateness } from '../health/backends.js';
import { BASE_CONFIG, SAMPLE_ZONE, startServer } from '../helpers/server.js';
import { poll } from './helpers.js';

/** GET /healthz on a fresh connection from `localAddress`: the status and the milliseconds it took. */
function healthz(port: number, localAddress = '127.0.0.1', timeoutMs = 10_000): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: '/healthz', localAddress, agent: false, headers: { host: `127.0.0.1:${port}` }, timeout: timeoutMs },
      (res) => {
        res.resume().on('end', () => resolve({ status: res.statusCode!, ms: performance.now() - started }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`/healthz: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

interface HalfRequest {
  source: string;
  socket: net.Socket;
  /** Connected and the half request written, or closed: the server had its chance at it. */
  settled: Promise<void>;
  /** The first line the server sent (a 408 when held to the headers timeout); '' when closed without a word. */
  reply: Promise<string>;
  wroteAt: number;
}

/** A connection from `source` that sends the request line and one header, never the blank line ending them. */
function halfRequest(port: number, source: string): HalfRequest {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress: source });
  const h: HalfRequest = { source, socket, settled: Promise.resolve(), reply: Promise.resolve(''), wroteAt: 0 };
  socket.on('error', () => undefined);
  h.settled = new Promise((resolve) => {
    socket.once('connect', () => {
      h.wroteAt = performance.now();
      socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`, () => resolve());
    });
    socket.once('close', () => resolve());
  });
  h.reply = new Promise((resolve) => {
    let got = '';
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
    });
    socket.once('close', () => resolve(got.split('\r\n')[0] ?? ''));
  });
  return h;
}

/** Half requests from `source`, `n` of them, all connected (or closed) and written. */
async function halfRequests(port: number, source: string, n: number, into: HalfRequest[]): Promise<HalfRequest[]> {
  const mine: HalfRequest[] = [];
  for (let i = 0; i < n; i++) mine.push(halfRequest(port, source));
  into.push(...mine);
  await Promise.all(mine.map((h) => h.settled));
  return mine;
}

test.serial(
  'loopback has no cap per address (a local reverse proxy): 40 idle half requests from 127.0.0.5 are all held to the headers timeout (408), /healthz from 127.0.0.1 answers meanwhile without waiting for them',
  async (t) => {
    t.timeout(60_000);
    const s = await startServer({ 'example.test.yaml': SAMPLE_ZONE }, `${BASE_CONFIG}http: "127.0.0.1:0"\n`);
    t.teardown(() => s.stop());
    const port = s.server.httpPort!;
    const flood: HalfRequest[] = [];
    t.teardown(() => {
      for (const h of flood) h.socket.destroy();
    });
    const n = HTTP_CONNECTIONS_PER_SOURCE + 24;
    await halfRequests(port, '127.0.0.5', n, flood);

    // the held connections take none of the health check's way in: it does not wait for them to time out
    const h = await healthz(port);
    t.is(h.status, 200);
    t.true(h.ms < HEADERS_TIMEOUT_MS / 2, `/healthz took ${h.ms.toFixed(1)} ms while ${n} half requests were held`);

    const replies = await Promise.all(flood.map((x) => x.reply));
    t.is(
      replies.filter((r) => r.startsWith('HTTP/1.1 408')).length,
      n,
      'every connection from 127.0.0.5 held to the headers timeout, none closed at once',
    );
    t.false(
      s.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('HTTP API: connection refused')),
      'nothing refused',
    );
  },
);

test.serial(
  'idle half requests from several 127.x sources fill the loopback budget (64): the rest are closed at once, the held ones get 408 at the headers timeout, then /healthz answers again',
  async (t) => {
    t.timeout(60_000);
    const s = await startServer({ 'example.test.yaml': SAMPLE_ZONE }, `${BASE_CONFIG}http: "127.0.0.1:0"\n`);
    t.teardown(() => s.stop());
    const port = s.server.httpPort!;
    await healthz(port);
    const lateness = new Lateness();

    // 3 sources × 100: more than the loopback budget; loopback addresses share it, one local flood fills it
    const sources = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
    const flood: HalfRequest[] = [];
    t.teardown(() => {
      for (const h of flood) h.socket.destroy();
    });
    for (const source of sources) for (let i = 0; i < 100; i++) flood.push(halfRequest(port, source));
    await Promise.all(flood.map((h) => h.settled));
    const floodedAt = performance.now();
    const open = () => flood.filter((h) => !h.socket.destroyed && !h.socket.closed).length;

    // the connections over the budget are closed as they come: long before a held one could time out
    await poll(() => (open() <= HTTP_LOOPBACK_CONNECTIONS ? true : undefined), {
      timeoutMs: HEADERS_TIMEOUT_MS,
      what: `the flood down to ${HTTP_LOOPBACK_CONNECTIONS} open connections (now ${open()})`,
    });
    t.log(`the over-budget connections closed ${(performance.now() - floodedAt).toFixed(0)} ms after the flood`);

    // a local flood does lock out the local health check, until the headers timeout frees the budget
    const during = await healthz(port).then(
      (r) => `answered ${r.status}`,
      (e: Error) => `refused (${e.message})`,
    );
    t.regex(during, /^refused/, '/healthz while the loopback budget is full');
    // each try's duration, so the bound allows for the try under way when the budget frees and the next one
    let longestTryMs = 0;
    const tryHealthz = async () => {
      const started = performance.now();
      const r = await healthz(port).catch(() => undefined);
      longestTryMs = Math.max(longestTryMs, performance.now() - started);
      return r?.status === 200 ? r : undefined;
    };
    const stepMs = 20;
    const back = await poll(tryHealthz, {
      timeoutMs: HEADERS_TIMEOUT_MS + CHECK_INTERVAL_MS + HEADERS_TIMEOUT_MS,
      stepMs,
      what: '/healthz answering after the flood',
    });
    const backMs = performance.now() - floodedAt;
    // a held half request is dropped at the headers timeout, checked every second (Node's default: every 30 s)
    const slack = lateness.chain(3) + stepMs + 2 * longestTryMs;
    t.true(
      backMs <= HEADERS_TIMEOUT_MS + CHECK_INTERVAL_MS + slack,
      `/healthz answered again ${backMs.toFixed(0)} ms after the flood (bound ${HEADERS_TIMEOUT_MS} + ${CHECK_INTERVAL_MS} + event-loop lag, poll step and tries ${slack.toFixed(0)})`,
    );
    t.is(back.value.status, 200);
    t.log(`/healthz answered again ${backMs.toFixed(0)} ms after the flood`);

    // every flood connection ended: 64 held until the headers timeout (408), the others closed unanswered
    const replies = await Promise.all(flood.map((x) => x.reply));
    t.is(replies.filter((r) => r.startsWith('HTTP/1.1 408')).length, HTTP_LOOPBACK_CONNECTIONS, 'connections held to the headers timeout');
    t.is(replies.filter((r) => r === '').length, flood.length - HTTP_LOOPBACK_CONNECTIONS, 'connections closed at once');
    t.true(
      s.logs.some(
        (l) =>
          typeof l.msg === 'string' &&
          l.msg.startsWith(`HTTP API: connection refused: ${HTTP_LOOPBACK_CONNECTIONS} connections from loopback already`),
      ),
      'the refusals are logged',
    );
    t.true(
      s.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('HTTP API: connection refused')).length <= 1,
      'one line for the burst, not one per connection',
    );
  },
);

test('the connection budget: 16 per source (an IPv6 /64), 256 for sources beyond this host, 64 for loopback of its own', (t) => {
  const b = new ConnectionBudget({
    perSource: HTTP_CONNECTIONS_PER_SOURCE,
    remote: HTTP_REMOTE_CONNECTIONS,
    loopback: HTTP_LOOPBACK_CONNECTIONS,
  });
  const admitted = (addr: string) => typeof b.admit(addr) !== 'string';
  // one source: 16, then refused
  for (let i = 0; i < HTTP_CONNECTIONS_PER_SOURCE; i++) t.true(admitted('198.51.100.7'));
  t.regex(b.admit('198.51.100.7') as string, /^16 connections from 198\.51\.100\.7 already$/);
  t.false(admitted('::ffff:198.51.100.7'), 'an IPv4-mapped address is the IPv4 source');
  // an IPv6 host has a /64: its addresses share one cap
  for (let i = 0; i < HTTP_CONNECTIONS_PER_SOURCE; i++) t.true(admitted(`2001:db8:1:2::${(i + 1).toString(16)}`));
  t.false(admitted('2001:db8:1:2:ffff::1'), 'another address of the same /64');
  t.true(admitted('2001:db8:1:3::1'), 'the next /64 is another source');
  // many sources beyond this host fill the shared budget ...
  let remote = 2 * HTTP_CONNECTIONS_PER_SOURCE + 1;
  for (let i = 0; remote < HTTP_REMOTE_CONNECTIONS; i++, remote++) t.true(admitted(`203.0.113.${i}`));
  t.is(b.held.remote, HTTP_REMOTE_CONNECTIONS);
  t.regex(b.admit('198.18.0.1') as string, /256 connections from beyond this host already/);
  // ... and the local health check still gets in, in any loopback form
  for (const local of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '127.0.0.53']) t.true(admitted(local), local);
  // loopback has its own cap: 64 in all
  for (let i = 2; b.held.loopback < HTTP_LOOPBACK_CONNECTIONS; i++) t.true(admitted(`127.0.1.${i % 250}`));
  t.regex(b.admit('127.0.2.1') as string, /64 connections from loopback already/);
  // a released connection frees its slot
  const slot = connectionSource('198.51.100.7')!;
  b.release(slot);
  t.is(b.held.remote, HTTP_REMOTE_CONNECTIONS - 1);
  t.true(admitted('198.51.100.7'));
  t.is(b.admit(undefined), 'no source address (closed already)');
});

test('the connection budget: loopback has no cap per address; max_connections_per_source 0 lifts the cap for a source beyond this host (a reverse proxy, NAT)', (t) => {
  const b = new ConnectionBudget({
    perSource: HTTP_CONNECTIONS_PER_SOURCE,
    remote: HTTP_REMOTE_CONNECTIONS,
    loopback: HTTP_LOOPBACK_CONNECTIONS,
  });
  for (let i = 0; i < HTTP_LOOPBACK_CONNECTIONS; i++)
    t.is(typeof b.admit('127.0.0.1'), 'object', `loopback connection ${i + 1} from one address`);
  t.regex(b.admit('::1') as string, /64 connections from loopback already/, 'the loopback total still holds');
  const proxied = new ConnectionBudget({ perSource: 0, remote: HTTP_REMOTE_CONNECTIONS, loopback: HTTP_LOOPBACK_CONNECTIONS });
  for (let i = 0; i < HTTP_REMOTE_CONNECTIONS; i++)
    t.is(typeof proxied.admit('198.51.100.7'), 'object', `connection ${i + 1} from the proxy`);
  t.regex(proxied.admit('198.51.100.7') as string, /256 connections from beyond this host already/, 'the total still holds');
});
