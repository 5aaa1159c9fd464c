/**
 * The director: the brain that combines config, health transitions, operator overrides,
 * maintenance markers and the VRRP role into the engine's desired state (ARCHITECTURE.md).
 *
 * One rule set, one place: every change (a transition, an admin action, a maintenance file, a
 * slow-start step, a reload) marks the state dirty, and the apply loop recomputes the whole
 * DesiredState from scratch (src/director/plan.ts) and hands it to the engine in one apply().
 * Applies never overlap; bursts coalesce into one. Log lines, e-mail alerts and fallbackcommand
 * runs are derived from the difference between consecutive planned states, so what is reported
 * is exactly what was applied.
 *
 * ldirectord behaviours kept (ldirectord-spec 10.x) and the deliberate differences:
 * - quiescent, readdquiescent, fallback, fallbackcommand start/stop, cleanstop, maintenancedir,
 *   emailalert* and monitorfile follow 10.5-10.9.
 * - No start-up flap: ldirectord (readdquiescent=no) adds every real at full weight and then
 *   removes it again before the first check (10.1 step 4); here a real starts in its last known
 *   state (state file) or its configured initial state, and the fallback is installed at once.
 * - Reals shared by several virtuals are tracked per (virtual, real) pair, so failure counting is
 *   not skewed the way ldirectord's shared counter is (10.2).
 * - A failed item of an apply is logged and shown in status; it never stops the daemon.
 */
import type { ClusterConfig, RealServerConfig, VirtualServiceConfig } from '../config/model.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { DirectorError } from '../core/errors.js';
import { formatEndpoint, formatHost, parseEndpoint } from '../core/ip.js';
import type { Logger } from '../core/logger.js';
import type { HealthStatus, VrrpState } from '../core/types.js';
import type { ConnectionEntry, Counters, DesiredState, EngineStats, ForwardingEngine } from '../engine/model.js';
import type { CheckResult, HealthMonitor, HealthResultEvent, HealthTarget, HealthTransition } from '../health/types.js';
import { runCommand as systemRunCommand } from '../sys/exec.js';
import type { VrrpController, VrrpStateChange } from '../vrrp/types.js';
import { Alerter, type AlertVirtual } from './alerts.js';
import { MaintenanceDir, systemReverseLookup, type MaintenanceProbe } from './maintenance.js';
import { SendmailMailer, SmtpMailer } from './mailer.js';
import { MonitorFileWriter, monitorLine, monitorLogs, monitorRealId } from './monitor-file.js';
import { fallbackKey, isServiceable, pairKey, planVirtual, virtualLabel, type PairInput, type VirtualPlan } from './plan.js';
import {
  effectiveConfig,
  emptyOverlay,
  foldCommand,
  overlayIsEmpty,
  pruneOverlay,
  type PairOp,
  type RuntimeEditCommand,
  type RuntimeOverlay,
} from './runtime-edits.js';
import { loadStateFile, saveStateFile, STATE_FILE_VERSION, type DirectorStateData, type PairRecord } from './state-file.js';
import type { DirectorReadApi, DirectorStatus, LastCheck, RealOverride, RealStatus, RuntimeEditMark, VirtualStatus } from './status.js';
import type { DaemonPhase, DrainHandle, DrainOutcome, DrainProgress, Mailer, RealSelector, ReverseLookup, RunCommand } from './types.js';

/** Everything a Director is built from. */
export interface DirectorOptions {
  readonly config: ClusterConfig;
  readonly engine: ForwardingEngine;
  readonly health: HealthMonitor;
  readonly vrrp?: VrrpController;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Runs fallbackcommand / quorum commands / sendmail without a shell (default src/sys/exec.ts). */
  readonly runCommand?: RunCommand;
  /** Where health and overrides are persisted; undefined = not persisted (the daemon passes config.daemon.stateFile). */
  readonly stateFile?: string;
  /** Alert transport for every virtual; default: SMTP to smtp= when set, else sendmail. */
  readonly mailer?: Mailer;
  /** Overrides config.daemon.maintenanceDir; null turns it off. */
  readonly maintenanceDir?: string | null;
  /**
   * Reverse lookup for maintenancedir FQDN markers (default getnameinfo, as ldirectord; only
   * called when the directory holds a marker that is not an IP name; cached). null = IP names only.
   */
  readonly reverseLookup?: ReverseLookup | null;
  /** Housekeeping period (maintenance poll, reminders, dynamic weights, monitorfile); default min checkinterval, 0.1 s..10 s. */
  readonly tickMs?: number;
  /** How often a drain samples the engine's connection counts (default 1 s). */
  readonly drainPollMs?: number;
  /** Timeout of fallbackcommand and quorum commands (default 30 s). */
  readonly commandTimeoutMs?: number;
  /**
   * When true (default) the director starts and closes the engine and the health monitor; the
   * daemon passes false when it sequences them itself.
   */
  readonly manageLifecycle?: boolean;
  /** Global e-mail cap (default 60 per 10 minutes). */
  readonly mailCap?: { readonly max: number; readonly windowMs: number };
  /** Transitions kept per real in status (default 20). */
  readonly historyLimit?: number;
  /** How long the daemon stays "starting" for emailalertstatus if some reals are still unchecked. */
  readonly startupWindowMs?: number;
}

/** Per (virtual, real) state. */
interface PairState {
  readonly key: string;
  virtualId: string;
  realKey: string;
  real: RealServerConfig;
  health: HealthStatus;
  /** The health was observed (a transition, a check, or the state file), not assumed from initialState. */
  healthKnown: boolean;
  override?: RealOverride;
  maintenanceFile?: string;
  rampStartedAt?: number;
  inEngine: boolean;
  wasServiceable: boolean;
  /** Health at the previous plan: a first result after start (from 'unknown') is no recovery. */
  plannedHealth: HealthStatus;
  lastCheck?: LastCheck;
  history: { at: number; status: HealthStatus; detail: string }[];
  lastMonitorAt?: number;
  /** Dynamic weight / agent drain the last plan used (results change them without a transition). */
  plannedDynamic?: string;
}

/** Per virtual state. */
interface VirtualRuntime {
  vs: VirtualServiceConfig;
  quorumUp: boolean;
  fallbackCommand?: 'start' | 'stop';
  plan?: VirtualPlan;
  engineErrors: string[];
  commandChain: Promise<void>;
}

interface DrainTracker {
  readonly pairKeys: readonly string[];
  readonly deadlineAt: number;
  readonly by: string;
  timer?: TimerHandle;
  finished: boolean;
  last: DrainProgress;
  readonly listeners: Set<(p: DrainProgress | undefined) => void>;
  resolve: (o: DrainOutcome) => void;
  readonly done: Promise<DrainOutcome>;
}

const ROLE_RANK: Readonly<Record<VrrpState, number>> = { MASTER: 3, BACKUP: 2, FAULT: 1, INIT: 0 };

/** The director. */
/** Outcome of a batch of runtime edits: all applied, or none (the index of the refused one). */
export type RuntimeEditResult = { readonly ok: true; readonly applied: number } | { readonly ok: false; readonly index: number; readonly error: DirectorError };

export class Director implements DirectorReadApi {
  /** The effective table: the config file's services with the runtime overlay on top. */
  private config: ClusterConfig;
  /** The config as loaded from the file (start or the last reload). */
  private baseConfig: ClusterConfig;
  private overlay: RuntimeOverlay = emptyOverlay();
  /** -Z: engine counters at the last zeroing, per service key and per `<service>/<real>` (the engine has no zeroCounters()). */
  private readonly counterBaseline = new Map<string, Counters>();
  private tableChain: Promise<void> = Promise.resolve();
  private readonly engine: ForwardingEngine;
  private readonly health: HealthMonitor;
  private readonly vrrp: VrrpController | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly runCommand: RunCommand;
  private readonly manageLifecycle: boolean;
  private readonly historyLimit: number;

  private readonly pairs = new Map<string, PairState>();
  private readonly virtuals = new Map<string, VirtualRuntime>();
  private readonly drains = new Set<DrainTracker>();
  private readonly alerter: Alerter;
  private readonly monitorWriter: MonitorFileWriter;
  private maintenance: MaintenanceDir | undefined;
  private phase: DaemonPhase | 'created' | 'closed' = 'created';
  private startedAt = 0;
  private startedAtMono = 0;
  private reloads = { ok: 0, failed: 0, lastError: undefined as string | undefined };
  private role: VrrpState | undefined;

