/**
 * The ControlApi the daemon serves: reads and admin actions delegate to the Director, `reload`
 * goes through the Daemon (load the file, refuse it whole on any error, else director.reload).
 * Each admin call passes "who" (the control peer) to the director, which writes it to the log.
 */
import { DirectorError } from '../core/errors.js';
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
  RealRef,
  RealSelector,
  ReloadResult,
  VersionInfo,
} from '../control/api.js';
import { PROTOCOL_VERSION } from '../control/protocol.js';
import type { ClusterConfig } from '../config/model.js';
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
    return this.options.daemon.config?.virtualServices[0]?.timeouts ?? DEFAULT_TIMEOUTS;
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
   * ipvsadm-style edits, as far as they map onto the director's overrides (which survive a
   * reload, as ipvsadm edits do not): `-e ... -w N` pins a weight, `-d` takes a real out (as a
   * disable) and `-a` of such a real brings it back (enable). Adding new services or reals,
   * changing the forwarding method or thresholds, -C, -Z and --set are not supported yet; the
   * batch stops at the first failure, as `ipvsadm -R` does.
   */
  async ipvsadm(commands: readonly IpvsCommand[], ctx?: ControlCallContext): Promise<IpvsBatchResult> {
    const outcomes: IpvsCommandOutcome[] = [];
    let applied = 0;
    for (const [index, command] of commands.entries()) {
      try {
        this.applyIpvs(command, describePeer(ctx?.peer));
        outcomes.push({ index, ok: true });
        applied++;
      } catch (error) {
        const e = error as DirectorError;
        outcomes.push({ index, ok: false, error: { code: e.code ?? 'DIR_ERR_DAEMON_NOT_SUPPORTED', message: e.message, ...(e.hint ? { hint: e.hint } : {}) } });
        return { applied, ok: false, outcomes };
      }
    }
    return { applied, ok: true, outcomes };
  }

  private applyIpvs(command: IpvsCommand, by: string): void {
    if (command.op !== 'edit-real' && command.op !== 'delete-real' && command.op !== 'add-real') {
      throw new DirectorError('DIR_ERR_DAEMON_NOT_SUPPORTED', { what: `ipvsadm ${command.op}` });
    }
    const virtualId = ipvsServiceId(command.service);
    const virtual = this.director.status().virtuals.find((v) => v.id === virtualId);
    if (!virtual) throw new DirectorError('DIR_ERR_CONTROL_NO_SUCH_SERVICE', { service: virtualId });
    const realKey = command.real.address.includes(':') ? `[${command.real.address}]:${command.real.port}` : `${command.real.address}:${command.real.port}`;
    const real = virtual.reals.find((r) => r.key === realKey);
    const selector: RealSelector = { virtualId, realKey };
    if (command.op === 'add-real') {
      if (!real) throw new DirectorError('DIR_ERR_DAEMON_NOT_SUPPORTED', { what: `adding real server ${realKey} that is not in the config` });
      if (real.override?.kind !== 'disabled') throw new DirectorError('DIR_ERR_CONTROL_REAL_EXISTS', { real: realKey, service: virtualId });
      this.director.enable(selector, by);
      // directorctl always sends a weight (ipvsadm's default 1); pin it only when it differs.
      if (command.options.weight !== undefined && command.options.weight !== real.configuredWeight) this.director.setWeight(selector, command.options.weight, by);
      return;
    }
    if (!real) throw new DirectorError('DIR_ERR_CONTROL_NO_SUCH_REAL', { real: realKey, where: ` in ${virtualId}` });
    if (command.op === 'delete-real') {
      this.director.disable(selector, by);
      return;
    }
    const o = command.options;
    if ((o.forward !== undefined && o.forward !== real.forward) || o.upperThreshold !== undefined || o.lowerThreshold !== undefined) {
      throw new DirectorError('DIR_ERR_DAEMON_NOT_SUPPORTED', { what: 'changing the forwarding method or thresholds of a real at run time' });
    }
    if (o.weight !== undefined) this.director.setWeight(selector, o.weight, by);
  }

}

/** The config's virtual id for an ipvsadm service reference (`tcp:192.0.2.1:80`, `fwm:1`, `fwm6:1`). */
export function ipvsServiceId(ref: IpvsServiceRef): string {
  if (ref.protocol === 'fwm') return ref.family === 6 ? `fwm6:${ref.fwmark}` : `fwm:${ref.fwmark}`;
  const host = ref.address.includes(':') ? `[${ref.address}]` : ref.address;
  return `${ref.protocol}:${host}:${ref.port}`;
}
