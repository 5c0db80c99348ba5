// One health probe of one target (docs/zone-format.md#health-checks): tcp (connect), http and https (GET path,
// Host and SNI, expected status, optional body substring, TLS verification unless insecure). Every probe is
// bounded by the check's timeout and reads at most MAX_BODY bytes; it never throws or rejects — even when Node
// refuses the request itself (a path or header it will not send) the result is a failed probe carrying a short
// human reason. Response times are measured on the monotonic clock: a wall-clock step does not distort them.
// With health.source, a probe to a target of the source's family leaves from that address (bound before the
// connect); one of the other family leaves from whatever address the system picks.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { getSystemErrorName } from 'node:util';
import type { CheckSpec } from '../config/zone-file.js';

export interface ProbeResult {
  ok: boolean;
  /** `connected`, `HTTP 200`, `timeout after 2s`, `connection refused`, `HTTP 503`, `TLS: self-signed certificate`… */
  reason: string;
  /** Bounded category for metrics. */
  kind: 'success' | 'timeout' | 'refused' | 'status' | 'body' | 'tls' | 'error';
  rttMs: number;
}

export interface ProbeTarget {
  address: string;
  check: CheckSpec;
  /** `health.source`: probes of its family are bound to it. */
  source?: ProbeSource | null;
}

export interface ProbeSource {
  address: string;
  family: 4 | 6;
}

/** The address a probe of `target` is bound to: the source when of the target's family (an IP literal), else none. */
function localAddress({ address, source }: ProbeTarget): string | undefined {
  if (!source) return undefined;
  return (address.includes(':') ? 6 : 4) === source.family ? source.address : undefined;
}

/**
 * Why probes cannot leave from `address` (EADDRNOTAVAIL: not an address of this host), null when they can:
 * `serve` asks before the first probe, so that a wrong health.source stops the start instead of failing every probe.
 */
export function sourceBindError(address: string): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (e) => resolve(e as NodeJS.ErrnoException));
    server.listen({ host: address, port: 0, exclusive: true }, () => server.close(() => resolve(null)));
  });
}

/** Largest response body read when looking for `body:`; past it the probe fails instead of reading on. */
export const MAX_BODY = 64 * 1024;

/** Informational (1xx) responses accepted before the final one: a backend sending them forever is cut off. */
export const MAX_INFORMATIONAL = 16;

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_NOT_YET_VALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
  'ERR_TLS_HANDSHAKE_TIMEOUT',
]);

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Milliseconds since `started` (a performance.now() reading), whole as the wall clock's were. */
function since(started: number): number {
  return Math.round(performance.now() - started);
}

function failure(e: NodeJS.ErrnoException, started: number): ProbeResult {
  const rttMs = since(started);
  const code = e.code ?? '';
  if (code === 'ECONNREFUSED') return { ok: false, reason: 'connection refused', kind: 'refused', rttMs };
  if (code === 'ECONNRESET') return { ok: false, reason: 'connection reset', kind: 'error', rttMs };
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return { ok: false, reason: 'host unreachable', kind: 'error', rttMs };
  if (TLS_CODES.has(code) || /certificate|TLS|SSL/i.test(e.message)) {
    return { ok: false, reason: `TLS: ${e.message.replace(/^.*?: /, '')}`, kind: 'tls', rttMs };
  }
  if (code === 'HPE_HEADER_OVERFLOW') return { ok: false, reason: 'HTTP headers too large', kind: 'error', rttMs };
  return { ok: false, reason: e.message || code || 'error', kind: 'error', rttMs };
}

/** Runs one probe; resolves (never rejects) within the check's timeout (plus a little scheduling slack). */
export function probe(target: ProbeTarget): Promise<ProbeResult> {
  const started = performance.now();
  try {
    const { check } = target;
    return (check.type === 'tcp' ? probeTcp(target) : probeHttp(target)).catch((e: unknown) => refused(e, started));
  } catch (e) {
    return Promise.resolve(refused(e, started));
  }
}

