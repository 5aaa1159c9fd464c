/** Shared by the director integration tests: a free loopback port, a GET through a VIP, a bounded wait. */
import { get } from 'node:http';
import { createServer as createNetServer } from 'node:net';

/** A port nothing listens on at `host` right now. */
export async function freePort(host: string): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** GET / on host:port with a fresh connection; resolves the body. */
export function fetchVia(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get({ host, port, path: '/', agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Polls `cond` every 10 ms until true; fails after `boundMs`. Returns the elapsed time. */
export async function waitFor(what: string, boundMs: number, cond: () => boolean): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (cond()) return performance.now() - t0;
    if (performance.now() - t0 > boundMs) throw new Error(`${what}: not within ${boundMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