  private dirty = false;
  private applyLoop: Promise<void> | undefined;
  private lastApplied: DesiredState | undefined;
  private lastApplyFailed = false;
  /** Apply even an unchanged state once (a VRRP instance became MASTER: listeners to re-bind). */
  private forceApply = false;
  private readonly unsubscribe: (() => void)[] = [];
  private tickTimer: TimerHandle | undefined;
  private rampTimer: TimerHandle | undefined;
  private saving: Promise<void> | undefined;
  private saveAgain = false;
  private scanning: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private destroyed = false;
  /** The health monitor reports every result (onResult): monitorfile lines are written from it. */
  private resultDriven = false;
  private applies = 0;
  private startDone = false;

  constructor(private readonly options: DirectorOptions) {
    this.config = options.config;
    this.baseConfig = options.config;
    this.engine = options.engine;
    this.health = options.health;
    this.vrrp = options.vrrp;
    this.clock = options.clock;
    this.log = options.logger.child({ module: 'director' });
    this.runCommand = options.runCommand ?? systemRunCommand;
    this.manageLifecycle = options.manageLifecycle ?? true;
    this.historyLimit = options.historyLimit ?? 20;
    const mailers = new Map<string, Mailer>();
    this.alerter = new Alerter({
      clock: this.clock,
      logger: this.log,
      phase: () => (this.phase === 'created' ? 'starting' : this.phase === 'closed' ? 'stopping' : this.phase),
      ...(options.mailCap ? { cap: options.mailCap } : {}),
      from: () => this.config.daemon.emailAlertFrom,
      mailerFor: (alerts) => {
        if (options.mailer) return options.mailer;
        const key = alerts.smtpHost ?? '(sendmail)';
        let m = mailers.get(key);
        if (!m) {
          m = alerts.smtpHost
            ? new SmtpMailer({ server: alerts.smtpHost, clock: this.clock })
            : new SendmailMailer({ runCommand: this.runCommand, clock: this.clock });
          mailers.set(key, m);
        }
        return m;
      },
    });
    this.monitorWriter = new MonitorFileWriter((path, err) => this.log.error('monitorfile write failed', { path, error: err.message }));
  }

  // ---------------------------------------------------------------- lifecycle

  /** Restores the state file, hands the targets to the health monitor, applies the first state. */
  async start(): Promise<void> {
    if (this.phase !== 'created') return;
    this.phase = 'starting';
    this.startedAt = this.clock.wallNow();
    this.startedAtMono = this.clock.now();
    let restored: DirectorStateData | undefined;
    if (this.options.stateFile) {
      const loaded = await loadStateFile(this.options.stateFile);
      if (loaded.problem) {
        this.log.warn('state file unreadable, starting clean', { path: this.options.stateFile, problem: loaded.problem });
      } else if (loaded.missing) {
        this.log.info('no state file yet, starting clean', { path: this.options.stateFile });
      } else {
        restored = loaded.state;
        this.log.info('state restored', { path: this.options.stateFile, pairs: Object.keys(loaded.state.pairs).length, savedAt: loaded.state.savedAt });
      }
    }
    if (restored?.runtime) {
      const { overlay, dropped } = pruneOverlay(this.baseConfig, restored.runtime);
      for (const d of dropped) this.log.warn(`runtime edit dropped: ${d}`, { audit: true });
      this.overlay = overlay;
      this.config = effectiveConfig(this.baseConfig, overlay);
      if (!overlayIsEmpty(overlay)) this.log.info('runtime edits restored (directorctl -C drops them)', { services: Object.keys(overlay.addedServices), reals: Object.keys(overlay.addedReals) });
    }
    this.installConfig(this.config, restored);
    this.unsubscribe.push(this.health.onTransition((t) => this.onTransition(t)));
    // monitorfile: a line per check outcome, as each result arrives (a monitor without onResult
    // is polled on the tick instead, which can miss fast re-checks between two ticks).
    const offResult = this.health.onResult?.((e) => this.onResult(e));
    if (offResult !== undefined) {
      this.resultDriven = true;
      this.unsubscribe.push(offResult);
    }
    if (this.vrrp) {
      this.unsubscribe.push(this.vrrp.onStateChange((c) => this.onVrrpChange(c)));
      this.role = this.computeRole();
    }
    if (this.manageLifecycle) await this.engine.start();
    this.health.setTargets(this.healthTargets(), this.initialHealth());
    for (const vs of this.config.virtualServices) this.log.info(`Added virtual server: ${virtualLabel(vs)}`, { virtual: vs.id });
    // Markers first: a real restored 'up' but in maintenance must not get traffic even briefly.
    await this.scanMaintenance();
    await this.applyNow();
    if (this.manageLifecycle) this.health.start();
    this.restartTick();
    for (const pair of this.pairs.values()) {
      if (pair.override?.kind === 'drain') this.trackDrain([pair.key], pair.override.deadlineAt, pair.override.by);
    }
    await this.settled();
    this.startDone = true;
    this.maybeRunning();
  }

  /**
   * Applies a new config. Health state and overrides of (virtual, real) pairs present in both
   * survive; new pairs start per their initialState; removed pairs are purged. One engine apply.
   */
  reload(next: ClusterConfig): Promise<void> {
    return this.serialTable(() => this.doReload(next));
  }

  /** Reloads and runtime edits both rebuild the table: one at a time, in arrival order. */
  private serialTable<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tableChain.then(fn);
    this.tableChain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async doReload(next: ClusterConfig): Promise<void> {
    this.assertRunning('reload');
    const previous = this.phase;
    this.phase = 'reloading';
    try {
      // Runtime edits survive a reload (runtime-edits.ts); the ones the new config made moot go.
      const { overlay, dropped } = pruneOverlay(next, this.overlay);
      for (const d of dropped) this.log.info(`runtime edit dropped at reload: ${d}`, { audit: true });
      this.baseConfig = next;
      this.overlay = overlay;
      await this.installTable(effectiveConfig(next, overlay));
      this.reloads.ok++;
    } catch (err) {
      this.reloads.failed++;
      this.reloads.lastError = (err as Error).message;
      this.log.error('reload failed', { error: (err as Error).message });
      throw err;
    } finally {
      if (this.phase === 'reloading') this.phase = previous === 'starting' ? 'starting' : 'running';
    }
  }

  /** Installs a new effective table: pairs of both keep health and overrides; one engine apply. */
  private async installTable(next: ClusterConfig): Promise<void> {
    {
      const oldVirtuals = new Map(this.virtuals);
      const nextPairKeys = new Set(next.virtualServices.flatMap((vs) => vs.reals.map((r) => pairKey(vs.id, r.key))));
      // Purge removed pairs (ldirectord "Purged real server (start)", 10.1 step 3).
      for (const pair of [...this.pairs.values()]) {
        if (nextPairKeys.has(pair.key)) continue;
        const rt = oldVirtuals.get(pair.virtualId);
        const planned = rt?.plan?.reals.find((r) => r.realKey === pair.realKey);
        if (rt && planned?.engineWeight !== undefined) {
          this.event(rt.vs, `Purged real server (start): ${pair.realKey} (${virtualLabel(rt.vs)})`, { realKey: pair.realKey, kind: 'restored' });
        }
        this.cancelDrainsOf(pair.key);
        this.pairs.delete(pair.key);
        // Drop it from the previous plan too, so the next diff does not also report "Deleted".
        if (rt?.plan) {
          const plan = rt.plan;
          rt.plan = { ...plan, reals: plan.reals.filter((r) => r.realKey !== pair.realKey), service: { ...plan.service, reals: plan.service.reals.filter((r) => r.key !== pair.realKey) } };
        }
      }
      const nextIds = new Set(next.virtualServices.map((v) => v.id));
      for (const [id, rt] of oldVirtuals) {
        if (!nextIds.has(id)) this.log.info(`Purged virtual server (start): ${virtualLabel(rt.vs)}`, { virtual: id });
      }
      for (const vs of next.virtualServices) {
        this.log.info(`${oldVirtuals.has(vs.id) ? 'Changed' : 'Added'} virtual server: ${virtualLabel(vs)}`, { virtual: vs.id });
      }
      this.config = next;
      this.installConfig(next, undefined);
      this.alerter.retain(new Set(this.pairs.keys()));
      this.health.setTargets(this.healthTargets(), this.initialHealth());
      await this.scanMaintenance();
      await this.applyNow();
      this.restartTick();
      this.scheduleSave();
    }
  }

