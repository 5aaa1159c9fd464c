/**
 * The ControlApi the daemon serves: reads and admin actions delegate to the Director, `reload`
 * goes through the Daemon (load the file, refuse it whole on any error, else director.reload).
 * Each admin call passes "who" (the control peer) to the director, which writes it to the log.
 */
import type { Clock } from '../core/clock.js';
import type {
  ChangeResult,
  CheckNowResult,
  ConnectionTimeouts,
  ControlApi,
  ControlCallContext,
  ControlPeer,
  DrainOptions,
  DrainProgress,
  DrainResult,
  FailoverResult,
  IpvsBatchResult,
  IpvsCommand,
  IpvsCommandOutcome,
  IpvsServiceRef,
  L7ServiceRules,
  RealRef,
  RealSelector,
  ReloadResult,
  VersionInfo,
} from '../control/api.js';
import { PROTOCOL_VERSION } from '../control/protocol.js';
import type { ClusterConfig } from '../config/model.js';
import type { RuntimeEditResult } from '../director/director.js';
import type { RuntimeEditCommand } from '../director/runtime-edits.js';
import type { DirectorStatus } from '../director/status.js';
import type { DrainHandle } from '../director/types.js';
import type { ConnectionEntry, EngineStats } from '../engine/model.js';
import type { CheckResult } from '../health/types.js';

/** What the adapter needs of the Director (src/director/director.ts). */
export interface AdminDirector {
  status(): DirectorStatus;
  engineStats(): EngineStats;
  connections(): readonly ConnectionEntry[];
  enable(selector: RealSelector, by?: string): void;
  disable(selector: RealSelector, by?: string): void;
  setWeight(selector: RealSelector, weight: number, by?: string): void;
  drain(selector: RealSelector, deadlineMs: number, by?: string): DrainHandle;
  checkNow(selector: RealSelector, by?: string): Promise<{ virtualId: string; realKey: string; result: CheckResult }[]>;
  failover(instance?: string, by?: string): Promise<string[]>;
  runtimeEdit(commands: readonly RuntimeEditCommand[], by?: string): Promise<RuntimeEditResult>;
  /** The effective table (config + runtime edits). */
  currentConfig(): ClusterConfig;
}

/** What the adapter needs of the Daemon. */
export interface ReloadingDaemon {
  reload(trigger: string): Promise<ReloadResult>;
  readonly config: ClusterConfig | undefined;
}

export interface DaemonControlApiOptions {
  readonly director: AdminDirector;
  readonly daemon: ReloadingDaemon;
  readonly clock: Clock;
  readonly version: string;
}

/** IPVS's defaults, shown when no service is configured (ipvsadm --set). */
const DEFAULT_TIMEOUTS: ConnectionTimeouts = { tcpMs: 900_000, tcpFinMs: 120_000, udpMs: 300_000 };

/** "uid=0 user=root pid=123" for the director's audit lines. */
export function describePeer(peer: ControlPeer | undefined): string {
  if (!peer) return 'in-process';
  if (peer.transport === 'in-process') return 'in-process';
  const parts = [`uid=${peer.uid ?? '?'}`];
  if (peer.user !== undefined) parts.push(`user=${peer.user}`);
  if (peer.pid !== undefined) parts.push(`pid=${peer.pid}${peer.pidVerified ? '' : '?'}`);
  return `control(${parts.join(' ')})`;
}

export class DaemonControlApi implements ControlApi {
  constructor(private readonly options: DaemonControlApiOptions) {}

  private get director(): AdminDirector {
    return this.options.director;
  }

  status(): DirectorStatus {
    return this.director.status();
  }

  engineStats(): EngineStats {
    return this.director.engineStats();
  }

  connections(): readonly ConnectionEntry[] {
    return this.director.connections();
  }

  timeouts(): ConnectionTimeouts {
    // --set applies to every service (runtime edit), so the first service's timeouts are the table's.
    return this.director.currentConfig().virtualServices[0]?.timeouts ?? this.options.daemon.config?.virtualServices[0]?.timeouts ?? DEFAULT_TIMEOUTS;
  }

  version(): VersionInfo {
    return {
      version: this.options.version,
      protocol: PROTOCOL_VERSION,
      engine: this.options.daemon.config?.daemon.engine ?? 'embedded',
      ipvsVersion: '1.2.1',
      connTableSize: 4096,
    };
  }

  reload(ctx?: ControlCallContext): Promise<ReloadResult> {
    return this.options.daemon.reload(`request from ${describePeer(ctx?.peer)}`);
  }

  /** The (virtual, real) pairs a selector matches, from the current status. */
  private affected(selector: RealSelector): RealRef[] {
    const refs: RealRef[] = [];
    for (const v of this.director.status().virtuals) {
      if (selector.virtualId !== undefined && v.id !== selector.virtualId) continue;
      for (const r of v.reals) if (r.key === selector.realKey) refs.push({ virtualId: v.id, realKey: r.key });
    }
    return refs;
  }

  private change(selector: RealSelector, verb: string): ChangeResult {
    const affected = this.affected(selector);
    return { affected, summary: `${verb} ${selector.realKey} in ${affected.length} virtual service(s)` };
  }

