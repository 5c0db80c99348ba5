// One probe against real backends on loopback (the check types of docs/zone-format.md#health-checks):
// tcp connect / refused / timeout, http status, expect lists, Host and custom headers, body substrings
// (across chunk boundaries, not found, past MAX_BODY), timeouts of servers that accept and never answer,
// and https against the self-signed fixture: down with verification on, up with `insecure: true`, SNI
// and Host equal to the check's host, which defaults to the pool's name when built from a zone.
// Addresses: 127.0.1.1–127.0.1.59 (prober.test.ts uses the ones above).
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import test from 'ava';
import { MAX_BODY, probe, probeTcpSocket, RAW_TCP_CHECKS } from '../../src/health/checks.js';
import { BASE_CONFIG, startServer } from '../helpers/server.js';
import { addr, checkSpec, FullBacklog, HttpBackend, Lateness, RawBackend, stateChanges, TcpBackend, waitFor } from './backends.js';

/**
 * Runs `fn` and measures it, with the slack allowed for "ended within its timeout": the probe's own timer and
 * the code awaiting it may each fire late by the event loop's measured lateness (a few ms on an idle machine,
 * much more when other test processes load it), plus 20 ms for the socket teardown and promise resolution.
 */
async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; slack: number }> {
  const late = new Lateness();
  const t = Date.now();
  const value = await fn();
  const ms = Date.now() - t;
  const slack = 20 + 2 * late.ms;
  late.stop();
  return { value, ms, slack };
}

// ---- tcp ----------------------------------------------------------------------------------------------

test('tcp: connecting to a listener succeeds, with its response time', async (t) => {
  const b = await TcpBackend.start(addr(1));
  t.teardown(() => b.close());
  const r = await probe({ address: b.host, check: checkSpec({ type: 'tcp', port: b.port, timeoutMs: 5000 }) });
  t.like(r, { ok: true, reason: 'connected', kind: 'success' });
  t.true(r.rttMs >= 0 && r.rttMs < 5000);
  await waitFor(() => b.hits.length === 1, 10_000, 'the backend to see the connection');
});

test('tcp: no listener → "connection refused", at once', async (t) => {
  const b = await TcpBackend.start(addr(2));
  await b.close();
  const { value: r, ms } = await timed(() => probe({ address: b.host, check: checkSpec({ type: 'tcp', port: b.port, timeoutMs: 5000 }) }));
  t.deepEqual({ ok: r.ok, reason: r.reason, kind: r.kind }, { ok: false, reason: 'connection refused', kind: 'refused' });
  t.true(ms < 5000, `refused took ${ms}ms: it must not wait for the timeout`);
});

test('tcp: a connect that never completes (accept queue full) → "timeout after 150ms", within the timeout', async (t) => {
  const b = await FullBacklog.start(addr(3));
  t.teardown(() => b.close());
  const {
    value: r,
    ms,
    slack,
  } = await timed(() => probe({ address: b.host, check: checkSpec({ type: 'tcp', port: b.port, timeoutMs: 150 }) }));
  t.deepEqual({ ok: r.ok, reason: r.reason, kind: r.kind }, { ok: false, reason: 'timeout after 150ms', kind: 'timeout' });
  t.true(ms >= 145 && ms <= 150 + slack, `probe took ${ms}ms (slack ${slack}ms)`);
  // whole seconds are written as seconds (`timeout after 2s`, as docs/operations.md#health-checking shows)
  const {
    value: r2,
    ms: ms2,
    slack: slack2,
  } = await timed(() => probe({ address: b.host, check: checkSpec({ type: 'tcp', port: b.port, timeoutMs: 1000 }) }));
  t.is(r2.reason, 'timeout after 1s');
  t.true(ms2 >= 995 && ms2 <= 1000 + slack2, `probe took ${ms2}ms (slack ${slack2}ms)`);
});

