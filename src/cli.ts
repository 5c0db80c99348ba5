#!/usr/bin/env node
// The `steerdns` command (docs/operations.md#commands): serve, check, explain, keygen, import, export, plan,
// and the runtime overrides (drain, down, up, weight, overrides: src/cli-admin.ts).
import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { runPrimary, runWorker, workerCount } from './cluster.js';
import { SerialStore } from './config/serial.js';
import { loadServerConfig, type ServerConfig } from './config/server-config.js';
import { type Diagnostic, formatDiagnostic } from './config/source.js';
import { type ExplainRequest, type ExplainResult, explain, formatExplain } from './explain.js';
import { HealthTable } from './health/table.js';
import { Server } from './server.js';
import { loadSnapshot } from './snapshot.js';
import { createLogger, StartupError } from './startup.js';

const USAGE = `usage:
  steerdns serve [-c steerdns.yaml]    run the server
  steerdns check [-c steerdns.yaml]    validate the config, every zone and the GeoIP database; exit 0 ok, 1 errors
  steerdns explain NAME [TYPE] --from IP [--subnet CIDR] [--offline] [--json] [-c steerdns.yaml]
                                       show how a query from IP is answered: client location, regions,
                                       health, the answer (asks the running server for live health)
  steerdns keygen ZONE [--algorithm 13|15] [--dir DIR]
                                       make a DNSSEC signing key (BIND's K<zone>+<alg>+<tag> files in DIR);
                                       prints the key's path, then the DS record for the parent zone
  steerdns import FILE.zone [--origin NAME]
                                       print the YAML zone equivalent to an RFC 1035 master file
  steerdns export ZONE [-c steerdns.yaml]
                                       print a loaded zone's static records as an RFC 1035 master file
  steerdns plan [--from REV] [--to REV] [--clients FILE] [--db FILE] [--health URL]
                [--format text|markdown|json] [--max-change PERCENT] [-c steerdns.yaml]
                                       in a git checkout, which answers a change moves (default: HEAD → the
                                       work tree); exit 0 no change, 1 changes, 2 over --max-change (30) or
                                       a revision fails check
  steerdns drain|down|up|weight ...    a runtime override through the running server's API
  steerdns overrides [list|rm ID]      the active overrides; end one early (steerdns overrides --help)
`;

/** Commands that talk to the running server's override API: their own flags, their module loaded when run. */
const ADMIN_COMMANDS = new Set(['drain', 'down', 'up', 'weight', 'overrides']);

function printDiagnostics(ds: Diagnostic[]): void {
  for (const d of ds) (d.severity === 'error' ? process.stderr : process.stdout).write(`${formatDiagnostic(d)}\n`);
}

/** `steerdns check`: every error as file:line:col: message; exit status 1 on any error. */
export async function check(configPath: string): Promise<number> {
  const { config, diagnostics } = loadServerConfig(configPath, { command: 'check' });
  printDiagnostics(diagnostics);
  let errors = diagnostics.filter((d) => d.severity === 'error').length;
  if (!config) {
    process.stderr.write(`${errors} error${errors === 1 ? '' : 's'}\n`);
    return 1;
  }
  // loaded when run: serve never opens it
  const r = (await import('./check.js')).checkConfig(config);
  for (const l of r.lines) (l.level === 'error' ? process.stderr : process.stdout).write(`${l.text}\n`);
  if (r.fatal) {
    process.stderr.write(`${r.fatal}\n`);
    return 1;
  }
  errors += r.errors;
  if (errors > 0) {
    process.stderr.write(`${errors} error${errors === 1 ? '' : 's'}\n`);
    return 1;
  }
  process.stdout.write(`ok: ${r.zones.length} zone${r.zones.length === 1 ? '' : 's'} (${r.zones.join(', ')})\n`);
  return 0;
}

/** `steerdns keygen`: the key's base path, then its DS record(s), one per line. */
async function keygenCommand(positionals: string[], opts: { algorithm?: string; dir?: string }): Promise<number> {
  const [zone, extra] = positionals;
  if (!zone || extra !== undefined) {
    process.stderr.write(`steerdns keygen: one ZONE is required\n${USAGE}`);
    return 2;
  }
  const { keygen } = await import('./keygen.js');
  const r = keygen(zone, opts.algorithm, opts.dir ?? '.');
  if ('error' in r) {
    process.stderr.write(`steerdns keygen: ${r.error}\n`);
    return 1;
  }
  process.stdout.write(`${[r.base, ...r.ds].join('\n')}\n`);
  return 0;
}

