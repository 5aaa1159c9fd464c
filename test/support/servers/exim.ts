/** exim4 SMTP daemon on loopback with a minimal config in a temp dir (accepts no mail). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RunningServer, freePort, makeTempDir, startProcess, waitForTcp, stopAndRemove } from './process.js';

export async function startExim(host: string): Promise<RunningServer> {
  const dir = makeTempDir('exim');
  const port = await freePort(host);
  mkdirSync(join(dir, 'spool'));
  const conf = join(dir, 'exim.conf');
  writeFileSync(
    conf,
    `primary_hostname = health.test
spool_directory = ${dir}/spool
log_file_path = ${dir}/%slog
pid_file_path = ${dir}/exim.pid
exim_user = root
exim_group = root
never_users =
keep_environment =
tls_advertise_hosts =
rfc1413_query_timeout = 0s
host_lookup =
local_interfaces = ${host}
daemon_smtp_ports = ${port}
acl_smtp_rcpt = acl_check_rcpt
begin acl
acl_check_rcpt:
  deny
`,
  );
  // -bdf: daemon in the foreground; -C: this config (root may use any file).
  const proc = startProcess('exim4', ['exim4', '-bdf', '-C', conf]);
  await waitForTcp(host, port, 10_000, proc);
  return {
    host,
    port,
    dir,
    process: proc,
    stop: stopAndRemove(proc, dir),
  };
}
