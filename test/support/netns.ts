/**
 * Network-namespace test bed (ARCHITECTURE.md "Test network rule"; recipe from
 * spike-netns-vrrp.md section 1 and keepalived-spec 8.1).
 *
 * - every namespace name starts with a prefix unique to this run (pid + counter);
 * - the LAN is a bridge living in a namespace of its own ("sw"), nodes hang off it with veth
 *   pairs; nothing is ever linked to the host namespace, so no address (VIPs included) leaves;
 * - every process started here is tracked by PID; teardown kills them (and anything else still
 *   running inside our namespaces, by PID from `ip netns pids`) and deletes the namespaces, also
 *   from a process 'exit' guard when a test run dies half-way.
 *
 * Processes are waited on by events (their output lines), never by sleeping.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let counter = 0;
const liveTopologies = new Set<Topology>();
let exitGuardInstalled = false;

function installExitGuard(): void {
  if (exitGuardInstalled) return;
  exitGuardInstalled = true;
  process.on('exit', () => {
    for (const t of liveTopologies) t.teardownSync();
  });
}

/** Is this process root (netns tests need it)? */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Reason to skip, or undefined when netns tests can run here. */
export function netnsSkipReason(tools: readonly string[] = []): string | undefined {
  if (!isRoot()) return 'netns tests need root (ip netns add, raw sockets)';
  for (const t of ['ip', ...tools]) {
    const r = spawnSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' });
    if (r.status !== 0) return `${t} is not installed`;
  }
  return undefined;
}

/** One interface of a node, attached to a bridge in the switch namespace. */
export interface LinkSpec {
  readonly bridge: string;
  readonly ifname: string;
  readonly mac: string;
  readonly ipv4?: readonly string[];
  readonly ipv6?: readonly string[];
}

export interface NodeSpec {
  readonly name: string;
  readonly links: readonly LinkSpec[];
  /** sysctl -w values inside the node (key=value). */
  readonly sysctls?: readonly string[];
}

export interface TopologySpec {
  readonly bridges: readonly string[];
  readonly nodes: readonly NodeSpec[];
}

