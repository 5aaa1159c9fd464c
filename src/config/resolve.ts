/**
 * Host-name resolution for config readers.
 *
 * ldirectord resolves every host once, at load time, through getaddrinfo with the block's family
 * (ldirectord-spec 4.1, 6.1); a failure is a config error. Numeric forms are handled here without
 * any lookup, including the inet_aton short forms glibc accepts ("80" is 0.0.0.80, which is how
 * `real=192.168.1.[1-5]:80` ends up as a real at 0.0.0.80; ldirectord-spec 6.1). Names go to an
 * injected resolver so tests need no DNS.
 */
import { lookup } from 'node:dns/promises';
import { tryParseIp } from '../core/ip.js';
import type { IpAddress, IpFamily } from '../core/ip.js';

/** Resolves a host name to one numeric address of the family, or undefined. */
export type HostResolver = (name: string, family: 4 | 6) => Promise<string | undefined>;

/** The default: the system resolver (getaddrinfo), first result. */
export const systemResolver: HostResolver = async (name, family) => {
  try {
    const r = await lookup(name, { family });
    return r.address;
  } catch {
    return undefined;
  }
};

/**
 * glibc inet_aton: 1 to 4 dot-separated decimal numbers, the last one filling the remaining bytes.
 * (Hex and octal forms also exist in inet_aton; ldirectord's address regexes never pass them.)
 */
export function inetAton(text: string): IpAddress | undefined {
  if (!/^\d+(\.\d+){0,3}$/.test(text)) return undefined;
  const parts = text.split('.').map(Number);
  const bytes: number[] = [];
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i] as number;
    if (p > 255) return undefined;
    bytes.push(p);
  }
  const lastBytes = 4 - bytes.length;
  const last = parts[parts.length - 1] as number;
  if (last >= 2 ** (8 * lastBytes)) return undefined;
  for (let i = lastBytes - 1; i >= 0; i--) bytes.push(Math.floor(last / 2 ** (8 * i)) % 256);
  return { family: 4, text: bytes.join('.') };
}

/** Caches lookups for one load (a 5,000-virtual file names the same hosts many times). */
export class CachingResolver {
  private readonly cache = new Map<string, Promise<IpAddress | undefined>>();
  /** Numeric answers (false = not an address of the family). */
  private readonly numeric = new Map<string, IpAddress | false>();

  constructor(private readonly resolver: HostResolver) {}

  /**
   * Numeric hosts answered without a promise (the common case: a 5,000-virtual file is mostly
   * literal addresses). Returns null when the host is a name that needs the resolver.
   */
  resolveNumeric(host: string, family: IpFamily): IpAddress | undefined | null {
    const key = family === 4 ? host : `6/${host}`;
    const hit = this.numeric.get(key);
    if (hit !== undefined) return hit === false ? undefined : hit;
    const r = this.resolveNumericUncached(host, family);
    if (r !== null) this.numeric.set(key, r ?? false);
    return r;
  }

  private resolveNumericUncached(host: string, family: IpFamily): IpAddress | undefined | null {
    let text = host;
    if (text.charCodeAt(0) === 91 /* [ */ && text.endsWith(']')) text = text.slice(1, -1);
    if (family === 4) {
      if (/^[\d.]+$/.test(text)) return inetAton(text);
      const ip = tryParseIp(text);
      if (ip) return ip.family === 4 ? ip : undefined;
    } else {
      const ip = tryParseIp(text);
      if (ip) return ip.family === 6 ? ip : undefined;
      if (/^[\d.]+$/.test(text)) return undefined;
    }
    return null;
  }

  /** Resolves a host as written (brackets allowed for v6) in the given family. */
  resolve(host: string, family: IpFamily): Promise<IpAddress | undefined> {
    const key = `${family}/${host}`;
    let p = this.cache.get(key);
    if (!p) {
      p = this.resolveUncached(host, family);
      this.cache.set(key, p);
    }
    return p;
  }

  private async resolveUncached(host: string, family: IpFamily): Promise<IpAddress | undefined> {
    let text = host;
    if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
    if (family === 4) {
      // Numeric text never reaches DNS: getaddrinfo answers it (or fails) locally.
      if (/^[\d.]+$/.test(text)) return inetAton(text);
      const ip = tryParseIp(text);
      if (ip) return ip.family === 4 ? ip : undefined;
    } else {
      const ip = tryParseIp(text);
      if (ip) return ip.family === 6 ? ip : undefined;
      if (/^[\d.]+$/.test(text)) return undefined;
    }
    if (text === '' || !/^[A-Za-z0-9._-]+$/.test(text)) return undefined;
    let answer: string | undefined;
    try {
      answer = await this.resolver(text, family);
    } catch {
      answer = undefined; // a failing resolver means "could not resolve", as getaddrinfo errors do
    }
    if (answer === undefined) return undefined;
    const ip = tryParseIp(answer);
    return ip && ip.family === family ? ip : undefined;
  }
}
