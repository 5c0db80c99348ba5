// Who may use the HTTP API (docs/http-api.md#access-rules): the Host header must name this server (a page on
// another site that rebinds its name to 127.0.0.1 sends its own name: 421), and with `token_file` every
// path but /healthz, /readyz (and /metrics unless `metrics_auth`) needs `Authorization: Bearer <token>`.
// Writes always need the token; with none configured they are refused (403).
import { createHash, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import type { HttpConfig } from '../config/server-config.js';
import { canonicalIp, type HostName, parseHostName } from '../net/host.js';

/** What a reload may change (the listen address is the socket's: see ApiAccess.setListen). */
export interface AccessRules {
  token: string | null;
  allowedHosts: HostName[];
  metricsAuth: boolean;
}

/** The rules of `http:` (a copy of those fields: the API keeps nothing else of the config). */
export function accessRulesOf(h: HttpConfig): AccessRules {
  return { token: h.token, allowedHosts: h.allowedHosts, metricsAuth: h.metricsAuth };
}

/** Paths open without the token (probes of orchestrators and load balancers; /metrics unless metrics_auth). */
const OPEN_PATHS = new Set(['/healthz', '/readyz']);

export type AccessVerdict = { ok: true } | { ok: false; status: 401 | 403 | 421; reason: string };

const digest = (s: string) => createHash('sha256').update(s).digest();

export class ApiAccess {
  private tokenDigest: Buffer | null = null;
  /** The address the API is bound to (an IP; `0.0.0.0` / `::` are wildcards) and its port; none before listen. */
  private listenHost = '';
  private port = 0;

  constructor(private rules: AccessRules) {
    this.configure(rules);
  }

  /** New rules (a reload): token and allowed hosts apply to the next request. */
  configure(rules: AccessRules): void {
    this.rules = rules;
    this.tokenDigest = rules.token === null ? null : digest(rules.token);
  }

  /** The address the API is bound to (the configured port may be 0): set once, when it listens. */
  setListen(host: string, port: number): void {
    this.listenHost = host;
    this.port = port;
  }

  hostAllowed(header: string | undefined): boolean {
    const h = header === undefined ? null : parseHostName(header);
    if (!h) return false;
    const port = h.port ?? 80; // no port in Host: the default port of http
    const listen = this.listenHost;
    if (port === this.port) {
      if (h.host === 'localhost') return true;
      // a wildcard listen has no one address: any IP literal of the port names this server (a rebinding
      // page always sends its own name, never an address)
      if ((listen === '0.0.0.0' || listen === '::') && net.isIP(h.host)) return true;
      if (net.isIP(h.host) && h.host === canonicalIp(listen)) return true;
    }
    return this.rules.allowedHosts.some((a) => a.host === h.host && (a.port === null || a.port === h.port));
  }

  /** Constant-time: both sides are hashed to 32 bytes first, so neither length nor content leaks. */
  private tokenMatches(authorization: string | undefined): boolean {
    if (!this.tokenDigest || authorization === undefined) return false;
    const m = /^Bearer +(\S+) *$/i.exec(authorization);
    if (!m) return false;
    return timingSafeEqual(digest(m[1]!), this.tokenDigest);
  }

  check(method: string, path: string, headers: { host?: string; authorization?: string }): AccessVerdict {
    if (!this.hostAllowed(headers.host)) {
      return { ok: false, status: 421, reason: 'this server does not answer for that Host (add it to http.allowed_hosts)' };
    }
    const write = method !== 'GET' && method !== 'HEAD';
    if (this.tokenDigest === null) {
      return write ? { ok: false, status: 403, reason: 'writes need http.token_file to be configured' } : { ok: true };
    }
    const open = !write && (OPEN_PATHS.has(path) || (path === '/metrics' && !this.rules.metricsAuth));
    if (open || this.tokenMatches(headers.authorization)) return { ok: true };
    return { ok: false, status: 401, reason: 'a bearer token is required' };
  }
}
