/**
 * systemd's notify protocol (sd_notify(3)) for Type=notify units: READY=1, RELOADING=1 with
 * MONOTONIC_USEC, STOPPING=1, STATUS=, WATCHDOG=1.
 *
 * Transport, and why: the protocol is one datagram on the AF_UNIX SOCK_DGRAM socket named by
 * $NOTIFY_SOCKET. Node's dgram module only speaks udp4/udp6, and net.Socket only unix STREAM, so
 * Node cannot send the datagram itself. We run systemd's own `systemd-notify --pid=<our pid>
 * VAR=VALUE...` per message (messages are rare: start, reload, stop, one watchdog ping every
 * WatchdogSec/2). Because that datagram comes from the helper's PID, not ours, the unit needs
 * `NotifyAccess=all` (systemd then accepts messages from any process of the unit's cgroup), and
 * `--pid` names us as MAINPID. systemd-notify (v246+) waits with a BARRIER=1 until the manager has
 * processed the message, so the helper is still alive, and attributable to our cgroup, when
 * systemd reads its credentials (the classic systemd-notify race). (With CAP_SYS_ADMIN the
 * helper even puts our PID in SCM_CREDENTIALS, but the unit's capability bounding set leaves
 * that capability out, so the unit relies on NotifyAccess=all.) Messages are sent one at a
 * time, in order.
 *
 * Without NOTIFY_SOCKET (not under systemd) every call is a no-op.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { ExecResult, RunCommandOptions } from '../sys/exec.js';
import { runCommand as defaultRunCommand } from '../sys/exec.js';

export type RunCommandFn = (argv: readonly string[], options: RunCommandOptions) => Promise<ExecResult>;

export interface SdNotifierOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly env?: NodeJS.ProcessEnv;
  readonly runCommand?: RunCommandFn;
  /** Path of the helper (default "systemd-notify" from PATH). */
  readonly helper?: string;
  readonly pid?: number;
}

/** CLOCK_MONOTONIC in microseconds, as MONOTONIC_USEC wants (libuv's hrtime is CLOCK_MONOTONIC). */
export function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

/** The daemon's side of sd_notify. */
export class SdNotifier {
  private readonly env: NodeJS.ProcessEnv;
  private readonly run: RunCommandFn;
  private readonly helper: string;
  private readonly pid: number;
  private queue: Promise<void> = Promise.resolve();
  private watchdogTimer: TimerHandle | undefined;
  private warned = false;
  private closed = false;

  constructor(private readonly options: SdNotifierOptions) {
    this.env = options.env ?? process.env;
    this.run = options.runCommand ?? defaultRunCommand;
    this.helper = options.helper ?? 'systemd-notify';
    this.pid = options.pid ?? process.pid;
  }

  /** True when systemd asked for notifications (NOTIFY_SOCKET is set). */
  get enabled(): boolean {
    return Boolean(this.env.NOTIFY_SOCKET);
  }

  /**
   * The watchdog ping interval: half of WATCHDOG_USEC (sd_watchdog_enabled(3) recommends pinging
   * at half the timeout), or undefined when the watchdog is off or meant for another PID.
   */
  get watchdogIntervalMs(): number | undefined {
    const usec = Number(this.env.WATCHDOG_USEC);
    if (!this.enabled || !Number.isFinite(usec) || usec <= 0) return undefined;
    const forPid = this.env.WATCHDOG_PID;
    if (forPid !== undefined && forPid !== '' && Number(forPid) !== this.pid) return undefined;
    return Math.max(1, Math.floor(usec / 1000 / 2));
  }

  /** READY=1 (after start-up completed), plus a STATUS line; starts watchdog pings. */
  ready(status: string): Promise<void> {
    const sent = this.send([`READY=1`, `STATUS=${status}`]);
    const every = this.watchdogIntervalMs;
    if (every !== undefined && this.watchdogTimer === undefined) {
      this.watchdogTimer = this.options.clock.setInterval(() => void this.send(['WATCHDOG=1']), every);
      this.watchdogTimer.unref();
    }
    return sent;
  }

  /** RELOADING=1 with MONOTONIC_USEC (systemd 253+ Type=notify-reload needs the timestamp). */
  reloading(): Promise<void> {
    return this.send(['RELOADING=1', `MONOTONIC_USEC=${monotonicUsec()}`, 'STATUS=reloading configuration']);
  }

  /** READY=1 again after a reload, with the outcome as STATUS. */
  reloaded(status: string): Promise<void> {
    return this.send(['READY=1', `STATUS=${status}`]);
  }

  stopping(): Promise<void> {
    this.stopWatchdog();
    return this.send(['STOPPING=1', 'STATUS=stopping']);
  }

  status(text: string): Promise<void> {
    return this.send([`STATUS=${text}`]);
  }

  /** Stops watchdog pings and waits for queued messages. */
  async close(): Promise<void> {
    this.stopWatchdog();
    this.closed = true;
    await this.queue;
  }

  private stopWatchdog(): void {
    this.watchdogTimer?.cancel();
    this.watchdogTimer = undefined;
  }

  private send(assignments: readonly string[]): Promise<void> {
    if (!this.enabled || this.closed) return Promise.resolve();
    // Newlines separate assignments in the datagram; a STATUS text must not smuggle extra ones.
    const clean = assignments.map((a) => a.replace(/[\r\n]+/g, ' '));
    const next = this.queue.then(async () => {
      const result = await this.run([this.helper, `--pid=${this.pid}`, ...clean], {
        timeoutMs: 10_000,
        env: this.env,
      });
      if ((result.error || result.exitCode !== 0) && !this.warned) {
        this.warned = true;
        const why = result.error?.message ?? (result.stderr.trim() || `exit status ${result.exitCode}`);
        this.options.logger.warn(`sd_notify via ${this.helper} failed: ${why}`, { notify: clean.join(' ') });
      }
    });
    this.queue = next;
    return next;
  }
}
