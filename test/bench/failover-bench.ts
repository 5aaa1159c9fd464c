/**
 * Failover benchmark (root): directord's VRRP and Debian's keepalived on the same netns rig
 * (keepalived-spec 8.1), VRRPv2, advert_int 1, backup priority 100, master priority 150.
 *
 * For each side as the BACKUP that takes over:
 * - graceful: SIGTERM the master; time from its priority-0 advert (client-side capture) to the
 *   client's neighbour entry for the VIP flipping to the backup's MAC (`ip -t monitor neigh`).
 *   Target: within Skew_Time(100) + 10 ms = 619 ms.
 * - crash: kill -9 the master right after one of its adverts; time from that last advert to the
 *   client's neighbour flip. Target: within 20 ms of Master_Down_Interval(100) = 3609 ms.
 * - ours only: VIP + first GARP after the decision (the runner's takeover timing). Target 2 ms.
 *
 * Prints one line per sample and, last, one JSON object:
 *   {"crash_ms":…,"crash_limit_ms":3609,"graceful_ms":…,"graceful_limit_ms":619,"keepalived_crash_ms":…,
 *    "keepalived_graceful_ms":…,"vip_garp_ms":…, …}
 * Usage: npm run bench:failover [-- --rounds N]   (default 3 rounds per side)
 */
import { crashKa, createInteropTopology, IP, MAC, startKa, Us } from '../netns/harness.js';
import { netnsSkipReason, type NsProcess, type Topology } from '../support/netns.js';

const ROUNDS = Number(process.argv[process.argv.indexOf('--rounds') + 1] || 3) || 3;
const MDI_100 = 3000 + (156 * 1000) / 256;
const SKEW_100 = (156 * 1000) / 256;

const skip = netnsSkipReason(['keepalived', 'tcpdump']);
if (skip) {
  console.log(`failover bench skipped: ${skip}`);
  console.log(JSON.stringify({ skipped: skip }));
  process.exit(0);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? Number.NaN : s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
const r1 = (x: number) => Math.round(x * 10) / 10;

/** Client-side observers: VRRP adverts (tcpdump -tt) and neighbour changes (ip -t monitor neigh). */
class Observer {
  readonly wire: NsProcess;
  readonly neigh: NsProcess;
  constructor(topo: Topology) {
    this.wire = topo.spawn('cl', ['tcpdump', '--immediate-mode', '-l', '-nn', '-tt', '-i', 'eth0', 'ip proto 112'], 'tcpdump');
    this.neigh = topo.spawn('cl', ['ip', '-t', 'monitor', 'neigh', 'dev', 'eth0'], 'neigh');
  }
  async ready(): Promise<void> {
    await this.wire.waitForLine(/listening on/, 5000);
  }
  /** Epoch ms of the next advert from `src` with `prio` (after line `from`). */
  async advert(src: string, prio: number | 'any', from: number, timeoutMs: number): Promise<number> {
    const re = new RegExp(`^(\\d+\\.\\d+) IP ${src.replace(/\./g, '\\.')} > [0-9.]+: VRRPv2, Advertisement, vrid 51, prio ${prio === 'any' ? '\\d+' : prio},`);
    const line = await this.wire.waitForLine(re, timeoutMs, from);
    return Number((re.exec(line) as RegExpExecArray)[1]) * 1000;
  }
  /** Epoch ms of the neighbour entry for the VIP switching to `mac` (after line `from`). */
  async flip(mac: string, from: number, timeoutMs: number): Promise<number> {
    const lines = this.neigh.lines;
    const find = (): number | undefined => {
      for (let i = Math.max(from, 1); i < lines.length; i++) {
        if (!(lines[i] as string).startsWith(`${IP.vip} `) || !(lines[i] as string).includes(`lladdr ${mac}`)) continue;
        const ts = /^Timestamp: (.+) (\d+) usec$/.exec(lines[i - 1] as string);
        if (ts) return Date.parse(ts[1] as string) + Number(ts[2]) / 1000;
      }
      return undefined;
    };
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const t = find();
      if (t !== undefined) return t;
      if (Date.now() > deadline) throw new Error(`client neighbour did not flip to ${mac} within ${timeoutMs} ms`);
      await this.neigh.waitForLine(/lladdr/, Math.max(1, deadline - Date.now()), lines.length).catch(() => undefined);
    }
  }
}

async function cleanVips(topo: Topology): Promise<void> {
  await topo.killNamespaceProcesses(['ka', 'us']);
  for (const n of ['ka', 'us']) topo.tryExec(n, ['ip', 'addr', 'del', `${IP.vip}/24`, 'dev', 'eth0']);
}

function usConfig(priority: number) {
  return { instances: [{ name: 'VI_1', interface: 'eth0', vrid: 51, priority, vips: [`${IP.vip}/24`] }] };
}

