/**
 * ICMP echo (RFC 792 "Echo or Echo Reply Message", RFC 4443 4.1/4.2) through the native addon, for
 * the ping health check: no process per check (iputils `ping` is the fallback), sub-second
 * timeouts, and any number of echoes in flight over one socket per family.
 *
 * Socket choice, first that opens:
 *   1. an unprivileged "ping socket" (SOCK_DGRAM + IPPROTO_ICMP/ICMPV6, Linux 3.0+): the kernel
 *      sets the identifier and checksum and hands back only this socket's replies. Allowed when
 *      the process's group is in net.ipv4.ping_group_range (Debian's default range is empty: "1 0");
 *   2. a raw socket (SOCK_RAW, needs CAP_NET_RAW, which directord has as a systemd service): we
 *      set the identifier and the IPv4 checksum (the kernel computes ICMPv6's, RFC 3542 3.1) and
 *      read every echo reply, matching identifier, sequence and source.
 * Replies are matched by sequence number (and identifier on raw sockets) and by the source address
 * being the address pinged. A socket is opened when the first echo of its family starts and closed
 * when none is in flight, so an idle checker holds no handle.
 */
import { DirectorError } from '../core/errors.js';
import { tryParseIp } from '../core/ip.js';
import { loadAddon, type RawNetAddon } from './rawnet.js';

export type EchoResult = { readonly ok: true; readonly rttMs: number } | { readonly ok: false; readonly reason: 'timeout' | 'aborted' | 'send-failed'; readonly detail: string };

/** How a family's socket was opened (decides how replies are parsed). */
type EchoSocketKind = 'ping-socket' | 'raw';

interface Pending {
  readonly address: string;
  readonly started: bigint;
  readonly finish: (r: EchoResult) => void;
}

interface FamilySocket {
  readonly fd: number;
  readonly kind: EchoSocketKind;
  readonly recv: unknown;
  readonly pending: Map<number, Pending>;
}

/** linux/in.h SOL_RAW and linux/icmp.h ICMP_FILTER (the addon exports neither). */
const SOL_RAW = 255;
const ICMP_FILTER = 1;

const ECHO_REQUEST = { 4: 8, 6: 128 } as const;
const ECHO_REPLY = { 4: 0, 6: 129 } as const;
const PAYLOAD = Buffer.from('directord ping\0\0', 'latin1');