  // ---------------------------------------------------------------- runtime edits (ipvsadm-style)

  /**
   * Applies ipvsadm-style edits (directorctl -A/-E/-D/-a/-e/-d/-C/-Z/--set, -R) all or nothing:
   * every command is validated against the table as the previous ones left it, then the result
   * is installed in one engine apply; on the first refusal nothing changes (unlike ipvsadm -R,
   * which leaves a half-restored table). Rules and their reasons: src/director/runtime-edits.ts.
   */
  runtimeEdit(commands: readonly RuntimeEditCommand[], by = 'unknown'): Promise<RuntimeEditResult> {
    this.assertRunning('edit the table');
    return this.serialTable(() => this.doRuntimeEdit(commands, by));
  }

  private async doRuntimeEdit(commands: readonly RuntimeEditCommand[], by: string): Promise<RuntimeEditResult> {
    this.assertRunning('edit the table');
    const now = this.clock.wallNow();
    const stamp = { by, since: now };
    let overlay = this.overlay;
    let clear = false;
    const zero: (string | undefined)[] = [];
    const pairOps: PairOp[] = [];
    const restoring = commands.length > 1;
    for (const [index, cmd] of commands.entries()) {
      try {
        if (cmd.op === 'clear') {
          overlay = emptyOverlay();
          clear = true;
          pairOps.length = 0;
          continue;
        }
        if (cmd.op === 'zero') {
          const id = cmd.service ? effectiveConfig(this.baseConfig, overlay).virtualServices.find((v) => v.id === serviceRefId(cmd.service as NonNullable<typeof cmd.service>))?.id : undefined;
          if (cmd.service && id === undefined) throw new DirectorError('DIR_ERR_CONTROL_NO_SUCH_SERVICE', { service: serviceRefId(cmd.service) });
          zero.push(id);
          continue;
        }
        const disabled = (virtualId: string, realKey: string): boolean => {
          const pending = [...pairOps].reverse().find((p) => p.virtualId === virtualId && p.realKey === realKey && p.kind !== 'weight');
          if (pending) return pending.kind === 'disable';
          if (clear) return false;
          return this.pairs.get(pairKey(virtualId, realKey))?.override?.kind === 'disabled';
        };
        const r = foldCommand(this.baseConfig, overlay, cmd, stamp, restoring, disabled);
        overlay = r.overlay;
        pairOps.push(...r.pairOps);
      } catch (err) {
        const error = err instanceof DirectorError ? err : new DirectorError('DIR_ERR_DIRECTOR_UNAVAILABLE', { reason: (err as Error).message }, { cause: err });
        this.log.warn('admin: runtime edit refused, nothing changed', { audit: true, by, index, command: cmd, code: error.code, error: error.message });
        return { ok: false, index, error };
      }
    }
    for (const cmd of commands) this.log.info(`admin: ipvsadm ${describeEdit(cmd)}`, { audit: true, by, command: cmd });
    if (clear) {
      // -C: back to exactly what the config and the checks say (runtime-edits.ts explains why the configured services stay).
      for (const p of this.pairs.values()) {
        this.cancelDrainsOf(p.key);
        delete p.override;
      }
    }
    const changedTable = overlay !== this.overlay;
    this.overlay = overlay;
    if (changedTable) await this.installTable(effectiveConfig(this.baseConfig, overlay));
    for (const op of pairOps) {
      const p = this.pairs.get(pairKey(op.virtualId, op.realKey));
      if (!p) continue;
      this.cancelDrainsOf(p.key);
      if (op.kind === 'enable') delete p.override;
      else if (op.kind === 'disable') p.override = { kind: 'disabled', since: now, by };
      else if (op.kind === 'weight') p.override = { kind: 'weight', weight: op.weight, since: now, by };
    }
    for (const id of zero) this.zeroCounters(id);
    this.changed();
    await this.settled();
    return { ok: true, applied: commands.length };
  }

  /** The effective table (config + runtime edits), e.g. for timeouts and L7 rules. */
  currentConfig(): ClusterConfig {
    return this.config;
  }

  /** The runtime edits in force (state file, status). */
  runtimeOverlay(): RuntimeOverlay {
    return this.overlay;
  }

  /** -Z: remember the engine's counters now; engineStats() reports the difference. */
  private zeroCounters(serviceId: string | undefined): void {
    let stats: EngineStats;
    try {
      stats = this.engine.stats();
    } catch {
      return;
    }
    for (const s of stats.services) {
      if (serviceId !== undefined && s.key !== serviceId) continue;
      this.counterBaseline.set(s.key, s.counters);
      for (const r of s.reals) this.counterBaseline.set(`${s.key}/${r.key}`, r.counters);
    }
  }

  /** Records a reload the daemon could not even hand over (config error): counted, old config kept. */
  recordReloadFailure(error: Error): void {
    this.reloads.failed++;
    this.reloads.lastError = error.message;
  }

