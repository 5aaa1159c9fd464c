/** Loopback fixtures for the embedded engine tests (addresses in 127.10.0.0/16 only). */
import dgram from 'node:dgram';
import net from 'node:net';
import type { DesiredReal, DesiredService } from '../../../src/engine/model.js';

let nextVip = 1;
/**
 * A fresh VIP endpoint per test: 127.10.1.N, port 21000 + 50 * (pid % 200) + N, which stays below
 * the ephemeral range (32768+) so no client socket can hold it.
 */
export function freshVip(): { address: string; port: number } {
  const n = nextVip++;
  return { address: `127.10.1.${n % 250}`, port: 21000 + (process.pid % 200) * 50 + (n % 50) };
}

export interface TcpBackend {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly key: string;
  readonly server: net.Server;
  readonly sockets: Set<net.Socket>;
  /** Bytes received per connection, in order of arrival. */
  readonly received: Buffer[];
  accepted: number;
  close(): Promise<void>;
}

export type BackendMode = 'name' | 'echo' | 'raw' | 'hold';

/**
 * A real server. 'name': writes its name and keeps echoing; ends when the client ends.
 * 'echo': echoes and ends when the client ends. 'raw': records bytes only, ends on client end.
 * 'hold': records bytes only and never ends by itself (half-close tests).
 */
export async function startTcpBackend(name: string, address: string, mode: BackendMode = 'name'): Promise<TcpBackend> {
  const sockets = new Set<net.Socket>();
  const received: Buffer[] = [];
  const backend: TcpBackend = {
    name,
    address,
    port: 0,
    key: '',
    server: net.createServer({ allowHalfOpen: true }, (s) => {
      backend.accepted++;
      sockets.add(s);
      const idx = received.push(Buffer.alloc(0)) - 1;
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
      if (mode === 'name') s.write(`${name}\n`);
      s.on('data', (d: Buffer) => {
        received[idx] = Buffer.concat([received[idx] as Buffer, d]);
        if (mode === 'name' || mode === 'echo') s.write(d);
      });
      if (mode !== 'hold') s.on('end', () => s.end());
    }),
    sockets,
    received,
    accepted: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        backend.server.close(() => resolve());
      }),
  };
  await new Promise<void>((resolve) => backend.server.listen(0, address, resolve));
  const port = (backend.server.address() as net.AddressInfo).port;
  Object.assign(backend, { port, key: `${address}:${port}` });
  return backend;
}

export function realOf(b: { address: string; port: number; key: string }, weight = 1, extra: Partial<DesiredReal> = {}): DesiredReal {
  return { key: b.key, address: b.address, port: b.port, forward: 'masq', weight, upperThreshold: 0, lowerThreshold: 0, ...extra };
}

export function serviceOf(vip: { address: string; port: number }, reals: DesiredReal[], extra: Partial<DesiredService> = {}): DesiredService {
  const protocol = extra.protocol ?? 'tcp';
  return {
    key: `${protocol}:${vip.address}:${vip.port}`,
    protocol,
    family: 4,
    address: vip.address,
    port: vip.port,
    scheduler: 'rr',
    schedulerFlags: [],
    ops: false,
    reals,
    timeouts: { tcpMs: 900_000, tcpFinMs: 120_000, udpMs: 300_000 },
    onRealRemoved: 'finish',
    l7Rules: [],
    ...extra,
  };
}

/** Connects through the VIP, reads the backend's name line, returns it and the open socket. */
export function connectForName(vip: { address: string; port: number }, localAddress = '127.10.3.1'): Promise<{ name: string; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: vip.address, port: vip.port, localAddress });
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        socket.off('data', onData);
        resolve({ name: buf.slice(0, nl), socket });
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed before a name arrived (got "${buf}")`)));
  });
}

/** Connects, reads the name, closes cleanly and waits for the close. */
export async function nameOnce(vip: { address: string; port: number }, localAddress = '127.10.3.1'): Promise<string> {
  const { name, socket } = await connectForName(vip, localAddress);
  socket.removeAllListeners('close');
  await closeSocket(socket);
  return name;
}

export function closeSocket(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed && socket.closed) return resolve();
    socket.once('close', () => resolve());
    socket.on('error', () => {});
    socket.resume();
    socket.end();
  });
}

/** Polls a condition on the event loop (no fixed sleeps), failing after `timeoutMs`. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface UdpBackend {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly key: string;
  readonly socket: dgram.Socket;
  received: number;
  close(): Promise<void>;
}

/** A UDP real that answers every datagram with `<name>:<payload>`. */
export async function startUdpBackend(name: string, address: string): Promise<UdpBackend> {
  const socket = dgram.createSocket('udp4');
  const b: UdpBackend = {
    name,
    address,
    port: 0,
    key: '',
    socket,
    received: 0,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (msg, rinfo) => {
    b.received++;
    socket.send(Buffer.from(`${name}:${msg.toString()}`), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  const port = socket.address().port;
  Object.assign(b, { port, key: `${address}:${port}` });
  return b;
}