async function serve(configPath: string): Promise<void> {
  let running: { log: Logger; stop(): Promise<void>; reload(): void } | null = null;
  // A rejection nobody handled is a bug (in the prober, the HTTP API…), but not a reason to stop answering
  // DNS: Node would end the process (and under systemd or Docker restart it into the same bug). Logged instead.
  process.on('unhandledRejection', (reason) => {
    (running?.log ?? createLogger(null)).error(
      { err: reason },
      `unexpected error, not handled where it arose (the server goes on): ${(reason as Error)?.message ?? String(reason)}`,
    );
  });
  if (cluster.isWorker) {
    await startOrExit(() =>
      runWorker(configPath, createLogger(loadServerConfig(configPath).config, `worker-${process.env.STEERDNS_WORKER_SLOT ?? '?'}`)),
    );
    return;
  }
  // signals are taken from the start: a SIGHUP during the first zone load waits for it, a SIGTERM stops
  let stopping = false;
  let reloadPending = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.exit(1); // a second signal: stop now
    }
    stopping = true;
    if (!running) process.exit(0); // still loading: nothing in flight yet
    running.log.info({ signal }, 'stopping');
    const force = setTimeout(() => {
      running?.log.error('graceful stop did not finish in 12s: exiting');
      process.exit(1);
    }, 12_000);
    force.unref();
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    if (!running) {
      reloadPending = true;
      return;
    }
    running.log.info('SIGHUP: reloading');
    running.reload();
  });
  const { config } = loadServerConfig(configPath);
  const count = config ? workerCount(config) : 1;
  running = await startOrExit(async () => {
    if (count <= 1) {
      const server = await Server.start({ configPath });
      return { log: server.log, stop: () => server.stop(), reload: () => void server.reload() };
    }
    const log = createLogger(config);
    const primary = await runPrimary(configPath, count, log);
    return { log, stop: () => primary.stop(), reload: () => void primary.server.reload() };
  });
  if (reloadPending) {
    running.log.info('SIGHUP during startup: reloading');
    running.reload();
  }
}

/** Runs a startup; on failure prints why (file:line:col for config and zone errors) and exits 1. */
async function startOrExit<T>(start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (e) {
    const log = createLogger(null);
    if (e instanceof StartupError) {
      if (!e.logged) for (const d of e.diagnostics) log.error(formatDiagnostic(d));
      printDiagnostics(e.diagnostics.filter((d) => d.severity === 'error'));
      log.fatal(e.message);
      process.stderr.write(`steerdns: ${e.message}\n`);
    } else {
      log.fatal({ err: e }, 'cannot start');
      process.stderr.write(`steerdns: cannot start: ${(e as Error).message}\n`);
    }
    process.exit(1);
  }
}

/** `steerdns explain`: the running server's view (GET /explain) or, offline, the configured states. */
async function explainCommand(
  cfg: string,
  positionals: string[],
  opts: { from?: string; subnet?: string; offline?: boolean; json?: boolean },
): Promise<number> {
  const [name, type] = positionals;
  if (!name || !opts.from) {
    process.stderr.write(`steerdns explain: NAME and --from IP are required\n${USAGE}`);
    return 2;
  }
  const { config, diagnostics } = loadServerConfig(cfg, { command: 'explain' });
  if (!config) {
    printDiagnostics(diagnostics);
    return 1;
  }
  // a token file that cannot be read: said once (explain goes on without the token)
  const noToken = diagnostics.filter((d) => d.severity === 'warning' && d.message.startsWith('http.token_file: cannot read'));
  for (const d of noToken) process.stderr.write(`${formatDiagnostic(d)}\n`);
  const req: ExplainRequest = { name, type, from: opts.from, subnet: opts.subnet };
  let result: ExplainResult | { error: string } | null = null;
  let note: string;
  if (opts.offline) note = 'configured states (--offline): probed targets as at startup (up, or initial: down), state: down honoured';
  else if (!config.http) note = 'configured states: no http: address in the config to ask a running server';
  else {
    const live = await askServer(config, req);
    if (typeof live === 'string') note = `configured states: no server answered at ${live}`;
    else {
      result = live;
      note = `live, from the running server at ${config.http.text}`;
    }
  }
  if (!result) result = explainOffline(config, req);
  if ('error' in result) {
    process.stderr.write(`steerdns explain: ${result.error}\n`);
    return 1;
  }
  process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : formatExplain(result, note));
  return 0;
}

