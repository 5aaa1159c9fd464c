import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/core/clock.js';
import { Notifier, notifyCommands, notifyFifoLine, notifyStateFor } from '../../../src/vrrp/notify.js';

describe('vrrp/notify (keepalived-spec 3.5)', () => {
  const config = {
    master: ['/etc/ka/master.sh', 'arg1', 'arg two'],
    backup: ['/etc/ka/backup.sh'],
    stop: ['/etc/ka/stop.sh'],
    any: ['/etc/ka/notify.sh'],
  };

  it('specific script with its own arguments first, then the generic one with 4 extra arguments', () => {
    assert.deepEqual(notifyCommands(config, { kind: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 160 }), [
      ['/etc/ka/master.sh', 'arg1', 'arg two'],
      ['/etc/ka/notify.sh', 'INSTANCE', 'VI_1', 'MASTER', '160'],
    ]);
    // Verified keepalived args at startup: INSTANCE VI_1 BACKUP 100.
    assert.deepEqual(notifyCommands(config, { kind: 'INSTANCE', name: 'VI_1', state: 'BACKUP', priority: 100 })[1], ['/etc/ka/notify.sh', 'INSTANCE', 'VI_1', 'BACKUP', '100']);
    // No notify_fault configured: only the generic script.
    assert.deepEqual(notifyCommands(config, { kind: 'INSTANCE', name: 'VI_1', state: 'FAULT', priority: 100 }), [['/etc/ka/notify.sh', 'INSTANCE', 'VI_1', 'FAULT', '100']]);
    // Groups pass priority 0.
    assert.deepEqual(notifyCommands({ any: ['/n'] }, { kind: 'GROUP', name: 'G1', state: 'MASTER', priority: 150 }), [['/n', 'GROUP', 'G1', 'MASTER', '0']]);
    assert.deepEqual(notifyCommands({}, { kind: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 1 }), []);
  });

  it('FIFO lines are byte-identical to keepalived\'s', () => {
    assert.equal(notifyFifoLine('INSTANCE', 'VI_1', 'MASTER', 160), 'INSTANCE "VI_1" MASTER 160\n');
    assert.equal(notifyFifoLine('INSTANCE', 'VI_1', 'BACKUP', 100), 'INSTANCE "VI_1" BACKUP 100\n');
    assert.equal(notifyFifoLine('GROUP', 'G1', 'BACKUP', 77), 'GROUP "G1" BACKUP 0\n');
    assert.equal(notifyFifoLine('INSTANCE', 'VI_1', 'MASTER_RX_LOWER_PRI', 150), 'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150\n');
  });

  it('maps a stop (→ INIT) to STOP', () => {
    assert.equal(notifyStateFor('INIT'), 'STOP');
    assert.equal(notifyStateFor('FAULT'), 'FAULT');
  });

  it('Notifier: FIFO line first, scripts fire-and-forget; STOP waits for the scripts at most stopWaitMs', async () => {
    const clock = new ManualClock();
    const lines: string[] = [];
    const runs: { argv: readonly string[]; done: () => void }[] = [];
    const n = new Notifier({
      clock,
      writeFifo: (l) => lines.push(l),
      run: (argv) => new Promise<void>((resolve) => runs.push({ argv, done: resolve })),
    });
    await n.notify(config, { kind: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 160 }); // resolves without the scripts
    assert.deepEqual(lines, ['INSTANCE "VI_1" MASTER 160\n']);
    assert.equal(runs.length, 2);
    let stopped = false;
    const p = n.notify(config, { kind: 'INSTANCE', name: 'VI_1', state: 'STOP', priority: 160 }).then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(stopped, false);
    clock.advance(1000);
    await p;
    assert.equal(stopped, true);
    // STOP resolves early when the scripts exit.
    let early = false;
    const q = n.notify(config, { kind: 'INSTANCE', name: 'VI_1', state: 'STOP', priority: 1 }).then(() => (early = true));
    for (const r of runs.slice(4)) r.done();
    await q;
    assert.equal(early, true);
    assert.equal(clock.pendingTimers(), 0);
  });
});
