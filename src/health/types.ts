/**
 * Health-check vocabulary: what a check is run against, what it returns, and the monitor that
 * schedules checks and reports transitions. Outcomes are values, never exceptions.
 */
import type { CheckConfig } from '../config/model.js';
import type { HealthStatus, ServiceProtocol } from '../core/types.js';

/** What one check run found. */
export interface CheckResult {
  readonly ok: boolean;
  /** One line for operators: "HTTP 200 in 3 ms", "connect ECONNREFUSED", "timed out after 5000 ms". */
  readonly detail: string;
  readonly durationMs: number;
  /** Absolute weight the server asked for (keepalived misc_dynamic: exit 2..255 → weight = status - 2). */
  readonly weight?: number;
  /** The server asked to be drained (agent check "drain"). */
  readonly drain?: boolean;
  /**
   * Weight as a percentage of the configured weight (agent check "75%", HAProxy semantics:
   * effective weight = configured weight x percent / 100). Kept apart from `weight`, which is an
   * absolute weight (misc_dynamic).
   */
  readonly weightPercent?: number;
}

/** The thing a check probes: one real server of one virtual service. */
export interface CheckTarget {
  /** Real address (canonical text) and port. */
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
  /** The virtual it belongs to, for ldirectord's external-check argument contract (vip vport rip rport). */
  readonly virtualAddress?: string;
  readonly virtualPort: number;
  readonly virtualProtocol: ServiceProtocol;
  readonly fwmark?: number;
  /** Per-real request/receive override (ldirectord real= "request" "receive"). */
  readonly request?: string;
  readonly receive?: string;
}

/** One check type. Implementations never throw from run(); they resolve a CheckResult. */
export interface Checker {
  run(target: CheckTarget, check: CheckConfig, signal: AbortSignal): Promise<CheckResult>;
}

/** What the monitor should be checking: one (virtual, real) pair. */
export interface HealthTarget {
  /** `<virtual id>/<real key>`, e.g. `tcp:192.0.2.1:80/192.0.2.10:80`. */
  readonly key: string;
  readonly target: CheckTarget;
  readonly check: CheckConfig;
}

/**
 * A change of a target's health. `from === to` (both 'up') when only the weight, weight percent or
 * drain requested by the check changed (misc_dynamic exit status, agent check): the director
 * re-reads result.weight / result.weightPercent / result.drain.
 */
export interface HealthTransition {
  readonly key: string;
  readonly from: HealthStatus;
  readonly to: HealthStatus;
  readonly result: CheckResult;
  /** Monotonic clock time of the transition. */
  readonly at: number;
}

/** The current view of one target. */
export interface HealthSnapshot {
  readonly key: string;
  readonly status: HealthStatus;
  readonly consecutiveOk: number;
  readonly consecutiveFail: number;
  readonly lastResult?: CheckResult;
  /** Monotonic time of the last completed check. */
  readonly lastCheckedAt?: number;
  /** Weight requested by the last result (dynamic weight), if any. */
  readonly dynamicWeight?: number;
  /** Percentage of the configured weight requested by the last result (agent check), if any. */
  readonly dynamicWeightPercent?: number;
  readonly drain?: boolean;
}

/** Listener for transitions. */
export type HealthListener = (transition: HealthTransition) => void;

/** One completed check of one target, whether or not it changed anything. */
export interface HealthResultEvent {
  readonly key: string;
  readonly result: CheckResult;
  /** Monotonic clock time the result was applied. */
  readonly at: number;
}

export type HealthResultListener = (event: HealthResultEvent) => void;

/**
 * Schedules checks for a set of targets and reports transitions.
 * `setTargets` reconciles: unchanged targets keep their state and schedule; identical checks
 * (same real, same check parameters) are run once and shared between virtuals.
 */
export interface HealthMonitor {
  start(): void;
  setTargets(targets: readonly HealthTarget[], initial?: ReadonlyMap<string, HealthStatus>): void;
  onTransition(listener: HealthListener): () => void;
  /** Every completed check (ldirectord's monitorfile has a line per check outcome). */
  onResult?(listener: HealthResultListener): () => void;
  snapshot(key: string): HealthSnapshot | undefined;
  snapshots(): readonly HealthSnapshot[];
  /** Runs the check for one target now, outside the schedule (directorctl check). */
  checkNow(key: string): Promise<CheckResult>;
  close(): Promise<void>;
  destroy(): void;
}
