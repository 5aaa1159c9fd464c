/**
 * All VRRP instances of a director (the VrrpController contract of types.ts): builds one
 * VrrpInstance per vrrp_instance, wires vrrp_sync_group coordinators (sync-group.ts), trackers
 * (tracking.ts: track_interface polled through rawnet, vrrp_script run through runCommand,
 * track_file read on each poll) and notifications (notify.ts, scripts through runCommand).
 */
import { closeSync, constants as fsConstants, openSync, readFileSync, writeSync } from 'node:fs';
import type { VrrpSettings } from '../config/model.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { DirectorError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { runCommand } from '../sys/exec.js';
import { systemRawNet, type RawNet } from '../sys/rawnet.js';
import { VrrpInstance, type TakeoverTiming } from './instance.js';
import { Notifier, notifyStateFor } from './notify.js';
import { VrrpSyncGroup } from './sync-group.js';
import { InstanceTracking, ScriptTracker, type RunTrackScript } from './tracking.js';
import type { VrrpController, VrrpInstanceStatus, VrrpStateChange } from './types.js';
import type { ValidateOptions } from './validate.js';
import { netlinkAddressOps, VipManager, type AddressOps } from './vip-manager.js';

export interface VrrpControllerOptions {
  readonly settings: VrrpSettings;
  readonly clock: Clock;
  readonly logger: Logger;
  /** OS access; default the native addon. Unit tests pass MemoryRawNet. */
  readonly rawnet?: RawNet;
  /** Address operations; default rtnetlink through rawnet. */
  readonly addressOps?: AddressOps;
  /** Runs notify scripts (argv, no shell); default runCommand with a 60 s bound. */
  readonly runNotify?: (argv: readonly string[]) => Promise<unknown>;
  /** Runs track scripts; default runCommand with the script's timeout. */
  readonly runTrackScript?: RunTrackScript;
  readonly validate?: ValidateOptions;
  /** How often track_interface / track_file are polled (default 250 ms). */
  readonly trackPollMs?: number;
}

/** The controller plus what tests and the failover bench look at. */
export interface VrrpControllerHandle extends VrrpController {
  readonly instances: readonly VrrpInstance[];
  /** Last takeover timing per instance name. */
  takeoverTimings(): Record<string, TakeoverTiming | undefined>;
  /** keepalived-style extra counters per instance. */
  stats(): Record<string, ReturnType<VrrpInstance['stats']>>;
}

const defaultRunTrackScript: RunTrackScript = async (argv, timeoutMs) => {
  const r = await runCommand(argv, { timeoutMs, killGraceMs: 2000 });
  return {
    ...(r.exitCode !== null ? { exitCode: r.exitCode } : {}),
    ...(r.signal !== null ? { signal: r.signal } : {}),
    timedOut: r.timedOut,
  };
};

