/**
 * The control API: everything `directorctl` (and the metrics/status HTTP server) can ask of a
 * running director. The daemon implements `ControlApi` by delegating to the Director; the control
 * server (./server.ts) exposes it over the root-only unix socket with the versioned JSON protocol
 * of ./protocol.ts, and the client (./client.ts) offers the same calls typed.
 *
 * Every request and result type is plain JSON data: the same values travel over the socket.
 * Failures are thrown as DirectorError (their code, message and hint reach the client as an
 * error frame); outcomes that are not failures (a check that found the real down, a reload the
 * config refused) are values.
 */
import type { ConnectionTimeouts } from '../config/model.js';
import type { RuntimeEditCommand as IpvsCommand } from '../director/runtime-edits.js';
import type { DirectorStatus } from '../director/status.js';

// Re-exported so the CLI (which may not import src/director) can name what it renders.
export type { DirectorStatus, LastCheck, RealOverride, RealStatus, VirtualStatus } from '../director/status.js';
import type { ConnectionEntry, EngineStats } from '../engine/model.js';
import type { CheckResult } from '../health/types.js';
import type { EngineKind } from '../core/types.js';

/**
 * Which (virtual, real) pairs an admin command acts on. `realKey` is the real's key as
 * `directorctl status` shows it (`192.0.2.10:80`, `[2001:db8::10]:80`); without `virtualId` the
 * command applies to that real in every virtual it belongs to.
 */
export interface RealSelector {
  /** A virtual id as in DirectorStatus (`tcp:192.0.2.1:80`, `fwm:1`). */
  readonly virtualId?: string;
  readonly realKey: string;
}

/** One (virtual, real) pair an admin command touched. */
export interface RealRef {
  readonly virtualId: string;
  readonly realKey: string;
}

/** The pairs a mutating command changed, and a one-line summary for humans. */
export interface ChangeResult {
  readonly affected: readonly RealRef[];
  readonly summary: string;
}

/** One problem that made a reload fail (a config error keeps its file:line:column). */
export interface ReloadProblem {
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
}

/**
 * Result of a reload. `ok: false` means the new config was refused and the old one keeps running
 * (ldirectord keeps the old table on a bad config too); `errors` says why.
 */
export interface ReloadResult {
  readonly ok: boolean;
  readonly errors?: readonly ReloadProblem[];
  /** "2 virtuals changed, 1 added, 0 removed" or similar. */
  readonly summary: string;
}

/** Options of a drain. */
export interface DrainOptions {
  /** Give up waiting after this many ms (default decided by the daemon, 30 s in directorctl). */
  readonly deadlineMs?: number;
  /**
   * What to do with the real once it is drained or the deadline passed: 'remove' takes it out of
   * the engine (live connections past the deadline are reset), 'keep' leaves it at weight 0.
   */
  readonly then?: 'remove' | 'keep';
}

/** A progress report during a drain; sent at least once a second and on every change. */
export interface DrainProgress {
  readonly virtualId: string;
  readonly realKey: string;
  /** Established connections still on the real (IPVS ActiveConn). */
  readonly activeConns: number;
  /** Other connections (IPVS InActConn). */
  readonly inactiveConns: number;
  /** Persistence templates still pointing at the real. */
  readonly persistentConns: number;
  /** ms left until the deadline. */
  readonly remainingMs: number;
}

/** How a drain ended. */
export interface DrainResult {
  /** 'drained': connections reached zero; 'deadline': the deadline passed first; 'cancelled': the client went away or an enable undid the drain. */
  readonly outcome: 'drained' | 'deadline' | 'cancelled';
  readonly affected: readonly RealRef[];
  /** Connections still open when it ended (0 when drained). */
  readonly remainingConns: number;
  readonly elapsedMs: number;
}

/** The result of `directorctl check`: one per (virtual, real) pair the selector matched. */
export interface CheckNowResult {
  readonly virtualId: string;
  readonly realKey: string;
  readonly result: CheckResult;
}

/** Result of `directorctl failover`. */
export interface FailoverResult {
  /** Instances that gave mastership away (sent priority 0 and went BACKUP). */
  readonly instances: readonly string[];
  readonly summary: string;
}

/** ipvsadm --timeout: connection idle timeouts, in ms (ipvsadm prints seconds). */
export type { ConnectionTimeouts } from '../config/model.js';

/** Versions, for `directorctl --version` and the ipvsadm header. */
export interface VersionInfo {
  /** directord package version. */
  readonly version: string;
  /** Control protocol version the daemon speaks (PROTOCOL_VERSION). */
  readonly protocol: number;
  readonly engine: EngineKind;
  /** Version string printed in `IP Virtual Server version X (size=N)`; "1.2.1" for the embedded engine. */
  readonly ipvsVersion: string;
  /** Connection hash-table size printed as `(size=N)`; 4096 unless the kernel says otherwise. */
  readonly connTableSize: number;
}

/* ----------------------------------------------------------------------------------------------
 * ipvsadm-style runtime overrides (directorctl -A/-E/-D/-a/-e/-d/-C/-Z/--set and -R).
 *
 * These edit the running table the way ipvsadm edits the kernel's, but they are recorded as
 * overrides on top of the config (src/director/runtime-edits.ts): health transitions, a reload
 * and a restart (state file) keep them, `directorctl status` shows them, and only `directorctl -C`
 * drops them. A batch (-R) is applied all or nothing, in one engine apply. Semantics follow ipvsadm(8): -A on an existing service and -a on an existing real are
 * errors (use -E/-e), -d of a real of an unknown service says "no such service".
 * -------------------------------------------------------------------------------------------- */

