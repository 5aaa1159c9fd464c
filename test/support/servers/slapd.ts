/** OpenLDAP slapd on loopback with a tiny slapd.conf (mdb) in a temp dir, loaded with slapadd. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RunningServer, freePort, makeTempDir, runOrThrow, selfSignedCert, startProcess, waitForTcp, stopAndRemove } from './process.js';

export interface SlapdServer extends RunningServer {
  readonly suffix: string;
  readonly rootDn: string;
  readonly rootPassword: string;
  /** ldaps:// port (self-signed certificate). */
  readonly tlsPort: number;
}

export async function startSlapd(host: string): Promise<SlapdServer> {
  const dir = makeTempDir('slapd');
  const port = await freePort(host);
  const tlsPort = await freePort(host);
  const tls = selfSignedCert(dir, 'ldap.test');
  const suffix = 'dc=example,dc=test';
  const rootDn = `cn=admin,${suffix}`;
  const rootPassword = 'ldap-secret';
  mkdirSync(join(dir, 'db'));
  const conf = join(dir, 'slapd.conf');
  writeFileSync(
    conf,
    `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
TLSCertificateFile ${tls.cert}
TLSCertificateKeyFile ${tls.key}
pidfile ${dir}/slapd.pid
argsfile ${dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 10485760
suffix "${suffix}"
rootdn "${rootDn}"
rootpw ${rootPassword}
directory ${dir}/db
access to * by * read
`,
  );
  const ldif = `dn: ${suffix}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=health,${suffix}
objectClass: organizationalUnit
ou: health
`;
  const ldifFile = join(dir, 'base.ldif');
  writeFileSync(ldifFile, ldif);
  runOrThrow(['slapadd', '-f', conf, '-l', ldifFile]);
  const proc = startProcess('slapd', ['slapd', '-d', '0', '-f', conf, '-h', `ldap://${host}:${port}/ ldaps://${host}:${tlsPort}/`]);
  await waitForTcp(host, port, 10_000, proc);
  await waitForTcp(host, tlsPort, 10_000, proc);
  return {
    host,
    port,
    tlsPort,
    dir,
    suffix,
    rootDn,
    rootPassword,
    process: proc,
    stop: stopAndRemove(proc, dir),
  };
}
