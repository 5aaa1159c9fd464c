/**
 * keepalived's tracking model (keepalived-spec 3.1-3.4), pure.
 *
 * Every tracked object either has weight 0 (failure = FAULT for the instance) or a weight in
 * -253..253 (-254..254 for track_file): a positive weight is added while the object is OK, a
 * negative one while it has failed; `reverse` swaps the sense. The sum is the priority delta the
 * state machine clamps to 1..254 (never applied to priority 255).
 *
 * - track_interface: up/down fed by the caller (netlink lives in sys).
 * - vrrp_script: ScriptTracker runs the injected runner every `interval` through the Clock, with
 *   `timeout` and the rise/fall hysteresis of keepalived's vrrp_script_child_thread.
 * - track_file: the integer value fed by the caller (inotify lives in sys); value × weight.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { nullLogger } from '../core/logger.js';
import type { VrrpInstanceConfig, VrrpScriptConfig } from '../config/model.js';

/** The outcome of one script run: exit status (0 = success), or killed / timed out (failure). */
export interface ScriptRunResult {
  readonly exitCode?: number;
  readonly signal?: string;
  readonly timedOut?: boolean;
}

/** Runs a script (argv, no shell); must kill it when `timeoutMs` passes (SIGTERM, SIGKILL 2 s later). */
export type RunTrackScript = (argv: readonly string[], timeoutMs: number) => Promise<ScriptRunResult>;

export interface ScriptTrackerOptions {
  readonly script: VrrpScriptConfig;
  readonly clock: Clock;
  readonly run: RunTrackScript;
  /** keepalived `init_fail`: start failed instead of "one success away from OK". */
  readonly initFail?: boolean;
  readonly logger?: Logger;
  /** Called whenever `ok` (or `known`) changes. */
  readonly onChange?: (tracker: ScriptTracker) => void;
}

/**
 * One vrrp_script: hysteresis counter `result` in 0..rise+fall-1, OK ⇔ result ≥ rise (3.3).
 * A success increments toward rise then jumps to the top; a failure decrements toward rise then
 * jumps to 0: from OK it takes `fall` consecutive failures to go KO, from KO `rise` successes.
 * Initial result is rise-1 ("one success is enough", and the first failure is reported at once),
 * or 0 with init_fail. `known` is false until the first run completes (unweighted scripts hold the
 * instance out of BACKUP/MASTER until then).
 */
export class ScriptTracker {
  readonly name: string;
  private readonly opts: ScriptTrackerOptions;
  private readonly log: Logger;
  private result: number;
  private knownValue = false;
  private running = false;
  private runSeq = 0;
  private interval: TimerHandle | undefined;
  private timeout: TimerHandle | undefined;
  private lastStatus: string | undefined;
  private closed = false;

  constructor(opts: ScriptTrackerOptions) {
    this.opts = opts;
    this.name = opts.script.name;
    this.log = (opts.logger ?? nullLogger).child({ script: opts.script.name });
    this.result = opts.initFail ? 0 : Math.max(0, opts.script.rise - 1);
  }

  /** OK per the hysteresis (before the first result: the initial state). */
  get ok(): boolean {
    return this.result >= this.opts.script.rise;
  }

  /** Has at least one run completed (or init_fail given a definite initial state)? */
  get known(): boolean {
    return this.knownValue || this.opts.initFail === true;
  }

  get counter(): number {
    return this.result;
  }

  /** Runs now and then every interval (keepalived starts scripts immediately). */
  start(): void {
    if (this.interval || this.closed) return;
    this.interval = this.opts.clock.setInterval(() => this.runOnce(), this.opts.script.intervalMs);
    this.runOnce();
  }

  close(): void {
    this.closed = true;
    this.interval?.cancel();
    this.interval = undefined;
    this.timeout?.cancel();
    this.timeout = undefined;
  }

  destroy(): void {
    this.close();
  }

