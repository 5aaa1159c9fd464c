/**
 * The VRRP state machine of one instance, as keepalived implements it (keepalived-spec 1.3-1.7),
 * over RFC 3768 (VRRPv2) and RFC 5798/9568 (VRRPv3) section 6. Pure: it is stepped by calls and by
 * the injected Clock, and asks its owner to do I/O through actions. It never touches a socket.
 *
 * Actions and what the owner (instance.ts) does with them:
 * - `send-advert {priority, cause}`: send one advert with this priority now. `cause` says why;
 *   on 'lower-priority-received' keepalived also sends `garp_lower_prio_repeat` GARPs (2.2).
 * - `become-master`: add VIPs, GARP burst, start the delayed burst and refresh (2.2).
 * - `become-backup` / `become-fault`: do not hold VIPs (remove them if present). Also emitted at
 *   start (keepalived removes leftover VIPs at init, 1.4 step 1) and on stop (reason 'stop').
 * - `state-change {from, to}`: for notify scripts/FIFO, status and logs; to 'INIT' means stopped
 *   (keepalived's STOP notification).
 *
 * Order within one step follows keepalived: becoming MASTER = advert first, then VIPs, then the
 * notification (1.4 "Becoming MASTER"); leaving MASTER for FAULT or stop = priority-0 advert, then
 * VIP removal. `state` already holds the new state when the actions of a step are dispatched.
 * Actions are queued and dispatched after the step's bookkeeping is complete, so an owner may call
 * back into this machine (or deliver packets to others that answer) from inside onAction.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { nullLogger } from '../core/logger.js';
import type { VrrpState } from '../core/types.js';
import { compareIp, parseIp } from '../core/ip.js';
import type { VrrpInstanceConfig } from '../config/model.js';
import type { VrrpPacket } from './codec.js';

/** Why an advert is sent (an addition to the agreed API; owners may ignore it). */
export type AdvertCause =
  | 'become-master'
  | 'periodic'
  | 'priority-0-received'
  | 'lower-priority-received'
  | 'stop'
  | 'fault'
  | 'relinquish';

export type VrrpAction =
  | { readonly type: 'send-advert'; readonly priority: number; readonly cause: AdvertCause }
  | { readonly type: 'become-master'; readonly reason: string }
  | { readonly type: 'become-backup'; readonly reason: string }
  | { readonly type: 'become-fault'; readonly reason: string }
  | {
      readonly type: 'state-change';
      readonly from: VrrpState;
      readonly to: VrrpState;
      readonly reason: string;
      /** Set when the change was forced by this sync group (keepalived suppresses member notifies then, 3.6). */
      readonly syncGroup?: string;
    };

/** What receiveAdvert did with an advert (for counters and tests). */
export type AdvertOutcome =
  | 'ignored-state' /* INIT or FAULT: adverts are ignored (1.8 row 0, 1.4 FAULT) */
  | 'backup-accepted'
  | 'backup-priority-0'
  | 'backup-discarded-lower'
  | 'master-priority-0'
  | 'master-lower'
  | 'master-own-address'
  | 'master-yielded';

/** The hooks a sync group installs on its members (sync-group.ts). */
export interface SyncGroupHooks {
  readonly name: string;
  /** keepalived `vrrp_sync_can_goto_master`: every other member wants MASTER too. */
  canBecomeMaster(member: VrrpStateMachine): boolean;
  /** Called after setFault() changed (or re-stated) the member's own fault. */
  localFaultChanged(member: VrrpStateMachine): void;
}

export interface VrrpStateMachineOptions {
  readonly config: VrrpInstanceConfig;
  readonly clock: Clock;
  /** Our primary address on the interface (the advert source), for the equal-priority tie-break. */
  readonly primaryAddress: string;
  readonly onAction: (a: VrrpAction) => void;
  readonly logger?: Logger;
  /** keepalived `down_timer_adverts` (1..100, default 3; RFC value 3). */
  readonly downTimerAdverts?: number;
}

