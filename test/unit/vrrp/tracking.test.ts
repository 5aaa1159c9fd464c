import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/core/clock.js';
import { MemoryLogger } from '../../../src/core/logger.js';
import type { VrrpScriptConfig } from '../../../src/config/model.js';
import { VrrpStateMachine } from '../../../src/vrrp/state-machine.js';
import { fileContribution, InstanceTracking, ScriptTracker, weightContribution, type ScriptRunResult } from '../../../src/vrrp/tracking.js';
import { instanceConfig } from './helpers.js';

function script(o: Partial<VrrpScriptConfig> = {}): VrrpScriptConfig {
  return { name: 'chk', command: ['/bin/true'], intervalMs: 2000, timeoutMs: 1000, rise: 1, fall: 1, weight: 0, location: { file: 't', line: 1, column: 1 }, ...o };
}

/** A runner whose runs the test settles by hand. */
function manualRunner() {
  const pending: { argv: readonly string[]; timeoutMs: number; settle: (r: ScriptRunResult) => void }[] = [];
  const run = (argv: readonly string[], timeoutMs: number) =>
    new Promise<ScriptRunResult>((resolve) => pending.push({ argv, timeoutMs, settle: resolve }));
  return { pending, run };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('vrrp/tracking: vrrp_script hysteresis (keepalived-spec 3.3)', () => {
  it('rise 2 / fall 3: fall consecutive failures to go KO, rise successes to go OK', () => {
    const changes: boolean[] = [];
    const t = new ScriptTracker({ script: script({ rise: 2, fall: 3 }), clock: new ManualClock(), run: manualRunner().run, onChange: (x) => changes.push(x.ok) });
    assert.equal(t.counter, 1); // rise − 1: one success is enough at startup
    assert.equal(t.known, false);
    t.report(true);
    assert.equal(t.ok, true);
    assert.equal(t.counter, 4); // jumps to the top
    t.report(false);
    t.report(false);
    assert.equal(t.ok, true); // 2 failures < fall 3
    t.report(false);
    assert.equal(t.ok, false);
    assert.equal(t.counter, 0);
    t.report(true);
    assert.equal(t.ok, false); // 1 success < rise 2
    t.report(true);
    assert.equal(t.ok, true);
    // A success in the middle of a failure run resets it to the top.
    t.report(false);
    t.report(false);
    t.report(true);
    t.report(false);
    t.report(false);
    assert.equal(t.ok, true);
    assert.deepEqual(changes, [true, false, true]);
  });

  it('the first failure at startup is reported at once; init_fail starts failed', () => {
    const known: boolean[] = [];
    const t = new ScriptTracker({ script: script({ rise: 3, fall: 2 }), clock: new ManualClock(), run: manualRunner().run, onChange: (x) => known.push(x.known) });
    assert.equal(t.ok, false); // result 2 < rise 3 but not yet known
    t.report(false);
    assert.equal(t.counter, 0);
    assert.deepEqual(known, [true]);
    const f = new ScriptTracker({ script: script({ rise: 1 }), clock: new ManualClock(), run: manualRunner().run, initFail: true });
    assert.equal(f.ok, false);
    assert.equal(f.known, true);
  });

  it('runs every interval through the Clock, skips a run while one is active, and times out', async () => {
    const clock = new ManualClock();
    const runner = manualRunner();
    const logger = new MemoryLogger();
    const t = new ScriptTracker({ script: script({ intervalMs: 2000, timeoutMs: 1500, rise: 1, fall: 1 }), clock, run: runner.run, logger });
    t.start();
    assert.equal(runner.pending.length, 1); // immediately
    assert.deepEqual(runner.pending[0]?.argv, ['/bin/true']);
    assert.equal(runner.pending[0]?.timeoutMs, 1500);
    runner.pending[0]?.settle({ exitCode: 0 });
    await tick();
    assert.equal(t.ok, true);
    clock.advance(2000);
    assert.equal(runner.pending.length, 2);
    clock.advance(1500); // timeout → failure
    assert.equal(t.ok, false);
    assert.ok(logger.records.some((r) => r.message.includes('VRRP_Script(chk) timed_out')));
    runner.pending[1]?.settle({ exitCode: 0 }); // late result is ignored
    await tick();
    assert.equal(t.ok, false);
    // A run that outlives the interval makes the next one skip.
    const slow = manualRunner();
    const t2 = new ScriptTracker({ script: script({ intervalMs: 1000, timeoutMs: 5000 }), clock, run: slow.run, logger });
    t2.start();
    clock.advance(1000);
    assert.equal(slow.pending.length, 1);
    assert.ok(logger.records.some((r) => r.message.includes('already running, expect idle - skipping run')));
    slow.pending[0]?.settle({ exitCode: 1 });
    await tick();
    assert.equal(t2.ok, false);
    clock.advance(1000);
    assert.equal(slow.pending.length, 2);
    t.close();
    t2.close();
    assert.equal(clock.pendingTimers(), 0);
  });

  it('non-zero exit, a signal or a runner error count as failure', async () => {
    for (const r of [{ exitCode: 1 }, { signal: 'SIGKILL' }, { timedOut: true }]) {
      const runner = manualRunner();
      const t = new ScriptTracker({ script: script(), clock: new ManualClock(), run: runner.run });
      t.start();
      runner.pending[0]?.settle(r);
      await tick();
      assert.equal(t.ok, false, JSON.stringify(r));
      t.close();
    }
    const t = new ScriptTracker({ script: script(), clock: new ManualClock(), run: () => Promise.reject(new Error('ENOENT')) });
    t.start();
    await tick();
    assert.equal(t.ok, false);
    t.close();
  });
});

describe('vrrp/tracking: weight model (keepalived-spec 3.1, 3.2, 3.4)', () => {
  it('weight 0 = FAULT on failure; + adds while OK; − adds while failed; reverse swaps', () => {
    assert.deepEqual(weightContribution(false, { weight: 0 }), { fault: true, delta: 0 });
    assert.deepEqual(weightContribution(true, { weight: 0 }), { fault: false, delta: 0 });
    assert.deepEqual(weightContribution(true, { weight: 0, reverse: true }), { fault: true, delta: 0 });
    assert.deepEqual(weightContribution(true, { weight: 60 }), { fault: false, delta: 60 });
    assert.deepEqual(weightContribution(false, { weight: 60 }), { fault: false, delta: 0 });
    assert.deepEqual(weightContribution(false, { weight: -30 }), { fault: false, delta: -30 });
    assert.deepEqual(weightContribution(true, { weight: -30 }), { fault: false, delta: 0 });
    assert.deepEqual(weightContribution(true, { weight: -30, reverse: true }), { fault: false, delta: -30 });
  });

  it('track_file: value × weight; weight 0 faults on non-zero; below −253 forces FAULT', () => {
    assert.deepEqual(fileContribution(3, { weight: 10 }), { fault: false, delta: 30 });
    assert.deepEqual(fileContribution(-5, { weight: 10 }), { fault: false, delta: -50 });
    assert.deepEqual(fileContribution(1, { weight: 0 }), { fault: true, delta: 0 });
    assert.deepEqual(fileContribution(0, { weight: 0 }), { fault: false, delta: 0 });
    assert.deepEqual(fileContribution(-30, { weight: 10 }), { fault: true, delta: 0 });
    assert.deepEqual(fileContribution(3, { weight: 10, reverse: true }), { fault: false, delta: -30 });
  });

  it('combines interface, script (with per-instance weight override) and file into a verdict', () => {
    const cfg = instanceConfig({
      trackInterfaces: [{ name: 'eth1', weight: -20 }],
      trackScripts: [{ name: 'chk' }, { name: 'chk2', weight: 15 }],
      trackFiles: [{ path: '/run/prio', weight: 5 }],
    });
    const t = InstanceTracking.fromConfig(cfg, [script({ name: 'chk', weight: -30 }), script({ name: 'chk2', weight: 0 })]);
    // Scripts have no result yet: weighted ones contribute nothing, nothing is unweighted here.
    assert.deepEqual(t.verdict(), { fault: false, faultReasons: [], priorityDelta: 0 });
    t.setScriptOk('chk', false);
    t.setScriptOk('chk2', true);
    t.setInterfaceUp('eth1', false);
    t.setFileValue('/run/prio', 4);
    assert.equal(t.verdict().priorityDelta, -30 + 15 - 20 + 20);
    t.setInterfaceUp('eth0', false); // the instance's own interface is tracked with weight 0
    assert.equal(t.verdict().fault, true);
    assert.deepEqual(t.verdict().faultReasons, ['interface eth0 down']);
    assert.equal(t.setInterfaceUp('eth9', false), false); // untracked
  });

  it('sync group members: tracker weights are ignored (weight 0 → failure is FAULT), with a warning', () => {
    const cfg = instanceConfig({ trackInterfaces: [{ name: 'eth1', weight: -20 }] });
    const logger = new MemoryLogger();
    const t = InstanceTracking.fromConfig(cfg, [], { syncGroupMember: true, logger });
    t.setInterfaceUp('eth1', false);
    assert.deepEqual(t.verdict(), { fault: true, faultReasons: ['interface eth1 down'], priorityDelta: 0 });
    assert.ok(logger.records.some((r) => r.level === 'warn' && r.message.includes('ignoring weight -20 of track_interface eth1')));
  });

  it('an unweighted script without a result holds the instance in FAULT (init) until it reports', () => {
    const cfg = instanceConfig({ trackScripts: [{ name: 'chk' }] });
    const t = InstanceTracking.fromConfig(cfg, [script()]);
    const clock = new ManualClock();
    const sm = new VrrpStateMachine({ config: cfg, clock, primaryAddress: '10.9.0.2', onAction: () => {} });
    t.apply(sm);
    sm.start();
    assert.equal(sm.state, 'FAULT');
    t.setScriptOk('chk', true);
    t.apply(sm);
    assert.equal(sm.state, 'BACKUP');
  });

  it('measured E10: weight +60, fall 2 → 160 after the first success, back to 100 after two failures', () => {
    const cfg = instanceConfig({ priority: 100, trackScripts: [{ name: 'chk' }] });
    const chk = script({ weight: 60, fall: 2, rise: 1 });
    const tracking = InstanceTracking.fromConfig(cfg, [chk]);
    const clock = new ManualClock();
    const sm = new VrrpStateMachine({ config: cfg, clock, primaryAddress: '10.9.0.2', onAction: () => {} });
    const tracker = new ScriptTracker({
      script: chk,
      clock,
      run: manualRunner().run,
      onChange: (x) => {
        tracking.setScriptOk(x.name, x.ok);
        tracking.apply(sm);
      },
    });
    sm.start();
    tracker.report(true);
    assert.equal(sm.effectivePriority, 160);
    tracker.report(false);
    assert.equal(sm.effectivePriority, 160);
    tracker.report(false);
    assert.equal(sm.effectivePriority, 100);
    sm.destroy();
  });
});
