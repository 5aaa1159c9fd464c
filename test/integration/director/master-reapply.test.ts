/**
 * Re-apply on VRRP MASTER over the REAL embedded engine and the REAL health monitor (127.60.5.0/24).
 *
 * A backup director cannot bind its VIP: the bind fails with EADDRNOTAVAIL until VRRP adds the
 * address. The listen factory here stands in for that one kernel answer (the VIP "appears" when the
 * test says so, as VRRP would add it; the bind itself is a real loopback bind). The engine's own
 * retry is set to 60 s, so a listener that serves within a second was bound by the director's
 * re-apply on the MASTER transition.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { systemClock } from '../../../src/core/clock.js';
import { MemoryLogger } from '../../../src/core/logger.js';
import type { VrrpState } from '../../../src/core/types.js';
import { Director } from '../../../src/director/director.js';
import { EmbeddedEngine, defaultListenFactory, type ListenFactory } from '../../../src/engine/embedded/index.js';
import { createHealthMonitor } from '../../../src/health/monitor.js';
import type { VrrpController, VrrpInstanceStatus, VrrpStateChange } from '../../../src/vrrp/types.js';
import { check, cluster, real, virtual } from '../../unit/director/fakes.js';
import { fetchVia, freePort, waitFor } from './helpers.js';

const VIP = '127.60.5.100';
const BACKEND = '127.60.5.1';

/** A VRRP controller the test drives (the VRRP module has its own tests; this is about the director's reaction). */
class DrivenVrrp implements VrrpController {
  state: VrrpState = 'BACKUP';
  private readonly listeners = new Set<(c: VrrpStateChange) => void>();
  async start(): Promise<void> {}
  onStateChange(l: (c: VrrpStateChange) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  status(): readonly VrrpInstanceStatus[] {
    return [{ name: 'VI_1', state: this.state, vrid: 60, interface: 'lo', basePriority: 100, effectivePriority: 100, transitions: 0, dropped: {}, advertsSent: 0, advertsReceived: 0 }];
  }
  async relinquish(): Promise<void> {}
  async close(): Promise<void> {}
  destroy(): void {}
  go(to: VrrpState): void {
    const from = this.state;
    this.state = to;
    for (const l of this.listeners) l({ instance: 'VI_1', from, to, reason: 'test', at: Date.now() });
  }
}

describe('director integration: re-apply on VRRP MASTER binds the VIP listener at once', function () {
  this.timeout(20_000);
  let backend: Server | undefined;
  let director: Director | undefined;

  after(async () => {
    await director?.close();
    if (backend) {
      backend.closeAllConnections();
      await new Promise<void>((r) => backend?.close(() => r()));
    }
  });

  it('a listener that failed with EADDRNOTAVAIL as BACKUP serves right after BACKUP -> MASTER', async () => {
    backend = createServer((_req, res) => {
      res.setHeader('connection', 'close');
      res.end('backend');
    });
    await new Promise<void>((r) => backend?.listen(0, BACKEND, r));
    const bport = (backend.address() as { port: number }).port;
    const vport = await freePort(VIP);

    let vipPresent = false;
    let bindAttempts = 0;
    const listen: ListenFactory = {
      async listenTcp(server, request) {
        bindAttempts++;
        if (request.address === VIP && !vipPresent) {
          throw Object.assign(new Error(`listen EADDRNOTAVAIL: address not available ${request.address}:${request.port}`), { code: 'EADDRNOTAVAIL' });
        }
        return defaultListenFactory.listenTcp(server, request);
      },
      bindUdp: (request) => defaultListenFactory.bindUdp(request),
    };
    const logger = new MemoryLogger();
    const engine = new EmbeddedEngine({ clock: systemClock, logger, listen, bindRetry: { intervalMs: 60_000, maxAttempts: 10 } });
    const health = createHealthMonitor({ clock: systemClock, logger, random: () => 0 });
    const vrrp = new DrivenVrrp();
    const vs = virtual(`${VIP}:${vport}`, [real(`${BACKEND}:${bport}`)], { check: check({ type: 'connect', intervalMs: 100, timeoutMs: 500 }) });
    director = new Director({ config: cluster([vs]), engine, health, vrrp, clock: systemClock, logger, maintenanceDir: null, tickMs: 60_000 });
    await director.start();
    const d = director;
    await waitFor('real up', 3000, () => d.status().virtuals[0]?.reals[0]?.engineWeight === 1);
    assert.equal(d.status().role, 'BACKUP');
    assert.ok(bindAttempts >= 1);
    assert.ok(logger.records.some((r) => r.message === 'VIP not present yet; will retry binding'));
    await assert.rejects(fetchVia(VIP, vport), /ECONNREFUSED/, 'nothing listens on the VIP as BACKUP');

    // VRRP adds the VIP and reports MASTER: the director re-applies and the engine binds now.
    vipPresent = true;
    const before = bindAttempts;
    vrrp.go('MASTER');
    const took = await waitFor('listener bound', 1000, () => bindAttempts > before && logger.records.some((r) => r.message === 'listener bound'));
    console.log(`      VIP listener bound ${took.toFixed(0)} ms after MASTER (engine retry interval 60000 ms)`);
    assert.equal(await fetchVia(VIP, vport), 'backend');
    assert.equal(d.status().role, 'MASTER');
  });
});
