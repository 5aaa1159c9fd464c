/**
 * The health monitor: schedules every check, dampens results into up/down, reports transitions.
 *
 * Differences from ldirectord's loop (ldirectord-spec 10.2), on purpose:
 * - Every check group has its own timer; a slow or hung check never stretches anyone else's
 *   interval (ldirectord's sequential loop makes every hang global, spec 15). Each run gets its
 *   own AbortSignal and a hard deadline (timeout + grace) enforced here, so even a checker that
 *   ignores its signal cannot hold its slot for ever.
 * - Identical checks (same real endpoint, same check parameters; the virtual address is not part
 *   of the identity, as in ldirectord's real id, except for external checks, whose arguments
 *   contain it) run once and the result is applied to every (virtual, real) that shares them.
 *   Each (virtual, real) keeps its own counters: ldirectord's shared failcount (one virtual
 *   removing a real after 2 failures, another after 3) is a bug we do not copy.
 * - Fixed-rate scheduling: the next run is due `interval (+ jitter)` after the previous one
 *   started, or at once if the check overran; while a target's state is changing (a soft failure
 *   counted, or a success counted towards rise) the fast interval is used instead, so a dying
 *   server is confirmed quickly (HAProxy fastinter, Envoy edge intervals).
 * - Concurrency is bounded by a semaphore (default 512 checks in flight; 32 for checks that run a
 *   program: external, external-perl, ping) and the first run of each group is spread by its
 *   jitter, so 5,000 targets do not open 5,000 sockets at once.
 *
 * Dampening (ldirectord-spec 10.5 failurecount; HAProxy rise/fall):
 * - up: `failureCount` consecutive failures → down; a success resets the failure count.
 * - down: `riseCount` consecutive successes → up (ldirectord behaves as riseCount 1).
 * - Initial state: CheckConfig.initialState (default 'down': no traffic before the first good
 *   check; the first check runs at start). A target that starts 'down' from the config goes up on
 *   its first success whatever riseCount says (HAProxy init-state down). A state restored by the
 *   director (the `initial` map of setTargets, from its state file) is real knowledge, so normal
 *   dampening applies to it: no flap on restart.
 *
 * Weight/drain changes requested by a result (misc_dynamic exit codes, agent check) are reported
 * as a transition whose `from` equals `to`.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import { DirectorError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { CheckType, HealthStatus } from '../core/types.js';
import type { CheckConfig } from '../config/model.js';
import { createDefaultCheckers } from './checks/index.js';
import type {
  CheckResult,
  CheckTarget,
  Checker,
  HealthListener,
  HealthMonitor,
  HealthResultListener,
  HealthSnapshot,
  HealthTarget,
} from './types.js';

export interface HealthMonitorOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Override or add checkers per type (tests pass fakes; default: the built-in checkers). */
  readonly checkers?: Partial<Record<CheckType, Checker>>;
  /** Maximum checks in flight at once. Default 512. */
  readonly maxConcurrent?: number;
  /** Maximum checks that run a program (external, external-perl, ping) at once. Default 32. */
  readonly maxConcurrentProcesses?: number;
  /** Random source in [0, 1) for jitter; injectable for tests. Default Math.random. */
  readonly random?: () => number;
  /** Extra time past a check's own timeout before the monitor gives up on it. Default 1000 ms. */
  readonly deadlineGraceMs?: number;
}

/** The interval used while a target's state is changing: a quarter of the interval, 1 s..interval. */
export function fastIntervalMs(intervalMs: number): number {
  return Math.min(intervalMs, Math.max(1000, Math.round(intervalMs / 4)));
}

/** Which timeout bounds a check of this type (ldirectord-spec 8: checktimeout vs negotiatetimeout). */
export function checkTimeoutMs(check: CheckConfig): number {
  switch (check.type) {
    case 'negotiate':
    case 'combined':
    case 'ssh':
      return check.negotiateTimeoutMs;
    case 'ping':
      // Each of checkcount attempts may take the whole checktimeout (ldirectord-spec 10.4.2).
      return check.timeoutMs * Math.max(1, check.checkCount);
    default:
      return check.timeoutMs;
  }
}

/**
 * Identity of a check: two targets with the same identity share one run. The virtual address is
 * left out (ldirectord's real id, spec 10.2) except for external checks, which receive it.
 */
