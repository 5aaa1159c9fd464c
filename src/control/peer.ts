/**
 * Who is on the other end of an accepted unix-socket connection, as the kernel knows it.
 *
 * Node has no SO_PEERCRED. On Linux the same facts are available through sock_diag, which
 * iproute2's `ss` queries: our accepted socket's inode comes from /proc/self/fd/<fd>, the line
 * of `ss -xpnH` whose peer inode is ours names the connecting process, and /proc/<pid>/status
 * gives its uid. This runs once per connection, only for audit: access itself is enforced by the
 * socket file's mode. Any failure (no `ss`, not Linux, not root so other users' processes are
 * hidden) yields undefined and the declared identity is used, marked unverified.
 */
import { execFile } from 'node:child_process';
import { readFile, readlink } from 'node:fs/promises';
import type { Socket } from 'node:net';

export interface KernelPeer {
  readonly pid: number;
  readonly uid: number;
  /** Process name as ss reports it ("node", "socat", ...). */
  readonly command: string;
}

/** The fd of a net.Socket's handle (a Node internal, hence the guarded access). */
function socketFd(socket: Socket): number | undefined {
  // Why `unknown` casts: `_handle.fd` is not in Node's public types, but is stable for Pipe handles on Unix.
  const handle = (socket as unknown as { _handle?: { fd?: unknown } })._handle;
  return typeof handle?.fd === 'number' && handle.fd >= 0 ? handle.fd : undefined;
}

/** Finds, in `ss -xpnH` output, the process whose socket's peer is inode `ours`. */
export function findPeerInSsOutput(output: string, ours: string): { pid: number; command: string } | undefined {
  for (const line of output.split('\n')) {
    const usersAt = line.indexOf('users:(');
    if (usersAt < 0) continue;
    const tokens = line.slice(0, usersAt).trim().split(/\s+/);
    if (tokens[tokens.length - 1] !== ours) continue;
    const m = /users:\(\("([^"]*)",pid=(\d+),fd=\d+\)/.exec(line.slice(usersAt));
    if (m) return { command: m[1] as string, pid: Number(m[2]) };
  }
  return undefined;
}

function runSs(timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('ss', ['-xpnH'], { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024, encoding: 'utf8' }, (error, stdout) => {
      resolve(error ? undefined : stdout);
    });
  });
}

/** The kernel's view of the peer of `socket`, or undefined when it cannot be found out. */
export async function kernelPeerOf(socket: Socket, timeoutMs = 2000): Promise<KernelPeer | undefined> {
  if (process.platform !== 'linux') return undefined;
  const fd = socketFd(socket);
  if (fd === undefined) return undefined;
  let link: string;
  try {
    link = await readlink(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
  const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
  if (!inode) return undefined;
  const output = await runSs(timeoutMs);
  if (output === undefined) return undefined;
  const found = findPeerInSsOutput(output, inode);
  if (!found) return undefined;
  try {
    const status = await readFile(`/proc/${found.pid}/status`, 'utf8');
    const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    return uid === undefined ? undefined : { pid: found.pid, uid: Number(uid), command: found.command };
  } catch {
    return undefined;
  }
}
