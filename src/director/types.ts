/**
 * The director's own vocabulary: admin selectors, drain progress, and the seams it is given
 * (command runner, mailer, reverse lookup) so that every side effect can be faked in unit tests.
 */
import type { ExecResult } from '../sys/exec.js';

/** The result of running a command without a shell: src/sys/exec.ts's ExecResult. */
export type CommandResult = ExecResult;

/** Options the director passes when running a command (a subset of src/sys/exec.ts options). */
export interface CommandOptions {
  readonly timeoutMs: number;
  readonly maxOutputBytes?: number;
  readonly input?: string;
}

/** Runs argv with no shell (src/sys/exec.ts runCommand). Never rejects for a failing command. */
export type RunCommand = (argv: readonly string[], options: CommandOptions) => Promise<CommandResult>;

/**
 * Which real(s) an admin action applies to. Without virtualId the action applies to that real in
 * every virtual that lists it (ldirectord users think in terms of "the server", not the pair).
 */
export interface RealSelector {
  readonly virtualId?: string;
  readonly realKey: string;
}

/** One step of a drain, reported until the real is idle or the deadline passes. */
export interface DrainProgress {
  /** IPVS ActiveConn summed over the drained pairs. */
  readonly activeConns: number;
  /** IPVS InActConn summed over the drained pairs. */
  readonly inactiveConns: number;
  /** Milliseconds left until the deadline (0 when it has passed). */
  readonly remainingMs: number;
}

/** How a drain ended. */
export interface DrainOutcome {
  /** 'idle': every connection finished; 'deadline': time ran out; 'cancelled': enable/disable/reload replaced it. */
  readonly reason: 'idle' | 'deadline' | 'cancelled';
  readonly activeConns: number;
  readonly inactiveConns: number;
}

/**
 * A running drain: iterate it for progress (one item per poll), or await `done`.
 * After 'idle' or 'deadline' the pairs are disabled (removed from the engine).
 */
export interface DrainHandle extends AsyncIterable<DrainProgress> {
  readonly done: Promise<DrainOutcome>;
}

/** One e-mail alert. */
export interface MailMessage {
  /** Envelope sender and From: header. */
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly body: string;
}

/** Sends alerts (SMTP or the sendmail binary). Rejects with DIR_ERR_DIRECTOR_MAIL on failure. */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

/** The daemon state ldirectord's emailalertstatus filters on (ldirectord-spec 10.9). */
export type DaemonPhase = 'starting' | 'running' | 'stopping' | 'reloading';

/** Reverse lookup used for maintenancedir FQDN names (getnameinfo NI_NAMEREQD): undefined = no name. */
export type ReverseLookup = (address: string) => Promise<string | undefined>;