/** VRRPv2 Skew_Time in µs: (256 − Priority) / 256 s (RFC 3768 6.1), independent of the interval. */
function skewUsV2(priority: number): number {
  return Math.floor(((256 - priority) * 1_000_000) / 256);
}

/**
 * VRRPv3 Skew_Time in µs: ((256 − Priority) × Master_Adver_Interval) / 256 (RFC 5798 6.1), computed
 * as keepalived's VRRP_TIMER_SKEW does ((256 − p) × centiseconds × 625 / 16 µs, integer).
 */
function skewUsV3(priority: number, masterAdverIntervalCs: number): number {
  return Math.floor(((256 - priority) * masterAdverIntervalCs * 625) / 16);
}

/** Own advert interval in centiseconds from the config (v2 whole seconds, v3 1..4095 cs; 1.1.1/1.1.2). */
export function configuredIntervalCs(config: VrrpInstanceConfig): number {
  if (config.version === 2) return Math.min(255, Math.max(1, Math.round(config.advertIntervalMs / 1000))) * 100;
  return Math.min(4095, Math.max(1, Math.round(config.advertIntervalMs / 10)));
}

/** Effective priority: base + tracker delta clamped to 1..254; a base of 255 never changes (1.5). */
export function effectivePriorityOf(base: number, delta: number): number {
  if (base === 255) return 255;
  return Math.min(254, Math.max(1, base + delta));
}

export class VrrpStateMachine {
  readonly name: string;
  private readonly config: VrrpInstanceConfig;
  private readonly clock: Clock;
  private readonly primary: string;
  private readonly onAction: (a: VrrpAction) => void;
  private readonly log: Logger;
  private readonly downTimerAdverts: number;
  private readonly ownIntervalCs: number;
  /** nopreempt is only effective with initial state BACKUP and priority < 255 (1.6). */
  private readonly preemptEnabled: boolean;
  /** preempt_delay is cleared with nopreempt, state MASTER or priority 255 (1.4 defaults). */
  private readonly preemptDelayMs: number;

  private stateValue: VrrpState = 'INIT';
  private delta = 0;
  private effective: number;
  private masterAddr: string | undefined;
  private masterPrio: number | undefined;
  private masterAdverIntervalCs: number;
  private timer: TimerHandle | undefined;
  private timerDue: number | undefined;
  /** keepalived preempt_time: accept lower-priority adverts until then (0 = not started). */
  private preemptUntil: number | undefined;
  private localFault: string | undefined;
  private groupFault: string | undefined;
  /** After relinquish(): accept lower-priority adverts (as nopreempt) until we are MASTER again or the hold ends. */
  private holdUntil: number | undefined;
  private wantMaster = false;
  private started = false;
  private sync: SyncGroupHooks | undefined;
  private outbox: VrrpAction[] = [];
  private dispatching = false;
  private readonly listeners = new Set<(a: VrrpAction) => void>();
  private transitionCount = 0;

  constructor(opts: VrrpStateMachineOptions) {
    this.config = opts.config;
    this.name = opts.config.name;
    this.clock = opts.clock;
    this.primary = parseIp(opts.primaryAddress).text;
    this.onAction = opts.onAction;
    this.log = (opts.logger ?? nullLogger).child({ instance: opts.config.name });
    this.downTimerAdverts = opts.downTimerAdverts ?? 3;
    this.ownIntervalCs = configuredIntervalCs(opts.config);
    this.masterAdverIntervalCs = this.ownIntervalCs;
    const owner = opts.config.priority === 255;
    const wantsMaster = opts.config.initialState === 'MASTER';
    this.preemptEnabled = opts.config.preempt || owner || wantsMaster;
    this.preemptDelayMs = this.preemptEnabled && !owner && !wantsMaster ? opts.config.preemptDelayMs : 0;
    this.effective = effectivePriorityOf(opts.config.priority, 0);
  }

  // ---- read side -------------------------------------------------------------------------------

  get state(): VrrpState {
    return this.stateValue;
  }

