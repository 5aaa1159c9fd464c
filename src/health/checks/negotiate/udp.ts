/** One UDP request/response exchange with a deadline (dns, sip, radius). */
import dgram from 'node:dgram';
import type { Deadline } from '../common.js';

/**
 * Sends `payload` to host:port and resolves with the first datagram that `accept` takes (others
 * are ignored: stray or spoofed replies). Rejects on the deadline or a socket error (an ICMP port
 * unreachable surfaces as ECONNREFUSED because the socket is connected).
 */
export function udpExchange(
  host: string,
  port: number,
  family: 4 | 6,
  payload: Buffer,
  deadline: Deadline,
  accept: (msg: Buffer) => boolean,
): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    let done = false;
    const finish = (err: Error | undefined, msg?: Buffer): void => {
      if (done) return;
      done = true;
      deadline.signal.removeEventListener('abort', onAbort);
      socket.close();
      if (err) reject(err);
      else resolve(msg ?? Buffer.alloc(0));
    };
    const onAbort = (): void => finish(new Error('deadline'));
    deadline.signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (err) => finish(err));
    socket.on('message', (msg) => {
      if (accept(msg)) finish(undefined, msg);
    });
    socket.connect(port, host, () => {
      socket.send(payload, (err) => {
        if (err) finish(err);
      });
    });
  });
}
