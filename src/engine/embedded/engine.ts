/**
 * The embedded userspace forwarding engine: the default data path, which looks like an IPVS
 * virtual server from outside (same schedulers, weights, quiescing, persistence templates,
 * thresholds, counters and rates) but proxies TCP and UDP in Node (NAT-like: the real server sees
 * the director's address unless the service sends a PROXY protocol header).
 *
 * Two TCP data paths, one set of decisions: TCP services without L7 rules are relayed by the
 * addon's relay threads (native.ts, native/relay.c; `dataPath: 'native'`, the default), the rest
 * by Node sockets (tcp.ts). Scheduling, persistence, thresholds, counters' meaning and timeouts are
 * the same TypeScript code on both; the native path only moves bytes in C (issue #3's short
 * connection target: ~100 µs of CPU per proxied connection there against ~220 µs through Node).
 *
 * Timing (idle timeouts, template expiry, the 2 s rate estimator, lblc expiry, bind retries, the
 * close() deadline) all runs through the injected Clock.
 *
 * Supported: tcp and udp services on one address:port (IPv4 and IPv6); all 13 IPVS schedulers with
 * the sh/mh flags; weights and quiescing; persistence (timeout, IPv4 netmask / IPv6 prefix,
 * templates listed as IPVS entries with client port 0, state NONE; IPVS's default
 * expire_quiescent_template=0 behaviour, switchable per service); -x/-y thresholds; ops (udp);
 * PROXY protocol v1/v2 (tcp); KTCPVS-style L7 rules (tcp, one HTTP request line routes the whole
 * connection, like KTCPVS); IPVS-style counters and 2 s EWMA rates; idle timeouts per IPVS state
 * (ESTABLISHED = timeouts.tcpMs, FIN_WAIT = tcpFinMs, CLOSE_WAIT and SYN_RECV 60 s, UDP = udpMs).
 * Refused with DIR_ERR_ENGINE_UNSUPPORTED (never silently): firewall-mark services and port-0
 * ("all ports") services, which need the kernel to see packets for every port or mark (use the
 * ipvs or nftables engine); the PROXY protocol and L7 rules on udp; ops on tcp.
 * Differences a proxy cannot avoid: the real sees the director as the client unless the PROXY
 * protocol is on; closed connections leave no TIME_WAIT entries, so InActConn counts only
 * connections still connecting or half-closed, plus UDP flows; "packets" are reads (see tcp.ts).
 */
import { systemClock, type Clock, type TimerHandle } from '../../core/clock.js';
import { DirectorError } from '../../core/errors.js';
import { nullLogger, type Logger } from '../../core/logger.js';
import type { ApplyResult, ConnectionEntry, DesiredState, EngineStats, ForwardingEngine } from '../model.js';
import { expiringScheduler } from '../schedulers/index.js';
import { LBLC_CHECK_EXPIRE_INTERVAL_MS } from '../schedulers/lblc.js';
import { ESTIMATOR_INTERVAL_MS } from './counters.js';
import { defaultListenFactory, type ListenFactory } from './listen.js';
import { NativeRelay } from './native.js';
import { ServiceState, validateService } from './service.js';
import { validateForWorkers, WorkerPool } from './workers.js';

export interface EmbeddedEngineOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  /**
   * Worker processes (default 1). With N >= 2 the engine forks N node:cluster workers (SCHED_NONE)
   * that share each listening socket; see workers.ts for what becomes per worker and which services
   * are refused in that mode (udp, persistence, thresholds). One process is the default because
   * it keeps every IPVS semantic exact.
   */
  readonly workers?: number;
  readonly listen?: ListenFactory;
  /** Retrying a bind that failed with EADDRNOTAVAIL (VIP not present yet). */
  readonly bindRetry?: { readonly intervalMs: number; readonly maxAttempts: number };
  /** Reals tried for one client connection before it is reset (first try included). */
  readonly maxConnectAttempts?: number;
  /** Per-connection read buffer for the real->client direction. */
  readonly readBufferSize?: number;
  /**
   * Who moves the bytes of TCP services without L7 rules: 'native' (default) the addon's relay
   * threads (native.ts), 'node' Node sockets (tcp.ts). 'native' falls back to 'node', with one log
   * line, when the addon is not built; L7 services, UDP, a custom `listen` factory and worker
   * processes always use Node.
   */
  readonly dataPath?: 'native' | 'node';
  /** Relay threads of the native data path (default 1; each also takes a share of accept()). */
  readonly relayThreads?: number;
  /**
   * Native data path: bind a VIP the host does not hold yet with IP_FREEBIND instead of retrying
   * (default true). The Node path always retries (bindRetry).
   */
  readonly freebind?: boolean;
}

/** Interval of the idle/template sweep. */
export const SWEEP_INTERVAL_MS = 1000;
/** At most one "no real available" warning per service per this interval (seed-features 4.4: LVS flooded syslog). */
export const NO_REAL_LOG_INTERVAL_MS = 10_000;

