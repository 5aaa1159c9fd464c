/**
 * Health-check throughput and detection latency (npm run bench:health).
 *
 * Child processes (--server-procs, default 2, so the servers are never the bottleneck) serve
 * TARGETS tiny HTTP servers, one per 127.21.x.y address (port 0), all on loopback. By default
 * each is a raw net server that answers every connection with one fixed 200 response after the
 * request arrives (--node-http: node:http servers instead, heavier). This process runs the real health monitor (systemClock, default concurrency) with one
 * negotiate http check per server at a 1 s interval and failureCount 1, and measures over a
 * steady window:
 *   - checks per second completed;
 *   - CPU of this process only (process.cpuUsage: the monitor and its checkers, not the servers)
 *     per 1,000 checks, user and system apart; the servers' CPU is reported on its own;
 * then kills KILL servers at a known instant (the child acknowledges once they are closed) and
 * measures, per killed target, the time until its transition to down (p50/p99).
 *
 * Options: --targets N (5000), --seconds S (steady window, 8), --kill K (250), --got (use got for
 * plain HTTP too instead of the lean HTTP/1.0 path),
 * --interval MS (1000), --server-procs N (2), --node-http, --max-concurrent N.
 * `--compare`: instead, CPU per 1,000 plain-HTTP checks against one server (50 in flight) through
 * got and lean-http.ts (the default), which is how the lean path was
 * chosen. `--max-concurrent N` sets the monitor's in-flight bound (default: the monitor's).
 * The last line printed is one JSON object.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../../src/core/clock.js';
import { nullLogger } from '../../src/core/logger.js';
import type { CheckConfig } from '../../src/config/model.js';
import { createDefaultCheckers } from '../../src/health/checks/index.js';
import { createHealthMonitor } from '../../src/health/monitor.js';
import type { CheckResult, Checker, HealthTarget } from '../../src/health/types.js';

interface Endpoint {
  readonly address: string;
  readonly port: number;
}

type ChildMessage = { type: 'ready'; endpoints: Endpoint[] } | { type: 'killed'; count: number };

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

/** The check every bench target gets: negotiate http, failureCount 1, no jitter. */
function baseCheck(intervalMs: number): CheckConfig {
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
    jitterMs: 0,
    tlsVerify: true,
    initialState: 'down',
  };
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
  const useGot = process.argv.includes('--got');
  const nodeHttp = process.argv.includes('--node-http');
  const serverProcs = Math.max(1, Math.min(targets, arg('server-procs', 2)));
  const maxConcurrent = arg('max-concurrent', 0);

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

  try {
    const endpoints: Endpoint[] = [];
    for (let c = 0; c < children.length; c++) endpoints.push(...(await nextMessage(c, 'ready', 120_000)).endpoints);
    console.log(`servers: ${endpoints.length} ${nodeHttp ? 'node:http' : 'raw net'} servers on 127.21.x.y in ${children.length} process(es) (pids ${children.map((c) => c.pid).join(', ')})`);

    const base = createDefaultCheckers({ leanHttp: !useGot });
    let completed = 0;
    let durationSum = 0;
    const count = (r: CheckResult): CheckResult => {
      completed++;
      durationSum += r.durationMs;
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
    const check = baseCheck(intervalMs);
    const healthTargets: HealthTarget[] = endpoints.map((e) => ({
      key: `tcp:192.0.2.1:80/${e.address}:${e.port}`,
      target: { address: e.address, port: e.port, family: 4, virtualAddress: '192.0.2.1', virtualPort: 80, virtualProtocol: 'tcp' },
      check,
    }));
    const downAt = new Map<string, number>();
    let upCount = 0;
    monitor.onTransition((t) => {
      if (t.to === 'down') downAt.set(t.key, t.at);
      if (t.to === 'up' && t.from !== 'up') upCount++;
    });
    monitor.setTargets(healthTargets);
    monitor.start();

    // Warm-up: every target up once, plus one more interval to settle.
    const warmEnd = Date.now() + 30_000;
    while (upCount < targets && Date.now() < warmEnd) await new Promise((r) => setTimeout(r, 50));
    if (upCount < targets) console.log(`warning: only ${upCount}/${targets} targets came up during the 30 s warm-up (checks are not keeping up)`);
    await new Promise((r) => setTimeout(r, intervalMs));

    // Steady window.
    const c0 = completed;
    const d0 = durationSum;
    const server0 = childCpuMs();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const checks = completed - c0;
    const serverCpuPct = ((childCpuMs() - server0) / wallMs) * 100;
    const meanCheckMs = (durationSum - d0) / Math.max(1, checks);
    const checksPerS = (checks / wallMs) * 1000;
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const cpuPer1000 = (cpuMs / checks) * 1000;
    const userPer1000 = (cpu.user / 1000 / checks) * 1000;
    const systemPer1000 = (cpu.system / 1000 / checks) * 1000;
    console.log(`steady: ${checks} checks in ${(wallMs / 1000).toFixed(1)} s = ${checksPerS.toFixed(0)} checks/s; monitor CPU ${cpuMs.toFixed(0)} ms (${((cpuMs / wallMs) * 100).toFixed(0)}% of one core) = ${cpuPer1000.toFixed(1)} ms per 1000 checks (user ${userPer1000.toFixed(1)}, system ${systemPer1000.toFixed(1)}); mean check ${meanCheckMs.toFixed(1)} ms; server processes ${serverCpuPct.toFixed(0)}% of one core`);

    // Detection: kill the first K servers; measure until each killed target is down.
    const killedKeys = healthTargets.slice(0, kill).map((t) => t.key);
    const killers = ranges.map((r) => Math.max(0, Math.min(r.count, kill - r.first)));
    killers.forEach((count, c) => {
      if (count > 0) children[c]?.send({ type: 'kill', count });
    });
    for (let c = 0; c < children.length; c++) if ((killers[c] ?? 0) > 0) await nextMessage(c, 'killed', 10_000);
    const killedAt = performance.now();
    const detectEnd = Date.now() + intervalMs * 3 + 5000;
    while (killedKeys.some((k) => !downAt.has(k)) && Date.now() < detectEnd) await new Promise((r) => setTimeout(r, 20));
    const latencies = killedKeys
      .map((k) => downAt.get(k))
      .filter((v): v is number => v !== undefined)
      .map((at) => Math.max(0, at - killedAt))
      .sort((a, b) => a - b);
    const falseDowns = [...downAt.keys()].filter((k) => !killedKeys.includes(k)).length;
    console.log(`detection: ${latencies.length}/${kill} killed targets went down; p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms, max ${(latencies.at(-1) ?? NaN).toFixed(0)} ms; false downs ${falseDowns}`);

    await monitor.close();
    console.log(
      JSON.stringify({
        targets,
        http_path: useGot ? 'got' : 'lean',
        server: nodeHttp ? 'node-http' : 'raw',
        server_procs: children.length,
        max_concurrent: maxConcurrent > 0 ? maxConcurrent : 'default',
        checks_per_s: Math.round(checksPerS),
        cpu_ms_per_1000: Math.round(cpuPer1000 * 10) / 10,
        user_ms_per_1000: Math.round(userPer1000 * 10) / 10,
        system_ms_per_1000: Math.round(systemPer1000 * 10) / 10,
        monitor_cpu_pct: Math.round((cpuMs / wallMs) * 100),
        server_cpu_pct: Math.round(serverCpuPct),
        mean_check_ms: Math.round(meanCheckMs * 10) / 10,
        detect_ms_p50: Math.round(percentile(latencies, 50)),
        detect_ms_p99: Math.round(percentile(latencies, 99)),
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

/** CPU of this process per 1,000 checks, got vs lean, against one server in the child. */
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
      lean: createDefaultCheckers().negotiate,
    };
    for (const name of ['got', 'lean', 'got', 'lean'] as const) {
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
      console.log(`${name.padEnd(5)}: ${per1000.toFixed(0)} ms CPU per 1000 checks (${failed} failed)`);
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
