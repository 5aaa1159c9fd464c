/**
 * The composition root's long-lived object: one running director process.
 *
 * Start order (each step only once the previous one is up, so a failure leaves nothing behind):
 * config → engine → health monitor → director → VRRP → control socket → HTTP status → schedules,
 * autoreload → READY=1. Stop order is the reverse, with two rules from the specs:
 *  - VRRP goes first: priority-0 adverts hand the VIPs to the backup at once instead of after
 *    the master-down interval (RFC 5798 6.4.3, keepalived-spec 1.7, seesaw's clean stop).
 *  - The engine then drains: no new connections, live ones may finish until
 *    daemon.drainDeadlineMs; the director applies each virtual's cleanstop (ldirectord-spec 10.7).
 *
 * Reload (SIGHUP, control `reload`, autoreload, a schedule): the file is loaded and validated
 * completely first; a config with any error is refused as a whole and the old one keeps running
 * (unlike ldirectord, which kept half the new globals and an empty real map, ldirectord-spec
 * 10.6). A good config goes through director.reload, which keeps health state, overrides and
 * live connections of everything unchanged. Reloads are serialised; a request that arrives
 * during a reload runs once more afterwards.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { Clock, TimerHandle } from '../core/clock.js';
import { ConfigError, DirectorError, formatLocation } from '../core/errors.js';
import { formatEndpoint, parseEndpoint, type Endpoint } from '../core/ip.js';
import type { Logger, LogLevel } from '../core/logger.js';
import type { ClusterConfig, ScheduleConfig } from '../config/model.js';
import type { AuditRecord, ControlApi, ReloadProblem, ReloadResult } from '../control/api.js';
import type { DirectorReadApi } from '../director/status.js';
import type { ForwardingEngine } from '../engine/model.js';
import type { HealthMonitor } from '../health/types.js';
import type { VrrpController } from '../vrrp/types.js';
import type { ExecResult, RunCommandOptions } from '../sys/exec.js';
import { parseScheduleTarget, Scheduler, validateSchedules } from './schedule.js';
import type { SdNotifier } from './sd-notify.js';

/** A problem found while loading a config (ConfigError or anything with a code and message). */
export interface LoadProblem {
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
  readonly location?: { readonly file: string; readonly line: number; readonly column: number };
}

/** What loading a config file produced. */
export type LoadOutcome =
  | { readonly ok: true; readonly config: ClusterConfig; readonly warnings: readonly LoadProblem[] }
  | { readonly ok: false; readonly errors: readonly LoadProblem[]; readonly warnings: readonly LoadProblem[] };

export type ConfigLoader = (path: string) => Promise<LoadOutcome>;

/** The director as the daemon drives it. */
export interface DirectorHandle extends DirectorReadApi {
  start(): Promise<void>;
  reload(config: ClusterConfig): Promise<unknown>;
  /** Graceful: cleanstop policy (the daemon then drains the engine). */
  close(): Promise<void>;
  destroy(): void;
  /** Counts a reload the daemon refused before handing it over (shown in status). */
  recordReloadFailure?(error: Error): void;
}

/** Anything with a graceful and an immediate stop (control server, HTTP server). */
export interface Closable {
  close(): Promise<void>;
  destroy(): void;
}

export type RunCommandFn = (argv: readonly string[], options: RunCommandOptions) => Promise<ExecResult>;

/** Context handed to component factories. */
export interface ComponentContext {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly runCommand: RunCommandFn;
}

/**
 * How the daemon builds its parts. The real wiring (./wiring.ts) creates the embedded engine,
 * the health monitor, the Director, the VRRP controller and the control/HTTP servers; tests
 * may substitute parts.
 */
