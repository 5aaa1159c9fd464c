/**
 * `npm run bench:engine`: the embedded engine against HAProxy (mode tcp, nbthread 2) in front of the
 * same nginx backends, driven by wrk, on loopback (127.10.9.0/24) only.
 *
 * Setup follows /work/shared/research/baselines-haproxy-node.md section 1: nginx with 2 workers on
 * two ports serving /ok ("ok") and /1m (1 MiB, sendfile); HAProxy's TCP config (b); wrk -t2 -c64
 * -d10s for short connections (`Connection: close`, one TCP connection per request through the
 * proxy) and bulk (keep-alive, 1 MiB bodies). Runs are interleaved (HAProxy, engine, HAProxy, ...)
 * and the medians are reported; the last line is one JSON object.
 *
 * Env: BENCH_REPS (default 3), BENCH_DURATION (seconds, default 10), BENCH_PROFILE=1 runs the engine
 * with --cpu-prof into the temp dir and prints the path, BENCH_ONLY=short|bulk runs one workload
 * (both proxies; the ratios of the other workload are then omitted), BENCH_WORKERS=N runs the
 * engine with `workers: N` (node:cluster SCHED_NONE; default 1, the engine's default),
 * BENCH_DATA_PATH=native|node picks the engine's TCP data path (default native: the addon's relay
 * threads), BENCH_RELAY_THREADS=N its relay threads (default 1).
 *
 * Everything started here is stopped by PID at the end (also on errors and signals).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HOST = '127.10.9.1';
const BACKEND_PORTS = [18081, 18082];
const HAPROXY = { host: '127.10.9.2', port: 19002 };
const ENGINE = { host: '127.10.9.3', port: 19003 };

// ---------- engine child mode ----------
const serveWorkers = Number(process.env.BENCH_WORKERS ?? 1);
const dataPath = process.env.BENCH_DATA_PATH === 'node' ? 'node' : 'native';
const relayThreads = Number(process.env.BENCH_RELAY_THREADS ?? 1);
if (process.argv[2] === '--serve-engine') {
  const { createEmbeddedEngine } = await import('../../src/engine/embedded/index.js');
  const engine = createEmbeddedEngine({ workers: serveWorkers, dataPath, relayThreads });
  const reals = BACKEND_PORTS.map((port) => ({
    key: `${HOST}:${port}`,
    address: HOST,
    port,
    forward: 'masq' as const,
    weight: 1,
    upperThreshold: 0,
    lowerThreshold: 0,
  }));
  const r = await engine.apply({
    services: [
      {
        key: `tcp:${ENGINE.host}:${ENGINE.port}`,
        protocol: 'tcp',
        family: 4,
        address: ENGINE.host,
        port: ENGINE.port,
        scheduler: 'rr',
        schedulerFlags: [],
        ops: false,
        reals,
        timeouts: { tcpMs: 900_000, tcpFinMs: 120_000, udpMs: 300_000 },
        onRealRemoved: 'finish',
        l7Rules: [],
      },
    ],
  });
  if (r.failures.length > 0) {
    console.error(r.failures.map((f) => f.error.message).join('\n'));
    process.exit(1);
  }
  process.stdout.write('ready\n');
  const stop = async (): Promise<void> => {
    if (serveWorkers > 1) await new Promise((r) => setTimeout(r, 600)); // let the workers' stats snapshots arrive
    const st = engine.stats().services[0];
    process.stderr.write(`engine stats: conns=${st?.counters.conns} errors=${JSON.stringify(st?.errors)}\n`);
    engine.destroy();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  // Guard: never outlive the bench by much.
  setTimeout(() => void stop(), 30 * 60_000).unref();
} else {
  await main();
}

// ---------- driver ----------
interface WrkResult {
  readonly requests: number;
  readonly rps: number;
  readonly mibPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly errorKinds: string;
  /** CPU time (user + system) the proxy's process tree used during the run. */
  cpuSeconds: number;
}

