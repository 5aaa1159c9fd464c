/**
 * Test doubles for director unit tests: a config builder, an engine that records every applied
 * DesiredState, a health monitor whose transitions the test drives, and a command runner that
 * records argv. These fake pure seams only; integration tests use the real modules.
 */
import type {
  AlertConfig,
  CheckConfig,
  ClusterConfig,
  RealServerConfig,
  VirtualServiceConfig,
} from '../../../src/config/model.js';
import type { SourceLocation } from '../../../src/core/errors.js';
import { parseEndpoint } from '../../../src/core/ip.js';
import type { HealthStatus } from '../../../src/core/types.js';
import type { ApplyResult, ConnectionEntry, DesiredState, EngineStats, ForwardingEngine, RealStats } from '../../../src/engine/model.js';
import type { CheckResult, HealthListener, HealthMonitor, HealthResultListener, HealthSnapshot, HealthTarget } from '../../../src/health/types.js';
import type { CommandOptions, CommandResult, MailMessage, Mailer } from '../../../src/director/types.js';

export const LOC: SourceLocation = { file: 'test.cf', line: 1, column: 1 };

export function check(over: Partial<CheckConfig> = {}): CheckConfig {
  return {
    type: 'connect',
    service: 'http',
    request: '/',
    receive: '',
    httpMethod: 'GET',
    login: '',
    password: 'pw-secret',
    database: '',
    secret: 'radius-secret',
    command: [],
    intervalMs: 1000,
    timeoutMs: 500,
    negotiateTimeoutMs: 500,
    checkCount: 1,
    failureCount: 1,
    riseCount: 1,
    jitterMs: 0,
    tlsVerify: false,
    initialState: 'down',
    ...over,
  };
}

export function alerts(over: Partial<AlertConfig> = {}): AlertConfig {
  return { emailTo: [], emailFrequencyMs: 0, emailStatuses: ['starting', 'running', 'stopping', 'reloading'], ...over };
}

export function real(endpoint: string, over: Partial<RealServerConfig> = {}): RealServerConfig {
  const ep = parseEndpoint(endpoint);
  return {
    key: endpoint,
    location: LOC,
    address: ep.address,
    port: ep.port,
    forward: 'masq',
    weight: 1,
    upperThreshold: 0,
    lowerThreshold: 0,
    ...over,
  };
}

export function virtual(endpoint: string, reals: RealServerConfig[], over: Partial<VirtualServiceConfig> = {}): VirtualServiceConfig {
  const ep = parseEndpoint(endpoint);
  return {
    id: `tcp:${endpoint}`,
    location: LOC,
    protocol: 'tcp',
    family: ep.address.family,
    address: ep.address,
    port: ep.port,
    scheduler: 'wrr',
    schedulerFlags: [],
    ops: false,
    reals,
    check: check(),
    quiescent: true,
    cleanStop: true,
    alerts: alerts(),
    slowStartMs: 0,
    l7Rules: [],
    timeouts: { tcpMs: 900_000, tcpFinMs: 120_000, udpMs: 300_000 },
    onRealRemoved: 'finish',
    ...over,
  };
}

export function fallbackAt(endpoint: string, weight = 1): NonNullable<VirtualServiceConfig['fallback']> {
  const ep = parseEndpoint(endpoint);
  return { address: ep.address, port: ep.port, forward: 'masq', weight, location: LOC };
}

export function cluster(virtuals: VirtualServiceConfig[], over: Partial<ClusterConfig['daemon']> = {}): ClusterConfig {
  return {
    files: ['/etc/ha.d/ldirectord.cf'],
    daemon: {
      engine: 'embedded',
      controlSocket: '/run/directord/test.sock',
      stateFile: '/nonexistent/state.json',
      pidFile: '/run/directord/test.pid',
      log: { kind: 'stdout' },
      logLevel: 'info',
      autoreload: false,
      autoreloadIntervalMs: 10_000,
      supervised: true,
      fork: false,
      readdQuiescent: false,
      execute: [],
      drainDeadlineMs: 60_000,
      schedules: [],
      ...over,
    },
    vrrp: { instances: [], syncGroups: [], scripts: [] },
    virtualServices: virtuals,
  };
}


