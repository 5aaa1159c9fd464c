/**
 * Adds and removes an instance's virtual addresses (keepalived-spec 2.3, keepalived's
 * vrrp_ipaddress.c): RTM_NEWADDR / RTM_DELADDR through rtnetlink, synchronously (tens of
 * microseconds, so a new master has its VIPs and first GARP out well within 2 ms).
 *
 * Rules implemented:
 * - default device is the instance interface; `dev` on a VIP overrides it;
 * - IPv6 VIPs always get IFA_F_NODAD; /128 ones are added deprecated (preferred_lft 0) so they
 *   are never picked as a source address, as keepalived does;
 * - `label` is IPv4 only;
 * - adding an address that is already there (EEXIST) and removing one that is gone
 *   (EADDRNOTAVAIL) are not errors: both states are what we wanted;
 * - on start every configured VIP is removed, errors ignored: a SIGKILLed predecessor leaves its
 *   VIPs behind (spike-netns-vrrp.md section 2; keepalived logs "removing VIPs." at startup).
 */
import type { VirtualAddressConfig } from '../config/model.js';
import { DirectorError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { ackErrno, buildAddressMessage, changeAddress, listAddresses, type KernelAddress, type NetlinkAddress } from '../sys/netlink.js';
import type { NetlinkChannel, RawNet } from '../sys/rawnet.js';

/** The address operations the manager needs (netlink in production, memory in unit tests). */
export interface AddressOps {
  /** Returns an errno name on failure, undefined on success. */
  add(address: NetlinkAddress): string | undefined;
  remove(address: NetlinkAddress): string | undefined;
  list(): KernelAddress[];
  close(): void;
  /** Exercise the add path without touching the kernel (JIT warm-up before the first takeover). */
  warm?(address: NetlinkAddress): void;
}

/** AddressOps over an rtnetlink channel. */
export function netlinkAddressOps(rawnet: RawNet): AddressOps {
  let channel: NetlinkChannel | undefined;
  const ch = () => (channel ??= rawnet.openNetlink());
  return {
    add: (a) => changeAddress(ch(), 'add', a),
    remove: (a) => changeAddress(ch(), 'delete', a),
    list: () => listAddresses(ch()),
    warm: (a) => {
      for (let i = 0; i < 50; i++) {
        const m = buildAddressMessage('add', a);
        ackErrno([m.buf], m.seq);
      }
    },
    close: () => {
      channel?.close();
      channel = undefined;
    },
  };
}

export interface VipManagerOptions {
  readonly ops: AddressOps;
  /** Resolves an interface name to its index (throws DIR_ERR_SYS_INTERFACE for unknown names). */
  readonly ifindex: (name: string) => number;
  readonly logger: Logger;
}

/** One VIP resolved to the kernel's terms. */
export interface ResolvedVip {
  readonly config: VirtualAddressConfig;
  readonly device: string;
  readonly request: NetlinkAddress;
}

export class VipManager {
  constructor(private readonly opts: VipManagerOptions) {}

  /** Resolves configured VIPs on their devices (default: the instance interface). */
  resolve(vips: readonly VirtualAddressConfig[], defaultDevice: string): ResolvedVip[] {
    return vips.map((v) => {
      const device = v.device ?? defaultDevice;
      const family = v.address.family;
      const bits = family === 4 ? 32 : 128;
      const request: NetlinkAddress = {
        family,
        address: v.address.text,
        prefixLength: v.prefixLength,
        ifindex: this.opts.ifindex(device),
        ...(v.label !== undefined && family === 4 ? { label: v.label } : {}),
        ...(family === 6 ? { nodad: true, deprecated: v.prefixLength === bits } : {}),
      };
      return { config: v, device, request };
    });
  }

  /** Adds every VIP; EEXIST is success. Throws DIR_ERR_SYS_NETLINK on the first real failure. */
  add(vips: readonly ResolvedVip[]): void {
    for (const v of vips) {
      const err = this.opts.ops.add(v.request);
      if (err !== undefined && err !== 'EEXIST') {
        throw new DirectorError('DIR_ERR_SYS_NETLINK', {
          operation: `add ${v.request.address}/${v.request.prefixLength} dev ${v.device}`,
          errno: err,
          reason: 'the kernel refused the address',
        });
      }
    }
  }

  /** Removes every VIP; a missing one is success. Returns the failures (logged), never throws. */
  remove(vips: readonly ResolvedVip[]): string[] {
    const failures: string[] = [];
    for (const v of vips) {
      let err: string | undefined;
      try {
        err = this.opts.ops.remove(v.request);
      } catch (e) {
        err = (e as Error).message;
      }
      if (err !== undefined && err !== 'EADDRNOTAVAIL' && err !== 'ENODEV') {
        failures.push(`${v.request.address}: ${err}`);
        this.opts.logger.error('cannot remove VIP', { vip: v.request.address, device: v.device, errno: err });
      }
    }
    return failures;
  }

  /** Warms the add path for these VIPs (no kernel change) so the first takeover is not slowed by JIT. */
  warm(vips: readonly ResolvedVip[]): void {
    for (const v of vips) this.opts.ops.warm?.(v.request);
  }

  /** Which of these VIPs are configured in the kernel right now (on their device). */
  present(vips: readonly ResolvedVip[]): ResolvedVip[] {
    const have = this.opts.ops.list();
    return vips.filter((v) => have.some((k) => k.address === v.request.address && k.ifindex === v.request.ifindex));
  }

  close(): void {
    this.opts.ops.close();
  }
}
