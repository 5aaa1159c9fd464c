/**
 * Kernel parameters through /proc/sys (sysctl(8) without spawning it). Keys are written as
 * sysctl does: dotted (`net.ipv6.conf.eth0.forwarding`) or slashed
 * (`net/ipv6/conf/eth0.100/forwarding`, needed when an interface name contains a dot).
 * Values are read and written per network namespace, like everything under net/.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { DirectorError } from '../core/errors.js';

/** /proc/sys path of a key. */
export function sysctlPath(key: string): string {
  if (key.includes('..') || key.startsWith('/')) throw new DirectorError('DIR_ERR_SYS_UNAVAILABLE', { reason: `bad sysctl key ${key}` });
  return `/proc/sys/${key.includes('/') ? key : key.replace(/\./g, '/')}`;
}

/** The value (trimmed), or undefined when the key does not exist or cannot be read. */
export function readSysctl(key: string): string | undefined {
  try {
    return readFileSync(sysctlPath(key), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Writes a value; throws DIR_ERR_SYS_UNAVAILABLE naming the key on failure. */
export function writeSysctl(key: string, value: string | number): void {
  try {
    writeFileSync(sysctlPath(key), `${value}\n`);
  } catch (cause) {
    throw new DirectorError('DIR_ERR_SYS_UNAVAILABLE', { reason: `cannot set ${key}=${value}: ${(cause as Error).message}` }, { cause });
  }
}

/** Is IPv6 forwarding on for this interface (the NA Router flag, keepalived-spec 2.1)? */
export function ipv6Forwarding(ifname: string): boolean {
  return readSysctl(`net/ipv6/conf/${ifname}/forwarding`) === '1';
}
