import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { SchedulerName } from '../../../src/core/types.js';
import { createScheduler } from '../../../src/engine/schedulers/index.js';
import { LocalityLeastConnectionScheduler } from '../../../src/engine/schedulers/lblc.js';
import { LocalityLeastConnectionReplicationScheduler } from '../../../src/engine/schedulers/lblcr.js';
import { MaglevHashingScheduler, MH_TAB_SIZE } from '../../../src/engine/schedulers/mh.js';
import { hsiphash32, hsiphash32Reference, sipKey } from '../../../src/engine/schedulers/siphash.js';
import { SH_TAB_SIZE, SourceHashingScheduler } from '../../../src/engine/schedulers/sh.js';
import { addressFold, gcd, hash32, type SchedDest, type ScheduleInput } from '../../../src/engine/schedulers/types.js';
import { DestinationHashingScheduler } from '../../../src/engine/schedulers/dh.js';

interface D {
  key: string;
  weight: number;
  lastWeight: number;
  activeConns: number;
  inactiveConns: number;
  overloaded: boolean;
}

function dests(specs: readonly { weight: number; overloaded?: boolean; active?: number }[]): D[] {
  return specs.map((s, i) => ({
    key: `10.0.0.${i + 1}:80`,
    weight: s.weight,
    lastWeight: s.weight,
    activeConns: s.active ?? 0,
    inactiveConns: 0,
    overloaded: s.overloaded ?? false,
  }));
}

function input(n: number, dest = '192.0.2.1'): ScheduleInput {
  return { sourceAddress: `198.51.${(n >> 8) & 255}.${n & 255}`, sourcePort: 1024 + (n % 50000), destAddress: dest, destPort: 80 };
}

const ALL: SchedulerName[] = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'sh', 'dh', 'lblc', 'lblcr', 'mh', 'fo', 'ovf'];

const destSpecs = fc.array(fc.record({ weight: fc.integer({ min: 0, max: 12 }), overloaded: fc.boolean(), active: fc.integer({ min: 0, max: 30 }) }), {
  minLength: 1,
  maxLength: 7,
});

/** Schedules n connections, holding each (activeConns++), returns per-dest counts. */
function run(name: SchedulerName, ds: D[], n: number, dest = (i: number) => input(i).destAddress): number[] {
  const s = createScheduler(name, name === 'sh' ? ['sh-fallback'] : name === 'mh' ? ['mh-fallback'] : []);
  s.update(ds);
  const counts = ds.map(() => 0);
  for (let i = 0; i < n; i++) {
    const d = s.schedule(ds, { ...input(i), destAddress: dest(i) }, i) as D | undefined;
    if (d === undefined) continue;
    counts[ds.indexOf(d)]!++;
    d.activeConns++;
  }
  return counts;
}

