/**
 * Typed access to the native addon (native/rawnet.c): raw VRRP sockets, AF_PACKET frames, raw
 * ICMPv6, rtnetlink and interface facts, behind the `RawNet` interface so that pure logic
 * (instance, VIP manager, GARP scheduling) is tested against `MemoryRawNet` without root.
 *
 * Socket choices follow keepalived (keepalived-spec 1.2): one receive socket per
 * (interface, family) joined to 224.0.0.18 / ff02::12 with SO_BINDTODEVICE; TTL / hop limit 255
 * and TOS / traffic class 0xc0 on send; multicast loop off; IPv6 receive asks for
 * IPV6_RECVHOPLIMIT + IPV6_RECVPKTINFO (RFC 5798 7.1 needs the hop limit of every advert).
 */
import { createRequire } from 'node:module';
import { networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DirectorError } from '../core/errors.js';
import { formatIpBytes, ipBytes } from '../core/ip.js';

/** Facts about one network interface. */
export interface InterfaceInfo {
  readonly name: string;
  readonly index: number;
  /** 6 bytes for Ethernet. */
  readonly mac: Buffer;
  readonly mtu: number;
  /** IFF_UP and IFF_RUNNING (keepalived-spec 3.2: "up" means both). */
  readonly up: boolean;
  readonly noArp: boolean;
}

/** An address configured on an interface. */
export interface InterfaceAddress {
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefixLength: number;
}

/** One received VRRP packet, IP header already removed. */
export interface ReceivedVrrp {
  /** The VRRP message. */
  readonly payload: Buffer;
  readonly family: 4 | 6;
  /** IPv4 TTL from the header, IPv6 hop limit from IPV6_HOPLIMIT (-1 if the kernel gave none). */
  readonly ttlOrHopLimit: number;
  readonly source: string;
  readonly destination: string;
  readonly ifindex: number;
  /** IPv4: total length field disagrees with what arrived (keepalived-spec 1.8 #12). */
  readonly lengthMismatch: boolean;
  /** IPv4 protocol number of the datagram (51 = AH, which we do not support). */
  readonly protocol: number;
}

export interface VrrpSocketOptions {
  readonly family: 4 | 6;
  readonly interface: string;
  /** Join the multicast group (false in unicast mode). */
  readonly multicast: boolean;
  /** Source address for sends (IPv4 primary address, IPv6 link-local; default: kernel's choice). */
  readonly source?: string;
  /** TTL / hop limit for unicast sends (keepalived `unicast_ttl`, default 255). */
  readonly unicastTtl?: number;
}

/** A VRRP endpoint on one interface and family. */
export interface VrrpChannel {
  /** Sends one VRRP message to the group or a unicast peer. */
  send(payload: Buffer, destination: string): void;
  close(): void;
}

/** Sends whole Ethernet frames on one interface (gratuitous ARP). */
export interface FrameSender {
  sendFrame(frame: Buffer): void;
  close(): void;
}

/** Sends ICMPv6 messages with a chosen source and hop limit 255 (unsolicited NA). */
export interface Icmp6Sender {
  send(message: Buffer, destination: string, source: string): void;
  close(): void;
}

/** A synchronous rtnetlink request/response channel. */
export interface NetlinkChannel {
  /** Sends one request and returns every response message buffer until ACK/DONE/error. */
  request(message: Buffer): Buffer[];
  close(): void;
}

/** A link (interface) state change reported by the kernel. */
export interface LinkEvent {
  readonly ifindex: number;
  readonly name: string;
  /** IFF_UP and IFF_RUNNING; false for a deleted link. */
  readonly up: boolean;
}

/** The OS networking surface the VRRP code uses. */
export interface RawNet {
  /** Subscribes to link changes (rtnetlink RTMGRP_LINK); optional: callers fall back to polling. */
  watchLinks?(onEvent: (event: LinkEvent) => void): { close(): void };
  interfaceInfo(name: string): InterfaceInfo;
  interfaceAddresses(name: string): InterfaceAddress[];
  openVrrp(options: VrrpSocketOptions, onPacket: (packet: ReceivedVrrp) => void, onError: (error: Error) => void): VrrpChannel;
  openFrameSender(interfaceName: string): FrameSender;
  openIcmp6Sender(interfaceName: string): Icmp6Sender;
  openNetlink(): NetlinkChannel;
}

