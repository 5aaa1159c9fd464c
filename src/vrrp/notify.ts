/**
 * keepalived-compatible notifications (keepalived-spec 3.5): the argv of notify scripts and the
 * notify_fifo line format, so that existing keepalived notify scripts and FIFO readers work as is.
 *
 * - `notify_master/backup/fault/stop` run with exactly their configured arguments.
 * - `notify` (generic) runs after the specific one with four extra arguments:
 *   `INSTANCE|GROUP`, name, `MASTER|BACKUP|FAULT|STOP|DELETED`, priority (0 for groups).
 * - FIFO lines: `INSTANCE "VI_1" MASTER 160\n`, `GROUP "G1" BACKUP 0\n`; events
 *   `MASTER_RX_LOWER_PRI`, `MASTER_PRIORITY` / `BACKUP_PRIORITY` use the same shape.
 * - Scripts are fire-and-forget, except STOP scripts which are given 1 s (keepalived waits for them).
 *
 * Execution is injected (spawn with an argument array, never a shell: common.md).
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { nullLogger } from '../core/logger.js';
import type { VrrpState } from '../core/types.js';
import type { NotifyConfig } from '../config/model.js';

export type NotifyKind = 'INSTANCE' | 'GROUP';
/** States keepalived reports (STOP on shutdown, DELETED with notify_deleted at reload). */
export type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP' | 'DELETED';
/** FIFO-only events (keepalived vrrp_notify_fifo). */
export type NotifyFifoEvent = NotifyState | 'MASTER_RX_LOWER_PRI' | 'MASTER_PRIORITY' | 'BACKUP_PRIORITY';

export interface NotifyEvent {
  readonly kind: NotifyKind;
  readonly name: string;
  readonly state: NotifyState;
  /** The instance's effective priority; keepalived passes 0 for groups. */
  readonly priority: number;
}

/** The keepalived state word for a directord state transition target ('INIT' after stop() = STOP). */
export function notifyStateFor(to: VrrpState): NotifyState {
  return to === 'INIT' ? 'STOP' : to;
}

/**
 * The argv lists to run for one event, in keepalived's order: the state-specific script first,
 * then the generic `notify` script with its four extra arguments.
 */
export function notifyCommands(config: NotifyConfig, event: NotifyEvent): string[][] {
  const out: string[][] = [];
  const specific =
    event.state === 'MASTER'
      ? config.master
      : event.state === 'BACKUP'
        ? config.backup
        : event.state === 'FAULT'
          ? config.fault
          : event.state === 'STOP'
            ? config.stop
            : undefined;
  if (specific && specific.length > 0) out.push([...specific]);
  if (config.any && config.any.length > 0) {
    const priority = event.kind === 'GROUP' ? 0 : event.priority;
    out.push([...config.any, event.kind, event.name, event.state, String(priority)]);
  }
  return out;
}

/** One notify_fifo line, newline included: `INSTANCE "VI_1" MASTER 160\n` (no trailing NUL for VRRP lines). */
export function notifyFifoLine(kind: NotifyKind, name: string, event: NotifyFifoEvent, priority: number): string {
  return `${kind} "${name}" ${event} ${kind === 'GROUP' ? 0 : priority}\n`;
}

/** How a notify script is run: resolves when it exits (the Notifier does not care about the status). */
export type RunNotifyScript = (argv: readonly string[]) => Promise<unknown>;

export interface NotifierOptions {
  readonly run: RunNotifyScript;
  /** Writes one line to the FIFO; absent when no notify_fifo is configured. */
  readonly writeFifo?: (line: string) => void;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** How long STOP scripts are awaited (keepalived: 1 s). */
  readonly stopWaitMs?: number;
}

/** Runs notify scripts and writes FIFO lines for instance/group events. */
export class Notifier {
  private readonly log: Logger;

  constructor(private readonly opts: NotifierOptions) {
    this.log = opts.logger ?? nullLogger;
  }

  /**
   * Notifies one event. Returns a promise that resolves at once for MASTER/BACKUP/FAULT (scripts
   * run in the background, concurrently, like keepalived) and after the scripts exit or
   * `stopWaitMs` passes for STOP.
   */
  notify(config: NotifyConfig, event: NotifyEvent): Promise<void> {
    this.opts.writeFifo?.(notifyFifoLine(event.kind, event.name, event.state, event.priority));
    const runs = notifyCommands(config, event).map((argv) =>
      this.opts.run(argv).then(
        () => undefined,
        (err: unknown) => this.log.warn(`notify script ${argv[0] ?? ''} failed`, { error: String(err) }),
      ),
    );
    if (event.state !== 'STOP' || runs.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t = this.opts.clock.setTimeout(resolve, this.opts.stopWaitMs ?? 1000);
      void Promise.all(runs).then(() => {
        t.cancel();
        resolve();
      });
    });
  }

  /** A FIFO-only event (MASTER_RX_LOWER_PRI, MASTER_PRIORITY, BACKUP_PRIORITY). */
  fifoEvent(kind: NotifyKind, name: string, event: NotifyFifoEvent, priority: number): void {
    this.opts.writeFifo?.(notifyFifoLine(kind, name, event, priority));
  }
}