describe('engine/schedulers', () => {
  describe('never give a new connection to weight 0 or an overloaded real (property, every scheduler)', () => {
    for (const name of ALL) {
      it(name, () => {
        fc.assert(
          fc.property(destSpecs, fc.integer({ min: 1, max: 200 }), (specs, n) => {
            const ds = dests(specs);
            const s = createScheduler(name, name === 'sh' ? ['sh-fallback'] : name === 'mh' ? ['mh-fallback'] : []);
            s.update(ds);
            for (let i = 0; i < n; i++) {
              const d = s.schedule(ds, input(i, `192.0.2.${i % 5}`), i * 1000) as D | undefined;
              if (d === undefined) continue;
              assert.ok(d.weight > 0, `${name} chose weight 0`);
              assert.ok(!d.overloaded, `${name} chose an overloaded real`);
              d.activeConns++;
            }
            // Quiesce everything that was chosen: none of them may be chosen again.
            for (const d of ds) d.weight = 0;
            s.update(ds);
            assert.equal(s.schedule(ds, input(1), n * 1000), undefined);
          }),
          { numRuns: name === 'mh' ? 25 : 150 },
        );
      });
    }
  });

  it('rr: each available real gets exactly its share over whole turns', () => {
    fc.assert(
      fc.property(destSpecs, fc.integer({ min: 1, max: 20 }), (specs, turns) => {
        const ds = dests(specs);
        const avail = ds.filter((d) => d.weight > 0 && !d.overloaded).length;
        const counts = run('rr', ds, avail * turns);
        ds.forEach((d, i) => assert.equal(counts[i], d.weight > 0 && !d.overloaded ? turns : 0));
      }),
    );
  });

  it('wrr: over one cycle each real gets weight/gcd connections', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 7 }), (weights) => {
        const ds = dests(weights.map((weight) => ({ weight })));
        const g = weights.filter((w) => w > 0).reduce((a, b) => gcd(a, b), 0);
        if (g === 0) return;
        const cycle = weights.reduce((a, w) => a + w / g, 0);
        const counts = run('wrr', ds, cycle * 2);
        weights.forEach((w, i) => assert.equal(counts[i], (2 * w) / g));
      }),
    );
  });

  it('wrr interleaves (3,1): a a b a pattern as ip_vs_wrr.c', () => {
    const ds = dests([{ weight: 4 }, { weight: 3 }, { weight: 2 }]);
    const s = createScheduler('wrr');
    s.update(ds);
    const seq = Array.from({ length: 9 }, (_, i) => ds.indexOf(s.schedule(ds, input(i), 0) as D));
    // cw = 4: a; cw = 3: a b; cw = 2: a b c; cw = 1: a b c
    assert.deepEqual(seq, [0, 0, 1, 0, 1, 2, 0, 1, 2]);
  });

  it('lc: held connections stay within one of each other', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 300 }), (weights, n) => {
        const counts = run('lc', dests(weights.map((weight) => ({ weight }))), n);
        assert.ok(Math.max(...counts) - Math.min(...counts) <= 1);
      }),
    );
  });

  it('wlc: connections per weight stay balanced: (c_i - 1) * w_j <= c_j * w_i', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 300 }), (weights, n) => {
        const counts = run('wlc', dests(weights.map((weight) => ({ weight }))), n);
        for (let i = 0; i < weights.length; i++)
          for (let j = 0; j < weights.length; j++) if (counts[i]! > 0) assert.ok((counts[i]! - 1) * weights[j]! <= counts[j]! * weights[i]!);
      }),
    );
  });

  it('wlc: overhead is active*256 + inactive (one active outweighs 255 inactive)', () => {
    const ds = dests([{ weight: 1, active: 1 }, { weight: 1 }]);
    ds[1]!.inactiveConns = 255;
    assert.equal(createScheduler('wlc').schedule(ds, input(0), 0), ds[1]);
    ds[1]!.inactiveConns = 257;
    assert.equal(createScheduler('wlc').schedule(ds, input(0), 0), ds[0]);
  });

  it('sed: (active + 1) / weight, inactive ignored; c_i * w_j <= (c_j + 1) * w_i', () => {
    const ds = dests([{ weight: 1, active: 0 }, { weight: 3, active: 1 }]);
    ds[0]!.inactiveConns = 1000;
    // sed: (0+1)/1 = 1 vs (1+1)/3 = 0.67 -> the busier but heavier real.
    assert.equal(createScheduler('sed').schedule(ds, input(0), 0), ds[1]);
    // nq: an idle real is taken at once.
    assert.equal(createScheduler('nq').schedule(ds, input(0), 0), ds[0]);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 300 }), (weights, n) => {
        const counts = run('sed', dests(weights.map((weight) => ({ weight }))), n);
        for (let i = 0; i < weights.length; i++)
          for (let j = 0; j < weights.length; j++) if (counts[i]! > 0) assert.ok((counts[i]! - 1) * weights[j]! <= counts[j]! * weights[i]! + weights[i]!);
      }),
    );
  });

  it('nq: every real gets a connection before any gets a second, then sed-like by weight', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 300 }), (weights, extra) => {
        const counts = run('nq', dests(weights.map((weight) => ({ weight }))), weights.length);
        assert.ok(counts.every((c) => c === 1));
        const more = run('nq', dests(weights.map((weight) => ({ weight }))), weights.length + extra);
        const total = more.reduce((a, b) => a + b, 0);
        assert.equal(total, weights.length + extra);
        // Heavier reals never end with fewer connections than lighter ones (ties aside).
        for (let i = 0; i < weights.length; i++) for (let j = 0; j < weights.length; j++) if (weights[i]! > weights[j]!) assert.ok(more[i]! + 1 >= more[j]!);
      }),
    );
  });

  it('sh: the 256-bucket table gives each real `weight` consecutive buckets per round', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 7 }), (weights) => {
        const ds = dests(weights.map((weight) => ({ weight })));
        const s = new SourceHashingScheduler();
        s.update(ds);
        const t = s.table();
        const slots = ds.map((_, i) => t.filter((x) => x === i).length);
        const per = weights.map((w) => Math.max(1, w));
        const round = per.reduce((a, b) => a + b, 0);
        const full = Math.floor(SH_TAB_SIZE / round);
        slots.forEach((c, i) => assert.ok(c >= full * per[i]! && c <= (full + 1) * per[i]!, `slots ${c} for weight ${weights[i]}`));
      }),
    );
  });

  it('sh: same client -> same real; hash is hash_32(port + addr, 8); sh-port spreads one client by port', () => {
    const ds = dests([{ weight: 1 }, { weight: 1 }, { weight: 1 }, { weight: 1 }]);
    const s = new SourceHashingScheduler();
    s.update(ds);
    const a = s.schedule(ds, input(7), 0);
    for (let i = 0; i < 20; i++) assert.equal(s.schedule(ds, { ...input(7), sourcePort: 2000 + i }, 0), a);
    assert.equal(hash32(0x7f000001, 8), (Math.imul(0x7f000001, 0x61c88647) >>> 24) & 255);
    const sp = new SourceHashingScheduler(['sh-port']);
    sp.update(ds);
    const seen = new Set(Array.from({ length: 50 }, (_, i) => sp.schedule(ds, { ...input(7), sourcePort: 2000 + i }, 0)));
    assert.ok(seen.size > 1);
    // Without sh-fallback an unavailable real drops the connection; with it another real is used.
    const target = ds.indexOf(a as D);
    ds[target]!.weight = 0;
    s.update(ds);
    assert.equal(s.schedule(ds, input(7), 0), undefined);
    const fb = new SourceHashingScheduler(['sh-fallback']);
    fb.update(ds);
    const alt = fb.schedule(ds, input(7), 0);
    assert.ok(alt !== undefined && alt !== ds[target]);
  });

  it('dh: buckets are spread round robin, the destination address picks the real', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), (n) => {
        const ds = dests(Array.from({ length: n }, () => ({ weight: 1 })));
        const s = new DestinationHashingScheduler();
        s.update(ds);
        const counts = run('dh', ds, 400, (i) => `203.0.113.${i % 200}`);
        assert.equal(counts.reduce((a, b) => a + b, 0), 400);
        const a = s.schedule(ds, input(1, '203.0.113.9'), 0);
        assert.equal(s.schedule(ds, input(99, '203.0.113.9'), 0), a);
      }),
    );
  });

  it('mh: table size 4093, slots proportional to weight (|slots - size*t/T| <= t)', () => {
    assert.equal(MH_TAB_SIZE, 4093);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 6 }), (weights) => {
        const ds = dests(weights.map((weight) => ({ weight })));
        const s = new MaglevHashingScheduler();
        s.update(ds);
        const t = s.table();
        const g = weights.filter((w) => w > 0).reduce((a, b) => gcd(a, b), 0);
        if (g === 0) {
          assert.ok(t.every((x) => x === -1));
          return;
        }
        const turns = weights.map((w) => w / g);
        const T = turns.reduce((a, b) => a + b, 0);
        ds.forEach((_, i) => {
          const slots = t.filter((x) => x === i).length;
          assert.ok(Math.abs(slots - (MH_TAB_SIZE * turns[i]!) / T) <= turns[i]! + 1, `weight ${weights[i]}: ${slots} slots`);
        });
      }),
      { numRuns: 40 },
    );
  });

  it('mh: a quiesced real keeps its slots (last_weight) and adding a real moves few clients', () => {
    const ds = dests([{ weight: 1 }, { weight: 1 }, { weight: 1 }]);
    const s = new MaglevHashingScheduler();
    s.update(ds);
    const before = Array.from(s.table());
    ds[1]!.weight = 0; // lastWeight stays 1
    s.update(ds);
    assert.deepEqual(Array.from(s.table()), before);
    const more = dests([{ weight: 1 }, { weight: 1 }, { weight: 1 }, { weight: 1 }]);
    const s2 = new MaglevHashingScheduler();
    s2.update(more);
    const moved = Array.from(s2.table()).filter((x, i) => x !== before[i] && x !== 3).length;
    assert.ok(moved < MH_TAB_SIZE * 0.1, `${moved} slots moved between existing reals`);
  });

  it('siphash: the 32-bit-halves hsiphash equals the BigInt transcription of lib/siphash.c', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (v, k0, k1) => {
        assert.equal(hsiphash32(v, sipKey(k0, k1)), hsiphash32Reference(v, k0, k1));
      }),
      { numRuns: 300 },
    );
    assert.equal(addressFold('10.0.0.1'), 0x0a000001);
    assert.equal(addressFold('2001:db8::1'), (0x20010db8 ^ 0 ^ 0 ^ 1) >>> 0);
  });

  it('fo: always the highest weight (first on ties); ovf: overflows when active > weight', () => {
    fc.assert(
      fc.property(destSpecs, (specs) => {
        const ds = dests(specs);
        const d = createScheduler('fo').schedule(ds, input(0), 0);
        const avail = ds.filter((x) => !x.overloaded && x.weight > 0);
        if (avail.length === 0) return assert.equal(d, undefined);
        const hw = Math.max(...avail.map((x) => x.weight));
        assert.equal(d, avail.find((x) => x.weight === hw));
      }),
    );
    const ds = dests([{ weight: 2 }, { weight: 5 }]);
    const counts = run('ovf', ds, 9);
    // The weight-5 real takes 6 (until active > 5), then the weight-2 one takes 3 (until active > 2).
    assert.deepEqual(counts, [3, 6]);
  });

  it('lblc: sticks per destination address, moves when overloaded in lblc terms', () => {
    const ds = dests([{ weight: 2 }, { weight: 2 }]);
    const s = new LocalityLeastConnectionScheduler();
    s.update(ds);
    const first = s.schedule(ds, input(0, '203.0.113.5'), 0) as D;
    for (let i = 0; i < 5; i++) assert.equal(s.schedule(ds, input(i, '203.0.113.5'), i), first);
    // active > weight and another real is under half its weight -> reschedule.
    first.activeConns = 3;
    const other = ds.find((d) => d !== first)!;
    assert.equal(s.schedule(ds, input(9, '203.0.113.5'), 10), other);
    // Entries unused for 24 h go on the 30th check.
    for (let i = 0; i < 30; i++) s.expire(24 * 3600_000 + 100);
    assert.equal(s.size, 0);
  });

  it('lblcr: adds a replica when the set member is overloaded, drops the busiest after expiration', () => {
    const ds = dests([{ weight: 2 }, { weight: 2 }, { weight: 2 }]);
    const s = new LocalityLeastConnectionReplicationScheduler(1000);
    s.update(ds);
    const a = s.schedule(ds, input(0, '203.0.113.7'), 0) as D;
    a.activeConns = 3;
    const b = s.schedule(ds, input(1, '203.0.113.7'), 10) as D;
    assert.notEqual(a, b);
    assert.deepEqual([...s.replicas('203.0.113.7')].sort(), [a.key, b.key].sort());
    s.schedule(ds, input(2, '203.0.113.7'), 5000);
    assert.equal(s.replicas('203.0.113.7').length, 1);
  });
});
