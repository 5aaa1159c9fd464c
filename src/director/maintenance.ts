/**
 * ldirectord maintenancedir (ldirectord-spec 10.8): a marker file takes a real out of service
 * without editing the config. Names looked for, first match wins:
 *   <rip>:<rport>, <rip>, <fqdn>:<rport>, <fqdn>, <short>:<rport>, <short>
 * <fqdn> is the reverse lookup of the real IP (getnameinfo NI_NAMEREQD); <short> is its first label,
 * only when the FQDN matches ^[a-z][a-z0-9-]+\. (lower case). IPv6 addresses keep their brackets.
 *
 * The directory is listed once per poll; reverse lookups run only when it holds a name the IP forms
 * do not explain, and are cached, so an empty directory costs one readdir per poll.
 */
import { lookupService } from 'node:dns/promises';
import { readdir } from 'node:fs/promises';
import type { Clock } from '../core/clock.js';
import type { ReverseLookup } from './types.js';

/**
 * getnameinfo(3) as ldirectord calls it (NI_NAMEREQD): the host name, or undefined when the
 * address has none (Node's lookupService then returns the numeric address itself).
 */
export const systemReverseLookup: ReverseLookup = async (address) => {
  try {
    const { hostname } = await lookupService(address, 0);
    return hostname && hostname !== address ? hostname : undefined;
  } catch {
    return undefined;
  }
};

/** The candidate names for one real, in ldirectord's order. */
export function maintenanceNames(address: string, family: 4 | 6, port: number, fqdn: string | undefined): string[] {
  const ip = family === 6 ? `[${address}]` : address;
  const names = [`${ip}:${port}`, ip];
  if (fqdn) {
    names.push(`${fqdn}:${port}`, fqdn);
    if (/^[a-z][a-z0-9-]+\./.test(fqdn)) {
      const short = fqdn.slice(0, fqdn.indexOf('.'));
      names.push(`${short}:${port}`, short);
    }
  }
  return names;
}

/** One real to test. */
export interface MaintenanceProbe {
  readonly address: string;
  readonly family: 4 | 6;
  readonly port: number;
}

/** Which marker matched, if any. */
export interface MaintenanceMatch {
  readonly file: string;
}

export class MaintenanceDir {
  private readonly cache = new Map<string, { name: string | undefined; at: number }>();

  constructor(
    private readonly dir: string,
    private readonly options: { readonly clock: Clock; readonly lookup?: ReverseLookup; readonly cacheMs?: number },
  ) {}

  /** For every probe, the marker that matches (undefined = not in maintenance). */
  async scan(probes: readonly MaintenanceProbe[]): Promise<Map<MaintenanceProbe, MaintenanceMatch | undefined>> {
    const out = new Map<MaintenanceProbe, MaintenanceMatch | undefined>();
    let entries: Set<string>;
    try {
      entries = new Set(await readdir(this.dir));
    } catch {
      entries = new Set(); // a missing directory means nothing is in maintenance
    }
    for (const probe of probes) {
      if (entries.size === 0) {
        out.set(probe, undefined);
        continue;
      }
      const ipNames = maintenanceNames(probe.address, probe.family, probe.port, undefined);
      let hit = ipNames.find((n) => entries.has(n));
      const unexplained = [...entries].some((e) => !e.startsWith('.') && !isIpName(e));
      if (!hit && unexplained && this.options.lookup) {
        const fqdn = await this.reverse(probe.address);
        if (fqdn) hit = maintenanceNames(probe.address, probe.family, probe.port, fqdn).find((n) => entries.has(n));
      }
      out.set(probe, hit === undefined ? undefined : { file: hit });
    }
    return out;
  }

  private async reverse(address: string): Promise<string | undefined> {
    const now = this.options.clock.now();
    const cached = this.cache.get(address);
    if (cached && now - cached.at < (this.options.cacheMs ?? 60_000)) return cached.name;
    let name: string | undefined;
    try {
      name = await this.options.lookup?.(address);
    } catch {
      name = undefined;
    }
    this.cache.set(address, { name, at: now });
    return name;
  }
}

function isIpName(entry: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}(:\d+)?$/.test(entry) || /^\[[0-9a-fA-F:.]+\](:\d+)?$/.test(entry);
}
