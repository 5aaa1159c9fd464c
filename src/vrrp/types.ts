/**
 * The VRRP side as the director sees it: instances change state, and the director reacts
 * (engine role, notify). The protocol itself lives in the rest of src/vrrp.
 */
import type { VrrpState } from '../core/types.js';

/** A state change of one instance. */
export interface VrrpStateChange {
  readonly instance: string;
  readonly from: VrrpState;
  readonly to: VrrpState;
  /** Why: "higher priority advert from 10.0.0.12", "master down timer", "priority 0 received", ... */
  readonly reason: string;
  readonly at: number;
}

/** Per-instance status for directorctl status and metrics. */
export interface VrrpInstanceStatus {
  readonly name: string;
  readonly state: VrrpState;
  readonly vrid: number;
  readonly interface: string;
  readonly basePriority: number;
  readonly effectivePriority: number;
  readonly masterAddress?: string;
  readonly transitions: number;
  /** Counters of received packets dropped by reason (keepalived-spec 1.8). */
  readonly dropped: Readonly<Record<string, number>>;
  readonly advertsSent: number;
  readonly advertsReceived: number;
}

/** All VRRP instances of a director. */
export interface VrrpController {
  start(): Promise<void>;
  onStateChange(listener: (change: VrrpStateChange) => void): () => void;
  status(): readonly VrrpInstanceStatus[];
  /** Give mastership away (directorctl failover): send priority 0 and go BACKUP for a while. */
  relinquish(instance: string): Promise<void>;
  /** Graceful stop: priority 0 adverts, remove VIPs. */
  close(): Promise<void>;
  destroy(): void;
}
