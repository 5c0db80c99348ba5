// What starting a process needs around the server: its logger, and the error a start fails with (the CLI
// prints its diagnostics and exits).
import { pino, type Logger } from 'pino';
import type { ServerConfig } from './config/server-config.js';
import type { Diagnostic } from './config/source.js';

export class StartupError extends Error {
  /** `logged`: the diagnostics were already logged by the server (zone load errors). */
  constructor(message: string, readonly diagnostics: Diagnostic[] = [], readonly logged = false) {
    super(message);
  }
}

export function createLogger(cfg: Pick<ServerConfig, 'log'> | null, processName?: string): Logger {
  return pino({ level: cfg?.log.level ?? 'info', base: processName ? { name: 'steerdns', process: processName } : { name: 'steerdns' } });
}
