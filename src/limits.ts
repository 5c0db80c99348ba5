// Open descriptors against RLIMIT_NOFILE. Out of descriptors, accept() fails (EMFILE): new TCP and HTTP
// connections are refused and probes fail. Node has no getrlimit, so the soft limit is read from
// /proc/self/limits (Linux); elsewhere the check is skipped.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { HTTP_MAX_CONNECTIONS } from './config/http-defaults.js';
import type { ServerConfig } from './config/server-config.js';
import type { Capabilities } from './role.js';

/** What Node itself holds (stdio, epoll, signal and async handles, inotify, the zone file being read). */
const RUNTIME_DESCRIPTORS = 32;

/** The soft "Max open files" limit of this process; null when unknown (not Linux) or unlimited. */
export function openFilesLimit(limitsText?: string): number | null {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return null;
    }
  }
  const m = /^Max open files\s+(\S+)/m.exec(text);
  if (!m || m[1] === 'unlimited') return null;
  const n = Number(m[1]);
  return Number.isInteger(n) && n > 0 ? n : null;
}

export interface DescriptorNeeds {
  /** limits.tcp_connections (a process answering DNS), else 0. */
  tcpConnections: number;
  /** The UDP and TCP listening sockets. */
  listenSockets: number;
  /** HTTP API connections (the process serving it), else 0. */
  httpConnections: number;
  /** Probes that can be in flight at once: one per probed target (the process probing), else 0. */
  probes: number;
}

export interface DescriptorCheck {
  limit: number;
  needed: number;
  level: 'info' | 'warn';
  message: string;
}

/** Compares what this process may hold open with its limit; null when the limit is unknown. */
export function checkDescriptors(needs: DescriptorNeeds, limit = openFilesLimit()): DescriptorCheck | null {
  if (limit === null) return null;
  const needed = needs.tcpConnections + needs.listenSockets + needs.httpConnections + needs.probes + RUNTIME_DESCRIPTORS;
  const parts = [
    `limits.tcp_connections ${needs.tcpConnections}`,
    `HTTP connections ${needs.httpConnections}`,
    `probes ${needs.probes}`,
    `listening sockets ${needs.listenSockets}`,
    `the runtime ~${RUNTIME_DESCRIPTORS}`,
  ].join(' + ');
  // under 10% headroom is too close: a burst of connections then hits EMFILE and new ones are refused
  if (needed > limit * 0.9) {
    return {
      limit,
      needed,
      level: 'warn',
      message:
        `open files: the limit (RLIMIT_NOFILE ${limit}) is too close to what this process may hold open (${parts} = ${needed}): ` +
        'connections beyond it are refused and probes fail; raise it (systemd LimitNOFILE=, ulimit -n, docker --ulimit nofile=) or lower limits.tcp_connections',
    };
  }
  return { limit, needed, level: 'info', message: `open files: limit ${limit}, this process may hold ${needed} (${parts})` };
}

/** Says at start (and when limits change) whether RLIMIT_NOFILE covers what this process may hold open. */
export function logOpenFiles(log: Logger, needs: DescriptorNeeds): void {
  const c = checkDescriptors(needs);
  if (c) log[c.level]({ limit: c.limit, needed: c.needed }, c.message);
}

/** What a process may hold open under `cfg`, from what it does (answers DNS, serves HTTP, probes `probes` targets). */
export function descriptorNeeds(
  cfg: Pick<ServerConfig, 'limits' | 'listen' | 'http'>,
  does: Pick<Capabilities, 'answersDns' | 'servesHttp' | 'probes'>,
  probes: number,
): DescriptorNeeds {
  const api = does.servesHttp && cfg.http !== null;
  return {
    tcpConnections: does.answersDns ? cfg.limits.tcpConnections : 0,
    listenSockets: (does.answersDns ? 2 * cfg.listen.length : 0) + (api ? 1 : 0),
    httpConnections: api ? HTTP_MAX_CONNECTIONS : 0,
    probes: does.probes ? probes : 0,
  };
}
