/**
 * Gratuitous ARP and unsolicited Neighbour Advertisement: the frames (keepalived-spec 2.1, byte
 * for byte what keepalived 2.2.7 sends) and when they go out (2.2).
 *
 * GARP: Ethernet broadcast, ARP REQUEST (op 1), sender = target = VIP, target MAC
 * ff:ff:ff:ff:ff:ff (not zeros), 42 bytes without padding.
 * NA: ICMPv6 type 136 to ff02::1 from the VIP itself, hop limit 255 (set on the socket),
 * Override=1, Solicited=0, Router only when the interface forwards IPv6, Target Link-Layer
 * Address option (RFC 4861 4.4, 7.2.6).
 *
 * Schedule (keepalived defaults): on becoming MASTER a burst of garp_master_repeat (5) per VIP,
 * interleaved per round; a second burst garp_master_delay (5 s) later; then every
 * garp_master_refresh a burst of garp_master_refresh_repeat (default off). garp_interval spaces
 * consecutive messages. Pending bursts are cancelled when the instance leaves MASTER.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import type { GarpConfig } from '../config/model.js';
import { ipBytes } from '../core/ip.js';
import type { Logger } from '../core/logger.js';

const BROADCAST = Buffer.alloc(6, 0xff);
export const ETHERTYPE_ARP = 0x0806;
export const ALL_NODES_V6 = 'ff02::1';

/** The 42-byte gratuitous ARP keepalived sends for an IPv4 VIP. */
export function buildGarpFrame(mac: Buffer, vip: string): Buffer {
  const ip = ipBytes(vip);
  if (!ip || ip.length !== 4) throw new RangeError(`GARP needs an IPv4 address, got ${vip}`);
  if (mac.length !== 6) throw new RangeError(`GARP needs a 6-byte MAC, got ${mac.length} bytes`);
  const f = Buffer.alloc(42);
  BROADCAST.copy(f, 0);
  mac.copy(f, 6);
  f.writeUInt16BE(ETHERTYPE_ARP, 12);
  f.writeUInt16BE(1, 14); // hardware type Ethernet
  f.writeUInt16BE(0x0800, 16); // protocol IPv4
  f[18] = 6;
  f[19] = 4;
  f.writeUInt16BE(1, 20); // op REQUEST
  mac.copy(f, 22);
  f.set(ip, 28);
  BROADCAST.copy(f, 32);
  f.set(ip, 38);
  return f;
}

/** The ICMPv6 part of an unsolicited NA for an IPv6 VIP (the kernel fills the checksum). */
export function buildUnsolicitedNa(mac: Buffer, vip: string, router: boolean): Buffer {
  const target = ipBytes(vip);
  if (!target || target.length !== 16) throw new RangeError(`NA needs an IPv6 address, got ${vip}`);
  const m = Buffer.alloc(32);
  m[0] = 136; // Neighbor Advertisement
  m[1] = 0;
  // RFC 4861 4.4: R (0x80) if we route, S (0x40) never for unsolicited, O (0x20) always.
  m[4] = (router ? 0x80 : 0) | 0x20;
  m.set(target, 8);
  m[24] = 2; // option: Target Link-Layer Address
  m[25] = 1; // length in units of 8 bytes
  mac.copy(m, 26);
  return m;
}

/** Sends one announcement for one VIP (GARP or NA, chosen by the caller's family). */
export type AnnounceFn = (vip: string) => void;

export interface GarpSchedulerOptions {
  readonly clock: Clock;
  readonly config: GarpConfig;
  readonly logger: Logger;
  /** Sends one GARP/NA for a VIP. Errors are logged, never thrown out of a timer. */
  readonly announce: AnnounceFn;
}

/** Bursts of announcements for one instance. */
export class GarpScheduler {
  private timers = new Set<TimerHandle>();
  private refresh?: TimerHandle;
  sent = 0;

  constructor(private readonly opts: GarpSchedulerOptions) {}

  /** keepalived-spec 2.2: burst now, second burst after masterDelay, refresh if configured. */
  startMaster(vips: readonly string[]): void {
    this.cancel();
    const { masterRepeat, masterDelayMs, masterRefreshMs, masterRefreshRepeat } = this.opts.config;
    this.burst(vips, masterRepeat);
    if (masterDelayMs > 0) this.after(masterDelayMs, () => this.burst(vips, masterRepeat));
    if (masterRefreshMs > 0) {
      this.refresh = this.opts.clock.setInterval(() => this.burst(vips, Math.max(1, masterRefreshRepeat)), masterRefreshMs);
    }
  }

  /** garp_lower_prio_repeat / garp_lower_prio_delay: a master that heard a lower-priority master re-announces. */
  lowerPriorityHeard(vips: readonly string[]): void {
    const { masterRepeat, masterDelayMs } = this.opts.config;
    this.burst(vips, masterRepeat);
    if (masterDelayMs > 0) this.after(masterDelayMs, () => this.burst(vips, masterRepeat));
  }

  /** Leaving MASTER: nothing more goes out (keepalived-spec 2.2 "skipped once no longer MASTER"). */
  cancel(): void {
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    this.refresh?.cancel();
    this.refresh = undefined;
  }

  private after(ms: number, fn: () => void): void {
    const t = this.opts.clock.setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /** `repeat` rounds, each round one message per VIP; garp_interval spaces consecutive messages. */
  private burst(vips: readonly string[], repeat: number): void {
    const gap = this.opts.config.intervalMs;
    const queue: string[] = [];
    for (let r = 0; r < repeat; r++) queue.push(...vips);
    if (gap <= 0) {
      for (const vip of queue) this.send(vip);
      return;
    }
    const next = (i: number) => {
      const vip = queue[i];
      if (vip === undefined) return;
      this.send(vip);
      if (i + 1 < queue.length) this.after(gap, () => next(i + 1));
    };
    next(0);
  }

  private send(vip: string): void {
    try {
      this.opts.announce(vip);
      this.sent++;
    } catch (e) {
      this.opts.logger.warn('gratuitous ARP/NA failed', { vip, error: (e as Error).message });
    }
  }
}
