import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../src/core/clock.js';
import { DirectorError } from '../../../src/core/errors.js';
import { MemoryLogger } from '../../../src/core/logger.js';
import { MemoryRawNet } from '../../../src/sys/rawnet-memory.js';
import { decodeVrrp } from '../../../src/vrrp/codec.js';
import { createVrrpController } from '../../../src/vrrp/controller.js';
import type { VrrpStateChange } from '../../../src/vrrp/types.js';
import { expandSettings, type RunnerConfig } from '../../netns/runner-config.js';
import { MemoryAddressOps } from './io-fakes.js';

function setup(config: RunnerConfig, scriptResults: number[] = []) {
  const clock = new ManualClock();
  const rawnet = new MemoryRawNet();
  rawnet.addInterface('eth0', 2, '02:00:00:00:00:02', [{ family: 4, address: '10.9.0.2', prefixLength: 24 }]);
  rawnet.addInterface('eth1', 3, '02:00:00:00:01:02', [{ family: 4, address: '10.9.1.2', prefixLength: 24 }]);
  const ops = new MemoryAddressOps();
  const notified: string[][] = [];
  const scriptRuns: string[][] = [];
  const controller = createVrrpController({
    settings: expandSettings(config),
    clock,
    logger: new MemoryLogger(),
    rawnet,
    addressOps: ops,
    runNotify: async (argv) => {
      notified.push([...argv]);
    },
    runTrackScript: async (argv) => {
      scriptRuns.push([...argv]);
      return { exitCode: scriptResults.shift() ?? 0 };
    },
  });
  const changes: VrrpStateChange[] = [];
  controller.onStateChange((c) => changes.push(c));
  return { clock, rawnet, ops, controller, changes, notified, scriptRuns };
}

const flush = () => new Promise((r) => setImmediate(r));
const vi = (name: string, iface: string, vrid: number, vip: string, extra = {}) => ({ name, interface: iface, vrid, priority: 150, vips: [vip], ...extra });

