/**
 * An in-memory RawNet for unit tests of the logic above the sockets (instance, GARP, VIPs):
 * interfaces are declared, sent packets are recorded in order, received packets are injected.
 * No root, no addon.
 */
import { DirectorError } from '../core/errors.js';
import type {
  FrameSender,
  Icmp6Sender,
  InterfaceAddress,
  InterfaceInfo,
  NetlinkChannel,
  RawNet,
  ReceivedVrrp,
  VrrpChannel,
  VrrpSocketOptions,
} from './rawnet.js';

/** One thing "put on the wire". */
export type SentPacket =
  | { readonly kind: 'vrrp'; readonly interface: string; readonly payload: Buffer; readonly destination: string; readonly source?: string }
  | { readonly kind: 'frame'; readonly interface: string; readonly frame: Buffer }
  | { readonly kind: 'icmp6'; readonly interface: string; readonly message: Buffer; readonly destination: string; readonly source: string };

interface OpenChannel {
  readonly options: VrrpSocketOptions;
  readonly onPacket: (p: ReceivedVrrp) => void;
  open: boolean;
}

export class MemoryRawNet implements RawNet {
  readonly sent: SentPacket[] = [];
  private readonly interfaces = new Map<string, { info: InterfaceInfo; addresses: InterfaceAddress[] }>();
  private readonly channels: OpenChannel[] = [];
  /** Set to make the next send fail (tests of error paths). */
  failSends = false;

  addInterface(name: string, index: number, mac: string, addresses: InterfaceAddress[], up = true): void {
    const macBuf = Buffer.from(mac.split(':').map((h) => Number.parseInt(h, 16)));
    this.interfaces.set(name, { info: { name, index, mac: macBuf, mtu: 1500, up, noArp: false }, addresses });
  }

  setUp(name: string, up: boolean): void {
    const i = this.interfaces.get(name);
    if (i) i.info = { ...i.info, up };
  }

  interfaceInfo(name: string): InterfaceInfo {
    const i = this.interfaces.get(name);
    if (!i) throw new DirectorError('DIR_ERR_SYS_INTERFACE', { name, reason: 'no such interface' });
    return i.info;
  }

  interfaceAddresses(name: string): InterfaceAddress[] {
    return [...(this.interfaces.get(name)?.addresses ?? [])];
  }

  openVrrp(options: VrrpSocketOptions, onPacket: (packet: ReceivedVrrp) => void): VrrpChannel {
    this.interfaceInfo(options.interface);
    const ch: OpenChannel = { options, onPacket, open: true };
    this.channels.push(ch);
    return {
      send: (payload, destination) => {
        if (!ch.open) throw new DirectorError('DIR_ERR_SYS_SOCKET', { syscall: 'sendmsg', errno: 'EBADF', reason: 'closed' });
        if (this.failSends) throw new DirectorError('DIR_ERR_SYS_SOCKET', { syscall: 'sendmsg', errno: 'ENETDOWN', reason: 'test' });
        this.sent.push({ kind: 'vrrp', interface: options.interface, payload: Buffer.from(payload), destination, ...(options.source ? { source: options.source } : {}) });
      },
      close: () => {
        ch.open = false;
      },
    };
  }

  openFrameSender(interfaceName: string): FrameSender {
    this.interfaceInfo(interfaceName);
    return {
      sendFrame: (frame) => {
        this.sent.push({ kind: 'frame', interface: interfaceName, frame: Buffer.from(frame) });
      },
      close: () => {},
    };
  }

  openIcmp6Sender(interfaceName: string): Icmp6Sender {
    this.interfaceInfo(interfaceName);
    return {
      send: (message, destination, source) => {
        this.sent.push({ kind: 'icmp6', interface: interfaceName, message: Buffer.from(message), destination, source });
      },
      close: () => {},
    };
  }

  openNetlink(): NetlinkChannel {
    throw new DirectorError('DIR_ERR_SYS_UNAVAILABLE', { reason: 'MemoryRawNet has no netlink; pass addressOps' });
  }

  /** Delivers a packet to every open channel on this interface and family. */
  deliver(interfaceName: string, packet: ReceivedVrrp): void {
    for (const ch of this.channels) {
      if (ch.open && ch.options.interface === interfaceName && ch.options.family === packet.family) ch.onPacket(packet);
    }
  }

  /** Open VRRP channels (tests assert sockets are closed on close/destroy). */
  openChannels(): number {
    return this.channels.filter((c) => c.open).length;
  }
}