test('tcp: the libuv-handle check and the net.Socket fallback give the same results (connected, refused, timeout)', async (t) => {
  t.true(RAW_TCP_CHECKS, 'this Node.js has the TCP handle binding: checks use it');
  const live = await TcpBackend.start(addr(5));
  const gone = await TcpBackend.start(addr(6));
  await gone.close();
  const full = await FullBacklog.start(addr(7));
  t.teardown(() => Promise.all([live.close(), full.close()]));
  for (const [b, timeoutMs] of [
    [live, 5000],
    [gone, 5000],
    [full, 150],
  ] as const) {
    const check = checkSpec({ type: 'tcp', port: b.port, timeoutMs });
    const a = await probe({ address: b.host, check });
    const c = await probeTcpSocket({ address: b.host, check });
    t.deepEqual({ ok: a.ok, reason: a.reason, kind: a.kind }, { ok: c.ok, reason: c.reason, kind: c.kind }, `${b.host}:${b.port}`);
  }
  await waitFor(() => live.hits.length === 2, 10_000, 'both connections seen by the backend');
});

// ---- http -----------------------------------------------------------------------------------------------

test('http: GET path with Host = check host and the custom headers; 200 → up', async (t) => {
  const b = await HttpBackend.start(addr(4));
  t.teardown(() => b.close());
  const check = checkSpec({
    port: b.port,
    path: '/healthz?deep=1',
    host: 'app.example.test',
    timeoutMs: 5000,
    headers: { 'X-Probe-Token': 's3cret', 'User-Agent': 'custom-agent/1' },
  });
  const r = await probe({ address: b.host, check });
  t.like(r, { ok: true, reason: 'HTTP 200', kind: 'success' });
  t.is(b.requests.length, 1);
  const seen = b.requests[0]!;
  t.is(seen.method, 'GET');
  t.is(seen.url, '/healthz?deep=1');
  t.is(seen.headers.host, `app.example.test:${b.port}`, 'Host carries the port when it is not the default (RFC 7230 §5.4)');
  t.is(seen.headers['x-probe-token'], 's3cret');
  t.is(seen.headers['user-agent'], 'custom-agent/1');
});

test('http: expect with several statuses; any other status → "HTTP <status>"', async (t) => {
  const b = await HttpBackend.start(addr(5), {
    handler: (req, res) => {
      const status = Number(req.url!.slice(1));
      res.writeHead(status, status === 301 ? { location: '/elsewhere' } : {});
      res.end();
    },
  });
  t.teardown(() => b.close());
  const c = (path: string, expect: number[]) => checkSpec({ port: b.port, path, expect, timeoutMs: 5000 });
  const multi = [200, 204, 301];
  t.like(await probe({ address: b.host, check: c('/204', multi) }), { ok: true, reason: 'HTTP 204', kind: 'success' });
  t.like(await probe({ address: b.host, check: c('/301', multi) }), { ok: true, reason: 'HTTP 301', kind: 'success' });
  t.like(await probe({ address: b.host, check: c('/200', multi) }), { ok: true, reason: 'HTTP 200', kind: 'success' });
  t.like(await probe({ address: b.host, check: c('/503', multi) }), { ok: false, reason: 'HTTP 503', kind: 'status' });
  t.like(await probe({ address: b.host, check: c('/200', [204]) }), { ok: false, reason: 'HTTP 200', kind: 'status' });
  t.like(await probe({ address: b.host, check: c('/404', [200]) }), { ok: false, reason: 'HTTP 404', kind: 'status' });
});

test('http: no listener → "connection refused"', async (t) => {
  const b = await HttpBackend.start(addr(6));
  await b.close();
  const r = await probe({ address: b.host, check: checkSpec({ port: b.port, timeoutMs: 5000 }) });
  t.like(r, { ok: false, reason: 'connection refused', kind: 'refused' });
});

test('http: a server that accepts and never answers → "timeout after 200ms"; the prober closes the connection', async (t) => {
  const b = await RawBackend.hanging(addr(7));
  t.teardown(() => b.close());
  const { value: r, ms, slack } = await timed(() => probe({ address: b.host, check: checkSpec({ port: b.port, timeoutMs: 200 }) }));
  t.deepEqual({ ok: r.ok, reason: r.reason, kind: r.kind }, { ok: false, reason: 'timeout after 200ms', kind: 'timeout' });
  t.true(ms >= 195 && ms <= 200 + slack, `probe took ${ms}ms (slack ${slack}ms)`);
  await waitFor(() => b.conns.length === 1 && b.conns[0]!.closed !== null, 10_000, 'the prober to close its connection');
  const c = b.conns[0]!;
  t.true(c.closed! - c.opened <= 200 + slack, `connection lived ${c.closed! - c.opened}ms`);
  t.is(c.bytesOut, 0);
});

