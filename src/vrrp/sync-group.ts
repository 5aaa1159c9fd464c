/**
 * vrrp_sync_group coordinator (keepalived-spec 3.6, keepalived `vrrp_sync.c`), pure: it observes
 * its members' state machines and forces the others to follow.
 *
 * - MASTER only as a whole: a member whose down timer expires becomes MASTER only when every other
 *   member is MASTER or also wants MASTER (vrrp_sync_can_goto_master); otherwise it stays BACKUP
 *   and retries. When one member becomes MASTER the BACKUP members follow (vrrp_sync_master).
 * - When one member leaves MASTER for BACKUP (higher-priority advert, relinquish) the other MASTER
 *   members go BACKUP too (vrrp_sync_backup), without priority-0 adverts.
 * - When one member enters FAULT all members go FAULT (the others send priority 0 if they were
 *   MASTER); they leave FAULT together when no member has a fault of its own (vrrp_sync_fault).
 * - Group notifications fire once per group transition (onGroupStateChange); member changes forced
 *   by the group carry `syncGroup` in their state-change action.
 */
import type { Logger } from '../core/logger.js';
import { nullLogger } from '../core/logger.js';
import type { VrrpState } from '../core/types.js';
import type { VrrpAction, VrrpStateMachine } from './state-machine.js';

export interface SyncGroupStateChange {
  readonly group: string;
  readonly from: VrrpState;
  readonly to: VrrpState;
  readonly reason: string;
}

export interface SyncGroupOptions {
  readonly name: string;
  readonly members: readonly VrrpStateMachine[];
  readonly onGroupStateChange?: (change: SyncGroupStateChange) => void;
  readonly logger?: Logger;
}

export class VrrpSyncGroup {
  readonly name: string;
  private readonly members: readonly VrrpStateMachine[];
  private readonly onGroupStateChange: ((c: SyncGroupStateChange) => void) | undefined;
  private readonly log: Logger;
  private readonly unsubscribe: (() => void)[] = [];
  private groupState: VrrpState = 'INIT';
  private syncing = false;

  constructor(opts: SyncGroupOptions) {
    this.name = opts.name;
    this.members = opts.members;
    this.onGroupStateChange = opts.onGroupStateChange;
    this.log = (opts.logger ?? nullLogger).child({ syncGroup: opts.name });
    const hooks = {
      name: this.name,
      canBecomeMaster: (m: VrrpStateMachine) => this.canBecomeMaster(m),
      localFaultChanged: (m: VrrpStateMachine) => this.localFaultChanged(m),
    };
    for (const m of this.members) {
      m.attachSyncGroup(hooks);
      this.unsubscribe.push(m.subscribe((a) => this.onMemberAction(m, a)));
    }
  }

  /** The group's state: FAULT if any member is FAULT, MASTER if all are MASTER, INIT if all INIT, else BACKUP. */
  get state(): VrrpState {
    return this.groupState;
  }

  /** Detaches from the members (they keep running alone). */
  close(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    for (const m of this.members) m.attachSyncGroup(undefined);
  }

  destroy(): void {
    this.close();
  }

  private canBecomeMaster(member: VrrpStateMachine): boolean {
    return this.members.every((m) => m === member || m.wantsMaster);
  }

  private onMemberAction(member: VrrpStateMachine, a: VrrpAction): void {
    if (a.type !== 'state-change') return;
    if (!this.syncing && a.syncGroup === undefined) {
      this.syncing = true;
      try {
        this.follow(member, a);
      } finally {
        this.syncing = false;
      }
    }
    this.updateGroupState(a.reason);
  }

  private follow(member: VrrpStateMachine, a: Extract<VrrpAction, { type: 'state-change' }>): void {
    const others = this.members.filter((m) => m !== member);
    if (a.to === 'FAULT' || a.from === 'FAULT') return; // faults are synced through localFaultChanged
    if (a.to === 'MASTER') {
      this.log.info(`VRRP_Group(${this.name}) Syncing instances to MASTER state`);
      for (const m of others) m.forceMaster(`sync group ${this.name}: ${member.name} became MASTER`, this.name);
      return;
    }
    if (a.from === 'MASTER' && a.to === 'BACKUP') {
      this.log.info(`VRRP_Group(${this.name}) Syncing instances to BACKUP state`);
      const hold = member.relinquishHoldMs;
      for (const m of others) {
        // A relinquished member hands the whole group over: the others send priority 0 and hold
        // too, or the peer would wait Master_Down_Interval for them and they would preempt back.
        if (hold !== undefined) m.relinquish(Number.isFinite(hold) ? { holdMs: hold } : {});
        else m.forceBackup(`sync group ${this.name}: ${member.name} left MASTER`, this.name);
      }
    }
  }

  /**
   * One member's own fault changed. Any own fault puts every member (itself included) under the
   * group fault, so nobody leaves FAULT alone; when no member has an own fault left, all leave
   * FAULT together.
   */
  private localFaultChanged(member: VrrpStateMachine): void {
    const faulty = this.members.filter((m) => m.locallyFaulted);
    this.syncing = true;
    try {
      if (faulty.length > 0) {
        if (this.members.some((m) => !m.faulted)) this.log.info(`VRRP_Group(${this.name}) Syncing instances to FAULT state`);
        const reason = `sync group ${this.name}: ${faulty.map((m) => m.name).join(', ')} FAULT`;
        for (const m of this.members) m.setGroupFault(true, reason);
      } else {
        for (const m of this.members) m.setGroupFault(false, `sync group ${this.name}: ${member.name} fault cleared`);
      }
    } finally {
      this.syncing = false;
    }
    this.updateGroupState(member.locallyFaulted ? 'member fault' : 'member fault cleared');
  }

  private updateGroupState(reason: string): void {
    const states = this.members.map((m) => m.state);
    const next: VrrpState = states.includes('FAULT')
      ? 'FAULT'
      : states.every((s) => s === 'MASTER')
        ? 'MASTER'
        : states.every((s) => s === 'INIT')
          ? 'INIT'
          : 'BACKUP';
    if (next === this.groupState) return;
    const from = this.groupState;
    this.groupState = next;
    this.onGroupStateChange?.({ group: this.name, from, to: next, reason });
  }
}
