// `steerdns drain|down|up|weight` and `steerdns overrides [list|rm ID]` (docs/operations.md#runtime-overrides):
// runtime overrides through the running server's HTTP API (POST, GET and DELETE /overrides). The API address
// and token come from `--api` and `--token-file`, or from steerdns.yaml's `http:`. Loaded only when one of
// these commands runs (cli.ts imports it then): `serve` never loads it.
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { loadServerConfig } from './config/server-config.js';

export const ADMIN_USAGE = `  steerdns drain|down|up [TARGET...] [--zone Z] [--pool P] [--region R] [--address A] --for 30m --reason "..."
  steerdns weight [TARGET...] [--zone Z] [--pool P] [--region R] [--address A] --weight N --for 30m --reason "..."
                                       a runtime override through the running server's API (TARGET: an
                                       address, one override each); prints its id and when it ends
  steerdns overrides [list|rm ID] [--json]
                                       list the active overrides, or end one early
                                       (API: --api URL and --token-file F, or http: in steerdns.yaml)
`;

interface Api {
  base: string;
  token: string | null;
}

/** Where the API is, and its token: the flags first, then steerdns.yaml. */
function apiOf(opts: { api?: string; 'token-file'?: string; config: string }): Api | string {
  let token: string | null = null;
  if (opts['token-file']) {
    try {
      token = readFileSync(opts['token-file'], 'utf8').trim();
    } catch (e) {
      return `cannot read --token-file ${opts['token-file']}: ${(e as Error).message}`;
    }
  }
  if (opts.api && opts['token-file']) return { base: opts.api.replace(/\/+$/, ''), token };
  const { config } = loadServerConfig(opts.config, { command: 'explain' });
  if (!config) return `${opts.config} does not load (steerdns check says why); or give --api URL and --token-file F`;
  const h = config.http;
  if (!opts.api && !h) return `no http: address in ${opts.config} to reach the server (or give --api URL)`;
  if (!opts['token-file']) token = h?.token ?? null;
  if (opts.api) return { base: opts.api.replace(/\/+$/, ''), token };
  const host = h!.host === '0.0.0.0' ? '127.0.0.1' : h!.host === '::' ? '::1' : h!.host;
  return { base: `http://${host.includes(':') ? `[${host}]` : host}:${h!.port}`, token };
}

async function call(api: Api, method: string, path: string, body?: object): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = {};
  if (api.token) headers.authorization = `Bearer ${api.token}`;
  if (body) headers['content-type'] = 'application/json';
  const res = await fetch(`${api.base}${path}`, {
    method,
    headers,
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json: unknown = text.trim();
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // a plain-text refusal (401, 403): shown as it is
  }
  return { status: res.status, json };
}

/** The refusal in words: the server's error, with what to do for the token. */
function refusal(status: number, json: unknown, api: Api): string {
  const said =
    typeof json === 'object' && json !== null && 'error' in json ? String((json as { error: unknown }).error) : String(json ?? '');
  const hint =
    status === 401
      ? api.token
        ? ' (the token was refused)'
        : ' (no token sent: give --token-file or set http.token_file)'
      : status === 403
        ? ' (the server has no http.token_file: it refuses every write)'
        : '';
  return `HTTP ${status}: ${said}${hint}`;
}

function author(): string {
  let user = process.env.USER ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (a container): $USER, or unknown
  }
  return `${user}@${hostname()}`;
}

interface ListedOverride {
  id: string;
  action: string;
  zone: string | null;
  pool: string | null;
  region: string | null;
  address: string | null;
  weight: number | null;
  reason: string;
  author: string;
  until: string;
  remainingSeconds: number;
}

const scope = (o: ListedOverride) =>
  [o.zone && `zone ${o.zone}`, o.pool && `pool ${o.pool}`, o.region && `region ${o.region}`, o.address && `address ${o.address}`]
    .filter(Boolean)
    .join(' ');

