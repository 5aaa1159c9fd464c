/**
 * The pure policy: from one virtual's config and the state of each of its (virtual, real) pairs,
 * compute the engine service to install. No I/O and no clock reads: the director passes `now`.
 *
 * Rules and where they come from:
 * - A real is *serviceable* when its health is up, it is not in maintenance (ldirectord
 *   maintenancedir, ldirectord-spec 10.8), not disabled or draining by an operator, and its agent did
 *   not ask for drain. Its weight is the operator's pinned weight, else the weight the check reported
 *   (keepalived misc_dynamic), else the agent's percentage of the configured weight (HAProxy agent
 *   "75%", percentWeight), else the configured weight.
 * - A real that is not serviceable: quiescent=yes keeps it in the engine at weight 0 so its
 *   connections finish; quiescent=no removes it (ldirectord-spec 10.5). A quiescent real that is
 *   not in the engine is added back at weight 0 only with readdquiescent=yes.
 * - Fallback: when no real has a weight above 0 ("quiesced reals count as down", 10.5), the sorry
 *   server is part of the same service, so one apply() swaps the last real for the fallback and
 *   there is never a state with neither.
 * - Quorum (keepalived-spec 4.3): gained when the live weight sum S >= quorum + hysteresis, lost
 *   when S < quorum - hysteresis or S = 0. While lost and a sorry server is configured, the live
 *   reals are removed and the sorry server installed.
 * - Slow start: after a recovery the weight ramps linearly from 1 to the target over slowStartMs.
 */
import type { ClusterConfig, FallbackConfig, RealServerConfig, VirtualServiceConfig } from '../config/model.js';
import { formatHost } from '../core/ip.js';
import type { HealthStatus } from '../core/types.js';
import type { DesiredReal, DesiredService } from '../engine/model.js';
import type { RealOverride } from './status.js';

/** What the planner needs to know about one (virtual, real) pair. */
export interface PairInput {
  readonly health: HealthStatus;
  readonly override?: RealOverride;
  readonly maintenance: boolean;
  /** Absolute weight reported by the last check (keepalived misc_dynamic), if any. */
  readonly dynamicWeight?: number;
  /** Percentage of the configured weight reported by the last check (HAProxy agent "75%"), if any. */
  readonly dynamicWeightPercent?: number;
  /** The agent asked for drain. */
  readonly agentDrain: boolean;
  /** Monotonic time a slow-start ramp began; undefined = no ramp. */
  readonly rampStartedAt?: number;
  /** Whether the previous plan had this real in the engine. */
  readonly inEngine: boolean;
}

/** The planned state of one real. */
export interface PlannedReal {
  readonly realKey: string;
  /** Serviceable and with a target weight above 0. */
  readonly live: boolean;
  readonly serviceable: boolean;
  /** Weight the real should have when serviceable (override, dynamic or configured). */
  readonly targetWeight: number;
  /** Weight in the engine; undefined = not in the engine. */
  readonly engineWeight?: number;
  /** The ramp is still running (the director keeps stepping the clock). */
  readonly ramping: boolean;
}

/** The planned state of one virtual. */
export interface VirtualPlan {
  readonly virtualId: string;
  readonly service: DesiredService;
  readonly reals: readonly PlannedReal[];
  readonly fallbackActive: boolean;
  /** True when no quorum is configured. */
  readonly quorumUp: boolean;
  /** Sum of target weights of live reals (keepalived's weigh_live_realservers). */
  readonly liveWeightSum: number;
  /** No real is live (fallbackcommand start condition, which applies even without a fallback server). */
  readonly noLiveReal: boolean;
}

