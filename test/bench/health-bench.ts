/**
 * Health-check throughput and detection latency (npm run bench:health).
 *
 * Child processes (--server-procs, default 2, so the servers are never the bottleneck) serve
 * TARGETS tiny HTTP servers, one per 127.21.x.y address (port 0), all on loopback. By default
 * each is a raw net server that answers every connection with one fixed 200 response after the
 * request arrives (--node-http: node:http servers instead, heavier). This process runs the real
 * health monitor (systemClock, default concurrency) with one negotiate http check per server
 * (receive "^ok$", so the body is read and matched) and failureCount 1.
 *
 * Phases:
 *   1. Start: targets are added in 20 slices over one interval (target i in slice i % 20), so
 *      their check phases are spread evenly over the interval, as in a director that has run
 *      for a while, and not one burst of 5,000 at once. Warm-up: every target up, one interval.
 *   2. Steady window at --interval (1000 ms): checks/s; CPU of this process per 1,000 checks,
 *      user and system apart. process.cpuUsage() is getrusage(RUSAGE_SELF): every thread of the
 *      process, the native prober thread included. The servers' CPU is reported on its own.
 *   3. Margin (unless --interval2 0): the same targets moved (in slices again) to --interval2
 *      (default interval / 2 = 500 ms, 10,000 checks/s offered) and measured the same way, so
 *      the capacity is measured, not only extrapolated from CPU per check. Then back to
 *      --interval, one more interval to settle.
 *   4. Detection: after a random delay in [0, interval) (so the kill does not land at a fixed
 *      point of the check round), KILL servers (the first K targets, spread over all 20 phase
 *      slices) are closed (the child acknowledges once they are closed); per killed target, the
 *      time until its transition to down (p50/p99). Expected: about uniform over one interval
 *      plus the check's own time, as failureCount is 1. No other target may go down (false_downs).
 * capacity_per_core = 1e6 / cpu_ms_per_1000 of phase 2: the checks/s one core of this process
 * would carry at the measured cost per check.
 *
 * Options: --targets N (5000), --seconds S (each steady window, 8), --kill K (250),
 * --interval MS (1000), --interval2 MS (interval / 2; 0 skips the margin phase), --jitter MS
 * (the monitor's per-check jitter, 0), --server-procs N (2), --node-http, --max-concurrent N,
 * --pin (taskset: this process, every thread, on CPU 0; the servers on the other CPUs: "on one
 * core" taken literally),
 * and the plain-HTTP path: default the native prober (native-http.ts) when the addon loads,
 * --node-sockets the lean path on Node sockets (lean-http.ts), --got got (http.ts).
 * `--compare`: instead, CPU per 1,000 plain-HTTP checks against one server (50 in flight) through
 * got, the Node-socket lean path and the native prober, which is how the paths were chosen.
 * The last line printed is one JSON object.
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { cpus } from 'node:os';
import net, { type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../../src/core/clock.js';
import { nullLogger } from '../../src/core/logger.js';
import type { CheckConfig } from '../../src/config/model.js';
import { createDefaultCheckers } from '../../src/health/checks/index.js';
import { createHealthMonitor } from '../../src/health/monitor.js';
import type { CheckResult, Checker, HealthTarget } from '../../src/health/types.js';
import { proberAvailable } from '../../src/sys/probe.js';

interface Endpoint {
  readonly address: string;
  readonly port: number;
}

type ChildMessage = { type: 'ready'; endpoints: Endpoint[] } | { type: 'killed'; count: number };

/** Phase slices: target i joins in slice i % SLICES, so the first K targets span every slice. */
const SLICES = 20;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) ? v : fallback;
}

const RAW_RESPONSE = Buffer.from('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n');

/** Raw server: answers the first bytes of each connection with the fixed response, then closes. */
function onRawConnection(socket: net.Socket): void {
  socket.on('error', () => undefined); // the checker closes with RST
  socket.once('data', () => socket.end(RAW_RESPONSE));
}