function left(s: number): string {
  if (s >= 86_400) return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
  if (s >= 3600) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${s}s`;
}

/** Runs an admin command (`argv` from the command name on); returns the exit status. */
export async function adminCommand(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    process.stderr.write(`steerdns: ${(e as Error).message}\n${ADMIN_USAGE}`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  const [command, ...rest] = positionals;
  const api = apiOf({ ...v, config: v.config! });
  if (typeof api === 'string') {
    process.stderr.write(`steerdns ${command}: ${api}\n`);
    return 1;
  }
  try {
    if (command === 'overrides') return await overridesCommand(api, rest, v.json ?? false);
    return await overrideCommand(api, command!, rest, v);
  } catch (e) {
    const cause = (e as Error).cause as Error | undefined;
    process.stderr.write(`steerdns ${command}: cannot reach the API at ${api.base}: ${cause?.message ?? (e as Error).message}\n`);
    return 1;
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c', default: 'steerdns.yaml' },
      api: { type: 'string' },
      'token-file': { type: 'string' },
      zone: { type: 'string' },
      pool: { type: 'string' },
      region: { type: 'string' },
      address: { type: 'string' },
      weight: { type: 'string' },
      for: { type: 'string' },
      reason: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
}

async function overrideCommand(api: Api, action: string, targets: string[], v: ReturnType<typeof parse>['values']): Promise<number> {
  if (!v.for || !v.reason) {
    process.stderr.write(`steerdns ${action}: --for DURATION and --reason TEXT are required\n${ADMIN_USAGE}`);
    return 2;
  }
  if (action === 'weight' && v.weight === undefined) {
    process.stderr.write(`steerdns weight: --weight N is required\n${ADMIN_USAGE}`);
    return 2;
  }
  if (targets.length > 0 && v.address) {
    process.stderr.write(`steerdns ${action}: give targets as arguments or --address, not both\n`);
    return 2;
  }
  const base = {
    action,
    zone: v.zone,
    pool: v.pool,
    region: v.region,
    weight: action === 'weight' ? Number(v.weight) : undefined,
    for: v.for,
    reason: v.reason,
    author: author(),
  };
  const addresses: (string | undefined)[] = targets.length ? targets : [v.address];
  let failed = 0;
  for (const address of addresses) {
    const r = await call(api, 'POST', '/overrides', { ...base, address });
    const what = `${action}${base.weight !== undefined ? ` ${base.weight}` : ''} ${address ?? ''}`.trim();
    if (r.status === 201) {
      const o = r.json as { id: string; until: string };
      process.stdout.write(`${o.id}  ${what} until ${o.until}\n`);
    } else {
      failed++;
      process.stderr.write(`steerdns ${action}: ${what}: ${refusal(r.status, r.json, api)}\n`);
    }
  }
  return failed ? 1 : 0;
}

async function overridesCommand(api: Api, rest: string[], json: boolean): Promise<number> {
  const [sub = 'list', id, extra] = rest;
  if (sub === 'rm') {
    if (!id || extra !== undefined) {
      process.stderr.write(`steerdns overrides rm: one ID is required\n${ADMIN_USAGE}`);
      return 2;
    }
    const r = await call(api, 'DELETE', `/overrides/${encodeURIComponent(id)}`);
    if (r.status === 204) {
      process.stdout.write(`${id} ended\n`);
      return 0;
    }
    process.stderr.write(`steerdns overrides rm: ${refusal(r.status, r.json, api)}\n`);
    return 1;
  }
  if (sub !== 'list' || id !== undefined) {
    process.stderr.write(`steerdns overrides: list or rm ID\n${ADMIN_USAGE}`);
    return 2;
  }
  const r = await call(api, 'GET', '/overrides');
  if (r.status !== 200) {
    process.stderr.write(`steerdns overrides: ${refusal(r.status, r.json, api)}\n`);
    return 1;
  }
  const list = (r.json as { overrides: ListedOverride[] }).overrides;
  if (json) {
    process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    return 0;
  }
  if (list.length === 0) {
    process.stdout.write('no active overrides\n');
    return 0;
  }
  const rows = list.map((o) => [
    o.id,
    `${o.action}${o.weight !== null ? ` ${o.weight}` : ''}`,
    scope(o),
    left(o.remainingSeconds),
    o.author,
    o.reason,
  ]);
  const head = ['ID', 'ACTION', 'SCOPE', 'LEFT', 'AUTHOR', 'REASON'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  for (const row of [head, ...rows])
    process.stdout.write(`${row.map((c, i) => (i < row.length - 1 ? c.padEnd(widths[i]!) : c)).join('  ')}\n`);
  return 0;
}