// ---- the addon ---------------------------------------------------------------------------

interface RecvMeta {
  readonly ifindex: number;
  readonly source: string | null;
  readonly destination: string | null;
  readonly hopLimit: number;
  readonly truncated: number;
}

/** The addon's exports (native/rawnet.c). */
export interface RawNetAddon {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: number | Buffer): void;
  bindToDevice(fd: number, name: string): void;
  bind(fd: number, address: string, port: number, scopeId?: number): void;
  bindPacket(fd: number, ifindex: number, ethertype: number): void;
  listen(fd: number, backlog: number): void;
  bindNetlink(fd: number, groups: number): void;
  attachDropFilter(fd: number): void;
  sendTo(fd: number, payload: Buffer, destination: string, ifindex?: number, source?: string | null): number;
  sendPacket(fd: number, ifindex: number, frame: Buffer): number;
  send(fd: number, payload: Buffer): number;
  recv(fd: number): Buffer | null;
  ifindex(name: string): number;
  ifinfo(name: string): { index: number; mac: Buffer; hwType: number; flags: number; mtu: number };
  close(fd: number): void;
  startRecv(fd: number, callback: (err: Error | undefined, packet: Buffer | undefined, meta: RecvMeta | undefined) => void): unknown;
  stopRecv(handle: unknown): void;
  readonly constants: Readonly<Record<string, number>>;
}

// DIRECTORD_ADDON points at another build of the same addon (a sanitizer build when testing the C).
const ADDON_PATH = process.env.DIRECTORD_ADDON ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'build', 'Release', 'rawnet.node');
let addonCache: RawNetAddon | undefined;

/** Loads the addon once; throws DIR_ERR_SYS_ADDON_MISSING with the build command if it is not built. */
export function loadAddon(): RawNetAddon {
  if (addonCache) return addonCache;
  try {
    addonCache = createRequire(import.meta.url)(ADDON_PATH) as RawNetAddon;
  } catch (cause) {
    throw new DirectorError('DIR_ERR_SYS_ADDON_MISSING', { path: ADDON_PATH, reason: (cause as Error).message }, { cause });
  }
  return addonCache;
}

/** Is the addon built and loadable? */
export function addonAvailable(): boolean {
  try {
    loadAddon();
    return true;
  } catch {
    return false;
  }
}

/** Turns an addon error (code = errno name) into a DirectorError with a DIR_ERR_SYS_* code. */
export function sysError(cause: unknown, context: string): DirectorError {
  if (cause instanceof DirectorError) return cause;
  const e = cause as { code?: string; syscall?: string; message?: string };
  const errno = typeof e.code === 'string' ? e.code : 'EUNKNOWN';
  const params = { syscall: `${context}: ${e.syscall ?? 'call'}`, errno, reason: e.message ?? String(cause) };
  const code = errno === 'EPERM' || errno === 'EACCES' ? 'DIR_ERR_SYS_PERMISSION' : 'DIR_ERR_SYS_SOCKET';
  return new DirectorError(code, params, { cause });
}

function wrap<T>(context: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    throw sysError(cause, context);
  }
}

/** struct ip_mreqn { imr_multiaddr, imr_address, imr_ifindex } (ip(7)). */
function ipMreqn(group: string, ifindex: number): Buffer {
  const b = Buffer.alloc(12);
  Buffer.from(ipBytes(group) as Uint8Array).copy(b, 0);
  b.writeInt32LE(ifindex, 8);
  return b;
}

