/**
 * MariaDB on loopback: mysql_install_db into a temp datadir, mysqld as root on a port bound to our
 * address and a socket in the temp dir, then a check user with a password
 * (mysql_native_password) created over the socket.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RunningServer, freePort, makeTempDir, runOrThrow, startProcess, waitForTcp, stopAndRemove } from './process.js';

export interface MariadbServer extends RunningServer {
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

export async function startMariadb(host: string): Promise<MariadbServer> {
  const dir = makeTempDir('mariadb');
  const port = await freePort(host);
  const datadir = join(dir, 'data');
  const socket = join(dir, 'mysqld.sock');
  runOrThrow(['mysql_install_db', '--no-defaults', `--datadir=${datadir}`, '--user=root', '--auth-root-authentication-method=socket', '--skip-test-db'], { timeoutMs: 60_000 });
  const proc = startProcess('mariadbd', [
    'mysqld',
    '--no-defaults',
    `--datadir=${datadir}`,
    '--user=root',
    `--socket=${socket}`,
    `--pid-file=${join(dir, 'mysqld.pid')}`,
    `--port=${port}`,
    `--bind-address=${host}`,
    '--skip-networking=0',
    '--skip-name-resolve',
    '--innodb-buffer-pool-size=16M',
    '--skip-log-bin',
    `--log-error=${join(dir, 'error.log')}`,
  ]);
  await waitForTcp(host, port, 30_000, proc);
  const user = 'checker';
  const password = 'db-secret';
  const database = 'healthdb';
  const sql = join(dir, 'setup.sql');
  writeFileSync(
    sql,
    `CREATE DATABASE ${database};
CREATE TABLE ${database}.probe (id INT PRIMARY KEY, note VARCHAR(20));
INSERT INTO ${database}.probe VALUES (1, 'alive'), (2, 'well');
CREATE USER '${user}'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('${password}');
GRANT SELECT ON ${database}.* TO '${user}'@'%';
FLUSH PRIVILEGES;
`,
  );
  runOrThrow(['mysql', '--no-defaults', `--socket=${socket}`, '-u', 'root', '-e', `source ${sql}`]);
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