/** Child: one server per 127.21.x.y address (targets first..first+count-1); closes the first K of them on request. */
async function serve(first: number, count: number, nodeHttp: boolean): Promise<void> {
  const servers: (http.Server | net.Server)[] = [];
  const endpoints: Endpoint[] = [];
  const handler: http.RequestListener = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '3' });
    res.end('ok\n');
  };
  for (let j = 0; j < count; j++) {
    const i = first + j;
    const address = `127.21.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    const server = nodeHttp ? http.createServer({ keepAlive: false }, handler) : net.createServer(onRawConnection);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, address, resolve);
    });
    servers.push(server);
    endpoints.push({ address, port: (server.address() as AddressInfo).port });
  }
  process.send?.({ type: 'ready', endpoints } satisfies ChildMessage);
  process.on('message', (msg: { type: string; count: number }) => {
    if (msg.type !== 'kill') return;
    for (const s of servers.slice(0, msg.count)) {
      s.close();
      if (s instanceof http.Server) s.closeAllConnections();
    }
    process.send?.({ type: 'killed', count: msg.count } satisfies ChildMessage);
  });
  process.on('disconnect', () => process.exit(0));
}

/** The check every bench target gets: negotiate http, failureCount 1, jitter as given (default 0). */
function baseCheck(intervalMs: number, jitterMs = 0): CheckConfig {
  return {
    type: 'negotiate',
    service: 'http',
    request: '/',
    receive: '^ok$',
    httpMethod: 'GET',
    login: '',
    password: '',
    database: '',
    secret: '',
    command: [],
    intervalMs,
    timeoutMs: 2000,
    negotiateTimeoutMs: 2000,
    checkCount: 1,
    failureCount: 1,
    riseCount: 1,
    jitterMs,
    tlsVerify: true,
    initialState: 'down',
  };
}

/** CPU ms the whole machine has been busy (all cores; /proc/stat, USER_HZ 100): everything but idle and iowait. */
function machineBusyMs(): number {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return ((user + nice + system + irq + softirq + steal) * 1000) / 100;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

async function main(): Promise<void> {
  const targets = arg('targets', 5000);
  const seconds = arg('seconds', 8);
  const kill = Math.min(targets, arg('kill', 250));
  const intervalMs = arg('interval', 1000);
  const interval2Ms = arg('interval2', Math.round(intervalMs / 2));
  const jitterMs = arg('jitter', 0);
  const useGot = process.argv.includes('--got');
  const nodeSockets = process.argv.includes('--node-sockets');
  const nodeHttp = process.argv.includes('--node-http');
  const serverProcs = Math.max(1, Math.min(targets, arg('server-procs', 2)));
  const maxConcurrent = arg('max-concurrent', 0);
  const pin = process.argv.includes('--pin');
  const httpPath = useGot ? 'got' : nodeSockets || !proberAvailable() ? 'lean-node-sockets' : 'native';

  // Targets [first, first + count) per server process.
  const ranges = Array.from({ length: serverProcs }, (_, c) => {
    const first = Math.floor((c * targets) / serverProcs);
    return { first, count: Math.floor(((c + 1) * targets) / serverProcs) - first };
  });
  const children: ChildProcess[] = ranges.map((r) =>
    fork(fileURLToPath(import.meta.url), ['--serve', String(r.first), String(r.count), ...(nodeHttp ? ['--node-http'] : [])], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const messages: ChildMessage[][] = children.map(() => []);
  const waiters: (() => void)[] = [];
  children.forEach((child, c) =>
    child.on('message', (m: ChildMessage) => {
      messages[c]?.push(m);
      for (const w of waiters.splice(0)) w();
    }),
  );
  const nextMessage = async <T extends ChildMessage['type']>(c: number, type: T, boundMs: number): Promise<Extract<ChildMessage, { type: T }>> => {
    const end = Date.now() + boundMs;
    const inbox = messages[c] ?? [];
    for (;;) {
      const i = inbox.findIndex((m) => m.type === type);
      if (i >= 0) return inbox.splice(i, 1)[0] as Extract<ChildMessage, { type: T }>;
      if (Date.now() > end) throw new Error(`no ${type} from server process ${c} after ${boundMs} ms`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 100);
      });
    }
  };
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  try {
    const endpoints: Endpoint[] = [];
    for (let c = 0; c < children.length; c++) endpoints.push(...(await nextMessage(c, 'ready', 120_000)).endpoints);
    if (pin) {
      const last = cpus().length - 1;
      if (last < 1) throw new Error('--pin needs at least 2 CPUs');
      // -a: every thread (the native prober thread included); argument arrays, no shell.
      execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
      for (const child of children) execFileSync('taskset', ['-a', '-p', '-c', `1-${last}`, String(child.pid)], { stdio: 'ignore' });
      console.log(`pinned: this process on CPU 0, the server processes on CPUs 1-${last}`);
    }
    console.log(`servers: ${endpoints.length} ${nodeHttp ? 'node:http' : 'raw net'} servers on 127.21.x.y in ${children.length} process(es) (pids ${children.map((c) => c.pid).join(', ')}); plain-HTTP path: ${httpPath}`);

    const base = createDefaultCheckers({ leanHttp: !useGot, nativeHttp: !nodeSockets });
    let completed = 0;
    let durationSum = 0;
    /** Check durations of the current steady window (undefined outside windows). */
    let durations: number[] | undefined;
    const count = (r: CheckResult): CheckResult => {
      completed++;
      durationSum += r.durationMs;
      durations?.push(r.durationMs);
      return r;
    };
    const counting: Checker = {
      run: (target, check, signal) => base.negotiate.run(target, check, signal).then(count),
    };
    /** CPU ms (user + system) the server processes have used, from /proc (Linux). */
    const childCpuMs = (): number => {
      let sum = 0;
      for (const child of children) {
        try {
          const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
          const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          sum += ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks (USER_HZ 100)
        } catch {
          return NaN;
        }
      }
      return sum;
    };
    const monitor = createHealthMonitor({
      clock: systemClock,
      logger: nullLogger,
      checkers: { negotiate: counting },
      ...(maxConcurrent > 0 ? { maxConcurrent } : {}),
    });
    const check1 = baseCheck(intervalMs, jitterMs);
    const check2 = baseCheck(interval2Ms, jitterMs);
    const healthTargets = (check: CheckConfig): HealthTarget[] =>
      endpoints.map((e) => ({
        key: `tcp:192.0.2.1:80/${e.address}:${e.port}`,
        target: { address: e.address, port: e.port, family: 4, virtualAddress: '192.0.2.1', virtualPort: 80, virtualProtocol: 'tcp' },
        check,
      }));
    const phase1Targets = healthTargets(check1);
    const downAt = new Map<string, number>();
    const downDetails = new Map<string, string>();
    let upCount = 0;
    monitor.onTransition((t) => {
      if (t.to === 'down') {
        downAt.set(t.key, t.at);
        downDetails.set(t.key, t.result.detail);
      }
      if (t.to === 'up' && t.from !== 'up') upCount++;
    });
    monitor.start();

    /**
     * Moves every target to `to` (from `from`, or from nothing) in SLICES steps over one
     * interval of the new check: target i moves in step i % SLICES, spreading their phases.
     */
    const staggeredMove = async (from: readonly HealthTarget[] | undefined, to: readonly HealthTarget[], overMs: number): Promise<void> => {
      for (let step = 0; step < SLICES; step++) {
        const set: HealthTarget[] = [];
        to.forEach((t, i) => {
          if (i % SLICES <= step) set.push(t);
          else if (from) set.push(from[i] as HealthTarget);
        });
        monitor.setTargets(set);
        await sleep(overMs / SLICES);
      }
    };

    await staggeredMove(undefined, phase1Targets, intervalMs);
    // Warm-up: every target up once, plus one more interval to settle.
    const warmEnd = Date.now() + 30_000;
    while (upCount < targets && Date.now() < warmEnd) await sleep(50);
    if (upCount < targets) console.log(`warning: only ${upCount}/${targets} targets came up during the 30 s warm-up (checks are not keeping up)`);
    await sleep(intervalMs);

    interface Window {
      checksPerS: number;
      cpuPer1000: number;
      userPer1000: number;
      systemPer1000: number;
      cpuPct: number;
      serverCpuPct: number;
      meanCheckMs: number;
      p99CheckMs: number;
      /** CPU used by everything else on the machine during the window, % of one core (the machine is shared: a noise gauge). */
      otherCpuPct: number;
    }
    const measure = async (label: string, offeredPerS: number): Promise<Window> => {
      const c0 = completed;
      const d0 = durationSum;
      const server0 = childCpuMs();
      const cpu0 = process.cpuUsage();
      const machine0 = machineBusyMs();
      const t0 = performance.now();
      durations = [];
      await sleep(seconds * 1000);
      const wallMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const checks = completed - c0;
      const sorted = durations.sort((x, y) => x - y);
      durations = undefined;
      const w: Window = {
        checksPerS: (checks / wallMs) * 1000,
        cpuPer1000: ((cpu.user + cpu.system) / 1000 / checks) * 1000,
        userPer1000: (cpu.user / 1000 / checks) * 1000,
        systemPer1000: (cpu.system / 1000 / checks) * 1000,
        cpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
        serverCpuPct: ((childCpuMs() - server0) / wallMs) * 100,
        meanCheckMs: (durationSum - d0) / Math.max(1, checks),
        p99CheckMs: percentile(sorted, 99),
        otherCpuPct: NaN,
      };
      w.otherCpuPct = ((machineBusyMs() - machine0) / wallMs) * 100 - w.cpuPct - w.serverCpuPct;
      console.log(
        `${label}: ${checks} checks in ${(wallMs / 1000).toFixed(1)} s = ${w.checksPerS.toFixed(0)} checks/s (offered ${offeredPerS.toFixed(0)}/s); ` +
          `this process ${w.cpuPct.toFixed(0)}% of one core = ${w.cpuPer1000.toFixed(1)} ms per 1000 checks (user ${w.userPer1000.toFixed(1)}, system ${w.systemPer1000.toFixed(1)}); ` +
          `check mean ${w.meanCheckMs.toFixed(1)} ms, p99 ${w.p99CheckMs.toFixed(0)} ms; server processes ${w.serverCpuPct.toFixed(0)}% of one core; everything else ${w.otherCpuPct.toFixed(0)}% of one core (${cpus().length} cores)`,
      );
      return w;
    };
    const offered = (ms: number): number => (targets * 1000) / (ms + jitterMs / 2);

    const w1 = await measure(`steady at ${intervalMs} ms`, offered(intervalMs));
    let w2: Window | undefined;
    if (interval2Ms > 0) {
      const phase2Targets = healthTargets(check2);
      await staggeredMove(phase1Targets, phase2Targets, interval2Ms);
      await sleep(interval2Ms * 2);
      w2 = await measure(`margin at ${interval2Ms} ms`, offered(interval2Ms));
      await staggeredMove(phase2Targets, phase1Targets, intervalMs);
      await sleep(intervalMs);
    }
    const downsBeforeKill = downAt.size;

    // Detection: kill the first K targets' servers at a random point of the check round.
    await sleep(Math.random() * intervalMs);
    const killedKeys = phase1Targets.slice(0, kill).map((t) => t.key);
    const killers = ranges.map((r) => Math.max(0, Math.min(r.count, kill - r.first)));
    killers.forEach((n, c) => {
      if (n > 0) children[c]?.send({ type: 'kill', count: n });
    });
    for (let c = 0; c < children.length; c++) if ((killers[c] ?? 0) > 0) await nextMessage(c, 'killed', 10_000);
    const killedAt = performance.now();
    const detectEnd = Date.now() + intervalMs * 3 + 5000;
    while (killedKeys.some((k) => !downAt.has(k)) && Date.now() < detectEnd) await sleep(20);
    const latencies = killedKeys
      .map((k) => downAt.get(k))
      .filter((v): v is number => v !== undefined)
      .map((at) => Math.max(0, at - killedAt))
      .sort((a, b) => a - b);
    const falseDownKeys = [...downAt.keys()].filter((k) => !killedKeys.includes(k));
    const falseDowns = falseDownKeys.length;
    for (const k of falseDownKeys.slice(0, 5)) console.log(`false down: ${k}: ${downDetails.get(k)}`);
    console.log(
      `detection: ${latencies.length}/${kill} killed targets went down; p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms, max ${(latencies.at(-1) ?? NaN).toFixed(0)} ms; ` +
        `false downs ${falseDowns} (${downsBeforeKill} before the kill)`,
    );

    await monitor.close();
    const r1 = (v: number): number => Math.round(v * 10) / 10;
    const capacityCost = w2?.cpuPer1000 ?? w1.cpuPer1000;
    console.log(
      JSON.stringify({
        targets,
        http_path: httpPath,
        server: nodeHttp ? 'node-http' : 'raw',
        server_procs: children.length,
        max_concurrent: maxConcurrent > 0 ? maxConcurrent : 'default',
        pinned: pin,
        interval_ms: intervalMs,
        jitter_ms: jitterMs,
        checks_per_s: Math.round(w1.checksPerS),
        cpu_ms_per_1000: r1(w1.cpuPer1000),
        user_ms_per_1000: r1(w1.userPer1000),
        system_ms_per_1000: r1(w1.systemPer1000),
        monitor_cpu_pct: Math.round(w1.cpuPct),
        server_cpu_pct: Math.round(w1.serverCpuPct),
        mean_check_ms: r1(w1.meanCheckMs),
        p99_check_ms: Math.round(w1.p99CheckMs),
        other_cpu_pct: Math.round(w1.otherCpuPct),
        ...(w2
          ? {
              interval2_ms: interval2Ms,
              checks_per_s_2: Math.round(w2.checksPerS),
              offered_per_s_2: Math.round(offered(interval2Ms)),
              cpu_ms_per_1000_2: r1(w2.cpuPer1000),
              monitor_cpu_pct_2: Math.round(w2.cpuPct),
              server_cpu_pct_2: Math.round(w2.serverCpuPct),
              mean_check_ms_2: r1(w2.meanCheckMs),
              p99_check_ms_2: Math.round(w2.p99CheckMs),
              other_cpu_pct_2: Math.round(w2.otherCpuPct),
            }
          : {}),
        capacity_per_core: Math.round(1e6 / capacityCost),
        detect_ms_p50: Math.round(percentile(latencies, 50)),
        detect_ms_p99: Math.round(percentile(latencies, 99)),
        detect_phase: 'staggered starts, kill at a random instant',
        detected: latencies.length,
        killed: kill,
        up_after_warmup: upCount,
        false_downs: falseDowns,
      }),
    );
  } finally {
    for (const child of children) child.kill('SIGTERM');
  }
}

/** CPU of this process per 1,000 checks, got vs lean on Node sockets vs native, against one server in the child. */
async function compare(): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', '0', '1', ...(process.argv.includes('--node-http') ? ['--node-http'] : [])], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const ready = await new Promise<ChildMessage>((resolve) => child.once('message', (m: ChildMessage) => resolve(m)));
    const endpoint = ready.type === 'ready' ? ready.endpoints[0] : undefined;
    if (!endpoint) throw new Error('server process did not start');
    const target = { address: endpoint.address, port: endpoint.port, family: 4 as const, virtualPort: 80, virtualProtocol: 'tcp' as const };
    const check = { ...baseCheck(1000), receive: '^ok$' };
    const result: Record<string, number> = {};
    const paths = {
      got: createDefaultCheckers({ leanHttp: false }).negotiate,
      lean: createDefaultCheckers({ nativeHttp: false }).negotiate,
      native: createDefaultCheckers().negotiate,
    };
    for (const name of ['got', 'lean', 'native', 'got', 'lean', 'native'] as const) {
      const checker = paths[name];
      const n = 3000;
      let started = 0;
      let failed = 0;
      const c0 = process.cpuUsage();
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          while (started++ < n) if (!(await checker.run(target, check, new AbortController().signal)).ok) failed++;
        }),
      );
      const cpu = process.cpuUsage(c0);
      const per1000 = (cpu.user + cpu.system) / 1000 / (n / 1000);
      result[`${name}_cpu_ms_per_1000`] = Math.round(per1000);
      console.log(`${name.padEnd(6)}: ${per1000.toFixed(0)} ms CPU per 1000 checks (${failed} failed)`);
    }
    console.log(JSON.stringify(result));
  } finally {
    child.kill('SIGTERM');
  }
}

if (process.argv[2] === '--serve') {
  void serve(Number(process.argv[3] ?? 0), Number(process.argv[4] ?? 0), process.argv.includes('--node-http'));
} else if (process.argv.includes('--compare')) {
  compare().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
