/**
 * The director over the REAL embedded engine and the REAL health monitor, on loopback
 * (127.30.0.0/16): three node HTTP servers as reals, a sorry server, a VIP served by the engine.
 * Kill one → it is quiesced within interval × failurecount + timeout; kill all → the sorry server
 * answers through the VIP; restart one → the sorry server is gone and traffic returns to it.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import type { ClusterConfig } from '../../../src/config/model.js';
import { systemClock } from '../../../src/core/clock.js';
import { MemoryLogger } from '../../../src/core/logger.js';
import { Director } from '../../../src/director/director.js';
import { EmbeddedEngine } from '../../../src/engine/embedded/index.js';
import { createHealthMonitor } from '../../../src/health/monitor.js';
import { check, cluster, fallbackAt, real, virtual } from '../../unit/director/fakes.js';
import { fetchVia, freePort, waitFor } from './helpers.js';

const INTERVAL_MS = 200;
const TIMEOUT_MS = 300;
const FAILURE_COUNT = 2;
/** Scheduling slack on top of the ldirectord bound: event-loop turns, the apply, our 10 ms poll. */
const SLACK_MS = 250;

interface Backend {
  readonly name: string;
  readonly host: string;
  port: number;
  server?: Server;
}

async function listen(b: Backend): Promise<void> {
  const server = createServer((req, res) => {
    res.setHeader('connection', 'close');
    res.end(b.name);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(b.port, b.host, () => resolve());
  });
  b.port = (server.address() as { port: number }).port;
  b.server = server;
}

async function kill(b: Backend): Promise<void> {
  const s = b.server;
  b.server = undefined;
  if (!s) return;
  s.closeAllConnections();
  await new Promise<void>((resolve) => s.close(() => resolve()));
}

