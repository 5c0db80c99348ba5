// A TCP client for the DNS tests: frames queries, parses framed replies as they arrive, and records when the
// connection closed (test/dns/tcp.test.ts, test/dns/abuse.test.ts).
import net from 'node:net';
import { decode, type Reply, SAMPLE_ZONE, u16 } from './server.js';

// The sample zone and big.test, whose one answer (~58 KB, close to the 64 KiB TCP limit) is for the client
// that does not read.
const BIG_ZONE = `
origin: big.test
ttl: 300
soa: { ns: ns1.example.test., email: hostmaster@big.test, refresh: 7200, retry: 3600, expire: 1209600, minimum: 60 }
records:
  "@": { NS: [ns1.example.test.] }
  huge: { TXT: [${Array.from({ length: 230 }, (_, i) => `"${String(i).padStart(3, '0')}${'h'.repeat(250)}"`).join(', ')}] }
`;
export const TCP_TEST_ZONES = { 'example.test.yaml': SAMPLE_ZONE, 'big.test.yaml': BIG_ZONE };

/** A TCP client that parses framed replies and records when the connection closed. */
export class Client {
  readonly replies: Buffer[] = [];
  openedAt = 0;
  closedAt: number | null = null;
  readonly closed: Promise<number>;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  private constructor(readonly sock: net.Socket) {
    this.closed = new Promise((resolve) =>
      sock.on('close', () => {
        this.closedAt = Date.now();
        resolve(this.closedAt);
        this.wake();
      }),
    );
    sock.on('error', () => undefined); // a reset by the server shows up as 'close'
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 2 && this.buf.length >= 2 + this.buf.readUInt16BE(0)) {
        this.replies.push(this.buf.subarray(2, 2 + this.buf.readUInt16BE(0)));
        this.buf = this.buf.subarray(2 + this.buf.readUInt16BE(0));
      }
      this.wake();
    });
  }

  static open(port: number, all: Client[]): Promise<Client> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ port, host: '127.0.0.1', noDelay: true });
      const c = new Client(sock);
      all.push(c);
      sock.once('connect', () => {
        c.openedAt = Date.now();
        resolve(c);
      });
      sock.once('error', reject);
    });
  }

  get isOpen(): boolean {
    return this.closedAt === null;
  }

  send(...msgs: Buffer[]): void {
    this.sock.write(Buffer.concat(msgs.flatMap((m) => [u16(m.length), m])));
  }

  /** Waits until `n` replies have arrived in total; rejects on close or timeout. */
  async waitReplies(n: number, timeoutMs = 3000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length < n) {
      if (!this.isOpen) throw new Error(`connection closed after ${this.replies.length}/${n} replies`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.replies.length}/${n} replies before the timeout`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.replies.slice(0, n);
  }

  /** Sends `msg` and waits (as waitReplies does) for the reply to it. */
  async ask(msg: Buffer, timeoutMs?: number): Promise<Reply> {
    const n = this.replies.length;
    this.send(msg);
    return decode((await this.waitReplies(n + 1, timeoutMs))[n]!);
  }

  /** Resolves with the close time, or null if still open after `timeoutMs`. */
  closedWithin(timeoutMs: number): Promise<number | null> {
    return Promise.race([this.closed, new Promise<null>((r) => setTimeout(() => r(null), timeoutMs))]);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

export function destroyAll(clients: Client[]): void {
  for (const c of clients) c.sock.destroy();
}