  /** Feed one result directly (tests, or a caller that runs the script itself). */
  report(success: boolean, description = success ? 'exited with status 0' : 'failed'): void {
    const { rise, fall } = this.opts.script;
    const top = rise + fall - 1;
    const wasOk = this.ok;
    const wasKnown = this.known;
    if (success) {
      if (this.result < rise - 1) this.result++;
      else if (this.result !== top) this.result = top;
    } else if (this.result > rise) this.result--;
    else if (this.result !== 0) this.result = 0;
    this.knownValue = true;
    if (description !== this.lastStatus) {
      this.log.info(`Script \`${this.name}\` now returning ${description}`);
      this.lastStatus = description;
    }
    if (wasOk !== this.ok) {
      this.log.info(this.ok ? `VRRP_Script(${this.name}) succeeded` : `VRRP_Script(${this.name}) failed (${description})`);
    }
    if (wasOk !== this.ok || wasKnown !== this.known) this.opts.onChange?.(this);
  }

  private runOnce(): void {
    if (this.closed) return;
    if (this.running) {
      this.log.info(`Track script ${this.name} is already running, expect idle - skipping run`);
      return;
    }
    this.running = true;
    const seq = ++this.runSeq;
    const timeoutMs = this.opts.script.timeoutMs;
    // The timeout runs on our Clock so that tests are deterministic; the runner also gets it so it
    // can kill the process group. A late result after the timeout is ignored.
    this.timeout = this.opts.clock.setTimeout(() => {
      if (seq !== this.runSeq || !this.running) return;
      this.running = false;
      this.runSeq++;
      this.log.info(`VRRP_Script(${this.name}) timed_out`);
      this.report(false, 'timed out');
    }, timeoutMs);
    let promise: Promise<ScriptRunResult>;
    try {
      promise = this.opts.run(this.opts.script.command, timeoutMs);
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise.then(
      (r) => this.finish(seq, r),
      (err: unknown) => this.finish(seq, { exitCode: 127, signal: String(err) }),
    );
  }

  private finish(seq: number, r: ScriptRunResult): void {
    if (seq !== this.runSeq || this.closed) return;
    this.running = false;
    this.timeout?.cancel();
    this.timeout = undefined;
    if (r.timedOut) this.report(false, 'timed out');
    else if (r.signal !== undefined) this.report(false, `killed by ${r.signal}`);
    else this.report(r.exitCode === 0, `exited with status ${r.exitCode ?? 'unknown'}`);
  }
}

/** How one tracked object contributes (3.1). */
export interface TrackedWeight {
  readonly weight: number;
  readonly reverse?: boolean;
}

/** The combined tracking verdict for one instance. */
export interface TrackingVerdict {
  /** Some weight-0 tracker failed (or an unweighted script has no result yet, or a file forced it). */
  readonly fault: boolean;
  readonly faultReasons: readonly string[];
  /** Sum of weights to add to the base priority. */
  readonly priorityDelta: number;
}

/**
 * Contribution of an OK/failed object: weight 0 → fault when failed (or when up with reverse);
 * weight > 0 → +weight while OK; weight < 0 → weight while failed. `reverse` swaps OK and failed.
 */
export function weightContribution(ok: boolean, w: TrackedWeight): { fault: boolean; delta: number } {
  const effectiveOk = w.reverse ? !ok : ok;
  if (w.weight === 0) return { fault: !effectiveOk, delta: 0 };
  if (w.weight > 0) return { fault: false, delta: effectiveOk ? w.weight : 0 };
  return { fault: false, delta: effectiveOk ? 0 : w.weight };
}

/**
 * track_file (3.4): weight 0 → non-zero value is a failure (FAULT); otherwise value × weight is
 * added (`reverse` negates it), and a result below -253 forces FAULT.
 */
export function fileContribution(value: number, w: TrackedWeight): { fault: boolean; delta: number } {
  if (w.weight === 0) return { fault: w.reverse ? value === 0 : value !== 0, delta: 0 };
  const delta = value * w.weight * (w.reverse ? -1 : 1);
  if (delta < -253) return { fault: true, delta: 0 };
  return { fault: false, delta };
}

interface TrackedEntry {
  readonly label: string;
  readonly weight: TrackedWeight;
  /** undefined until known. */
  ok?: boolean;
  fileValue?: number;
  readonly file: boolean;
}

/**
 * Combines the tracked objects of one instance (or sync group) into a TrackingVerdict. Pure
 * bookkeeping: the caller feeds interface and file states and script trackers' results, and pushes
 * the verdict into VrrpStateMachine.setFault / setPriorityDelta (see `apply`).
 */
export class InstanceTracking {
  private readonly entries = new Map<string, TrackedEntry>();