export function checkIdentity(target: CheckTarget, check: CheckConfig): string {
  const external = check.type === 'external' || check.type === 'external-perl';
  return JSON.stringify([
    target.address,
    target.port,
    target.family,
    target.virtualProtocol === 'udp' ? 'udp' : 'tcp',
    target.request ?? null,
    target.receive ?? null,
    external ? [target.virtualAddress ?? null, target.virtualPort, target.fwmark ?? null] : null,
    check,
  ]);
}

interface Member {
  readonly key: string;
  readonly health: HealthTarget;
  group: Group;
  status: HealthStatus;
  /** Initial state came from the config, not from a restored state: first result decides 'up'. */
  provisional: boolean;
  consecutiveOk: number;
  consecutiveFail: number;
  lastResult?: CheckResult;
  lastCheckedAt?: number;
  dynamicWeight?: number;
  dynamicWeightPercent?: number;
  drain?: boolean;
}

interface Group {
  readonly identity: string;
  readonly target: CheckTarget;
  readonly check: CheckConfig;
  readonly members: Map<string, Member>;
  timer?: TimerHandle;
  running?: Promise<CheckResult>;
  abort?: AbortController;
  /** Hard deadline of the run in flight. */
  deadline?: TimerHandle;
  lastStartedAt?: number;
  stopped: boolean;
}

