/**
 * Helpers for the VRRP interop tests: the keepalived-spec 8.1 topology, keepalived configs, our
 * runner process ("US") with JSON-line events, packet captures and the hostile-packet injector.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keepalivedPids, NsProcess, startKeepalived, Topology } from '../support/netns.js';
import type { RunnerConfig } from './runner-config.js';

const here = dirname(fileURLToPath(import.meta.url));
export const RUNNER = join(here, 'vrrp-runner.ts');
export const INJECTOR = join(here, 'inject.ts');

export const MAC = { ka: '02:00:00:00:00:01', us: '02:00:00:00:00:02', cl: '02:00:00:00:00:03' } as const;
export const IP = { ka: '10.9.0.1', us: '10.9.0.2', cl: '10.9.0.100', vip: '10.9.0.50', backVip: '10.9.1.50' } as const;

/** keepalived-spec 8.1: sw (br0 front, br1 back), ka, us, cl. */
export function createInteropTopology(): Topology {
  return Topology.create({
    bridges: ['br0', 'br1'],
    nodes: [
      {
        name: 'ka',
        links: [
          { bridge: 'br0', ifname: 'eth0', mac: MAC.ka, ipv4: ['10.9.0.1/24'], ipv6: ['fd00:9::1/64'] },
          { bridge: 'br1', ifname: 'eth1', mac: '02:00:00:00:01:01', ipv4: ['10.9.1.1/24'] },
        ],
      },
      {
        name: 'us',
        links: [
          { bridge: 'br0', ifname: 'eth0', mac: MAC.us, ipv4: ['10.9.0.2/24'], ipv6: ['fd00:9::2/64'] },
          { bridge: 'br1', ifname: 'eth1', mac: '02:00:00:00:01:02', ipv4: ['10.9.1.2/24'] },
        ],
      },
      {
        name: 'cl',
        links: [
          { bridge: 'br0', ifname: 'eth0', mac: MAC.cl, ipv4: ['10.9.0.100/24'], ipv6: ['fd00:9::100/64'] },
          { bridge: 'br1', ifname: 'eth1', mac: '02:00:00:00:01:03', ipv4: ['10.9.1.100/24'] },
        ],
      },
    ],
  });
}

export interface KaInstance {
  name?: string;
  iface?: string;
  vrid?: number;
  priority: number;
  state?: 'MASTER' | 'BACKUP';
  advertInt?: number;
  version?: 2 | 3;
  vips?: string[];
  nopreempt?: boolean;
  preemptDelay?: number;
  unicastSrc?: string;
  unicastPeers?: string[];
  authPass?: string;
  trackScripts?: string[];
  extra?: string[];
}

/** One vrrp_instance block (one statement per line, as keepalived's parser wants). */
export function kaInstance(i: KaInstance): string {
  const lines = [
    `vrrp_instance ${i.name ?? 'VI_1'} {`,
    `  state ${i.state ?? 'BACKUP'}`,
    `  interface ${i.iface ?? 'eth0'}`,
    `  virtual_router_id ${i.vrid ?? 51}`,
    `  priority ${i.priority}`,
    `  advert_int ${i.advertInt ?? 1}`,
  ];
  if (i.version) lines.push(`  version ${i.version}`);
  if (i.nopreempt) lines.push('  nopreempt');
  if (i.preemptDelay) lines.push(`  preempt_delay ${i.preemptDelay}`);
  if (i.unicastSrc) lines.push(`  unicast_src_ip ${i.unicastSrc}`);
  if (i.unicastPeers) lines.push('  unicast_peer {', ...i.unicastPeers.map((p) => `    ${p}`), '  }');
  if (i.authPass) lines.push('  authentication {', '    auth_type PASS', `    auth_pass ${i.authPass}`, '  }');
  if (i.trackScripts) lines.push('  track_script {', ...i.trackScripts.map((s) => `    ${s}`), '  }');
  lines.push(...(i.extra ?? []));
  lines.push('  virtual_ipaddress {', ...(i.vips ?? [`${IP.vip}/24`]).map((v) => `    ${v}`), '  }', '}');
  return lines.join('\n');
}

export function kaConfig(body: string[]): string {
  return ['global_defs {', '  router_id ka', '  enable_script_security', '  script_user root', '}', ...body, ''].join('\n');
}

/** Starts keepalived in ns "ka" (tag distinguishes restarts). */
let kaStarts = 0;
/** The pid-file tag of the most recent startKa (each start gets its own files). */
export let lastKaTag = 'ka';
export function startKa(topo: Topology, instances: KaInstance[], extraBody: string[] = []): NsProcess {
  lastKaTag = `ka${kaStarts++}`;
  return startKeepalived(topo, 'ka', kaConfig([...extraBody, ...instances.map(kaInstance)]), lastKaTag);
}