test('http: a request Node refuses only at end() (a Trailer header) fails at once and releases the socket and the timer', async (t) => {
  const b = await RawBackend.hanging(addr(55));
  t.teardown(() => b.close());
  const timeoutMs = 30_000;
  const { value: r, ms } = await timed(() =>
    probe({ address: b.host, check: checkSpec({ port: b.port, timeoutMs, headers: { Trailer: 'X-Checksum' } }) }),
  );
  t.like(r, { ok: false, kind: 'error' });
  t.regex(r.reason, /^probe not sent: .*[Tt]railer/);
  t.true(ms < timeoutMs / 2, `probe took ${ms}ms`);
  // a connection of our own, made after the probe ended: once it is accepted, the probe's (started earlier, on
  // loopback) has been accepted too if it was made at all
  const own = net.connect({ host: b.host, port: b.port });
  t.teardown(() => own.destroy());
  await new Promise((resolve) => own.once('connect', resolve));
  await waitFor(() => b.conns.some((c) => c.peerPort === own.localPort), 10_000, 'our own connection to be accepted');
  const probeConns = b.conns.filter((c) => c.peerPort !== own.localPort);
  // every connection the probe made is closed well before the probe's timeout (it stayed open until then)
  await waitFor(() => probeConns.every((c) => c.closed !== null), timeoutMs / 3, "the probe's connection to be closed");
  for (const c of probeConns) t.is(c.bytesOut, 0);
});

test('http: headers sent, then a body that trickles without the substring → timeout, bounded', async (t) => {
  const b = await HttpBackend.start(addr(8), {
    handler: (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('.'), 10);
      res.once('close', () => clearInterval(timer));
    },
  });
  t.teardown(() => b.close());
  const {
    value: r,
    ms,
    slack,
  } = await timed(() => probe({ address: b.host, check: checkSpec({ port: b.port, body: 'ok', timeoutMs: 250 }) }));
  t.deepEqual({ ok: r.ok, reason: r.reason, kind: r.kind }, { ok: false, reason: 'timeout after 250ms', kind: 'timeout' });
  t.true(ms >= 245 && ms <= 250 + slack, `probe took ${ms}ms (slack ${slack}ms)`);
});

/** A backend writing `parts` as separate chunks, `gapMs` apart (each is flushed before the next is written). */
function chunked(parts: string[], gapMs = 30) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    let i = 0;
    const next = () => {
      if (res.destroyed) return;
      if (i === parts.length) {
        res.end();
        return;
      }
      res.write(parts[i++]);
      setTimeout(next, gapMs);
    };
    next();
  };
}

/** The body as a plain client receives it, one string per 'data' event. */
function dataEvents(host: string, port: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const parts: string[] = [];
    const req = httpRequest({ host, port, path: '/', agent: false }, (res) => {
      res.setEncoding('latin1');
      res.on('data', (d: string) => parts.push(d));
      res.on('end', () => resolve(parts));
    });
    req.on('error', reject);
    req.end();
  });
}

test('http: body substring found across chunk boundaries', async (t) => {
  const b = await HttpBackend.start(addr(9), { handler: chunked(['status: o', 'k, all fine']) });
  t.teardown(() => b.close());
  // the backend really delivers the two halves of "ok" separately
  t.deepEqual(await dataEvents(b.host, b.port), ['status: o', 'k, all fine']);
  const r = await probe({ address: b.host, check: checkSpec({ port: b.port, body: 'ok', timeoutMs: 5000 }) });
  t.like(r, { ok: true, reason: 'HTTP 200, body contains "ok"', kind: 'success' });
  // a longer needle cut in three pieces, the middle one shorter than the needle
  const b3 = await HttpBackend.start(addr(10), { handler: chunked(['xx"hea', 'lth', 'y": true}']) });
  t.teardown(() => b3.close());
  const r3 = await probe({ address: b3.host, check: checkSpec({ port: b3.port, body: '"healthy": true', timeoutMs: 5000 }) });
  t.like(r3, { ok: true, reason: 'HTTP 200, body contains "\\"healthy\\": true"', kind: 'success' });
});

