/**
 * One VRRP instance on the wire: socket → validateAdvert → VrrpStateMachine → adverts, VIPs,
 * gratuitous ARP / unsolicited NA, notifications.
 *
 * The pure protocol (state-machine.ts, validate.ts, codec.ts) decides; this file does the I/O the
 * machine asks for, in keepalived's order (keepalived-spec 1.4 "Becoming MASTER"): the advert
 * first (so the old master drops its VIPs before our GARPs), then VIPs, then the GARP/NA burst,
 * then notifications. Leaving MASTER removes VIPs; a graceful stop sends priority 0 first.
 *
 * Received adverts that fail validation are counted per reason (keepalived-spec 1.8) and logged
 * once per reason until the next accepted advert or state change (keepalived HEAD's rate limit).
 */
import type { VrrpInstanceConfig } from '../config/model.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { VrrpState } from '../core/types.js';
import type { FrameSender, Icmp6Sender, RawNet, ReceivedVrrp, VrrpChannel } from '../sys/rawnet.js';
import { ipv6Forwarding } from '../sys/sysctl.js';
import { encodeVrrp, passwordAuthData, VRRP_AUTH_NONE, VRRP_AUTH_PASS, VRRP_MCAST_V4, VRRP_MCAST_V6 } from './codec.js';
import { ALL_NODES_V6, buildGarpFrame, buildUnsolicitedNa, GarpScheduler } from './garp.js';
import { notifyStateFor, type Notifier } from './notify.js';
import { configuredIntervalCs, VrrpStateMachine, type VrrpAction } from './state-machine.js';
import type { VrrpInstanceStatus, VrrpStateChange } from './types.js';
import { validateAdvert, type ValidateOptions } from './validate.js';
import type { ResolvedVip, VipManager } from './vip-manager.js';

/** How long the last takeover took, from the machine's decision (for the failover bench). */
export interface TakeoverTiming {
  /** Decision → our first advert handed to the kernel (ms). */
  readonly advertMs: number;
  /** Decision → every VIP added (ms). */
  readonly vipMs: number;
  /** Decision → first GARP/NA sent (ms). */
  readonly firstGarpMs: number;
  /** Wall-clock time of the decision. */
  readonly at: number;
}

export interface VrrpInstanceOptions {
  readonly config: VrrpInstanceConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly rawnet: RawNet;
  readonly vips: VipManager;
  readonly notifier?: Notifier;
  readonly validate?: ValidateOptions;
  readonly onStateChange: (change: VrrpStateChange) => void;
  /** keepalived down_timer_adverts. */
  readonly downTimerAdverts?: number;
}

export class VrrpInstance {
  readonly name: string;
  readonly config: VrrpInstanceConfig;
  readonly machine: VrrpStateMachine;
  readonly primaryAddress: string | undefined;
  private readonly log: Logger;
  private readonly resolvedVips: ResolvedVip[];
  private readonly garp: GarpScheduler;
  private channel: VrrpChannel | undefined;
  private readonly frameSenders = new Map<string, FrameSender>();
  private readonly icmp6Senders = new Map<string, Icmp6Sender>();
  private readonly macs = new Map<string, Buffer>();
  private readonly dropped: Record<string, number> = {};
  private readonly loggedDrops = new Set<string>();
  private advertsSent = 0;
  private advertsReceived = 0;
  private priorityZeroSent = 0;
  private priorityZeroReceived = 0;
  private vipsHeld = false;
  private closed = false;
  private stopStatePromise: Promise<void> = Promise.resolve();
  lastTakeover: TakeoverTiming | undefined;
  private pendingDecision: number | undefined;

  constructor(private readonly opts: VrrpInstanceOptions) {
    this.config = opts.config;
    this.name = opts.config.name;
    this.log = opts.logger.child({ instance: this.name });
    this.primaryAddress = this.findPrimaryAddress();
    this.resolvedVips = opts.vips.resolve(this.config.virtualAddresses, this.config.interface);
    this.garp = new GarpScheduler({
      clock: opts.clock,
      config: this.config.garp,
      logger: this.log,
      announce: (vip) => this.announce(vip),
    });
    this.machine = new VrrpStateMachine({
      config: this.config,
      clock: opts.clock,
      // Without a source address the instance is held in FAULT below; the tie-break address is moot.
      primaryAddress: this.primaryAddress ?? (this.config.family === 4 ? '0.0.0.0' : '::'),
      onAction: (a) => this.onAction(a),
      logger: opts.logger,
      ...(opts.downTimerAdverts !== undefined ? { downTimerAdverts: opts.downTimerAdverts } : {}),
    });
  }

