// Fakes for the VRRP I/O layer's unit tests (instance, VIP manager): an in-memory address table.
import type { VirtualAddressConfig } from '../../../src/config/model.js';
import { parseCidr, parseIp } from '../../../src/core/ip.js';
import type { KernelAddress, NetlinkAddress } from '../../../src/sys/netlink.js';
import type { AddressOps } from '../../../src/vrrp/vip-manager.js';

/** A kernel address table in memory, answering like rtnetlink (EEXIST / EADDRNOTAVAIL). */
export class MemoryAddressOps implements AddressOps {
  readonly table: NetlinkAddress[] = [];
  readonly calls: string[] = [];
  failWith: string | undefined;
  add(a: NetlinkAddress): string | undefined {
    this.calls.push(`add ${a.address}/${a.prefixLength}@${a.ifindex}`);
    if (this.failWith) return this.failWith;
    if (this.table.some((x) => x.address === a.address && x.ifindex === a.ifindex)) return 'EEXIST';
    this.table.push(a);
    return undefined;
  }
  remove(a: NetlinkAddress): string | undefined {
    this.calls.push(`del ${a.address}/${a.prefixLength}@${a.ifindex}`);
    const i = this.table.findIndex((x) => x.address === a.address && x.ifindex === a.ifindex);
    if (i < 0) return 'EADDRNOTAVAIL';
    this.table.splice(i, 1);
    return undefined;
  }
  list(): KernelAddress[] {
    return this.table.map((a) => ({ family: a.family, address: a.address, prefixLength: a.prefixLength, ifindex: a.ifindex, flags: 0, scope: 0 }));
  }
  close(): void {}
}

export function vip(text: string, extra: { device?: string; label?: string } = {}): VirtualAddressConfig {
  const [addr, len] = text.split('/');
  const address = parseIp(addr as string);
  const prefixLength = Number(len ?? (address.family === 4 ? 32 : 128));
  return { cidr: parseCidr(`${address.text}/${prefixLength}`, { strict: false }), address, prefixLength, ...extra };
}

