/** unbound on loopback serving a static local zone (no recursion, no internet). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RunningServer, freeTcpUdpPort, makeTempDir, startProcess, waitForTcp, stopAndRemove } from './process.js';

/** Records: name → IPv4 address; PTRs are added for each. */
export async function startUnbound(host: string, records: Readonly<Record<string, string>>): Promise<RunningServer> {
  const dir = makeTempDir('unbound');
  const port = await freeTcpUdpPort(host);
  const data = Object.entries(records)
    .flatMap(([name, ip]) => [`  local-data: "${name}. 60 IN A ${ip}"`, `  local-data-ptr: "${ip} ${name}."`])
    .join('\n');
  const conf = join(dir, 'unbound.conf');
  writeFileSync(
    conf,
    `server:
  interface: ${host}
  port: ${port}
  do-ip6: no
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "${dir}"
  pidfile: "${dir}/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 0
  access-control: 127.0.0.0/8 allow
  module-config: "iterator"
  do-not-query-localhost: yes
  local-zone: "test." static
  local-zone: "in-addr.arpa." nodefault
  local-zone: "2.0.192.in-addr.arpa." static
${data}
remote-control:
  control-enable: no
`,
  );
  const proc = startProcess('unbound', ['unbound', '-d', '-c', conf]);
  await waitForTcp(host, port, 10_000, proc);
  return {
    host,
    port,
    dir,
    process: proc,
    stop: stopAndRemove(proc, dir),
  };
}
