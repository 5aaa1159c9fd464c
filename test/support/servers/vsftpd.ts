/** vsftpd on loopback: anonymous login and a file to RETR, in a temp dir. */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RunningServer, freePort, makeTempDir, startProcess, waitForTcp, stopAndRemove } from './process.js';

export async function startVsftpd(host: string, files: Readonly<Record<string, string>>): Promise<RunningServer> {
  const dir = makeTempDir('vsftpd');
  chmodSync(dir, 0o755);
  const port = await freePort(host);
  const root = join(dir, 'ftproot');
  const empty = join(dir, 'empty');
  mkdirSync(root, { mode: 0o555 });
  mkdirSync(empty, { mode: 0o555 });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(root, name), content, { mode: 0o644 });
  chmodSync(root, 0o555);
  const conf = join(dir, 'vsftpd.conf');
  writeFileSync(
    conf,
    [
      'listen=YES',
      'listen_ipv6=NO',
      `listen_address=${host}`,
      `listen_port=${port}`,
      'background=NO',
      'anonymous_enable=YES',
      'no_anon_password=YES',
      'local_enable=NO',
      'write_enable=NO',
      `anon_root=${root}`,
      `secure_chroot_dir=${empty}`,
      'pasv_enable=YES',
      `pasv_address=${host}`,
      'pasv_min_port=40000',
      'pasv_max_port=40999',
      'seccomp_sandbox=NO',
      'xferlog_enable=NO',
      'syslog_enable=NO',
      `vsftpd_log_file=${dir}/vsftpd.log`,
      'dirmessage_enable=NO',
      'connect_from_port_20=NO',
      '',
    ].join('\n'),
  );
  chmodSync(conf, 0o600);
  const proc = startProcess('vsftpd', ['vsftpd', conf]);
  await waitForTcp(host, port, 10_000, proc);
  return {
    host,
    port,
    dir,
    process: proc,
    stop: stopAndRemove(proc, dir),
  };
}
