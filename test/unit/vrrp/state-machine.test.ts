import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/core/clock.js';
import { MemoryLogger } from '../../../src/core/logger.js';
import type { VrrpPacket } from '../../../src/vrrp/codec.js';
import { effectivePriorityOf, VrrpStateMachine, type VrrpAction } from '../../../src/vrrp/state-machine.js';
import { instanceConfig, type InstanceOverrides } from './helpers.js';

const OWN = '10.9.0.2';

/** Timer values are whole microseconds (keepalived's TIMER_HZ); compare ms with float slack. */
function near(actual: number | undefined, expected: number): void {
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-6, `${actual} ≉ ${expected}`);
}

function pkt(priority: number, o: Partial<VrrpPacket> = {}): VrrpPacket {
  return { version: 2, type: 1, vrid: 51, priority, countIpAddrs: 1, authType: 0, advertIntervalCs: 100, checksum: 0, addresses: ['10.9.0.50'], ...o };
}

function harness(o: InstanceOverrides = {}, primaryAddress = OWN) {
  const clock = new ManualClock();
  const actions: VrrpAction[] = [];
  const logger = new MemoryLogger();
  const sm = new VrrpStateMachine({ config: instanceConfig(o), clock, primaryAddress, onAction: (a) => actions.push(a), logger });
  const take = () => actions.splice(0);
  const sent = () => actions.filter((a): a is Extract<VrrpAction, { type: 'send-advert' }> => a.type === 'send-advert');
  return { clock, sm, actions, take, sent, logger };
}

/** Advance until the state changes or `limitMs` passes; returns the elapsed ms. */
function timeUntilState(clock: ManualClock, sm: VrrpStateMachine, state: string, limitMs: number): number {
  const start = clock.now();
  while (sm.state !== state) {
    const next = clock.nextDueIn();
    if (next === undefined || clock.now() + next - start > limitMs) return Number.POSITIVE_INFINITY;
    clock.advance(next);
  }
  return clock.now() - start;
}

describe('vrrp/state-machine: timers (RFC 3768 / 5798 6.1, keepalived-spec 1.3)', () => {
  it('v2 Skew_Time and Master_Down_Interval match keepalived measurements', () => {
    const cases: [number, number, number][] = [
      [100, 609.375, 3609.375],
      [150, 414.062, 3414.062],
      [120, 531.25, 3531.25],
    ];
    for (const [prio, skew, mdi] of cases) {
      const { sm } = harness({ priority: prio });
      assert.equal(sm.skewTimeMs, skew);
      near(sm.masterDownIntervalMs, mdi);
    }
    // v2 skew does not scale with the interval (RFC 3768: (256 − Priority)/256 seconds).
    const { sm } = harness({ priority: 100, advertIntervalMs: 2000 });
    assert.equal(sm.skewTimeMs, 609.375);
    near(sm.masterDownIntervalMs, 6609.375);
  });

  it('v3 skew scales with Master_Adver_Interval: priority 150 at 0.5 s → 1.707 s', () => {
    const { sm } = harness({ version: 3, priority: 150, advertIntervalMs: 500 });
    assert.equal(sm.skewTimeMs, 207.031);
    near(sm.masterDownIntervalMs, 1707.031);
  });

  it('start: BACKUP (init) removes leftover VIPs, then MASTER after exactly Master_Down_Interval', () => {
    const { clock, sm, take } = harness();
    sm.start();
    assert.equal(sm.state, 'BACKUP');
    assert.deepEqual(take(), [
      { type: 'become-backup', reason: 'init' },
      { type: 'state-change', from: 'INIT', to: 'BACKUP', reason: 'init' },
    ]);
    clock.advance(3609.374);
    assert.equal(sm.state, 'BACKUP');
    clock.advance(0.001);
    assert.equal(sm.state, 'MASTER');
    // keepalived order: advert first, then VIPs/GARP, then notify.
    assert.deepEqual(take().map((a) => a.type), ['send-advert', 'become-master', 'state-change']);
    assert.equal(sm.masterAddress, OWN);
  });

  it('MASTER sends an advert every advert interval with its effective priority', () => {
    const { clock, sm, take, sent } = harness({ priority: 150 });
    sm.start();
    clock.advance(sm.masterDownIntervalMs);
    take();
    clock.advance(3000);
    assert.deepEqual(sent(), [
      { type: 'send-advert', priority: 150, cause: 'periodic' },
      { type: 'send-advert', priority: 150, cause: 'periodic' },
      { type: 'send-advert', priority: 150, cause: 'periodic' },
    ]);
  });
});

