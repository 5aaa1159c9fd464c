/** Shared builders for the VRRP unit tests. */
import { readFileSync } from 'node:fs';
import { parseCidr, parseIp } from '../../../src/core/ip.js';
import type { VrrpInstanceConfig } from '../../../src/config/model.js';

export interface InstanceOverrides extends Partial<Omit<VrrpInstanceConfig, 'virtualAddresses' | 'unicastPeers'>> {
  vips?: string[];
  peers?: string[];
}

/** A vrrp_instance with keepalived's defaults (v2, priority 100, advert_int 1, BACKUP, preempt). */
export function instanceConfig(o: InstanceOverrides = {}): VrrpInstanceConfig {
  const { vips, peers, ...rest } = o;
  const family = rest.family ?? 4;
  const vipTexts = vips ?? (family === 4 ? ['10.9.0.50'] : ['fe80::50', 'fd00:9::50']);
  return {
    name: 'VI_1',
    location: { file: 'test.conf', line: 1, column: 1 },
    version: 2,
    family,
    interface: 'eth0',
    vrid: 51,
    priority: 100,
    advertIntervalMs: 1000,
    initialState: 'BACKUP',
    preempt: true,
    preemptDelayMs: 0,
    virtualAddresses: vipTexts.map((t) => {
      const address = parseIp(t);
      const prefixLength = family === 4 ? 24 : 64;
      return { address, prefixLength, cidr: parseCidr(`${t}/${prefixLength}`, { strict: false }) };
    }),
    unicastPeers: (peers ?? []).map((p) => parseIp(p)),
    garp: { masterDelayMs: 5000, masterRepeat: 5, masterRefreshMs: 0, masterRefreshRepeat: 1, intervalMs: 0 },
    trackInterfaces: [],
    trackScripts: [],
    trackFiles: [],
    notify: {},
    v3ChecksumMode: 'keepalived',
    accept: true,
    ...rest,
  };
}

export interface AdvertFixture {
  readonly name: string;
  readonly source: string;
  readonly config: string;
  readonly family: 4 | 6;
  readonly src: string;
  readonly dst: string;
  readonly ttlOrHopLimit: number;
  readonly vrrp: string;
  readonly ipHeader?: string;
}

export function loadAdvertFixtures(): AdvertFixture[] {
  return JSON.parse(readFileSync(new URL('./fixtures/keepalived-adverts.json', import.meta.url), 'utf8')) as AdvertFixture[];
}

export function fixture(name: string): AdvertFixture {
  const f = loadAdvertFixtures().find((x) => x.name === name);
  if (!f) throw new Error(`no fixture ${name}`);
  return f;
}