async function askServer(config: ServerConfig, req: ExplainRequest): Promise<ExplainResult | { error: string } | string> {
  const h = config.http!;
  const host = h.host === '0.0.0.0' ? '127.0.0.1' : h.host === '::' ? '::1' : h.host;
  const q = new URLSearchParams({ name: req.name, from: req.from });
  if (req.type) q.set('type', req.type);
  if (req.subnet) q.set('subnet', req.subnet);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${h.port}/explain?${q}`;
  try {
    // the API may need the token (http.token_file); the Host is the address asked, which it accepts
    const headers: Record<string, string> = h.token ? { authorization: `Bearer ${h.token}` } : {};
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(2000) });
    if (res.status === 200 || res.status === 400) return (await res.json()) as ExplainResult | { error: string };
    const why =
      res.status !== 401
        ? ''
        : h.tokenFile && !h.token
          ? `: the API needs its token, and ${h.tokenFile} could not be read (sent none)`
          : h.tokenFile
            ? ': the API refused the token from http.token_file'
            : ': the API needs its token (set http.token_file)';
    return `${url} (HTTP ${res.status}${why})`;
  } catch (e) {
    return `${h.text} (${(e as Error).cause ? String(((e as Error).cause as Error).message ?? (e as Error).cause) : (e as Error).message})`;
  }
}

function explainOffline(config: ServerConfig, req: ExplainRequest): ExplainResult | { error: string } {
  // the decision tables of the pools asked only (compiled on first use)
  const report = loadSnapshot(config, new SerialStore(config.stateDir, false), null, { compile: false });
  for (const m of report.messages.filter((x) => x.level === 'error')) process.stderr.write(`${m.text}\n`);
  // configured states: probed targets as a fresh start sees them (up, or down with `initial: down`)
  const health = new HealthTable();
  for (const z of report.snapshot.zones.values()) {
    for (const p of z.pools) {
      if (p.spec.check.type === 'none' || p.spec.check.initial === 'up') continue;
      for (const r of p.regions) for (const t of r.targets) health.set(t.healthKey, { up: false, lastResult: 'initial: down' });
    }
  }
  return explain(report.snapshot, health, 'configured', req);
}

async function main(argv: string[]): Promise<void> {
  if (ADMIN_COMMANDS.has(argv[0] ?? '')) {
    const admin = await import('./cli-admin.js');
    if (argv.includes('--help') || argv.includes('-h')) process.stdout.write(admin.ADMIN_USAGE);
    else process.exitCode = await admin.adminCommand(argv);
    return;
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c', default: 'steerdns.yaml' },
      help: { type: 'boolean', short: 'h' },
      from: { type: 'string' },
      subnet: { type: 'string' },
      offline: { type: 'boolean' },
      json: { type: 'boolean' },
      algorithm: { type: 'string' },
      dir: { type: 'string' },
      origin: { type: 'string' },
      to: { type: 'string' },
      clients: { type: 'string' },
      db: { type: 'string' },
      health: { type: 'string' },
      format: { type: 'string' },
      'max-change': { type: 'string' },
    },
  });
  const [command] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    process.exitCode = command || values.help ? 0 : 2;
    return;
  }
  switch (command) {
    case 'serve':
      await serve(values.config!);
      return;
    case 'check':
      process.exitCode = await check(values.config!);
      return;
    case 'explain':
      process.exitCode = await explainCommand(values.config!, positionals.slice(1), values);
      return;
    case 'keygen':
      process.exitCode = await keygenCommand(positionals.slice(1), values);
      return;
    case 'import':
      if (!positionals[1]) {
        process.stderr.write(`steerdns import: FILE is required\n${USAGE}`);
        process.exitCode = 2;
        return;
      }
      process.exitCode = (await import('./zone-io.js')).importCommand(positionals[1], values.origin);
      return;
    case 'export':
      process.exitCode = (await import('./zone-io.js')).exportCommand(values.config!, positionals[1]);
      return;
    case 'plan':
      // loaded when run: serve never opens it
      process.exitCode = await (await import('./plan.js')).planCommand({ ...values, maxChange: values['max-change'] });
      return;
    default:
      process.stderr.write(`steerdns: unknown command "${command}"\n${USAGE}`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((e: Error) => {
  process.stderr.write(`steerdns: ${e.message}\n`);
  process.exitCode = 2;
});
