// Who may hold HTTP API connections. A client that opens connections and sends half a request holds each
// until the headers timeout: without a bound per source one client takes every slot and /healthz with it.
// Each source beyond this host (an IPv4 address, an IPv6 /64: one host's share) holds at most `perSource`
// (http.max_connections_per_source; 0: no cap, for a reverse proxy or NAT); they share `remote`; loopback
// sources have `loopback` of their own, with no cap per address, so the local health check (Docker
// HEALTHCHECK, systemd, an agent on the host) gets in whatever comes from outside.
import { isLoopbackIp } from '../net/ranges.js';
import { literalBytes } from '../net/source.js';

export interface ConnectionLimits {
  /** Per source beyond this host; 0: no cap (every client behind one reverse proxy or NAT address). */
  perSource: number;
  remote: number;
  loopback: number;
}

/** The source a connection counts against: its key (an IPv4 address, an IPv6 /64) and whether it is loopback. */
export interface ConnectionSource {
  key: string;
  loopback: boolean;
}

export function connectionSource(remoteAddress: string | undefined): ConnectionSource | null {
  const b = remoteAddress === undefined ? null : literalBytes(remoteAddress);
  if (!b) return null;
  const loopback = isLoopbackIp(remoteAddress!);
  if (b.length === 4) return { key: b.join('.'), loopback };
  return { key: loopback ? '::1' : `${b.subarray(0, 8).toString('hex')}/64`, loopback };
}

/** The connection counts: `admit` on accept, `release` on close of an admitted connection. */
export class ConnectionBudget {
  private readonly bySource = new Map<string, number>();
  private remote = 0;
  private loopback = 0;

  constructor(readonly limits: ConnectionLimits) {}

  /** Takes a slot for a connection from `remoteAddress`; a string (why) when a cap is reached: close the connection. */
  admit(remoteAddress: string | undefined): ConnectionSource | string {
    const src = connectionSource(remoteAddress);
    if (!src) return 'no source address (closed already)';
    const held = this.bySource.get(src.key) ?? 0;
    // loopback is this host (a local proxy, the health check): it has its own budget, no cap per address
    if (!src.loopback && this.limits.perSource > 0 && held >= this.limits.perSource)
      return `${this.limits.perSource} connections from ${src.key} already`;
    if (src.loopback && this.loopback >= this.limits.loopback) return `${this.limits.loopback} connections from loopback already`;
    if (!src.loopback && this.remote >= this.limits.remote) return `${this.limits.remote} connections from beyond this host already`;
    this.bySource.set(src.key, held + 1);
    if (src.loopback) this.loopback++;
    else this.remote++;
    return src;
  }

  release(src: ConnectionSource): void {
    const held = (this.bySource.get(src.key) ?? 1) - 1;
    if (held > 0) this.bySource.set(src.key, held);
    else this.bySource.delete(src.key);
    if (src.loopback) this.loopback--;
    else this.remote--;
  }

  /** Connections held now: from loopback, from other sources, and how many sources. */
  get held(): { loopback: number; remote: number; sources: number } {
    return { loopback: this.loopback, remote: this.remote, sources: this.bySource.size };
  }
}
