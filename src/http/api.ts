// The HTTP API on `http:` (docs/http-api.md): /healthz, /readyz, /metrics, /explain, /overrides. What it serves comes from
// the application as functions (ApiSources) over the same snapshot and health table as the DNS path, and never
// blocks it: every handler is a quick read. Who may ask is decided first (Host header, bearer token:
// src/http/access.ts).
import http from 'node:http';
import type net from 'node:net';
import type { Logger } from 'pino';
import { HTTP_CONNECTIONS_PER_SOURCE, HTTP_LOOPBACK_CONNECTIONS, HTTP_REMOTE_CONNECTIONS } from '../config/http-defaults.js';
import { type AccessRules, ApiAccess } from './access.js';
import { ConnectionBudget } from './connections.js';

/** A request's headers must arrive within this (a half-sent request is dropped then), the whole request within the other. */
export const HTTP_HEADERS_TIMEOUT_MS = 2000;
export const HTTP_REQUEST_TIMEOUT_MS = 5000;

/** A GET /explain request, from the query string. */
export interface ExplainQuery {
  name: string;
  from: string;
  type?: string;
  subnet?: string;
}

export interface ApiSources {
  /** Zones being served: /readyz is not ready without one. */
  zoneCount(): number;
  /** GET /explain on the live state: the JSON to send, or `{ error }` for a bad request (400). */
  explain(q: ExplainQuery): object;
  /** Prometheus text for /metrics (with workers: aggregated over every process), and its content type. */
  metricsText(): Promise<string>;
  metricsContentType: string;
  log: Logger;
  /** Host allow-list and token; none: every Host and every read is allowed (tests of the routes alone). */
  access?: AccessRules;
  /** http.max_connections_per_source (0: no cap); default HTTP_CONNECTIONS_PER_SOURCE. */
  connectionsPerSource?: number;
  /** Why DNS is not being answered yet (null: it is); default: ready once a zone is loaded. */
  notReady?: () => string | null;
  /** Said after `ready` while DNS is answered but something is degraded (etcd unreachable); null: nothing. */
  readyDetail?: () => string | null;
  /** GET, POST and DELETE /overrides (docs/http-api.md#overrides); absent: those paths are 404. */
  overrides?: OverrideRoutes;
  /** Extra routes (status page, /status) added by later layers. */
  routes?: Map<
    string,
    (url: URL) => Promise<{ status: number; type: string; body: string }> | { status: number; type: string; body: string }
  >;
}

/** A route's answer: status, and a JSON body (null: none, as for 204). */
export interface JsonReply {
  status: number;
  body: object | null;
}

/** What the application does for /overrides; `client` is the requester's address (who, in the log). */
export interface OverrideRoutes {
  list(): object;
  add(body: unknown, client: string): JsonReply | Promise<JsonReply>;
  remove(id: string, client: string): JsonReply | Promise<JsonReply>;
}

/** The largest request body accepted (POST /overrides): an override is a few hundred bytes. */
export const MAX_BODY_BYTES = 16 * 1024;

/** Reads a request body up to `max` bytes: the text, or null when it is longer. */
function readBody(req: http.IncomingMessage, max: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) over = true;
      else if (!over) chunks.push(c);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: http.ServerResponse, r: JsonReply): void {
  if (r.body === null) {
    res.writeHead(r.status, { 'cache-control': 'no-store' });
    res.end();
  } else send(res, r.status, 'application/json', `${JSON.stringify(r.body, null, 2)}\n`);
}

/** Node's own check of those timeouts runs every 30 s by default: a half-sent request held its slot that long. */
export const CHECK_INTERVAL_MS = 1000;