/** struct ipv6_mreq { ipv6mr_multiaddr, ipv6mr_interface } (ipv6(7)). */
function ipv6Mreq(group: string, ifindex: number): Buffer {
  const b = Buffer.alloc(20);
  Buffer.from(ipBytes(group) as Uint8Array).copy(b, 0);
  b.writeUInt32LE(ifindex, 16);
  return b;
}

export const VRRP_GROUP_V4 = '224.0.0.18';
export const VRRP_GROUP_V6 = 'ff02::12';
/** keepalived-spec 1.2: precedence "internetwork control" (DSCP CS6). */
const VRRP_TOS = 0xc0;

/** Parses a received IPv4 datagram (raw sockets hand over the header) into a ReceivedVrrp. */
export function parseIpv4Datagram(buf: Buffer, ifindex: number): ReceivedVrrp | undefined {
  if (buf.length < 20 || (buf[0] as number) >> 4 !== 4) return undefined;
  const ihl = ((buf[0] as number) & 0x0f) * 4;
  if (ihl < 20 || buf.length < ihl) return undefined;
  const totalLength = buf.readUInt16BE(2);
  return {
    payload: buf.subarray(ihl),
    family: 4,
    ttlOrHopLimit: buf[8] as number,
    protocol: buf[9] as number,
    source: formatIpBytes(buf.subarray(12, 16)),
    destination: formatIpBytes(buf.subarray(16, 20)),
    ifindex,
    lengthMismatch: totalLength !== buf.length,
  };
}

/** Parses RTM_NEWLINK / RTM_DELLINK messages (rtnetlink(7): nlmsghdr, ifinfomsg, IFLA_IFNAME). */
export function parseLinkMessages(buf: Buffer, upMask: number): LinkEvent[] {
  const out: LinkEvent[] = [];
  for (let off = 0; off + 32 <= buf.length; ) {
    const len = buf.readUInt32LE(off);
    if (len < 16 || off + len > buf.length) break;
    const type = buf.readUInt16LE(off + 4);
    if ((type === 16 || type === 17) && len >= 32) {
      const ifindex = buf.readInt32LE(off + 20);
      const flags = buf.readUInt32LE(off + 24);
      let name = '';
      for (let at = off + 32; at + 4 <= off + len; ) {
        const alen = buf.readUInt16LE(at);
        if (alen < 4) break;
        if (buf.readUInt16LE(at + 2) === 3) name = buf.toString('utf8', at + 4, at + alen).replace(/\0.*$/, '');
        at += (alen + 3) & ~3;
      }
      out.push({ ifindex, name, up: type === 16 && (flags & upMask) === upMask });
    }
    off += (len + 3) & ~3;
  }
  return out;
}

/** The real implementation over the addon. */
export class NativeRawNet implements RawNet {
  private readonly addon: RawNetAddon;
  private readonly c: Readonly<Record<string, number>>;

  constructor(addon: RawNetAddon = loadAddon()) {
    this.addon = addon;
    this.c = addon.constants;
  }

  private k(name: string): number {
    const v = this.c[name];
    if (v === undefined) throw new DirectorError('DIR_ERR_SYS_UNAVAILABLE', { reason: `addon constant ${name} missing` });
    return v;
  }

  interfaceInfo(name: string): InterfaceInfo {
    let raw: ReturnType<RawNetAddon['ifinfo']>;
    try {
      raw = this.addon.ifinfo(name);
    } catch (cause) {
      const errno = (cause as { code?: string }).code;
      if (errno === 'ENODEV') throw new DirectorError('DIR_ERR_SYS_INTERFACE', { name, reason: 'no such interface' }, { cause });
      throw sysError(cause, `interface ${name}`);
    }
    const flags = raw.flags;
    const upMask = this.k('IFF_UP') | this.k('IFF_RUNNING');
    return {
      name,
      index: raw.index,
      mac: raw.mac,
      mtu: raw.mtu,
      up: (flags & upMask) === upMask,
      noArp: (flags & this.k('IFF_NOARP')) !== 0,
    };
  }

