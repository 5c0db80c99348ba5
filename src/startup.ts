// What starting a process needs around the server: its logger, and the error a start fails with (the CLI
// prints its diagnostics and exits).
import { type Logger, pino } from 'pino';
import type { ServerConfig } from './config/server-config.js';
import type { Diagnostic } from './config/source.js';
import type { Snapshot } from './snapshot.js';

export class StartupError extends Error {
  /** `logged`: the diagnostics were already logged by the server (zone load errors). */
  constructor(
    message: string,
    readonly diagnostics: Diagnostic[] = [],
    readonly logged = false,
  ) {
    super(message);
  }
}

/** No zone loaded at start: the zone errors go to stderr too, an operator starting by hand must see why nothing serves. */
export function nothingToServe(s: Snapshot): StartupError {
  return new StartupError(
    'no zone could be loaded: nothing to serve',
    [...s.files.values()].flatMap((f) => f.errors),
    true,
  );
}

export function createLogger(cfg: Pick<ServerConfig, 'log'> | null, processName?: string): Logger {
  return pino({ level: cfg?.log.level ?? 'info', base: processName ? { name: 'steerdns', process: processName } : { name: 'steerdns' } });
}
