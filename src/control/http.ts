/**
 * The status HTTP server: `/metrics` (Prometheus text format 0.0.4), `/status.json`, and a live
 * web status page at `/` (one self-contained HTML file, ./status-page.html, that polls
 * status.json). Read-only: it takes the read side of the ControlApi and changes nothing, so it can
 * listen on a management address without the root-only protection of the control socket.
 *
 * Between scrapes a sampler (every `sampleIntervalMs`, through the injected Clock) records rates
 * for the page's sparklines and feeds every new check result into the latency histogram.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock, TimerHandle } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { DirectorError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ControlReadApi } from './api.js';
import { CheckLatencyHistogram, RateHistory, renderMetrics } from './metrics.js';

export interface StatusHttpServerOptions {
  readonly listen: { readonly host: string; readonly port: number };
  readonly api: ControlReadApi;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** How often to sample rates and check results (default 1000 ms; 0 = only on requests). */
  readonly sampleIntervalMs?: number;
  /** Samples kept per series for the sparklines (default 120). */
  readonly historySamples?: number;
}

export interface StatusHttpServer {
  start(): Promise<void>;
  /** Stops listening and waits for open requests (idle keep-alive connections are closed). Idempotent. */
  close(): Promise<void>;
  destroy(): void;
  /** The bound address (port resolved when 0 was asked for). */
  address(): { host: string; port: number } | undefined;
}

interface PageAsset {
  readonly html: string;
  readonly csp: string;
}

let pageAsset: PageAsset | undefined;

/** The page and a Content-Security-Policy that allows exactly its inline script and style. */
export function statusPage(): PageAsset {
  if (pageAsset) return pageAsset;
  const html = readFileSync(new URL('./status-page.html', import.meta.url), 'utf8');
  const hashOf = (tag: 'script' | 'style'): string => {
    const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(html);
    return m ? `'sha256-${createHash('sha256').update(m[1] as string).digest('base64')}'` : "'none'";
  };
  const csp = `default-src 'none'; script-src ${hashOf('script')}; style-src ${hashOf('style')}; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
  pageAsset = { html, csp };
  return pageAsset;
}

export function createStatusHttpServer(options: StatusHttpServerOptions): StatusHttpServer {
  const { api } = options;
  const logger = options.logger.child({ module: 'control-http' });
  const clock = options.clock ?? systemClock;
  const checks = new CheckLatencyHistogram();
  const rates = new RateHistory(options.historySamples ?? 120);
  const lastCheckAt = new Map<string, number>();
  const sampleIntervalMs = options.sampleIntervalMs ?? 1000;
  let server: Server | undefined;
  let sampler: TimerHandle | undefined;
  let bound: { host: string; port: number } | undefined;
  let closing: Promise<void> | undefined;

  /** Feeds new check results into the histogram (each check once, keyed by its time). */
  async function sample(recordRates: boolean): Promise<void> {
    const [status, stats] = await Promise.all([api.status(), api.engineStats()]);
    for (const v of status.virtuals) {
      for (const r of v.reals) {
        if (!r.lastCheck) continue;
        const key = `${v.id}/${r.key}`;
        if (lastCheckAt.get(key) === r.lastCheck.at) continue;
        lastCheckAt.set(key, r.lastCheck.at);
        checks.observe(v.id, r.key, r.lastCheck.durationMs, r.lastCheck.ok);
      }
    }
    if (recordRates) rates.record(stats, clock.wallNow());
  }

  function send(res: ServerResponse, status: number, type: string, body: string, head: boolean, extra: Record<string, string> = {}): void {
    res.writeHead(status, {
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...extra,
    });
    res.end(head ? undefined : body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', false, { allow: 'GET, HEAD' });
      return;
    }
    const head = method === 'HEAD';
    const path = new URL(req.url ?? '/', 'http://status.invalid').pathname;
    switch (path) {
      case '/metrics': {
        await sample(false);
        const [status, stats, version] = await Promise.all([api.status(), api.engineStats(), api.version()]);
        send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', renderMetrics({ status, stats, version, checks }), head);
        return;
      }
      case '/status.json': {
        const [status, stats, version] = await Promise.all([api.status(), api.engineStats(), api.version()]);
        const body = JSON.stringify({ at: clock.wallNow(), version, status, stats, series: rates.snapshot() });
        send(res, 200, 'application/json; charset=utf-8', body, head);
        return;
      }
      case '/':
      case '/index.html': {
        const page = statusPage();
        send(res, 200, 'text/html; charset=utf-8', page.html, head, { 'content-security-policy': page.csp, 'referrer-policy': 'no-referrer' });
        return;
      }
      default:
        send(res, 404, 'text/plain; charset=utf-8', 'not found: try /, /status.json or /metrics\n', head);
    }
  }

  return {
    address: () => bound,

    async start() {
      if (server) return;
      const srv = createServer((req, res) => {
        handle(req, res).catch((error: unknown) => {
          logger.error('status request failed', { url: req.url, error: error instanceof Error ? error.message : String(error) });
          if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n', false);
          else res.destroy();
        });
      });
      srv.keepAliveTimeout = 5000;
      srv.headersTimeout = 10_000;
      srv.requestTimeout = 30_000;
      try {
        await new Promise<void>((resolve, reject) => {
          srv.once('error', reject);
          srv.listen(options.listen.port, options.listen.host, () => {
            srv.off('error', reject);
            resolve();
          });
        });
      } catch (error) {
        const address = `${options.listen.host.includes(':') ? `[${options.listen.host}]` : options.listen.host}:${options.listen.port}`;
        throw new DirectorError('DIR_ERR_CONTROL_HTTP_LISTEN', { address, reason: (error as Error).message }, { cause: error });
      }
      srv.on('error', (error) => logger.error('status server error', { error: error.message }));
      const info = srv.address() as AddressInfo;
      bound = { host: info.address, port: info.port };
      server = srv;
      closing = undefined;
      await sample(true).catch((error: unknown) => logger.warn('status sampling failed', { error: String(error) }));
      if (sampleIntervalMs > 0) {
        sampler = clock
          .setInterval(() => {
            sample(true).catch((error: unknown) => logger.warn('status sampling failed', { error: String(error) }));
          }, sampleIntervalMs)
          .unref();
      }
      logger.info('status HTTP server listening', { host: bound.host, port: bound.port });
    },

    close() {
      if (!server) return closing ?? Promise.resolve();
      const srv = server;
      server = undefined;
      sampler?.cancel();
      sampler = undefined;
      closing = new Promise<void>((resolve) => {
        srv.close(() => resolve());
        srv.closeIdleConnections();
        // Requests still running after a second are cut (a scrape never takes that long). A real
        // timer on purpose: it bounds socket I/O and must fire when tests drive a ManualClock.
        setTimeout(() => srv.closeAllConnections(), 1000).unref();
      });
      return closing;
    },

    destroy() {
      sampler?.cancel();
      sampler = undefined;
      if (server) {
        server.closeAllConnections();
        server.close();
        server = undefined;
      }
    },
  };
}
