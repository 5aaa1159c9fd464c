/**
 * PostgreSQL 15 on loopback: initdb and postgres run as the `postgres` user (runuser) in a temp
 * dir it owns; host connections use scram-sha-256 (the default password_encryption).
 */
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { type RunningServer, freePort, makeTempDir, runOrThrow, startProcess, waitForTcp, waitUntil, stopAndRemove } from './process.js';

export interface PostgresServer extends RunningServer {
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

function pgBin(name: string): string {
  const r = spawnSync('sh', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1'], { encoding: 'utf8' });
  return join(r.stdout.trim(), name);
}

export async function startPostgres(host: string): Promise<PostgresServer> {
  const dir = makeTempDir('postgres');
  const port = await freePort(host);
  const uid = Number(runOrThrow(['id', '-u', 'postgres']).trim());
  const gid = Number(runOrThrow(['id', '-g', 'postgres']).trim());
  chmodSync(dir, 0o755);
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const user = 'postgres';
  const password = 'pg-secret';
  const database = 'postgres';
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${password}\n`);
  chownSync(pwfile, uid, gid);
  mkdirSync(join(dir, 'sock'));
  chownSync(join(dir, 'sock'), uid, gid);
  runOrThrow(['runuser', '-u', 'postgres', '--', pgBin('initdb'), '-D', data, '-U', user, `--pwfile=${pwfile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-sync'], { timeoutMs: 60_000 });
  const proc = startProcess('postgres', [
    'runuser', '-u', 'postgres', '--',
    pgBin('postgres'), '-D', data, '-k', join(dir, 'sock'), '-c', `listen_addresses=${host}`, '-p', String(port), '-c', 'fsync=off', '-c', 'shared_buffers=16MB',
  ]);
  await waitForTcp(host, port, 30_000, proc);
  // The port opens before recovery ends ("the database system is starting up"): wait for ready.
  await waitUntil(() => spawnSync(pgBin('pg_isready'), ['-q', '-h', host, '-p', String(port)]).status === 0, 30_000, 'postgres to accept connections');
  return {
    host,
    port,
    dir,
    user,
    password,
    database,
    process: proc,
    stop: stopAndRemove(proc, dir, 10_000),
  };
}