describe('vrrp/state-machine: BACKUP (RFC 6.4.2, keepalived vrrp_state_backup)', () => {
  it('a higher-priority advert restarts the down timer and names the master', () => {
    const { clock, sm } = harness();
    sm.start();
    clock.advance(3000);
    assert.equal(sm.receiveAdvert(pkt(150), '10.9.0.1'), 'backup-accepted');
    near(sm.timerRemainingMs, 3609.375);
    assert.equal(sm.masterAddress, '10.9.0.1');
    assert.equal(sm.masterPriority, 150);
    clock.advance(3609);
    assert.equal(sm.state, 'BACKUP');
    clock.advance(1);
    assert.equal(sm.state, 'MASTER');
  });

  it('equal priority is always accepted in BACKUP, whatever the addresses', () => {
    const { clock, sm } = harness({}, '10.9.0.200');
    sm.start();
    clock.advance(2000);
    assert.equal(sm.receiveAdvert(pkt(100), '10.9.0.1'), 'backup-accepted');
    near(sm.timerRemainingMs, 3609.375);
  });

  it('with preemption a lower-priority advert is discarded without restarting the timer', () => {
    const { clock, sm, logger } = harness({ priority: 150 });
    sm.start();
    clock.advance(1000);
    sm.receiveAdvert(pkt(200), '10.9.0.1'); // accepted at t=1000
    clock.advance(1000);
    assert.equal(sm.receiveAdvert(pkt(100), '10.9.0.3'), 'backup-discarded-lower');
    near(sm.timerRemainingMs, 3414.062 - 1000);
    assert.ok(logger.records.some((r) => r.message.includes('received lower priority (100) advert from 10.9.0.3 - discarding')));
    // Preempts Master_Down_Interval after the last accepted advert.
    near(timeUntilState(clock, sm, 'MASTER', 10_000), 2414.062);
  });

  it('priority 0 sets the down timer to Skew_Time (0.609 s for priority 100)', () => {
    const { clock, sm } = harness();
    sm.start();
    clock.advance(1000);
    sm.receiveAdvert(pkt(150), '10.9.0.1');
    clock.advance(500);
    assert.equal(sm.receiveAdvert(pkt(0), '10.9.0.1'), 'backup-priority-0');
    near(timeUntilState(clock, sm, 'MASTER', 10_000), 609.375);
  });

  it('nopreempt: keeps accepting a lower-priority master; takes over only after its priority 0', () => {
    const { clock, sm } = harness({ priority: 150, preempt: false });
    sm.start();
    for (let i = 0; i < 20; i++) {
      assert.equal(sm.receiveAdvert(pkt(100), '10.9.0.1'), 'backup-accepted');
      clock.advance(1000);
    }
    assert.equal(sm.state, 'BACKUP');
    sm.receiveAdvert(pkt(0), '10.9.0.1');
    near(timeUntilState(clock, sm, 'MASTER', 10_000), 414.062);
  });

  it('nopreempt and preempt_delay are ignored with state MASTER or priority 255 (keepalived clears them)', () => {
    const { clock, sm } = harness({ priority: 150, preempt: false, preemptDelayMs: 5000, initialState: 'MASTER' });
    sm.start();
    clock.advance(500);
    assert.equal(sm.receiveAdvert(pkt(100), '10.9.0.1'), 'backup-discarded-lower');
  });

  it('preempt_delay: accepts a lower-priority master for the delay, then discards and preempts', () => {
    const { clock, sm, logger } = harness({ priority: 150, preemptDelayMs: 5000 });
    sm.start();
    const outcomes: string[] = [];
    let t0 = -1;
    for (let i = 0; i < 12 && sm.state === 'BACKUP'; i++) {
      if (t0 < 0) t0 = clock.now();
      outcomes.push(sm.receiveAdvert(pkt(100), '10.9.0.1'));
      clock.advance(1000);
    }
    assert.deepEqual(outcomes.slice(0, 6), ['backup-accepted', 'backup-accepted', 'backup-accepted', 'backup-accepted', 'backup-accepted', 'backup-discarded-lower']);
    assert.ok(logger.records.some((r) => r.message.includes('start preempt delay')));
    // Last accepted at t0+4 s → MASTER at t0 + 4 + 3.414 s.
    assert.equal(sm.state, 'MASTER');
    const { clock: c2, sm: s2 } = harness({ priority: 150, preemptDelayMs: 5000 });
    s2.start();
    for (let i = 0; i < 5; i++) {
      s2.receiveAdvert(pkt(100), '10.9.0.1');
      c2.advance(1000);
    }
    s2.receiveAdvert(pkt(100), '10.9.0.1'); // at t=5000: delay over, discarded
    near(timeUntilState(c2, s2, 'MASTER', 10_000), 4000 + 3414.062 - 5000);
  });

  it('preempt_delay restarts after a higher-priority master came and went', () => {
    const { clock, sm } = harness({ priority: 150, preemptDelayMs: 3000 });
    sm.start();
    sm.receiveAdvert(pkt(100), '10.9.0.1'); // delay starts at 0
    clock.advance(2000);
    sm.receiveAdvert(pkt(150), '10.9.0.3'); // equal (≥ ours): delay reset, as keepalived
    clock.advance(2000);
    assert.equal(sm.receiveAdvert(pkt(100), '10.9.0.1'), 'backup-accepted'); // new delay from t=4000
    clock.advance(2500);
    assert.equal(sm.receiveAdvert(pkt(100), '10.9.0.1'), 'backup-accepted');
    clock.advance(600);
    assert.equal(sm.receiveAdvert(pkt(100), '10.9.0.1'), 'backup-discarded-lower');
  });

  it('v3: adopts the master\'s advert interval and reverts to its own as MASTER (spec 8.2 #18)', () => {
    const { clock, sm, take } = harness({ version: 3, priority: 100, advertIntervalMs: 500 });
    sm.start();
    sm.receiveAdvert(pkt(150, { version: 3, advertIntervalCs: 100 }), '10.9.0.1');
    assert.equal(sm.masterAdverIntervalCentis, 100);
    near(sm.masterDownIntervalMs, 3609.375);
    near(timeUntilState(clock, sm, 'MASTER', 10_000), 3609.375);
    assert.equal(sm.masterAdverIntervalCentis, 50);
    take();
    clock.advance(1000);
    assert.equal(take().filter((a) => a.type === 'send-advert').length, 2); // every 0.5 s
  });
});

