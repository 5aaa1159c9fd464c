/**
 * Helpers for the daemon's integration tests: a fake systemd notify socket (python3, real
 * AF_UNIX datagrams), waiting with bounds, running the real CLI in child processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const DIRECTORD = `${ROOT}bin/directord.js`;
export const DIRECTORCTL = `${ROOT}bin/directorctl.js`;

/** Polls `pred` every 20 ms until it holds or `ms` passes (then throws `what`). */
export async function waitFor(pred: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A datagram socket standing in for $NOTIFY_SOCKET; `messages` are the datagram texts. */
export interface NotifySocket {
  readonly path: string;
  readonly messages: { text: string; pid: number | null }[];
  close(): void;
}

export async function startNotifySocket(path: string): Promise<NotifySocket> {
  const child = spawn('python3', [`${ROOT}test/integration/daemon/support/notify-socket.py`, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: { text: string; pid: number | null }[] = [];
  let bound = false;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'BOUND') bound = true;
    else messages.push(JSON.parse(line) as { text: string; pid: number | null });
  });
  await waitFor(() => bound, 5000, 'the notify socket to bind');
  return { path, messages, close: () => void child.kill() };
}

/** Result of one CLI run. */
export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a node script (bin/directord.js, bin/directorctl.js) to completion, bounded. */
export function runNode(script: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 30000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running child with its output collected (the foreground daemon, the demo). */
export interface Running {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

export function startNode(script: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (text += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => text, exited };
}

/** Kills a process (SIGKILL) if it is still alive; used in cleanup. */
export function killIfAlive(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** GET without keep-alive (a pooled idle connection would hold a drain open); resolves the body. */
export function httpGet(url: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, timeout: timeoutMs, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}: ${body}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}