  /** keepalived-spec 1.2: the configured source, else the interface's primary IPv4 / link-local IPv6. */
  private findPrimaryAddress(): string | undefined {
    if (this.config.unicastSource) return this.config.unicastSource.text;
    let addrs: { family: 4 | 6; address: string }[] = [];
    try {
      addrs = this.opts.rawnet.interfaceAddresses(this.config.interface);
    } catch {
      return undefined;
    }
    // A VIP left behind by a killed predecessor is still configured at this point: never pick it.
    const vips = new Set(this.config.virtualAddresses.map((v) => v.address.text));
    addrs = addrs.filter((a) => !vips.has(a.address));
    if (this.config.family === 4) return addrs.find((a) => a.family === 4)?.address;
    return addrs.find((a) => a.family === 6 && a.address.startsWith('fe80:'))?.address;
  }

  private get unicast(): boolean {
    return this.config.unicastPeers.length > 0;
  }

  /**
   * Opens the socket, removes VIPs left by a predecessor (keepalived "removing VIPs." at init),
   * and starts the state machine. Does not throw for a missing source address: the instance
   * starts in FAULT instead, as keepalived does ("src address not configured").
   */
  start(): void {
    this.opts.vips.remove(this.resolvedVips);
    this.channel = this.opts.rawnet.openVrrp(
      {
        family: this.config.family,
        interface: this.config.interface,
        multicast: !this.unicast,
        // Always the primary address as source: IPv6 source selection would otherwise pick a
        // link-local VIP (fe80::VIP) once we hold it; keepalived sets IPV6_PKTINFO likewise (1.2).
        ...(this.primaryAddress !== undefined ? { source: this.primaryAddress } : {}),
      },
      (p) => this.onPacket(p),
      (e) => this.log.error('VRRP receive error', { error: e.message }),
    );
    if (this.primaryAddress === undefined) this.machine.setFault(true, 'src address not configured');
    this.machine.start();
  }

  // ---- receive ------------------------------------------------------------------------------

