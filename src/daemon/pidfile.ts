/**
 * Pid files, the ldirectord way (ldirectord-spec 1.2): one file per configuration name, and a
 * pid counts only if that process is alive and its /proc/<pid>/cmdline mentions "directord"
 * (so a recycled pid of some other program reads as a stale file, not as "running").
 *
 * Unlike ldirectord, nothing here deletes a pid file because a config is broken: only the
 * daemon that wrote a file removes it (and only if it still holds its own pid), and the command
 * line removes a file only once it has proved it stale.
 */
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DirectorError } from '../core/errors.js';

/** What a pid file says about an instance. */
export type InstanceState =
  | { readonly state: 'running'; readonly pid: number }
  | { readonly state: 'stale'; readonly pid: number | undefined }
  | { readonly state: 'stopped' };

/** Reads the pid in a file; undefined when absent or unreadable as a number. */
export function readPid(path: string): number | undefined | 'missing' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Is this pid a live directord process? */
export function isDirectordProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('directord');
  } catch {
    return false;
  }
}

/** Running, stale or stopped, from the pid file. */
export function instanceState(pidFile: string): InstanceState {
  const pid = readPid(pidFile);
  if (pid === 'missing') return { state: 'stopped' };
  if (pid !== undefined && isDirectordProcess(pid)) return { state: 'running', pid };
  return { state: 'stale', pid };
}

/**
 * Writes our pid (atomically: temp file then rename). Refuses when the file names another live
 * directord, which is how two daemons for one config are kept apart.
 */
export function writePidFile(path: string, pid: number = process.pid): void {
  const current = instanceState(path);
  if (current.state === 'running' && current.pid !== pid) {
    throw new DirectorError('DIR_ERR_DAEMON_PIDFILE', { action: 'write', path, reason: `directord is already running with pid ${current.pid}` });
  }
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    const tmp = `${path}.${pid}.tmp`;
    writeFileSync(tmp, `${pid}\n`, { mode: 0o644 });
    renameSync(tmp, path);
  } catch (err) {
    throw new DirectorError('DIR_ERR_DAEMON_PIDFILE', { action: 'write', path, reason: (err as Error).message }, { cause: err });
  }
}

/** Removes the pid file if it still holds `pid` (never someone else's). */
export function removePidFile(path: string, pid: number = process.pid): boolean {
  if (readPid(path) !== pid) return false;
  try {
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Removes a pid file proved stale. */
export function removeStalePidFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone: the goal is reached.
  }
}