  interfaceAddresses(name: string): InterfaceAddress[] {
    const list = networkInterfaces()[name] ?? [];
    return list.map((a) => {
      const family: 4 | 6 = a.family === 'IPv4' ? 4 : 6;
      const prefixLength = Number((a.cidr ?? '/0').split('/')[1] ?? 0);
      // Node reports link-local IPv6 as "fe80::1%eth0" on some versions; strip the zone.
      return { family, address: a.address.split('%')[0] as string, prefixLength };
    });
  }

  openVrrp(options: VrrpSocketOptions, onPacket: (packet: ReceivedVrrp) => void, onError: (error: Error) => void): VrrpChannel {
    const a = this.addon;
    const ifindex = this.interfaceInfo(options.interface).index;
    const ttl = options.unicastTtl ?? 255;
    const fds: number[] = [];
    const handles: unknown[] = [];
    const cleanup = () => {
      for (const h of handles) a.stopRecv(h);
      for (const fd of fds) {
        try {
          a.close(fd);
        } catch {
          // already closed
        }
      }
      fds.length = 0;
      handles.length = 0;
    };
    try {
      if (options.family === 4) {
        // One socket both ways: IPv4 raw sockets return the IP header, so TTL/src/dst come from it.
        const fd = wrap('VRRP IPv4 socket', () => a.socket(this.k('AF_INET'), this.k('SOCK_RAW'), this.k('IPPROTO_VRRP')));
        fds.push(fd);
        wrap('SO_BINDTODEVICE', () => a.bindToDevice(fd, options.interface));
        const IP = this.k('IPPROTO_IP');
        wrap('IP_TOS', () => a.setsockopt(fd, IP, this.k('IP_TOS'), VRRP_TOS));
        wrap('IP_TTL', () => a.setsockopt(fd, IP, this.k('IP_TTL'), ttl));
        wrap('IP_MULTICAST_TTL', () => a.setsockopt(fd, IP, this.k('IP_MULTICAST_TTL'), 255));
        wrap('IP_MULTICAST_LOOP', () => a.setsockopt(fd, IP, this.k('IP_MULTICAST_LOOP'), 0));
        wrap('IP_MULTICAST_IF', () => a.setsockopt(fd, IP, this.k('IP_MULTICAST_IF'), ipMreqn('0.0.0.0', ifindex)));
        // Only groups this socket joined (not every group some other socket joined).
        wrap('IP_MULTICAST_ALL', () => a.setsockopt(fd, IP, this.k('IP_MULTICAST_ALL'), 0));
        wrap('IP_PKTINFO', () => a.setsockopt(fd, IP, this.k('IP_PKTINFO'), 1));
        if (options.multicast) wrap('IP_ADD_MEMBERSHIP', () => a.setsockopt(fd, IP, this.k('IP_ADD_MEMBERSHIP'), ipMreqn(VRRP_GROUP_V4, ifindex)));
        handles.push(
          a.startRecv(fd, (err, buf, meta) => {
            if (err) return onError(sysError(err, 'VRRP receive'));
            if (!buf || !meta) return;
            const p = parseIpv4Datagram(buf, meta.ifindex);
            if (p) onPacket(p);
          }),
        );
        return {
          send: (payload, destination) => {
            wrap('VRRP send', () => a.sendTo(fd, payload, destination, 0, options.source ?? null));
          },
          close: cleanup,
        };
      }
      // IPv6: separate send and receive sockets. The send socket lets the kernel compute the
      // checksum with the pseudo-header (IPV6_CHECKSUM, RFC 3542 3.1) over the source it picks;
      // the receive socket does NOT, so bad checksums reach validateAdvert and are counted.
      const IPV6 = this.k('IPPROTO_IPV6');
      const rx = wrap('VRRP IPv6 socket', () => a.socket(this.k('AF_INET6'), this.k('SOCK_RAW'), this.k('IPPROTO_VRRP')));
      fds.push(rx);
      wrap('SO_BINDTODEVICE', () => a.bindToDevice(rx, options.interface));
      wrap('IPV6_RECVHOPLIMIT', () => a.setsockopt(rx, IPV6, this.k('IPV6_RECVHOPLIMIT'), 1));
      wrap('IPV6_RECVPKTINFO', () => a.setsockopt(rx, IPV6, this.k('IPV6_RECVPKTINFO'), 1));
      if (options.multicast) wrap('IPV6_ADD_MEMBERSHIP', () => a.setsockopt(rx, IPV6, this.k('IPV6_ADD_MEMBERSHIP'), ipv6Mreq(VRRP_GROUP_V6, ifindex)));
      const tx = wrap('VRRP IPv6 send socket', () => a.socket(this.k('AF_INET6'), this.k('SOCK_RAW'), this.k('IPPROTO_VRRP')));
      fds.push(tx);
      wrap('SO_ATTACH_FILTER', () => a.attachDropFilter(tx));
      wrap('SO_BINDTODEVICE', () => a.bindToDevice(tx, options.interface));
      wrap('IPV6_CHECKSUM', () => a.setsockopt(tx, IPV6, this.k('IPV6_CHECKSUM'), 6));
      wrap('IPV6_TCLASS', () => a.setsockopt(tx, IPV6, this.k('IPV6_TCLASS'), VRRP_TOS));
      wrap('IPV6_MULTICAST_HOPS', () => a.setsockopt(tx, IPV6, this.k('IPV6_MULTICAST_HOPS'), 255));
      wrap('IPV6_UNICAST_HOPS', () => a.setsockopt(tx, IPV6, this.k('IPV6_UNICAST_HOPS'), ttl));
      wrap('IPV6_MULTICAST_LOOP', () => a.setsockopt(tx, IPV6, this.k('IPV6_MULTICAST_LOOP'), 0));
      wrap('IPV6_MULTICAST_IF', () => a.setsockopt(tx, IPV6, this.k('IPV6_MULTICAST_IF'), ifindex));
      handles.push(
        a.startRecv(rx, (err, buf, meta) => {
          if (err) return onError(sysError(err, 'VRRP receive'));
          if (!buf || !meta || !meta.source) return;
          onPacket({
            payload: buf,
            family: 6,
            ttlOrHopLimit: meta.hopLimit,
            source: meta.source,
            destination: meta.destination ?? '::',
            ifindex: meta.ifindex,
            lengthMismatch: false,
            protocol: 112,
          });
        }),
      );
      return {
        send: (payload, destination) => {
          wrap('VRRP send', () => a.sendTo(tx, payload, destination, ifindex, options.source ?? null));
        },
        close: cleanup,
      };
    } catch (e) {
      cleanup();
      throw e;
    }
  }

