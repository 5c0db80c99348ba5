// The DNS sockets of a process: on each listen address a UDP and a TCP listener sharing one port, every TCP
// connection under one budget (TcpConnections). Their errors become log lines; the answer path never waits.
import type { Logger } from 'pino';
import type { ListenAddress } from './config/server-config.js';
import { type Handle, rarely, type TcpConnections, TcpListener, UdpListener } from './dns/transport.js';

export interface BoundAddress {
  host: string;
  port: number;
  family: 4 | 6;
}

/** The listeners opened so far: filled as each opens, so that stop closes them after a failed start too. */
export interface DnsListeners {
  udp: UdpListener[];
  tcp: TcpListener[];
  bound: BoundAddress[];
}

/** Opens the listeners of `addrs`, each with a handler of its own from `handler`. */
export async function openDnsListeners(
  addrs: ListenAddress[],
  handler: () => Handle,
  connections: TcpConnections,
  log: Logger,
  into: DnsListeners,
): Promise<void> {
  const onError = (e: Error) => log.error({ err: e }, 'socket error');
  // a TCP listener's errors are failed accepts (out of descriptors): they repeat on every poll, log one a burst
  const onAcceptError = rarely((e) =>
    log.error({ err: e, code: (e as NodeJS.ErrnoException).code }, 'DNS over TCP: cannot accept a connection: still listening'),
  );
  const onFault = rarely((e) => log.error({ err: e }, 'DNS over TCP: internal error answering a query: connection closed'));
  for (const addr of addrs) {
    // UDP and TCP share the port; with port 0 the kernel picks one for UDP and TCP takes the same
    for (let attempt = 0; ; attempt++) {
      const udp = new UdpListener(handler(), onError);
      const port = await udp.bind(addr.host, addr.port, addr.family);
      const tcp = new TcpListener(handler(), connections, onAcceptError, onFault);
      try {
        await tcp.listen(addr.host, port, addr.family);
      } catch (e) {
        await udp.close();
        if (addr.port === 0 && (e as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 20) continue;
        throw e;
      }
      into.udp.push(udp);
      into.tcp.push(tcp);
      into.bound.push({ host: addr.host, port, family: addr.family });
      break;
    }
  }
}

/** Where a process answers, as people write it: `host:port`, `[v6]:port`. */
export function listenText(bound: BoundAddress[]): string[] {
  return bound.map((b) => (b.family === 6 ? `[${b.host}]:${b.port}` : `${b.host}:${b.port}`));
}
