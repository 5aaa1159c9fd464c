import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/core/clock.js';
import { MemoryLogger } from '../../../src/core/logger.js';
import type { CheckConfig } from '../../../src/config/model.js';
import { createHealthMonitor, fastIntervalMs } from '../../../src/health/monitor.js';
import type { CheckResult, CheckTarget, Checker, HealthMonitor, HealthTransition } from '../../../src/health/types.js';
import { checkConfig, healthTarget } from './fixtures.js';

/** Lets promise callbacks run (checker results, monitor bookkeeping). */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
  await new Promise((r) => setImmediate(r));
}

/** A checker whose answer per address is set by the test; it records every call with the clock time. */
class ScriptedChecker implements Checker {
  readonly calls: { address: string; at: number; virtualAddress?: string }[] = [];
  readonly answers = new Map<string, CheckResult | 'hang'>();

  constructor(private readonly clock: ManualClock) {}

  set(address: string, ok: boolean | 'hang', extra: Partial<CheckResult> = {}): void {
    this.answers.set(address, ok === 'hang' ? 'hang' : { ok, detail: ok ? 'fake ok' : 'fake fail', durationMs: 1, ...extra });
  }

  run(target: CheckTarget, _check: CheckConfig, signal: AbortSignal): Promise<CheckResult> {
    this.calls.push({ address: target.address, at: this.clock.now(), virtualAddress: target.virtualAddress });
    const a = this.answers.get(target.address) ?? { ok: true, detail: 'fake ok', durationMs: 1 };
    if (a === 'hang') {
      // Never resolves on its own; honours abort as a real checker must (but late, to prove the deadline).
      return new Promise(() => {
        signal.addEventListener('abort', () => undefined);
      });
    }
    return Promise.resolve(a);
  }

  callsFor(address: string): number[] {
    return this.calls.filter((c) => c.address === address).map((c) => c.at);
  }
}