const topo = createInteropTopology();
const results = { ours: { graceful: [] as number[], crash: [] as number[], vipGarp: [] as number[], vipOnly: [] as number[] }, ka: { graceful: [] as number[], crash: [] as number[] } };
try {
  const obs = new Observer(topo);
  await obs.ready();

  // ---- directord as the BACKUP taking over from keepalived -----------------------------------
  for (let round = 0; round < ROUNDS; round++) {
    await cleanVips(topo);
    const us = new Us(topo, 'us', usConfig(100));
    await us.ready();
    let ka = startKa(topo, [{ priority: 150 }]);
    await ka.waitForLine(/Entering MASTER STATE/, 8000);
    topo.tryExec('cl', ['ping', '-c', '1', '-W', '1', IP.vip]);
    // graceful
    let wMark = obs.wire.lines.length;
    let nMark = obs.neigh.lines.length;
    await obs.advert(IP.ka, 150, wMark, 3000);
    wMark = obs.wire.lines.length;
    ka.kill('SIGTERM');
    const zero = await obs.advert(IP.ka, 0, wMark, 3000);
    const gFlip = await obs.flip(MAC.us, nMark, 3000);
    results.ours.graceful.push(gFlip - zero);
    const t1 = (await us.status()).timings.VI_1;
    if (t1) results.ours.vipGarp.push(t1.firstGarpMs), results.ours.vipOnly.push(t1.vipMs);
    console.log(`ours graceful: ${r1(gFlip - zero)} ms (priority 0 → client flip); vip ${r1(t1?.vipMs ?? NaN)} ms, first GARP ${r1(t1?.firstGarpMs ?? NaN)} ms after the decision`);
    await ka.exited(5000);
    // keepalived comes back and preempts (150 > 100); then crash it
    const usMark = us.mark();
    ka = startKa(topo, [{ priority: 150 }]);
    await ka.waitForLine(/Entering MASTER STATE/, 8000);
    await us.state('BACKUP', 3000, usMark);
    nMark = obs.neigh.lines.length;
    wMark = obs.wire.lines.length;
    const last = await obs.advert(IP.ka, 150, wMark, 3000);
    crashKa(topo, ka);
    const cFlip = await obs.flip(MAC.us, nMark, MDI_100 + 3000);
    results.ours.crash.push(cFlip - last);
    const t2 = (await us.status()).timings.VI_1;
    if (t2) results.ours.vipGarp.push(t2.firstGarpMs), results.ours.vipOnly.push(t2.vipMs);
    console.log(`ours crash: ${r1(cFlip - last)} ms (last advert → client flip); vip ${r1(t2?.vipMs ?? NaN)} ms, first GARP ${r1(t2?.firstGarpMs ?? NaN)} ms`);
  }

  // ---- keepalived as the BACKUP taking over from directord ----------------------------------
  for (let round = 0; round < ROUNDS; round++) {
    await cleanVips(topo);
    const ka = startKa(topo, [{ priority: 100 }]);
    let us = new Us(topo, 'us', usConfig(150));
    await us.ready();
    await us.state('MASTER', 8000);
    topo.tryExec('cl', ['ping', '-c', '1', '-W', '1', IP.vip]);
    let wMark = obs.wire.lines.length;
    let nMark = obs.neigh.lines.length;
    await obs.advert(IP.us, 150, wMark, 3000);
    wMark = obs.wire.lines.length;
    void us.stop();
    const zero = await obs.advert(IP.us, 0, wMark, 3000);
    const gFlip = await obs.flip(MAC.ka, nMark, 3000);
    results.ka.graceful.push(gFlip - zero);
    console.log(`keepalived graceful: ${r1(gFlip - zero)} ms`);
    await us.proc.exited(5000);
    const kaMark = ka.lines.length;
    us = new Us(topo, 'us', usConfig(150));
    await us.ready();
    await us.state('MASTER', 8000);
    await ka.waitForLine(/Entering BACKUP STATE/, 3000, kaMark);
    nMark = obs.neigh.lines.length;
    wMark = obs.wire.lines.length;
    const last = await obs.advert(IP.us, 150, wMark, 3000);
    us.crash();
    const cFlip = await obs.flip(MAC.ka, nMark, MDI_100 + 3000);
    results.ka.crash.push(cFlip - last);
    console.log(`keepalived crash: ${r1(cFlip - last)} ms`);
  }
} finally {
  await topo.teardown();
}

const summary = {
  crash_ms: r1(median(results.ours.crash)),
  crash_limit_ms: r1(MDI_100),
  crash_ok: median(results.ours.crash) <= MDI_100 + 20,
  graceful_ms: r1(median(results.ours.graceful)),
  graceful_limit_ms: r1(SKEW_100 + 10),
  graceful_ok: median(results.ours.graceful) <= SKEW_100 + 10,
  keepalived_crash_ms: r1(median(results.ka.crash)),
  keepalived_graceful_ms: r1(median(results.ka.graceful)),
  vip_ms: Math.round(median(results.ours.vipOnly) * 1000) / 1000,
  vip_garp_ms: Math.round(median(results.ours.vipGarp) * 1000) / 1000,
  vip_garp_max_ms: Math.round(Math.max(...results.ours.vipGarp) * 1000) / 1000,
  vip_garp_ok: median(results.ours.vipGarp) <= 2,
  rounds: ROUNDS,
};
console.log(JSON.stringify(summary));
