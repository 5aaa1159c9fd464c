/** nginx on loopback in a temp dir: plain HTTP and HTTPS with a self-signed cert made by openssl. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { type RunningServer, freePort, makeTempDir, selfSignedCert, startProcess, waitForTcp, stopAndRemove } from './process.js';

export interface NginxServer extends RunningServer {
  readonly tlsPort: number;
  /** PEM of the self-signed certificate (CN/SAN = the serverName). */
  readonly certPem: string;
  readonly serverName: string;
}

/**
 * Serves on host:port (http) and host:tlsPort (https):
 * - GET /health → 200 "ok from nginx <name>"; /redirect → 302; /error → 503; anything else → 404
 *   (hung servers are tested with a Node server that never answers).
 * - Host or SNI `other.test` → 200 "other vhost".
 */
export async function startNginx(host: string, serverName = 'health.test'): Promise<NginxServer> {
  const dir = makeTempDir('nginx');
  const port = await freePort(host);
  const tlsPort = await freePort(host);
  const { cert, key } = selfSignedCert(dir, serverName);
  mkdirSync(join(dir, 'tmp'));
  const conf = join(dir, 'nginx.conf');
  const site = (listen: string, name: string, body: string): string => `
    server {
      listen ${listen};
      server_name ${name};
      ssl_certificate ${cert};
      ssl_certificate_key ${key};
      location = /health { default_type text/plain; return 200 "${body}\\n"; }
      location = /redirect { return 302 /health; }
      location = /error { return 503; }
      location / { return 404; }
    }`;
  writeFileSync(
    conf,
    `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  ${site(`${host}:${port} default_server`, serverName, `ok from nginx ${serverName}`)}
  ${site(`${host}:${port}`, 'other.test', 'other vhost')}
  ${site(`${host}:${tlsPort} ssl default_server`, serverName, `ok from nginx ${serverName} over tls`)}
  ${site(`${host}:${tlsPort} ssl`, 'other.test', 'other vhost over tls')}
}
`,
  );
  const proc = startProcess('nginx', ['nginx', '-p', dir, '-c', conf, '-e', join(dir, 'error.log')]);
  await waitForTcp(host, port, 10_000, proc);
  await waitForTcp(host, tlsPort, 10_000, proc);
  return {
    host,
    port,
    tlsPort,
    dir,
    serverName,
    certPem: readFileSync(cert, 'utf8'),
    process: proc,
    stop: stopAndRemove(proc, dir),
  };
}