  /**
   * Graceful stop (ldirectord-spec 10.7): virtuals with cleanstop=yes are removed from the engine
   * (their up reals purged one by one in the log), cleanstop=no ones are left exactly as they are.
   * fallbackcommand is not run. Idempotent.
   */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.phase === 'created' || this.phase === 'closed') {
      this.phase = 'closed';
      return;
    }
    this.phase = 'stopping';
    this.stopTimers();
    for (const d of [...this.drains]) this.finishDrain(d, 'cancelled');
    for (const u of this.unsubscribe.splice(0)) u();
    await this.settled();
    const kept: DesiredState['services'][number][] = [];
    for (const rt of this.virtuals.values()) {
      if (!rt.plan) continue;
      if (!rt.vs.cleanStop) {
        kept.push(rt.plan.service);
        continue;
      }
      for (const r of rt.plan.reals) {
        if (r.engineWeight !== undefined && r.engineWeight > 0) this.event(rt.vs, `Purged real server (stop): ${r.realKey} (${virtualLabel(rt.vs)})`);
      }
      this.log.info(`Purged virtual server (stop): ${virtualLabel(rt.vs)}`, { virtual: rt.vs.id });
    }
    try {
      const result = await this.engine.apply({ services: kept });
      for (const f of result.failures) this.log.error('engine apply item failed at stop', { key: f.key, error: f.error.message });
    } catch (err) {
      this.log.error('engine apply failed at stop', { error: (err as Error).message });
    }
    await this.flushSave();
    await Promise.all([...this.virtuals.values()].map((rt) => rt.commandChain));
    await this.boundedFlush();
    if (this.manageLifecycle) {
      await this.health.close().catch((err: unknown) => this.log.error('health monitor close failed', { error: (err as Error).message }));
      await this.engine.close(this.config.daemon.drainDeadlineMs).catch((err: unknown) => this.log.error('engine close failed', { error: (err as Error).message }));
    }
    this.phase = 'closed';
  }

  /** Stops everything now, without the cleanstop apply. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.stopTimers();
    for (const d of [...this.drains]) this.finishDrain(d, 'cancelled');
    for (const u of this.unsubscribe.splice(0)) u();
    if (this.manageLifecycle) {
      this.health.destroy();
      this.engine.destroy();
    }
    this.phase = 'closed';
  }

  /** Resolves once no apply, maintenance scan, state write or command is pending (for tests and the daemon). */
  async settled(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const waits: Promise<unknown>[] = [];
      if (this.applyLoop) waits.push(this.applyLoop);
      if (this.scanning) waits.push(this.scanning);
      if (this.saving) waits.push(this.saving);
      for (const rt of this.virtuals.values()) waits.push(rt.commandChain);
      await Promise.all(waits);
      await this.alerter.flush();
      await this.monitorWriter.flush();
      if (!this.applyLoop && !this.scanning && !this.saving && !this.dirty) return;
    }
  }

  // ---------------------------------------------------------------- read API

  status(): DirectorStatus {
    const virtuals: VirtualStatus[] = this.config.virtualServices.map((vs) => {
      const rt = this.virtuals.get(vs.id);
      const plannedByKey = new Map((rt?.plan?.reals ?? []).map((r) => [r.realKey, r] as const));
      const reals: RealStatus[] = vs.reals.map((real) => {
        const pair = this.pairs.get(pairKey(vs.id, real.key));
        const planned = plannedByKey.get(real.key);
        const snap = pair ? this.health.snapshot(pair.key) : undefined;
        // The latest check (the monitor's snapshot), else the last transition or the restored one.
        const lastCheck: LastCheck | undefined =
          snap?.lastResult && snap.lastCheckedAt !== undefined
            ? { ok: snap.lastResult.ok, detail: snap.lastResult.detail, durationMs: snap.lastResult.durationMs, at: this.toWall(snap.lastCheckedAt) }
            : pair?.lastCheck;
        const rampUntil = pair?.rampStartedAt !== undefined && planned?.ramping ? this.toWall(pair.rampStartedAt + vs.slowStartMs) : undefined;
        return {
          virtualId: vs.id,
          key: real.key,
          address: real.address.text,
          port: real.port,
          forward: real.forward,
          configuredWeight: real.weight,
          ...(planned?.engineWeight !== undefined ? { engineWeight: planned.engineWeight } : {}),
          health: pair?.health ?? 'unknown',
          ...(pair?.override ? { override: pair.override } : {}),
          maintenance: pair?.maintenanceFile !== undefined,
          ...(pair?.maintenanceFile !== undefined ? { maintenanceFile: pair.maintenanceFile } : {}),
          ...(lastCheck ? { lastCheck } : {}),
          ...(rampUntil !== undefined ? { slowStartUntil: rampUntil } : {}),
          ...(snap?.dynamicWeight !== undefined ? { checkWeight: snap.dynamicWeight } : {}),
          ...(snap?.dynamicWeightPercent !== undefined ? { checkWeightPercent: snap.dynamicWeightPercent } : {}),
          ...(snap?.drain === true ? { agentDrain: true } : {}),
          ...this.realMark(vs.id, real.key),
          history: pair ? pair.history.map((h) => ({ ...h })) : [],
        };
      });
      return {
        id: vs.id,
        protocol: vs.protocol,
        family: vs.family,
        ...(vs.address ? { address: vs.address.text } : {}),
        port: vs.port,
        ...(vs.fwmark !== undefined ? { fwmark: vs.fwmark } : {}),
        scheduler: vs.scheduler,
        fallbackActive: rt?.plan?.fallbackActive ?? false,
        quorumUp: rt?.plan?.quorumUp ?? true,
        ...(rt?.plan ? { liveWeightSum: rt.plan.liveWeightSum } : {}),
        ...(rt && rt.engineErrors.length > 0 ? { engineErrors: [...rt.engineErrors] } : {}),
        ...this.virtualMark(vs.id),
        reals,
      };
    });
    return {
      startedAt: this.startedAt,
      configFiles: [...this.config.files],
      ...(this.role !== undefined ? { role: this.role } : {}),
      vrrp: this.vrrp ? this.vrrp.status() : [],
      virtuals,
      reloads: { ok: this.reloads.ok, failed: this.reloads.failed, ...(this.reloads.lastError !== undefined ? { lastError: this.reloads.lastError } : {}) },
      phase: this.phase,
      alerts: { ...this.alerter.counters },
      ...(overlayIsEmpty(this.overlay)
        ? {}
        : {
            runtimeEdits: {
              deletedServices: Object.entries(this.overlay.deletedServices).map(([id, st]) => ({ id, by: st.by, since: st.since })),
              ...(this.overlay.timeouts ? { timeouts: { ...this.overlay.timeouts } } : {}),
            },
          }),
    };
  }

  private virtualMark(id: string): { runtime?: RuntimeEditMark } {
    const added = this.overlay.addedServices[id];
    if (added) return { runtime: { kind: 'added', by: added.by, since: added.since } };
    const edited = this.overlay.serviceEdits[id];
    return edited ? { runtime: { kind: 'edited', by: edited.by, since: edited.since } } : {};
  }

  private realMark(virtualId: string, realKey: string): { runtime?: RuntimeEditMark } {
    const k = pairKey(virtualId, realKey);
    const added = this.overlay.addedReals[k];
    if (added) return { runtime: { kind: 'added', by: added.by, since: added.since } };
    const edited = this.overlay.realEdits[k];
    return edited ? { runtime: { kind: 'edited', by: edited.by, since: edited.since } } : {};
  }

  /** The engine's statistics, with counters relative to the last -Z (see zeroCounters). */
  engineStats(): EngineStats {
    const stats = this.engine.stats();
    if (this.counterBaseline.size === 0) return stats;
    const sub = (c: Counters, key: string): Counters => {
      const b = this.counterBaseline.get(key);
      // A counter below its baseline means the engine restarted the service: count from there.
      if (!b || c.conns < b.conns || c.inPackets < b.inPackets || c.inBytes < b.inBytes) return c;
      return { conns: c.conns - b.conns, inPackets: c.inPackets - b.inPackets, outPackets: Math.max(0, c.outPackets - b.outPackets), inBytes: c.inBytes - b.inBytes, outBytes: Math.max(0, c.outBytes - b.outBytes) };
    };
    return {
      services: stats.services.map((s) => ({ ...s, counters: sub(s.counters, s.key), reals: s.reals.map((r) => ({ ...r, counters: sub(r.counters, `${s.key}/${r.key}`) })) })),
    };
  }

  connections(): readonly ConnectionEntry[] {
    return this.engine.connections();
  }

  /** Number of engine applies so far (tests assert coalescing). */
  applyCount(): number {
    return this.applies;
  }

  // ---------------------------------------------------------------- admin actions

  /** Clears any override (disable, weight, drain) on the selected pairs. */
  enable(selector: RealSelector, by = 'unknown'): void {
    const pairs = this.select(selector, 'enable');
    this.audit('enable', selector, by);
    for (const p of pairs) {
      this.cancelDrainsOf(p.key);
      delete p.override;
    }
    this.changed();
  }

  /** Takes the selected pairs out of the engine (connections end per onRealRemoved). */
  disable(selector: RealSelector, by = 'unknown'): void {
    const pairs = this.select(selector, 'disable');
    this.audit('disable', selector, by);
    for (const p of pairs) {
      this.cancelDrainsOf(p.key);
      p.override = { kind: 'disabled', since: this.clock.wallNow(), by };
    }
    this.changed();
  }

  /** Pins the weight of the selected pairs (0 = quiesce by hand, as `ipvsadm -e -w 0`). */
  setWeight(selector: RealSelector, weight: number, by = 'unknown'): void {
    if (!Number.isInteger(weight) || weight < 0 || weight > 65535) throw new DirectorError('DIR_ERR_DIRECTOR_BAD_WEIGHT', { weight: String(weight) });
    const pairs = this.select(selector, 'weight');
    this.audit('weight', selector, by, { weight });
    for (const p of pairs) {
      this.cancelDrainsOf(p.key);
      p.override = { kind: 'weight', weight, since: this.clock.wallNow(), by };
    }
    this.changed();
  }

  /**
   * Weight 0 now; progress until the pairs have no connections or the deadline passes; then the
   * pairs are disabled (removed from the engine). Iterate the handle for progress or await done.
   */
  drain(selector: RealSelector, deadlineMs: number = this.config.daemon.drainDeadlineMs, by = 'unknown'): DrainHandle {
    const pairs = this.select(selector, 'drain');
    this.audit('drain', selector, by, { deadlineMs });
    const deadlineAt = this.clock.wallNow() + Math.max(0, deadlineMs);
    for (const p of pairs) {
      this.cancelDrainsOf(p.key);
      p.override = { kind: 'drain', deadlineAt, since: this.clock.wallNow(), by };
    }
    this.changed();
    return this.trackDrain(
      pairs.map((p) => p.key),
      deadlineAt,
      by,
    );
  }

  /** Runs the checks of the selected pairs now (directorctl check). */
  async checkNow(selector: RealSelector, by = 'unknown'): Promise<{ virtualId: string; realKey: string; result: CheckResult }[]> {
    const pairs = this.select(selector, 'check');
    this.audit('check', selector, by);
    return Promise.all(pairs.map(async (p) => ({ virtualId: p.virtualId, realKey: p.realKey, result: await this.health.checkNow(p.key) })));
  }

  /** Gives VRRP mastership away (one instance, or every instance that is MASTER). */
  async failover(instance?: string, by = 'unknown'): Promise<string[]> {
    if (!this.vrrp) throw new DirectorError('DIR_ERR_DIRECTOR_NO_VRRP');
    const names = instance !== undefined ? [instance] : this.vrrp.status().filter((s) => s.state === 'MASTER').map((s) => s.name);
    this.log.info('admin: failover', { by, instances: names, audit: true });
    for (const name of names) await this.vrrp.relinquish(name);
    return names;
  }

  // ---------------------------------------------------------------- internals: config and pairs

  private installConfig(config: ClusterConfig, restored: DirectorStateData | undefined): void {
    const nextVirtuals = new Map<string, VirtualRuntime>();
    for (const vs of config.virtualServices) {
      const old = this.virtuals.get(vs.id);
      const restoredCmd = restored?.fallbackCommands[vs.id];
      nextVirtuals.set(vs.id, {
        vs,
        quorumUp: old?.quorumUp ?? true,
        ...(old?.fallbackCommand ? { fallbackCommand: old.fallbackCommand } : restoredCmd ? { fallbackCommand: restoredCmd } : {}),
        ...(old?.plan ? { plan: old.plan } : {}),
        engineErrors: old?.engineErrors ?? [],
        commandChain: old?.commandChain ?? Promise.resolve(),
      });
      for (const real of vs.reals) {
        const key = pairKey(vs.id, real.key);
        const existing = this.pairs.get(key);
        if (existing) {
          existing.real = real;
          continue;
        }
        const found: PairRecord | undefined = restored?.pairs[key];
        const rec = found && found.health !== 'unknown' ? found : undefined;
        const health: HealthStatus = rec?.health ?? (vs.check.initialState === 'up' ? 'up' : 'unknown');
        const pair: PairState = {
          key,
          virtualId: vs.id,
          realKey: real.key,
          real,
          health,
          healthKnown: rec !== undefined,
          ...(found?.override ? { override: found.override } : {}),
          ...(found?.lastCheck ? { lastCheck: found.lastCheck } : {}),
          // ldirectord treats every real as present at start and reload (10.1): quiesced in place.
          inEngine: true,
          wasServiceable: false,
          plannedHealth: health,
          history: [],
        };
        pair.wasServiceable = isServiceable(this.pairInput(pair, vs));
        this.pairs.set(key, pair);
      }
    }
    this.virtuals.clear();
    for (const [k, v] of nextVirtuals) this.virtuals.set(k, v);
    const dir = this.options.maintenanceDir === null ? undefined : (this.options.maintenanceDir ?? config.daemon.maintenanceDir);
    const lookup = this.options.reverseLookup === null ? undefined : (this.options.reverseLookup ?? systemReverseLookup);
    this.maintenance = dir ? new MaintenanceDir(dir, { clock: this.clock, ...(lookup ? { lookup } : {}) }) : undefined;
    if (!this.maintenance) for (const p of this.pairs.values()) delete p.maintenanceFile;
  }

  private healthTargets(): HealthTarget[] {
    return this.config.virtualServices.flatMap((vs) =>
      vs.reals.map((real) => ({
        key: pairKey(vs.id, real.key),
        check: vs.check,
        target: {
          address: real.address.text,
          port: real.port,
          family: real.address.family,
          ...(vs.address ? { virtualAddress: vs.address.text } : {}),
          virtualPort: vs.port,
          virtualProtocol: vs.protocol,
          ...(vs.fwmark !== undefined ? { fwmark: vs.fwmark } : {}),
          ...(real.request !== undefined ? { request: real.request } : {}),
          ...(real.receive !== undefined ? { receive: real.receive } : {}),
        },
      })),
    );
  }

  private initialHealth(): Map<string, HealthStatus> {
    const m = new Map<string, HealthStatus>();
    // Only observed states: an assumed initialState stays the monitor's own (provisional) decision.
    for (const p of this.pairs.values()) if (p.healthKnown && p.health !== 'unknown') m.set(p.key, p.health);
    return m;
  }

  private pairInput(pair: PairState, vs: VirtualServiceConfig): PairInput {
    void vs;
    const snap = this.health.snapshot(pair.key);
    // Built field by field (no spreads): this runs for every pair on every apply.
    const input: { -readonly [K in keyof PairInput]: PairInput[K] } = {
      health: pair.health,
      maintenance: pair.maintenanceFile !== undefined,
      agentDrain: snap?.drain === true,
      inEngine: pair.inEngine,
    };
    if (pair.override) input.override = pair.override;
    if (snap?.dynamicWeight !== undefined) input.dynamicWeight = snap.dynamicWeight;
    if (snap?.dynamicWeightPercent !== undefined) input.dynamicWeightPercent = snap.dynamicWeightPercent;
    if (pair.rampStartedAt !== undefined) input.rampStartedAt = pair.rampStartedAt;
    return input;
  }

  private select(selector: RealSelector, operation: string): PairState[] {
    if (this.phase === 'created' || this.phase === 'closed' || this.phase === 'stopping') {
      throw new DirectorError('DIR_ERR_DIRECTOR_NOT_STARTED', { state: this.phase, operation });
    }
    let realKey = selector.realKey.trim();
    try {
      realKey = formatEndpoint(parseEndpoint(realKey));
    } catch {
      // not an endpoint: matched literally, and reported as unknown below
    }
    if (selector.virtualId !== undefined) {
      if (!this.virtuals.has(selector.virtualId)) throw new DirectorError('DIR_ERR_DIRECTOR_UNKNOWN_VIRTUAL', { virtual: selector.virtualId });
      const p = this.pairs.get(pairKey(selector.virtualId, realKey));
      if (!p) throw new DirectorError('DIR_ERR_DIRECTOR_UNKNOWN_REAL', { real: selector.realKey, virtual: selector.virtualId });
      return [p];
    }
    const found = [...this.pairs.values()].filter((p) => p.realKey === realKey);
    if (found.length === 0) throw new DirectorError('DIR_ERR_DIRECTOR_UNKNOWN_REAL', { real: selector.realKey, virtual: 'any virtual service' });
    return found;
  }

  private audit(action: string, selector: RealSelector, by: string, extra: Record<string, unknown> = {}): void {
    this.log.info(`admin: ${action}`, { audit: true, by, real: selector.realKey, virtual: selector.virtualId ?? '*', ...extra });
  }

  private changed(): void {
    this.requestApply();
    this.scheduleSave();
  }

  private onTransition(t: HealthTransition): void {
    const pair = this.pairs.get(t.key);
    if (!pair || this.phase === 'closed' || this.phase === 'stopping') return;
    const at = this.toWall(t.at);
    if (t.from === t.to && pair.health === t.to) {
      // A weight/drain change carried by a result (misc_dynamic, agent): no health change.
      pair.lastCheck = { ok: t.result.ok, detail: t.result.detail, durationMs: t.result.durationMs, at };
      this.requestApply();
      return;
    }
    pair.health = t.to;
    pair.healthKnown = true;
    pair.lastCheck = { ok: t.result.ok, detail: t.result.detail, durationMs: t.result.durationMs, at };
    pair.history.push({ at, status: t.to, detail: t.result.detail });
    if (pair.history.length > this.historyLimit) pair.history.splice(0, pair.history.length - this.historyLimit);
    this.log.info(`real server ${t.to}: ${pair.realKey} (${pair.virtualId})`, { virtual: pair.virtualId, real: pair.realKey, from: t.from, to: t.to, detail: t.result.detail });
    this.changed();
  }

  private onVrrpChange(c: VrrpStateChange): void {
    const before = this.role;
    this.role = this.computeRole(c);
    // The engine keeps its desired state in BACKUP (warm takeover): only the role is recorded.
    this.log.info(`VRRP ${c.instance}: ${c.from} -> ${c.to}`, { instance: c.instance, reason: c.reason, role: this.role, previousRole: before });
    if (c.to === 'MASTER' && c.from !== 'MASTER') {
      // The VIPs were just added: re-apply the same desired state so the engine binds the
      // listeners it could not bind while the addresses were missing (it retries them on apply()).
      this.forceApply = true;
      this.requestApply();
    }
  }

  private computeRole(change?: VrrpStateChange): VrrpState | undefined {
    if (!this.vrrp) return undefined;
    const states = new Map(this.vrrp.status().map((s) => [s.name, s.state] as const));
    if (change) states.set(change.instance, change.to);
    let best: VrrpState | undefined;
    for (const s of states.values()) if (best === undefined || ROLE_RANK[s] > ROLE_RANK[best]) best = s;
    return best;
  }

  private maybeRunning(): void {
    if (this.phase !== 'starting' || !this.startDone) return;
    const window = this.options.startupWindowMs ?? Math.max(0, ...this.config.virtualServices.map((v) => v.check.intervalMs + v.check.timeoutMs));
    const allChecked = [...this.pairs.values()].every((p) => p.health !== 'unknown');
    if (allChecked || this.clock.now() - this.startedAtMono >= window) {
      this.phase = 'running';
      this.log.info('director running', { pairs: this.pairs.size });
    }
  }

  // ---------------------------------------------------------------- internals: the apply loop

  private requestApply(): void {
    if (this.phase === 'created' || this.phase === 'closed' || this.destroyed) return;
    this.dirty = true;
    if (!this.applyLoop) this.applyLoop = this.runApplyLoop();
  }

  private async applyNow(): Promise<void> {
    this.requestApply();
    await this.settled();
  }

  private async runApplyLoop(): Promise<void> {
    try {
      // Let the current tick's other events land first so a burst becomes one apply.
      await Promise.resolve();
      while (this.dirty && !this.destroyed && this.phase !== 'closed') {
        this.dirty = false;
        await this.applyOnce();
      }
    } catch (err) {
      this.log.error('director apply loop failed', { error: (err as Error).message });
    } finally {
      this.applyLoop = undefined;
    }
  }

  private async applyOnce(): Promise<void> {
    const now = this.clock.now();
    const services: DesiredState['services'][number][] = [];
    let anyRamping = false;
    for (const rt of this.virtuals.values()) {
      const vs = rt.vs;
      const inputs = new Map<string, PairInput>();
      const pairsByReal = new Map<string, PairState>();
      for (const real of vs.reals) {
        const pair = this.pairs.get(pairKey(vs.id, real.key));
        if (!pair) continue;
        pairsByReal.set(real.key, pair);
        let input = this.pairInput(pair, vs);
        const serviceable = isServiceable(input);
        // Slow start: a recovery (down → up, re-enable, end of maintenance) ramps; the first
        // result after start does not (A11: "not at process start").
        if (serviceable && !pair.wasServiceable && pair.plannedHealth !== 'unknown' && vs.slowStartMs > 0 && this.startDone) {
          pair.rampStartedAt = now;
        } else if (!serviceable) {
          delete pair.rampStartedAt;
        }
        pair.wasServiceable = serviceable;
        pair.plannedHealth = pair.health;
        if (input.rampStartedAt !== pair.rampStartedAt) input = this.pairInput(pair, vs);
        pair.plannedDynamic = dynamicSig(input);
        inputs.set(real.key, input);
      }
      const plan = planVirtual(vs, inputs, { now, readdQuiescent: this.config.daemon.readdQuiescent, previousQuorumUp: rt.quorumUp });
      this.reportDiff(rt, rt.plan, plan);
      if (plan.quorumUp !== rt.quorumUp) this.quorumChanged(rt, plan);
      rt.quorumUp = plan.quorumUp;
      rt.plan = plan;
      for (const r of plan.reals) {
        const pair = pairsByReal.get(r.realKey);
        if (!pair) continue;
        pair.inEngine = r.engineWeight !== undefined;
        if (r.ramping) anyRamping = true;
        else if (pair.rampStartedAt !== undefined && r.serviceable) {
          this.log.info(`slow start finished: ${r.realKey} (${virtualLabel(vs)}) at weight ${r.engineWeight ?? 0}`, { virtual: vs.id, real: r.realKey });
          delete pair.rampStartedAt;
        }
      }
      this.fallbackCommandFor(rt, plan);
      services.push(plan.service);
    }
    this.scheduleRamp(anyRamping);
    // After the events of the first results were reported: they carry the "starting" status (PR #760).
    this.maybeRunning();
    const desired: DesiredState = { services };
    if (this.lastApplied && sameState(this.lastApplied, desired) && !this.lastApplyFailed && !this.forceApply) return;
    this.forceApply = false;
    this.applies++;
    try {
      const result = await this.engine.apply(desired);
      for (const rt of this.virtuals.values()) rt.engineErrors = [];
      for (const f of result.failures) {
        this.log.error('engine apply item failed', { key: f.key, error: f.error.message });
        const rt = [...this.virtuals.values()].find((v) => f.key === v.vs.id || f.key.startsWith(`${v.vs.id}/`) || f.key.startsWith(`${v.vs.id} `));
        const targets = rt ? [rt] : [...this.virtuals.values()];
        for (const t of targets) t.engineErrors.push(`${f.key}: ${f.error.message}`);
      }
      this.lastApplyFailed = result.failures.length > 0;
      this.lastApplied = desired;
    } catch (err) {
      this.lastApplyFailed = true;
      this.lastApplied = desired;
      this.log.error('engine apply failed', { error: (err as Error).message });
      for (const rt of this.virtuals.values()) rt.engineErrors = [`apply: ${(err as Error).message}`];
    }
  }

  /** Log lines and alerts from the change between two plans of one virtual (ldirectord-spec 10.5, 10.9). */
  private reportDiff(rt: VirtualRuntime, before: VirtualPlan | undefined, after: VirtualPlan): void {
    const vs = rt.vs;
    const label = virtualLabel(vs);
    const old = new Map((before?.service.reals ?? []).map((r) => [r.key, r] as const));
    const fbKey = vs.fallback ? fallbackKey(vs.fallback) : undefined;
    for (const r of after.service.reals) {
      const prev = old.get(r.key);
      old.delete(r.key);
      if (r.isFallback) {
        if (!prev?.isFallback) this.event(vs, `Added fallback server: ${r.key} (${label}) (Weight set to ${r.weight})`);
        continue;
      }
      if (prev?.isFallback) this.event(vs, `Deleted fallback server: ${r.key} (${label})`);
      const rec = { realKey: r.key, kind: r.weight > 0 ? ('restored' as const) : ('inaccessible' as const) };
      if (!prev || prev.isFallback) {
        if (r.weight > 0) this.event(vs, `Added real server: ${r.key} (${label}) (Weight set to ${r.weight})`, rec);
        else this.event(vs, `Readd Quiescent real server: ${r.key} (${label}) (Weight set to 0)`, rec);
      } else if (prev.weight === 0 && r.weight > 0) {
        this.event(vs, `Restored real server: ${r.key} (${label}) (Weight set to ${r.weight})`, rec);
      } else if (prev.weight > 0 && r.weight === 0) {
        this.event(vs, `Quiescent real server: ${r.key} (${label}) (Weight set to 0)`, rec);
      } else if (prev.weight !== r.weight) {
        this.log.debug(`Changed real server weight: ${r.key} (${label}) (Weight set to ${r.weight})`, { virtual: vs.id, real: r.key });
      }
    }
    for (const prev of old.values()) {
      if (prev.isFallback || prev.key === fbKey) this.event(vs, `Deleted fallback server: ${prev.key} (${label})`);
      else this.event(vs, `Deleted real server: ${prev.key} (${label})`, { realKey: prev.key, kind: 'inaccessible' });
    }
  }

  private event(vs: VirtualServiceConfig, text: string, record?: { realKey: string; kind: 'inaccessible' | 'restored' }): void {
    this.log.info(text, { virtual: vs.id, ...(record ? { real: record.realKey } : {}) });
    const av: AlertVirtual = {
      id: vs.id,
      label: virtualLabel(vs),
      alerts: vs.alerts,
      ...(vs.serviceName !== undefined ? { serviceName: vs.serviceName } : {}),
      ...(vs.comment !== undefined ? { comment: vs.comment } : {}),
    };
    this.alerter.event(av, text, record ? { realKey: record.realKey, realLabel: record.realKey, kind: record.kind } : undefined);
  }

  private quorumChanged(rt: VirtualRuntime, plan: VirtualPlan): void {
    const q = rt.vs.quorum;
    if (!q) return;
    const label = virtualLabel(rt.vs);
    if (plan.quorumUp) {
      this.log.info(`Gained quorum ${q.quorum}+${q.hysteresis}=${q.quorum + q.hysteresis} <= ${plan.liveWeightSum} for VS ${label}`, { virtual: rt.vs.id });
      if (q.upCommand) this.queueCommand(rt, [...q.upCommand], 'quorum_up');
    } else {
      this.log.warn(`Lost quorum ${q.quorum}-${q.hysteresis}=${q.quorum - q.hysteresis} > ${plan.liveWeightSum} for VS ${label}`, { virtual: rt.vs.id });
      if (q.downCommand) this.queueCommand(rt, [...q.downCommand], 'quorum_down');
    }
  }

  /** fallbackcommand start/stop (ldirectord-spec 10.5): start when no real is live, stop when one is back after a start. */
  private fallbackCommandFor(rt: VirtualRuntime, plan: VirtualPlan): void {
    const cmd = rt.vs.fallbackCommand;
    const needed = plan.noLiveReal || plan.fallbackActive;
    if (!cmd || cmd.length === 0) {
      return;
    }
    const verb = needed ? 'start' : 'stop';
    if (verb === 'start' && rt.fallbackCommand === 'start') return;
    if (verb === 'stop' && rt.fallbackCommand !== 'start') return;
    rt.fallbackCommand = verb;
    const vs = rt.vs;
    const where = vs.protocol === 'fwm' || !vs.address ? ':0' : `${formatHost(vs.address)}:${vs.port}`;
    this.queueCommand(rt, [...cmd, verb, where, vs.protocol], `fallbackcommand ${verb}`);
    this.scheduleSave();
  }

  private queueCommand(rt: VirtualRuntime, argv: string[], what: string): void {
    const timeoutMs = this.options.commandTimeoutMs ?? 30_000;
    rt.commandChain = rt.commandChain.then(async () => {
      this.log.info(`running ${what}`, { virtual: rt.vs.id, argv });
      try {
        const r = await this.runCommand(argv, { timeoutMs, maxOutputBytes: 16 * 1024 });
        if (r.exitCode !== 0) {
          this.log.error(`${what} failed`, { virtual: rt.vs.id, argv, exitCode: r.exitCode, signal: r.signal, timedOut: r.timedOut, stderr: r.stderr.slice(0, 500), error: r.error?.message });
        }
      } catch (err) {
        this.log.error(`${what} failed`, { virtual: rt.vs.id, argv, error: (err as Error).message });
      }
    });
  }

  // ---------------------------------------------------------------- internals: timers

  private restartTick(): void {
    this.tickTimer?.cancel();
    const minInterval = Math.min(10_000, ...this.config.virtualServices.map((v) => v.check.intervalMs));
    const ms = this.options.tickMs ?? Math.max(100, minInterval);
    this.tickTimer = this.clock.setInterval(() => this.tick(), ms).unref();
  }

  private tick(): void {
    if (this.destroyed || this.phase === 'closed' || this.phase === 'stopping') return;
    this.maybeRunning();
    // Dynamic weights and agent drain arrive as check results, not transitions: poll the snapshots.
    for (const vs of this.config.virtualServices) {
      for (const real of vs.reals) {
        const pair = this.pairs.get(pairKey(vs.id, real.key));
        if (!pair) continue;
        const snap = this.health.snapshot(pair.key);
        // A first check that confirms the configured initial 'down' is no transition: learn it here.
        if (pair.health === 'unknown' && snap?.lastCheckedAt !== undefined && snap.status !== 'unknown') {
          pair.health = snap.status;
          pair.healthKnown = true;
          this.scheduleSave();
        }
        if (pair.plannedDynamic !== dynamicSig({ dynamicWeight: snap?.dynamicWeight, dynamicWeightPercent: snap?.dynamicWeightPercent, agentDrain: snap?.drain === true })) this.requestApply();
        this.monitorFileLine(vs, real, pair);
      }
    }
    if (this.lastApplyFailed) this.requestApply();
    this.alerter.tick();
    void this.scanMaintenance();
  }

  /** Polled monitorfile lines, for a health monitor without onResult. */
  private monitorFileLine(vs: VirtualServiceConfig, real: RealServerConfig, pair: PairState): void {
    if (!vs.monitorFile || this.resultDriven) return;
    const snap = this.health.snapshot(pair.key);
    if (!snap?.lastResult || snap.lastCheckedAt === undefined || snap.lastCheckedAt === pair.lastMonitorAt) return;
    pair.lastMonitorAt = snap.lastCheckedAt;
    this.writeMonitorLine(vs, real, pair, snap.lastResult, snap.lastCheckedAt);
  }

  private onResult(e: HealthResultEvent): void {
    const pair = this.pairs.get(e.key);
    if (!pair || this.phase === 'closed') return;
    const vs = this.config.virtualServices.find((v) => v.id === pair.virtualId);
    if (!vs?.monitorFile) return;
    this.writeMonitorLine(vs, pair.real, pair, e.result, e.at);
  }

  /** ldirectord-spec 10.9: `[ctime] [pid] real-id [up|down] message`, maintenance shown as down. */
  private writeMonitorLine(vs: VirtualServiceConfig, real: RealServerConfig, pair: PairState, result: CheckResult, at: number): void {
    if (!vs.monitorFile) return;
    const ok = result.ok && pair.maintenanceFile === undefined;
    if (!monitorLogs(vs.check, ok)) return;
    const message = pair.maintenanceFile !== undefined ? 'Server in maintenance' : result.detail;
    void this.monitorWriter.write(vs.monitorFile, monitorLine(new Date(this.toWall(at)), process.pid, monitorRealId(vs, real), ok, message));
  }

  private scanMaintenance(): Promise<void> {
    const md = this.maintenance;
    if (!md || this.scanning) return this.scanning ?? Promise.resolve();
    const probes = new Map<string, MaintenanceProbe>();
    for (const p of this.pairs.values()) {
      const k = `${p.real.address.text}|${p.real.port}`;
      if (!probes.has(k)) probes.set(k, { address: p.real.address.text, family: p.real.address.family, port: p.real.port });
    }
    this.scanning = md
      .scan([...probes.values()])
      .then((found) => {
        let changed = false;
        for (const p of this.pairs.values()) {
          const probe = probes.get(`${p.real.address.text}|${p.real.port}`);
          const file = probe ? found.get(probe)?.file : undefined;
          if (file === p.maintenanceFile) continue;
          changed = true;
          if (file !== undefined) {
            p.maintenanceFile = file;
            this.log.info(`Server in maintenance: ${p.realKey} (${p.virtualId})`, { virtual: p.virtualId, real: p.realKey, file });
          } else {
            delete p.maintenanceFile;
            this.log.info(`Server out of maintenance: ${p.realKey} (${p.virtualId})`, { virtual: p.virtualId, real: p.realKey });
          }
        }
        if (changed) this.requestApply();
      })
      .catch((err: unknown) => this.log.error('maintenancedir scan failed', { error: (err as Error).message }))
      .finally(() => {
        this.scanning = undefined;
      });
    return this.scanning;
  }

  private scheduleRamp(anyRamping: boolean): void {
    if (!anyRamping) {
      this.rampTimer?.cancel();
      this.rampTimer = undefined;
      return;
    }
    if (this.rampTimer) return;
    const minSlow = Math.min(...this.config.virtualServices.filter((v) => v.slowStartMs > 0).map((v) => v.slowStartMs));
    const step = Math.max(50, Math.floor(minSlow / 20));
    this.rampTimer = this.clock
      .setInterval(() => {
        this.requestApply();
      }, step)
      .unref();
  }

  private stopTimers(): void {
    this.tickTimer?.cancel();
    this.tickTimer = undefined;
    this.rampTimer?.cancel();
    this.rampTimer = undefined;
  }

  private toWall(mono: number): number {
    return this.clock.wallNow() - (this.clock.now() - mono);
  }

  private assertRunning(operation: string): void {
    if (this.phase === 'created' || this.phase === 'closed' || this.phase === 'stopping') {
      throw new DirectorError('DIR_ERR_DIRECTOR_NOT_STARTED', { state: this.phase, operation });
    }
  }

  private async boundedFlush(): Promise<void> {
    let timer: TimerHandle | undefined;
    await Promise.race([
      this.alerter.flush(),
      new Promise<void>((resolve) => {
        timer = this.clock.setTimeout(resolve, 5000).unref();
      }),
    ]);
    timer?.cancel();
  }

  // ---------------------------------------------------------------- internals: drains

  private trackDrain(keys: readonly string[], deadlineAt: number, by: string): DrainHandle {
    let resolve!: (o: DrainOutcome) => void;
    const done = new Promise<DrainOutcome>((r) => {
      resolve = r;
    });
    const tracker: DrainTracker = {
      pairKeys: keys,
      deadlineAt,
      by,
      finished: false,
      last: { activeConns: 0, inactiveConns: 0, remainingMs: Math.max(0, deadlineAt - this.clock.wallNow()) },
      listeners: new Set(),
      resolve,
      done,
    };
    this.drains.add(tracker);
    const poll = (): void => {
      if (tracker.finished) return;
      const counts = this.connCounts(tracker.pairKeys);
      const remainingMs = Math.max(0, deadlineAt - this.clock.wallNow());
      tracker.last = { ...counts, remainingMs };
      for (const l of tracker.listeners) l(tracker.last);
      if (counts.activeConns + counts.inactiveConns === 0) this.finishDrain(tracker, 'idle');
      else if (remainingMs === 0) this.finishDrain(tracker, 'deadline');
    };
    tracker.timer = this.clock.setInterval(poll, this.options.drainPollMs ?? 1000).unref();
    // First sample once the weight-0 apply is in: connections opened before it still count.
    void this.settled().then(poll);
    const handle: DrainHandle = {
      done,
      [Symbol.asyncIterator]: () => {
        const queue: (DrainProgress | undefined)[] = [];
        let wake: (() => void) | undefined;
        const listener = (p: DrainProgress | undefined): void => {
          queue.push(p);
          wake?.();
        };
        if (tracker.finished) queue.push(undefined);
        else tracker.listeners.add(listener);
        return {
          next: async (): Promise<IteratorResult<DrainProgress>> => {
            while (queue.length === 0) await new Promise<void>((r) => (wake = r));
            wake = undefined;
            const item = queue.shift();
            if (item === undefined) {
              tracker.listeners.delete(listener);
              return { done: true, value: undefined };
            }
            return { done: false, value: item };
          },
          return: async (): Promise<IteratorResult<DrainProgress>> => {
            tracker.listeners.delete(listener);
            return { done: true, value: undefined };
          },
        };
      },
    };
    return handle;
  }

  private finishDrain(tracker: DrainTracker, reason: DrainOutcome['reason']): void {
    if (tracker.finished) return;
    tracker.finished = true;
    tracker.timer?.cancel();
    this.drains.delete(tracker);
    if (reason !== 'cancelled') {
      const since = this.clock.wallNow();
      for (const key of tracker.pairKeys) {
        const p = this.pairs.get(key);
        if (p?.override?.kind === 'drain' && p.override.deadlineAt === tracker.deadlineAt) p.override = { kind: 'disabled', since, by: tracker.by };
      }
      this.log.info(`drain finished (${reason})`, { pairs: tracker.pairKeys, by: tracker.by, activeConns: tracker.last.activeConns, inactiveConns: tracker.last.inactiveConns });
      this.changed();
    }
    for (const l of tracker.listeners) l(undefined);
    tracker.listeners.clear();
    tracker.resolve({ reason, activeConns: tracker.last.activeConns, inactiveConns: tracker.last.inactiveConns });
  }

  private cancelDrainsOf(key: string): void {
    for (const d of [...this.drains]) if (d.pairKeys.includes(key)) this.finishDrain(d, 'cancelled');
  }

  private connCounts(keys: readonly string[]): { activeConns: number; inactiveConns: number } {
    let activeConns = 0;
    let inactiveConns = 0;
    let stats: EngineStats;
    try {
      stats = this.engine.stats();
    } catch {
      return { activeConns, inactiveConns };
    }
    for (const key of keys) {
      const p = this.pairs.get(key);
      if (!p) continue;
      const r = stats.services.find((s) => s.key === p.virtualId)?.reals.find((x) => x.key === p.realKey && !x.isFallback);
      if (r) {
        activeConns += r.activeConns;
        inactiveConns += r.inactiveConns;
      }
    }
    return { activeConns, inactiveConns };
  }

  // ---------------------------------------------------------------- internals: state file

  private snapshotState(): DirectorStateData {
    const pairs: Record<string, PairRecord> = {};
    for (const p of this.pairs.values()) {
      pairs[p.key] = { health: p.healthKnown ? p.health : 'unknown', ...(p.override ? { override: p.override } : {}), ...(p.lastCheck ? { lastCheck: p.lastCheck } : {}) };
    }
    const fallbackCommands: Record<string, 'start' | 'stop'> = {};
    for (const rt of this.virtuals.values()) if (rt.fallbackCommand) fallbackCommands[rt.vs.id] = rt.fallbackCommand;
    return { version: STATE_FILE_VERSION, savedAt: this.clock.wallNow(), pairs, fallbackCommands, ...(overlayIsEmpty(this.overlay) ? {} : { runtime: this.overlay }) };
  }

  private scheduleSave(): void {
    const path = this.options.stateFile;
    if (!path || this.destroyed) return;
    if (this.saving) {
      this.saveAgain = true;
      return;
    }
    this.saving = (async () => {
      do {
        this.saveAgain = false;
        try {
          await saveStateFile(path, this.snapshotState());
        } catch (err) {
          this.log.error('state file write failed', { path, error: (err as Error).message });
        }
      } while (this.saveAgain);
    })().finally(() => {
      this.saving = undefined;
    });
  }

  private async flushSave(): Promise<void> {
    if (this.saving) await this.saving;
    this.scheduleSave();
    if (this.saving) await this.saving;
  }
}

