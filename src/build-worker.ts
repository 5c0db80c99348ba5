// The builder thread (src/builder.ts starts it, one per process, and keeps it): it reads and parses zone files
// and builds their zone data, the work that is a pure function of the files' bytes and the config, so the
// answering thread never does it. A parsed zone waits here, by handle, until it is built (with the serial the
// answering thread gives it) or dropped; the built data goes back as transferred buffers.
import { parentPort } from 'node:worker_threads';
import { loadZoneFileSettled } from './config/load.js';
import type { ServerConfig } from './config/server-config.js';
import type { ZoneSpec } from './config/zone-file.js';
import type { ParsedFile } from './snapshot.js';
import { buildZoneData, transferList, zoneInputOf } from './zone-data.js';
import { zoneIdentity } from './zone-identity.js';

export type BuildRequest =
  | { op: 'parse'; id: number; cfg: ServerConfig; files: string[]; settleMs?: number; inputs: string }
  | { op: 'build'; id: number; handle: number; serial: number }
  | { op: 'drop'; handles: number[] };

/** A parse's result for one file: its spec with only the pool names left (the rest stays here, by `handle`). */
export type ParsedHead = ParsedFile & { handle?: number };

const parsed = new Map<number, ZoneSpec>();
let handles = 0;

function parse(cfg: ServerConfig, files: string[], settleMs: number | undefined, inputs: string): ParsedHead[] {
  return files.map((file) => {
    const r = loadZoneFileSettled(file, cfg, settleMs);
    if (!r.zone) return r;
    const spec = r.zone;
    const handle = ++handles;
    parsed.set(handle, spec);
    // the answering thread builds the pools: their names go back, every other name stays here
    const pools = new Map([...spec.names].filter(([, n]) => n.pool !== null).map(([k, n]) => [k, { ...n, rrsets: new Map() }]));
    const head: ZoneSpec = { ...spec, names: pools };
    return { ...r, zone: head, identity: zoneIdentity(spec, inputs), names: spec.names.size, handle };
  });
}

parentPort?.on('message', (m: BuildRequest) => {
  if (m.op === 'drop') {
    for (const h of m.handles) parsed.delete(h);
    return;
  }
  try {
    if (m.op === 'parse') parentPort!.postMessage({ id: m.id, results: parse(m.cfg, m.files, m.settleMs, m.inputs) });
    else if (m.op === 'build') {
      const spec = parsed.get(m.handle);
      parsed.delete(m.handle);
      if (!spec) throw new Error('the parsed zone is gone (the builder thread was restarted)');
      const data = buildZoneData(zoneInputOf(spec, m.serial));
      parentPort!.postMessage({ id: m.id, data }, transferList(data));
    }
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message });
  }
});
