// Starts the built server (dist/cli.js serve) in a folder of its own for a measurement tool, reads its JSON
// log lines and stops it by its process id. Used by tools/ecs-scope.mjs and tools/reload-stall.mjs.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = new URL('..', import.meta.url).pathname;

/** A fresh folder under the system's temporary one, removed by `remove()`. */
export function tempFolder(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Writes `steerdns.yaml` (text) and `zones/` (name → text or Buffer) into `dir`, starts `node dist/cli.js
 * serve -c steerdns.yaml` there (prefixed by `pin`, e.g. ['taskset', '-c', '0']) and resolves once it logs
 * "serving", with the addresses it listens on. `onLine` sees every parsed log line.
 */
export async function startServer({ dir, config, zones, pin = [], onLine = () => {}, startMs = 300_000 }) {
  mkdirSync(join(dir, 'zones'), { recursive: true });
  writeFileSync(join(dir, 'steerdns.yaml'), config);
  for (const [name, text] of Object.entries(zones)) writeFileSync(join(dir, 'zones', name), text);
  const cmd = [...pin, process.execPath, join(ROOT, 'dist/cli.js'), 'serve', '-c', 'steerdns.yaml'];
  const child = spawn(cmd[0], cmd.slice(1), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = [];
  const waiters = new Set();
  const seen = (line) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
    let rec;
    try {
      rec = JSON.parse(line);
    } catch {
      return;
    }
    onLine(rec);
    for (const w of waiters) if (w.test(rec)) w.done(rec);
  };
  createInterface({ input: child.stdout }).on('line', seen);
  createInterface({ input: child.stderr }).on('line', seen);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const server = {
    pid: child.pid,
    /** Resolves with the first log line (parsed) that `test` accepts after this call; rejects after `ms`. */
    waitFor(test, ms, what) {
      return new Promise((resolve, reject) => {
        const w = {
          test,
          done: (rec) => {
            clearTimeout(timer);
            waiters.delete(w);
            resolve(rec);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`no "${what}" in the server's log within ${ms / 1000} s; its last lines:\n${tail.join('\n')}`));
        }, ms);
        waiters.add(w);
      });
    },
    signal: (sig) => process.kill(child.pid, sig),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  const serving = server.waitFor((r) => r.msg === 'serving', startMs, 'serving');
  const early = exited.then(({ code, signal }) => {
    throw new Error(`the server exited (${signal ?? code}) before serving; its last lines:\n${tail.join('\n')}`);
  });
  const rec = await Promise.race([serving, early]);
  early.catch(() => {});
  server.listen = rec.listen;
  return server;
}

/** "127.0.0.1:5300" → { host, port }. */
export function hostPort(text) {
  const i = text.lastIndexOf(':');
  return { host: text.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(text.slice(i + 1)) };
}
