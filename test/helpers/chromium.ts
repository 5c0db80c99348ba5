// Headless Chromium (Debian's `chromium`) driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: it reads commands on fd 3 and writes replies and events on fd 4, each message a JSON
// text ended by a NUL), for the tests that check what a browser renders. Its profile is a temporary folder;
// it runs in its own process group, ended by its PID.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

interface Message {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

export class Chromium {
  private readonly child: ChildProcess;
  private readonly profile = mkdtempSync(join(tmpdir(), 'steerdns-chromium-'));
  private readonly pending = new Map<number, { resolve(r: Record<string, unknown>): void; reject(e: Error): void }>();
  private readonly waiters: { method: string; resolve(): void }[] = [];
  private nextId = 0;
  private session = '';
  stderr = '';

  constructor() {
    const args = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--remote-debugging-pipe'];
    args.push(`--user-data-dir=${this.profile}`, '--window-size=1280,900', 'about:blank');
    this.child = spawn('chromium', args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], detached: true });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    let buffered = '';
    (this.child.stdio[4] as Readable).setEncoding('utf8').on('data', (d: string) => {
      const parts = (buffered + d).split('\0');
      buffered = parts.pop()!;
      for (const p of parts) this.receive(JSON.parse(p) as Message);
    });
    this.child.on('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error(`chromium exited: ${this.stderr}`));
    });
  }

  private receive(m: Message): void {
    if (m.id !== undefined) {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error) p?.reject(new Error(m.error.message));
      else p?.resolve(m.result ?? {});
      return;
    }
    for (let i = this.waiters.length - 1; i >= 0; i--) if (this.waiters[i]!.method === m.method) this.waiters.splice(i, 1)[0]!.resolve();
  }

  /** One DevTools command; on the page's session once open() has attached to it. */
  send(method: string, params: Record<string, unknown> = {}, session = this.session): Promise<Record<string, unknown>> {
    const id = ++this.nextId;
    const msg: Message = { id, method, params, ...(session ? { sessionId: session } : {}) };
    (this.child.stdio[3] as Writable).write(`${JSON.stringify(msg)}\0`);
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  /** Opens `url` in a new tab (with `headers` on every request it makes) and waits for its load event. */
  async open(url: string, headers: Record<string, string> = {}): Promise<void> {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' }, '');
    this.session = (await this.send('Target.attachToTarget', { targetId, flatten: true }, '')).sessionId as string;
    await this.send('Page.enable');
    await this.send('Network.enable');
    await this.send('Network.setExtraHTTPHeaders', { headers });
    const loaded = new Promise<void>((resolve) => this.waiters.push({ method: 'Page.loadEventFired', resolve }));
    await this.send('Page.navigate', { url });
    await loaded;
  }

  /** The value of `expression` evaluated in the page (a promise awaited), as JSON. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(`in the page: ${JSON.stringify(r.exceptionDetails)}`);
    return (r.result as { value: T }).value;
  }

  /** A PNG of the page as rendered. */
  async screenshot(): Promise<Buffer> {
    const r = await this.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
    return Buffer.from(r.data as string, 'base64');
  }

  /** Ends Chromium (its process group, by its PID), then removes its profile. */
  async close(): Promise<void> {
    if (this.child.pid && this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      try {
        process.kill(-this.child.pid, 'SIGKILL');
        await exited;
      } catch {
        // already gone
      }
    }
    rmSync(this.profile, { recursive: true, force: true });
  }
}
