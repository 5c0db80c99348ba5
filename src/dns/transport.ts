// UDP and TCP listeners (RFC 7766 for TCP: 2-byte framing, several and pipelined queries per connection,
// idle timeout, a cap on connections that closes the longest-idle one). They move bytes between sockets
// and a `handle` function and own nothing else.
import dgram from 'node:dgram';
import net from 'node:net';
import type { Family } from '../config/values.js';

export type Handle = (msg: Buffer, address: string, transport: 'udp' | 'tcp') => Buffer | null;

export interface TcpLimits {
  maxConnections: number;
  idleMs: number;
}

// A client that does not read its answers: stop reading its queries once this much is queued for it.
const MAX_QUEUED_OUTPUT = 256 * 1024;

export class UdpListener {
  private socket: dgram.Socket | null = null;

  constructor(private readonly handle: Handle, private readonly onError: (e: Error) => void) {}

  bind(host: string, port: number, family: Family): Promise<number> {
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6 });
      const fail = (e: Error) => reject(e);
      s.once('error', fail);
      s.bind({ address: host, port, exclusive: false }, () => {
        s.off('error', fail);
        s.on('error', this.onError);
        try {
          s.setRecvBufferSize(4 * 1024 * 1024);
        } catch {
          // capped by the kernel (net.core.rmem_max): the default is fine
        }
        s.on('message', (msg, rinfo) => {
          const out = this.handle(msg, rinfo.address, 'udp');
          if (out) s.send(out, rinfo.port, rinfo.address, ignore);
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

function ignore(): void {
  // UDP send errors (unreachable client, buffer full) lose one answer; the client retries
}

interface Connection {
  socket: net.Socket;
  /** Last time a whole query arrived (or the connection opened): idle time is counted from here. */
  lastActive: number;
  pending: Buffer | null;
}

export class TcpListener {
  private server: net.Server | null = null;
  private readonly conns = new Set<Connection>();
  private sweeper: NodeJS.Timeout | null = null;
  private closing = false;

  constructor(private readonly handle: Handle, private limits: TcpLimits, private readonly onError: (e: Error) => void) {}

  setLimits(limits: TcpLimits): void {
    this.limits = limits;
  }

  get connectionCount(): number {
    return this.conns.size;
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
        const tick = Math.max(50, Math.min(1000, Math.floor(this.limits.idleMs / 4)));
        this.sweeper = setInterval(() => this.sweep(), tick);
        this.sweeper.unref();
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  }

  private accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.conns.size >= this.limits.maxConnections) this.closeLongestIdle();
    const conn: Connection = { socket, lastActive: Date.now(), pending: null };
    this.conns.add(conn);
    socket.on('data', (chunk) => this.receive(conn, chunk));
    socket.on('drain', () => {
      socket.resume();
      this.receive(conn, Buffer.alloc(0)); // queries held back while the output was full
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.conns.delete(conn));
  }

  private receive(conn: Connection, chunk: Buffer): void {
    let buf = conn.pending ? Buffer.concat([conn.pending, chunk]) : chunk;
    const { socket } = conn;
    // stop answering once too much is queued for a client that does not read (one read can hold
    // thousands of queries); the rest waits in `pending` until 'drain'
    while (buf.length >= 2 && socket.writableLength <= MAX_QUEUED_OUTPUT) {
      const len = buf.readUInt16BE(0);
      if (buf.length < 2 + len) break;
      const msg = buf.subarray(2, 2 + len);
      buf = buf.subarray(2 + len);
      conn.lastActive = Date.now();
      const out = this.handle(msg, socket.remoteAddress ?? '', 'tcp');
      if (!out || socket.destroyed) continue;
      const framed = Buffer.allocUnsafe(out.length + 2);
      framed.writeUInt16BE(out.length, 0);
      out.copy(framed, 2);
      socket.write(framed);
    }
    // keep a small remainder in its own buffer instead of pinning the whole chunk
    conn.pending = buf.length === 0 ? null : Buffer.from(buf);
    if (socket.writableLength > MAX_QUEUED_OUTPUT) socket.pause();
    if (this.closing && !conn.pending) socket.end();
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
   * Stops accepting; connections close once their answers are flushed. Queries already received have
   * been answered (answering is synchronous); a half-received query gets `graceMs` to complete.
   */
  async close(graceMs = 2000): Promise<void> {
    this.closing = true;
    if (this.sweeper) clearInterval(this.sweeper);
    const server = this.server;
    this.server = null;
    const closed = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
    for (const c of this.conns) if (!c.pending) c.socket.end();
    const deadline = Date.now() + graceMs;
    while (this.conns.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of this.conns) c.socket.destroy();
    await closed;
  }
}