  private drop(reason: string, detail: string): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
    if (this.loggedDrops.has(reason)) return;
    this.loggedDrops.add(reason);
    this.log.warn(`(${this.name}) ${detail}`, { dropReason: reason });
  }

  /** Entry point for one received packet (public so tests can inject without sockets). */
  onPacket(p: ReceivedVrrp): void {
    if (this.closed) return;
    if (p.protocol !== 112) return this.drop('auth', `Received AH header but auth type not AH (protocol ${p.protocol})`);
    if (p.lengthMismatch) return this.drop('length', 'ip_tot_len mismatch against received length');
    const verdict = validateAdvert(
      { raw: p.payload, ttlOrHopLimit: p.ttlOrHopLimit, source: p.source, destination: p.destination, family: p.family },
      this.config,
      this.opts.validate,
    );
    if (!verdict.ok) {
      // Other VRIDs on the LAN are not errors (keepalived logs them only with log_unknown_vrids).
      if (verdict.reason === 'vrid') {
        this.dropped.vrid = (this.dropped.vrid ?? 0) + 1;
        return;
      }
      return this.drop(verdict.reason, verdict.detail);
    }
    for (const w of verdict.warnings) this.log.warn(`(${this.name}) ${w}`);
    this.loggedDrops.clear();
    this.advertsReceived++;
    if (verdict.packet.priority === 0) this.priorityZeroReceived++;
    this.machine.receiveAdvert(verdict.packet, p.source);
  }

  // ---- actions ------------------------------------------------------------------------------

  private onAction(a: VrrpAction): void {
    switch (a.type) {
      case 'send-advert':
        if (a.cause === 'become-master') this.pendingDecision = performance.now();
        this.sendAdvert(a.priority);
        if (a.cause === 'lower-priority-received' && this.vipsHeld) this.garp.lowerPriorityHeard(this.vipTexts());
        return;
      case 'become-master':
        return this.takeOver();
      case 'become-backup':
      case 'become-fault':
        this.garp.cancel();
        this.releaseVips(a.reason);
        return;
      case 'state-change':
        return this.stateChanged(a.from, a.to, a.reason, a.syncGroup);
    }
  }

  private vipTexts(): string[] {
    return this.resolvedVips.map((v) => v.request.address);
  }

  private advertPayload(priority: number, destination: string): Buffer {
    const c = this.config;
    return encodeVrrp(
      {
        version: c.version,
        type: 1,
        vrid: c.vrid,
        priority,
        ...(c.version === 2 ? { authType: c.authPass !== undefined ? VRRP_AUTH_PASS : VRRP_AUTH_NONE } : {}),
        ...(c.version === 2 && c.authPass !== undefined ? { authData: passwordAuthData(c.authPass) } : {}),
        advertIntervalCs: configuredIntervalCs(c),
        addresses: this.config.virtualAddresses.map((v) => v.address.text),
      },
      {
        family: c.family,
        // The IPv6 checksum is recomputed by the kernel (IPV6_CHECKSUM) over the real source.
        source: this.primaryAddress ?? (c.family === 4 ? '0.0.0.0' : '::'),
        destination,
        v3ChecksumMode: c.v3ChecksumMode,
      },
    );
  }

  /** Encoded adverts by priority and destination: the packet only changes with those (saves the encode on takeover). */
  private readonly advertCache = new Map<string, Buffer>();

  private cachedAdvert(priority: number, destination: string): Buffer {
    const key = `${priority}|${destination}`;
    let b = this.advertCache.get(key);
    if (!b) {
      b = this.advertPayload(priority, destination);
      if (this.advertCache.size > 64) this.advertCache.clear();
      this.advertCache.set(key, b);
    }
    return b;
  }

  private sendAdvert(priority: number): void {
    if (!this.channel) return;
    const destinations = this.unicast
      ? this.config.unicastPeers.map((p) => p.text)
      : [this.config.family === 4 ? VRRP_MCAST_V4 : VRRP_MCAST_V6];
    for (const d of destinations) {
      try {
        // Unicast v3/IPv4: the pseudo-header uses the peer's address, so encode per peer (1.9).
        this.channel.send(this.cachedAdvert(priority, d), d);
        this.advertsSent++;
        if (priority === 0) this.priorityZeroSent++;
      } catch (e) {
        this.log.warn(`(${this.name}) cannot send advert`, { destination: d, error: (e as Error).message });
      }
    }
  }

  private takeOver(): void {
    const decision = this.pendingDecision ?? performance.now();
    this.pendingDecision = undefined;
    const advertDone = performance.now();
    try {
      this.opts.vips.add(this.resolvedVips);
      this.vipsHeld = true;
    } catch (e) {
      this.log.error(`(${this.name}) cannot add VIPs`, { error: (e as Error).message });
    }
    const vipDone = performance.now();
    this.garp.startMaster(this.vipTexts());
    const garpDone = performance.now();
    this.lastTakeover = { advertMs: advertDone - decision, vipMs: vipDone - decision, firstGarpMs: garpDone - decision, at: this.opts.clock.wallNow() };
  }

  private releaseVips(reason: string): void {
    if (!this.vipsHeld && reason !== 'init') return;
    this.opts.vips.remove(this.resolvedVips);
    this.vipsHeld = false;
  }

  private stateChanged(from: VrrpState, to: VrrpState, reason: string, syncGroup: string | undefined): void {
    this.loggedDrops.clear();
    this.log.info(`(${this.name}) ${from} -> ${to}: ${reason}`);
    this.opts.onStateChange({ instance: this.name, from, to, reason, at: this.opts.clock.wallNow() });
    // Members merely following their sync group do not notify on their own (keepalived-spec 3.6).
    if (this.opts.notifier && syncGroup === undefined) {
      const p = this.opts.notifier.notify(this.config.notify, {
        kind: 'INSTANCE',
        name: this.name,
        state: notifyStateFor(to),
        priority: this.machine.effectivePriority,
      });
      if (to === 'INIT') this.stopStatePromise = p;
    }
  }

  // ---- GARP / NA ----------------------------------------------------------------------------

  private mac(device: string): Buffer {
    let m = this.macs.get(device);
    if (!m) {
      m = this.opts.rawnet.interfaceInfo(device).mac;
      this.macs.set(device, m);
    }
    return m;
  }

  /** GARP frames / NA messages per VIP, built once (they only depend on the MAC and the VIP). */
  private readonly announcements = new Map<string, { frame?: Buffer; na?: Buffer; builtAt: number }>();

  private announcement(v: ResolvedVip): { frame?: Buffer; na?: Buffer; builtAt: number } {
    const vip = v.request.address;
    let a = this.announcements.get(vip);
    // The NA Router flag follows IPv6 forwarding, re-checked at most every 5 s (keepalived-spec 2.1).
    if (a && (a.frame || this.opts.clock.now() - a.builtAt < 5000)) return a;
    const mac = this.mac(v.device);
    a =
      v.request.family === 4
        ? { frame: buildGarpFrame(mac, vip), builtAt: this.opts.clock.now() }
        : { na: buildUnsolicitedNa(mac, vip, ipv6Forwarding(v.device)), builtAt: this.opts.clock.now() };
    this.announcements.set(vip, a);
    return a;
  }

  private announce(vip: string): void {
    const v = this.resolvedVips.find((x) => x.request.address === vip);
    if (!v) return;
    const device = v.device;
    const a = this.announcement(v);
    if (a.frame) {
      let s = this.frameSenders.get(device);
      if (!s) {
        s = this.opts.rawnet.openFrameSender(device);
        this.frameSenders.set(device, s);
      }
      s.sendFrame(a.frame);
    } else if (a.na) {
      let s = this.icmp6Senders.get(device);
      if (!s) {
        s = this.opts.rawnet.openIcmp6Sender(device);
        this.icmp6Senders.set(device, s);
      }
      s.send(a.na, ALL_NODES_V6, vip);
    }
  }

  /** Opens the GARP/NA senders ahead of time so the first burst of a takeover costs no socket setup. */
  prepareSenders(): void {
    // Warm the takeover path (adverts encoded, frames built) so the first takeover is as fast as later ones.
    try {
      this.cachedAdvert(this.machine.effectivePriority, this.unicast ? (this.config.unicastPeers[0]?.text ?? '') : this.config.family === 4 ? VRRP_MCAST_V4 : VRRP_MCAST_V6);
    } catch {
      // reported when actually sending
    }
    this.opts.vips.warm(this.resolvedVips);
    for (const v of this.resolvedVips) {
      try {
        this.announcement(v);
        if (v.request.family === 4 && !this.frameSenders.has(v.device)) this.frameSenders.set(v.device, this.opts.rawnet.openFrameSender(v.device));
        if (v.request.family === 6 && !this.icmp6Senders.has(v.device)) this.icmp6Senders.set(v.device, this.opts.rawnet.openIcmp6Sender(v.device));
      } catch (e) {
        this.log.warn(`(${this.name}) cannot prepare GARP sender`, { device: v.device, error: (e as Error).message });
      }
    }
  }

  /**
   * keepalived-spec 2.3: a VIP deleted behind our back while MASTER drops the instance to BACKUP
   * (no priority 0); the normal election then decides, and a new takeover re-adds the VIPs.
   * Called by the controller's tracking poll. Returns true if it acted.
   */
  checkVipsPresent(): boolean {
    if (this.closed || !this.vipsHeld || this.machine.state !== 'MASTER' || this.resolvedVips.length === 0) return false;
    let present: ResolvedVip[];
    try {
      present = this.opts.vips.present(this.resolvedVips);
    } catch {
      return false; // cannot tell; do not act on a failed dump
    }
    if (present.length === this.resolvedVips.length) return false;
    const missing = this.resolvedVips.filter((v) => !present.includes(v)).map((v) => v.request.address);
    this.log.warn(`(${this.name}) VIP ${missing.join(', ')} deleted behind our back - leaving MASTER`);
    this.machine.forceBackup(`VIP ${missing.join(', ')} removed externally`);
    return true;
  }

  // ---- status and lifecycle -----------------------------------------------------------------

  status(): VrrpInstanceStatus {
    const m = this.machine;
    return {
      name: this.name,
      state: m.state,
      vrid: this.config.vrid,
      interface: this.config.interface,
      basePriority: m.basePriority,
      effectivePriority: m.effectivePriority,
      ...(m.masterAddress !== undefined ? { masterAddress: m.masterAddress } : {}),
      transitions: m.transitions,
      dropped: { ...this.dropped },
      advertsSent: this.advertsSent,
      advertsReceived: this.advertsReceived,
    };
  }

  /** Extra counters (keepalived's SIGUSR2 stats names). */
  stats(): { priorityZeroSent: number; priorityZeroReceived: number; garpSent: number; vipsHeld: boolean } {
    return { priorityZeroSent: this.priorityZeroSent, priorityZeroReceived: this.priorityZeroReceived, garpSent: this.garp.sent, vipsHeld: this.vipsHeld };
  }

  /** Graceful: priority 0 if MASTER, VIPs removed, STOP notified (awaited up to 1 s), sockets closed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.machine.stop();
    this.garp.cancel();
    this.releaseVips('stop');
    this.closed = true;
    this.closeSockets();
    await this.stopStatePromise;
  }

  /** Immediate: no advert; VIPs are still removed (a leftover VIP is a duplicate-address hazard). */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.machine.destroy();
    this.garp.cancel();
    this.releaseVips('stop');
    this.closeSockets();
  }

  private closeSockets(): void {
    this.channel?.close();
    this.channel = undefined;
    for (const s of this.frameSenders.values()) s.close();
    for (const s of this.icmp6Senders.values()) s.close();
    this.frameSenders.clear();
    this.icmp6Senders.clear();
  }
}
