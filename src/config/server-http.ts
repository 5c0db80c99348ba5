// `http:` of steerdns.yaml (docs/configuration.md#http): where the HTTP API listens, its bearer token file,
// the Host allow-list, and the per-source connection cap. The token file is read here, when the config loads.
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Node } from 'yaml';
import { parseHostName } from '../net/host.js';
import { isLoopbackIp } from '../net/ranges.js';
import { HTTP_CONNECTIONS_PER_SOURCE, HTTP_REMOTE_CONNECTIONS } from './http-defaults.js';
import type { HttpConfig, ListenAddress, LoadOptions, ServerConfig } from './server-spec.js';
import { type Entry, entryMap, notARegularFile, type SourceFile } from './source.js';
import { parseHostPort } from './values.js';

/** `http: "addr:port"` or `http: { listen, token_file, allowed_hosts, metrics_auth, max_connections_per_source }`. */
export function readHttp(src: SourceFile, ent: Entry | undefined, cfg: ServerConfig, command: NonNullable<LoadOptions['command']>): void {
  if (!ent || src.scalar(ent.value) === null) return;
  const listenAt = (node: Node | null): ListenAddress | null => {
    const t = src.string(node, 'http');
    if (!t) return null;
    const hp = parseHostPort(t);
    if (typeof hp === 'string') {
      src.error(node, `http: ${hp}`);
      return null;
    }
    return { ...hp, text: t };
  };
  const http: HttpConfig = {
    host: '',
    port: 0,
    family: 4,
    text: '',
    tokenFile: null,
    token: null,
    allowedHosts: [],
    metricsAuth: false,
    maxConnectionsPerSource: HTTP_CONNECTIONS_PER_SOURCE,
  };
  let listenNode: Node | null = ent.value;
  if (src.isMap(ent.value)) {
    const entries = src.map(ent.value, 'http') ?? [];
    src.knownKeys(entries, ['listen', 'token_file', 'allowed_hosts', 'metrics_auth', 'max_connections_per_source'], 'http');
    const e = entryMap(entries);
    const listen = e.get('listen');
    if (!listen) {
      src.error(ent.keyNode, 'http needs listen: "address:port"');
      return;
    }
    listenNode = listen.value;
    const tf = e.get('token_file');
    if (tf) {
      const v = src.string(tf.value, 'http.token_file');
      if (v) {
        http.tokenFile = resolve(cfg.dir, v);
        http.token = readToken(src, tf.value, http.tokenFile, command);
      }
    }
    const ah = e.get('allowed_hosts');
    for (const item of ah ? src.list(ah.value) : []) {
      const t = src.string(item, 'http.allowed_hosts entry');
      if (!t) continue;
      const h = parseHostName(t, { bareIpv6: true });
      if (!h) src.error(item, `http.allowed_hosts: "${t}" is not a host name or address with an optional :port (IPv6 as [addr]:port)`);
      else http.allowedHosts.push(h);
    }
    const ma = e.get('metrics_auth');
    if (ma) {
      http.metricsAuth = src.boolean(ma.value, 'http.metrics_auth') ?? false;
      if (http.metricsAuth && !tf) src.error(ma.value, 'http.metrics_auth needs http.token_file');
    }
    const mc = e.get('max_connections_per_source');
    if (mc)
      http.maxConnectionsPerSource =
        src.integer(mc.value, 'http.max_connections_per_source (0: no cap)', 0, HTTP_REMOTE_CONNECTIONS) ?? http.maxConnectionsPerSource;
  }
  const addr = listenAt(listenNode);
  if (!addr) return;
  if (!http.tokenFile && !isLoopbackIp(addr.host)) {
    src.warn(
      listenNode,
      `http: "${addr.text}" is reachable beyond this host and no http.token_file is set: anyone who can connect reads /status and /explain (pool targets, check URLs, file paths); listen on 127.0.0.1 or set a token`,
    );
  }
  cfg.http = { ...http, ...addr };
}

/**
 * The token: one line of visible characters, not empty (a trailing newline is ignored). A file that cannot
 * be read is an error for `serve`; for `check` and `explain` a warning (CI, a laptop: secrets not mounted).
 */
function readToken(src: SourceFile, at: Node | null, file: string, command: NonNullable<LoadOptions['command']>): string | null {
  let text: string;
  try {
    const st = statSync(file);
    const kind = notARegularFile(st);
    if (kind) {
      src.error(at, `http.token_file: ${file} is not a token file: it is ${kind}`);
      return null;
    }
    text = readFileSync(file, 'utf8');
    if (st.mode & 0o004) src.warn(at, `http.token_file: ${file} is readable by every user of this host (chmod 600 it)`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = `http.token_file: cannot read ${file}: ${code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`;
    if (command === 'serve') src.error(at, why);
    else src.warn(at, `${why} (serve refuses to start without it)`);
    return null;
  }
  const token = text.trim();
  if (token === '') {
    src.error(at, `http.token_file: ${file} is empty`);
    return null;
  }
  if (!/^[\x21-\x7e]+$/.test(token)) {
    src.error(at, `http.token_file: the token in ${file} must be one line of visible ASCII characters (no spaces)`);
    return null;
  }
  if (token.length < 16)
    src.warn(at, `http.token_file: the token in ${file} is short (${token.length} characters): use at least 16 random characters`);
  return token;
}
