/**
 * How the embedded engine gets its listening sockets. The default binds normally; the VRRP/sys side
 * may inject a factory that binds with IP_FREEBIND (or inside a namespace with ip_nonlocal_bind) so
 * a backup director can listen on a VIP it does not own yet. When the default bind fails with
 * EADDRNOTAVAIL the engine retries through its Clock (see EmbeddedEngine's bindRetry option).
 */
import dgram from 'node:dgram';
import type net from 'node:net';
import type { IpFamily } from '../../core/ip.js';

/** One listening endpoint the engine needs. */
export interface ListenRequest {
  readonly serviceKey: string;
  readonly protocol: 'tcp' | 'udp';
  readonly family: IpFamily;
  readonly address: string;
  readonly port: number;
}

export interface ListenFactory {
  /** Makes `server` listen on the request's endpoint (e.g. `server.listen({ fd })` after IP_FREEBIND). */
  listenTcp(server: net.Server, request: ListenRequest): Promise<void>;
  /** Creates a UDP socket bound to the request's endpoint. */
  bindUdp(request: ListenRequest): Promise<dgram.Socket>;
}

/** The listen backlog (the kernel caps it at net.core.somaxconn, 4096 here). */
export const LISTEN_BACKLOG = 4096;

export const defaultListenFactory: ListenFactory = {
  listenTcp(server, request) {
    return new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen({ host: request.address, port: request.port, backlog: LISTEN_BACKLOG, ipv6Only: request.family === 6 }, () => {
        server.off('error', onError);
        resolve();
      });
    });
  },
  bindUdp(request) {
    return new Promise<dgram.Socket>((resolve, reject) => {
      const sock = dgram.createSocket({ type: request.family === 6 ? 'udp6' : 'udp4', ipv6Only: request.family === 6 });
      const onError = (err: Error): void => {
        sock.close();
        reject(err);
      };
      sock.once('error', onError);
      sock.bind({ address: request.address, port: request.port, exclusive: true }, () => {
        sock.off('error', onError);
        resolve(sock);
      });
    });
  },
};