/** Structural equality of two desired states (same order), without serialising them. */
function sameState(a: DesiredState, b: DesiredState): boolean {
  if (a.services.length !== b.services.length) return false;
  for (let i = 0; i < a.services.length; i++) {
    const x = a.services[i] as DesiredState['services'][number];
    const y = b.services[i] as DesiredState['services'][number];
    const { reals: xr, ...xs } = x;
    const { reals: yr, ...ys } = y;
    if (JSON.stringify(xs) !== JSON.stringify(ys) || xr.length !== yr.length) return false;
    for (let j = 0; j < xr.length; j++) {
      const p = xr[j] as (typeof xr)[number];
      const q = yr[j] as (typeof yr)[number];
      if (p.key !== q.key || p.address !== q.address || p.port !== q.port || p.forward !== q.forward || p.weight !== q.weight) return false;
      if (p.upperThreshold !== q.upperThreshold || p.lowerThreshold !== q.lowerThreshold || p.isFallback !== q.isFallback) return false;
    }
  }
  return true;
}

function dynamicSig(p: { readonly dynamicWeight?: number | undefined; readonly dynamicWeightPercent?: number | undefined; readonly agentDrain: boolean }): string {
  return `${p.dynamicWeight ?? ''}|${p.dynamicWeightPercent ?? ''}|${p.agentDrain}`;
}