export interface DaemonComponents {
  createEngine(config: ClusterConfig, ctx: ComponentContext): ForwardingEngine;
  createHealth(config: ClusterConfig, ctx: ComponentContext): HealthMonitor;
  /** Undefined when the config has no VRRP instances. */
  createVrrp(config: ClusterConfig, ctx: ComponentContext): VrrpController | undefined;
  createDirector(
    deps: { config: ClusterConfig; engine: ForwardingEngine; health: HealthMonitor; vrrp: VrrpController | undefined },
    ctx: ComponentContext,
  ): DirectorHandle;
  /** The control API over this daemon (admin calls delegate to the director, reload to the daemon). */
  createControlApi(daemon: Daemon, director: DirectorHandle, ctx: ComponentContext): ControlApi;
  startControlServer(
    opts: { socketPath: string; api: ControlApi; audit: (record: AuditRecord) => void },
    ctx: ComponentContext,
  ): Promise<Closable>;
  startHttpServer(opts: { listen: Endpoint; api: ControlApi }, ctx: ComponentContext): Promise<Closable>;
}

/** Values the command line (or the demo, or a test) puts above the config file's. */
export interface DaemonOverrides {
  readonly controlSocket?: string;
  readonly stateFile?: string;
  /** `host:port` for the status server; empty string = off. */
  readonly httpListen?: string;
  readonly drainDeadlineMs?: number;
}

export interface DaemonOptions {
  /** The resolved config file path. */
  readonly configPath: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly loadConfig: ConfigLoader;
  readonly components: DaemonComponents;
  readonly runCommand: RunCommandFn;
  readonly notifier?: SdNotifier;
  readonly overrides?: DaemonOverrides;
  /** Called when a reload changes the log level (the logger is the caller's). */
  readonly setLogLevel?: (level: LogLevel) => void;
  /** An already loaded config (the command line loads it first to report errors with exit 2). */
  readonly initialConfig?: ClusterConfig;
  /**
   * argv that runs `directord <name> <action>` for an `execute=` child config (ldirectord-spec
   * 10.10); without it execute= lines are only logged.
   */
  readonly executeCommand?: (name: string, action: ExecuteAction) => readonly string[];
}

/** What the daemon asks of an execute= child. */
export type ExecuteAction = 'start' | 'stop' | 'reload';

/** ldirectord's daemon states (used for emailalertstatus filtering, ldirectord-spec 10.9). */
export type DaemonPhase = 'idle' | 'starting' | 'running' | 'reloading' | 'stopping' | 'stopped';

/** Turns a load problem into the control protocol's form, keeping file:line:column. */
export function toReloadProblem(p: LoadProblem | Error): ReloadProblem {
  if (p instanceof ConfigError) {
    return { code: p.code, message: p.message, hint: p.hint, file: p.location.file, line: p.location.line, column: p.location.column };
  }
  if (p instanceof DirectorError) return { code: p.code, message: p.message, hint: p.hint };
  if (p instanceof Error) return { code: (p as { code?: string }).code ?? 'DIR_ERR_DAEMON_UNAVAILABLE', message: p.message };
  const lp = p as LoadProblem;
  return {
    code: lp.code,
    message: lp.message,
    ...(lp.hint !== undefined ? { hint: lp.hint } : {}),
    ...(lp.location ? { file: lp.location.file, line: lp.location.line, column: lp.location.column } : {}),
  };
}

/** `file:line:col: CODE message` (compiler style, so editors jump to it). */
export function formatProblem(p: ReloadProblem): string {
  const where = p.file !== undefined ? `${formatLocation({ file: p.file, line: p.line ?? 0, column: p.column ?? 0 })}: ` : '';
  return `${where}${p.code} ${p.message}`;
}

/** Applies command-line overrides on top of a loaded config (returns a new frozen object). */
export function applyOverrides(config: ClusterConfig, overrides: DaemonOverrides | undefined): ClusterConfig {
  if (!overrides) return config;
  const daemon = { ...config.daemon } as Record<string, unknown>;
  if (overrides.controlSocket !== undefined) daemon['controlSocket'] = overrides.controlSocket;
  if (overrides.stateFile !== undefined) daemon['stateFile'] = overrides.stateFile;
  if (overrides.drainDeadlineMs !== undefined) daemon['drainDeadlineMs'] = overrides.drainDeadlineMs;
  if (overrides.httpListen !== undefined) {
    if (overrides.httpListen === '') delete daemon['httpListen'];
    else daemon['httpListen'] = parseEndpoint(overrides.httpListen);
  }
  return Object.freeze({ ...config, daemon: Object.freeze(daemon) as unknown as ClusterConfig['daemon'] });
}

