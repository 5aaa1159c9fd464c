/**
 * Multi-process mode of the embedded engine (`workers: N`, N >= 2).
 *
 * N node:cluster workers with `cluster.schedulingPolicy = SCHED_NONE` (set before the first fork):
 * every worker accept()s on the same listening socket and the kernel spreads connections. The
 * default RR policy is not used: the primary would accept every connection and pass the fd over
 * IPC, which measured 20-37% slower on short connections (baselines-haproxy-node.md section 3).
 *
 * What is per worker (and why some services are refused in this mode):
 * - Each worker runs its own scheduler over the full real list. rr/wrr interleave per worker, so
 *   the whole is round robin only on average; lc/wlc/sed/nq/ovf/lblc/lblcr see only the worker's
 *   own connections. sh, dh, mh and fo are stateless and decide exactly as in one process.
 * - Persistence templates and -x/-y thresholds would be per worker, which is not what IPVS does:
 *   a persistent client could reach another real through another worker, and a threshold would
 *   allow N times the connections. Such services are refused (DIR_ERR_ENGINE_UNSUPPORTED).
 * - UDP services are refused too: datagrams of one client would be spread over workers and so
 *   over reals.
 * Stats are aggregated from snapshots each worker sends every 500 ms (so stats() and
 * connections() may lag by that much); counters and rates are summed across workers.
 */
import cluster, { type Worker } from 'node:cluster';
import { DirectorError, isErrorCode, type ErrorParams } from '../../core/errors.js';
import type { LogFields, Logger } from '../../core/logger.js';
import type { ApplyResult, ConnectionEntry, Counters, DesiredService, DesiredState, EngineStats, Rates, RealStats, ServiceStats } from '../model.js';

export type PrimaryMessage = { t: 'apply'; id: number; desired: DesiredState } | { t: 'close'; id: number; deadlineMs: number } | { t: 'destroy' };

export interface WireFailure {
  readonly key: string;
  readonly message: string;
  readonly code?: string;
  readonly params?: ErrorParams;
}

export type WorkerMessage =
  | { t: 'ready' }
  | { t: 'result'; id: number; result?: { added: number; updated: number; removed: number; failures: WireFailure[] }; error?: string }
  | { t: 'snapshot'; stats: EngineStats; connections: readonly ConnectionEntry[] }
  | { t: 'closed'; id: number }
  | { t: 'log'; level: 'error' | 'warn' | 'info' | 'debug'; message: string; fields: LogFields };

/** Refuses what worker mode cannot keep exact. */
export function validateForWorkers(d: DesiredService): void {
  const refuse = (feature: string): never => {
    throw new DirectorError('DIR_ERR_ENGINE_UNSUPPORTED', {
      engine: 'embedded (workers)',
      service: d.key,
      feature,
      reason: 'each worker would keep its own copy, unlike IPVS; run the engine with workers=1 for this service',
    });
  };
  if (d.protocol === 'udp') refuse('udp');
  if (d.persistence !== undefined) refuse('persistence');
  if (d.reals.some((r) => r.upperThreshold !== 0 || r.lowerThreshold !== 0)) refuse('connection thresholds (-x/-y)');
}

interface Pending {
  readonly resolve: (m: WorkerMessage) => void;
}

