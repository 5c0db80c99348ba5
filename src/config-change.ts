// What loading steerdns.yaml means for a running process beyond the values themselves: the settings that wait
// for a restart are said in the log, and the automatic serials' state is opened for the config's state folder.
import type { Logger } from 'pino';
import { SerialStore } from './config/serial.js';
import type { ServerConfig } from './config/server-config.js';

/**
 * A reload keeps the listen addresses, the workers, the log level, the probes' source address and the fleet:
 * it says which of them changed.
 */
export function warnRestartOnly(log: Logger, next: ServerConfig, running: ServerConfig): void {
  const restartOnly: [string, unknown, unknown][] = [
    ['listen', next.listen, running.listen],
    ['http.listen', next.http?.text, running.http?.text],
    ['workers', next.workers, running.workers],
    ['log.level', next.log.level, running.log.level],
    ['health.source', next.healthSource?.address, running.healthSource?.address],
    ['fleet', next.fleet, running.fleet],
  ];
  for (const [key, a, b] of restartOnly) {
    if (JSON.stringify(a) !== JSON.stringify(b)) log.warn(`${key} changed: it takes effect on restart`);
  }
}

/**
 * The running values of the restart-only settings that no open socket holds (health.source, fleet) go on in the
 * reloaded config, so that it says what runs; a change is said again at each SIGHUP until the restart.
 */
export function keepRestartOnly(next: ServerConfig, running: ServerConfig): void {
  next.healthSource = running.healthSource;
  next.fleet = running.fleet;
}

/**
 * The automatic serials' state; a state file that exists but cannot be read is an error in the log. Only one
 * process writes it (`writable`): workers read what the primary wrote.
 */
export function openSerials(dir: string, writable: boolean, log: Logger): SerialStore {
  const store = new SerialStore(dir, writable);
  if (store.readError) log.error({ dir }, store.readError);
  return store;
}

/** The serials' state for a reloaded config: serials this process handed out but could not save (disk full,
 *  read-only) must not go back, so the running store's carry over when the folder stays the same. */
export function reopenSerials(running: SerialStore, runningDir: string, next: ServerConfig, writable: boolean, log: Logger): SerialStore {
  const store = openSerials(next.stateDir, writable, log);
  if (next.stateDir === runningDir) store.mergeFrom(running);
  return store;
}