/** RFC 1071 Internet checksum. */
export function internetChecksum(buf: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2 === 1) sum += (buf[buf.length - 1] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An echo request: type, code 0, checksum, identifier, sequence, payload. */
export function echoRequest(family: 4 | 6, identifier: number, sequence: number): Buffer {
  const b = Buffer.alloc(8 + PAYLOAD.length);
  b[0] = ECHO_REQUEST[family];
  b.writeUInt16BE(identifier & 0xffff, 4);
  b.writeUInt16BE(sequence & 0xffff, 6);
  PAYLOAD.copy(b, 8);
  // ICMPv6's checksum covers a pseudo-header only the kernel knows: it fills it in (RFC 3542 3.1).
  if (family === 4) b.writeUInt16BE(internetChecksum(b), 2);
  return b;
}

export class IcmpEchoer {
  private readonly sockets = new Map<4 | 6, FamilySocket>();
  private sequence = Math.floor(Math.random() * 0x10000);
  /** Identifier on raw sockets (ping sockets get theirs from the kernel). */
  private readonly identifier = (process.pid ^ Math.floor(Math.random() * 0x10000)) & 0xffff;

  constructor(private readonly addon: RawNetAddon = loadAddon()) {}

  /**
   * Sends one echo request and waits up to `timeoutMs` for its reply. Throws DIR_ERR_SYS_PERMISSION
   * when neither a ping socket nor a raw socket may be opened (the caller falls back to iputils).
   */
  echo(address: string, timeoutMs: number, signal?: AbortSignal): Promise<EchoResult> {
    const ip = tryParseIp(address);
    if (ip === undefined) throw new DirectorError('DIR_ERR_SYS_SOCKET', { syscall: 'icmp echo', errno: 'EINVAL', reason: `not an IP address: ${address}` });
    const family = ip.family;
    const sock = this.socketFor(family);
    let seq = 0;
    for (let i = 0; i < 0x10000; i++) {
      seq = this.sequence = (this.sequence + 1) & 0xffff;
      if (!sock.pending.has(seq)) break;
    }
    return new Promise<EchoResult>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => finish({ ok: false, reason: 'aborted', detail: 'aborted' });
      const finish = (r: EchoResult): void => {
        if (sock.pending.get(seq)?.finish !== finish) return;
        sock.pending.delete(seq);
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (sock.pending.size === 0) this.closeFamily(family);
        resolve(r);
      };
      sock.pending.set(seq, { address: ip.text, started: process.hrtime.bigint(), finish });
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      timer = setTimeout(() => finish({ ok: false, reason: 'timeout', detail: `no echo reply within ${timeoutMs} ms` }), timeoutMs);
      try {
        this.addon.sendTo(sock.fd, echoRequest(family, this.identifier, seq), ip.text);
      } catch (err) {
        finish({ ok: false, reason: 'send-failed', detail: `sendto: ${(err as Error).message}` });
      }
    });
  }

  /** Stops every echo in flight (they resolve as aborted) and closes the sockets. */
  close(): void {
    for (const s of [...this.sockets.values()]) for (const p of [...s.pending.values()]) p.finish({ ok: false, reason: 'aborted', detail: 'closed' });
    for (const family of [...this.sockets.keys()]) this.closeFamily(family);
  }

  private socketFor(family: 4 | 6): FamilySocket {
    const open = this.sockets.get(family);
    if (open !== undefined) return open;
    const a = this.addon;
    const k = (name: string): number => {
      const v = a.constants[name];
      if (v === undefined) throw new DirectorError('DIR_ERR_SYS_UNAVAILABLE', { reason: `addon constant ${name} missing` });
      return v;
    };
    const domain = family === 4 ? k('AF_INET') : k('AF_INET6');
    const protocol = family === 4 ? 1 /* IPPROTO_ICMP */ : k('IPPROTO_ICMPV6');
    let fd: number;
    let kind: EchoSocketKind;
    try {
      fd = a.socket(domain, k('SOCK_DGRAM'), protocol);
      kind = 'ping-socket';
    } catch (dgramErr) {
      try {
        fd = a.socket(domain, k('SOCK_RAW'), protocol);
        kind = 'raw';
      } catch (rawErr) {
        const e = rawErr as { code?: string; message?: string };
        throw new DirectorError(
          e.code === 'EPERM' || e.code === 'EACCES' ? 'DIR_ERR_SYS_PERMISSION' : 'DIR_ERR_SYS_SOCKET',
          { syscall: 'icmp socket', errno: e.code ?? 'EUNKNOWN', reason: `ping socket: ${(dgramErr as Error).message}; raw socket: ${e.message ?? ''}` },
          { cause: rawErr },
        );
      }
    }
    try {
      // Many checks' replies can land between two reads: room for a few thousand.
      a.setsockopt(fd, k('SOL_SOCKET'), k('SO_RCVBUF'), 1 << 20);
      if (kind === 'raw' && family === 4) {
        // A raw ICMP socket sees every ICMP message the host receives, our own requests on
        // loopback included: let only echo replies (type 0) through (raw(7) ICMP_FILTER, a mask
        // of types to drop).
        const mask = Buffer.alloc(4);
        mask.writeUInt32LE(~(1 << ECHO_REPLY[4]) >>> 0);
        a.setsockopt(fd, SOL_RAW, ICMP_FILTER, mask);
      }
      if (kind === 'raw' && family === 6) {
        // Pass only echo replies up (RFC 3542 3.2): a bit set blocks the type.
        const filter = Buffer.alloc(32, 0xff);
        const t = ECHO_REPLY[6];
        filter[t >> 3] = (filter[t >> 3] as number) & ~(1 << (t & 7));
        a.setsockopt(fd, k('IPPROTO_ICMPV6'), k('ICMP6_FILTER'), filter);
      }
    } catch (err) {
      a.close(fd);
      throw err;
    }
    const pending = new Map<number, Pending>();
    const recv = a.startRecv(fd, (err, packet, meta) => {
      if (err !== undefined || packet === undefined) return;
      this.onPacket(family, kind, pending, packet, meta?.source ?? null);
    });
    const s: FamilySocket = { fd, kind, recv, pending };
    this.sockets.set(family, s);
    return s;
  }

  private onPacket(family: 4 | 6, kind: EchoSocketKind, pending: Map<number, Pending>, packet: Buffer, source: string | null): void {
    let icmp = packet;
    if (kind === 'raw' && family === 4) {
      // A raw IPv4 socket hands up the IP header too (ip(7)); its length is IHL * 4.
      if (packet.length < 20) return;
      icmp = packet.subarray(((packet[0] as number) & 0x0f) * 4);
    }
    if (icmp.length < 8 || icmp[0] !== ECHO_REPLY[family]) return;
    if (kind === 'raw' && icmp.readUInt16BE(4) !== this.identifier) return; // another process's ping
    const p = pending.get(icmp.readUInt16BE(6));
    if (p === undefined) return;
    if (source === null || tryParseIp(source)?.text !== p.address) return;
    const rttMs = Number(process.hrtime.bigint() - p.started) / 1e6;
    p.finish({ ok: true, rttMs });
  }

  private closeFamily(family: 4 | 6): void {
    const s = this.sockets.get(family);
    if (s === undefined) return;
    this.sockets.delete(family);
    this.addon.stopRecv(s.recv);
    this.addon.close(s.fd);
  }
}