describe('director integration: real embedded engine + real health monitor on loopback', function () {
  this.timeout(20_000);
  const backends: Backend[] = [
    { name: 'r1', host: '127.30.1.1', port: 0 },
    { name: 'r2', host: '127.30.1.2', port: 0 },
    { name: 'r3', host: '127.30.1.3', port: 0 },
  ];
  const sorry: Backend = { name: 'sorry', host: '127.30.9.9', port: 0 };
  const vip = '127.30.0.100';
  let director: Director | undefined;

  after(async () => {
    if (director) await director.close();
    for (const b of [...backends, sorry]) await kill(b);
  });

  it('quiesces a dead real within interval x failurecount + timeout, serves the sorry page when all are dead, and returns', async () => {
    for (const b of [...backends, sorry]) await listen(b);
    const vport = await freePort(vip);
    const vs = virtual(`${vip}:${vport}`, backends.map((b) => real(`${b.host}:${b.port}`)), {
      scheduler: 'rr',
      quiescent: true,
      fallback: fallbackAt(`${sorry.host}:${sorry.port}`),
      check: check({ type: 'connect', intervalMs: INTERVAL_MS, timeoutMs: TIMEOUT_MS, failureCount: FAILURE_COUNT, initialState: 'down' }),
    });
    const config: ClusterConfig = cluster([vs]);
    const logger = new MemoryLogger();
    const engine = new EmbeddedEngine({ clock: systemClock, logger });
    const health = createHealthMonitor({ clock: systemClock, logger, random: () => 0 });
    director = new Director({ config, engine, health, clock: systemClock, logger, maintenanceDir: null, tickMs: 100 });
    await director.start();
    const d = director;
    const realStatus = (i: number) => d.status().virtuals[0]?.reals[i];

    await waitFor('all reals up', 3000, () => [0, 1, 2].every((i) => realStatus(i)?.engineWeight === 1));
    assert.equal(d.status().virtuals[0]?.fallbackActive, false);
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(await fetchVia(vip, vport));
    assert.deepEqual([...seen].sort(), ['r1', 'r2', 'r3'], 'round robin over the three reals through the VIP');

    // Kill r2: quiesced (weight 0, still in the engine) within the ldirectord bound.
    await kill(backends[1] as Backend);
    const bound = INTERVAL_MS * FAILURE_COUNT + TIMEOUT_MS;
    const took = await waitFor('r2 quiesced', bound + SLACK_MS, () => realStatus(1)?.engineWeight === 0 && realStatus(1)?.health === 'down');
    console.log(`      r2 quiesced ${took.toFixed(0)} ms after it died (bound ${bound} ms + ${SLACK_MS} ms slack)`);
    const statsR2 = engine.stats().services[0]?.reals.find((r) => r.key === `${backends[1]?.host}:${backends[1]?.port}`);
    assert.equal(statsR2?.weight, 0, 'the engine holds r2 at weight 0');
    const after1 = new Set<string>();
    for (let i = 0; i < 6; i++) after1.add(await fetchVia(vip, vport));
    assert.deepEqual([...after1].sort(), ['r1', 'r3']);

    // Kill the rest: the sorry server answers through the VIP.
    await kill(backends[0] as Backend);
    await kill(backends[2] as Backend);
    await waitFor('fallback active', bound * 2 + SLACK_MS, () => d.status().virtuals[0]?.fallbackActive === true);
    for (let i = 0; i < 3; i++) assert.equal(await fetchVia(vip, vport), 'sorry');

    // Restart r3 on the same port: the sorry server goes and traffic returns to r3.
    await listen(backends[2] as Backend);
    const back = await waitFor('r3 back', INTERVAL_MS * 2 + TIMEOUT_MS + SLACK_MS, () => d.status().virtuals[0]?.fallbackActive === false && realStatus(2)?.engineWeight === 1);
    console.log(`      r3 back in service ${back.toFixed(0)} ms after restart`);
    for (let i = 0; i < 3; i++) assert.equal(await fetchVia(vip, vport), 'r3');
    assert.ok(!engine.stats().services[0]?.reals.some((r) => r.isFallback), 'fallback removed from the engine');
    assert.ok(logger.records.some((r) => r.message.startsWith('Added fallback server:')));
    assert.ok(logger.records.some((r) => r.message.startsWith('Deleted fallback server:')));

    await d.close();
    director = undefined;
    await assert.rejects(fetchVia(vip, vport), 'cleanstop=yes: the VIP listener is gone');
  });

  it('drains a real: weight 0 while a live connection finishes, then removed; progress comes from the engine', async () => {
    const held: Socket[] = [];
    /** Client connections proxied to r1 (health-check connects send nothing and are not counted). */
    let proxiedToR1 = 0;
    const r1: Backend = { name: 'd1', host: '127.30.2.1', port: 0 };
    const r2: Backend = { name: 'd2', host: '127.30.2.2', port: 0 };
    // r1 holds connections open until the client ends them (a long download, say).
    const slow = createNetServer((sock) => {
      held.push(sock);
      sock.on('error', () => undefined);
      sock.once('data', () => proxiedToR1++);
      sock.on('end', () => sock.end());
    });
    await new Promise<void>((r) => slow.listen(0, r1.host, r));
    r1.port = (slow.address() as { port: number }).port;
    await listen(r2);
    const vip2 = '127.30.0.101';
    const vport = await freePort(vip2);
    const vs = virtual(`${vip2}:${vport}`, [real(`${r1.host}:${r1.port}`), real(`${r2.host}:${r2.port}`)], {
      scheduler: 'rr',
      check: check({ type: 'connect', intervalMs: INTERVAL_MS, timeoutMs: TIMEOUT_MS, failureCount: FAILURE_COUNT, initialState: 'down' }),
    });
    const logger = new MemoryLogger();
    const engine = new EmbeddedEngine({ clock: systemClock, logger });
    const health = createHealthMonitor({ clock: systemClock, logger, random: () => 0 });
    const d = new Director({ config: cluster([vs]), engine, health, clock: systemClock, logger, maintenanceDir: null, tickMs: 100, drainPollMs: 50 });
    director = d;
    const client: Socket[] = [];
    try {
      await d.start();
      await waitFor('both up', 3000, () => d.status().virtuals[0]?.reals.every((r) => r.engineWeight === 1) === true);
      // Open connections through the VIP until one lands on r1 (rr: within two); r2 answers and closes.
      for (let i = 0; i < 4 && proxiedToR1 === 0; i++) {
        const c = connect(vport, vip2);
        c.on('error', () => undefined);
        c.on('data', () => undefined);
        client.push(c);
        await new Promise<void>((r) => c.once('connect', () => r()));
        c.write('GET / HTTP/1.0\r\n\r\n');
        await waitFor('answered or held', 2000, () => proxiedToR1 > 0 || c.readableEnded || c.destroyed);
      }
      await waitFor('a connection on r1', 2000, () => proxiedToR1 > 0);
      const r1Key = `${r1.host}:${r1.port}`;
      const handle = d.drain({ realKey: r1Key }, 10_000, 'integration');
      const progress: number[] = [];
      const consume = (async () => {
        for await (const p of handle) progress.push(p.activeConns + p.inactiveConns);
      })();
      await waitFor('drain reports the live connection', 2000, () => progress.some((n) => n > 0));
      assert.equal(d.status().virtuals[0]?.reals[0]?.engineWeight, 0, 'weight 0 while draining');
      for (const c of client) c.end();
      const outcome = await handle.done;
      await consume;
      assert.equal(outcome.reason, 'idle');
      await d.settled();
      assert.equal(d.status().virtuals[0]?.reals[0]?.engineWeight, undefined, 'removed after the drain');
      assert.ok(!engine.stats().services[0]?.reals.some((r) => r.key === r1Key));
    } finally {
      for (const c of client) c.destroy();
      for (const s of held) s.destroy();
      await d.close();
      director = undefined;
      await new Promise<void>((r) => slow.close(() => r()));
      await kill(r2);
    }
  });
});
