/**
 * Running programs without a shell.
 *
 * Every external program directord runs (check commands, fallbackcommand, notify scripts,
 * callback=) goes through runCommand: argv arrays only, so no config text ever reaches a shell.
 * The child is spawned detached, in its own process group, so that a timeout kills the whole
 * tree: a hung check script that forked `sleep 1000` must not leave the sleep behind
 * (keepalived's misc_check does the same with kill(-pgid), keepalived-spec 4).
 *
 * runCommand never rejects: a program that cannot be started resolves with `error` set
 * (DIR_ERR_EXEC_SPAWN) and exitCode null.
 */
import { spawn } from 'node:child_process';
import { DirectorError } from '../core/errors.js';

/** Options for one run. */
export interface RunCommandOptions {
  /** Kill the process group after this long (SIGTERM, then SIGKILL after killGraceMs). */
  readonly timeoutMs: number;
  /** Bytes kept per stream (stdout, stderr); the rest is read and discarded. Default 64 KiB. */
  readonly maxOutputBytes?: number;
  /** Environment of the child; default: this process's environment. */
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Written to the child's stdin, which is then closed. Without it stdin is /dev/null. */
  readonly input?: string;
  /** Time between SIGTERM and SIGKILL on timeout or abort. Default 1000 ms. */
  readonly killGraceMs?: number;
  /** Aborting kills the process group as a timeout does (timedOut stays false). */
  readonly signal?: AbortSignal;
}

/** What a run produced. */
export interface ExecResult {
  /** Exit status, or null if the process was killed by a signal or never started. */
  readonly exitCode: number | null;
  /** Name of the signal that ended the process ("SIGKILL"), or null. */
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The run hit timeoutMs and the process group was killed. */
  readonly timedOut: boolean;
  /** stdout or stderr exceeded maxOutputBytes and was cut. */
  readonly truncated: boolean;
  readonly durationMs: number;
  /** Set when the program could not be started (DIR_ERR_EXEC_SPAWN). */
  readonly error?: DirectorError;
}

export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024;
export const DEFAULT_KILL_GRACE_MS = 1000;
/** How long pipes may stay open after the program exited before leftovers are killed. */
const EXIT_DRAIN_MS = 100;

/** Keeps at most `limit` bytes of a stream. */
class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    const room = this.limit - this.size;
    if (room <= 0) {
      if (chunk.length > 0) this.truncated = true;
      return;
    }
    if (chunk.length > room) {
      this.chunks.push(chunk.subarray(0, room));
      this.size += room;
      this.truncated = true;
    } else {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
  }

  text(): string {
    return Buffer.concat(this.chunks, this.size).toString('utf8');
  }
}

/** Sends a signal to a whole process group; ESRCH (already gone) is not an error. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone (ESRCH) or was never created; nothing left to kill.
  }
}

/**
 * Runs argv[0] with argv[1..] (no shell, PATH lookup as execvp does). Never rejects.
 */
export function runCommand(argv: readonly string[], options: RunCommandOptions): Promise<ExecResult> {
  const started = performance.now();
  const maxBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const graceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const command = argv[0];

  const spawnFailure = (reason: string, cause?: unknown): ExecResult => ({
    exitCode: null,
    signal: null,
    stdout: '',
    stderr: '',
    timedOut: false,
    truncated: false,
    durationMs: performance.now() - started,
    error: new DirectorError('DIR_ERR_EXEC_SPAWN', { command: command ?? '(empty argv)', reason }, { cause }),
  });

  if (command === undefined || command === '') return Promise.resolve(spawnFailure('empty command'));
  if (options.signal?.aborted) return Promise.resolve(spawnFailure('aborted before start'));

  return new Promise<ExecResult>((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(command, argv.slice(1), {
        shell: false,
        detached: true, // own process group: a timeout kills the script and everything it forked
        env: options.env ?? process.env,
        cwd: options.cwd,
        stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (cause) {
      // spawn throws synchronously for invalid arguments (e.g. a NUL byte in argv).
      resolve(spawnFailure(cause instanceof Error ? cause.message : String(cause), cause));
      return;
    }

    const stdout = new CappedBuffer(maxBytes);
    const stderr = new CappedBuffer(maxBytes);
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    let settled = false;
    let spawnError: Error | undefined;

    const terminate = (): void => {
      const pid = child.pid;
      if (pid === undefined || killTimer !== undefined) return;
      killGroup(pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
    };

    const timeoutTimer = setTimeout(() => {
      timedOut = true;
      terminate();
    }, Math.max(0, options.timeoutMs));

    const onAbort = (): void => terminate();
    options.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout?.on('data', (c: Buffer) => stdout.push(c));
    child.stderr?.on('data', (c: Buffer) => stderr.push(c));
    if (options.input !== undefined && child.stdin) {
      child.stdin.on('error', () => {
        // EPIPE: the program exited without reading its input; its exit status tells the story.
      });
      child.stdin.end(options.input);
    }

    const finish = (exitCode: number | null, signal: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timeoutTimer);
      options.signal?.removeEventListener('abort', onAbort);
      const pid = child.pid;
      if (pid !== undefined) {
        // The leader is gone; reap any grandchild still holding the group (a daemonising script
        // must not leave processes behind). SIGKILL at once: there is no one left to wait for.
        if (timedOut || options.signal?.aborted) killGroup(pid, 'SIGKILL');
      }
      if (killTimer !== undefined) clearTimeout(killTimer);
      if (spawnError) {
        const code = (spawnError as NodeJS.ErrnoException).code;
        resolve(spawnFailure(code ? `${code} (${spawnError.message})` : spawnError.message, spawnError));
        return;
      }
      resolve({
        exitCode,
        signal,
        stdout: stdout.text(),
        stderr: stderr.text(),
        timedOut,
        truncated: stdout.truncated || stderr.truncated,
        durationMs: performance.now() - started,
      });
    };

    child.on('error', (err) => {
      spawnError = err;
      // ENOENT/EACCES: no 'close' follows when the process never started.
      if (child.pid === undefined) finish(null, null);
    });
    // 'close' waits for stdio to end. A grandchild that inherited stdout keeps it open after the
    // program itself exited; then, after a short drain, the group's leftovers are killed (a check
    // script must not leave processes behind; a real daemon calls setsid and closes its stdio,
    // so it is not in our group and not holding our pipes) and the run is settled.
    child.on('close', (code, sig) => finish(code, sig));
    child.on('exit', (code, sig) => {
      const drain = setTimeout(() => {
        if (settled) return;
        const pid = child.pid;
        if (pid !== undefined) killGroup(pid, 'SIGKILL');
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish(code, sig);
      }, EXIT_DRAIN_MS);
      void drain;
    });
  });
}
