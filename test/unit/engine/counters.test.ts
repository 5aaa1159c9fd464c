import assert from 'node:assert/strict';
import { MutableCounters, RateEstimator } from '../../../src/engine/embedded/counters.js';
import { RealState, type Flow } from '../../../src/engine/embedded/state.js';

function flow(): Flow {
  return { active: false, reset() {}, entry: () => ({}) as never, expire: () => false };
}

describe('engine/embedded counters and estimator', () => {
  it('mirrors ip_vs_est.c: 2 s samples, EWMA weight 1/4, fixed-point rounding', () => {
    const c = new MutableCounters();
    const e = new RateEstimator(c);
    // Steady 100 conn/s, 1000 pkt/s, 1 MB/s: the estimate converges on the true rate from below.
    const seen: number[] = [];
    for (let i = 0; i < 40; i++) {
      c.conns += 200;
      c.inPackets += 2000;
      c.inBytes += 2_000_000;
      e.sample();
      seen.push(e.rates().cps);
    }
    // First sample: cps = (200 << 9) >> 2 = 25600 (x1024) -> (25600 + 511) >> 10 = 25.
    assert.equal(seen[0], 25);
    assert.ok(seen.every((v, i) => i === 0 || v >= seen[i - 1]!));
    assert.equal(e.rates().cps, 100);
    assert.equal(e.rates().inPps, 1000);
    // The integer EWMA stops short of the last few fixed-point units, as the kernel's does.
    assert.ok(e.rates().inBps <= 1_000_000 && e.rates().inBps > 999_900, String(e.rates().inBps));
    assert.equal(e.rates().outBps, 0);
    // Traffic stops: the rate decays by 3/4 per sample.
    e.sample();
    assert.equal(e.rates().cps, 75);
  });

  it('thresholds: OVERLOAD at totalconns >= upper; cleared below lower, or below 3/4 of upper when lower is 0', () => {
    const r = new RealState({ key: 'k', address: '10.0.0.1', port: 80, forward: 'masq', weight: 1, upperThreshold: 4, lowerThreshold: 0 }, 80);
    const fs = [flow(), flow(), flow(), flow()];
    fs.slice(0, 3).forEach((f) => r.bind(f));
    assert.equal(r.thresholdOverload, false);
    r.bind(fs[3]!);
    assert.equal(r.thresholdOverload, true);
    r.unbind(fs[3]!); // 3*4 = 12 is not < 12
    assert.equal(r.thresholdOverload, true);
    r.unbind(fs[2]!); // 2*4 = 8 < 12
    assert.equal(r.thresholdOverload, false);

    const l = new RealState({ key: 'l', address: '10.0.0.2', port: 80, forward: 'masq', weight: 1, upperThreshold: 3, lowerThreshold: 1 }, 80);
    const gs = [flow(), flow(), flow()];
    gs.forEach((f) => l.bind(f));
    assert.equal(l.thresholdOverload, true);
    l.unbind(gs[0]!);
    l.unbind(gs[1]!);
    assert.equal(l.thresholdOverload, true, '1 is not < lower 1');
    l.unbind(gs[2]!);
    assert.equal(l.thresholdOverload, false);
    // Raising the upper threshold on edit clears the flag (__ip_vs_update_dest).
    gs.forEach((f) => l.bind(f));
    assert.equal(l.thresholdOverload, true);
    l.update({ key: 'l', address: '10.0.0.2', port: 80, forward: 'masq', weight: 1, upperThreshold: 10, lowerThreshold: 1 }, 80);
    assert.equal(l.thresholdOverload, false);
  });

  it('active/inactive move with the TCP state; weight edits keep last_weight', () => {
    const r = new RealState({ key: 'k', address: '10.0.0.1', port: 0, forward: 'gate', weight: 5, upperThreshold: 0, lowerThreshold: 0 }, 8080);
    assert.equal(r.port, 8080, 'port 0 means the virtual port');
    const f = flow();
    r.bind(f);
    assert.deepEqual([r.activeConns, r.inactiveConns], [0, 1]);
    r.setActive(f, true);
    assert.deepEqual([r.activeConns, r.inactiveConns], [1, 0]);
    r.setActive(f, false);
    r.unbind(f);
    assert.deepEqual([r.activeConns, r.inactiveConns], [0, 0]);
    r.update({ key: 'k', address: '10.0.0.1', port: 0, forward: 'gate', weight: 0, upperThreshold: 0, lowerThreshold: 0 }, 8080);
    assert.deepEqual([r.weight, r.lastWeight], [0, 5]);
  });
});