/** `host:port` text of the config's status listener (undefined = off). */
export function listenText(listen: Endpoint | undefined): string | undefined {
  return listen === undefined ? undefined : formatEndpoint(listen);
}

/** One running director process. */
export class Daemon {
  private phaseValue: DaemonPhase = 'idle';
  private configValue: ClusterConfig | undefined;
  private engine: ForwardingEngine | undefined;
  private health: HealthMonitor | undefined;
  private vrrp: VrrpController | undefined;
  private directorValue: DirectorHandle | undefined;
  private api: ControlApi | undefined;
  private control: Closable | undefined;
  private http: Closable | undefined;
  private scheduler: Scheduler | undefined;
  private pollTimer: TimerHandle | undefined;
  private lastSeen: { mtimes: string; hash: string } | undefined;
  private reloadChain: Promise<ReloadResult> | undefined;
  private reloadPending: { promise: Promise<ReloadResult> } | undefined;
  private closing: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private readonly ctx: ComponentContext;
  readonly reloads = { ok: 0, failed: 0, lastErrors: [] as ReloadProblem[] };

  constructor(private readonly options: DaemonOptions) {
    this.ctx = { clock: options.clock, logger: options.logger, runCommand: options.runCommand };
  }

  get phase(): DaemonPhase {
    return this.phaseValue;
  }

  /** The config in effect. */
  get config(): ClusterConfig | undefined {
    return this.configValue;
  }

  get director(): DirectorHandle | undefined {
    return this.directorValue;
  }

  get controlApi(): ControlApi | undefined {
    return this.api;
  }

  /** Starts everything; on failure undoes what started and rethrows. */
  start(): Promise<void> {
    if (this.phaseValue !== 'idle') return Promise.reject(new DirectorError('DIR_ERR_DAEMON_UNAVAILABLE', { reason: `start() called while ${this.phaseValue}` }));
    this.phaseValue = 'starting';
    this.starting = this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const log = this.options.logger;
    try {
      let config = this.options.initialConfig;
      if (!config) {
        const loaded = await this.options.loadConfig(this.options.configPath);
        this.logWarnings(loaded.warnings);
        if (!loaded.ok) {
          const problems = loaded.errors.map(toReloadProblem);
          for (const p of problems) log.error(formatProblem(p), { hint: p.hint });
          const first = problems[0];
          throw new DirectorError('DIR_ERR_DAEMON_CONFIG_INVALID', {
            file: this.options.configPath,
            count: problems.length,
            first: first ? formatProblem(first) : 'unknown',
          });
        }
        config = loaded.config;
      }
      config = applyOverrides(config, this.options.overrides);
      const scheduleProblems = validateSchedules(config);
      if (scheduleProblems.length > 0) {
        for (const p of scheduleProblems) log.error(p.format());
        throw new DirectorError('DIR_ERR_DAEMON_CONFIG_INVALID', {
          file: this.options.configPath,
          count: scheduleProblems.length,
          first: formatProblem(toReloadProblem(scheduleProblems[0] as ConfigError)),
        });
      }
      this.configValue = config;
      this.options.setLogLevel?.(config.daemon.logLevel);
      const c = this.options.components;

      this.engine = c.createEngine(config, this.ctx);
      await this.engine.start();
      this.health = c.createHealth(config, this.ctx);
      this.vrrp = c.createVrrp(config, this.ctx);
      this.directorValue = c.createDirector({ config, engine: this.engine, health: this.health, vrrp: this.vrrp }, this.ctx);
      // The daemon sequences the parts itself (the director is built with manageLifecycle off):
      // the director installs the targets and the first engine state, then checks start, then
      // VRRP, so the director is listening before the first state change.
      await this.directorValue.start();
      this.health.start();
      await this.vrrp?.start();

      this.api = c.createControlApi(this, this.directorValue, this.ctx);
      this.control = await c.startControlServer(
        { socketPath: config.daemon.controlSocket, api: this.api, audit: (r) => this.audit(r) },
        this.ctx,
      );
      const listen = listenText(config.daemon.httpListen);
      if (config.daemon.httpListen !== undefined) this.http = await c.startHttpServer({ listen: config.daemon.httpListen, api: this.api }, this.ctx);

      this.scheduler = new Scheduler({ logger: log.child({ module: 'schedule' }), run: (job) => this.runScheduled(job) });
      this.scheduler.setJobs(config.daemon.schedules);
      await this.startConfigWatch();

      this.phaseValue = 'running';
      const summary = `${config.virtualServices.length} virtual service(s), engine ${config.daemon.engine}`;
      log.info(`directord started: ${summary}`, {
        config: this.options.configPath,
        control: config.daemon.controlSocket,
        ...(listen !== undefined ? { http: listen } : {}),
      });
      await this.options.notifier?.ready(`running: ${summary}`);
      // ldirectord runs `<ldirectord> <name> start` for each execute= after its own start.
      for (const name of config.daemon.execute) await this.runChild(name, 'start');
    } catch (err) {
      this.teardownNow();
      this.phaseValue = 'stopped';
      throw err;
    }
  }