export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly snapshots = new Map<number, { stats: EngineStats; connections: readonly ConnectionEntry[] }>();
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private ready: Promise<void> | undefined;

  constructor(
    private readonly count: number,
    private readonly logger: Logger,
  ) {}

  start(): Promise<void> {
    this.ready ??= new Promise<void>((resolve, reject) => {
      if (!cluster.isPrimary) {
        reject(new DirectorError('DIR_ERR_ENGINE_UNAVAILABLE', { reason: 'worker mode must be started from the primary process' }));
        return;
      }
      // Must be set before the first fork (node:cluster reads it once).
      cluster.schedulingPolicy = cluster.SCHED_NONE;
      const self = import.meta.url;
      const exec = new URL(`./worker-main${self.endsWith('.ts') ? '.ts' : '.js'}`, self).pathname;
      cluster.setupPrimary({ exec, execArgv: process.execArgv, args: [] });
      let ready = 0;
      for (let i = 0; i < this.count; i++) {
        const w = cluster.fork();
        this.workers.push(w);
        w.on('message', (m: WorkerMessage) => {
          if (m.t === 'ready' && ++ready === this.count) resolve();
          else this.onMessage(w, m);
        });
        w.on('exit', (code, signal) => {
          this.snapshots.delete(w.id);
          if (code !== 0 && signal !== 'SIGTERM' && signal !== 'SIGKILL') this.logger.error('engine worker exited', { worker: w.id, code, signal });
        });
      }
    });
    return this.ready;
  }

  private onMessage(w: Worker, m: WorkerMessage): void {
    switch (m.t) {
      case 'snapshot':
        this.snapshots.set(w.id, { stats: m.stats, connections: m.connections });
        break;
      case 'result':
      case 'closed':
        this.pending.get(`${w.id}:${m.id}`)?.resolve(m);
        this.pending.delete(`${w.id}:${m.id}`);
        break;
      case 'log':
        this.logger[m.level](m.message, m.fields);
        break;
      default:
        break;
    }
  }

  private request(w: Worker, msg: PrimaryMessage & { id: number }, timeoutMs: number): Promise<WorkerMessage | undefined> {
    return new Promise((resolve) => {
      const key = `${w.id}:${msg.id}`;
      const t = setTimeout(() => {
        this.pending.delete(key);
        resolve(undefined);
      }, timeoutMs);
      t.unref();
      this.pending.set(key, {
        resolve: (m) => {
          clearTimeout(t);
          resolve(m);
        },
      });
      w.send(msg);
    });
  }

  async apply(desired: DesiredState): Promise<ApplyResult> {
    await this.start();
    const id = this.nextId++;
    const replies = await Promise.all(this.workers.map((w) => this.request(w, { t: 'apply', id, desired }, 30_000)));
    const first = replies.find((r) => r?.t === 'result' && r.result !== undefined);
    const failures = new Map<string, Error>();
    for (const r of replies) {
      if (r === undefined || r.t !== 'result') {
        failures.set('*', new DirectorError('DIR_ERR_ENGINE_UNAVAILABLE', { reason: 'an engine worker did not answer apply()' }));
        continue;
      }
      if (r.error !== undefined) failures.set('*', new DirectorError('DIR_ERR_ENGINE_UNAVAILABLE', { reason: r.error }));
      for (const f of r.result?.failures ?? []) {
        if (failures.has(f.key)) continue;
        failures.set(f.key, f.code !== undefined && isErrorCode(f.code) ? new DirectorError(f.code, f.params ?? {}) : new Error(f.message));
      }
    }
    const res = first?.t === 'result' ? first.result : undefined;
    return {
      added: res?.added ?? 0,
      updated: res?.updated ?? 0,
      removed: res?.removed ?? 0,
      failures: [...failures].map(([key, error]) => ({ key, error })),
    };
  }

  stats(): EngineStats {
    const merged = new Map<string, ServiceStats>();
    for (const snap of this.snapshots.values()) {
      for (const s of snap.stats.services) {
        const prev = merged.get(s.key);
        merged.set(s.key, prev === undefined ? s : mergeService(prev, s));
      }
    }
    return { services: [...merged.values()] };
  }

  connections(): readonly ConnectionEntry[] {
    return [...this.snapshots.values()].flatMap((s) => s.connections);
  }

  async close(deadlineMs: number): Promise<void> {
    if (this.ready === undefined) return;
    const id = this.nextId++;
    await Promise.all(this.workers.map((w) => (w.isConnected() ? this.request(w, { t: 'close', id, deadlineMs }, deadlineMs + 5000) : undefined)));
    this.destroy();
  }

  destroy(): void {
    for (const w of this.workers) {
      if (w.isConnected()) w.send({ t: 'destroy' } satisfies PrimaryMessage);
      w.process.kill('SIGTERM');
    }
    this.workers.length = 0;
  }
}

function sumCounters(a: Counters, b: Counters): Counters {
  return { conns: a.conns + b.conns, inPackets: a.inPackets + b.inPackets, outPackets: a.outPackets + b.outPackets, inBytes: a.inBytes + b.inBytes, outBytes: a.outBytes + b.outBytes };
}

function sumRates(a: Rates, b: Rates): Rates {
  return { cps: a.cps + b.cps, inPps: a.inPps + b.inPps, outPps: a.outPps + b.outPps, inBps: a.inBps + b.inBps, outBps: a.outBps + b.outBps };
}

function mergeService(a: ServiceStats, b: ServiceStats): ServiceStats {
  const reals: RealStats[] = a.reals.map((ra) => {
    const rb = b.reals.find((x) => x.key === ra.key);
    if (rb === undefined) return ra;
    return {
      ...ra,
      activeConns: ra.activeConns + rb.activeConns,
      inactiveConns: ra.inactiveConns + rb.inactiveConns,
      persistentConns: ra.persistentConns + rb.persistentConns,
      overloaded: ra.overloaded || rb.overloaded,
      counters: sumCounters(ra.counters, rb.counters),
      rates: sumRates(ra.rates, rb.rates),
    };
  });
  return {
    ...a,
    reals,
    counters: sumCounters(a.counters, b.counters),
    rates: sumRates(a.rates, b.rates),
    errors: { noRealAvailable: a.errors.noRealAvailable + b.errors.noRealAvailable, connectFailures: a.errors.connectFailures + b.errors.connectFailures },
    listening: (a.listening ?? false) && (b.listening ?? false),
  };
}
