import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';
import { createHttpChecker } from '../../../src/health/checks/http.js';
import { createDefaultCheckers } from '../../../src/health/checks/index.js';
import { createLeanHttpChecker } from '../../../src/health/checks/lean-http.js';
import type { CheckResult, Checker } from '../../../src/health/types.js';
import { type NginxServer, startNginx } from '../../support/servers/nginx.js';
import { checkConfig, checkTarget } from '../../unit/health/fixtures.js';

const NGINX_HOST = '127.24.1.1';
const RAW_HOST = '127.24.1.2';

/** A raw TCP server whose answer to each connection the test scripts; records what it received. */
class ScriptedServer {
  readonly requests: string[] = [];
  private readonly server: net.Server;
  answer: (socket: net.Socket) => void = () => undefined;

  constructor() {
    this.server = net.createServer((socket) => {
      socket.on('error', () => undefined); // the checker closes with RST
      let request = '';
      socket.on('data', (chunk: Buffer) => {
        const first = request === '';
        request += chunk.toString('latin1');
        if (first) {
          this.requests.push(request);
          this.answer(socket);
        }
      });
    });
  }

  async listen(host: string): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, host, resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** TIME_WAIT sockets on either side of connections to host:port (ss, iproute2). */
function timeWaitCount(host: string, port: number): number {
  const out = execFileSync('ss', ['-Htan', 'state', 'time-wait', `( src ${host}:${port} or dst ${host}:${port} )`], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.trim() !== '').length;
}

describe('health/lean-http (the default plain-HTTP checker)', function () {
  this.timeout(30_000);
  const checker: Checker = createDefaultCheckers().negotiate;

  describe('against real nginx', () => {
    let nginx: NginxServer;
    before(async () => {
      nginx = await startNginx(NGINX_HOST);
    });
    after(async () => {
      await nginx?.stop();
    });
    const run = (request: string, extra: Parameters<typeof checkConfig>[0] = {}): Promise<CheckResult> =>
      checker.run(checkTarget(NGINX_HOST, nginx.port), checkConfig({ type: 'negotiate', service: 'http', request, ...extra }), new AbortController().signal);

    it('200 with a matching receive is up; a non-matching receive is down; no receive is up on the status alone', async () => {
      const up = await run('/health', { receive: '^ok' });
      assert.equal(up.ok, true, up.detail);
      assert.match(up.detail, new RegExp(`^http://${NGINX_HOST.replace(/\./g, '\\.')}:${nginx.port}/health: HTTP 200 in \\d+ ms$`));
      const down = await run('/health', { receive: 'no such text' });
      assert.equal(down.ok, false);
      assert.match(down.detail, /HTTP 200 but body does not match receive \/no such text\//);
      const statusOnly = await run('/health');
      assert.equal(statusOnly.ok, true, statusOnly.detail);
    });

    it('request without a leading slash gets one; Perl-style $ before the final newline', async () => {
      const up = await run('health', { receive: '^ok.*$' });
      assert.equal(up.ok, true, up.detail);
    });

    it('404 and 503 are down; a 302 is down unless listed in expectStatus', async () => {
      assert.match((await run('/nope')).detail, /HTTP 404 \(expected 2xx\)/);
      assert.equal((await run('/error')).ok, false);
      const redirect = await run('/redirect');
      assert.equal(redirect.ok, false);
      assert.match(redirect.detail, /HTTP 302/);
      assert.equal((await run('/redirect', { expectStatus: [302] })).ok, true);
    });

    it('virtualhost is sent as the Host header', async () => {
      const other = await run('/health', { virtualHost: 'other.test', receive: '^other vhost$' });
      assert.equal(other.ok, true, other.detail);
      assert.equal((await run('/health', { receive: '^other vhost$' })).ok, false);
    });

    it('HEAD works and skips the body match', async () => {
      const r = await run('/health', { httpMethod: 'HEAD', receive: 'anything' });
      assert.equal(r.ok, true, r.detail);
    });

    it('closes with RST: no TIME_WAIT socket is left on either side', async () => {
      // Others (nginx's readiness probe) may have left some; the checks must add none.
      const before = timeWaitCount(NGINX_HOST, nginx.port);
      for (let i = 0; i < 20; i++) assert.equal((await run('/health')).ok, true);
      for (let i = 0; i < 20; i++) assert.equal((await run('/health', { receive: 'ok' })).ok, true);
      assert.ok(timeWaitCount(NGINX_HOST, nginx.port) <= before, `TIME_WAIT sockets went from ${before} to ${timeWaitCount(NGINX_HOST, nginx.port)}`);
    });
  });

  describe('against scripted servers', () => {
    const server = new ScriptedServer();
    let port: number;
    before(async () => {
      port = await server.listen(RAW_HOST);
    });
    after(async () => {
      await server.close();
    });
    const run = (extra: Parameters<typeof checkConfig>[0] = {}, signal = new AbortController().signal): Promise<CheckResult> =>
      checker.run(checkTarget(RAW_HOST, port), checkConfig({ type: 'negotiate', service: 'http', request: '/check', negotiateTimeoutMs: 2000, ...extra }), signal);

    it('sends keepalived HTTP_GET\'s request shape in one piece, the same bytes every time', async () => {
      server.answer = (s) => s.end('HTTP/1.0 200 OK\r\n\r\n');
      server.requests.length = 0;
      await run();
      await run();
      const expected = `GET /check HTTP/1.0\r\nHost: ${RAW_HOST}:${port}\r\nUser-Agent: directord health check\r\nConnection: close\r\n\r\n`;
      assert.deepEqual(server.requests, [expected, expected]);
    });

    it('a changed check (new object) gets a freshly built request', async () => {
      server.answer = (s) => s.end('HTTP/1.0 200 OK\r\n\r\n');
      server.requests.length = 0;
      const target = checkTarget(RAW_HOST, port);
      await checker.run(target, checkConfig({ type: 'negotiate', service: 'http', request: '/a' }), new AbortController().signal);
      await checker.run(target, checkConfig({ type: 'negotiate', service: 'http', request: '/b', virtualHost: 'v.test' }), new AbortController().signal);
      assert.match(server.requests[0] ?? '', /^GET \/a HTTP\/1\.0\r\nHost: 127\.24\.1\.2:\d+\r\n/);
      assert.match(server.requests[1] ?? '', /^GET \/b HTTP\/1\.0\r\nHost: v\.test\r\n/);
    });

    it('a status line and body that arrive in pieces are put together', async () => {
      server.answer = (s) => {
        s.write('HT');
        setTimeout(() => s.write('TP/1.1 200 OK\r\nContent-Le'), 20);
        setTimeout(() => s.write('ngth: 11\r\n\r\nhello '), 40);
        setTimeout(() => s.write('world'), 60);
        // Never closes: Content-Length ends the exchange.
      };
      const r = await run({ receive: '^hello world$' });
      assert.equal(r.ok, true, r.detail);
      const wrong = await run({ receive: '^hello there$' });
      assert.equal(wrong.ok, false);
      assert.match(wrong.detail, /does not match receive/);
    });

    it('without Content-Length the body runs to the server\'s close', async () => {
      server.answer = (s) => {
        s.write('HTTP/1.0 200 OK\r\n\r\nfirst ');
        setTimeout(() => s.end('second'), 30);
      };
      assert.equal((await run({ receive: 'first second' })).ok, true);
    });

    it('a malformed status line, an empty answer and a refused connection are down with a clear detail', async () => {
      server.answer = (s) => s.end('SSH-2.0-OpenSSH\r\n');
      assert.match((await run()).detail, /malformed status line "SSH-2\.0-OpenSSH"/);
      server.answer = (s) => s.end();
      assert.match((await run()).detail, /connection closed without a response/);
      const refused = await checker.run(checkTarget(RAW_HOST, 1), checkConfig({ type: 'negotiate', service: 'http' }), new AbortController().signal);
      assert.equal(refused.ok, false);
      assert.match(refused.detail, /ECONNREFUSED/);
    });

    it('times out at negotiatetimeout, and ends at once when the monitor aborts', async () => {
      server.answer = () => undefined; // never answers
      const t0 = performance.now();
      const r = await run({ negotiateTimeoutMs: 300 });
      const took = performance.now() - t0;
      assert.equal(r.ok, false);
      assert.match(r.detail, /timed out after 300 ms/);
      assert.ok(took >= 290 && took < 1500, `took ${took.toFixed(0)} ms`);
      const abort = new AbortController();
      const pending = run({ negotiateTimeoutMs: 10_000 }, abort.signal);
      setTimeout(() => abort.abort(), 50);
      const aborted = await pending;
      assert.equal(aborted.ok, false);
      assert.equal(aborted.detail, 'aborted');
      assert.ok(aborted.durationMs < 1000, `abort took ${aborted.durationMs} ms`);
    });

    it('an IPv6 real: brackets in the Host header and the detail', async () => {
      const v6 = new ScriptedServer();
      v6.answer = (s) => s.end('HTTP/1.0 204 No Content\r\n\r\n');
      const v6port = await v6.listen('::1');
      try {
        const r = await checker.run(checkTarget('::1', v6port), checkConfig({ type: 'negotiate', service: 'http', request: '/v6' }), new AbortController().signal);
        assert.equal(r.ok, true, r.detail);
        assert.match(r.detail, new RegExp(`^http://\\[::1\\]:${v6port}/v6: HTTP 204 in \\d+ ms$`));
        assert.match(v6.requests[0] ?? '', new RegExp(`\r\nHost: \\[::1\\]:${v6port}\r\n`));
      } finally {
        await v6.close();
      }
    });

    it('https goes to the fallback checker', async () => {
      const seen: string[] = [];
      const fallback: Checker = {
        run: (_t, check) => {
          seen.push(check.service);
          return Promise.resolve({ ok: true, detail: 'fallback', durationMs: 0 });
        },
      };
      const lean = createLeanHttpChecker(fallback);
      const r = await lean.run(checkTarget(RAW_HOST, port), checkConfig({ type: 'negotiate', service: 'https' }), new AbortController().signal);
      assert.equal(r.detail, 'fallback');
      assert.deepEqual(seen, ['https']);
      // And the real fallback (got) handles it: this server speaks no TLS, so the check is down.
      const viaGot = await createLeanHttpChecker(createHttpChecker()).run(
        checkTarget(RAW_HOST, port),
        checkConfig({ type: 'negotiate', service: 'https', negotiateTimeoutMs: 1000 }),
        new AbortController().signal,
      );
      assert.equal(viaGot.ok, false);
    });
  });
});