function serviceRefId(ref: { readonly protocol: string; readonly address?: string; readonly port?: number; readonly fwmark?: number; readonly family?: 4 | 6 }): string {
  if (ref.protocol === 'fwm') return ref.family === 6 ? `fwm6:${ref.fwmark ?? 0}` : `fwm:${ref.fwmark ?? 0}`;
  const a = ref.address ?? '';
  return `${ref.protocol}:${a.includes(':') ? `[${a}]` : a}:${ref.port ?? 0}`;
}

/** ipvsadm-like words for the audit line. */
function describeEdit(cmd: RuntimeEditCommand): string {
  const flag = { 'add-service': '-A', 'edit-service': '-E', 'delete-service': '-D', 'add-real': '-a', 'edit-real': '-e', 'delete-real': '-d', clear: '-C', zero: '-Z', 'set-timeouts': '--set' }[cmd.op];
  if (cmd.op === 'clear') return flag;
  if (cmd.op === 'set-timeouts') return `${flag} ${cmd.timeouts.tcpMs / 1000} ${cmd.timeouts.tcpFinMs / 1000} ${cmd.timeouts.udpMs / 1000}`;
  if (cmd.op === 'zero') return cmd.service ? `${flag} ${serviceRefId(cmd.service)}` : flag;
  const real = 'real' in cmd ? ` -r ${cmd.real.address.includes(':') ? `[${cmd.real.address}]` : cmd.real.address}:${cmd.real.port}` : '';
  return `${flag} ${serviceRefId(cmd.service)}${real}`;
}