  async enable(selector: RealSelector, ctx?: ControlCallContext): Promise<ChangeResult> {
    this.director.enable(selector, describePeer(ctx?.peer));
    return this.change(selector, 'enabled');
  }

  async disable(selector: RealSelector, ctx?: ControlCallContext): Promise<ChangeResult> {
    this.director.disable(selector, describePeer(ctx?.peer));
    return this.change(selector, 'disabled');
  }

  async setWeight(selector: RealSelector, weight: number, ctx?: ControlCallContext): Promise<ChangeResult> {
    this.director.setWeight(selector, weight, describePeer(ctx?.peer));
    return this.change(selector, `weight ${weight} for`);
  }

  async drain(
    selector: RealSelector,
    options: DrainOptions,
    onProgress: (progress: DrainProgress) => void,
    ctx?: ControlCallContext,
  ): Promise<DrainResult> {
    const started = this.options.clock.now();
    const deadlineMs = options.deadlineMs ?? this.options.daemon.config?.daemon.drainDeadlineMs ?? 30_000;
    const by = describePeer(ctx?.peer);
    const handle = this.director.drain(selector, deadlineMs, by);
    const affected = this.affected(selector);
    const first = affected[0];
    const virtualId = affected.length === 1 && first ? first.virtualId : (selector.virtualId ?? '*');
    // Progress until done or the client goes away (the drain itself continues: the override stays).
    const streaming = (async () => {
      for await (const p of handle) {
        if (ctx?.signal.aborted) break;
        onProgress({
          virtualId,
          realKey: selector.realKey,
          activeConns: p.activeConns,
          inactiveConns: p.inactiveConns,
          persistentConns: 0,
          remainingMs: p.remainingMs,
        });
      }
    })();
    const outcome = await (ctx?.signal
      ? Promise.race([
          handle.done,
          new Promise<undefined>((resolve) => ctx.signal.addEventListener('abort', () => resolve(undefined), { once: true })),
        ])
      : handle.done);
    const elapsedMs = this.options.clock.now() - started;
    // A client that went away: the drain goes on (the override stays); stop reporting to it.
    if (!outcome) return { outcome: 'cancelled', affected, remainingConns: 0, elapsedMs };
    // The iterator ends with the drain: deliver the last progress before the result.
    await streaming.catch(() => undefined);
    if (options.then === 'keep' && outcome.reason !== 'cancelled') {
      // The director disables a drained real; 'keep' wants it left in the table at weight 0.
      this.director.setWeight(selector, 0, by);
    }
    return {
      outcome: outcome.reason === 'idle' ? 'drained' : outcome.reason,
      affected,
      remainingConns: outcome.activeConns + outcome.inactiveConns,
      elapsedMs,
    };
  }

  async checkNow(selector: RealSelector, ctx?: ControlCallContext): Promise<readonly CheckNowResult[]> {
    return this.director.checkNow(selector, describePeer(ctx?.peer));
  }

  async failover(instance: string | undefined, ctx?: ControlCallContext): Promise<FailoverResult> {
    const names = await this.director.failover(instance, describePeer(ctx?.peer));
    return { instances: names, summary: names.length ? `gave up mastership of ${names.join(', ')}` : 'no instance is MASTER' };
  }

  /**
   * ipvsadm-style edits (directorctl -A/-E/-D/-a/-e/-d/-C/-Z/--set, and -R as one batch): the
   * director applies the whole batch or none of it, in one engine apply, and writes one audit
   * line per command with the peer (rules: src/director/runtime-edits.ts). On a refusal, every
   * command before the refused one is reported as not applied either (`applied: 0`): unlike
   * ipvsadm -R, a bad line never leaves a half-restored table.
   */
  async ipvsadm(commands: readonly IpvsCommand[], ctx?: ControlCallContext): Promise<IpvsBatchResult> {
    const result = await this.director.runtimeEdit(commands, describePeer(ctx?.peer));
    if (result.ok) return { applied: result.applied, ok: true, outcomes: commands.map((_, index) => ({ index, ok: true })) };
    const e = result.error;
    const outcomes: IpvsCommandOutcome[] = [{ index: result.index, ok: false, error: { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) } }];
    return { applied: 0, ok: false, outcomes };
  }

  /** tcpvsadm --list: the L7 content rules of every tcp virtual that has some, in match order. */
  l7Rules(): readonly L7ServiceRules[] {
    return this.director
      .currentConfig()
      .virtualServices.filter((vs) => vs.l7Rules.length > 0)
      .map((vs) => ({ virtualId: vs.id, rules: vs.l7Rules.map((r) => ({ pattern: r.pattern, reals: [...r.reals] })) }));
  }
}

/** The config's virtual id for an ipvsadm service reference (`tcp:192.0.2.1:80`, `fwm:1`, `fwm6:1`). */
export function ipvsServiceId(ref: IpvsServiceRef): string {
  if (ref.protocol === 'fwm') return ref.family === 6 ? `fwm6:${ref.fwmark}` : `fwm:${ref.fwmark}`;
  const host = ref.address.includes(':') ? `[${ref.address}]` : ref.address;
  return `${ref.protocol}:${host}:${ref.port}`;
}
