/**
 * What the director reports about itself: the read side that control (directorctl status, JSON
 * status, Prometheus metrics, the web page) renders. Plain data, JSON-serialisable.
 */
import type { HealthStatus, VrrpState } from '../core/types.js';
import type { ConnectionEntry, EngineStats } from '../engine/model.js';
import type { VrrpInstanceStatus } from '../vrrp/types.js';

/** An operator override on one real (directorctl enable/disable/weight/drain, ipvsadm-style edits). */
export type RealOverride =
  | { readonly kind: 'disabled'; readonly since: number; readonly by: string }
  | { readonly kind: 'weight'; readonly weight: number; readonly since: number; readonly by: string }
  | { readonly kind: 'drain'; readonly deadlineAt: number; readonly since: number; readonly by: string };

/** A runtime (ipvsadm-style) edit: who made it and when; kept until `directorctl -C` (src/director/runtime-edits.ts). */
export interface RuntimeEditMark {
  /** 'added': not in the config (directorctl -A / -a); 'edited': configured, parameters changed (-E / -e). */
  readonly kind: 'added' | 'edited';
  readonly by: string;
  readonly since: number;
}

/** The last check of a real. Times are wall-clock ms since the epoch. */
export interface LastCheck {
  readonly ok: boolean;
  readonly detail: string;
  readonly durationMs: number;
  readonly at: number;
}

/** One real server of one virtual, as the director sees it. */
export interface RealStatus {
  readonly virtualId: string;
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly forward: 'gate' | 'masq' | 'ipip';
  /** Weight from the config. */
  readonly configuredWeight: number;
  /** Weight handed to the engine now (0 when quiesced, ramping during slow start); undefined when removed from the engine. */
  readonly engineWeight?: number;
  readonly health: HealthStatus;
  readonly override?: RealOverride;
  /** In maintenance because of a maintenancedir marker file. */
  readonly maintenance: boolean;
  readonly lastCheck?: LastCheck;
  /** Recent health transitions, oldest first (bounded). */
  readonly history: readonly { readonly at: number; readonly status: HealthStatus; readonly detail: string }[];
  /** The maintenancedir marker file that matched (ldirectord-spec 10.8). */
  readonly maintenanceFile?: string;
  /** Wall-clock ms when the slow-start ramp reaches the full weight (only while ramping). */
  readonly slowStartUntil?: number;
  /** Absolute weight the last check asked for (keepalived misc_dynamic exit status - 2). */
  readonly checkWeight?: number;
  /** Percentage of the configured weight the agent asked for (HAProxy agent "75%"). */
  readonly checkWeightPercent?: number;
  /** The agent asked for drain (present only when it did). */
  readonly agentDrain?: boolean;
  /** Present when the real was added or edited at run time. */
  readonly runtime?: RuntimeEditMark;
}

/** One virtual service. */
export interface VirtualStatus {
  readonly id: string;
  readonly protocol: 'tcp' | 'udp' | 'fwm';
  readonly family: 4 | 6;
  readonly address?: string;
  readonly port: number;
  readonly fwmark?: number;
  readonly scheduler: string;
  /** The sorry server is installed because no real is usable. */
  readonly fallbackActive: boolean;
  /** keepalived quorum state (true when no quorum is configured). */
  readonly quorumUp: boolean;
  readonly reals: readonly RealStatus[];
  /** Sum of weights of live reals (what quorum is compared with). */
  readonly liveWeightSum?: number;
  /** Items of the last engine apply that failed for this virtual (`key: message`). */
  readonly engineErrors?: readonly string[];
  /** Present when the service was added or edited at run time. */
  readonly runtime?: RuntimeEditMark;
}

/** Everything `directorctl status` shows. */
export interface DirectorStatus {
  /** Wall-clock ms when the director started. */
  readonly startedAt: number;
  readonly configFiles: readonly string[];
  /** Highest role of the VRRP instances (MASTER if any is master); undefined when VRRP is not configured. */
  readonly role?: VrrpState;
  readonly vrrp: readonly VrrpInstanceStatus[];
  readonly virtuals: readonly VirtualStatus[];
  /** Reloads applied and failed since start. */
  readonly reloads: { readonly ok: number; readonly failed: number; readonly lastError?: string };
  /** Daemon phase as ldirectord's emailalertstatus knows it (plus created/closed). */
  readonly phase?: 'created' | 'starting' | 'running' | 'stopping' | 'reloading' | 'closed';
  /** E-mail alert counters. */
  readonly alerts?: { readonly sent: number; readonly failed: number; readonly suppressed: number; readonly filtered: number };
  /** Runtime deletions and --set in force (additions and edits are marked on their virtual/real). */
  readonly runtimeEdits?: {
    readonly deletedServices: readonly { readonly id: string; readonly by: string; readonly since: number }[];
    readonly timeouts?: { readonly tcpMs: number; readonly tcpFinMs: number; readonly udpMs: number; readonly by: string; readonly since: number };
  };
}

/** The director's read side, for control. */
export interface DirectorReadApi {
  status(): DirectorStatus;
  engineStats(): EngineStats;
  connections(): readonly ConnectionEntry[];
}
