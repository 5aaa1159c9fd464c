import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/core/clock.js';
import { MemoryLogger } from '../../../src/core/logger.js';
import { buildGarpFrame, buildUnsolicitedNa, GarpScheduler } from '../../../src/vrrp/garp.js';

const MAC = Buffer.from([2, 0, 0, 0, 0, 2]);
const DEFAULTS = { masterDelayMs: 5000, masterRepeat: 5, masterRefreshMs: 0, masterRefreshRepeat: 1, intervalMs: 0 };

describe('vrrp/garp: frames', () => {
  it('builds the 42-byte gratuitous ARP keepalived 2.2.7 sends, byte for byte (keepalived-spec 2.1)', () => {
    const expected = 'ffffffffffff020000000002080600010800060400010200000000020a090032ffffffffffff0a090032';
    assert.equal(buildGarpFrame(MAC, '10.9.0.50').toString('hex'), expected);
  });

  it('builds an unsolicited NA: type 136, Override set, Solicited clear, Router only when forwarding, target + TLLA option', () => {
    const na = buildUnsolicitedNa(MAC, 'fd00:9::50', false);
    assert.equal(na.length, 32);
    assert.equal(na[0], 136);
    assert.equal(na[1], 0);
    assert.equal(na[4], 0x20);
    assert.equal(na.subarray(8, 24).toString('hex'), 'fd000009000000000000000000000050');
    assert.deepEqual([...na.subarray(24, 32)], [2, 1, 2, 0, 0, 0, 0, 2]);
    assert.equal(buildUnsolicitedNa(MAC, 'fd00:9::50', true)[4], 0xa0);
  });

  it('refuses the wrong address family', () => {
    assert.throws(() => buildGarpFrame(MAC, 'fd00::1'), RangeError);
    assert.throws(() => buildUnsolicitedNa(MAC, '10.0.0.1', false), RangeError);
  });
});

describe('vrrp/garp: GarpScheduler (keepalived-spec 2.2)', () => {
  function setup(config = DEFAULTS) {
    const clock = new ManualClock();
    const sent: { vip: string; at: number }[] = [];
    const s = new GarpScheduler({ clock, config, logger: new MemoryLogger(), announce: (vip) => sent.push({ vip, at: clock.now() }) });
    return { clock, sent, s };
  }

  it('sends garp_master_repeat per VIP at once, interleaved per round, and the same again garp_master_delay later', () => {
    const { clock, sent, s } = setup();
    s.startMaster(['10.0.0.1', '10.0.0.2']);
    assert.deepEqual(sent.map((x) => x.vip), ['10.0.0.1', '10.0.0.2', '10.0.0.1', '10.0.0.2', '10.0.0.1', '10.0.0.2', '10.0.0.1', '10.0.0.2', '10.0.0.1', '10.0.0.2']);
    clock.advance(4999);
    assert.equal(sent.length, 10);
    clock.advance(1);
    assert.equal(sent.length, 20);
    assert.ok(sent.slice(10).every((x) => x.at === 5000));
    clock.advance(60_000);
    assert.equal(sent.length, 20, 'no refresh by default');
    assert.equal(clock.pendingTimers(), 0);
  });

  it('cancel() (leaving MASTER) drops the delayed burst and the refresh', () => {
    const { clock, sent, s } = setup({ ...DEFAULTS, masterRefreshMs: 10_000 });
    s.startMaster(['10.0.0.1']);
    assert.equal(sent.length, 5);
    s.cancel();
    clock.advance(100_000);
    assert.equal(sent.length, 5);
    assert.equal(clock.pendingTimers(), 0);
  });

  it('garp_master_refresh sends refresh_repeat messages every refresh interval while MASTER', () => {
    const { clock, sent, s } = setup({ ...DEFAULTS, masterDelayMs: 0, masterRefreshMs: 10_000, masterRefreshRepeat: 2 });
    s.startMaster(['10.0.0.1']);
    clock.advance(30_000);
    assert.equal(sent.length, 5 + 3 * 2);
  });

  it('garp_interval spaces consecutive messages', () => {
    const { clock, sent, s } = setup({ ...DEFAULTS, masterRepeat: 3, masterDelayMs: 0, intervalMs: 10 });
    s.startMaster(['10.0.0.1']);
    assert.equal(sent.length, 1);
    clock.advance(25);
    assert.deepEqual(sent.map((x) => x.at), [0, 10, 20]);
  });

  it('lowerPriorityHeard re-announces (garp_lower_prio_repeat) now and after the delay', () => {
    const { clock, sent, s } = setup();
    s.lowerPriorityHeard(['10.0.0.1']);
    assert.equal(sent.length, 5);
    clock.advance(5000);
    assert.equal(sent.length, 10);
  });

  it('a failing send is logged, counted as not sent, and does not stop the burst', () => {
    const clock = new ManualClock();
    const logger = new MemoryLogger();
    let n = 0;
    const s = new GarpScheduler({ clock, config: DEFAULTS, logger, announce: () => { if (n++ === 0) throw new Error('ENETDOWN'); } });
    s.startMaster(['10.0.0.1']);
    assert.equal(n, 5);
    assert.equal(s.sent, 4);
    assert.equal(logger.records.filter((r) => r.level === 'warn').length, 1);
  });
});