export function createVrrpController(opts: VrrpControllerOptions): VrrpControllerHandle {
  const { settings, clock } = opts;
  const log = opts.logger.child({ module: 'vrrp' });
  const listeners = new Set<(c: VrrpStateChange) => void>();
  const instances: VrrpInstance[] = [];
  const groups: VrrpSyncGroup[] = [];
  const trackers = new Map<string, ScriptTracker>();
  const trackings = new Map<VrrpInstance, InstanceTracking>();
  let poll: TimerHandle | undefined;
  let links: { close(): void } | undefined;
  let vips: VipManager | undefined;
  let started = false;
  let closed = false;

  const runNotify =
    opts.runNotify ?? ((argv: readonly string[]) => runCommand(argv, { timeoutMs: 60_000 }));
  const fifoWriter = (path: string | undefined) =>
    path === undefined
      ? undefined
      : (line: string) => {
          // O_NONBLOCK: opening a FIFO nobody reads would otherwise block the whole daemon;
          // without a reader the open fails with ENXIO and the line is dropped (and logged).
          let fd: number | undefined;
          try {
            fd = openSync(path, fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT | fsConstants.O_NONBLOCK, 0o600);
            writeSync(fd, line);
          } catch (e) {
            log.warn('cannot write notify FIFO', { path, error: (e as Error).message });
          } finally {
            if (fd !== undefined) closeSync(fd);
          }
        };

  function emit(change: VrrpStateChange): void {
    for (const l of listeners) {
      try {
        l(change);
      } catch (e) {
        log.error('state change listener failed', { error: (e as Error).message });
      }
    }
  }

  function applyTracking(inst: VrrpInstance): void {
    const t = trackings.get(inst);
    if (t) t.apply(inst.machine);
  }

  function pollTracked(): void {
    const rawnet = opts.rawnet ?? systemRawNet();
    for (const inst of instances) {
      const t = trackings.get(inst);
      if (!t) continue;
      let changed = false;
      const names = new Set([inst.config.interface, ...inst.config.trackInterfaces.map((i) => i.name)]);
      for (const name of names) {
        let up = false;
        try {
          up = rawnet.interfaceInfo(name).up;
        } catch {
          up = false;
        }
        changed = t.setInterfaceUp(name, up) || changed;
      }
      for (const f of inst.config.trackFiles) {
        let value = 0;
        try {
          value = Number.parseInt(readFileSync(f.path, 'utf8').trim(), 10);
          if (!Number.isFinite(value)) value = 0;
        } catch {
          value = 0;
        }
        changed = t.setFileValue(f.path, value) || changed;
      }
      if (changed) applyTracking(inst);
      inst.checkVipsPresent();
    }
  }

  const handle: VrrpControllerHandle = {
    get instances() {
      return instances;
    },

    async start(): Promise<void> {
      if (started) return;
      started = true;
      const rawnet = opts.rawnet ?? systemRawNet();
      vips = new VipManager({
        ops: opts.addressOps ?? netlinkAddressOps(rawnet),
        ifindex: (name) => rawnet.interfaceInfo(name).index,
        logger: log,
      });
      for (const config of settings.instances) {
        const notifier = new Notifier({
          run: runNotify,
          clock,
          logger: log,
          ...(config.notifyFifo !== undefined ? { writeFifo: fifoWriter(config.notifyFifo) as (l: string) => void } : {}),
        });
        const inst = new VrrpInstance({
          config,
          clock,
          logger: log,
          rawnet,
          vips,
          notifier,
          ...(opts.validate ? { validate: opts.validate } : {}),
          onStateChange: emit,
        });
        instances.push(inst);
        trackings.set(inst, InstanceTracking.fromConfig(config, settings.scripts));
      }
      for (const g of settings.syncGroups) {
        const members = g.instances.map((n) => {
          const inst = instances.find((i) => i.name === n);
          if (!inst) throw new DirectorError('DIR_ERR_VRRP_UNAVAILABLE', { reason: `sync group ${g.name}: unknown instance ${n}` });
          return inst.machine;
        });
        const notifier = new Notifier({ run: runNotify, clock, logger: log });
        groups.push(
          new VrrpSyncGroup({
            name: g.name,
            members,
            logger: log,
            onGroupStateChange: (c) => {
              log.info(`VRRP_Group(${c.group}) ${c.from} -> ${c.to}`);
              void notifier.notify(g.notify, { kind: 'GROUP', name: g.name, state: notifyStateFor(c.to), priority: 0 });
            },
          }),
        );
      }
      // vrrp_script trackers shared by every instance that tracks them.
      const runTrack = opts.runTrackScript ?? defaultRunTrackScript;
      for (const script of settings.scripts) {
        if (![...trackings.values()].some((t) => t.tracksScript(script.name))) continue;
        trackers.set(
          script.name,
          new ScriptTracker({
            script,
            clock,
            run: runTrack,
            logger: log,
            onChange: (tr) => {
              for (const [inst, t] of trackings) {
                if (!t.tracksScript(tr.name) || !tr.known) continue;
                t.setScriptOk(tr.name, tr.ok);
                applyTracking(inst);
              }
            },
          }),
        );
      }
      pollTracked();
      for (const inst of instances) {
        applyTracking(inst);
        inst.prepareSenders();
      }
      for (const inst of instances) inst.start();
      for (const t of trackers.values()) t.start();
      // Link changes arrive from rtnetlink at once (keepalived: "Netlink reports eth0 down");
      // the poll is the safety net (and the only source for track_file and fake rawnets).
      try {
        links = rawnet.watchLinks?.(() => {
          if (!closed) pollTracked();
        });
      } catch (e) {
        log.warn('link monitor unavailable, polling only', { error: (e as Error).message });
      }
      poll = clock.setInterval(pollTracked, opts.trackPollMs ?? 250);
    },

    onStateChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    status(): readonly VrrpInstanceStatus[] {
      return instances.map((i) => i.status());
    },

    async relinquish(name: string): Promise<void> {
      const inst = instances.find((i) => i.name === name);
      if (!inst) throw new DirectorError('DIR_ERR_VRRP_UNAVAILABLE', { reason: `no vrrp_instance named ${name}` });
      inst.machine.relinquish();
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      poll?.cancel();
      links?.close();
      for (const t of trackers.values()) t.close();
      for (const g of groups) g.close();
      await Promise.all(instances.map((i) => i.close()));
      vips?.close();
    },

    destroy(): void {
      if (closed) return;
      closed = true;
      poll?.cancel();
      links?.close();
      for (const t of trackers.values()) t.destroy();
      for (const g of groups) g.destroy();
      for (const i of instances) i.destroy();
      vips?.close();
    },

    takeoverTimings() {
      return Object.fromEntries(instances.map((i) => [i.name, i.lastTakeover]));
    },

    stats() {
      return Object.fromEntries(instances.map((i) => [i.name, i.stats()]));
    },
  };
  return handle;
}