// The edit vocabulary is the director's (src/director/runtime-edits.ts), under ipvsadm's names.
export type {
  EditServiceRef as IpvsServiceRef,
  EditServiceOptions as IpvsServiceOptions,
  EditRealOptions as IpvsRealOptions,
  RuntimeEditCommand as IpvsCommand,
} from '../director/runtime-edits.js';

/** Outcome of one command in a batch (a refused batch reports only the refused command). */
export interface IpvsCommandOutcome {
  readonly index: number;
  readonly ok: boolean;
  readonly error?: { readonly code: string; readonly message: string; readonly hint?: string };
}

/** Result of `ipvsadm()` for a batch. */
export interface IpvsBatchResult {
  /** Commands applied: all of them when ok, 0 when one was refused (a batch is all or nothing). */
  readonly applied: number;
  readonly ok: boolean;
  readonly outcomes: readonly IpvsCommandOutcome[];
}

/** L7 content rules of one virtual (tcpvsadm --list): first matching pattern wins. */
export interface L7ServiceRules {
  readonly virtualId: string;
  readonly rules: readonly { readonly pattern: string; readonly reals: readonly string[] }[];
}

/* ---------------------------------------------------------------------------------------------- */

/** The read side: enough for metrics, status.json and the status page. */
export interface ControlReadApi {
  status(): DirectorStatus | Promise<DirectorStatus>;
  engineStats(): EngineStats | Promise<EngineStats>;
  connections(): readonly ConnectionEntry[] | Promise<readonly ConnectionEntry[]>;
  timeouts(): ConnectionTimeouts | Promise<ConnectionTimeouts>;
  version(): VersionInfo | Promise<VersionInfo>;
  /** L7 rules per virtual for `directorctl tcpvsadm --list`; optional (absent = no L7 rules). */
  l7Rules?(): readonly L7ServiceRules[] | Promise<readonly L7ServiceRules[]>;
}

/** Who asked for an admin command (written to the audit log). */
export interface ControlPeer {
  /** 'unix' for the control socket. */
  readonly transport: 'unix' | 'in-process';
  /**
   * uid/pid of the connecting process. Node cannot read SO_PEERCRED, so the server asks the
   * kernel through sock_diag (`ss`, see ./peer.ts): then `credentials` is 'kernel'. When that is
   * not possible they are what the client declared in its hello ('declared'), and `pidVerified`
   * says whether the declared pid exists and runs as the declared uid. Access itself is enforced
   * by the socket's mode (0600, root-owned), not by these fields.
   */
  readonly uid?: number;
  readonly pid?: number;
  readonly user?: string;
  readonly pidVerified: boolean;
  readonly credentials?: 'kernel' | 'declared';
  /** Process name of the peer when the kernel told us ("directorctl" runs as "node"). */
  readonly command?: string;
  /** Connection number on this server, for correlating log lines. */
  readonly connection: number;
}

/** Optional context the server passes to admin calls. */
export interface ControlCallContext {
  readonly peer: ControlPeer;
  /** Aborted when the client disconnects (a drain stops streaming; the override stays). */
  readonly signal: AbortSignal;
}

/** The full control API the daemon implements. */
export interface ControlApi extends ControlReadApi {
  /** Re-read the config (SIGHUP equivalent). Never throws for a bad config: returns ok false. */
  reload(ctx?: ControlCallContext): Promise<ReloadResult>;
  /** Clear a disable/weight/drain override (ldirectord: back to what health says). */
  enable(selector: RealSelector, ctx?: ControlCallContext): Promise<ChangeResult>;
  /** Take the real out (weight 0 or removed, per the virtual's quiescent setting) until enabled. */
  disable(selector: RealSelector, ctx?: ControlCallContext): Promise<ChangeResult>;
  /** Override the configured weight (0..65535). */
  setWeight(selector: RealSelector, weight: number, ctx?: ControlCallContext): Promise<ChangeResult>;
  /** Weight 0, then report progress until connections reach zero or the deadline passes. */
  drain(
    selector: RealSelector,
    options: DrainOptions,
    onProgress: (progress: DrainProgress) => void,
    ctx?: ControlCallContext,
  ): Promise<DrainResult>;
  /** Run the configured check of the matched pairs once, now, outside the schedule. */
  checkNow(selector: RealSelector, ctx?: ControlCallContext): Promise<readonly CheckNowResult[]>;
  /** Give away mastership of one VRRP instance, or of every instance that is MASTER. */
  failover(instance: string | undefined, ctx?: ControlCallContext): Promise<FailoverResult>;
  /** Apply ipvsadm-style edits in order, all or nothing: the first refusal leaves the table unchanged. */
  ipvsadm(commands: readonly IpvsCommand[], ctx?: ControlCallContext): Promise<IpvsBatchResult>;
}

/** Methods that change state: each is passed to the audit hook before it runs. */
export const ADMIN_METHODS = ['reload', 'enable', 'disable', 'setWeight', 'drain', 'checkNow', 'failover', 'ipvsadm'] as const;
export type AdminMethod = (typeof ADMIN_METHODS)[number];

/** Methods that only read. */
export const READ_METHODS = ['status', 'engineStats', 'connections', 'timeouts', 'version', 'ping', 'l7Rules'] as const;
export type ReadMethod = (typeof READ_METHODS)[number];

export type ControlMethod = AdminMethod | ReadMethod;

/** One audit record: who asked for what. The daemon writes it to its log (and syslog). */
export interface AuditRecord {
  readonly method: AdminMethod;
  readonly params: unknown;
  readonly peer: ControlPeer;
  /** Wall-clock ms. */
  readonly at: number;
}

/** Called before every admin request runs; a throw refuses the request (the error reaches the client). */
export type AuditHook = (record: AuditRecord) => void;