/** Records every DesiredState handed to apply(); stats() reports the connections a test sets. */
export class RecordingEngine implements ForwardingEngine {
  readonly kind = 'embedded' as const;
  readonly applied: DesiredState[] = [];
  started = false;
  closed = false;
  /** Connection counts per `${serviceKey}/${realKey}`. */
  readonly conns = new Map<string, { active: number; inactive: number }>();
  /** Keys that fail on the next apply. */
  failKeys: string[] = [];
  throwNext: Error | undefined;

  async start(): Promise<void> {
    this.started = true;
  }

  async apply(desired: DesiredState): Promise<ApplyResult> {
    if (this.throwNext) {
      const e = this.throwNext;
      this.throwNext = undefined;
      throw e;
    }
    this.applied.push(structuredClone(desired));
    const failures = this.failKeys.map((key) => ({ key, error: new Error(`cannot program ${key}`) }));
    this.failKeys = [];
    return { added: 0, updated: 0, removed: 0, failures };
  }

  last(): DesiredState {
    const s = this.applied[this.applied.length - 1];
    if (!s) throw new Error('nothing applied yet');
    return s;
  }

  /** weight of a real in the last applied state (undefined = absent). */
  weightOf(serviceKey: string, realKey: string): number | undefined {
    return this.last().services.find((s) => s.key === serviceKey)?.reals.find((r) => r.key === realKey && !r.isFallback)?.weight;
  }

  fallbackIn(serviceKey: string): boolean {
    return this.last().services.find((s) => s.key === serviceKey)?.reals.some((r) => r.isFallback === true) ?? false;
  }

  stats(): EngineStats {
    const last = this.applied[this.applied.length - 1];
    const zero = { conns: 0, inPackets: 0, outPackets: 0, inBytes: 0, outBytes: 0 };
    const rates = { cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };
    return {
      services: (last?.services ?? []).map((s) => ({
        key: s.key,
        protocol: s.protocol,
        family: s.family,
        port: s.port,
        scheduler: s.scheduler,
        schedulerFlags: s.schedulerFlags,
        ops: s.ops,
        counters: zero,
        rates,
        errors: { noRealAvailable: 0, connectFailures: 0 },
        reals: s.reals.map(
          (r): RealStats => ({
            key: r.key,
            address: r.address,
            port: r.port,
            forward: r.forward,
            weight: r.weight,
            upperThreshold: r.upperThreshold,
            lowerThreshold: r.lowerThreshold,
            isFallback: r.isFallback === true,
            activeConns: this.conns.get(`${s.key}/${r.key}`)?.active ?? 0,
            inactiveConns: this.conns.get(`${s.key}/${r.key}`)?.inactive ?? 0,
            persistentConns: 0,
            overloaded: false,
            counters: zero,
            rates,
          }),
        ),
      })),
    };
  }

  connections(): readonly ConnectionEntry[] {
    return [];
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  destroy(): void {
    this.closed = true;
  }
}

/** A health monitor driven by the test. */
export class FakeHealthMonitor implements HealthMonitor {
  targets: readonly HealthTarget[] = [];
  initial: ReadonlyMap<string, HealthStatus> | undefined;
  readonly setTargetsCalls: { keys: string[]; initial: Record<string, HealthStatus> }[] = [];
  private readonly listeners = new Set<HealthListener>();
  private readonly resultListeners = new Set<HealthResultListener>();
  private readonly snaps = new Map<string, HealthSnapshot>();
  started = false;
  closed = false;
  checkNowCalls: string[] = [];

  constructor(private readonly now: () => number = () => 0) {}

  start(): void {
    this.started = true;
  }