  get effectivePriority(): number {
    return this.effective;
  }

  get basePriority(): number {
    return this.config.priority;
  }

  /** The current master's address: ours while MASTER, the last master heard while BACKUP. */
  get masterAddress(): string | undefined {
    return this.masterAddr;
  }

  /** Priority of the last advert heard from the master (BACKUP). */
  get masterPriority(): number | undefined {
    return this.masterPrio;
  }

  /** Master_Adver_Interval in centiseconds (v3: learned from the master; v2: ours). */
  get masterAdverIntervalCentis(): number {
    return this.masterAdverIntervalCs;
  }

  /** Skew_Time in ms for the current effective priority and Master_Adver_Interval (RFC 3768/5798 6.1). */
  get skewTimeMs(): number {
    return this.skewUs() / 1000;
  }

  /** Master_Down_Interval in ms: down_timer_adverts × Master_Adver_Interval + Skew_Time (RFC 5798 6.1). */
  get masterDownIntervalMs(): number {
    return this.masterDownUs() / 1000;
  }

  /** Milliseconds until the pending timer (down timer in BACKUP, advert timer in MASTER). */
  get timerRemainingMs(): number | undefined {
    return this.timerDue === undefined ? undefined : this.timerDue - this.clock.now();
  }

  /** Is the instance faulted (own trackers or its sync group)? */
  get faulted(): boolean {
    return this.localFault !== undefined || this.groupFault !== undefined;
  }

  /** Faulted by its own trackers/interface (not merely following its sync group). */
  get locallyFaulted(): boolean {
    return this.localFault !== undefined;
  }

  /** keepalived `wantstate == MASTER`: MASTER, or BACKUP whose down timer expired but is held back by its sync group. */
  get wantsMaster(): boolean {
    return this.stateValue === 'MASTER' || (this.stateValue === 'BACKUP' && this.wantMaster);
  }

  /** The tracker delta last given to setPriorityDelta. */
  get priorityDelta(): number {
    return this.delta;
  }

  /** Remaining relinquish hold in ms (Infinity: until MASTER again), or undefined when not holding. */
  get relinquishHoldMs(): number | undefined {
    if (this.holdUntil === undefined) return undefined;
    const left = this.holdUntil - this.clock.now();
    return left > 0 ? left : undefined;
  }

  /** Number of state changes since construction. */
  get transitions(): number {
    return this.transitionCount;
  }

  /** Observe every action (after onAction). Returns an unsubscribe function. */
  subscribe(listener: (a: VrrpAction) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Installed by a sync group coordinator. */
  attachSyncGroup(hooks: SyncGroupHooks | undefined): void {
    this.sync = hooks;
  }

  // ---- commands --------------------------------------------------------------------------------

  /**
   * Initialise (keepalived `vrrp_init_state`, 1.4): faulty → FAULT; priority 255 with initial
   * state MASTER → MASTER at once; otherwise BACKUP with Master_Down_Interval. `state MASTER`
   * with priority < 255 gives no speed-up (measured, E15).
   */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.masterAdverIntervalCs = this.ownIntervalCs;
    this.preemptUntil = undefined;
    this.holdUntil = undefined;
    this.wantMaster = false;
    if (this.faulted) {
      this.enterFault(`${this.faultReason()} (init)`, false);
    } else if (this.config.priority === 255 && this.config.initialState === 'MASTER') {
      // keepalived arms a 1 µs down timer in BACKUP; the observable effect is MASTER right away,
      // without "Entering BACKUP STATE (init)" and without waiting for Master_Down_Interval.
      this.goMaster('address owner (priority 255) at init', undefined);
    } else {
      this.masterAddr = undefined;
      this.setState('BACKUP', 'init');
      this.queue({ type: 'become-backup', reason: 'init' });
      this.queue({ type: 'state-change', from: 'INIT', to: 'BACKUP', reason: 'init' });
      this.armDownTimer(this.masterDownUs());
    }
    this.flush();
  }

