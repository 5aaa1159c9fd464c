/**
 * Listening sockets on addresses this host does not own (yet): IP_FREEBIND / IPV6_FREEBIND
 * (ip(7), ipv6(7)). A backup director can bind its listeners to the VIP before VRRP hands it the
 * address, so a takeover needs no re-bind (spike-netns-vrrp.md section 6). Node has no API to set
 * these options on its own sockets, so the addon creates the socket and Node adopts the fd:
 *
 *   const fd = openFreebindSocket({ protocol: 'tcp', address: '10.9.0.50', port: 80 });
 *   net.createServer(handler).listen({ fd });           // TCP: already bound and listening
 *
 *   const fd = openFreebindSocket({ protocol: 'udp', address: '10.9.0.50', port: 53 });
 *   dgram.createSocket('udp4').bind({ fd });             // UDP: bound
 *
 * The fd is non-blocking and close-on-exec; whoever adopts it owns it (closing the server closes
 * it). On failure nothing is leaked and a DIR_ERR_SYS_* error says which call failed.
 */
import { tryParseIp } from '../core/ip.js';
import { DirectorError } from '../core/errors.js';
import { loadAddon, sysError, type RawNetAddon } from './rawnet.js';

export interface FreebindOptions {
  readonly protocol: 'tcp' | 'udp';
  /** IPv4 or IPv6 address text; the family follows from it. */
  readonly address: string;
  readonly port: number;
  /** TCP listen backlog (default 511, as Node uses). */
  readonly backlog?: number;
  /** SO_REUSEADDR (default true for TCP, as Node sets it). */
  readonly reuseAddress?: boolean;
  /** SO_REUSEPORT (default false). */
  readonly reusePort?: boolean;
  /** IPv6 only: IPV6_V6ONLY (default true: a VIP listener is for one address). */
  readonly ipv6Only?: boolean;
  /** IPv6 link-local addresses need the interface index. */
  readonly scopeId?: number;
}

/** Returns a bound (UDP) or bound+listening (TCP) fd with IP_FREEBIND / IPV6_FREEBIND set. */
export function openFreebindSocket(options: FreebindOptions, addon: RawNetAddon = loadAddon()): number {
  const ip = tryParseIp(options.address);
  if (!ip) throw new DirectorError('DIR_ERR_INVALID_IP', { input: options.address });
  const c = addon.constants as Record<string, number>;
  const k = (n: string): number => c[n] as number;
  const v6 = ip.family === 6;
  const fd = addon.socket(v6 ? k('AF_INET6') : k('AF_INET'), options.protocol === 'tcp' ? k('SOCK_STREAM') : k('SOCK_DGRAM'), 0);
  const step = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (cause) {
      try {
        addon.close(fd);
      } catch {
        // the original error matters
      }
      throw sysError(cause, `freebind ${options.protocol} ${ip.text}:${options.port}: ${what}`);
    }
  };
  if (v6) {
    step('IPV6_V6ONLY', () => addon.setsockopt(fd, k('IPPROTO_IPV6'), k('IPV6_V6ONLY'), options.ipv6Only === false ? 0 : 1));
    step('IPV6_FREEBIND', () => addon.setsockopt(fd, k('IPPROTO_IPV6'), k('IPV6_FREEBIND'), 1));
  } else {
    step('IP_FREEBIND', () => addon.setsockopt(fd, k('IPPROTO_IP'), k('IP_FREEBIND'), 1));
  }
  if (options.reuseAddress ?? options.protocol === 'tcp') step('SO_REUSEADDR', () => addon.setsockopt(fd, k('SOL_SOCKET'), k('SO_REUSEADDR'), 1));
  if (options.reusePort) step('SO_REUSEPORT', () => addon.setsockopt(fd, k('SOL_SOCKET'), k('SO_REUSEPORT'), 1));
  step('bind', () => addon.bind(fd, ip.text, options.port, options.scopeId ?? 0));
  if (options.protocol === 'tcp') step('listen', () => addon.listen(fd, options.backlog ?? 511));
  return fd;
}
