// UDP and TCP listeners (RFC 7766 for TCP: 2-byte framing, several and pipelined queries per connection,
// idle timeout, a cap on connections that closes the longest-idle one). They move bytes between sockets
// and a `handle` function and own nothing else.
import dgram from 'node:dgram';
import net from 'node:net';
import type { Family } from '../net/address.js';

export type Handle = (msg: Buffer, address: string, transport: 'udp' | 'tcp') => Buffer | null;

export interface TcpLimits {
  maxConnections: number;
  idleMs: number;
}

// A client that does not read its answers: stop reading its queries once this much is queued for it.
const MAX_QUEUED_OUTPUT = 256 * 1024;

/** `f` at most once every 10 s: the first error of a burst is logged, the rest of it is not. */
export function rarely(f: (e: Error) => void): (e: Error) => void {
  let last = 0;
  return (e) => {
    const now = Date.now();
    if (now - last < 10_000) return;
    last = now;
    f(e);
  };
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/** dgram's lookup for IP literals: answered at once, no DNS. */
function literalLookup(address: string, family: unknown, callback: LookupCallback): void {
  callback(null, address, typeof family === 'number' ? family : address.includes(':') ? 6 : 4);
}

export class UdpListener {
  private socket: dgram.Socket | null = null;

  constructor(
    private readonly handle: Handle,
    private readonly onError: (e: Error) => void,
  ) {}

  bind(host: string, port: number, family: Family): Promise<number> {
    return new Promise((resolve, reject) => {
      // replies go to the address the query came from, always an IP: skip the resolver step dgram runs per
      // send (dns.lookup with a regex and a deferred callback)
      const s = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6, lookup: literalLookup });
      const fail = (e: Error) => reject(e);
      s.once('error', fail);
      s.bind({ address: host, port, exclusive: false }, () => {
        s.off('error', fail);
        // sends carry no callback (Node then tries a synchronous send, no request object per answer): a
        // failed send surfaces here. It loses one answer and the client retries; log the first of a burst.
        const logRarely = rarely(this.onError);
        s.on('error', logRarely);
        try {
          s.setRecvBufferSize(4 * 1024 * 1024);
        } catch {
          // capped by the kernel (net.core.rmem_max): the default is fine
        }
        s.on('message', (msg, rinfo) => {
          // nothing can be sent to port 0 (dgram throws at once): such a source is spoofed, drop it unread
          if (rinfo.port === 0) return;
          try {
            const out = this.handle(msg, rinfo.address, 'udp');
            if (out) s.send(out, rinfo.port, rinfo.address);
          } catch (e) {
            // a throw here would end the process: one answer is lost instead, and it is logged
            logRarely(e as Error);
          }
        });
        this.socket = s;
        resolve(s.address().port);
      });
    });
  }

  close(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    return new Promise((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }
}

interface Connection {
  socket: net.Socket;
  /** Last time a whole query arrived (or the connection opened): idle time is counted from here. */
  lastActive: number;
  /** Received bytes not yet answered, as they arrived (joined only when a message spans chunks). */
  chunks: Buffer[];
  queued: number;
  listener: TcpListener;
}

/** Chunks kept before they are joined: bounds the per-connection overhead of a byte-at-a-time sender. */
const MAX_CHUNKS = 64;

/**
 * The TCP connections of the whole server, across every listen address: `limits.tcp_connections` and
 * the longest-idle eviction count them all together, and one sweeper enforces `limits.tcp_idle`.
 */
export class TcpConnections {
  private readonly conns = new Set<Connection>();
  private sweeper: NodeJS.Timeout | null = null;
  closing = false;

  constructor(private limits: TcpLimits) {}

  setLimits(limits: TcpLimits): void {
    this.limits = limits;
    if (this.sweeper) this.startSweeper();
  }

  get size(): number {
    return this.conns.size;
  }

  private startSweeper(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    const tick = Math.max(50, Math.min(1000, Math.floor(this.limits.idleMs / 4)));
    this.sweeper = setInterval(() => this.sweep(), tick);
    this.sweeper.unref();
  }

  admit(conn: Connection): void {
    if (!this.sweeper) this.startSweeper();
    if (this.conns.size >= this.limits.maxConnections) this.closeLongestIdle();
    this.conns.add(conn);
  }

  remove(conn: Connection): void {
    this.conns.delete(conn);
  }

  private closeLongestIdle(): void {
    let oldest: Connection | null = null;
    for (const c of this.conns) if (!oldest || c.lastActive < oldest.lastActive) oldest = c;
    if (oldest) {
      this.conns.delete(oldest);
      oldest.socket.destroy();
    }
  }

  private sweep(): void {
    const deadline = Date.now() - this.limits.idleMs;
    for (const c of this.conns) {
      if (c.lastActive <= deadline) {
        this.conns.delete(c);
        c.socket.destroy();
      }
    }
  }

  /**
   * Closes every connection once its answers are flushed. Queries already received have been answered
   * (answering is synchronous); a half-received query gets `graceMs` to complete.
   */
  async close(graceMs = 2000): Promise<void> {
    this.closing = true;
    if (this.sweeper) clearInterval(this.sweeper);
    // queries already in the kernel's receive buffers are read (and answered) in the next poll phase: end after it
    for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
    for (const c of this.conns) if (c.queued === 0) c.socket.end();
    const deadline = Date.now() + graceMs;
    while (this.conns.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of this.conns) c.socket.destroy();
  }
}

export class TcpListener {
  private server: net.Server | null = null;

  /**
   * `onError`: a failed accept (the listener goes on). `onFault`: `handle` threw (a bug): the connection is
   * closed, since its stream may be out of step, and every other connection goes on.
   */
  constructor(
    private readonly handle: Handle,
    private readonly connections: TcpConnections,
    private readonly onError: (e: Error) => void,
    private readonly onFault: (e: Error) => void,
  ) {}

  /** The listening socket (null before listen and after close); its 'error' events are failed accepts. */
  get netServer(): net.Server | null {
    return this.server;
  }

  listen(host: string, port: number, family: Family): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
      const fail = (e: Error) => reject(e);
      server.once('error', fail);
      server.listen({ host, port, ipv6Only: family === 6, exclusive: false }, () => {
        server.off('error', fail);
        server.on('error', this.onError);
        this.server = server;
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  }

  private accept(socket: net.Socket): void {
    if (this.connections.closing) {
      socket.destroy();
      return;
    }
    const conn: Connection = { socket, lastActive: Date.now(), chunks: [], queued: 0, listener: this };
    this.connections.admit(conn);
    socket.on('data', (chunk) => this.receive(conn, chunk));
    socket.on('drain', () => {
      socket.resume();
      this.receive(conn, null); // queries held back while the output was full
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.connections.remove(conn));
  }

  private receive(conn: Connection, chunk: Buffer | null): void {
    const { socket, chunks } = conn;
    // our FIN is sent (stopping): a query read now cannot be answered; writing would fail and reset the connection
    if (socket.writableEnded) return;
    if (chunk?.length) {
      chunks.push(chunk);
      conn.queued += chunk.length;
      if (chunks.length > MAX_CHUNKS) chunks.splice(0, chunks.length, Buffer.concat(chunks));
    }
    // stop answering once too much is queued for a client that does not read (one read can hold
    // thousands of queries); the rest waits until 'drain'
    while (conn.queued >= 2 && socket.writableLength <= MAX_QUEUED_OUTPUT) {
      if (chunks[0]!.length < 2) chunks.splice(0, chunks.length, Buffer.concat(chunks));
      const need = 2 + chunks[0]!.readUInt16BE(0);
      if (conn.queued < need) break;
      if (chunks[0]!.length < need) chunks.splice(0, chunks.length, Buffer.concat(chunks));
      const head = chunks[0]!;
      const msg = head.subarray(2, need);
      if (head.length === need) chunks.shift();
      else chunks[0] = head.subarray(need);
      conn.queued -= need;
      conn.lastActive = Date.now();
      let out: Buffer | null;
      try {
        out = this.handle(msg, socket.remoteAddress ?? '', 'tcp');
      } catch (e) {
        // a throw here would end the process (this runs in a socket's 'data' handler)
        this.onFault(e as Error);
        socket.destroy();
        return;
      }
      if (!out || socket.destroyed) continue;
      const framed = Buffer.allocUnsafe(out.length + 2);
      framed.writeUInt16BE(out.length, 0);
      out.copy(framed, 2);
      socket.write(framed);
    }
    if (socket.writableLength > MAX_QUEUED_OUTPUT) socket.pause();
    if (this.connections.closing && conn.queued === 0) socket.end();
  }

  /** Stops accepting new connections (the open ones are closed by TcpConnections.close). */
  close(): Promise<void> {
    const server = this.server;
    this.server = null;
    return server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
  }
}