  /**
   * Re-reads the config file and applies it. Never throws for a bad config: the result says why
   * and the running config stays. `trigger` goes to the log ("SIGHUP", "control uid=0", ...).
   */
  reload(trigger: string): Promise<ReloadResult> {
    if (this.phaseValue !== 'running' && this.phaseValue !== 'reloading') {
      this.options.logger.warn(`reload on ${trigger} ignored: the daemon is ${this.phaseValue}`);
      return Promise.resolve({ ok: false, summary: `not running (${this.phaseValue})`, errors: [{ code: 'DIR_ERR_DAEMON_UNAVAILABLE', message: `daemon is ${this.phaseValue}` }] });
    }
    if (!this.reloadChain) {
      const run = this.doReload(trigger).finally(() => {
        this.reloadChain = undefined;
      });
      this.reloadChain = run;
      return run;
    }
    // A reload is running: the file may have changed after it was read, so run once more after it
    // (several requests in the meantime share that one extra run).
    if (!this.reloadPending) {
      const current = this.reloadChain;
      const promise = current.then(() => {
        this.reloadPending = undefined;
        return this.reload(trigger);
      });
      this.reloadPending = { promise };
    }
    return this.reloadPending.promise;
  }

  private async doReload(trigger: string): Promise<ReloadResult> {
    const log = this.options.logger;
    const old = this.configValue;
    const director = this.directorValue;
    if (!old || !director) return { ok: false, summary: 'not started' };
    this.phaseValue = 'reloading';
    log.info(`Reloading directord config on ${trigger}`, { config: this.options.configPath });
    await this.options.notifier?.reloading();
    let result: ReloadResult;
    try {
      const loaded = await this.options.loadConfig(this.options.configPath);
      this.logWarnings(loaded.warnings);
      let problems: ReloadProblem[] = [];
      let next: ClusterConfig | undefined;
      if (!loaded.ok) {
        problems = loaded.errors.map(toReloadProblem);
      } else {
        next = applyOverrides(loaded.config, this.options.overrides);
        problems = validateSchedules(next).map(toReloadProblem);
      }
      if (problems.length > 0 || !next) {
        this.reloads.failed++;
        this.reloads.lastErrors = problems;
        for (const p of problems) log.error(`reload refused: ${formatProblem(p)}`, { hint: p.hint });
        const first = problems[0];
        director.recordReloadFailure?.(new Error(first ? formatProblem(first) : 'config refused'));
        log.error(`reload refused (${problems.length} error(s)); the running configuration is unchanged`);
        result = { ok: false, errors: problems, summary: `refused: ${problems.length} error(s); old configuration kept` };
      } else {
        this.warnRestartOnly(old, next);
        await this.reloadChildren(old.daemon.execute, next.daemon.execute);
        await director.reload(next);
        this.configValue = next;
        this.options.setLogLevel?.(next.daemon.logLevel);
        this.scheduler?.setJobs(next.daemon.schedules);
        this.reloads.ok++;
        this.reloads.lastErrors = [];
        const summary = describeChange(old, next);
        log.info(`reload applied: ${summary}`);
        result = { ok: true, summary };
        await this.restartConfigWatch();
      }
    } catch (err) {
      // director.reload itself failed (e.g. an engine error): the director keeps what it could.
      this.reloads.failed++;
      const problem = toReloadProblem(err instanceof Error ? err : new Error(String(err)));
      this.reloads.lastErrors = [problem];
      log.error(`reload failed: ${formatProblem(problem)}`);
      result = { ok: false, errors: [problem], summary: `failed: ${problem.message}` };
    }
    if (this.phaseValue === 'reloading') this.phaseValue = 'running';
    await this.options.notifier?.reloaded(result.ok ? `running: reloaded (${result.summary})` : `running: last reload refused (${result.summary})`);
    return result;
  }

