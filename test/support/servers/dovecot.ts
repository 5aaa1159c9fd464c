/** dovecot on loopback (imap + pop3, plaintext auth allowed on loopback, one static user). */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ServerProcess, freePort, makeTempDir, selfSignedCert, startProcess, waitForTcp, stopAndRemove } from './process.js';

export interface DovecotServer {
  readonly host: string;
  readonly imapPort: number;
  readonly popPort: number;
  /** imaps / pop3s ports (TLS from the first byte, self-signed certificate). */
  readonly imapsPort: number;
  readonly popsPort: number;
  readonly user: string;
  readonly password: string;
  readonly dir: string;
  readonly process: ServerProcess;
  stop(): Promise<void>;
}

export async function startDovecot(host: string): Promise<DovecotServer> {
  const dir = makeTempDir('dovecot');
  chmodSync(dir, 0o755);
  const imapPort = await freePort(host);
  const popPort = await freePort(host);
  const imapsPort = await freePort(host);
  const popsPort = await freePort(host);
  const tls = selfSignedCert(dir, 'mail.test');
  chmodSync(tls.key, 0o600);
  const user = 'checker';
  const password = 'check-pass';
  mkdirSync(join(dir, 'run'), { mode: 0o755 });
  mkdirSync(join(dir, 'mail'), { mode: 0o777 });
  const conf = join(dir, 'dovecot.conf');
  writeFileSync(
    conf,
    `protocols = imap pop3
listen = ${host}
base_dir = ${dir}/run
state_dir = ${dir}/run
log_path = ${dir}/dovecot.log
ssl = yes
ssl_cert = <${tls.cert}
ssl_key = <${tls.key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:${dir}/mail/%u
default_internal_user = dovecot
default_login_user = dovenull
mail_uid = dovecot
mail_gid = dovecot
first_valid_uid = 1
passdb {
  driver = static
  args = password=${password}
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=${dir}/mail/%u
}
service imap-login {
  inet_listener imap {
    address = ${host}
    port = ${imapPort}
  }
  inet_listener imaps {
    address = ${host}
    port = ${imapsPort}
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = ${host}
    port = ${popPort}
  }
  inet_listener pop3s {
    address = ${host}
    port = ${popsPort}
    ssl = yes
  }
}
# No auth penalty: tests try bad passwords on purpose (dovecot wiki: disable the anvil socket).
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
`,
  );
  const proc = startProcess('dovecot', ['dovecot', '-F', '-c', conf]);
  await waitForTcp(host, imapPort, 15_000, proc);
  await waitForTcp(host, popPort, 15_000, proc);
  await waitForTcp(host, imapsPort, 15_000, proc);
  await waitForTcp(host, popsPort, 15_000, proc);
  return {
    host,
    imapPort,
    popPort,
    imapsPort,
    popsPort,
    user,
    password,
    dir,
    process: proc,
    stop: stopAndRemove(proc, dir),
  };
}