export class EmbeddedEngine implements ForwardingEngine {
  readonly kind = 'embedded' as const;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly listen: ListenFactory;
  readonly bindRetry: { readonly intervalMs: number; readonly maxAttempts: number };
  readonly maxConnectAttempts: number;
  readonly freebind: boolean;
  private readonly readBufferSize: number;
  private readonly services = new Map<string, ServiceState>();
  /** Services removed from the desired state whose connections are still finishing. */
  private readonly retired = new Set<ServiceState>();
  private readonly bufferPool: Buffer[] = [];
  private timers: TimerHandle[] = [];
  private started = false;
  closing = false;
  private closePromise: Promise<void> | undefined;
  private drainWaiter: (() => void) | undefined;
  private readonly noRealLogged = new Map<string, number>();
  private readonly dataPath: 'native' | 'node';
  private readonly relayThreads: number;
  private relayState: NativeRelay | 'unavailable' | undefined;

  constructor(options: EmbeddedEngineOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? nullLogger).child({ module: 'engine', engine: 'embedded' });
    this.listen = options.listen ?? defaultListenFactory;
    this.bindRetry = options.bindRetry ?? { intervalMs: 1000, maxAttempts: 3600 };
    this.maxConnectAttempts = Math.max(1, options.maxConnectAttempts ?? 3);
    this.freebind = options.freebind ?? true;
    this.readBufferSize = options.readBufferSize ?? 65536;
    this.dataPath = options.listen !== undefined ? 'node' : (options.dataPath ?? 'native');
    this.relayThreads = Math.max(1, Math.min(8, options.relayThreads ?? 1));
    const workers = options.workers ?? 1;
    if (workers > 1) this.pool = new WorkerPool(workers, this.logger);
  }

  /** The native relay, made on first use; undefined when TCP goes through Node sockets. */
  nativeRelay(): NativeRelay | undefined {
    if (this.dataPath === 'node' || this.closing) return undefined;
    if (this.relayState === 'unavailable') return undefined;
    if (this.relayState !== undefined) return this.relayState;
    const addon = NativeRelay.load();
    if (addon instanceof Error) {
      this.relayState = 'unavailable';
      this.logger.info('native relay unavailable; TCP services use Node sockets', { reason: addon.message });
      return undefined;
    }
    this.relayState = new NativeRelay(addon, this.relayThreads, this.logger);
    return this.relayState;
  }

  /** The native relay if one was made (also while closing, so listeners can still be closed). */
  get relay(): NativeRelay | undefined {
    return this.relayState instanceof NativeRelay ? this.relayState : undefined;
  }

  /** Present in multi-process mode: everything is delegated to the workers. */
  private readonly pool: WorkerPool | undefined;

  async start(): Promise<void> {
    if (this.started) return;
    if (this.closing) throw new DirectorError('DIR_ERR_ENGINE_CLOSED', { operation: 'start()' });
    this.started = true;
    if (this.pool !== undefined) return this.pool.start();
    const sweep = this.clock.setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    const est = this.clock.setInterval(() => this.sampleRates(), ESTIMATOR_INTERVAL_MS);
    const lblc = this.clock.setInterval(() => this.expireSchedulers(), LBLC_CHECK_EXPIRE_INTERVAL_MS);
    this.timers = [sweep.unref(), est.unref(), lblc.unref()];
  }

  async apply(desired: DesiredState): Promise<ApplyResult> {
    if (this.closing) throw new DirectorError('DIR_ERR_ENGINE_CLOSED', { operation: 'apply()' });
    if (!this.started) await this.start();
    if (this.pool !== undefined) return this.applyToWorkers(desired);
    let added = 0;
    let updated = 0;
    let removed = 0;
    const failures: { key: string; error: Error }[] = [];
    const wanted = new Set(desired.services.map((s) => s.key));
    for (const svc of [...this.services.values()]) {
      if (!wanted.has(svc.key)) {
        this.retireService(svc);
        removed++;
      }
    }
    const pending: Promise<void>[] = [];
    const open = (svc: ServiceState): void => {
      pending.push(svc.open().catch((error: unknown) => void failures.push({ key: svc.key, error: error as Error })));
    };
    for (const d of desired.services) {
      try {
        validateService(d);
        let svc = this.services.get(d.key);
        let replaced = false;
        if (svc !== undefined && !svc.sameEndpoint(d)) {
          // A new address/port/protocol under the same key: a new listener (counted as an update).
          this.retireService(svc);
          svc = undefined;
          replaced = true;
        }
        if (svc === undefined) {
          svc = new ServiceState(this, d);
          this.services.set(d.key, svc);
          if (replaced) updated++;
          else added++;
          open(svc);
        } else {
          if (svc.update(d)) updated++;
          // A service whose listener is not bound (failed earlier, or VIP not present) is retried now.
          if (!svc.listening) open(svc);
        }
      } catch (error) {
        failures.push({ key: d.key, error: error as Error });
      }
    }
    await Promise.all(pending);
    for (const f of failures) this.logger.error('apply failed for a service', { service: f.key, error: f.error.message });
    return { added, updated, removed, failures };
  }

  private async applyToWorkers(desired: DesiredState): Promise<ApplyResult> {
    const pool = this.pool as WorkerPool;
    const refused: { key: string; error: Error }[] = [];
    const accepted = desired.services.filter((d) => {
      try {
        validateService(d);
        validateForWorkers(d);
        return true;
      } catch (error) {
        refused.push({ key: d.key, error: error as Error });
        return false;
      }
    });
    const r = await pool.apply({ services: accepted });
    const failures = [...refused, ...r.failures];
    for (const f of failures) this.logger.error('apply failed for a service', { service: f.key, error: f.error.message });
    return { ...r, failures };
  }

  /** Stops the service's listener; its connections finish (or are reset with onRealRemoved=reset). */
  private retireService(svc: ServiceState): void {
    this.services.delete(svc.key);
    svc.stopListening();
    if (svc.desired.onRealRemoved === 'reset') for (const f of [...svc.flows]) f.reset();
    if (svc.flows.size > 0) this.retired.add(svc);
  }

  stats(): EngineStats {
    if (this.pool !== undefined) return this.pool.stats();
    this.relay?.syncCounters();
    return { services: [...this.services.values()].map((s) => s.stats()) };
  }

  connections(): readonly ConnectionEntry[] {
    if (this.pool !== undefined) return this.pool.connections();
    const now = this.clock.now();
    const out: ConnectionEntry[] = [];
    for (const s of this.services.values()) out.push(...s.connections(now));
    for (const s of this.retired) out.push(...s.connections(now));
    return out;
  }

  /** Live flows (TCP connections and UDP flows) across all services, retired ones included. */
  flowCount(): number {
    let n = 0;
    for (const s of this.services.values()) n += s.flows.size;
    for (const s of this.retired) n += s.flows.size;
    return n;
  }

  close(deadlineMs = 10_000): Promise<void> {
    if (this.closePromise !== undefined) return this.closePromise;
    this.closing = true;
    if (this.pool !== undefined) {
      this.closePromise = this.pool.close(deadlineMs);
      return this.closePromise;
    }
    for (const s of this.services.values()) s.stopListening();
    this.closePromise = new Promise<void>((resolve) => {
      const done = (): void => {
        this.drainWaiter = undefined;
        deadline?.cancel();
        this.stopTimers();
        this.relay?.destroy();
        resolve();
      };
      let deadline: TimerHandle | undefined;
      if (this.flowCount() === 0) {
        done();
        return;
      }
      this.drainWaiter = () => {
        if (this.flowCount() === 0) done();
      };
      deadline = this.clock.setTimeout(() => {
        const left = this.flowCount();
        if (left > 0) this.logger.warn('close deadline reached; resetting live connections', { connections: left });
        this.resetAll();
        done();
      }, deadlineMs);
    });
    return this.closePromise;
  }

  destroy(): void {
    this.closing = true;
    this.pool?.destroy();
    for (const s of this.services.values()) s.stopListening();
    this.resetAll();
    this.relay?.destroy();
    this.stopTimers();
    this.closePromise ??= Promise.resolve();
    this.drainWaiter = undefined;
  }

  private resetAll(): void {
    for (const s of [...this.services.values(), ...this.retired]) for (const f of [...s.flows]) f.reset();
  }

  private stopTimers(): void {
    for (const t of this.timers) t.cancel();
    this.timers = [];
  }

  /** Called by flows when they end. */
  flowFinished(): void {
    if (this.retired.size > 0) for (const s of [...this.retired]) if (s.flows.size === 0) this.retired.delete(s);
    this.drainWaiter?.();
  }

  takeBuffer(): Buffer {
    return this.bufferPool.pop() ?? Buffer.allocUnsafe(this.readBufferSize);
  }

  releaseBuffer(buf: Buffer | undefined): void {
    if (buf !== undefined && this.bufferPool.length < 1024) this.bufferPool.push(buf);
  }

  /** Rate-limited "no real available" warning. */
  noRealLog(svc: ServiceState): void {
    const now = this.clock.now();
    const last = this.noRealLogged.get(svc.key);
    if (last !== undefined && now - last < NO_REAL_LOG_INTERVAL_MS) return;
    this.noRealLogged.set(svc.key, now);
    this.logger.warn('no real server available; connection refused', { service: svc.key, refusedSoFar: svc.errors.noRealAvailable });
  }

  private sweep(): void {
    const now = this.clock.now();
    this.relay?.syncActivity(now);
    for (const s of this.services.values()) s.sweep(now);
    for (const s of this.retired) s.sweep(now);
  }

  private sampleRates(): void {
    this.relay?.syncCounters();
    for (const s of this.services.values()) s.sampleRates();
  }

  private expireSchedulers(): void {
    const now = this.clock.now();
    for (const s of this.services.values()) {
      expiringScheduler(s.scheduler)?.expire(now);
      for (const r of s.l7 ?? []) expiringScheduler(r.scheduler)?.expire(now);
    }
  }
}

export function createEmbeddedEngine(options: EmbeddedEngineOptions = {}): EmbeddedEngine {
  return new EmbeddedEngine(options);
}
