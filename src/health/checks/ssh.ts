/**
 * checktype=ssh: log in to the real with a key, run a command, judge its exit status (0 = up)
 * and, if expectOutput is set, its stdout against that regex.
 *
 * Host keys are pinned from a known_hosts file (OpenSSH format, plain or hashed `|1|` host
 * names, `[host]:port` for non-22 ports). There is no trust-on-first-use: an unknown host or a
 * different key fails the check with a detail saying which, before any credential is sent.
 */
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Client } from 'ssh2';
import type { Checker } from '../types.js';
import { describeError, guarded, receiveMatches } from './common.js';

const MAX_OUTPUT = 64 * 1024;

/** The names a host is listed under in known_hosts. */
function knownHostNames(address: string, port: number): string[] {
  return port === 22 ? [address, `[${address}]:22`] : [`[${address}]:${port}`];
}

function nameMatches(pattern: string, names: readonly string[]): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    return names.some((n) => createHmac('sha1', Buffer.from(salt, 'base64')).update(n).digest('base64') === hash);
  }
  return pattern.split(',').some((p) => names.includes(p));
}

/** Base64 key blobs known for this host (marker lines such as @revoked are skipped). */
export function keysFor(knownHosts: string, address: string, port: number): string[] {
  const names = knownHostNames(address, port);
  const keys: string[] = [];
  for (const raw of knownHosts.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('@')) continue;
    const [hosts, , key] = line.split(/\s+/);
    if (hosts && key && nameMatches(hosts, names)) keys.push(key);
  }
  return keys;
}

export const sshChecker: Checker = {
  run(target, check, signal) {
    return guarded(signal, check.negotiateTimeoutMs, async (deadline) => {
      const ssh = check.ssh;
      if (!ssh) return deadline.fail('ssh check without ssh settings');
      let privateKey: Buffer;
      let known: string[];
      try {
        privateKey = await readFile(ssh.privateKeyFile);
        known = keysFor(await readFile(ssh.knownHostsFile, 'utf8'), target.address, ssh.port);
      } catch (err) {
        return deadline.fail(`ssh: ${describeError(err)}`);
      }
      if (known.length === 0) return deadline.fail(`ssh: host ${target.address}:${ssh.port} not in ${ssh.knownHostsFile} (no trust on first use)`);
      const expect = ssh.expectOutput !== undefined ? new RegExp(ssh.expectOutput) : undefined;
      return new Promise((resolve) => {
        const conn = new Client();
        let settled = false;
        let hostKeyProblem: string | undefined;
        const finish = (r: ReturnType<typeof deadline.ok>): void => {
          if (settled) return;
          settled = true;
          deadline.signal.removeEventListener('abort', onAbort);
          conn.end();
          conn.destroy();
          resolve(r);
        };
        const onAbort = (): void => finish(deadline.fail(`ssh: ${deadline.reason()}`));
        deadline.signal.addEventListener('abort', onAbort, { once: true });
        conn.on('error', (err) => finish(deadline.fail(hostKeyProblem ?? `ssh: ${describeError(err)}`)));
        conn.on('ready', () => {
          conn.exec(ssh.command, (err, stream) => {
            if (err) {
              finish(deadline.fail(`ssh exec: ${describeError(err)}`));
              return;
            }
            let out = '';
            stream.on('data', (d: Buffer) => {
              if (out.length < MAX_OUTPUT) out += d.toString('utf8');
            });
            stream.stderr.on('data', () => {
              // stderr is read (so the channel never stalls) and ignored.
            });
            stream.on('close', (code: number | null, sig?: string) => {
              if (code !== 0) {
                finish(deadline.fail(`ssh ${ssh.command}: ${code === null || code === undefined ? `killed by ${sig ?? 'a signal'}` : `exit ${code}`}`));
              } else if (expect && !receiveMatches(expect, out)) {
                finish(deadline.fail(`ssh ${ssh.command}: output does not match /${expect.source}/`));
              } else {
                finish(deadline.ok(`ssh ${ssh.command}: exit 0`));
              }
            });
          });
        });
        conn.connect({
          host: target.address,
          port: ssh.port,
          username: ssh.user,
          privateKey,
          readyTimeout: deadline.remaining(),
          tryKeyboard: false,
          hostVerifier: (key: Buffer) => {
            const offered = key.toString('base64');
            if (known.includes(offered)) return true;
            hostKeyProblem = `ssh: HOST KEY MISMATCH for ${target.address}:${ssh.port}: the key offered is not the one pinned in ${ssh.knownHostsFile}`;
            return false;
          },
        });
      });
    });
  },
};