  /**
   * Process an advert that passed validateAdvert (RFC 3768 / RFC 5798 6.4.2 and 6.4.3, as
   * keepalived's vrrp_state_backup / vrrp_state_master_rx, 1.4).
   */
  receiveAdvert(packet: VrrpPacket, source: string): AdvertOutcome {
    const outcome = this.handleAdvert(packet, parseIp(source).text);
    this.flush();
    return outcome;
  }

  /** Own fault (tracked interface/script/file failure with weight 0, interface down, no source address). */
  setFault(faulted: boolean, reason: string): void {
    const was = this.faulted;
    this.localFault = faulted ? reason : undefined;
    this.applyFault(was, reason, undefined);
    this.flush();
    this.sync?.localFaultChanged(this);
  }

  /** Fault imposed by the sync group (another member is FAULT, 3.6). */
  setGroupFault(faulted: boolean, reason: string): void {
    const was = this.faulted;
    this.groupFault = faulted ? reason : undefined;
    this.applyFault(was, reason, this.sync?.name);
    this.flush();
  }

  /**
   * Tracker weights (3.1): effective priority = base + delta clamped to 1..254 (never for 255).
   * No advert is sent for it; the next scheduled one carries it. In BACKUP the pending down timer
   * is moved by the skew difference (1.5).
   */
  setPriorityDelta(delta: number): void {
    this.delta = delta;
    const before = this.effective;
    const after = effectivePriorityOf(this.config.priority, delta);
    if (before === after) return;
    const skewBefore = this.skewUs();
    this.effective = after;
    this.log.info(`(${this.name}) Changing effective priority from ${before} to ${after}`);
    if (this.stateValue === 'BACKUP' && this.timerDue !== undefined) {
      const remainingUs = (this.timerDue - this.clock.now()) * 1000 + (this.skewUs() - skewBefore);
      this.armDownTimer(Math.max(0, remainingUs));
    }
    this.flush();
  }

  /**
   * directorctl failover: a MASTER sends priority 0 and goes BACKUP, then accepts lower-priority
   * adverts (as nopreempt does) until it becomes MASTER again or `holdMs` passes, so the peer keeps
   * the VIPs. If nobody takes over, the down timer still brings us back after Master_Down_Interval.
   */
  relinquish(options: { holdMs?: number } = {}): void {
    if (this.stateValue !== 'MASTER') return;
    this.holdUntil = options.holdMs === undefined ? Number.POSITIVE_INFINITY : this.clock.now() + options.holdMs;
    this.queue({ type: 'send-advert', priority: 0, cause: 'relinquish' });
    this.leaveMasterToBackup('relinquished (priority 0 sent)', undefined);
    this.flush();
  }