test('http: body without the substring → body did not contain "ok"', async (t) => {
  const b = await HttpBackend.start(addr(11), { handler: chunked(['status: o', 'n fire, ', 'k?']) });
  t.teardown(() => b.close());
  const r = await probe({ address: b.host, check: checkSpec({ port: b.port, body: 'ok', timeoutMs: 5000 }) });
  t.like(r, { ok: false, reason: 'body did not contain "ok"', kind: 'body' });
  // the status is checked before the body
  const b2 = await HttpBackend.start(addr(12));
  t.teardown(() => b2.close());
  b2.mode = 'status';
  const r2 = await probe({ address: b2.host, check: checkSpec({ port: b2.port, body: 'ok', timeoutMs: 5000 }) });
  t.like(r2, { ok: false, reason: 'HTTP 503', kind: 'status' });
});

test('http: the body is searched in the first MAX_BODY bytes only', async (t) => {
  const filler = 'x'.repeat(1000);
  const within = HttpBackend.start(addr(13), { handler: chunked([...Array<string>(60).fill(filler), 'ok', filler], 1) });
  const beyond = HttpBackend.start(addr(14), {
    handler: chunked([...Array<string>(Math.ceil(MAX_BODY / 1000) + 10).fill(filler), 'ok'], 1),
  });
  const [a, b] = await Promise.all([within, beyond]);
  t.teardown(() => Promise.all([a.close(), b.close()]));
  t.like(await probe({ address: a.host, check: checkSpec({ port: a.port, body: 'ok', timeoutMs: 5000 }) }), { ok: true, kind: 'success' });
  t.like(await probe({ address: b.host, check: checkSpec({ port: b.port, body: 'ok', timeoutMs: 5000 }) }), {
    ok: false,
    reason: `body did not contain "ok" in the first ${MAX_BODY / 1024} KB`,
    kind: 'body',
  });
});

// ---- https ------------------------------------------------------------------------------------------------

test('https: self-signed certificate → "TLS: self-signed certificate" with verification on, up with insecure; SNI and Host = check host', async (t) => {
  const b = await HttpBackend.start(addr(50), { tls: true });
  t.teardown(() => b.close());
  const check = checkSpec({ type: 'https', port: b.port, host: 'secure.example.test', timeoutMs: 5000 });
  const strict = await probe({ address: b.host, check });
  t.deepEqual(
    { ok: strict.ok, reason: strict.reason, kind: strict.kind },
    { ok: false, reason: 'TLS: self-signed certificate', kind: 'tls' },
  );
  t.deepEqual(b.sni, ['secure.example.test'], 'the SNI is the check host, even when the certificate is then rejected');
  t.is(b.requests.length, 0, 'no request is sent over an unverified connection');

  const loose = await probe({ address: b.host, check: { ...check, insecure: true } });
  t.like(loose, { ok: true, reason: 'HTTP 200', kind: 'success' });
  t.deepEqual(b.sni, ['secure.example.test', 'secure.example.test']);
  t.is(b.requests.length, 1);
  t.is(b.requests[0]!.servername, 'secure.example.test');
  t.is(b.requests[0]!.headers.host, `secure.example.test:${b.port}`);
});

test('https: an IP address as host is sent as Host but not as SNI (RFC 6066)', async (t) => {
  const b = await HttpBackend.start(addr(51), { tls: true });
  t.teardown(() => b.close());
  const r = await probe({
    address: b.host,
    check: checkSpec({ type: 'https', port: b.port, host: b.host, insecure: true, timeoutMs: 5000 }),
  });
  t.like(r, { ok: true, reason: 'HTTP 200' });
  t.deepEqual(b.sni, []);
  t.is(b.requests[0]!.servername, false);
  t.is(b.requests[0]!.headers.host, `${b.host}:${b.port}`);
});

