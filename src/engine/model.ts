/**
 * The forwarding engine's desired-state model and interface.
 *
 * The director computes a DesiredState from config + health + overrides + VRRP role and hands it
 * to `apply()`. Engines reconcile idempotently: applying the same state twice changes nothing,
 * and adding a service that exists is not an error (unlike ipvsadm -A). The same interface is
 * implemented by the embedded userspace engine, nftables and IPVS, so nothing kernel-specific
 * lives here. Addresses are canonical text (see core/ip.ts) so keys compare as strings.
 */
import type { IpFamily } from '../core/ip.js';
import type { ForwardMethod, SchedulerFlag, SchedulerName, ServiceProtocol } from '../core/types.js';

/** Everything the engine should be forwarding. */
export interface DesiredState {
  readonly services: readonly DesiredService[];
}

/** One virtual service. */
export interface DesiredService {
  /** Stable identity, the config's VirtualServiceConfig.id (`tcp:192.0.2.1:80`, `fwm:1`). */
  readonly key: string;
  readonly protocol: ServiceProtocol;
  readonly family: IpFamily;
  /** Canonical address text (no brackets); undefined for fwmark services. */
  readonly address?: string;
  readonly port: number;
  readonly fwmark?: number;
  readonly scheduler: SchedulerName;
  readonly schedulerFlags: readonly SchedulerFlag[];
  readonly persistence?: { readonly timeoutMs: number; readonly netmaskPrefixLength: number };
  /** One-packet scheduling (udp). */
  readonly ops: boolean;
  readonly reals: readonly DesiredReal[];
  readonly timeouts: { readonly tcpMs: number; readonly tcpFinMs: number; readonly udpMs: number };
  /** What happens to connections of a real that disappears from `reals`. */
  readonly onRealRemoved: 'finish' | 'reset';
  readonly proxyProtocol?: 'v1' | 'v2';
  /** L7 rules (embedded engine, tcp): first matching pattern picks the candidate reals. */
  readonly l7Rules: readonly { readonly pattern: string; readonly reals: readonly string[] }[];
  /**
   * IPVS sysctl expire_quiescent_template (default 0 = false): when true, a persistence template
   * pointing at a weight-0 real is dropped at the next lookup, so persistent clients move away from
   * a quiesced real at once instead of sticking to it until the template times out.
   */
  readonly expireQuiescentTemplate?: boolean;
}

/** One real server of a service. */
export interface DesiredReal {
  /** `192.0.2.10:80` / `[2001:db8::10]:80`. */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly forward: ForwardMethod;
  /** 0 = quiesced: no new connections, existing ones (and persistence templates) continue. */
  readonly weight: number;
  /** ipvsadm -x / -y; 0 = unlimited. */
  readonly upperThreshold: number;
  readonly lowerThreshold: number;
  /** True when this is the sorry server installed by the director (for display only). */
  readonly isFallback?: boolean;
}

/** What apply() did; one failed item never stops the others. */
export interface ApplyResult {
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
  readonly failures: readonly { readonly key: string; readonly error: Error }[];
}

/** ipvsadm-style counters (`ipvsadm -L -n --stats` and `--rate`). */
export interface Counters {
  /** Connections scheduled. */
  readonly conns: number;
  readonly inPackets: number;
  readonly outPackets: number;
  readonly inBytes: number;
  readonly outBytes: number;
}

/** Rates over the engine's moving window (per second). */
export interface Rates {
  readonly cps: number;
  readonly inPps: number;
  readonly outPps: number;
  readonly inBps: number;
  readonly outBps: number;
}

export interface RealStats {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly forward: ForwardMethod;
  readonly weight: number;
  readonly upperThreshold: number;
  readonly lowerThreshold: number;
  readonly isFallback: boolean;
  /** IPVS ActiveConn: established TCP connections. */
  readonly activeConns: number;
  /** IPVS InActConn: connections in other states (closing, UDP flows). */
  readonly inactiveConns: number;
  /** Persistence templates pointing at this real. */
  readonly persistentConns: number;
  /** Above the upper threshold (or otherwise refusing new connections). */
  readonly overloaded: boolean;
  readonly counters: Counters;
  readonly rates: Rates;
}

export interface ServiceStats {
  readonly key: string;
  readonly protocol: ServiceProtocol;
  readonly family: IpFamily;
  readonly address?: string;
  readonly port: number;
  readonly fwmark?: number;
  readonly scheduler: SchedulerName;
  readonly schedulerFlags: readonly SchedulerFlag[];
  readonly persistence?: { readonly timeoutMs: number; readonly netmaskPrefixLength: number };
  readonly ops: boolean;
  readonly reals: readonly RealStats[];
  readonly counters: Counters;
  readonly rates: Rates;
  /** Connections refused because no real was available, connect failures retried, etc. */
  readonly errors: { readonly noRealAvailable: number; readonly connectFailures: number };
  /** Embedded engine: is the listener bound (false while retrying a VIP not yet present)? */
  readonly listening?: boolean;
}

export interface EngineStats {
  readonly services: readonly ServiceStats[];
}

/** One entry of the connection table (ipvsadm -L -n -c). */
export interface ConnectionEntry {
  readonly protocol: 'TCP' | 'UDP' | 'IP';
  /** IPVS state name: ESTABLISHED, FIN_WAIT, CLOSE_WAIT, TIME_WAIT, SYN_RECV, UDP, NONE (templates). */
  readonly state: string;
  /** Milliseconds until the entry expires (idle timeout or persistence timeout). */
  readonly expiresInMs: number;
  readonly source: string;
  readonly virtual: string;
  readonly destination: string;
  /** True for persistence templates. */
  readonly template: boolean;
  readonly serviceKey: string;
}

/** A data path the director drives. */
export interface ForwardingEngine {
  readonly kind: 'embedded' | 'nftables' | 'ipvs';
  /** Prepares the engine (no services yet). */
  start(): Promise<void>;
  /** Reconciles to `desired`. Idempotent. */
  apply(desired: DesiredState): Promise<ApplyResult>;
  stats(): EngineStats;
  connections(): readonly ConnectionEntry[];
  /** Stop accepting; let live connections finish until the deadline, then reset them. Idempotent. */
  close(deadlineMs?: number): Promise<void>;
  /** Drop everything now. */
  destroy(): void;
}