  openFrameSender(interfaceName: string): FrameSender {
    const a = this.addon;
    const ifindex = this.interfaceInfo(interfaceName).index;
    // Protocol 0: a send-only packet socket that receives nothing (packet(7)).
    const fd = wrap('AF_PACKET socket', () => a.socket(this.k('AF_PACKET'), this.k('SOCK_RAW'), 0));
    let open = true;
    return {
      sendFrame: (frame) => {
        wrap('AF_PACKET send', () => a.sendPacket(fd, ifindex, frame));
      },
      close: () => {
        if (open) a.close(fd);
        open = false;
      },
    };
  }

  openIcmp6Sender(interfaceName: string): Icmp6Sender {
    const a = this.addon;
    const ifindex = this.interfaceInfo(interfaceName).index;
    const IPV6 = this.k('IPPROTO_IPV6');
    const fd = wrap('ICMPv6 socket', () => a.socket(this.k('AF_INET6'), this.k('SOCK_RAW'), this.k('IPPROTO_ICMPV6')));
    try {
      // Block every ICMPv6 type on receive: this socket only sends (RFC 3542 3.2 ICMP6_FILTER).
      wrap('ICMP6_FILTER', () => a.setsockopt(fd, this.k('IPPROTO_ICMPV6'), this.k('ICMP6_FILTER'), Buffer.alloc(32, 0xff)));
      wrap('SO_BINDTODEVICE', () => a.bindToDevice(fd, interfaceName));
      // RFC 4861 7.1.2: NAs must arrive with hop limit 255 or receivers drop them.
      wrap('IPV6_MULTICAST_HOPS', () => a.setsockopt(fd, IPV6, this.k('IPV6_MULTICAST_HOPS'), 255));
      wrap('IPV6_UNICAST_HOPS', () => a.setsockopt(fd, IPV6, this.k('IPV6_UNICAST_HOPS'), 255));
      wrap('IPV6_MULTICAST_LOOP', () => a.setsockopt(fd, IPV6, this.k('IPV6_MULTICAST_LOOP'), 0));
      wrap('IPV6_MULTICAST_IF', () => a.setsockopt(fd, IPV6, this.k('IPV6_MULTICAST_IF'), ifindex));
    } catch (e) {
      a.close(fd);
      throw e;
    }
    let open = true;
    return {
      send: (message, destination, source) => {
        wrap('ICMPv6 send', () => a.sendTo(fd, message, destination, ifindex, source));
      },
      close: () => {
        if (open) a.close(fd);
        open = false;
      },
    };
  }