  /** Graceful stop (1.4 STOP): MASTER sends one priority-0 advert and drops VIPs; → INIT; timers cancelled. */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    const from = this.stateValue;
    this.cancelTimer();
    if (from === 'MASTER') {
      this.queue({ type: 'send-advert', priority: 0, cause: 'stop' });
      this.log.info(`(${this.name}) sent 0 priority`);
      this.queue({ type: 'become-backup', reason: 'stop' });
    }
    this.setState('INIT', 'stop');
    this.queue({ type: 'state-change', from, to: 'INIT', reason: 'stop' });
    this.flush();
  }

  /** Lifecycle alias of stop() (graceful, idempotent). */
  close(): void {
    this.stop();
  }

  /** Immediate: cancel timers, emit nothing. */
  destroy(): void {
    this.started = false;
    this.cancelTimer();
    this.stateValue = 'INIT';
    this.outbox = [];
  }

  /** Sync group: another member became MASTER; follow it (3.6, keepalived vrrp_sync_master). */
  forceMaster(reason: string, syncGroup?: string): void {
    if (this.stateValue !== 'BACKUP') return;
    this.goMaster(reason, syncGroup);
    this.flush();
  }

  /** Sync group: another member left MASTER; follow it to BACKUP (3.6, vrrp_sync_backup; no priority 0). */
  forceBackup(reason: string, syncGroup?: string): void {
    if (this.stateValue === 'MASTER') this.leaveMasterToBackup(reason, syncGroup);
    else if (this.stateValue === 'BACKUP') this.wantMaster = false;
    this.flush();
  }

  // ---- internals -------------------------------------------------------------------------------

  private skewUs(): number {
    return this.config.version === 2 ? skewUsV2(this.effective) : skewUsV3(this.effective, this.masterAdverIntervalCs);
  }

  /** keepalived VRRP_TIMER_SKEW_MIN: the skew of priority 255. */
  private skewMinUs(): number {
    return this.config.version === 2 ? skewUsV2(255) : skewUsV3(255, this.masterAdverIntervalCs);
  }

  private masterDownUs(): number {
    return this.downTimerAdverts * this.masterAdverIntervalCs * 10_000 + this.skewUs();
  }

  private faultReason(): string {
    return this.localFault ?? this.groupFault ?? 'fault';
  }

  private handleAdvert(packet: VrrpPacket, source: string): AdvertOutcome {
    if (this.stateValue === 'INIT' || this.stateValue === 'FAULT') return 'ignored-state';
    const prio = packet.priority;
    if (this.stateValue === 'BACKUP') {
      if (prio === 0) {
        // RFC 3768/5798 6.4.2: "If the Priority in the ADVERTISEMENT is zero, then: Set the
        // Master_Down_Timer to Skew_Time" (keepalived "Backup received priority 0 advertisement").
        this.log.debug(`(${this.name}) Backup received priority 0 advertisement`);
        this.armDownTimer(this.skewUs());
        return 'backup-priority-0';
      }
      const now = this.clock.now();
      const holding = this.holdUntil !== undefined && now < this.holdUntil;
      const delayPending =
        this.preemptDelayMs > 0 && (this.preemptUntil === undefined || this.preemptUntil > now);
      // keepalived vrrp_state_backup: equal priority is always accepted in BACKUP (the address
      // tie-break is only between two masters); lower is accepted with nopreempt or while a
      // preempt_delay is pending (1.4, 1.6).
      if (!this.preemptEnabled || holding || prio >= this.effective || delayPending) {
        if (this.preemptDelayMs > 0) {
          // keepalived: an advert at or above our priority stops a pending preempt delay.
          if (prio >= this.effective) this.preemptUntil = undefined;
          else if (this.preemptUntil === undefined) {
            this.preemptUntil = now + this.preemptDelayMs;
            this.log.debug(`(${this.name}) start preempt delay (${this.preemptDelayMs / 1000} s)`);
          }
        }
        this.masterAddr = source;
        this.masterPrio = prio;
        this.wantMaster = false;
        // RFC 5798 6.4.2: Set Master_Adver_Interval to the advert's interval, recompute Skew_Time
        // and Master_Down_Interval, reset the Master_Down_Timer.
        if (this.config.version === 3) this.masterAdverIntervalCs = packet.advertIntervalCs;
        this.armDownTimer(this.masterDownUs());
        return 'backup-accepted';
      }
      // Lower priority, preemption allowed: discard without restarting the down timer, so we take
      // over Master_Down_Interval after the last accepted advert (RFC 6.4.2 "Discard the ADVERTISEMENT").
      this.log.info(`(${this.name}) received lower priority (${prio}) advert from ${source} - discarding`);
      this.masterAddr = source;
      this.masterPrio = prio;
      return 'backup-discarded-lower';
    }

    // MASTER (RFC 6.4.3, keepalived vrrp_state_master_rx).
    if (prio === 0) {
      // RFC 6.4.3 "Send an ADVERTISEMENT". keepalived sends it without rescheduling the periodic
      // advert (vrrp_state_master_rx calls vrrp_send_adv only), and so do we.
      this.log.info(`(${this.name}) Master received priority 0 message`);
      this.queue({ type: 'send-advert', priority: this.effective, cause: 'priority-0-received' });
      return 'master-priority-0';
    }
    const cmp = prio === this.effective ? compareIp(parseIp(source), parseIp(this.primary)) : prio - this.effective;
    if (prio === this.effective && cmp === 0) {
      this.log.warn(`(${this.name}) Master received advert from its own address ${source} with same priority ${prio}`);
      return 'master-own-address';
    }
    if (cmp < 0) {
      // Lower priority, or equal with a lower primary address: stay MASTER and re-assert at once so
      // the other master yields; keepalived also re-GARPs (garp_lower_prio_repeat) for this cause.
      this.log.info(
        prio === this.effective
          ? `(${this.name}) Received advert from ${source} with same priority ${prio} but lower IP address than ours, forcing new election`
          : `(${this.name}) Received advert from ${source} with lower priority ${prio}, ours ${this.effective}, forcing new election`,
      );
      this.queue({ type: 'send-advert', priority: this.effective, cause: 'lower-priority-received' });
      return 'master-lower';
    }
    if (prio === 255 && this.effective === 255) {
      // Two address owners: a configuration error (keepalived 2.2.7 drops to 254, HEAD lets the
      // lower address yield); we apply the address tie-break as HEAD does and say so loudly.
      this.log.error(`(${this.name}) CONFIGURATION ERROR: another address owner (priority 255) at ${source}`);
    }
    this.log.info(
      prio === this.effective
        ? `(${this.name}) Master received advert from ${source} with same priority ${prio} but higher IP address than ours`
        : `(${this.name}) Master received advert from ${source} with higher priority ${prio}, ours ${this.effective}`,
    );
    if (this.config.version === 3) this.masterAdverIntervalCs = packet.advertIntervalCs;
    this.masterPrio = prio;
    this.leaveMasterToBackup(`higher priority advert from ${source} (priority ${prio})`, undefined, source);
    return 'master-yielded';
  }

  private applyFault(wasFaulted: boolean, reason: string, syncGroup: string | undefined): void {
    if (!this.started) return; // start() looks at the fault flags
    const now = this.faulted;
    if (now && !wasFaulted) this.enterFault(reason, true, syncGroup);
    else if (!now && wasFaulted && this.stateValue === 'FAULT') this.leaveFault(reason, syncGroup);
  }

  private enterFault(reason: string, sendPriorityZero: boolean, syncGroup?: string): void {
    const from = this.stateValue;
    this.cancelTimer();
    if (from === 'MASTER' && sendPriorityZero) {
      // 1.7: a MASTER going to FAULT sends priority 0 (if it still can) and removes its VIPs.
      this.queue({ type: 'send-advert', priority: 0, cause: 'fault' });
    }
    this.masterAddr = undefined;
    this.wantMaster = false;
    this.setState('FAULT', reason);
    this.log.info(`(${this.name}) Entering FAULT STATE${from === 'INIT' ? ' (init)' : ''}`);
    this.queue({ type: 'become-fault', reason });
    this.queue({ type: 'state-change', from, to: 'FAULT', reason, ...(syncGroup ? { syncGroup } : {}) });
  }

  private leaveFault(reason: string, syncGroup: string | undefined): void {
    // 1.4 FAULT: recovery goes to BACKUP with Master_Down_Interval on our own interval, except an
    // address owner wanting MASTER, which waits one advert interval + skew.
    this.masterAdverIntervalCs = this.ownIntervalCs;
    this.preemptUntil = undefined;
    this.setState('BACKUP', `fault cleared: ${reason}`);
    this.log.info(`(${this.name}) Entering BACKUP STATE`);
    this.queue({ type: 'become-backup', reason: `fault cleared: ${reason}` });
    this.queue({ type: 'state-change', from: 'FAULT', to: 'BACKUP', reason: `fault cleared: ${reason}`, ...(syncGroup ? { syncGroup } : {}) });
    const owner = this.config.priority === 255 && this.config.initialState === 'MASTER';
    this.armDownTimer(owner ? this.ownIntervalCs * 10_000 + this.skewUs() : this.masterDownUs());
  }

  private onDownTimer(): void {
    this.timer = undefined;
    this.timerDue = undefined;
    if (this.stateValue !== 'BACKUP') return;
    this.wantMaster = true;
    if (this.sync && !this.sync.canBecomeMaster(this)) {
      // keepalived vrrp_sync_can_goto_master: prefer BACKUP until every member wants MASTER; retry
      // after master_adver_int + VRRP_TIMER_SKEW_MIN with state MASTER configured (vrrp_init_state),
      // else Master_Down_Interval (1.4 step 4).
      this.log.info(`(${this.name}) sync group ${this.sync.name} not ready for MASTER, staying BACKUP`);
      this.armDownTimer(this.config.initialState === 'MASTER' ? this.masterAdverIntervalCs * 10_000 + this.skewMinUs() : this.masterDownUs());
      return;
    }
    this.log.info(`(${this.name}) Receive advertisement timeout`);
    this.goMaster('master down timer expired', undefined);
  }

  private goMaster(reason: string, syncGroup: string | undefined): void {
    const from = this.stateValue;
    this.cancelTimer();
    // RFC 5798 6.4.1/6.4.2: a master advertises its own interval (a v3 backup reverts to it).
    this.masterAdverIntervalCs = this.ownIntervalCs;
    this.masterAddr = this.primary;
    this.masterPrio = this.effective;
    this.holdUntil = undefined;
    this.preemptUntil = undefined;
    this.wantMaster = false;
    this.setState('MASTER', reason);
    this.log.info(`(${this.name}) Entering MASTER STATE`);
    // 1.4 "Becoming MASTER": advert first (the old master drops its VIPs before our GARPs), then VIPs and GARPs, then notifies.
    this.queue({ type: 'send-advert', priority: this.effective, cause: 'become-master' });
    this.queue({ type: 'become-master', reason });
    this.queue({ type: 'state-change', from, to: 'MASTER', reason, ...(syncGroup ? { syncGroup } : {}) });
    this.armAdvertTimer();
  }

  private leaveMasterToBackup(reason: string, syncGroup: string | undefined, newMaster?: string): void {
    this.cancelTimer();
    this.masterAddr = newMaster;
    this.wantMaster = false;
    this.setState('BACKUP', reason);
    this.log.info(`(${this.name}) Entering BACKUP STATE`);
    // No priority 0 when yielding (1.7); VIPs are removed.
    this.queue({ type: 'become-backup', reason });
    this.queue({ type: 'state-change', from: 'MASTER', to: 'BACKUP', reason, ...(syncGroup ? { syncGroup } : {}) });
    this.armDownTimer(this.masterDownUs());
  }

  private armDownTimer(us: number): void {
    this.cancelTimer();
    const ms = us / 1000;
    this.timerDue = this.clock.now() + ms;
    this.timer = this.clock.setTimeout(() => {
      this.onDownTimer();
      this.flush();
    }, ms);
  }

  private armAdvertTimer(): void {
    this.cancelTimer();
    const ms = this.ownIntervalCs * 10;
    this.timerDue = this.clock.now() + ms;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerDue = undefined;
      if (this.stateValue !== 'MASTER') return;
      this.queue({ type: 'send-advert', priority: this.effective, cause: 'periodic' });
      this.armAdvertTimer();
      this.flush();
    }, ms);
  }

  private cancelTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.timerDue = undefined;
  }

  private setState(to: VrrpState, reason: string): void {
    if (this.stateValue !== to) this.transitionCount++;
    this.log.debug(`(${this.name}) ${this.stateValue} -> ${to}: ${reason}`);
    this.stateValue = to;
  }

  private queue(a: VrrpAction): void {
    this.outbox.push(a);
  }

  private flush(): void {
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let a = this.outbox.shift(); a !== undefined; a = this.outbox.shift()) {
        this.onAction(a);
        for (const l of [...this.listeners]) l(a);
      }
    } finally {
      this.dispatching = false;
    }
  }
}