function run(argv: readonly string[]): string {
  return execFileSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A process started inside a namespace, with its output kept as lines. */
export class NsProcess {
  readonly lines: string[] = [];
  readonly child: ChildProcess;
  exitCode: number | null | undefined = undefined;
  exitSignal: string | null = null;
  private waiters: { test: (line: string) => boolean; resolve: (l: string) => void }[] = [];
  private exitWaiters: (() => void)[] = [];
  private readonly started = Date.now();

  constructor(
    readonly label: string,
    argv: readonly string[],
    onLine?: (line: string) => void,
  ) {
    this.child = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const feed = (stream: NodeJS.ReadableStream | null) => {
      if (!stream) return;
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        rest += chunk;
        let nl: number;
        while ((nl = rest.indexOf('\n')) >= 0) {
          const line = rest.slice(0, nl);
          rest = rest.slice(nl + 1);
          this.lines.push(line);
          onLine?.(line);
          this.waiters = this.waiters.filter((w) => {
            if (!w.test(line)) return true;
            w.resolve(line);
            return false;
          });
        }
      });
    };
    feed(this.child.stdout);
    feed(this.child.stderr);
    this.child.on('exit', (code, signal) => {
      this.exitCode = code;
      this.exitSignal = signal;
      for (const w of this.exitWaiters) w();
      this.exitWaiters = [];
    });
    this.child.on('error', () => {
      this.exitCode = -1;
      for (const w of this.exitWaiters) w();
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Resolves with the first line (already seen from index `from`, or future) matching. */
  waitForLine(match: RegExp | ((line: string) => boolean), timeoutMs: number, from = 0): Promise<string> {
    const test = typeof match === 'function' ? match : (l: string) => match.test(l);
    for (let i = from; i < this.lines.length; i++) {
      const l = this.lines[i] as string;
      if (test(l)) return Promise.resolve(l);
    }
    return new Promise((resolve, reject) => {
      const w = { test, resolve: (l: string) => { clearTimeout(timer); resolve(l); } };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`${this.label}: no line matching ${String(match)} within ${timeoutMs} ms; last lines:\n${this.lines.slice(-15).join('\n')}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Lines whose text matches, from index `from`. */
  matching(match: RegExp, from = 0): string[] {
    return this.lines.slice(from).filter((l) => match.test(l));
  }

  writeLine(text: string): void {
    this.child.stdin?.write(`${text}\n`);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running) {
      try {
        process.kill(this.pid, signal);
      } catch {
        // already gone
      }
    }
  }

  exited(timeoutMs: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.label} did not exit within ${timeoutMs} ms`)), timeoutMs);
      this.exitWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  ageMs(): number {
    return Date.now() - this.started;
  }
}

/** A set of namespaces: one switch namespace with bridges, and nodes. */
export class Topology {
  readonly prefix: string;
  readonly tmp: string;
  private readonly namespaces: string[] = [];
  private readonly processes = new Set<NsProcess>();
  private torn = false;

  private constructor(prefix: string) {
    this.prefix = prefix;
    this.tmp = mkdtempSync(join(tmpdir(), `${prefix}`));
  }

  /** Builds the topology; on any failure everything built so far is removed. */
  static create(spec: TopologySpec): Topology {
    installExitGuard();
    const prefix = `dt${process.pid.toString(36)}${(counter++).toString(36)}-`;
    const t = new Topology(prefix);
    liveTopologies.add(t);
    try {
      t.build(spec);
    } catch (e) {
      t.teardownSync();
      throw e;
    }
    return t;
  }

  /** Namespace name of a node ("sw" is the switch). */
  ns(node: string): string {
    return `${this.prefix}${node}`;
  }

  private addNs(node: string): string {
    const name = this.ns(node);
    run(['ip', 'netns', 'add', name]);
    this.namespaces.push(name);
    run(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  private build(spec: TopologySpec): void {
    const sw = this.addNs('sw');
    for (const br of spec.bridges) {
      // 224.0.0.x is flooded even with snooping; 0 keeps other groups predictable (spike section 1).
      run(['ip', '-n', sw, 'link', 'add', br, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0']);
      run(['ip', '-n', sw, 'link', 'set', br, 'up']);
    }
    for (const node of spec.nodes) {
      const n = this.addNs(node.name);
      // New namespaces copy IPv4 conf/all and conf/default from init_net: set what we rely on.
      this.sysctl(node.name, ['net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', ...(node.sysctls ?? [])]);
      node.links.forEach((l, i) => {
        const swName = `${node.name}-${i}`.slice(0, 15);
        run(['ip', '-n', sw, 'link', 'add', swName, 'type', 'veth', 'peer', 'name', l.ifname, 'netns', n]);
        run(['ip', '-n', n, 'link', 'set', l.ifname, 'address', l.mac]);
        for (const a of l.ipv4 ?? []) run(['ip', '-n', n, 'addr', 'add', a, 'dev', l.ifname]);
        for (const a of l.ipv6 ?? []) run(['ip', '-n', n, 'addr', 'add', a, 'dev', l.ifname, 'nodad']);
        run(['ip', '-n', n, 'link', 'set', l.ifname, 'up']);
        run(['ip', '-n', sw, 'link', 'set', swName, 'master', l.bridge, 'up']);
      });
    }
  }

  /** Name of the switch-side veth of a node's nth link (to cut a node's carrier). */
  switchPort(node: string, index = 0): string {
    return `${node}-${index}`.slice(0, 15);
  }

  sysctl(node: string, settings: readonly string[]): void {
    run(['ip', 'netns', 'exec', this.ns(node), 'sysctl', '-q', '-w', ...settings]);
  }

  /** Runs a command inside a node and returns stdout (throws on failure). */
  exec(node: string, argv: readonly string[]): string {
    return run(['ip', 'netns', 'exec', this.ns(node), ...argv]);
  }

  /** Runs a command inside a node; returns status and output, never throws. */
  tryExec(node: string, argv: readonly string[]): { status: number; stdout: string; stderr: string } {
    const r = spawnSync('ip', ['netns', 'exec', this.ns(node), ...argv], { encoding: 'utf8' });
    return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** Starts a long-running process inside a node (tracked; killed at teardown). */
  spawn(node: string, argv: readonly string[], label = `${node}:${argv[0] ?? ''}`, onLine?: (line: string) => void): NsProcess {
    const p = new NsProcess(label, ['ip', 'netns', 'exec', this.ns(node), ...argv], onLine);
    this.processes.add(p);
    return p;
  }

  /** `ip -j addr show dev IF` inside a node: the addresses (text) configured. */
  addresses(node: string, ifname: string): string[] {
    const out = this.tryExec(node, ['ip', '-j', 'addr', 'show', 'dev', ifname]);
    if (out.status !== 0) return [];
    const parsed = JSON.parse(out.stdout) as { addr_info?: { local: string; prefixlen: number }[] }[];
    return parsed.flatMap((i) => (i.addr_info ?? []).map((a) => a.local));
  }

  /** Polls `ip -j addr` until the predicate holds (bounded). Returns the elapsed ms. */
  async waitForAddress(node: string, ifname: string, address: string, present: boolean, timeoutMs: number): Promise<number> {
    const start = Date.now();
    for (;;) {
      const has = this.addresses(node, ifname).includes(address);
      if (has === present) return Date.now() - start;
      if (Date.now() - start > timeoutMs) {
        throw new Error(`${address} ${present ? 'did not appear on' : 'still on'} ${node}/${ifname} after ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The lladdr the node's neighbour table has for an address (undefined if none). */
  neighbour(node: string, address: string): { mac?: string; state: string[] } | undefined {
    const out = this.tryExec(node, ['ip', '-j', 'neigh', 'show', address]);
    if (out.status !== 0 || !out.stdout.trim()) return undefined;
    const list = JSON.parse(out.stdout) as { lladdr?: string; state?: string[] }[];
    const e = list[0];
    if (!e) return undefined;
    return { ...(e.lladdr ? { mac: e.lladdr } : {}), state: e.state ?? [] };
  }

  /** Writes a file in this topology's temp dir and returns its path. */
  file(name: string, content: string, mode = 0o644): string {
    const p = join(this.tmp, name);
    writeFileSync(p, content, { mode });
    return p;
  }

  readFile(name: string): string {
    return readFileSync(join(this.tmp, name), 'utf8');
  }

  /** PIDs of every process inside a node's namespace (`ip netns pids`). */
  pids(node: string): number[] {
    const r = spawnSync('ip', ['netns', 'pids', this.ns(node)], { encoding: 'utf8' });
    return (r.stdout ?? '').split(/\s+/).filter(Boolean).map(Number);
  }

  /** SIGKILLs every process inside these nodes (by PID) and waits (bounded) until none is left. */
  async killNamespaceProcesses(nodes: readonly string[], timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pids = nodes.flatMap((n) => this.pids(n));
      if (pids.length === 0) return;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      if (Date.now() > deadline) throw new Error(`processes still running in ${nodes.join(',')}: ${pids.join(' ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Kills every tracked process and every process still inside our namespaces, by PID. */
  private killAll(): void {
    for (const p of this.processes) p.kill('SIGKILL');
    for (const ns of this.namespaces) {
      const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
      for (const pid of (r.stdout ?? '').split(/\s+/).filter(Boolean).map(Number)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  }

  /** Synchronous teardown (also used by the exit guard). Idempotent. */
  teardownSync(): void {
    if (this.torn) return;
    this.torn = true;
    this.killAll();
    for (const ns of [...this.namespaces].reverse()) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(this.tmp, { recursive: true, force: true });
    liveTopologies.delete(this);
  }

  /** Graceful teardown: SIGTERM tracked processes, wait briefly, then the synchronous path. */
  async teardown(): Promise<void> {
    if (this.torn) return;
    const running = [...this.processes].filter((p) => p.running);
    for (const p of running) p.kill('SIGTERM');
    await Promise.all(running.map((p) => p.exited(2000).catch(() => undefined)));
    this.teardownSync();
  }
}

// ---- keepalived as the interop peer (keepalived-spec 8.1) --------------------------------

/** Starts Debian's keepalived in a node: foreground, console log, private pid files. */
export function startKeepalived(topo: Topology, node: string, config: string, tag = node): NsProcess {
  const conf = topo.file(`${tag}.conf`, config);
  const pid = (s: string) => join(topo.tmp, `${tag}-${s}.pid`);
  return topo.spawn(
    node,
    ['keepalived', '-n', '-l', '-D', '-P', '-f', conf, '-p', pid('main'), '-r', pid('vrrp'), '-c', pid('chk'), '-b', pid('bfd')],
    `keepalived@${tag}`,
  );
}

/** PIDs of keepalived's parent and VRRP child (for kill -9 of both, spike section 2). */
export function keepalivedPids(topo: Topology, tag: string): number[] {
  const pids: number[] = [];
  // The VRRP child first: keepalived's children get SIGTERM when the parent dies
  // (PR_SET_PDEATHSIG), and a child that sees it before its own SIGKILL arrives shuts down
  // gracefully and sends priority 0, which would turn a simulated crash into a clean stop.
  for (const s of ['vrrp', 'main']) {
    try {
      pids.push(Number(readFileSync(join(topo.tmp, `${tag}-${s}.pid`), 'utf8').trim()));
    } catch {
      // not written (yet)
    }
  }
  return pids.filter((p) => p > 0);
}