test('https with insecure: the body and status checks still apply; plain HTTP to a TLS port fails fast', async (t) => {
  const b = await HttpBackend.start(addr(52), { tls: true });
  t.teardown(() => b.close());
  b.body = 'all ok';
  const check = checkSpec({ type: 'https', port: b.port, host: 'secure.example.test', insecure: true, body: 'ok', timeoutMs: 5000 });
  t.like(await probe({ address: b.host, check }), { ok: true, reason: 'HTTP 200, body contains "ok"' });
  b.body = 'nope';
  t.like(await probe({ address: b.host, check }), { ok: false, reason: 'body did not contain "ok"', kind: 'body' });
  b.mode = 'status';
  t.like(await probe({ address: b.host, check }), { ok: false, reason: 'HTTP 503', kind: 'status' });
  // plain HTTP spoken to a TLS port is a TLS failure, not a hang
  const { value: r, ms, slack } = await timed(() => probe({ address: b.host, check: { ...check, type: 'http' } }));
  t.false(r.ok);
  t.true(ms <= 5000 + slack);
});

// ---- through a zone: the pool's name is the default Host/SNI, and the state changes are logged ----------------

test('zone-built checks: Host and SNI default to the pool name; https down with verification on (logged), up with insecure', async (t) => {
  const tlsB = await HttpBackend.start(addr(53), { tls: true });
  const plain = await HttpBackend.start(addr(54));
  t.teardown(() => Promise.all([tlsB.close(), plain.close()]));
  const zone = `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, refresh: 7200, retry: 3600, expire: 1209600, minimum: 60 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  strict:
    pool:
      check: { type: https, port: ${tlsB.port}, path: /health, interval: 200ms, timeout: 5s, rise: 1, fall: 2 }
      regions: { us-east: [${tlsB.host}] }
  secure:
    pool:
      check: { type: https, port: ${tlsB.port}, path: /health, insecure: true, initial: down, interval: 200ms, timeout: 5s, rise: 2, fall: 2 }
      regions: { us-east: [${tlsB.host}] }
  plain:
    pool:
      check: { type: http, port: ${plain.port}, path: /ping, headers: { X-Env: test }, interval: 200ms, timeout: 5s, rise: 1, fall: 2 }
      regions: { us-east: [${plain.host}] }
`;
  const ts = await startServer({ 'example.test.yaml': zone }, BASE_CONFIG);
  t.teardown(() => ts.stop());
  const keys = [...ts.server.health.keys()];
  const strictKey = keys.find((k) => k.includes('|strict.example.test|'))!;
  const secureKey = keys.find((k) => k.includes('|secure.example.test|'))!;
  t.truthy(strictKey && secureKey, `keys: ${keys.join(' ; ')}`);
  t.false(ts.server.health.isUp(secureKey), 'initial: down');

  await waitFor(
    () => !ts.server.health.isUp(strictKey) && ts.server.health.isUp(secureKey) && plain.requests.length > 0,
    10_000,
    'strict down, secure up',
  );
  const changes = stateChanges(ts.logs);
  const strictDown = changes.filter((l) => l.key === strictKey);
  t.is(strictDown.length, 1);
  t.like(strictDown[0], {
    target: tlsB.host,
    pools: ['strict.example.test (us-east)'],
    from: 'up',
    to: 'down',
    reason: 'TLS: self-signed certificate',
  });
  const secureUp = changes.filter((l) => l.key === secureKey);
  t.is(secureUp.length, 1);
  t.like(secureUp[0], { target: tlsB.host, pools: ['secure.example.test (us-east)'], from: 'down', to: 'up', reason: 'HTTP 200' });

  t.true(tlsB.sni.includes('strict.example.test'), `SNI seen: ${tlsB.sni.join(', ')}`);
  t.true(tlsB.sni.includes('secure.example.test'));
  t.true(tlsB.requests.length > 0);
  for (const r of tlsB.requests) {
    // only the insecure check gets to send requests, with its pool's name as Host and SNI
    t.is(r.headers.host, `secure.example.test:${tlsB.port}`);
    t.is(r.servername, 'secure.example.test');
    t.is(r.url, '/health');
  }
  for (const r of plain.requests) {
    t.is(r.headers.host, `plain.example.test:${plain.port}`);
    t.is(r.headers['x-env'], 'test');
    t.is(r.url, '/ping');
  }
});
