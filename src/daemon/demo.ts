/**
 * `npm run demo`: a director you can poke at without root. Three demo HTTP servers on
 * 127.0.0.1, one director in front of them on 127.0.0.1:8080 (embedded engine, HTTP negotiate
 * checks every 2 s, quiescent), a control socket and state file in a per-user temporary
 * directory, and the status page on 127.0.0.1:8081. Free ports are used when those are busy.
 *
 *   npm run demo                      interactive: k1/k2/k3 + Enter kills/restarts a server, q quits
 *   npm run demo -- --kill-after 10   kill demo server 2 after 10 s
 *   npm run demo -- --self-test       run, send requests through it, kill a server, wait until it
 *                                     is quiesced, print the directorctl table, exit 0 or 1
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../core/clock.js';
import { runCommand } from '../sys/exec.js';
import { Daemon } from './daemon.js';
import { createDaemonLogger } from './logger.js';
import { createComponents, loadConfig } from './wiring.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TEMPLATE = join(ROOT, 'conf/demo/demo.toml');

/** One demo real server. */
class DemoServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly index: number,
    readonly port: number,
  ) {}

  get running(): boolean {
    return this.server !== undefined;
  }

  get name(): string {
    return `demo server ${this.index} (127.0.0.1:${this.port})`;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => {
      const body = req.url === '/health' ? 'ok\n' : `hello from ${this.name}\n`;
      res.writeHead(200, { 'content-type': 'text/plain', 'x-demo-server': String(this.index) });
      res.end(body);
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Stops listening and drops live connections (as a crashed server would). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Is a TCP port on 127.0.0.1 free? */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A port the kernel says is free now. */
function ephemeralPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function choosePort(wanted: number, taken: Set<number>): Promise<number> {
  let port = !taken.has(wanted) && (await portFree(wanted)) ? wanted : await ephemeralPort();
  while (taken.has(port)) port = await ephemeralPort();
  taken.add(port);
  return port;
}

/** GET url → { status, body }, bounded. */
function httpGet(url: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Runs bin/directorctl.js with args; resolves its output. */
function directorctl(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/directorctl.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

interface DemoArgs {
  readonly selfTest: boolean;
  readonly killAfterS?: number;
  readonly verbose: boolean;
}

function parseDemoArgs(argv: readonly string[]): DemoArgs {
  let selfTest = false;
  let verbose = false;
  let killAfterS: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--self-test') selfTest = true;
    else if (a === '--verbose' || a === '-v') verbose = true;
    else if (a === '--kill-after') killAfterS = Number(argv[++i]);
    else if (a?.startsWith('--kill-after=')) killAfterS = Number(a.slice('--kill-after='.length));
    else throw new Error(`unknown demo option ${a ?? ''} (use --self-test, --kill-after SECONDS, --verbose)`);
  }
  if (killAfterS !== undefined && !(killAfterS >= 0)) throw new Error('--kill-after wants seconds');
  return { selfTest, verbose, ...(killAfterS !== undefined ? { killAfterS } : {}) };
}

async function waitUntil(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs the demo; resolves the exit status. */
export async function runDemo(argv: readonly string[]): Promise<number> {
  const args = parseDemoArgs(argv);
  const say = (text: string): void => void process.stdout.write(`${text}\n`);
  const runtimeBase = process.env.XDG_RUNTIME_DIR && process.getuid?.() !== 0 ? process.env.XDG_RUNTIME_DIR : tmpdir();
  const dir = mkdtempSync(join(runtimeBase, 'directord-demo-'));
  const taken = new Set<number>();
  const servers: DemoServer[] = [];
  for (let i = 1; i <= 3; i++) servers.push(new DemoServer(i, await choosePort(18080 + i, taken)));
  const vipPort = await choosePort(8080, taken);
  const statusPort = await choosePort(8081, taken);
  const socket = join(dir, 'control.sock');

  let text = readFileSync(TEMPLATE, 'utf8')
    .replaceAll('/tmp/directord-demo', dir)
    .replaceAll('127.0.0.1:8080', `127.0.0.1:${vipPort}`)
    .replaceAll('127.0.0.1:8081', `127.0.0.1:${statusPort}`);
  for (const s of servers) text = text.replaceAll(`127.0.0.1:${18080 + s.index}`, `127.0.0.1:${s.port}`);
  const configPath = join(dir, 'demo.toml');
  writeFileSync(configPath, text);

  const logger = createDaemonLogger({ target: { kind: 'stdout' }, level: args.selfTest && !args.verbose ? 'warn' : 'info', configName: 'demo.toml' });
  const daemon = new Daemon({
    configPath,
    clock: systemClock,
    logger,
    loadConfig,
    components: createComponents(),
    runCommand,
    setLogLevel: args.selfTest && !args.verbose ? undefined : (l) => logger.setLevel(l),
  });

  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    await daemon.close().catch(() => undefined);
    await Promise.all(servers.map((s) => s.stop()));
    await logger.close();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (const s of servers) await s.start();
    await daemon.start();
  } catch (err) {
    say(`demo: could not start: ${(err as Error).message}`);
    await cleanup();
    return 1;
  }

  const vipUrl = `http://127.0.0.1:${vipPort}/`;
  const ctl = `npx directorctl -s ${socket} -L -n`;
  say('');
  say(`directord demo is running (config ${configPath})`);
  say(`  virtual service   ${vipUrl}  ->  ${servers.map((s) => `127.0.0.1:${s.port}`).join(', ')}`);
  say(`  try               curl ${vipUrl}`);
  say(`  table             ${ctl}`);
  say(`  status page       http://127.0.0.1:${statusPort}/`);
  if (!args.selfTest) say('  press k1/k2/k3 + Enter to kill/restart a demo server, q + Enter (or Ctrl-C) to quit');
  say('');

  if (args.selfTest) {
    const code = await selfTest(daemon, servers, vipUrl, socket, statusPort, say);
    await cleanup();
    return code;
  }

  return new Promise<number>((resolve) => {
    const finish = (): void => {
      void cleanup().then(() => resolve(0));
    };
    process.once('SIGINT', finish);
    process.once('SIGTERM', finish);
    const toggle = async (index: number): Promise<void> => {
      const s = servers[index - 1];
      if (!s) return;
      if (s.running) {
        await s.stop();
        say(`killed ${s.name}; within ~2 s it shows weight 0 in: ${ctl}`);
      } else {
        await s.start();
        say(`restarted ${s.name}`);
      }
    };
    if (args.killAfterS !== undefined) setTimeout(() => void toggle(2), args.killAfterS * 1000).unref();
    const rl = createInterface({ input: process.stdin });
    rl.on('line', (line) => {
      const cmd = line.trim().toLowerCase();
      const m = /^k([123])$/.exec(cmd);
      if (m) void toggle(Number(m[1]));
      else if (cmd === 'q' || cmd === 'quit') {
        rl.close();
        finish();
      } else if (cmd !== '') say('k1, k2, k3 or q');
    });
    rl.on('close', () => undefined);
  });
}

/** The self-test: real requests through the engine, a real kill, the real directorctl. */
async function selfTest(
  daemon: Daemon,
  servers: readonly DemoServer[],
  vipUrl: string,
  socket: string,
  statusPort: number,
  say: (t: string) => void,
): Promise<number> {
  const failures: string[] = [];
  const realStatus = (port: number) =>
    daemon.director?.status().virtuals.flatMap((v) => v.reals).find((r) => r.key === `127.0.0.1:${port}`);
  try {
    await waitUntil(() => servers.every((s) => realStatus(s.port)?.health === 'up'), 15_000, 'all three demo servers are up');
    say('self-test: all three real servers are up');
    const seen = new Map<string, number>();
    for (let i = 0; i < 9; i++) {
      const r = await httpGet(vipUrl);
      if (r.status !== 200) failures.push(`request ${i} through the director: HTTP ${r.status}`);
      seen.set(r.body.trim(), (seen.get(r.body.trim()) ?? 0) + 1);
    }
    say(`self-test: 9 requests through ${vipUrl}: ${[...seen].map(([b, n]) => `${n}x "${b}"`).join(', ')}`);
    if (seen.size !== 3) failures.push(`round robin reached ${seen.size} of 3 servers`);

    const victim = servers[1] as DemoServer;
    await victim.stop();
    say(`self-test: killed ${victim.name}; waiting for the check to quiesce it`);
    const t0 = Date.now();
    await waitUntil(() => {
      const r = realStatus(victim.port);
      return r?.health === 'down' && r.engineWeight === 0;
    }, 15_000, `${victim.name} is down at weight 0`);
    say(`self-test: quiesced after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    for (let i = 0; i < 6; i++) {
      const r = await httpGet(vipUrl);
      if (r.status !== 200) failures.push(`request ${i} after the kill: HTTP ${r.status}`);
      if (r.body.includes(`demo server ${victim.index} `)) failures.push(`request ${i} after the kill reached the dead server`);
    }
    say('self-test: 6 more requests all answered by the two live servers');

    const table = await directorctl(['-s', socket, '-L', '-n']);
    say(`self-test: directorctl -s ${socket} -L -n (exit ${table.code}):`);
    say(table.output.trimEnd());
    if (table.code !== 0) failures.push(`directorctl exited ${table.code}`);
    const victimLine = table.output.split('\n').find((l) => l.includes(`127.0.0.1:${victim.port}`));
    if (!victimLine || !/\s0\s+\d+\s+\d+\s*$/.test(victimLine)) failures.push(`directorctl does not show ${victim.name} at weight 0: ${victimLine ?? '(missing)'}`);

    const page = await httpGet(`http://127.0.0.1:${statusPort}/`, 3000).catch((e: Error) => ({ status: 0, body: e.message }));
    const json = await httpGet(`http://127.0.0.1:${statusPort}/status.json`, 3000).catch((e: Error) => ({ status: 0, body: e.message }));
    say(`self-test: status page http://127.0.0.1:${statusPort}/ answered HTTP ${page.status}, /status.json HTTP ${json.status}`);
    if (page.status !== 200) failures.push(`status page: HTTP ${page.status} ${page.status === 0 ? page.body : ''}`);
    if (json.status !== 200 || !json.body.includes(`127.0.0.1:${victim.port}`)) failures.push(`status.json does not list ${victim.name}`);
  } catch (err) {
    failures.push((err as Error).message);
  }
  if (failures.length > 0) {
    for (const f of failures) say(`self-test FAILED: ${f}`);
    return 1;
  }
  say('self-test passed');
  return 0;
}

runDemo(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 500).unref();
  },
  (err: unknown) => {
    process.stderr.write(`demo: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
