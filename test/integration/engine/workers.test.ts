import assert from 'node:assert/strict';
import cluster from 'node:cluster';
import { EmbeddedEngine } from '../../../src/engine/embedded/index.js';
import { freshVip, nameOnce, realOf, serviceOf, startTcpBackend, waitFor, type TcpBackend } from './helpers.js';

describe('engine/embedded worker mode (2 processes, SCHED_NONE)', function () {
  this.timeout(30_000);
  let backends: TcpBackend[] = [];
  let engine: EmbeddedEngine | undefined;

  before(async () => {
    backends = [await startTcpBackend('k1', '127.10.8.1'), await startTcpBackend('k2', '127.10.8.2'), await startTcpBackend('k0', '127.10.8.3')];
  });
  after(async () => {
    engine?.destroy();
    await Promise.all(backends.map((b) => b.close()));
  });

  it('serves through both workers, aggregates stats, refuses what it cannot keep exact, closes its workers', async () => {
    engine = new EmbeddedEngine({ workers: 2 });
    const vip = freshVip();
    const vip2 = freshVip();
    const [a, b, z] = backends as [TcpBackend, TcpBackend, TcpBackend];
    const r = await engine.apply({
      services: [
        serviceOf(vip, [realOf(a, 1), realOf(b, 1), realOf(z, 0)]),
        serviceOf(vip2, [realOf(a)], { persistence: { timeoutMs: 1000, netmaskPrefixLength: 32 } }),
      ],
    });
    assert.equal(r.failures.length, 1);
    assert.equal(r.failures[0]!.key, serviceOf(vip2, []).key);
    assert.equal((r.failures[0]!.error as { code?: string }).code, 'DIR_ERR_ENGINE_UNSUPPORTED');
    assert.equal(Object.keys(cluster.workers ?? {}).length, 2);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 20; i++) {
      const n = await nameOnce(vip);
      counts[n] = (counts[n] ?? 0) + 1;
    }
    assert.equal(counts.k0, undefined);
    assert.equal((counts.k1 ?? 0) + (counts.k2 ?? 0), 20);
    assert.ok((counts.k1 ?? 0) > 0 && (counts.k2 ?? 0) > 0, JSON.stringify(counts));
    await waitFor(() => engine!.stats().services[0]?.counters.conns === 20, 'aggregated conns from both workers', 5000);
    const st = engine.stats().services[0]!;
    assert.deepEqual(
      st.reals.map((x) => x.counters.conns),
      [counts.k1 ?? 0, counts.k2 ?? 0, 0],
    );
    await engine.close(1000);
    await waitFor(() => Object.keys(cluster.workers ?? {}).length === 0, 'workers exited', 5000);
    engine = undefined;
  });
});