async function main(): Promise<void> {
  const reps = Number(process.env.BENCH_REPS ?? 3);
  const duration = Number(process.env.BENCH_DURATION ?? 10);
  const profile = process.env.BENCH_PROFILE === '1';
  const dir = mkdtempSync(join(tmpdir(), 'directord-engine-bench-'));
  const children: ChildProcess[] = [];
  const cleanup = (): void => {
    for (const c of children) if (c.exitCode === null && c.pid !== undefined) c.kill('SIGTERM');
  };
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    for (const bin of ['nginx', 'haproxy', 'wrk']) {
      if (spawnSync('which', [bin]).status !== 0) throw new Error(`${bin} not installed (apt-get install -y ${bin})`);
    }
    // nginx backends
    mkdirSync(join(dir, 'www'));
    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'www', '1m'), Buffer.alloc(1024 * 1024, 0x61));
    writeFileSync(
      join(dir, 'nginx.conf'),
      `user root; worker_processes 2; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/logs/error.log warn;
events { worker_connections 8192; }
http { access_log off; sendfile on; tcp_nopush on; tcp_nodelay on; keepalive_timeout 65s; keepalive_requests 10000000;
  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp; uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
  server { ${BACKEND_PORTS.map((p) => `listen ${HOST}:${p} backlog=4096 reuseport;`).join(' ')} root ${dir}/www;
    location = /ok { default_type text/plain; return 200 "ok"; }  location = /1m { default_type application/octet-stream; } } }
`,
    );
    mkdirSync(join(dir, 'tmp'));
    children.push(spawnChecked('timeout', ['1800', 'nginx', '-p', dir, '-c', join(dir, 'nginx.conf')], 'nginx'));
    // HAProxy, config (b) of the baselines doc
    writeFileSync(
      join(dir, 'haproxy.cfg'),
      `global
  nbthread 2
  maxconn 5000
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend fe
  bind ${HAPROXY.host}:${HAPROXY.port}
  default_backend be
backend be
  balance roundrobin
${BACKEND_PORTS.map((p, i) => `  server s${i + 1} ${HOST}:${p}`).join('\n')}
`,
    );
    children.push(spawnChecked('timeout', ['1800', 'haproxy', '-db', '-f', join(dir, 'haproxy.cfg')], 'haproxy'));
    // The engine, in its own process.
    const self = fileURLToPath(import.meta.url);
    const nodeArgs = ['--import', 'tsx', ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${dir}/prof`] : []), self, '--serve-engine'];
    const engineProc = spawn(process.execPath, nodeArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(engineProc);
    await new Promise<void>((resolve, reject) => {
      engineProc.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      engineProc.once('exit', (code) => reject(new Error(`engine exited early (${code})`)));
    });
    for (const port of BACKEND_PORTS) await waitPort(HOST, port);
    await waitPort(HAPROXY.host, HAPROXY.port);
    await waitPort(ENGINE.host, ENGINE.port);
    writeFileSync(
      join(dir, 'report.lua'),
      `done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %f %f c=%d r=%d w=%d t=%d\\n", summary.requests, summary.bytes, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
end
`,
    );
    const url = (t: { host: string; port: number }, path: string): string => `http://${t.host}:${t.port}${path}`;
    const pidOf = (t: { host: string; port: number }): number => ((t === HAPROXY ? children[1] : engineProc)?.pid ?? 0);
    const measured = async (t: { host: string; port: number }, args: string[]): Promise<WrkResult> => {
      const before = treeCpuSeconds(pidOf(t));
      const r = await wrk(args);
      r.cpuSeconds = treeCpuSeconds(pidOf(t)) - before;
      return r;
    };
    const short = (t: { host: string; port: number }, d: number): Promise<WrkResult> =>
      measured(t, ['-t2', '-c64', `-d${d}s`, '-s', join(dir, 'report.lua'), '-H', 'Connection: close', url(t, '/ok')]);
    const bulk = (t: { host: string; port: number }, d: number): Promise<WrkResult> =>
      measured(t, ['-t2', '-c64', `-d${d}s`, '-s', join(dir, 'report.lua'), url(t, '/1m')]);
    // Warm-up (JIT, HAProxy pools), then interleaved measured runs.
    await short(HAPROXY, 2);
    await short(ENGINE, 3);
    await bulk(ENGINE, 2);
    const runs: Record<string, WrkResult[]> = { hs: [], es: [], hb: [], eb: [] };
    const only = process.env.BENCH_ONLY;
    const none: WrkResult = { requests: 0, rps: NaN, mibPerSec: NaN, p50Ms: NaN, p99Ms: NaN, errors: 0, non2xx: 0, errorKinds: '', cpuSeconds: NaN };
    for (let i = 0; i < reps; i++) {
      runs.hs!.push(only === 'bulk' ? none : await short(HAPROXY, duration));
      runs.es!.push(only === 'bulk' ? none : await short(ENGINE, duration));
      runs.hb!.push(only === 'short' ? none : await bulk(HAPROXY, duration));
      runs.eb!.push(only === 'short' ? none : await bulk(ENGINE, duration));
      const last = (k: string): WrkResult => runs[k]!.at(-1)!;
      console.log(
        `rep ${i + 1}/${reps}: short rps haproxy=${last('hs').rps.toFixed(0)} engine=${last('es').rps.toFixed(0)}; ` +
          `bulk MiB/s haproxy=${last('hb').mibPerSec.toFixed(0)} engine=${last('eb').mibPerSec.toFixed(0)}; ` +
          `proxy CPU s short h=${last('hs').cpuSeconds.toFixed(1)} e=${last('es').cpuSeconds.toFixed(1)} bulk h=${last('hb').cpuSeconds.toFixed(1)} e=${last('eb').cpuSeconds.toFixed(1)}; ` +
          `wrk errors h=[${last('hs').errorKinds}|${last('hb').errorKinds}] e=[${last('es').errorKinds}|${last('eb').errorKinds}] non2xx h=${last('hs').non2xx} e=${last('es').non2xx}; ` +
          `load ${loadAvg()}`,
      );
    }
    const med = (k: string, f: (r: WrkResult) => number): number => median(runs[k]!.map(f));
    const spread = (k: string, f: (r: WrkResult) => number): string => {
      const v = runs[k]!.map(f);
      return `${Math.min(...v).toFixed(0)}-${Math.max(...v).toFixed(0)}`;
    };
    console.log(`short conn req/s: haproxy ${med('hs', (r) => r.rps).toFixed(0)} (${spread('hs', (r) => r.rps)}), engine ${med('es', (r) => r.rps).toFixed(0)} (${spread('es', (r) => r.rps)})`);
    console.log(`bulk MiB/s: haproxy ${med('hb', (r) => r.mibPerSec).toFixed(0)} (${spread('hb', (r) => r.mibPerSec)}), engine ${med('eb', (r) => r.mibPerSec).toFixed(0)} (${spread('eb', (r) => r.mibPerSec)})`);
    const eff = (k: string, f: (r: WrkResult) => number): number => med(k, (r) => f(r) / r.cpuSeconds);
    console.log(
      `CPU efficiency (per proxy CPU-second): short req haproxy ${eff('hs', (r) => r.requests).toFixed(0)}, engine ${eff('es', (r) => r.requests).toFixed(0)}; ` +
        `bulk MiB haproxy ${eff('hb', (r) => r.mibPerSec * duration).toFixed(0)}, engine ${eff('eb', (r) => r.mibPerSec * duration).toFixed(0)}`,
    );
    const usPerConn = (k: string): number => med(k, (r) => (r.cpuSeconds * 1e6) / r.requests);
    console.log(`proxy CPU per short connection: haproxy ${usPerConn('hs').toFixed(0)} µs, engine ${usPerConn('es').toFixed(0)} µs`);
    console.log(`short latency p50/p99 ms: haproxy ${med('hs', (r) => r.p50Ms).toFixed(2)}/${med('hs', (r) => r.p99Ms).toFixed(2)}, engine ${med('es', (r) => r.p50Ms).toFixed(2)}/${med('es', (r) => r.p99Ms).toFixed(2)}`);
    if (profile) console.log(`cpu profile(s): ${dir}/prof (kept)`);
    const round = (x: number, d = 2): number => Number(x.toFixed(d));
    const result = {
      short_conn_ratio: round(med('es', (r) => r.rps) / med('hs', (r) => r.rps)),
      bulk_ratio: round(med('eb', (r) => r.mibPerSec) / med('hb', (r) => r.mibPerSec)),
      engine_rps: round(med('es', (r) => r.rps), 0),
      haproxy_rps: round(med('hs', (r) => r.rps), 0),
      engine_bulk_mib_s: round(med('eb', (r) => r.mibPerSec), 0),
      haproxy_bulk_mib_s: round(med('hb', (r) => r.mibPerSec), 0),
      engine_p50_ms: round(med('es', (r) => r.p50Ms)),
      engine_p99_ms: round(med('es', (r) => r.p99Ms)),
      haproxy_p50_ms: round(med('hs', (r) => r.p50Ms)),
      haproxy_p99_ms: round(med('hs', (r) => r.p99Ms)),
      short_cpu_efficiency_ratio: round(eff('es', (r) => r.requests) / eff('hs', (r) => r.requests)),
      bulk_cpu_efficiency_ratio: round(eff('eb', (r) => r.mibPerSec) / eff('hb', (r) => r.mibPerSec)),
      engine_short_cpu_us_per_conn: round(usPerConn('es'), 0),
      haproxy_short_cpu_us_per_conn: round(usPerConn('hs'), 0),
      engine_workers: Number(process.env.BENCH_WORKERS ?? 1),
      engine_data_path: dataPath,
      engine_relay_threads: relayThreads,
      reps,
      duration_s: duration,
    };
    cleanup();
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    console.log(JSON.stringify(result));
  } finally {
    cleanup();
    if (!profile) rmSync(dir, { recursive: true, force: true });
    else for (const f of readdirSync(dir)) if (f !== 'prof') rmSync(join(dir, f), { recursive: true, force: true });
  }
}