  watchLinks(onEvent: (event: LinkEvent) => void): { close(): void } {
    const a = this.addon;
    const fd = wrap('netlink link monitor', () => a.socket(this.k('AF_NETLINK'), this.k('SOCK_RAW'), this.k('NETLINK_ROUTE')));
    let handle: unknown;
    try {
      wrap('netlink bind RTMGRP_LINK', () => a.bindNetlink(fd, this.k('RTMGRP_LINK')));
      const upMask = this.k('IFF_UP') | this.k('IFF_RUNNING');
      handle = a.startRecv(fd, (err, buf) => {
        if (err || !buf) return;
        for (const e of parseLinkMessages(buf, upMask)) onEvent(e);
      });
    } catch (e) {
      a.close(fd);
      throw e;
    }
    let open = true;
    return {
      close: () => {
        if (!open) return;
        open = false;
        a.stopRecv(handle);
        a.close(fd);
      },
    };
  }

  openNetlink(): NetlinkChannel {
    const a = this.addon;
    const fd = wrap('netlink socket', () => a.socket(this.k('AF_NETLINK'), this.k('SOCK_RAW'), this.k('NETLINK_ROUTE')));
    let open = true;
    return {
      request: (message) => {
        // Answers carry the request's sequence number; anything else queued (a stale answer
        // from an earlier request) is skipped rather than mistaken for ours.
        const seq = message.readUInt32LE(8);
        wrap('netlink send', () => a.send(fd, message));
        // rtnetlink processes requests synchronously inside sendmsg: the answer (ACK, error or
        // the first part of a dump) is queued before send() returns; dump continuations are
        // produced inside each recvmsg. So reading until DONE/ACK never waits.
        const out: Buffer[] = [];
        for (let guard = 0; guard < 10_000; guard++) {
          const buf = wrap('netlink recv', () => a.recv(fd));
          if (!buf) break;
          let end = false;
          for (let off = 0; off + 16 <= buf.length; ) {
            const len = buf.readUInt32LE(off);
            const type = buf.readUInt16LE(off + 4);
            if (len < 16 || off + len > buf.length) break;
            if (buf.readUInt32LE(off + 8) === seq) {
              out.push(buf.subarray(off, off + len));
              // NLMSG_ERROR (2) carries ACKs and errors; NLMSG_DONE (3) ends a dump.
              if (type === 2 || type === 3) end = true;
            }
            off += (len + 3) & ~3;
          }
          if (end) break;
        }
        return out;
      },
      close: () => {
        if (open) a.close(fd);
        open = false;
      },
    };
  }
}

/** The rawnet the daemon uses (lazy, so merely importing this module never needs the addon). */
let defaultRawNet: RawNet | undefined;
export function systemRawNet(): RawNet {
  defaultRawNet ??= new NativeRawNet();
  return defaultRawNet;
}
