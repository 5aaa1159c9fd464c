import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../../../src/core/clock.js';
import { MemoryLogger } from '../../../src/core/logger.js';
import { createHttpChecker } from '../../../src/health/checks/http.js';
import { createLeanHttpChecker } from '../../../src/health/checks/lean-http.js';
import { createHealthMonitor } from '../../../src/health/monitor.js';
import type { HealthTransition } from '../../../src/health/types.js';
import { waitUntil } from '../../support/servers/process.js';
import { createNegotiateChecker } from '../../../src/health/checks/negotiate.js';
import { type NginxServer, startNginx } from '../../support/servers/nginx.js';
import { checkConfig, checkTarget, healthTarget } from '../../unit/health/fixtures.js';

const HOST = '127.20.1.1';

describe('health/http negotiate against real nginx', function () {
  this.timeout(30_000);
  let nginx: NginxServer;

  before(async () => {
    nginx = await startNginx(HOST);
  });
  after(async () => {
    await nginx?.stop();
  });

  for (const [name, checker] of [
    ['got', createNegotiateChecker({ http: createHttpChecker() })],
    ['lean raw HTTP/1.0', createNegotiateChecker({ http: createLeanHttpChecker(createHttpChecker()) })],
  ] as const) {
    describe(`plain http via ${name}`, () => {
      const run = (request: string, extra: Parameters<typeof checkConfig>[0] = {}) =>
        checker.run(checkTarget(HOST, nginx.port), checkConfig({ type: 'negotiate', service: 'http', request, ...extra }), new AbortController().signal);

      it('200 with a matching receive is up; a non-matching receive is down', async () => {
        const up = await run('/health', { receive: 'ok from nginx' });
        assert.equal(up.ok, true, up.detail);
        assert.match(up.detail, /HTTP 200/);
        const down = await run('/health', { receive: 'no such text' });
        assert.equal(down.ok, false);
        assert.match(down.detail, /does not match receive/);
      });

      it('request without a leading slash gets one (ldirectord)', async () => {
        const up = await run('health', { receive: '^ok' });
        assert.equal(up.ok, true, up.detail);
      });

      it('404 and 503 are down; a 302 is down (redirects not followed) unless expected', async () => {
        assert.match((await run('/nope')).detail, /HTTP 404/);
        assert.equal((await run('/error')).ok, false);
        const redirect = await run('/redirect');
        assert.equal(redirect.ok, false);
        assert.match(redirect.detail, /HTTP 302/);
        assert.equal((await run('/redirect', { expectStatus: [302] })).ok, true);
      });

      it('virtualhost is sent as the Host header', async () => {
        const other = await run('/health', { virtualHost: 'other.test', receive: '^other vhost$' });
        assert.equal(other.ok, true, other.detail);
        const dflt = await run('/health', { receive: '^other vhost$' });
        assert.equal(dflt.ok, false);
      });

      it('HEAD works and skips the body match', async () => {
        const r = await run('/health', { httpMethod: 'HEAD', receive: 'anything' });
        assert.equal(r.ok, true, r.detail);
      });

      it('connection refused is down with the errno', async () => {
        const r = await checker.run(checkTarget(HOST, 1), checkConfig({ type: 'negotiate', service: 'http' }), new AbortController().signal);
        assert.equal(r.ok, false);
        assert.match(r.detail, /ECONNREFUSED/);
      });
    });
  }

  describe('https', () => {
    const checker = createNegotiateChecker();
    const run = (extra: Parameters<typeof checkConfig>[0]) =>
      checker.run(checkTarget(HOST, nginx.tlsPort), checkConfig({ type: 'negotiate', service: 'https', request: '/health', ...extra }), new AbortController().signal);

    it('verifies certificates by default: a self-signed certificate is down with a clear detail', async () => {
      const r = await run({});
      assert.equal(r.ok, false);
      assert.match(r.detail, /self[- ]signed/i);
    });

    it('tlsVerify off: up, and virtualhost selects the vhost through SNI', async () => {
      const r = await run({ tlsVerify: false, receive: 'over tls' });
      assert.equal(r.ok, true, r.detail);
      const other = await run({ tlsVerify: false, virtualHost: 'other.test', receive: '^other vhost over tls$' });
      assert.equal(other.ok, true, other.detail);
    });
  });

  it('monitor end to end: a real server that stops is taken down after failureCount, and comes back after riseCount', async () => {
    const server = http.createServer((_req, res) => res.end('alive\n'));
    await new Promise<void>((r) => server.listen(0, '127.20.1.3', r));
    const port = (server.address() as AddressInfo).port;
    const monitor = createHealthMonitor({ clock: systemClock, logger: new MemoryLogger() });
    const transitions: HealthTransition[] = [];
    monitor.onTransition((t) => transitions.push(t));
    const target = healthTarget('tcp:192.0.2.1:80', '127.20.1.3', port, checkConfig({ type: 'negotiate', service: 'http', receive: 'alive', intervalMs: 100, failureCount: 2, riseCount: 2 }));
    monitor.setTargets([target]);
    monitor.start();
    try {
      await waitUntil(() => monitor.snapshot(target.key)?.status === 'up', 3000, 'first success');
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await waitUntil(() => monitor.snapshot(target.key)?.status === 'down', 3000, 'down after two failures');
      const down = transitions.at(-1);
      assert.equal(down?.to, 'down');
      assert.match(down?.result.detail ?? '', /ECONNREFUSED/);
      await new Promise<void>((r) => server.listen(port, '127.20.1.3', r));
      await waitUntil(() => monitor.snapshot(target.key)?.status === 'up', 3000, 'up after two successes');
      assert.deepEqual(transitions.map((t) => t.to), ['up', 'down', 'up']);
    } finally {
      await monitor.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  describe('hung server', () => {
    let hung: http.Server;
    let port: number;
    before(async () => {
      hung = http.createServer(() => {
        // accepts, reads the request, never answers
      });
      await new Promise<void>((r) => hung.listen(0, '127.20.1.2', r));
      port = (hung.address() as AddressInfo).port;
    });
    after(async () => {
      hung.closeAllConnections();
      await new Promise((r) => hung.close(r));
    });

    it('through the monitor: the hung check times out at its timeout while a fast check keeps its 100 ms schedule', async () => {
      const monitor = createHealthMonitor({ clock: systemClock, logger: new MemoryLogger() });
      const transitions: HealthTransition[] = [];
      monitor.onTransition((t) => transitions.push(t));
      const slow = healthTarget('tcp:192.0.2.1:80', '127.20.1.2', port, checkConfig({ type: 'negotiate', service: 'http', negotiateTimeoutMs: 1000, intervalMs: 60_000, initialState: 'up' }));
      const fast = healthTarget('tcp:192.0.2.1:80', HOST, nginx.port, checkConfig({ type: 'negotiate', service: 'http', request: '/health', intervalMs: 100 }));
      const fastTimes: number[] = [];
      let last: number | undefined;
      const t0 = performance.now();
      const poll = setInterval(() => {
        const at = monitor.snapshot(fast.key)?.lastCheckedAt;
        if (at !== undefined && at !== last) {
          last = at;
          fastTimes.push(at - t0);
        }
      }, 5);
      monitor.setTargets([slow, fast]);
      monitor.start();
      try {
        await waitUntil(() => transitions.some((t) => t.key === slow.key && t.to === 'down'), 4000, 'the hung http check to time out');
        const down = transitions.find((t) => t.key === slow.key);
        const took = (down?.at ?? 0) - t0;
        assert.ok(took >= 950 && took < 1800, `hung check ended after ${took} ms`);
        assert.match(down?.result.detail ?? '', /timed out after 1000 ms/);
        const during = fastTimes.filter((t) => t < 1000);
        assert.ok(during.length >= 5, `fast check completed ${during.length} times during the hang`);
        const gaps = during.slice(1).map((t, i) => t - (during[i] ?? 0));
        assert.ok(Math.max(...gaps) < 400, `largest gap between fast checks ${Math.max(...gaps).toFixed(0)} ms`);
        assert.equal(monitor.snapshot(fast.key)?.status, 'up');
      } finally {
        clearInterval(poll);
        await monitor.close();
      }
    });

    it('times out at negotiatetimeout (got and lean)', async () => {
      for (const lean of [false, true]) {
        const checker = lean ? createLeanHttpChecker(createHttpChecker()) : createHttpChecker();
        const t0 = Date.now();
        const r = await checker.run(checkTarget('127.20.1.2', port), checkConfig({ type: 'negotiate', service: 'http', negotiateTimeoutMs: 400 }), new AbortController().signal);
        const took = Date.now() - t0;
        assert.equal(r.ok, false);
        assert.match(r.detail, /timed out after 400 ms|Timeout/i);
        assert.ok(took >= 380 && took < 1500, `lean=${lean} took ${took}`);
      }
    });
  });
});