describe('vrrp/state-machine: MASTER (RFC 6.4.3, keepalived vrrp_state_master_rx)', () => {
  function master(o: InstanceOverrides = {}, primary = OWN) {
    const h = harness({ priority: 150, ...o }, primary);
    h.sm.start();
    h.clock.advance(h.sm.masterDownIntervalMs);
    assert.equal(h.sm.state, 'MASTER');
    h.take();
    return h;
  }

  it('priority 0: sends an advert at once and stays MASTER; periodic adverts keep their schedule (keepalived)', () => {
    const { clock, sm, take } = master();
    clock.advance(400);
    assert.equal(sm.receiveAdvert(pkt(0), '10.9.0.1'), 'master-priority-0');
    assert.deepEqual(take(), [{ type: 'send-advert', priority: 150, cause: 'priority-0-received' }]);
    near(sm.timerRemainingMs, 600);
    assert.equal(sm.state, 'MASTER');
  });

  it('higher priority: goes BACKUP without a priority-0 advert and removes VIPs', () => {
    const { sm, take } = master();
    assert.equal(sm.receiveAdvert(pkt(200), '10.9.0.1'), 'master-yielded');
    const acts = take();
    assert.deepEqual(acts.map((a) => a.type), ['become-backup', 'state-change']);
    assert.equal(acts.some((a) => a.type === 'send-advert'), false);
    assert.equal(sm.state, 'BACKUP');
    assert.equal(sm.masterAddress, '10.9.0.1');
    near(sm.timerRemainingMs, 3414.062);
  });

  it('lower priority: stays MASTER and re-asserts at once (caller re-GARPs for this cause)', () => {
    const { sm, take, logger } = master();
    assert.equal(sm.receiveAdvert(pkt(100), '10.9.0.1'), 'master-lower');
    assert.deepEqual(take(), [{ type: 'send-advert', priority: 150, cause: 'lower-priority-received' }]);
    assert.ok(logger.records.some((r) => r.message.includes('with lower priority 100, ours 150, forcing new election')));
  });

  it('equal priority: the numerically higher primary address wins (split-brain heal, spec 8.2 #9)', () => {
    const hi = master({ priority: 100 }, '10.9.0.2');
    assert.equal(hi.sm.receiveAdvert(pkt(100), '10.9.0.1'), 'master-lower');
    assert.equal(hi.sm.state, 'MASTER');
    const lo = master({ priority: 100 }, '10.9.0.1');
    assert.equal(lo.sm.receiveAdvert(pkt(100), '10.9.0.2'), 'master-yielded');
    assert.equal(lo.sm.state, 'BACKUP');
    assert.ok(lo.logger.records.some((r) => r.message.includes('same priority 100 but higher IP address than ours')));
    // Numeric, not textual: 10.9.0.10 > 10.9.0.9.
    const nine = master({ priority: 100 }, '10.9.0.9');
    assert.equal(nine.sm.receiveAdvert(pkt(100), '10.9.0.10'), 'master-yielded');
    // Equal priority from our own address: warning only.
    const self = master({ priority: 100 });
    assert.equal(self.sm.receiveAdvert(pkt(100), OWN), 'master-own-address');
    assert.equal(self.sm.state, 'MASTER');
  });

  it('v3 MASTER yielding adopts the new master\'s interval', () => {
    const { sm } = master({ version: 3, advertIntervalMs: 500 });
    sm.receiveAdvert(pkt(200, { version: 3, advertIntervalCs: 200 }), '10.9.0.1');
    assert.equal(sm.masterAdverIntervalCentis, 200);
    near(sm.masterDownIntervalMs, 6000 + 828.125);
  });
});

