// The builder: one persistent worker_thread per process (src/build-worker.ts) reads and parses zone files and
// builds their zone data, so the thread that answers never stops for a load, whatever its size. Requests are
// answered in order; a thread that dies fails what it had (the reload fails, the last good zones keep serving)
// and the next request starts a new one. Under the test runner the worker runs the TypeScript source through tsx.
import { Worker } from 'node:worker_threads';
import type { BuildRequest, ParsedHead } from './build-worker.js';
import type { ServerConfig } from './config/server-config.js';
import type { ServedZone } from './served-zone.js';
import { type ZoneData, zoneFromData } from './zone-data.js';

/** The builder thread died (or could not start) while it held a request. */
export class BuilderError extends Error {}

type Reply = { id: number; results?: ParsedHead[]; data?: ZoneData; error?: string };

// a worker_thread does not inherit the parent's module loader: from the TypeScript source (tests), tsx is
// registered in it first
const TS_BOOT = `
const { workerData } = require('node:worker_threads');
import('tsx/esm/api').then(({ register }) => register()).then(() => import(workerData.module));
`;

export class Builder {
  private thread: Worker | null = null;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private ids = 0;
  private closed = false;
  /** Threads started so far (the first one included). */
  starts = 0;

  constructor(private readonly onDied: (why: string) => void = () => undefined) {}

  /** Reads and parses `files` (each on its own, no origin claims), in order. */
  async parse(cfg: ServerConfig, files: string[], settleMs: number | undefined, inputs: string): Promise<ParsedHead[]> {
    const r = await this.request({ op: 'parse', id: 0, cfg, files, settleMs, inputs });
    return r.results!;
  }

  /** The zone of a parsed file with `serial`: its flat form built in the thread, the pools attached here. */
  async build(parsed: ParsedHead, serial: number, cfg: ServerConfig): Promise<ServedZone> {
    if (parsed.handle === undefined || !parsed.zone) throw new BuilderError('nothing parsed to build');
    const r = await this.request({ op: 'build', id: 0, handle: parsed.handle, serial });
    return zoneFromData(r.data!, parsed.zone, cfg);
  }

  /** Parsed zones that will not be built. */
  drop(parsed: ParsedHead[]): void {
    const handles = parsed.map((p) => p.handle).filter((h): h is number => h !== undefined);
    if (handles.length && this.thread) this.thread.postMessage({ op: 'drop', handles } satisfies BuildRequest);
  }

  /** The thread now (for tests that end it). */
  get worker(): Worker | null {
    return this.thread;
  }

  async close(): Promise<void> {
    this.closed = true;
    const t = this.thread;
    this.thread = null;
    const left = [...this.pending.values()];
    this.pending.clear();
    for (const p of left) p.reject(new BuilderError('the builder was closed (the server stops)'));
    if (t) await t.terminate();
  }

  private request(m: BuildRequest & { id: number }): Promise<Reply> {
    if (this.closed) return Promise.reject(new BuilderError('the builder is closed'));
    const t = this.start();
    const id = ++this.ids;
    m.id = id;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // the thread keeps the process up only while it has work
      t.ref();
      t.postMessage(m);
    }).then((r) => {
      if (r.error !== undefined) throw new BuilderError(r.error);
      return r;
    });
  }

  private start(): Worker {
    if (this.thread) return this.thread;
    const ts = import.meta.url.endsWith('.ts');
    const module = new URL(`./build-worker.${ts ? 'ts' : 'js'}`, import.meta.url);
    const t = ts ? new Worker(TS_BOOT, { eval: true, workerData: { module: module.href } }) : new Worker(module);
    this.starts++;
    this.thread = t;
    t.unref();
    t.on('message', (r: Reply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (this.pending.size === 0) t.unref();
      p.resolve(r);
    });
    const died = (why: string) => {
      if (this.thread !== t) return;
      this.thread = null;
      const failed = [...this.pending.values()];
      this.pending.clear();
      for (const p of failed) p.reject(new BuilderError(`the builder thread ${why}`));
      // the next request starts a new one
      if (!this.closed) this.onDied(why);
    };
    t.on('error', (e) => died(`failed: ${e.message}`));
    t.on('exit', (code) => died(`exited (code ${code})`));
    return t;
  }
}