  setTargets(targets: readonly HealthTarget[], initial?: ReadonlyMap<string, HealthStatus>): void {
    this.targets = targets;
    this.initial = initial;
    this.setTargetsCalls.push({ keys: targets.map((t) => t.key), initial: Object.fromEntries(initial ?? []) });
    const keep = new Set(targets.map((t) => t.key));
    for (const k of [...this.snaps.keys()]) if (!keep.has(k)) this.snaps.delete(k);
    for (const t of targets) {
      if (!this.snaps.has(t.key)) this.snaps.set(t.key, { key: t.key, status: initial?.get(t.key) ?? 'unknown', consecutiveOk: 0, consecutiveFail: 0 });
    }
  }

  onTransition(listener: HealthListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onResult(listener: HealthResultListener): () => void {
    this.resultListeners.add(listener);
    return () => this.resultListeners.delete(listener);
  }

  snapshot(key: string): HealthSnapshot | undefined {
    return this.snaps.get(key);
  }

  snapshots(): readonly HealthSnapshot[] {
    return [...this.snaps.values()];
  }

  async checkNow(key: string): Promise<CheckResult> {
    this.checkNowCalls.push(key);
    return { ok: true, detail: 'fake ok', durationMs: 1 };
  }

  /** Drives a transition of one target. */
  set(key: string, to: HealthStatus, result: Partial<CheckResult> = {}): void {
    if (!this.snaps.has(key)) throw new Error(`unknown target ${key}`);
    const prev = this.snaps.get(key) as HealthSnapshot;
    const r: CheckResult = { ok: to === 'up', detail: to === 'up' ? 'HTTP 200' : 'connect ECONNREFUSED', durationMs: 2, ...result };
    const snap: HealthSnapshot = {
      ...prev,
      status: to,
      lastResult: r,
      lastCheckedAt: this.now(),
      ...(r.weight !== undefined ? { dynamicWeight: r.weight } : {}),
      ...(r.weightPercent !== undefined ? { dynamicWeightPercent: r.weightPercent } : {}),
      ...(r.drain !== undefined ? { drain: r.drain } : {}),
    };
    this.snaps.set(key, snap);
    for (const l of this.resultListeners) l({ key, result: r, at: this.now() });
    if (prev.status !== to) for (const l of this.listeners) l({ key, from: prev.status, to, result: r, at: this.now() });
  }

  /** Emits a raw transition (e.g. from === to, as the real monitor does for a weight change). */
  emit(t: Parameters<HealthListener>[0]): void {
    for (const l of this.listeners) l(t);
  }

  /** Updates a snapshot without a transition (dynamic weight / agent drain). */
  result(key: string, r: CheckResult): void {
    const prev = this.snaps.get(key);
    if (!prev) throw new Error(`unknown target ${key}`);
    const { dynamicWeight: _dw, dynamicWeightPercent: _dp, drain: _dr, ...rest } = prev;
    void _dw;
    void _dp;
    void _dr;
    this.snaps.set(key, {
      ...rest,
      lastResult: r,
      lastCheckedAt: this.now(),
      ...(r.weight !== undefined ? { dynamicWeight: r.weight } : {}),
      ...(r.weightPercent !== undefined ? { dynamicWeightPercent: r.weightPercent } : {}),
      ...(r.drain !== undefined ? { drain: r.drain } : {}),
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  destroy(): void {
    this.closed = true;
  }
}

/** Records commands; each resolves with exit 0 unless `exitCode` is set. */
export class RecordingRunner {
  readonly calls: { argv: string[]; options: CommandOptions }[] = [];
  exitCode = 0;
  readonly run = async (argv: readonly string[], options: CommandOptions): Promise<CommandResult> => {
    this.calls.push({ argv: [...argv], options });
    return { exitCode: this.exitCode, signal: null, stdout: '', stderr: this.exitCode === 0 ? '' : 'failed', timedOut: false, truncated: false, durationMs: 1 };
  };
}

/** Records mails. */
export class RecordingMailer implements Mailer {
  readonly sent: MailMessage[] = [];
  async send(message: MailMessage): Promise<void> {
    this.sent.push(message);
  }
  subjects(): string[] {
    return this.sent.map((m) => m.subject);
  }
}