/** kill -9 keepalived's parent and VRRP child (a crash: no priority 0, VIPs stay). */
export function crashKa(topo: Topology, ka: NsProcess, tag = lastKaTag): void {
  for (const pid of keepalivedPids(topo, tag)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  ka.kill('SIGKILL');
}

/** Our runner inside a namespace, with typed waits on its JSON-line events. */
export class Us {
  readonly proc: NsProcess;

  constructor(topo: Topology, node: string, config: RunnerConfig, label = `us@${node}`) {
    this.proc = topo.spawn(node, [process.execPath, '--import', 'tsx', RUNNER, JSON.stringify(config)], label);
  }

  events(): Record<string, unknown>[] {
    return this.proc.lines.flatMap((l) => {
      if (!l.startsWith('{')) return [];
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  async ready(timeoutMs = 8000): Promise<number> {
    const line = await this.proc.waitForLine((l) => l.includes('"event":"ready"') || l.includes('"event":"error"'), timeoutMs);
    const ev = JSON.parse(line) as { event: string; t: number; message?: string };
    if (ev.event !== 'ready') throw new Error(`runner failed: ${ev.message ?? line}`);
    return ev.t;
  }

  /** Waits for a state event to `to` (from line index `from`). Returns the event. */
  async state(to: string, timeoutMs: number, from = 0, instance?: string): Promise<{ to: string; from: string; reason: string; t: number; instance: string }> {
    const line = await this.proc.waitForLine(
      (l) => l.includes('"event":"state"') && l.includes(`"to":"${to}"`) && (!instance || l.includes(`"instance":"${instance}"`)),
      timeoutMs,
      from,
    );
    return JSON.parse(line) as { to: string; from: string; reason: string; t: number; instance: string };
  }

  /** Number of lines so far (a mark for "events after this point"). */
  mark(): number {
    return this.proc.lines.length;
  }

  stateEvents(from = 0): { to: string; from: string; reason: string; t: number; instance: string }[] {
    return this.proc.lines
      .slice(from)
      .filter((l) => l.includes('"event":"state"'))
      .map((l) => JSON.parse(l) as { to: string; from: string; reason: string; t: number; instance: string });
  }

  async status(timeoutMs = 3000): Promise<{
    instances: { name: string; state: string; dropped: Record<string, number>; advertsSent: number; advertsReceived: number; effectivePriority: number }[];
    stats: Record<string, { priorityZeroSent: number; garpSent: number; vipsHeld: boolean }>;
    timings: Record<string, { vipMs: number; firstGarpMs: number; at: number } | undefined>;
  }> {
    const mark = this.mark();
    this.proc.writeLine('status');
    const line = await this.proc.waitForLine((l) => l.includes('"event":"status"'), timeoutMs, mark);
    return JSON.parse(line) as never;
  }

  async stop(timeoutMs = 5000): Promise<void> {
    this.proc.kill('SIGTERM');
    await this.proc.exited(timeoutMs);
  }

  crash(): void {
    this.proc.kill('SIGKILL');
  }
}

/** A line-buffered tcpdump inside a node: `-tt` timestamps, verbose VRRP decoding. */
export function capture(topo: Topology, node: string, iface: string, filter: string): NsProcess {
  // --immediate-mode: otherwise libpcap hands packets over in blocks with up to 1 s delay.
  return topo.spawn(node, ['tcpdump', '--immediate-mode', '-l', '-nn', '-tt', '-v', '-e', '-i', iface, filter], `tcpdump@${node}`);
}

/** Waits until a tcpdump process is listening (it prints "listening on" to stderr). */
export async function captureReady(p: NsProcess): Promise<void> {
  await p.waitForLine(/listening on/, 5000);
}

/**
 * VRRP adverts seen by a `capture()` tcpdump: -v -e prints a header line starting with the epoch
 * timestamp (and TTL), then a continuation line "    SRC > DST: VRRPv2, Advertisement, vrid 51, prio 150, ...".
 */
export function advertLines(p: NsProcess, from = 0): { t: number; src: string; dst: string; prio: number; vrid: number; ttl: number; line: string }[] {
  const out: { t: number; src: string; dst: string; prio: number; vrid: number; ttl: number; line: string }[] = [];
  const lines = p.lines;
  let lastT = 0;
  let lastTtl = -1;
  for (let i = from; i < lines.length; i++) {
    const l = lines[i] as string;
    const head = /^(\d+\.\d+) /.exec(l);
    if (head) {
      lastT = Number(head[1]) * 1000;
      const ttl = /(?:ttl|hlim) (\d+)/.exec(l);
      lastTtl = ttl ? Number(ttl[1]) : -1;
    }
    // IPv4 puts the VRRP part on a continuation line, IPv6 on the header line itself.
    const m = /\s([0-9a-f.:]+) > ([0-9a-f.:]+): VRRPv\d, Advertisement, vrid (\d+), prio (\d+)/.exec(l);
    if (m) out.push({ t: lastT, src: m[1] as string, dst: m[2] as string, vrid: Number(m[3]), prio: Number(m[4]), ttl: lastTtl, line: l });
  }
  return out;
}

/** Sends hostile adverts from a namespace (see inject.ts for the knobs). */
export function inject(topo: Topology, node: string, spec: Record<string, unknown>): string {
  return topo.exec(node, [process.execPath, '--import', 'tsx', INJECTOR, JSON.stringify(spec)]);
}

export function sleepMs(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