  /**
   * Graceful stop: STOPPING=1, schedules and autoreload off, VRRP priority 0, director close
   * (cleanstop, engine drain up to drainDeadlineMs), then the servers. Idempotent.
   */
  close(signal?: string): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = this.doClose(signal);
    return this.closing;
  }

  private async doClose(signal: string | undefined): Promise<void> {
    const log = this.options.logger;
    // A stop during start-up waits for the start to finish (or fail), then undoes it in order.
    await this.starting?.catch(() => undefined);
    if (this.phaseValue === 'stopped') return; // the failed start already tore everything down
    const wasRunning = this.phaseValue !== 'idle';
    this.phaseValue = 'stopping';
    if (wasRunning) {
      log.info(`directord stopping${signal ? ` on signal ${signal}` : ''}; draining for up to ${Math.round((this.configValue?.daemon.drainDeadlineMs ?? 0) / 1000)} s`);
    }
    await this.options.notifier?.stopping();
    this.pollTimer?.cancel();
    this.pollTimer = undefined;
    this.scheduler?.close();
    // Let a reload in progress finish first: closing under it would race the engine.
    await this.reloadChain?.catch(() => undefined);
    // ldirectord-spec 10.7 step 2: execute= children are stopped first.
    if (wasRunning) for (const name of this.configValue?.daemon.execute ?? []) await this.runChild(name, 'stop');
    const step = async (what: string, fn: () => Promise<void> | undefined): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        log.error(`stop: ${what} failed: ${(err as Error).message}`);
      }
    };
    // VRRP first: priority-0 adverts hand the VIPs over now (close() is idempotent, so the
    // director closing it again later is harmless).
    await step('vrrp', () => this.vrrp?.close());
    // The director applies cleanstop (removes cleanstop=yes services, keeps the others)...
    await step('director', () => this.directorValue?.close());
    await step('health monitor', () => this.health?.close());
    // ...and the engine stops accepting and lets live connections finish until the deadline.
    const deadline = this.configValue?.daemon.drainDeadlineMs ?? 0;
    await step('engine drain', () => this.engine?.close(deadline));
    await step('http status server', () => this.http?.close());
    await step('control socket', () => this.control?.close());
    this.http = undefined;
    this.control = undefined;
    if (wasRunning) log.info(`directord terminated${signal ? ` on signal: ${signal}` : ''}`);
    this.phaseValue = 'stopped';
  }

  /** Immediate stop: destroys everything without draining. */
  destroy(): void {
    this.teardownNow();
    this.phaseValue = 'stopped';
  }

  private teardownNow(): void {
    this.pollTimer?.cancel();
    this.pollTimer = undefined;
    this.scheduler?.destroy();
    for (const part of [this.http, this.control]) {
      try {
        part?.destroy();
      } catch {
        // destroy() is best effort by contract; nothing useful to do with a failure here.
      }
    }
    for (const part of [this.vrrp, this.directorValue, this.health, this.engine]) {
      try {
        part?.destroy();
      } catch {
        // As above: an immediate stop must not throw.
      }
    }
    this.http = undefined;
    this.control = undefined;
  }

  /** Writes one audit line per admin request: who asked for what. */
  audit(record: AuditRecord): void {
    const p = record.peer;
    const who = p.transport === 'unix'
      ? `uid=${p.uid ?? '?'} user=${p.user ?? '?'} pid=${p.pid ?? '?'}${p.pidVerified ? '' : ' (unverified)'} conn=${p.connection}`
      : 'in-process';
    this.options.logger.info(`audit: ${record.method} by ${who}`, { audit: true, method: record.method, params: record.params as unknown });
  }

  private async runScheduled(job: ScheduleConfig): Promise<string> {
    const api = this.api;
    if (!api) throw new DirectorError('DIR_ERR_DAEMON_UNAVAILABLE', { reason: 'not running' });
    this.options.logger.info(`audit: ${job.action} by schedule "${job.name}"`, { audit: true, method: job.action, target: job.target });
    const target = job.target ? parseScheduleTarget(job.target) : undefined;
    switch (job.action) {
      case 'reload': {
        const r = await this.reload(`schedule ${job.name}`);
        return r.summary;
      }
      case 'snapshot': {
        const stats = await api.engineStats();
        for (const s of stats.services) {
          this.options.logger.info(`stats ${s.key}: conns=${s.counters.conns} inbytes=${s.counters.inBytes} outbytes=${s.counters.outBytes}`, {
            reals: s.reals.map((r) => `${r.key} w=${r.weight} active=${r.activeConns} inact=${r.inactiveConns}`).join(', '),
          });
        }
        return `${stats.services.length} service(s) logged`;
      }
      case 'enable':
        return (await api.enable(target ?? { realKey: '' })).summary;
      case 'disable':
        return (await api.disable(target ?? { realKey: '' })).summary;
      case 'drain': {
        const r = await api.drain(target ?? { realKey: '' }, { deadlineMs: this.configValue?.daemon.drainDeadlineMs, then: 'keep' }, () => undefined);
        return `${r.outcome} after ${Math.round(r.elapsedMs)} ms, ${r.remainingConns} connection(s) left`;
      }
    }
  }

  /** Runs `directord <name> <action>` for an execute= child; true when it exited 0. */
  private async runChild(name: string, action: ExecuteAction): Promise<boolean> {
    const argv = this.options.executeCommand?.(name, action);
    const log = this.options.logger;
    if (!argv) {
      log.warn(`execute=${name}: not run (${action}); this daemon was started without a way to run child instances`);
      return false;
    }
    const r = await this.options.runCommand(argv, { timeoutMs: 120_000 });
    const ok = !r.error && r.exitCode === 0;
    const detail = r.error?.message ?? `exit status ${r.exitCode ?? r.signal}`;
    if (ok) log.info(`execute=${name} ${action}: ok`);
    else log.error(`execute=${name} ${action} failed: ${detail}`, { stderr: r.stderr.trim().slice(0, 500) });
    return ok;
  }

  /** ldirectord-spec 10.6 step 3: removed children stop, kept ones reload (start if that fails), new ones start. */
  private async reloadChildren(before: readonly string[], after: readonly string[]): Promise<void> {
    for (const name of before) if (!after.includes(name)) await this.runChild(name, 'stop');
    for (const name of after) {
      if (!before.includes(name)) await this.runChild(name, 'start');
      else if (!(await this.runChild(name, 'reload'))) await this.runChild(name, 'start');
    }
  }

  private warnRestartOnly(old: ClusterConfig, next: ClusterConfig): void {
    const needRestart: string[] = [];
    if (old.daemon.engine !== next.daemon.engine) needRestart.push('engine');
    if (old.daemon.controlSocket !== next.daemon.controlSocket) needRestart.push('control socket');
    if (listenText(old.daemon.httpListen) !== listenText(next.daemon.httpListen)) needRestart.push('http listen address');
    if (JSON.stringify(old.daemon.log) !== JSON.stringify(next.daemon.log)) needRestart.push('log target');
    if (needRestart.length > 0) {
      this.options.logger.warn(`reload: changes to ${needRestart.join(', ')} take effect after a restart`);
    }
  }

  private logWarnings(warnings: readonly LoadProblem[]): void {
    for (const w of warnings) this.options.logger.warn(formatProblem(toReloadProblem(w)));
  }

  /* ---------------------------------------------------------------------------------------------
   * Config change detection (ldirectord-spec 10.6): compare mtimes; when they differ compare a
   * hash of the contents; a real change is logged, reloaded if autoreload=yes, and `callback`
   * runs either way with the config path as its argument.
   * ------------------------------------------------------------------------------------------- */

  private async fingerprint(files: readonly string[]): Promise<{ mtimes: string; hash: string | undefined }> {
    const mtimes: string[] = [];
    for (const f of files) {
      try {
        mtimes.push(String((await stat(f)).mtimeMs));
      } catch {
        mtimes.push('missing');
      }
    }
    return { mtimes: mtimes.join(','), hash: undefined };
  }

  private async contentHash(files: readonly string[]): Promise<string> {
    const h = createHash('sha256');
    for (const f of files) {
      try {
        h.update(await readFile(f));
      } catch {
        h.update('\0missing\0');
      }
      h.update('\0');
    }
    return h.digest('hex');
  }

  private watchedFiles(): readonly string[] {
    const files = this.configValue?.files ?? [];
    return files.length > 0 ? files : [this.options.configPath];
  }

  private async startConfigWatch(): Promise<void> {
    const files = this.watchedFiles();
    // The first look only records the state (ldirectord: "The first check after start, or after
    // a reload, only records the checksum").
    this.lastSeen = { mtimes: (await this.fingerprint(files)).mtimes, hash: await this.contentHash(files) };
    const every = Math.max(100, this.configValue?.daemon.autoreloadIntervalMs ?? 10_000);
    this.pollTimer = this.options.clock.setInterval(() => void this.pollConfig(), every);
    this.pollTimer.unref();
  }

  private async restartConfigWatch(): Promise<void> {
    this.pollTimer?.cancel();
    this.pollTimer = undefined;
    await this.startConfigWatch();
  }

  private polling = false;

  /** One poll of the config files; public for tests that step a ManualClock. */
  async pollConfig(): Promise<void> {
    if (this.polling || this.phaseValue !== 'running' || !this.lastSeen) return;
    this.polling = true;
    try {
      const files = this.watchedFiles();
      const { mtimes } = await this.fingerprint(files);
      if (mtimes === this.lastSeen.mtimes) return;
      const hash = await this.contentHash(files);
      const changed = hash !== this.lastSeen.hash;
      this.lastSeen = { mtimes, hash };
      if (!changed) return;
      const log = this.options.logger;
      const daemon = this.configValue?.daemon;
      const auto = daemon?.autoreload ?? false;
      log.info(`Configuration file '${this.options.configPath}' has changed on disk - ${auto ? 'reread new configuration' : 'ignore new configuration'}`);
      if (daemon?.callback) {
        const r = await this.options.runCommand([daemon.callback, this.options.configPath], { timeoutMs: 60_000 });
        if (r.error || r.exitCode !== 0) {
          log.warn(`callback ${daemon.callback} failed: ${r.error?.message ?? `exit status ${r.exitCode ?? r.signal}`}`);
        } else {
          log.info(`callback ${daemon.callback} ran`);
        }
      }
      if (auto) await this.reload('autoreload');
    } finally {
      this.polling = false;
    }
  }
}

/** "1 virtual(s) added, 2 changed, 0 removed" from two configs. */
export function describeChange(old: ClusterConfig, next: ClusterConfig): string {
  const before = new Map(old.virtualServices.map((v) => [v.id, JSON.stringify(stripLocations(v))]));
  const after = new Map(next.virtualServices.map((v) => [v.id, JSON.stringify(stripLocations(v))]));
  let added = 0;
  let changed = 0;
  let removed = 0;
  for (const [id, text] of after) {
    const was = before.get(id);
    if (was === undefined) added++;
    else if (was !== text) changed++;
  }
  for (const id of before.keys()) if (!after.has(id)) removed++;
  return `${next.virtualServices.length} virtual service(s): ${added} added, ${changed} changed, ${removed} removed`;
}

function stripLocations(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripLocations);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (k !== 'location') out[k] = stripLocations(v);
  return out;
}