/** A probe that could not even be made (Node refused the request: an invalid path or header): a failure. */
function refused(e: unknown, started: number): ProbeResult {
  const err = e as NodeJS.ErrnoException;
  return { ok: false, reason: `probe not sent: ${err?.message ?? String(e)}`, kind: 'error', rttMs: since(started) };
}

// TCP checks at scale (tens of thousands of targets) open thousands of connections a second: through
// net.Socket each costs ~26 µs of JavaScript (stream set-up, and an Error with a stack trace for every
// refusal), through libuv's TCP handle ~3 µs. The handle is Node's internal binding, stable for years but
// not a documented API: when it is missing, net.Socket does the same job.
interface RawTcp {
  TCP: new (
    type: number,
  ) => {
    connect(req: object, address: string, port: number): number;
    connect6(req: object, address: string, port: number): number;
    bind(address: string, port: number): number;
    bind6(address: string, port: number, flags: number): number;
    close(cb?: () => void): void;
    reset?(cb?: () => void): number;
  };
  TCPConnectWrap: new () => { oncomplete: (status: number) => void; address?: string; port?: number };
  constants: { SOCKET: number };
}

const RAW_TCP: RawTcp | null = (() => {
  try {
    const b = (process as unknown as { binding(name: string): RawTcp }).binding('tcp_wrap');
    return typeof b?.TCP === 'function' && typeof b.TCPConnectWrap === 'function' ? b : null;
  } catch {
    return null;
  }
})();

function probeTcp(target: ProbeTarget): Promise<ProbeResult> {
  return RAW_TCP ? probeTcpRaw(RAW_TCP, target) : probeTcpSocket(target);
}

/** True when TCP checks use libuv's handle directly (see RAW_TCP). */
export const RAW_TCP_CHECKS = RAW_TCP !== null;

function probeTcpRaw(raw: RawTcp, target: ProbeTarget): Promise<ProbeResult> {
  const { address, check } = target;
  return new Promise((resolve) => {
    const started = performance.now();
    let done = false;
    const handle = new raw.TCP(raw.constants.SOCKET);
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // a connected probe ends with a reset, not a FIN exchange: half the packets, and no TIME_WAIT left
      // behind per probe (50,000 targets every 10 s would keep ~300,000 of them)
      if (r.ok && handle.reset) {
        if (handle.reset() !== 0) handle.close();
      } else handle.close();
      resolve(r);
    };
    const timer = setTimeout(
      () => finish({ ok: false, reason: `timeout after ${seconds(check.timeoutMs)}`, kind: 'timeout', rttMs: check.timeoutMs }),
      check.timeoutMs,
    );
    const req = new raw.TCPConnectWrap();
    req.oncomplete = (status: number) => {
      if (status === 0) finish({ ok: true, reason: 'connected', kind: 'success', rttMs: since(started) });
      else finish(failure(errno(status), started));
    };
    req.address = address;
    req.port = check.port;
    const v6 = address.includes(':');
    const local = localAddress(target);
    // bound before the connect, as net.Socket does with localAddress: port 0, the kernel picks one
    const bound = local === undefined ? 0 : v6 ? handle.bind6(local, 0, 0) : handle.bind(local, 0);
    if (bound) {
      const code = getSystemErrorName(bound);
      finish({ ok: false, reason: `cannot bind to health.source ${local}: ${code}`, kind: 'error', rttMs: since(started) });
      return;
    }
    const err = v6 ? handle.connect6(req, address, check.port) : handle.connect(req, address, check.port);
    if (err) finish(failure(errno(err), started));
  });
}

/** A libuv status as the error shape failure() reads (no Error object: no stack trace to build). */
function errno(status: number): NodeJS.ErrnoException {
  const code = getSystemErrorName(status);
  return { name: 'Error', code, message: code };
}