describe('health/monitor (ManualClock)', () => {
  let clock: ManualClock;
  let fake: ScriptedChecker;
  let monitor: HealthMonitor;
  let transitions: HealthTransition[];

  const make = (options: { random?: () => number; maxConcurrent?: number } = {}): HealthMonitor => {
    const m = createHealthMonitor({ clock, logger: new MemoryLogger(), checkers: { connect: fake }, ...options });
    m.onTransition((t) => transitions.push(t));
    return m;
  };

  /** Advances in small steps so promise work between timers gets to run. */
  const step = async (ms: number, by = 100): Promise<void> => {
    for (let t = 0; t < ms; t += by) {
      clock.advance(Math.min(by, ms - t));
      await flush();
    }
  };

  /** Fires timers due now (time does not move). */
  const kick = async (): Promise<void> => {
    clock.advance(0);
    await flush();
  };

  beforeEach(() => {
    clock = new ManualClock();
    fake = new ScriptedChecker(clock);
    transitions = [];
  });
  afterEach(() => monitor?.destroy());

  it('starts down (default initial state), checks at once, and goes up on the first success', async () => {
    monitor = make();
    const check = checkConfig({ riseCount: 3 });
    monitor.setTargets([healthTarget('tcp:192.0.2.1:80', '10.0.0.1', 80, check)]);
    assert.equal(monitor.snapshot('tcp:192.0.2.1:80/10.0.0.1:80')?.status, 'down');
    monitor.start();
    await kick();
    assert.deepEqual(fake.callsFor('10.0.0.1'), [0]);
    assert.equal(transitions.length, 1);
    assert.deepEqual([transitions[0]?.from, transitions[0]?.to], ['down', 'up']);
    const snap = monitor.snapshot('tcp:192.0.2.1:80/10.0.0.1:80');
    assert.equal(snap?.status, 'up');
    assert.equal(snap?.consecutiveOk, 1);
    assert.equal(snap?.lastCheckedAt, 0);
  });

  it('onResult reports every completed check, transitions or not (monitorfile)', async () => {
    monitor = make();
    const results: { key: string; ok: boolean; at: number }[] = [];
    const off = monitor.onResult?.((e) => results.push({ key: e.key, ok: e.result.ok, at: e.at }));
    assert.ok(off, 'the monitor offers onResult');
    monitor.setTargets([healthTarget('v', '10.0.0.9', 80, checkConfig({ intervalMs: 1000 }))]);
    monitor.start();
    await kick();
    await step(2000);
    fake.set('10.0.0.9', false);
    await step(1000);
    assert.deepEqual(
      results.map((r) => [r.key, r.ok, r.at]),
      [
        ['v/10.0.0.9:80', true, 0],
        ['v/10.0.0.9:80', true, 1000],
        ['v/10.0.0.9:80', true, 2000],
        ['v/10.0.0.9:80', false, 3000],
      ],
    );
    assert.equal(transitions.length, 2, 'down->up, then up->down: results are not transitions');
    off?.();
    await step(1000);
    assert.equal(results.length, 4, 'unsubscribed');
  });

  it('initialState up: stays up through the first failures until failureCount', async () => {
    monitor = make();
    fake.set('10.0.0.2', false);
    monitor.setTargets([healthTarget('v', '10.0.0.2', 80, checkConfig({ initialState: 'up', failureCount: 2, intervalMs: 4000 }))]);
    monitor.start();
    await kick();
    assert.equal(monitor.snapshot('v/10.0.0.2:80')?.status, 'up');
    assert.equal(transitions.length, 0);
    await step(fastIntervalMs(4000));
    assert.equal(monitor.snapshot('v/10.0.0.2:80')?.status, 'down');
    assert.equal(transitions.length, 1);
  });

  it('fall: failureCount consecutive failures take an up target down, re-checking at the fast interval', async () => {
    monitor = make();
    const check = checkConfig({ failureCount: 3, intervalMs: 10_000 });
    monitor.setTargets([healthTarget('v', '10.0.0.3', 80, check)]);
    monitor.start();
    await kick();
    assert.equal(monitor.snapshot('v/10.0.0.3:80')?.status, 'up');
    await step(10_000);
    assert.deepEqual(fake.callsFor('10.0.0.3'), [0, 10_000]);
    fake.set('10.0.0.3', false);
    await step(10_000); // failure 1 at 20000
    assert.equal(monitor.snapshot('v/10.0.0.3:80')?.consecutiveFail, 1);
    assert.equal(monitor.snapshot('v/10.0.0.3:80')?.status, 'up');
    const fast = fastIntervalMs(10_000);
    assert.equal(fast, 2500);
    await step(fast); // failure 2 at 22500
    await step(fast); // failure 3 at 25000 → down
    assert.deepEqual(fake.callsFor('10.0.0.3'), [0, 10_000, 20_000, 22_500, 25_000]);
    assert.equal(monitor.snapshot('v/10.0.0.3:80')?.status, 'down');
    const down = transitions.at(-1);
    assert.deepEqual([down?.from, down?.to, down?.at], ['up', 'down', 25_000]);
    // Once settled down, back to the normal interval.
    await step(10_000);
    assert.deepEqual(fake.callsFor('10.0.0.3').slice(5), [35_000]);
  });

  it('a success between failures resets the count (no down)', async () => {
    monitor = make();
    monitor.setTargets([healthTarget('v', '10.0.0.4', 80, checkConfig({ failureCount: 2, intervalMs: 1000 }))]);
    monitor.start();
    await kick();
    for (const ok of [false, true, false, true, false]) {
      fake.set('10.0.0.4', ok);
      await step(1000);
    }
    assert.equal(monitor.snapshot('v/10.0.0.4:80')?.status, 'up');
    assert.equal(transitions.filter((t) => t.to === 'down').length, 0);
  });

  it('rise: riseCount consecutive successes bring a down target up', async () => {
    monitor = make();
    fake.set('10.0.0.5', false);
    monitor.setTargets([healthTarget('v', '10.0.0.5', 80, checkConfig({ riseCount: 3, intervalMs: 8000 }))]);
    monitor.start();
    await kick();
    assert.equal(monitor.snapshot('v/10.0.0.5:80')?.status, 'down');
    fake.set('10.0.0.5', true);
    await step(8000); // ok 1
    assert.equal(monitor.snapshot('v/10.0.0.5:80')?.status, 'down');
    await step(fastIntervalMs(8000)); // ok 2 (fast while rising)
    assert.equal(monitor.snapshot('v/10.0.0.5:80')?.status, 'down');
    await step(fastIntervalMs(8000)); // ok 3
    assert.equal(monitor.snapshot('v/10.0.0.5:80')?.status, 'up');
    assert.deepEqual(fake.callsFor('10.0.0.5'), [0, 8000, 10_000, 12_000]);
  });

  it('jitter: the first run and every interval are spread within [0, jitterMs)', async () => {
    let r = 0.999;
    monitor = make({ random: () => r });
    monitor.setTargets([healthTarget('v', '10.0.0.6', 80, checkConfig({ intervalMs: 1000, jitterMs: 400 }))]);
    monitor.start();
    assert.equal(clock.nextDueIn(), 399);
    r = 0;
    await step(400, 1);
    assert.deepEqual(fake.callsFor('10.0.0.6'), [399]);
    assert.equal(clock.nextDueIn(), 1000 - 1); // started at 399, due at 1399, now 400
    r = 0.5;
    await step(1000, 1);
    assert.deepEqual(fake.callsFor('10.0.0.6'), [399, 1399]);
    await step(1200, 1);
    assert.deepEqual(fake.callsFor('10.0.0.6'), [399, 1399, 2599]);
  });

  it('identical checks on different virtuals run once and feed both', async () => {
    monitor = make();
    const check = checkConfig({ intervalMs: 1000 });
    const a = healthTarget('tcp:192.0.2.1:80', '10.0.0.7', 80, check, { virtualAddress: '192.0.2.1' });
    const b = healthTarget('tcp:192.0.2.2:80', '10.0.0.7', 80, check, { virtualAddress: '192.0.2.2' });
    const other = healthTarget('tcp:192.0.2.2:80', '10.0.0.8', 80, check);
    monitor.setTargets([a, b, other]);
    monitor.start();
    await step(3001, 1000);
    assert.equal(fake.callsFor('10.0.0.7').length, 4);
    assert.equal(fake.callsFor('10.0.0.8').length, 4);
    assert.deepEqual(transitions.map((t) => t.key).sort(), [a.key, b.key, other.key].sort());
    assert.equal(monitor.snapshot(a.key)?.lastCheckedAt, monitor.snapshot(b.key)?.lastCheckedAt);
  });

  it('external checks are not shared across virtuals (their arguments name the virtual)', async () => {
    monitor = createHealthMonitor({ clock, logger: new MemoryLogger(), checkers: { external: fake } });
    const check = checkConfig({ type: 'external', command: ['/bin/true'] });
    monitor.setTargets([
      healthTarget('a', '10.0.0.9', 80, check, { virtualAddress: '192.0.2.1' }),
      healthTarget('b', '10.0.0.9', 80, check, { virtualAddress: '192.0.2.2' }),
    ]);
    monitor.start();
    await kick();
    assert.deepEqual(fake.calls.map((c) => c.virtualAddress).sort(), ['192.0.2.1', '192.0.2.2']);
  });

  it('setTargets reconciles: unchanged targets keep state and schedule, removed ones stop, no timers leak', async () => {
    monitor = make();
    const check = checkConfig({ intervalMs: 1000 });
    const a = healthTarget('v', '10.0.1.1', 80, check);
    const b = healthTarget('v', '10.0.1.2', 80, check);
    monitor.setTargets([a, b]);
    monitor.start();
    await kick();
    assert.equal(clock.pendingTimers(), 2);
    const before = fake.calls.length;
    // Same targets again (fresh objects, equal content): no re-check, no state reset.
    monitor.setTargets([healthTarget('v', '10.0.1.1', 80, checkConfig({ intervalMs: 1000 })), b]);
    await flush();
    assert.equal(fake.calls.length, before);
    assert.equal(monitor.snapshot(a.key)?.status, 'up');
    assert.equal(monitor.snapshot(a.key)?.consecutiveOk, 1);
    assert.equal(clock.nextDueIn(), 1000);
    // Remove b: its timer goes away.
    monitor.setTargets([a]);
    assert.equal(clock.pendingTimers(), 1);
    assert.equal(monitor.snapshot(b.key), undefined);
    await step(1000);
    assert.equal(fake.callsFor('10.0.1.2').length, 1);
    assert.equal(fake.callsFor('10.0.1.1').length, 2);
    // Changed check parameters: keeps status, new schedule.
    monitor.setTargets([{ ...a, check: checkConfig({ intervalMs: 5000, failureCount: 3 }) }]);
    assert.equal(monitor.snapshot(a.key)?.status, 'up');
    monitor.setTargets([]);
    assert.equal(clock.pendingTimers(), 0);
    assert.equal(monitor.snapshots().length, 0);
  });

  it('a restored initial state is kept without flapping (dampening applies to it)', async () => {
    monitor = make();
    fake.set('10.0.2.1', false);
    const t = healthTarget('v', '10.0.2.1', 80, checkConfig({ failureCount: 2, intervalMs: 1000 }));
    monitor.setTargets([t], new Map([[t.key, 'up']]));
    assert.equal(monitor.snapshot(t.key)?.status, 'up');
    monitor.start();
    await kick();
    assert.equal(monitor.snapshot(t.key)?.status, 'up'); // one failure is a soft failure
    assert.equal(transitions.length, 0);
    // Restored 'down' with riseCount 2 needs two successes (not provisional).
    const u = healthTarget('v', '10.0.2.2', 80, checkConfig({ riseCount: 2, intervalMs: 1000 }));
    monitor.setTargets([t, u], new Map([[u.key, 'down']]));
    await kick();
    assert.equal(monitor.snapshot(u.key)?.status, 'down');
    await step(1000);
    assert.equal(monitor.snapshot(u.key)?.status, 'up');
  });

  it('a hung check times out at its deadline and does not delay other checks', async () => {
    monitor = createHealthMonitor({ clock, logger: new MemoryLogger(), checkers: { connect: fake }, deadlineGraceMs: 500 });
    monitor.onTransition((t) => transitions.push(t));
    fake.set('10.0.3.1', 'hang');
    const hung = healthTarget('v', '10.0.3.1', 80, checkConfig({ intervalMs: 1000, timeoutMs: 3000, initialState: 'up' }));
    const fast = healthTarget('v', '10.0.3.2', 80, checkConfig({ intervalMs: 1000 }));
    monitor.setTargets([hung, fast]);
    monitor.start();
    await step(5000, 50);
    assert.deepEqual(fake.callsFor('10.0.3.2'), [0, 1000, 2000, 3000, 4000, 5000]);
    assert.deepEqual(fake.callsFor('10.0.3.1'), [0, 3500]); // deadline 3000+500, then re-run at once
    const snap = monitor.snapshot(hung.key);
    assert.equal(snap?.status, 'down');
    assert.match(snap?.lastResult?.detail ?? '', /timed out after 3500 ms/);
  });

  it('the concurrency bound queues checks instead of starting them all at once', async () => {
    monitor = make({ maxConcurrent: 2 });
    for (const a of ['10.0.4.1', '10.0.4.2', '10.0.4.3']) fake.set(a, 'hang');
    fake.set('10.0.4.4', true);
    monitor.setTargets(['10.0.4.1', '10.0.4.2', '10.0.4.3', '10.0.4.4'].map((a) => healthTarget('v', a, 80, checkConfig({ timeoutMs: 1000 }))));
    monitor.start();
    await kick();
    assert.equal(fake.calls.length, 2);
    await step(2100, 50); // the two hung ones hit their deadline (1000 + 1000 grace), the queue moves on
    assert.ok(fake.callsFor('10.0.4.4').length >= 1);
  });

  it('checks that run programs have their own smaller bound', async () => {
    monitor = createHealthMonitor({ clock, logger: new MemoryLogger(), checkers: { external: fake, connect: fake }, maxConcurrentProcesses: 1 });
    fake.set('10.0.4.5', 'hang');
    fake.set('10.0.4.6', 'hang');
    monitor.setTargets([
      healthTarget('v', '10.0.4.5', 80, checkConfig({ type: 'external', command: ['/bin/true'] })),
      healthTarget('v', '10.0.4.6', 80, checkConfig({ type: 'external', command: ['/bin/true'] })),
      healthTarget('v', '10.0.4.7', 80, checkConfig()),
    ]);
    monitor.start();
    await kick();
    assert.deepEqual(fake.calls.map((c) => c.address).sort(), ['10.0.4.5', '10.0.4.7']);
  });

  it('reports a weight or drain change as a transition with from === to', async () => {
    monitor = make();
    fake.set('10.0.5.1', true, { weight: 50 });
    const t = healthTarget('v', '10.0.5.1', 80, checkConfig({ intervalMs: 1000 }));
    monitor.setTargets([t]);
    monitor.start();
    await kick();
    assert.equal(monitor.snapshot(t.key)?.dynamicWeight, 50);
    fake.set('10.0.5.1', true, { weight: 50 });
    await step(1000);
    assert.equal(transitions.length, 1);
    fake.set('10.0.5.1', true, { weight: 10, drain: true });
    await step(1000);
    assert.equal(transitions.length, 2);
    assert.deepEqual([transitions[1]?.from, transitions[1]?.to, transitions[1]?.result.weight], ['up', 'up', 10]);
    assert.equal(monitor.snapshot(t.key)?.drain, true);
    fake.set('10.0.5.1', true, { weightPercent: 75 });
    await step(1000);
    assert.equal(transitions.length, 3);
    assert.equal(monitor.snapshot(t.key)?.dynamicWeightPercent, 75);
    assert.equal(monitor.snapshot(t.key)?.dynamicWeight, undefined);
  });

  it('checkNow runs the check outside the schedule and applies it', async () => {
    monitor = make();
    const t = healthTarget('v', '10.0.6.1', 80, checkConfig({ intervalMs: 10_000 }));
    monitor.setTargets([t]);
    monitor.start();
    await kick();
    fake.set('10.0.6.1', false, { detail: 'refused' });
    const r = await monitor.checkNow(t.key);
    assert.equal(r.ok, false);
    assert.equal(monitor.snapshot(t.key)?.status, 'down');
    const missing = await monitor.checkNow('nope');
    assert.equal(missing.ok, false);
  });

  it('close() waits for running checks and leaves no timers; destroy() is immediate', async () => {
    monitor = make();
    monitor.setTargets([healthTarget('v', '10.0.7.1', 80, checkConfig())]);
    monitor.start();
    await kick();
    await monitor.close();
    await monitor.close();
    assert.equal(clock.pendingTimers(), 0);
    const other = make();
    fake.set('10.0.7.2', 'hang');
    other.setTargets([healthTarget('v', '10.0.7.2', 80, checkConfig())]);
    other.start();
    await kick();
    assert.equal(clock.pendingTimers(), 1); // the hung run's deadline
    other.destroy();
    assert.equal(clock.pendingTimers(), 0);
  });
});