describe('vrrp/state-machine: owner, initial state, faults, priority, lifecycle', () => {
  it('priority 255 owner with state MASTER is MASTER at once (no Master_Down wait)', () => {
    const { sm, take, clock } = harness({ priority: 255, initialState: 'MASTER' });
    sm.start();
    assert.equal(sm.state, 'MASTER');
    assert.deepEqual(take()[0], { type: 'send-advert', priority: 255, cause: 'become-master' });
    // It still yields to nobody below 255.
    clock.advance(100);
    assert.equal(sm.receiveAdvert(pkt(254), '10.9.0.200'), 'master-lower');
  });

  it('state MASTER with priority < 255 gives no speed-up (measured E15: ≈3.4 s for 150)', () => {
    const { sm, clock } = harness({ priority: 150, initialState: 'MASTER' });
    sm.start();
    assert.equal(sm.state, 'BACKUP');
    near(timeUntilState(clock, sm, 'MASTER', 10_000), 3414.062);
  });

  it('a non-owner never preempts an owner; the owner takes over from a lower master', () => {
    const { sm, clock } = harness({ priority: 254 });
    sm.start();
    for (let i = 0; i < 10; i++) {
      assert.equal(sm.receiveAdvert(pkt(255), '10.9.0.1'), 'backup-accepted');
      clock.advance(1000);
    }
    assert.equal(sm.state, 'BACKUP');
  });

  it('FAULT: a MASTER sends priority 0 and drops VIPs; adverts are ignored; recovery → BACKUP with MDI', () => {
    const { sm, clock, take } = harness({ priority: 150 });
    sm.start();
    clock.advance(sm.masterDownIntervalMs);
    take();
    sm.setFault(true, 'interface eth0 down');
    assert.equal(sm.state, 'FAULT');
    assert.deepEqual(take(), [
      { type: 'send-advert', priority: 0, cause: 'fault' },
      { type: 'become-fault', reason: 'interface eth0 down' },
      { type: 'state-change', from: 'MASTER', to: 'FAULT', reason: 'interface eth0 down' },
    ]);
    assert.equal(clock.pendingTimers(), 0);
    assert.equal(sm.receiveAdvert(pkt(0), '10.9.0.1'), 'ignored-state');
    clock.advance(60_000);
    assert.equal(sm.state, 'FAULT');
    sm.setFault(false, 'interface eth0 up');
    assert.equal(sm.state, 'BACKUP');
    assert.deepEqual(take().map((a) => a.type), ['become-backup', 'state-change']);
    near(timeUntilState(clock, sm, 'MASTER', 10_000), 3414.062);
  });

  it('FAULT from BACKUP sends nothing; a fault before start gives FAULT (init)', () => {
    const h = harness();
    h.sm.start();
    h.take();
    h.sm.setFault(true, 'script chk failed');
    assert.deepEqual(h.take().map((a) => a.type), ['become-fault', 'state-change']);
    const early = harness();
    early.sm.setFault(true, 'no source address');
    early.sm.start();
    assert.equal(early.sm.state, 'FAULT');
    assert.deepEqual(early.take().map((a) => a.type), ['become-fault', 'state-change']);
  });

  it('an owner recovering from FAULT waits one advert interval + skew', () => {
    const { sm, clock } = harness({ priority: 255, initialState: 'MASTER' });
    sm.setFault(true, 'down');
    sm.start();
    sm.setFault(false, 'up');
    near(timeUntilState(clock, sm, 'MASTER', 10_000), 1000 + 3.906);
  });

  it('effective priority: base + delta clamped to 1..254; 255 never changes', () => {
    assert.equal(effectivePriorityOf(100, 60), 160);
    assert.equal(effectivePriorityOf(100, 200), 254);
    assert.equal(effectivePriorityOf(100, -200), 1);
    assert.equal(effectivePriorityOf(255, -100), 255);
    assert.equal(effectivePriorityOf(200, 55), 254);
  });

  it('a priority change shows in the next scheduled advert, not in an extra one', () => {
    const { sm, clock, take } = harness({ priority: 150 });
    sm.start();
    clock.advance(sm.masterDownIntervalMs);
    take();
    clock.advance(300);
    sm.setPriorityDelta(-60);
    assert.equal(sm.effectivePriority, 90);
    assert.deepEqual(take(), []);
    clock.advance(700);
    assert.deepEqual(take(), [{ type: 'send-advert', priority: 90, cause: 'periodic' }]);
    // Now lower than a 100 peer: the peer's advert is higher → yield.
    assert.equal(sm.receiveAdvert(pkt(100), '10.9.0.1'), 'master-yielded');
  });

  it('in BACKUP a priority change moves the pending down timer by the skew difference', () => {
    const { sm, clock } = harness({ priority: 100 });
    sm.start();
    clock.advance(1000);
    near(sm.timerRemainingMs, 2609.375);
    sm.setPriorityDelta(50); // skew 609.375 → 414.062
    near(sm.timerRemainingMs, 2609.375 - 195.313);
    near(sm.masterDownIntervalMs, 3414.062);
  });

  it('tracking drop makes a lower backup preempt Master_Down_Interval after the last higher advert (spec 8.4 #28)', () => {
    const { sm, clock } = harness({ priority: 100 });
    sm.start();
    sm.receiveAdvert(pkt(150), '10.9.0.1');
    clock.advance(1000);
    sm.receiveAdvert(pkt(150), '10.9.0.1'); // last 150 advert
    clock.advance(1000);
    sm.receiveAdvert(pkt(90), '10.9.0.1'); // tracker dropped the peer to 90: discarded
    clock.advance(1000);
    sm.receiveAdvert(pkt(90), '10.9.0.1');
    near(timeUntilState(clock, sm, 'MASTER', 10_000), 3609.375 - 2000);
  });

  it('relinquish: priority 0, BACKUP, then lets the lower peer keep mastership', () => {
    const { sm, clock, take } = harness({ priority: 150 });
    sm.start();
    clock.advance(sm.masterDownIntervalMs);
    take();
    sm.relinquish();
    assert.deepEqual(take(), [
      { type: 'send-advert', priority: 0, cause: 'relinquish' },
      { type: 'become-backup', reason: 'relinquished (priority 0 sent)' },
      { type: 'state-change', from: 'MASTER', to: 'BACKUP', reason: 'relinquished (priority 0 sent)' },
    ]);
    for (let i = 0; i < 30; i++) {
      clock.advance(1000);
      assert.equal(sm.receiveAdvert(pkt(100), '10.9.0.1'), 'backup-accepted');
    }
    assert.equal(sm.state, 'BACKUP');
    // Nobody else: back to MASTER after Master_Down_Interval, and normal preemption afterwards.
    near(timeUntilState(clock, sm, 'MASTER', 10_000), 3414.062);
    assert.equal(sm.receiveAdvert(pkt(100), '10.9.0.1'), 'master-lower');
  });

  it('relinquish with a hold: preemption resumes after it', () => {
    const { sm, clock } = harness({ priority: 150 });
    sm.start();
    clock.advance(sm.masterDownIntervalMs);
    sm.relinquish({ holdMs: 5000 });
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      outcomes.push(sm.receiveAdvert(pkt(100), '10.9.0.1'));
    }
    assert.deepEqual(outcomes, ['backup-accepted', 'backup-accepted', 'backup-accepted', 'backup-accepted', 'backup-discarded-lower']);
    near(timeUntilState(clock, sm, 'MASTER', 10_000), 3414.062 - 1000);
  });

  it('stop: MASTER sends one priority 0, drops VIPs, → INIT, no timers left; BACKUP sends nothing', () => {
    const { sm, clock, take } = harness();
    sm.start();
    clock.advance(sm.masterDownIntervalMs);
    take();
    sm.stop();
    assert.deepEqual(take(), [
      { type: 'send-advert', priority: 0, cause: 'stop' },
      { type: 'become-backup', reason: 'stop' },
      { type: 'state-change', from: 'MASTER', to: 'INIT', reason: 'stop' },
    ]);
    assert.equal(clock.pendingTimers(), 0);
    sm.stop(); // idempotent
    assert.deepEqual(take(), []);
    const b = harness();
    b.sm.start();
    b.take();
    b.sm.close();
    assert.deepEqual(b.take(), [{ type: 'state-change', from: 'BACKUP', to: 'INIT', reason: 'stop' }]);
    assert.equal(b.clock.pendingTimers(), 0);
  });

  it('destroy cancels timers and emits nothing', () => {
    const { sm, clock, take } = harness();
    sm.start();
    take();
    sm.destroy();
    assert.equal(clock.pendingTimers(), 0);
    assert.deepEqual(take(), []);
  });

  it('an owner may call back into the machine from onAction (actions are queued, order kept)', () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    let sm: VrrpStateMachine | undefined;
    sm = new VrrpStateMachine({
      config: instanceConfig({ priority: 100 }),
      clock,
      primaryAddress: OWN,
      onAction: (a) => {
        seen.push(a.type === 'state-change' ? `${a.type}:${a.to}` : a.type);
        // A peer answers our first advert at once with a higher priority.
        if (a.type === 'send-advert' && a.cause === 'become-master') sm?.receiveAdvert(pkt(200), '10.9.0.1');
      },
    });
    sm.start();
    clock.advance(sm.masterDownIntervalMs);
    assert.deepEqual(seen, [
      'become-backup',
      'state-change:BACKUP',
      'send-advert',
      'become-master',
      'state-change:MASTER',
      'become-backup',
      'state-change:BACKUP',
    ]);
    assert.equal(sm.state, 'BACKUP');
  });
});