  /** Builds the tracked set from a vrrp_instance: track_interface, track_script (weight override), track_file. */
  static fromConfig(
    instance: VrrpInstanceConfig,
    scripts: readonly VrrpScriptConfig[],
    extra: {
      trackPrimaryInterface?: boolean;
      /**
       * The instance is in a vrrp_sync_group without sync_group_tracking_weight: keepalived ignores
       * member tracker weights (with a warning), so every tracker counts as weight 0 (3.1).
       */
      syncGroupMember?: boolean;
      logger?: Logger;
    } = {},
  ): InstanceTracking {
    const t = new InstanceTracking();
    const weightOf = (label: string, w: number): TrackedWeight => {
      if (w !== 0 && extra.syncGroupMember) {
        extra.logger?.warn(`(${instance.name}) ignoring weight ${w} of ${label}: instance is in a sync group`);
        return { weight: 0 };
      }
      return { weight: w };
    };
    // The instance's own interface is tracked with weight 0 unless dont_track_primary (3.2).
    if (extra.trackPrimaryInterface !== false) t.trackInterface(instance.interface, { weight: 0 });
    for (const i of instance.trackInterfaces) t.trackInterface(i.name, weightOf(`track_interface ${i.name}`, i.weight));
    for (const s of instance.trackScripts) {
      const def = scripts.find((d) => d.name === s.name);
      t.trackScript(s.name, weightOf(`track_script ${s.name}`, s.weight ?? def?.weight ?? 0));
    }
    for (const f of instance.trackFiles) t.trackFile(f.path, weightOf(`track_file ${f.path}`, f.weight));
    return t;
  }

  trackInterface(name: string, weight: TrackedWeight): void {
    // An interface is assumed up until told otherwise (the caller reads the link state at start).
    this.entries.set(`interface:${name}`, { label: `interface ${name}`, weight, ok: true, file: false });
  }

  trackScript(name: string, weight: TrackedWeight): void {
    this.entries.set(`script:${name}`, { label: `script ${name}`, weight, file: false });
  }

  trackFile(path: string, weight: TrackedWeight): void {
    // Until read, a file counts as value 0 (keepalived init_file default).
    this.entries.set(`file:${path}`, { label: `file ${path}`, weight, fileValue: 0, file: true });
  }

  /** Returns true if the verdict may have changed. */
  setInterfaceUp(name: string, up: boolean): boolean {
    return this.set(`interface:${name}`, (e) => (e.ok = up));
  }

  setScriptOk(name: string, ok: boolean): boolean {
    return this.set(`script:${name}`, (e) => (e.ok = ok));
  }

  setFileValue(path: string, value: number): boolean {
    return this.set(`file:${path}`, (e) => (e.fileValue = value));
  }

  /** Is this script tracked here? (A ScriptTracker may serve several instances.) */
  tracksScript(name: string): boolean {
    return this.entries.has(`script:${name}`);
  }

  verdict(): TrackingVerdict {
    let delta = 0;
    const faults: string[] = [];
    for (const e of this.entries.values()) {
      if (e.file) {
        const c = fileContribution(e.fileValue ?? 0, e.weight);
        if (c.fault) faults.push(`${e.label} value ${e.fileValue ?? 0}`);
        delta += c.delta;
        continue;
      }
      if (e.ok === undefined) {
        // Unweighted scripts hold the instance (INIT/FAULT) until their first result (3.3);
        // weighted ones simply contribute nothing yet.
        if (e.weight.weight === 0) faults.push(`${e.label} has no result yet`);
        continue;
      }
      const c = weightContribution(e.ok, e.weight);
      if (c.fault) faults.push(`${e.label} ${e.weight.reverse ? 'up (reverse)' : 'down'}`);
      delta += c.delta;
    }
    return { fault: faults.length > 0, faultReasons: faults, priorityDelta: delta };
  }

  /** Pushes the verdict into a state machine. */
  apply(target: { setFault(faulted: boolean, reason: string): void; setPriorityDelta(delta: number): void }): TrackingVerdict {
    const v = this.verdict();
    target.setPriorityDelta(v.priorityDelta);
    target.setFault(v.fault, v.fault ? v.faultReasons.join(', ') : 'all tracked objects OK');
    return v;
  }

  private set(key: string, f: (e: TrackedEntry) => void): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    f(e);
    return true;
  }
}
