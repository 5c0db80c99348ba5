// Issue 11, review of item 17: one client could block the whole HTTP API, /healthz included, for ~30 s. Idle
// half-sent requests held the 256 connection slots until Node's connection check, which ran every 30 s.
// Now: a half request is dropped at the headers timeout (checked every second); each source (an IPv4
// address, an IPv6 /64) holds at most 16 connections, over that they are closed at once; sources beyond
// this host share 256, loopback has 64 of its own, so the local health check gets in whatever comes from
// outside. Against the real server (in this process), half requests from several 127.x source addresses.
import http from 'node:http';
import net from 'node:net';
import test from 'ava';
import { ConnectionBudget, connectionSource } from '../../src/http/connections.js';
import { HTTP_CONNECTIONS_PER_SOURCE, HTTP_HEADERS_TIMEOUT_MS as HEADERS_TIMEOUT_MS, HTTP_LOOPBACK_CONNECTIONS, HTTP_REMOTE_CONNECTIONS } from '../../src/limits.js';
import { BASE_CONFIG, SAMPLE_ZONE, startServer } from '../helpers/server.js';
import { poll } from './helpers.js';

/** GET /healthz on a fresh connection from `localAddress`: the status and the milliseconds it took. */
function healthz(port: number, localAddress = '127.0.0.1', timeoutMs = 10_000): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', localAddress, agent: false, headers: { host: `127.0.0.1:${port}` }, timeout: timeoutMs }, (res) => {
      res.resume().on('end', () => resolve({ status: res.statusCode!, ms: performance.now() - started }));
    });
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
    socket.on('data', (d: Buffer) => { got += d.toString('latin1'); });
    socket.once('close', () => resolve(got.split('\r\n')[0] ?? ''));
  });
  return h;
}

test('idle half requests from several 127.x sources: each source holds at most 16, the rest are closed at once, /healthz from 127.0.0.1 answers at its normal speed; the held ones get 408 at the headers timeout', async (t) => {
  t.timeout(60_000);
  const s = await startServer({ 'example.test.yaml': SAMPLE_ZONE }, `${BASE_CONFIG}http: "127.0.0.1:0"\n`);
  t.teardown(() => s.stop());
  const port = s.server.httpPort!;

  // the normal latency of /healthz on a fresh connection (after one to warm up)
  await healthz(port);
  const normal = [];
  for (let i = 0; i < 5; i++) normal.push((await healthz(port)).ms);
  const normalMs = Math.max(...normal);

  // 3 sources × 100: more than the 256 connections the API held at most before, fewer than the loopback budget
  // once each source is capped at 16 (3 × 16 = 48 < 64)
  const sources = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
  const flood: HalfRequest[] = [];
  t.teardown(() => { for (const h of flood) h.socket.destroy(); });
  for (const source of sources) for (let i = 0; i < 100; i++) flood.push(halfRequest(port, source));
  await Promise.all(flood.map((h) => h.settled));
  const floodedAt = performance.now();
  const openFrom = (source: string) => flood.filter((h) => h.source === source && !h.socket.destroyed && !h.socket.closed).length;

  // the connections over a source's cap are closed as they come: long before a held one could time out
  await poll(() => (sources.every((src) => openFrom(src) <= HTTP_CONNECTIONS_PER_SOURCE) ? true : undefined),
    { timeoutMs: HEADERS_TIMEOUT_MS, what: `every source down to ${HTTP_CONNECTIONS_PER_SOURCE} open connections (now ${sources.map(openFrom).join(', ')})` });
  const capMs = performance.now() - floodedAt;

  // the local health check gets in on its first try, at its normal speed (not after a held connection times out)
  const h = await healthz(port);
  t.log(`normal /healthz ${normalMs.toFixed(1)} ms; the over-cap connections closed ${capMs.toFixed(0)} ms after the flood; /healthz under the flood ${h.ms.toFixed(1)} ms`);
  t.is(h.status, 200);
  t.true(h.ms <= 5 * normalMs, `/healthz took ${h.ms.toFixed(1)} ms under the flood, normally at most ${normalMs.toFixed(1)} ms`);

  // every flood connection ends: 16 per source held until the headers timeout (408), the others closed unanswered
  const replies = await Promise.all(flood.map((x) => x.reply));
  for (const source of sources) {
    const mine = flood.map((x, i) => ({ x, reply: replies[i]! })).filter((r) => r.x.source === source);
    const held = mine.filter((r) => r.reply.startsWith('HTTP/1.1 408'));
    t.is(held.length, HTTP_CONNECTIONS_PER_SOURCE, `${source}: connections held to the headers timeout`);
    t.is(mine.filter((r) => r.reply === '').length, 100 - HTTP_CONNECTIONS_PER_SOURCE, `${source}: connections closed at once`);
  }
  // a held half request is dropped at the headers timeout, checked every second (Node's default: every 30 s)
  const droppedMs = performance.now() - floodedAt;
  t.true(droppedMs <= HEADERS_TIMEOUT_MS + 1000 + capMs + 5 * normalMs, `the held half requests were dropped ${droppedMs.toFixed(0)} ms after the flood`);
  t.true(s.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith(`HTTP API: connection refused: ${HTTP_CONNECTIONS_PER_SOURCE} connections from 127.0.0.`)), 'the refusals are logged');
  t.true(s.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('HTTP API: connection refused')).length <= 1, 'one line for the burst, not one per connection');
  t.is((await healthz(port, '127.0.0.2')).status, 200, 'a capped source is served again once its connections are gone');
});

test('the connection budget: 16 per source (an IPv6 /64), 256 for sources beyond this host, 64 for loopback of its own', (t) => {
  const b = new ConnectionBudget({ perSource: HTTP_CONNECTIONS_PER_SOURCE, remote: HTTP_REMOTE_CONNECTIONS, loopback: HTTP_LOOPBACK_CONNECTIONS });
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
