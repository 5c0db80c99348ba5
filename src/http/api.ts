// The HTTP API on `http:` (spec §8): /healthz, /readyz, /metrics, /explain. It reads the same snapshot
// and health table as the DNS path and never blocks it: every handler is a quick read.
import http from 'node:http';
import type { Logger } from 'pino';
import { explain } from '../gslb/explain.js';
import type { HealthView } from '../health/table.js';
import type { Metrics } from '../metrics.js';
import type { Snapshot } from '../snapshot.js';

export interface ApiSources {
  snapshot(): Snapshot;
  health: HealthView;
  metrics: Metrics;
  /** Prometheus text for /metrics (with workers: aggregated over every process). */
  metricsText(): Promise<string>;
  log: Logger;
  /** Why DNS is not being answered yet (null: it is); default: ready once a zone is loaded. */
  notReady?: () => string | null;
  /** Extra routes (status page, /status) added by later layers. */
  routes?: Map<string, (url: URL) => Promise<{ status: number; type: string; body: string }> | { status: number; type: string; body: string }>;
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export class HttpApi {
  private server: http.Server | null = null;

  constructor(private readonly src: ApiSources) {}

  async listen(host: string, port: number): Promise<number> {
    const server = http.createServer((req, res) => {
      this.route(req, res).catch((e: Error) => {
        this.src.log.error({ err: e, path: req.url }, 'HTTP API error');
        if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
      });
    });
    server.headersTimeout = 5000;
    server.requestTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    return (server.address() as { port: number }).port;
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain', 'only GET\n');
      return;
    }
    switch (url.pathname) {
      case '/healthz':
        send(res, 200, 'text/plain', 'ok\n');
        return;
      case '/readyz': {
        const why = this.src.snapshot().zones.size === 0 ? 'no zone loaded' : this.src.notReady?.() ?? null;
        send(res, why ? 503 : 200, 'text/plain', why ? `${why}\n` : 'ready\n');
        return;
      }
      case '/metrics':
        send(res, 200, this.src.metrics.registry.contentType, await this.src.metricsText());
        return;
      case '/explain': {
        const q = url.searchParams;
        const name = q.get('name');
        const from = q.get('from');
        if (!name || !from) {
          send(res, 400, 'application/json', `${JSON.stringify({ error: 'name and from are required' })}\n`);
          return;
        }
        const r = explain(this.src.snapshot(), this.src.health, 'live', {
          name, from, type: q.get('type') || undefined, subnet: q.get('subnet') || undefined,
        });
        send(res, 'error' in r ? 400 : 200, 'application/json', `${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      default: {
        const extra = this.src.routes?.get(url.pathname);
        if (extra) {
          const r = await extra(url);
          send(res, r.status, r.type, r.body);
          return;
        }
        send(res, 404, 'text/plain', 'not found\n');
      }
    }
  }

  close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return Promise.resolve();
    s.closeAllConnections();
    return new Promise((r) => s.close(() => r()));
  }
}
