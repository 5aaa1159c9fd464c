/**
 * The compact JSON config the netns runner (vrrp-runner.ts) takes, and its expansion into the
 * full VrrpSettings model (every default filled as config validation would).
 */
import type { GarpConfig, VrrpInstanceConfig, VrrpScriptConfig, VrrpSettings, VrrpSyncGroupConfig } from '../../src/config/model.js';
import { parseCidr, parseIp } from '../../src/core/ip.js';

export interface RunnerInstance {
  readonly name: string;
  readonly interface: string;
  readonly vrid: number;
  readonly priority: number;
  /** Seconds (fractions allowed for v3). Default 1. */
  readonly advertInt?: number;
  readonly version?: 2 | 3;
  readonly family?: 4 | 6;
  /** "10.9.0.50/24" or "10.9.0.50/24 dev eth1". */
  readonly vips: readonly string[];
  readonly state?: 'BACKUP' | 'MASTER';
  readonly nopreempt?: boolean;
  readonly preemptDelay?: number;
  readonly unicastSrc?: string;
  readonly unicastPeers?: readonly string[];
  readonly authPass?: string;
  readonly trackScripts?: readonly { name: string; weight?: number }[];
  readonly trackInterfaces?: readonly { name: string; weight: number }[];
  readonly notify?: { any?: string[]; master?: string[]; backup?: string[]; fault?: string[]; stop?: string[] };
  readonly garp?: Partial<GarpConfig>;
  readonly notifyFifo?: string;
  readonly v3ChecksumMode?: 'keepalived' | 'rfc9568';
}

export interface RunnerConfig {
  readonly instances: readonly RunnerInstance[];
  readonly syncGroups?: readonly { name: string; instances: string[] }[];
  readonly scripts?: readonly { name: string; command: string[]; interval?: number; timeout?: number; rise?: number; fall?: number; weight?: number }[];
}

const here = { file: 'runner.json', line: 1, column: 1 };

export function expandInstance(r: RunnerInstance): VrrpInstanceConfig {
  const vips = r.vips.map((text) => {
    const [cidrText, ...rest] = text.trim().split(/\s+/);
    const slash = (cidrText as string).indexOf('/');
    const addr = parseIp(slash < 0 ? (cidrText as string) : (cidrText as string).slice(0, slash));
    const prefixLength = slash < 0 ? (addr.family === 4 ? 32 : 128) : Number((cidrText as string).slice(slash + 1));
    const devIdx = rest.indexOf('dev');
    const labelIdx = rest.indexOf('label');
    return {
      cidr: parseCidr(`${addr.text}/${prefixLength}`, { strict: false }),
      address: addr,
      prefixLength,
      ...(devIdx >= 0 && rest[devIdx + 1] ? { device: rest[devIdx + 1] as string } : {}),
      ...(labelIdx >= 0 && rest[labelIdx + 1] ? { label: rest[labelIdx + 1] as string } : {}),
    };
  });
  const family = r.family ?? vips[0]?.address.family ?? 4;
  return {
    name: r.name,
    location: here,
    version: r.version ?? (family === 6 ? 3 : 2),
    family,
    interface: r.interface,
    vrid: r.vrid,
    priority: r.priority,
    advertIntervalMs: Math.round((r.advertInt ?? 1) * 1000),
    initialState: r.state ?? 'BACKUP',
    preempt: !r.nopreempt,
    preemptDelayMs: Math.round((r.preemptDelay ?? 0) * 1000),
    virtualAddresses: vips,
    ...(r.unicastSrc ? { unicastSource: parseIp(r.unicastSrc) } : {}),
    unicastPeers: (r.unicastPeers ?? []).map((p) => parseIp(p)),
    ...(r.authPass !== undefined ? { authPass: r.authPass } : {}),
    garp: { masterDelayMs: 5000, masterRepeat: 5, masterRefreshMs: 0, masterRefreshRepeat: 1, intervalMs: 0, ...(r.garp ?? {}) },
    trackInterfaces: r.trackInterfaces ?? [],
    trackScripts: r.trackScripts ?? [],
    trackFiles: [],
    notify: r.notify ?? {},
    ...(r.notifyFifo !== undefined ? { notifyFifo: r.notifyFifo } : {}),
    v3ChecksumMode: r.v3ChecksumMode ?? 'keepalived',
    accept: true,
  };
}

export function expandSettings(c: RunnerConfig): VrrpSettings {
  const scripts: VrrpScriptConfig[] = (c.scripts ?? []).map((s) => ({
    name: s.name,
    command: s.command,
    intervalMs: Math.round((s.interval ?? 1) * 1000),
    timeoutMs: Math.round((s.timeout ?? s.interval ?? 1) * 1000),
    rise: s.rise ?? 1,
    fall: s.fall ?? 1,
    weight: s.weight ?? 0,
    location: here,
  }));
  const syncGroups: VrrpSyncGroupConfig[] = (c.syncGroups ?? []).map((g) => ({ name: g.name, instances: g.instances, notify: {}, location: here }));
  return { instances: c.instances.map(expandInstance), syncGroups, scripts };
}
