/**
 * Weights requested by checks, end to end over the REAL health monitor, the REAL director and the
 * REAL embedded engine on loopback (127.60.0.0/16):
 * - keepalived misc_dynamic: an external check script exiting 7 with `dynamic` is up at weight 5
 *   (exit - 2); without `dynamic` (ldirectord) it is down.
 * - HAProxy agent-check: a real TCP agent answering "up 75%" scales the configured weight.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckConfig } from '../../../src/config/model.js';
import { systemClock } from '../../../src/core/clock.js';
import { MemoryLogger } from '../../../src/core/logger.js';
import { Director } from '../../../src/director/director.js';
import { EmbeddedEngine } from '../../../src/engine/embedded/index.js';
import { createExternalChecker } from '../../../src/health/checks/external.js';
import { createHealthMonitor } from '../../../src/health/monitor.js';
import { check, cluster, real, virtual } from '../../unit/director/fakes.js';
import { checkConfig, checkTarget } from '../../unit/health/fixtures.js';
import { freePort, waitFor } from './helpers.js';

const VIP = '127.60.0.100';

/** Director + real monitor + real embedded engine for one virtual with one real. */
async function startStack(realEndpoint: string, weight: number, checkOver: Partial<CheckConfig>) {
  const vport = await freePort(VIP);
  const vs = virtual(`${VIP}:${vport}`, [real(realEndpoint, { weight })], { quiescent: true, check: check({ intervalMs: 100, timeoutMs: 2000, ...checkOver }) });
  const logger = new MemoryLogger();
  const engine = new EmbeddedEngine({ clock: systemClock, logger });
  const health = createHealthMonitor({ clock: systemClock, logger, random: () => 0 });
  const director = new Director({ config: cluster([vs]), engine, health, clock: systemClock, logger, maintenanceDir: null, tickMs: 50 });
  await director.start();
  return {
    director,
    engineWeight: (): number | undefined => engine.stats().services[0]?.reals.find((r) => r.key === realEndpoint && !r.isFallback)?.weight,
    status: () => director.status().virtuals[0]?.reals[0],
  };
}

describe('director integration: weights from checks (misc_dynamic, agent percentages)', function () {
  this.timeout(20_000);
  let dir: string;
  let script: string;
  const directors: Director[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'directord-dyn-'));
    script = join(dir, 'exit7.sh');
    writeFileSync(script, '#!/bin/sh\n# argv: VIP VPORT RIP RPORT (ldirectord contract)\necho "load high for $3:$4"\nexit 7\n');
    chmodSync(script, 0o755);
  });
  afterEach(async () => {
    for (const d of directors.splice(0)) await d.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the external checker honours CheckConfig.dynamic: exit 7 is up at weight 5 with it, down without', async () => {
    const checker = createExternalChecker({ perl: false });
    const target = checkTarget('127.60.1.1', 8080);
    const dyn = await checker.run(target, checkConfig({ type: 'external', command: [script], dynamic: true }), new AbortController().signal);
    assert.deepEqual([dyn.ok, dyn.weight], [true, 5], dyn.detail);
    assert.match(dyn.detail, /exited 7 \(weight 5\): load high for 127\.60\.1\.1:8080/);
    const plain = await checker.run(target, checkConfig({ type: 'external', command: [script] }), new AbortController().signal);
    assert.deepEqual([plain.ok, plain.weight], [false, undefined], plain.detail);
    assert.match(plain.detail, /exited 7/);
  });

  it('dynamic: the director hands weight exit - 2 = 5 to the embedded engine; without dynamic the real is down (weight 0)', async () => {
    const withDyn = await startStack('127.60.1.1:8080', 10, { type: 'external', command: [script], dynamic: true });
    directors.push(withDyn.director);
    await waitFor('weight 5 in the engine', 5000, () => withDyn.engineWeight() === 5);
    assert.equal(withDyn.status()?.health, 'up');
    assert.equal(withDyn.status()?.configuredWeight, 10);
    assert.equal(withDyn.status()?.checkWeight, 5);

    const without = await startStack('127.60.1.2:8080', 10, { type: 'external', command: [script] });
    directors.push(without.director);
    await waitFor('checked down', 5000, () => without.status()?.health === 'down');
    assert.equal(without.engineWeight(), 0, 'ldirectord rule: non-zero exit = down, quiesced');
  });

  it('agent: a real TCP agent saying "up 75%" gives 10 x 75 / 100 rounded down = 7, "0%" quiesces, "up" restores 10', async () => {
    let reply = 'up 75%';
    const agentHost = '127.60.2.1';
    const agent: Server = createServer((sock) => {
      sock.on('error', () => undefined);
      sock.end(`${reply}\n`);
    });
    await new Promise<void>((r) => agent.listen(0, agentHost, r));
    try {
      const agentPort = (agent.address() as { port: number }).port;
      const stack = await startStack(`${agentHost}:8080`, 10, { type: 'agent', agentPort });
      directors.push(stack.director);
      await waitFor('weight 7 in the engine', 5000, () => stack.engineWeight() === 7);
      assert.equal(stack.status()?.health, 'up');
      reply = '0%';
      await waitFor('weight 0 in the engine', 5000, () => stack.engineWeight() === 0);
      assert.equal(stack.status()?.health, 'up', '0% is quiesced, not down');
      reply = 'ready 150%';
      await waitFor('weight 15 in the engine', 5000, () => stack.engineWeight() === 15);
      reply = 'up';
      await waitFor('configured weight 10 in the engine', 5000, () => stack.engineWeight() === 10);
      reply = 'down # maintenance';
      await waitFor('down', 5000, () => stack.status()?.health === 'down');
      assert.equal(stack.engineWeight(), 0);
    } finally {
      await new Promise<void>((r) => agent.close(() => r()));
    }
  });
});