/** A counting semaphore; waiters are served in order. */
class Semaphore {
  private active = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** Takes a slot if one is free now (so a due check starts in the same tick as its timer). */
  tryAcquire(): boolean {
    if (this.active >= this.limit) return false;
    this.active++;
    return true;
  }

  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.active--;
  }

  /** Drops queued waiters' claims (used on destroy; their runs see `stopped` and end). */
  releaseAll(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

class Monitor implements HealthMonitor {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly checkers: Partial<Record<CheckType, Checker>>;
  private readonly random: () => number;
  private readonly deadlineGraceMs: number;
  private readonly semaphore: Semaphore;
  private readonly processSemaphore: Semaphore;
  private readonly groups = new Map<string, Group>();
  private readonly members = new Map<string, Member>();
  private readonly listeners = new Set<HealthListener>();
  private readonly resultListeners = new Set<HealthResultListener>();
  private started = false;
  private closed = false;

  constructor(options: HealthMonitorOptions) {
    this.clock = options.clock;
    this.logger = options.logger.child({ module: 'health' });
    this.checkers = { ...createDefaultCheckers(), ...options.checkers };
    this.random = options.random ?? Math.random;
    this.deadlineGraceMs = options.deadlineGraceMs ?? 1000;
    this.semaphore = new Semaphore(Math.max(1, options.maxConcurrent ?? 512));
    this.processSemaphore = new Semaphore(Math.max(1, options.maxConcurrentProcesses ?? 32));
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    for (const group of this.groups.values()) this.scheduleFirst(group);
  }

  setTargets(targets: readonly HealthTarget[], initial?: ReadonlyMap<string, HealthStatus>): void {
    if (this.closed) return;
    const wanted = new Map<string, HealthTarget>();
    for (const t of targets) wanted.set(t.key, t);

    // Removed targets, and targets whose check changed (they move to another group).
    for (const [key, member] of this.members) {
      const next = wanted.get(key);
      if (next && checkIdentity(next.target, next.check) === member.group.identity) continue;
      member.group.members.delete(key);
      this.members.delete(key);
      if (member.group.members.size === 0) this.stopGroup(member.group);
      if (next) {
        // Same key, new check parameters: keep the status (no flap on a check edit), reset counters.
        this.addMember(next, { status: member.status, provisional: false });
      }
    }
    for (const [key, t] of wanted) {
      if (this.members.has(key)) continue;
      const restored = initial?.get(key);
      if (restored === 'up' || restored === 'down') this.addMember(t, { status: restored, provisional: false });
      else this.addMember(t, { status: t.check.initialState, provisional: t.check.initialState === 'down' });
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
    const m = this.members.get(key);
    return m ? toSnapshot(m) : undefined;
  }

  snapshots(): readonly HealthSnapshot[] {
    return [...this.members.values()].map(toSnapshot);
  }

  async checkNow(key: string): Promise<CheckResult> {
    const member = this.members.get(key);
    if (!member) {
      return { ok: false, detail: new DirectorError('DIR_ERR_HEALTH_UNKNOWN_TARGET', { key }).message, durationMs: 0 };
    }
    const group = member.group;
    if (group.running) return group.running;
    return this.runGroup(group);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const running: Promise<CheckResult>[] = [];
    for (const group of this.groups.values()) {
      group.timer?.cancel();
      group.timer = undefined;
      group.stopped = true;
      if (group.running) running.push(group.running);
    }
    // Graceful: let in-flight checks finish (each is bounded by its own deadline).
    await Promise.allSettled(running);
    this.groups.clear();
    this.members.clear();
    this.listeners.clear();
  }

  destroy(): void {
    this.closed = true;
    for (const group of this.groups.values()) this.stopGroup(group);
    this.semaphore.releaseAll();
    this.processSemaphore.releaseAll();
    this.groups.clear();
    this.members.clear();
    this.listeners.clear();
  }

  private addMember(t: HealthTarget, init: { status: HealthStatus; provisional: boolean }): void {
    const identity = checkIdentity(t.target, t.check);
    let group = this.groups.get(identity);
    if (!group) {
      group = { identity, target: t.target, check: t.check, members: new Map(), stopped: false };
      this.groups.set(identity, group);
      if (this.started) this.scheduleFirst(group);
    }
    const member: Member = {
      key: t.key,
      health: t,
      group,
      status: init.status,
      provisional: init.provisional,
      consecutiveOk: 0,
      consecutiveFail: 0,
    };
    group.members.set(t.key, member);
    this.members.set(t.key, member);
  }

  private stopGroup(group: Group): void {
    group.stopped = true;
    group.timer?.cancel();
    group.timer = undefined;
    group.abort?.abort();
    group.deadline?.cancel();
    group.deadline = undefined;
    this.groups.delete(group.identity);
  }

  private jitter(check: CheckConfig): number {
    return check.jitterMs > 0 ? Math.floor(this.random() * check.jitterMs) : 0;
  }

  /** First run: at once, spread by the jitter (traefik PR #13223: never wait a whole interval). */
  private scheduleFirst(group: Group): void {
    this.arm(group, this.jitter(group.check));
  }

  private arm(group: Group, delayMs: number): void {
    if (group.stopped || this.closed) return;
    group.timer?.cancel();
    group.timer = this.clock.setTimeout(() => {
      group.timer = undefined;
      if (group.running) return; // a checkNow is in flight; it reschedules when done
      void this.runGroup(group);
    }, Math.max(0, delayMs));
  }

  private scheduleNext(group: Group): void {
    let changing = false;
    for (const m of group.members.values()) {
      if ((m.status === 'up' && m.consecutiveFail > 0) || (m.status !== 'up' && m.consecutiveOk > 0)) {
        changing = true;
        break;
      }
    }
    const interval = changing ? fastIntervalMs(group.check.intervalMs) : group.check.intervalMs;
    const dueAt = (group.lastStartedAt ?? this.clock.now()) + interval + this.jitter(group.check);
    this.arm(group, dueAt - this.clock.now());
  }

  private runGroup(group: Group): Promise<CheckResult> {
    const run = this.execute(group).then((result) => {
      group.running = undefined;
      if (!group.stopped && !this.closed) {
        this.apply(group, result);
        this.scheduleNext(group);
      }
      return result;
    });
    group.running = run;
    return run;
  }

  /**
   * Runs one check of the group within its semaphore slot and its hard deadline. Written with
   * one Promise and plain callbacks rather than async/await + Promise.race: at thousands of checks
   * per second every Promise, closure and AbortController per check shows in the CPU profile
   * (test/bench/health-bench.ts).
   */
  private execute(group: Group): Promise<CheckResult> {
    // Programs are much heavier than sockets: they get their own, smaller bound.
    const spawns = group.check.type === 'external' || group.check.type === 'external-perl' || group.check.type === 'ping';
    const semaphore = spawns ? this.processSemaphore : this.semaphore;
    if (semaphore.tryAcquire()) return this.executeHolding(group, semaphore);
    return semaphore.acquire().then(() => this.executeHolding(group, semaphore));
  }

  /** execute() once the slot is held; releases it exactly once, when the run ends or its deadline passes. */
  private executeHolding(group: Group, semaphore: Semaphore): Promise<CheckResult> {
    if (group.stopped || this.closed) {
      semaphore.release();
      return Promise.resolve({ ok: false, detail: 'check cancelled', durationMs: 0 });
    }
    const startedAt = this.clock.now();
    group.lastStartedAt = startedAt;
    const checker = this.checkers[group.check.type];
    if (!checker) {
      semaphore.release();
      return Promise.resolve({ ok: false, detail: new DirectorError('DIR_ERR_HEALTH_NO_CHECKER', { type: group.check.type }).message, durationMs: 0 });
    }
    // One AbortController per group, replaced only once it has fired (checkers remove their
    // listeners when they end, so an unfired signal can serve the next run).
    let abort = group.abort;
    if (abort === undefined || abort.signal.aborted) {
      abort = new AbortController();
      group.abort = abort;
    }
    const controller = abort;
    const limitMs = checkTimeoutMs(group.check) + this.deadlineGraceMs;
    return new Promise<CheckResult>((resolve) => {
      let ended = false;
      const end = (result: CheckResult): void => {
        if (ended) return;
        ended = true;
        deadline.cancel();
        if (group.deadline === deadline) group.deadline = undefined;
        semaphore.release();
        resolve(result);
      };
      const deadline = this.clock.setTimeout(() => {
        controller.abort();
        end({ ok: false, detail: `timed out after ${limitMs} ms (check did not end by its deadline)`, durationMs: limitMs });
      }, limitMs);
      group.deadline = deadline;
      const failed = (err: unknown): void =>
        end({ ok: false, detail: `check failed: ${err instanceof Error ? err.message : String(err)}`, durationMs: this.clock.now() - startedAt });
      try {
        checker.run(group.target, group.check, controller.signal).then(end, failed);
      } catch (err) {
        // A checker must not throw from run(); one that does fails its check, nothing more.
        failed(err);
      }
    });
  }

  private apply(group: Group, result: CheckResult): void {
    const now = this.clock.now();
    for (const m of group.members.values()) {
      const from = m.status;
      const prevWeight = m.dynamicWeight;
      const prevPercent = m.dynamicWeightPercent;
      const prevDrain = m.drain;
      m.lastResult = result;
      m.lastCheckedAt = now;
      const check = m.health.check;
      if (result.ok) {
        m.consecutiveOk++;
        m.consecutiveFail = 0;
        if (m.status !== 'up' && (m.provisional || m.consecutiveOk >= Math.max(1, check.riseCount))) m.status = 'up';
        m.dynamicWeight = result.weight;
        m.dynamicWeightPercent = result.weightPercent;
        m.drain = result.drain;
      } else {
        m.consecutiveFail++;
        m.consecutiveOk = 0;
        if (m.status !== 'down' && m.consecutiveFail >= Math.max(1, check.failureCount)) m.status = 'down';
        else if (m.status === 'up') {
          // ldirectord: "Soft failure real server: rip:port (vid) failure n/N".
          this.logger.info('soft failure', { key: m.key, failure: `${m.consecutiveFail}/${check.failureCount}`, detail: result.detail });
        }
        m.dynamicWeight = undefined;
        m.dynamicWeightPercent = undefined;
        m.drain = undefined;
      }
      m.provisional = false;
      if (this.resultListeners.size > 0) {
        const event = { key: m.key, result, at: now };
        for (const l of [...this.resultListeners]) {
          try {
            l(event);
          } catch (err) {
            this.logger.error('health result listener threw', { key: m.key, error: err instanceof Error ? err.message : String(err) });
          }
        }
      }
      const weightChanged = m.status === 'up' && (prevWeight !== m.dynamicWeight || prevPercent !== m.dynamicWeightPercent || prevDrain !== m.drain);
      if (from !== m.status || (from === m.status && weightChanged)) {
        if (from !== m.status) {
          this.logger.info(`health ${from} -> ${m.status}`, { key: m.key, detail: result.detail });
        }
        const transition = { key: m.key, from, to: m.status, result, at: now };
        for (const l of [...this.listeners]) {
          try {
            l(transition);
          } catch (err) {
            this.logger.error('health listener threw', { key: m.key, error: err instanceof Error ? err.message : String(err) });
          }
        }
      }
    }
  }
}

function toSnapshot(m: Member): HealthSnapshot {
  return {
    key: m.key,
    status: m.status,
    consecutiveOk: m.consecutiveOk,
    consecutiveFail: m.consecutiveFail,
    ...(m.lastResult !== undefined ? { lastResult: m.lastResult } : {}),
    ...(m.lastCheckedAt !== undefined ? { lastCheckedAt: m.lastCheckedAt } : {}),
    ...(m.dynamicWeight !== undefined ? { dynamicWeight: m.dynamicWeight } : {}),
    ...(m.dynamicWeightPercent !== undefined ? { dynamicWeightPercent: m.dynamicWeightPercent } : {}),
    ...(m.drain !== undefined ? { drain: m.drain } : {}),
  };
}

/** Creates the health monitor (see the module comment for the scheduling and dampening rules). */
export function createHealthMonitor(options: HealthMonitorOptions): HealthMonitor {
  return new Monitor(options);
}
