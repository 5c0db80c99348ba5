#!/usr/bin/env node
// The `steerdns` command (spec §1): serve, check.
import { parseArgs } from 'node:util';
import { listZoneFiles, loadZoneFiles } from './config/load.js';
import { loadServerConfig } from './config/server-config.js';
import { formatDiagnostic, type Diagnostic } from './config/source.js';
import { createLogger, Server, StartupError } from './server.js';

const USAGE = `usage:
  steerdns serve [-c steerdns.yaml]    run the server
  steerdns check [-c steerdns.yaml]    validate the config and every zone; exit 0 ok, 1 errors
`;

function printDiagnostics(ds: Diagnostic[]): void {
  for (const d of ds) (d.severity === 'error' ? process.stderr : process.stdout).write(`${formatDiagnostic(d)}\n`);
}

/** `steerdns check`: every error as file:line:col: message; exit status 1 on any error. */
export function check(configPath: string): number {
  const { config, diagnostics } = loadServerConfig(configPath);
  printDiagnostics(diagnostics);
  if (!config) {
    const n = diagnostics.filter((d) => d.severity === 'error').length;
    process.stderr.write(`${n} error${n === 1 ? '' : 's'}\n`);
    return 1;
  }
  const files = listZoneFiles(config.zonesDir);
  if (typeof files === 'string') {
    process.stderr.write(`${files}\n`);
    return 1;
  }
  const results = loadZoneFiles(config, files);
  let errors = diagnostics.filter((d) => d.severity === 'error').length;
  for (const r of results) {
    printDiagnostics(r.diagnostics);
    errors += r.diagnostics.filter((d) => d.severity === 'error').length;
  }
  const zones = results.filter((r) => r.zone).map((r) => `${r.zone!.origin}.`);
  if (files.length === 0) {
    process.stderr.write(`no zone files (*.yaml) in ${config.zonesDir}\n`);
    return 1;
  }
  if (errors > 0) {
    process.stderr.write(`${errors} error${errors === 1 ? '' : 's'}\n`);
    return 1;
  }
  process.stdout.write(`ok: ${zones.length} zone${zones.length === 1 ? '' : 's'} (${zones.join(', ')})\n`);
  return 0;
}

async function serve(configPath: string): Promise<void> {
  let server: Server;
  try {
    server = await Server.start({ configPath });
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
    process.exitCode = 1;
    return;
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.log.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(0), 10_000);
    force.unref();
    server.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    server.log.info('SIGHUP: reloading');
    server.reload();
  });
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c', default: 'steerdns.yaml' },
      help: { type: 'boolean', short: 'h' },
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
      process.exitCode = check(values.config!);
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
