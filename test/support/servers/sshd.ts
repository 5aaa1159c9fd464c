/**
 * OpenSSH sshd on loopback in a temp dir: its own host key, a client key pair, an authorized_keys
 * and a known_hosts file pinning the host key (for the ssh check).
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RunningServer, freePort, makeTempDir, runOrThrow, startProcess, waitForTcp, stopAndRemove } from './process.js';

export interface SshdServer extends RunningServer {
  readonly user: string;
  readonly clientKeyFile: string;
  readonly knownHostsFile: string;
  /** A known_hosts file pinning a different key for the same host (a mismatch). */
  readonly wrongKnownHostsFile: string;
}

export async function startSshd(host: string): Promise<SshdServer> {
  const dir = makeTempDir('sshd');
  chmodSync(dir, 0o700);
  const port = await freePort(host);
  const hostKey = join(dir, 'host_ed25519');
  const otherKey = join(dir, 'other_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  for (const k of [hostKey, otherKey, clientKey]) runOrThrow(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', k]);
  const authorized = join(dir, 'authorized_keys');
  writeFileSync(authorized, readFileSync(`${clientKey}.pub`));
  chmodSync(authorized, 0o600);
  const pin = (file: string): string => readFileSync(`${file}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
  const knownHostsFile = join(dir, 'known_hosts');
  writeFileSync(knownHostsFile, `[${host}]:${port} ${pin(hostKey)}\n`);
  const wrongKnownHostsFile = join(dir, 'known_hosts.wrong');
  writeFileSync(wrongKnownHostsFile, `[${host}]:${port} ${pin(otherKey)}\n`);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const conf = join(dir, 'sshd_config');
  writeFileSync(
    conf,
    `ListenAddress ${host}:${port}
HostKey ${hostKey}
PidFile ${dir}/sshd.pid
AuthorizedKeysFile ${authorized}
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
LogLevel ERROR
`,
  );
  const proc = startProcess('sshd', ['/usr/sbin/sshd', '-D', '-e', '-f', conf]);
  await waitForTcp(host, port, 10_000, proc);
  return {
    host,
    port,
    dir,
    user: 'root',
    clientKeyFile: clientKey,
    knownHostsFile,
    wrongKnownHostsFile,
    process: proc,
    stop: stopAndRemove(proc, dir),
  };
}