describe('vrrp/controller', () => {
  it('runs every instance, reports status, and notifies with keepalived generic-notify arguments', async () => {
    const { controller, clock, changes, notified } = setup({ instances: [vi('VI_1', 'eth0', 51, '10.9.0.50/24', { notify: { any: ['/bin/notify.sh'] } })] });
    await controller.start();
    assert.deepEqual(controller.status().map((s) => [s.name, s.state]), [['VI_1', 'BACKUP']]);
    clock.advance(3500);
    assert.equal(controller.status()[0]?.state, 'MASTER');
    assert.deepEqual(changes.map((c) => `${c.from}>${c.to}`), ['INIT>BACKUP', 'BACKUP>MASTER']);
    await flush();
    assert.deepEqual(notified, [
      ['/bin/notify.sh', 'INSTANCE', 'VI_1', 'BACKUP', '150'],
      ['/bin/notify.sh', 'INSTANCE', 'VI_1', 'MASTER', '150'],
    ]);
    await controller.close();
    assert.deepEqual(notified.at(-1), ['/bin/notify.sh', 'INSTANCE', 'VI_1', 'STOP', '150']);
  });

  it('an interface losing carrier puts its instance in FAULT (priority 0 first when MASTER), recovery returns to BACKUP', async () => {
    const { controller, clock, rawnet, ops } = setup({ instances: [vi('VI_1', 'eth0', 51, '10.9.0.50/24')] });
    await controller.start();
    clock.advance(3500);
    assert.equal(ops.table.length, 1);
    const before = rawnet.sent.length;
    rawnet.setUp('eth0', false);
    clock.advance(300);
    assert.equal(controller.status()[0]?.state, 'FAULT');
    assert.equal(ops.table.length, 0, 'VIP removed in FAULT');
    const zero = rawnet.sent.slice(before).flatMap((s) => (s.kind === 'vrrp' ? [decodeVrrp(s.payload, 4).priority] : []));
    assert.deepEqual(zero, [0]);
    rawnet.setUp('eth0', true);
    clock.advance(300);
    assert.equal(controller.status()[0]?.state, 'BACKUP');
    controller.destroy();
  });

  it('sync group: one member faulting drags the other out of MASTER; VIPs on both interfaces go together', async () => {
    const { controller, clock, rawnet, ops } = setup({
      instances: [vi('VI_1', 'eth0', 51, '10.9.0.50/24'), vi('VI_2', 'eth1', 52, '10.9.1.50/24')],
      syncGroups: [{ name: 'G1', instances: ['VI_1', 'VI_2'] }],
    });
    await controller.start();
    clock.advance(3500);
    assert.deepEqual(controller.status().map((s) => s.state), ['MASTER', 'MASTER']);
    assert.equal(ops.table.length, 2);
    rawnet.setUp('eth1', false);
    clock.advance(300);
    assert.deepEqual(controller.status().map((s) => s.state), ['FAULT', 'FAULT']);
    assert.equal(ops.table.length, 0);
    controller.destroy();
  });

  it('track_script weight lowers the effective priority after `fall` failures (keepalived-spec 3.3)', async () => {
    const { controller, clock, scriptRuns } = setup(
      {
        instances: [vi('VI_1', 'eth0', 51, '10.9.0.50/24', { trackScripts: [{ name: 'chk' }] })],
        scripts: [{ name: 'chk', command: ['/usr/local/bin/chk', '--quick'], interval: 1, weight: -60, fall: 2 }],
      },
      [0, 1, 1, 1],
    );
    await controller.start();
    await flush();
    assert.deepEqual(scriptRuns[0], ['/usr/local/bin/chk', '--quick']);
    assert.equal(controller.status()[0]?.effectivePriority, 150);
    clock.advance(1000);
    await flush();
    assert.equal(controller.status()[0]?.effectivePriority, 150, 'one failure is not enough with fall 2');
    clock.advance(1000);
    await flush();
    assert.equal(controller.status()[0]?.effectivePriority, 90);
    controller.destroy();
  });

  it('notify_fifo gets one keepalived-format line per transition (keepalived-spec 3.5)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrrp-fifo-'));
    const fifo = join(dir, 'notify');
    try {
      const { controller, clock } = setup({ instances: [vi('VI_1', 'eth0', 51, '10.9.0.50/24', { notifyFifo: fifo })] });
      await controller.start();
      clock.advance(3500);
      await controller.close();
      assert.equal(readFileSync(fifo, 'utf8'), 'INSTANCE "VI_1" BACKUP 150\nINSTANCE "VI_1" MASTER 150\nINSTANCE "VI_1" STOP 150\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a VIP deleted behind our back while MASTER drops the instance to BACKUP; the next takeover re-adds it (keepalived-spec 2.3)', async () => {
    const { controller, clock, ops, changes } = setup({ instances: [vi('VI_1', 'eth0', 51, '10.9.0.50/24')] });
    await controller.start();
    clock.advance(3500);
    assert.equal(controller.status()[0]?.state, 'MASTER');
    ops.table.splice(0);
    clock.advance(300);
    assert.equal(controller.status()[0]?.state, 'BACKUP');
    assert.match(changes.at(-1)?.reason ?? '', /removed externally/);
    clock.advance(4000);
    assert.equal(controller.status()[0]?.state, 'MASTER');
    assert.equal(ops.table.length, 1, 'VIP re-added on the new takeover');
    controller.destroy();
  });

  it('relinquish of an unknown instance is a coded error; close is idempotent', async () => {
    const { controller } = setup({ instances: [vi('VI_1', 'eth0', 51, '10.9.0.50/24')] });
    await controller.start();
    await assert.rejects(controller.relinquish('VI_9'), (e: unknown) => e instanceof DirectorError && e.code === 'DIR_ERR_VRRP_UNAVAILABLE');
    await controller.close();
    await controller.close();
  });
});