function spawnChecked(cmd: string, args: string[], name: string): ChildProcess {
  const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  c.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  c.once('exit', (code, signal) => {
    if (signal === null && code !== 0) process.stderr.write(`${name} exited with ${code}: ${err.slice(0, 2000)}\n`);
  });
  return c;
}

function wrk(args: string[]): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const c = spawn('timeout', ['60', 'wrk', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (out += d.toString()));
    c.once('exit', () => {
      const m = /RESULT (\d+) (\d+) (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+) (c=\d+ r=\d+ w=\d+ t=\d+)/.exec(out);
      if (!m) return reject(new Error(`wrk output not understood:\n${out}`));
      const requests = Number(m[1]);
      const bytes = Number(m[2]);
      const seconds = Number(m[3]) / 1e6;
      resolve({
        requests,
        rps: requests / seconds,
        mibPerSec: bytes / seconds / (1024 * 1024),
        errors: Number(m[4]),
        non2xx: Number(m[5]),
        p50Ms: Number(m[6]),
        p99Ms: Number(m[7]),
        errorKinds: m[8] as string,
        cpuSeconds: NaN,
      });
    });
  });
}

/** utime + stime of a process and all its descendants, in seconds (from /proc; USER_HZ = 100). */
function treeCpuSeconds(root: number): number {
  if (root === 0) return NaN;
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(fields[1]));
      ticks.set(Number(name), Number(fields[11]) + Number(fields[12]));
    } catch {
      // the process went away while we looked
    }
  }
  let total = 0;
  for (const [pid, t] of ticks) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        total += t;
        break;
      }
    }
  }
  return total / 100;
}

function loadAvg(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 1).join('');
  } catch {
    return '?';
  }
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function waitPort(host: string, port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${host}:${port} did not come up`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