/** Refused requests logged per second at most (a flood of them is one line a second after that). */
const REFUSALS_LOGGED = 10;

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export class HttpApi {
  private server: http.Server | null = null;
  private readonly access: ApiAccess | null;
  /** Accept errors (EMFILE, ENFILE) come in bursts: one log line per burst. */
  private lastAcceptError = 0;
  private readonly budget: ConnectionBudget;
  /** Connections refused over a cap: one log line per burst. */
  private lastRefused = 0;
  /** Requests refused for their token (401, 403): logged, at most REFUSALS_LOGGED a second. */
  private refusals = { second: 0, logged: 0, suppressed: 0 };

  constructor(private readonly src: ApiSources) {
    this.access = src.access ? new ApiAccess(src.access) : null;
    this.budget = new ConnectionBudget({
      perSource: src.connectionsPerSource ?? HTTP_CONNECTIONS_PER_SOURCE,
      remote: HTTP_REMOTE_CONNECTIONS,
      loopback: HTTP_LOOPBACK_CONNECTIONS,
    });
  }

  /** The listening server (tests emit on it), null before listen and after close. */
  get httpServer(): http.Server | null {
    return this.server;
  }

  /** New access rules (a reload): token, allowed hosts and metrics_auth apply to the next request. */
  configure(access: AccessRules): void {
    this.access?.configure(access);
  }

  async listen(host: string, port: number): Promise<number> {
    const server = http.createServer(
      { connectionsCheckingInterval: CHECK_INTERVAL_MS, headersTimeout: HTTP_HEADERS_TIMEOUT_MS, requestTimeout: HTTP_REQUEST_TIMEOUT_MS },
      (req, res) => {
        // a handler that throws or rejects is a 500 and a log line, never the end of the process
        const failed = (e: unknown) => {
          try {
            this.src.log.error({ err: e, path: req.url }, 'HTTP API error');
            if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
            else res.destroy();
          } catch {
            res.destroy();
          }
        };
        try {
          this.route(req, res).catch(failed);
        } catch (e) {
          failed(e);
        }
      },
    );
    // bounded per source and in total, so a flood of API connections cannot lock out the health check nor
    // take the descriptors DNS over TCP needs (src/http/connections.ts, src/limits.ts)
    server.on('connection', (socket: net.Socket) => {
      const slot = this.budget.admit(socket.remoteAddress);
      if (typeof slot === 'string') {
        socket.destroy();
        const now = Date.now();
        if (now - this.lastRefused >= 10_000) {
          this.lastRefused = now;
          this.src.log.warn({ client: socket.remoteAddress }, `HTTP API: connection refused: ${slot}`);
        }
        return;
      }
      socket.once('close', () => this.budget.release(slot));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // after listen, an 'error' is a failed accept (out of descriptors: EMFILE): without a listener it would
    // end the process; the server keeps listening and accepts again once descriptors are free
    server.on('error', (e: NodeJS.ErrnoException) => {
      const now = Date.now();
      if (now - this.lastAcceptError < 10_000) return;
      this.lastAcceptError = now;
      this.src.log.error({ err: e, code: e.code }, `HTTP API: cannot accept a connection (${e.code ?? e.message}): still listening`);
    });
    this.server = server;
    const bound = (server.address() as { port: number }).port;
    // the address the socket is bound to: the Host check names it until restart (a reload cannot move it)
    this.access?.setListen(host, bound);
    return bound;
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const verdict = this.access?.check(method, url.pathname, { host: req.headers.host, authorization: req.headers.authorization });
    if (verdict && !verdict.ok) {
      if (verdict.status === 401) res.setHeader('www-authenticate', 'Bearer realm="steerdns"');
      if (verdict.status !== 421) this.logRefusal(req, method, url.pathname, verdict.status);
      send(res, verdict.status, 'text/plain', `${verdict.reason}\n`);
      return;
    }
    if (url.pathname === '/overrides' || url.pathname.startsWith('/overrides/')) {
      await this.overrides(req, res, method, url.pathname);
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      send(res, 405, 'text/plain', 'only GET\n');
      return;
    }
    switch (url.pathname) {
      case '/healthz':
        send(res, 200, 'text/plain', 'ok\n');
        return;
      case '/readyz': {
        const why = this.src.zoneCount() === 0 ? 'no zone loaded' : (this.src.notReady?.() ?? null);
        const detail = why ? null : (this.src.readyDetail?.() ?? null);
        send(res, why ? 503 : 200, 'text/plain', why ? `${why}\n` : detail ? `ready: ${detail}\n` : 'ready\n');
        return;
      }
      case '/metrics':
        send(res, 200, this.src.metricsContentType, await this.src.metricsText());
        return;
      case '/explain': {
        const q = url.searchParams;
        const name = q.get('name');
        const from = q.get('from');
        if (!name || !from) {
          send(res, 400, 'application/json', `${JSON.stringify({ error: 'name and from are required' })}\n`);
          return;
        }
        const r = this.src.explain({ name, from, type: q.get('type') || undefined, subnet: q.get('subnet') || undefined });
        send(res, 'error' in r ? 400 : 200, 'application/json', `${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      default: {
        const extra = this.src.routes?.get(url.pathname);
        if (extra) {
          const r = await extra(url);
          send(res, r.status, r.type, r.body);
          return;
        }
        send(res, 404, 'text/plain', 'not found\n');
      }
    }
  }

  /** GET /overrides, POST /overrides, DELETE /overrides/<id> (docs/http-api.md#overrides). */
  private async overrides(req: http.IncomingMessage, res: http.ServerResponse, method: string, path: string): Promise<void> {
    const o = this.src.overrides;
    if (!o) {
      send(res, 404, 'text/plain', 'not found\n');
      return;
    }
    const client = req.socket.remoteAddress ?? 'unknown';
    const id = path === '/overrides' ? null : path.slice('/overrides/'.length);
    const allowed = id === null ? 'GET, HEAD, POST' : 'DELETE';
    if (id === null && (method === 'GET' || method === 'HEAD')) sendJson(res, { status: 200, body: o.list() });
    else if (id === null && method === 'POST') {
      const text = await readBody(req, MAX_BODY_BYTES);
      if (text === null) {
        res.setHeader('connection', 'close');
        sendJson(res, { status: 413, body: { error: `the body is over ${MAX_BODY_BYTES} bytes` } });
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (e) {
        sendJson(res, { status: 400, body: { error: `the body is not JSON: ${(e as Error).message}` } });
        return;
      }
      sendJson(res, await o.add(body, client));
    } else if (id !== null && method === 'DELETE') sendJson(res, await o.remove(id, client));
    else {
      res.setHeader('allow', allowed);
      send(res, 405, 'text/plain', `${path}: ${allowed} only\n`);
    }
  }

  /** A request refused for want of the right token: logged (who asked what), in bursts one line a second past 10. */
  private logRefusal(req: http.IncomingMessage, method: string, path: string, status: number): void {
    const second = Math.floor(Date.now() / 1000);
    const r = this.refusals;
    if (r.second !== second) {
      r.second = second;
      r.logged = 0;
    }
    if (r.logged >= REFUSALS_LOGGED) {
      r.suppressed++;
      return;
    }
    r.logged++;
    const suppressed = r.suppressed || undefined;
    r.suppressed = 0;
    const why = status === 403 ? 'write refused: no token configured' : req.headers.authorization ? 'wrong token' : 'no token';
    this.src.log.warn(
      { client: req.socket.remoteAddress, method, path, status, suppressed },
      `HTTP API: ${method} ${path} refused (${status}, ${why})`,
    );
  }

  close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return Promise.resolve();
    s.closeAllConnections();
    return new Promise((r) => s.close(() => r()));
  }
}
