/**
 * Starting real servers for integration tests: temp dirs, free ports on our loopback addresses,
 * a child process whose output is kept for error messages, waiting for a port with a bound, and
 * stopping by pid (SIGTERM, then SIGKILL). Reusable by any module's tests.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temp directory (removed by the caller's stop()). */
export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `directord-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A TCP port free on `host` right now (bind to 0, read, close). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A port free for both TCP and UDP on host (dns, sip). */
export async function freeTcpUdpPort(host: string): Promise<number> {
  const dgram = await import('node:dgram');
  for (let i = 0; i < 20; i++) {
    const port = await freePort(host);
    const ok = await new Promise<boolean>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, host, () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error(`no free tcp+udp port on ${host}`);
}

/** Runs a command to completion (setup steps: openssl, initdb...); throws with its output on failure. */
export function runOrThrow(argv: readonly string[], options: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): string {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('empty command');
  const r = spawnSync(cmd, args, { cwd: options.cwd, input: options.input, env: options.env ?? process.env, timeout: options.timeoutMs ?? 60_000, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status ?? r.signal}): ${r.stdout}\n${r.stderr}\n${r.error?.message ?? ''}`);
  return r.stdout;
}

/** A server process started by a test. */
export class ServerProcess {
  private output = '';
  private exited = false;
  readonly exitedPromise: Promise<void>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (d: Buffer) => this.append(d));
    child.stderr?.on('data', (d: Buffer) => this.append(d));
    this.exitedPromise = new Promise((resolve) => {
      child.once('exit', () => {
        this.exited = true;
        resolve();
      });
      child.once('error', (err) => {
        this.append(Buffer.from(String(err)));
        this.exited = true;
        resolve();
      });
    });
  }

  private append(d: Buffer): void {
    if (this.output.length < 64 * 1024) this.output += d.toString('utf8');
  }

  get log(): string {
    return this.output;
  }

  get running(): boolean {
    return !this.exited;
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.exited || this.child.pid === undefined) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exitedPromise;
    clearTimeout(timer);
  }

  /** SIGKILL at once (a server "dying" in a test). */
  async kill(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGKILL');
    await this.exitedPromise;
  }
}

/** Spawns a server in the foreground (the caller's argv must keep it there). */
export function startProcess(name: string, argv: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ServerProcess {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('empty command');
  const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new ServerProcess(name, child);
}

/** Resolves once host:port accepts a TCP connection; throws with the server's log after boundMs. */
export async function waitForTcp(host: string, port: number, boundMs: number, server?: ServerProcess): Promise<void> {
  const end = Date.now() + boundMs;
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
    if (server && !server.running) throw new Error(`${server.name} exited before listening on ${host}:${port}:\n${server.log}`);
    if (Date.now() > end) throw new Error(`${server?.name ?? 'server'} not listening on ${host}:${port} after ${boundMs} ms:\n${server?.log ?? ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits for a condition with a bound (no blind sleeps). */
export async function waitUntil(pred: () => boolean | Promise<boolean>, boundMs: number, what: string): Promise<void> {
  const end = Date.now() + boundMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out after ${boundMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A starter's stop(): the server process first, then its temp dir. */
export function stopAndRemove(proc: ServerProcess, dir: string, boundMs?: number): () => Promise<void> {
  return async () => {
    await proc.stop(boundMs);
    removeDir(dir);
  };
}

/** A started server: where it listens and how to stop it (stop also removes its temp dir). */
export interface RunningServer {
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly process: ServerProcess;
  stop(): Promise<void>;
}

/** Makes a self-signed certificate for `name` in dir (cert.pem, key.pem); returns the paths. */
export function selfSignedCert(dir: string, name: string): { cert: string; key: string } {
  const cert = `${dir}/cert.pem`;
  const key = `${dir}/key.pem`;
  runOrThrow(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`]);
  return { cert, key };
}