/** `[2001:db8::1]:80` / `192.0.2.1:80`: the key the engine and the status use for an endpoint. */
export function endpointText(address: string, family: 4 | 6, port: number): string {
  return family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Key of the sorry server inside its service. */
export function fallbackKey(fallback: FallbackConfig): string {
  return `${formatHost(fallback.address)}:${fallback.port}`;
}

/** How ldirectord names a virtual in log lines and fallbackcommand arguments: `vip:vport`, `:mark` style for fwmark. */
export function virtualLabel(vs: VirtualServiceConfig): string {
  if (vs.protocol === 'fwm') return `${vs.fwmark ?? 0}`;
  return vs.address ? `${formatHost(vs.address)}:${vs.port}` : `:${vs.port}`;
}

/** keepalived quorum with hysteresis (keepalived-spec 4.3). `previous` undefined = first evaluation. */
export function nextQuorumState(vs: VirtualServiceConfig, liveWeightSum: number, previous: boolean | undefined): boolean {
  const q = vs.quorum;
  if (!q) return true;
  if (previous === undefined) return liveWeightSum > 0 && liveWeightSum >= q.quorum;
  if (previous) return !(liveWeightSum < q.quorum - q.hysteresis || liveWeightSum === 0);
  return liveWeightSum > 0 && liveWeightSum >= q.quorum + q.hysteresis;
}

/** Linear ramp from 1 to target over slowStartMs (HAProxy slowstart); 0 stays 0. */
export function rampedWeight(target: number, rampStartedAt: number | undefined, slowStartMs: number, now: number): { weight: number; ramping: boolean } {
  if (rampStartedAt === undefined || slowStartMs <= 0 || target <= 1) return { weight: target, ramping: false };
  const elapsed = now - rampStartedAt;
  if (elapsed >= slowStartMs) return { weight: target, ramping: false };
  const w = Math.max(1, Math.ceil((target * Math.max(0, elapsed)) / slowStartMs));
  return { weight: Math.min(target, w), ramping: w < target };
}

/** Is the pair serviceable, ignoring weight? */
export function isServiceable(p: PairInput): boolean {
  if (p.health !== 'up' || p.maintenance || p.agentDrain) return false;
  return p.override?.kind !== 'disabled' && p.override?.kind !== 'drain';
}

/** Highest weight the engines take (IPVS: 0..65535). */
const MAX_WEIGHT = 65535;

/**
 * HAProxy agent weight: `configured x percent / 100` in integer arithmetic, as HAProxy's
 * server_parse_weight_change_request() computes it (src/server.c: the percent is clamped to 25600
 * against overflow, `w = iweight * w / 100`, truncated, then capped at the highest weight, 256
 * there and 65535 here). So 0% quiesces, and 75% of weight 1 is 0 (HAProxy drains it too).
 */
export function percentWeight(configured: number, percent: number): number {
  const pct = Math.max(0, Math.min(25_600, Math.trunc(percent)));
  return Math.min(MAX_WEIGHT, Math.floor((configured * pct) / 100));
}

/**
 * Weight a serviceable pair should have before slow start: the operator's pinned weight, else the
 * absolute weight of the check (misc_dynamic), else the agent's percentage of the configured
 * weight, else the configured weight.
 */
export function targetWeightOf(real: RealServerConfig, p: PairInput): number {
  if (p.override?.kind === 'weight') return p.override.weight;
  if (p.dynamicWeight !== undefined) return Math.max(0, Math.min(MAX_WEIGHT, Math.round(p.dynamicWeight)));
  if (p.dynamicWeightPercent !== undefined) return percentWeight(real.weight, p.dynamicWeightPercent);
  return real.weight;
}

/** Plans one virtual. */
export function planVirtual(
  vs: VirtualServiceConfig,
  pairs: ReadonlyMap<string, PairInput>,
  options: { readonly now: number; readonly readdQuiescent: boolean; readonly previousQuorumUp: boolean | undefined },
): VirtualPlan {
  const pre = vs.reals.map((real) => {
    const p = pairs.get(real.key) ?? { health: 'unknown' as const, maintenance: false, agentDrain: false, inEngine: true };
    const serviceable = isServiceable(p);
    const targetWeight = targetWeightOf(real, p);
    return { real, p, serviceable, targetWeight, live: serviceable && targetWeight > 0 };
  });
  const liveWeightSum = pre.reduce((sum, x) => sum + (x.live ? x.targetWeight : 0), 0);
  const quorumUp = nextQuorumState(vs, liveWeightSum, options.previousQuorumUp);
  // keepalived removes the live reals for the sorry server only when one is configured.
  const sorryMode = !quorumUp && vs.fallback !== undefined;

  const planned: PlannedReal[] = [];
  const desiredReals: DesiredReal[] = [];
  let anyLive = false;
  for (const { real, p, serviceable, targetWeight, live } of pre) {
    let engineWeight: number | undefined;
    let ramping = false;
    if (serviceable) {
      if (!sorryMode) {
        const r = rampedWeight(targetWeight, p.rampStartedAt, vs.slowStartMs, options.now);
        engineWeight = r.weight;
        ramping = r.ramping;
      }
    } else if (p.override?.kind === 'drain') {
      // Draining: weight 0 keeps existing connections (and persistence templates) alive.
      engineWeight = p.inEngine ? 0 : undefined;
    } else if (p.override?.kind === 'disabled') {
      engineWeight = undefined;
    } else if (p.agentDrain && p.health === 'up') {
      engineWeight = 0; // HAProxy agent "drain": no new connections, keep the old ones.
    } else if (vs.quiescent) {
      // ldirectord-spec 10.5: quiesce in place; re-add at weight 0 only with readdquiescent=yes.
      engineWeight = p.inEngine || options.readdQuiescent ? 0 : undefined;
    }
    if (engineWeight !== undefined && engineWeight > 0) anyLive = true;
    planned.push({ realKey: real.key, live, serviceable, targetWeight, ramping, ...(engineWeight === undefined ? {} : { engineWeight }) });
    if (engineWeight !== undefined) {
      desiredReals.push({
        key: real.key,
        address: real.address.text,
        port: real.port,
        forward: real.forward,
        weight: engineWeight,
        upperThreshold: real.upperThreshold,
        lowerThreshold: real.lowerThreshold,
      });
    }
  }

  const fallbackActive = vs.fallback !== undefined && (!anyLive || sorryMode);
  if (fallbackActive && vs.fallback) {
    const fb = vs.fallback;
    const key = fallbackKey(fb);
    const entry: DesiredReal = {
      key,
      address: fb.address.text,
      port: fb.port,
      forward: fb.forward,
      weight: Math.max(1, fb.weight),
      upperThreshold: 0,
      lowerThreshold: 0,
      isFallback: true,
    };
    // A sorry server that is also a (dead) real takes that real's slot rather than duplicating the key.
    const clash = desiredReals.findIndex((r) => r.key === key);
    if (clash >= 0) desiredReals.splice(clash, 1, entry);
    else desiredReals.push(entry);
  }

  const service: DesiredService = {
    key: vs.id,
    protocol: vs.protocol,
    family: vs.family,
    ...(vs.address ? { address: vs.address.text } : {}),
    port: vs.port,
    ...(vs.fwmark !== undefined ? { fwmark: vs.fwmark } : {}),
    scheduler: vs.scheduler,
    schedulerFlags: vs.schedulerFlags,
    ...(vs.persistence ? { persistence: { timeoutMs: vs.persistence.timeoutMs, netmaskPrefixLength: vs.persistence.netmaskPrefixLength } } : {}),
    ops: vs.ops,
    reals: desiredReals,
    timeouts: { tcpMs: vs.timeouts.tcpMs, tcpFinMs: vs.timeouts.tcpFinMs, udpMs: vs.timeouts.udpMs },
    onRealRemoved: vs.onRealRemoved,
    ...(vs.proxyProtocol ? { proxyProtocol: vs.proxyProtocol } : {}),
    l7Rules: vs.l7Rules.map((r) => ({ pattern: r.pattern, reals: r.reals })),
  };
  return { virtualId: vs.id, service, reals: planned, fallbackActive, quorumUp, liveWeightSum, noLiveReal: !anyLive };
}

/** Health-target key of a pair (src/health/types.ts HealthTarget.key). */
export function pairKey(virtualId: string, realKey: string): string {
  return `${virtualId}/${realKey}`;
}

/** All (virtual, real) pair keys of a config, in config order. */
export function pairKeys(config: ClusterConfig): string[] {
  return config.virtualServices.flatMap((vs) => vs.reals.map((r) => pairKey(vs.id, r.key)));
}