/** The TCP check through net.Socket (the fallback; exported for the tests that compare both ways). */
export function probeTcpSocket(target: ProbeTarget): Promise<ProbeResult> {
  const { address, check } = target;
  return new Promise((resolve) => {
    const started = performance.now();
    let done = false;
    const socket = net.connect({ host: address, port: check.port, localAddress: localAddress(target) });
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () => finish({ ok: false, reason: `timeout after ${seconds(check.timeoutMs)}`, kind: 'timeout', rttMs: check.timeoutMs }),
      check.timeoutMs,
    );
    socket.once('connect', () => finish({ ok: true, reason: 'connected', kind: 'success', rttMs: since(started) }));
    socket.once('error', (e) => finish(failure(e, started)));
  });
}

function probeHttp(target: ProbeTarget): Promise<ProbeResult> {
  const { address, check } = target;
  return new Promise((resolve) => {
    const started = performance.now();
    let done = false;
    const mod = check.type === 'https' ? https : http;
    const headers: Record<string, string> = {
      // RFC 7230 §5.4: the port goes with the host when it is not the scheme's default
      'user-agent': 'steerdns-health-check',
      accept: '*/*',
      connection: 'close',
      ...check.headers,
      host: check.port === (check.type === 'https' ? 443 : 80) ? check.host : `${check.host}:${check.port}`,
    };
    const req = mod.request({
      host: address,
      port: check.port,
      localAddress: localAddress(target),
      path: check.path,
      method: 'GET',
      headers,
      agent: false,
      servername: check.type === 'https' && !net.isIP(check.host) ? check.host : undefined,
      rejectUnauthorized: !check.insecure,
      maxHeaderSize: 16 * 1024,
    });
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () => finish({ ok: false, reason: `timeout after ${seconds(check.timeoutMs)}`, kind: 'timeout', rttMs: check.timeoutMs }),
      check.timeoutMs,
    );
    req.once('error', (e) => finish(failure(e, started)));
    // each 1xx is small (under maxHeaderSize) but they can come without end: bound how many are read
    let informational = 0;
    req.on('information', () => {
      if (++informational > MAX_INFORMATIONAL) {
        finish({ ok: false, reason: `more than ${MAX_INFORMATIONAL} informational (1xx) responses`, kind: 'error', rttMs: since(started) });
      }
    });
    req.once('response', (res) => {
      const status = res.statusCode ?? 0;
      if (!check.expect.includes(status)) {
        res.destroy();
        finish({ ok: false, reason: `HTTP ${status}`, kind: 'status', rttMs: since(started) });
        return;
      }
      const want = check.body;
      if (want === null) {
        res.destroy();
        finish({ ok: true, reason: `HTTP ${status}`, kind: 'success', rttMs: since(started) });
        return;
      }
      // look for the substring in at most MAX_BODY bytes; keep a tail so a match across chunks is found
      const needle = Buffer.from(want);
      let seen = 0;
      let tail = Buffer.alloc(0);
      res.on('data', (chunk: Buffer) => {
        const window = Buffer.concat([tail, chunk]);
        if (window.includes(needle)) {
          finish({ ok: true, reason: `HTTP ${status}, body contains ${JSON.stringify(want)}`, kind: 'success', rttMs: since(started) });
          return;
        }
        seen += chunk.length;
        if (seen >= MAX_BODY) {
          finish({
            ok: false,
            reason: `body did not contain ${JSON.stringify(want)} in the first ${MAX_BODY / 1024} KB`,
            kind: 'body',
            rttMs: since(started),
          });
          return;
        }
        tail = window.subarray(Math.max(0, window.length - needle.length + 1));
      });
      res.once('end', () =>
        finish({ ok: false, reason: `body did not contain ${JSON.stringify(want)}`, kind: 'body', rttMs: since(started) }),
      );
      res.once('error', (e) => finish(failure(e, started)));
    });
    // the socket is connecting and the timer armed by now: a throw here (Node refuses some headers only at
    // end(), e.g. Trailer) ends the probe at once and releases both, instead of holding them to the timeout
    try {
      req.end();
    } catch (e) {
      finish(refused(e, started));
    }
  });
}
