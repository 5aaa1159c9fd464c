import assert from 'node:assert/strict';
import { ManualClock, SystemClock } from '../../../src/core/clock.js';
import { formatDurationMs, parseDurationMs, tryParseDurationMs } from '../../../src/core/duration.js';

describe('core/duration', () => {
  it('reads bare numbers as seconds and accepts units', () => {
    assert.equal(parseDurationMs('10'), 10_000);
    assert.equal(parseDurationMs('0.5'), 500);
    assert.equal(parseDurationMs('250ms'), 250);
    assert.equal(parseDurationMs('2m'), 120_000);
    assert.equal(parseDurationMs('1h'), 3_600_000);
    assert.equal(parseDurationMs(3), 3000);
    for (const bad of ['-1', '5 sec', '', 'ms', '1.s']) assert.equal(tryParseDurationMs(bad), undefined, bad);
    assert.throws(() => parseDurationMs('x'), /invalid duration/);
  });

  it('formats for humans', () => {
    assert.equal(formatDurationMs(250), '250ms');
    assert.equal(formatDurationMs(1500), '1.5s');
    assert.equal(formatDurationMs(5_400_000), '1h30m');
  });
});

describe('core/clock', () => {
  it('ManualClock fires timers in due order during advance', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b@20'), 20);
    clock.setTimeout(() => fired.push('a@10'), 10);
    const iv = clock.setInterval(() => fired.push(`i@${clock.now()}`), 15);
    clock.advance(31);
    assert.deepEqual(fired, ['a@10', 'i@15', 'b@20', 'i@30']);
    iv.cancel();
    assert.equal(clock.pendingTimers(), 0);
    assert.equal(clock.now(), 31);
  });

  it('ManualClock runs timers scheduled by firing timers within the same advance', () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 5);
    }, 10);
    clock.advance(20);
    assert.deepEqual(fired, [10, 15]);
    assert.equal(clock.advanceToNext(), false);
  });

  it('cancelled timers do not fire', () => {
    const clock = new ManualClock();
    let n = 0;
    const t = clock.setTimeout(() => n++, 5);
    t.cancel();
    t.cancel();
    clock.advance(10);
    assert.equal(n, 0);
  });

  it('SystemClock timers fire and cancel', async () => {
    const clock = new SystemClock();
    const start = clock.now();
    await new Promise<void>((resolve) => clock.setTimeout(resolve, 5));
    assert.ok(clock.now() - start >= 4);
    let n = 0;
    clock.setTimeout(() => n++, 1).cancel();
    await new Promise<void>((resolve) => clock.setTimeout(resolve, 10));
    assert.equal(n, 0);
  });
});
