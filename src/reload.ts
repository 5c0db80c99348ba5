// How a running server reloads: one reload at a time, those asked meanwhile merged into one more after it
// (ReloadQueue), and the load itself driven through the builder thread (loadThroughBuilder), each zone that
// is built handed over at once so it can be served before the rest of the load is done.
import type { ParsedHead } from './build-worker.js';
import type { Builder } from './builder.js';
import type { SerialStore } from './config/serial.js';
import type { ServerConfig } from './config/server-config.js';
import { type LoadReport, loadSteps, type Snapshot, type ZoneFileState } from './snapshot.js';
import { zoneBuildInputs } from './zone-identity.js';

export type ReloadKind = 'all' | 'zones' | 'db';

export interface ReloadResult {
  ok: boolean;
  failed: string[];
  /** Zone files read again, zones prepared anew. */
  parsed: number;
  rebuilt: number;
}

/**
 * Reloads one at a time. One asked while another runs waits for it; every one asked meanwhile joins that same
 * next reload (a full one if any asked for it), so a burst of edits costs one more reload that reads the
 * latest state, and each caller gets the result of the reload that covered its request.
 */
export class ReloadQueue {
  private running: Promise<unknown> = Promise.resolve();
  private next: { what: Set<ReloadKind>; result: Promise<ReloadResult> } | null = null;

  constructor(private readonly run: (what: ReadonlySet<ReloadKind>) => Promise<ReloadResult> | ReloadResult) {}

  request(what: ReloadKind): Promise<ReloadResult> {
    if (this.next) {
      this.next.what.add(what);
      return this.next.result;
    }
    const next = { what: new Set([what]), result: null as unknown as Promise<ReloadResult> };
    next.result = this.running.then(() => {
      // from here on a new request waits for this one
      this.next = null;
      return this.run(next.what);
    });
    this.next = next;
    this.running = next.result.catch(() => undefined);
    return next.result;
  }

  /** Resolves once no reload runs or waits. */
  async idle(): Promise<void> {
    while (this.next) await this.next.result.catch(() => undefined);
    await this.running;
  }
}

/**
 * loadSteps driven through `builder`: files parsed and flat zones built in its thread, their pools attached
 * here. `built` gets each zone's file state as soon as it is ready. A builder thread that dies fails the
 * load of the files it held: the whole load when it dies while parsing (nothing changes), else the zones not
 * built yet (their last good versions stay).
 */
export async function loadThroughBuilder(
  builder: Builder,
  cfg: ServerConfig,
  serials: SerialStore,
  previous: Snapshot | null,
  opts: { settleMs?: number },
  built: (state: ZoneFileState) => void,
): Promise<LoadReport> {
  const steps = loadSteps(cfg, serials, previous, opts);
  const read: ParsedHead[] = [];
  let next = steps.next();
  try {
    while (!next.done) {
      const step = next.value;
      if (step.kind === 'parse') {
        read.push(...(await builder.parse(cfg, step.files, step.settleMs, zoneBuildInputs(cfg))));
        next = steps.next(read);
      } else if (step.kind === 'build') {
        let zone: unknown;
        try {
          zone = await builder.build(step.parsed, step.serial, cfg);
        } catch (e) {
          next = steps.throw(e);
          continue;
        }
        next = steps.next(zone);
      } else {
        // a reload (not the first load) serves each zone as it is ready
        if (previous) built(step.state);
        next = steps.next();
      }
    }
  } finally {
    // parsed zones not built (unchanged, refused, or the load failed) are let go in the thread
    builder.drop(read);
  }
  return next.value;
}
