/**
 * Property tests: N simulated routers on one zero-delay LAN, each a VrrpStateMachine whose adverts
 * are encoded to real bytes, validated with validateAdvert and delivered to every other live
 * router. Random interleavings of time, faults, priority changes, relinquish, stop/crash/restart.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock } from '../../../src/core/clock.js';
import { encodeVrrp } from '../../../src/vrrp/codec.js';
import { VrrpStateMachine } from '../../../src/vrrp/state-machine.js';
import { VrrpSyncGroup } from '../../../src/vrrp/sync-group.js';
import { validateAdvert } from '../../../src/vrrp/validate.js';
import type { VrrpInstanceConfig } from '../../../src/config/model.js';
import { instanceConfig } from './helpers.js';

interface RouterSpec {
  priority: number;
  preempt: boolean;
  preemptDelayMs: number;
  intervalMs: number;
}

type Command =
  | { kind: 'advance'; ms: number }
  | { kind: 'fault'; i: number; on: boolean }
  | { kind: 'delta'; i: number; delta: number }
  | { kind: 'relinquish'; i: number }
  | { kind: 'stop'; i: number }
  | { kind: 'crash'; i: number }
  | { kind: 'restart'; i: number }
  | { kind: 'isolate'; i: number; on: boolean };

class Lan {
  readonly clock = new ManualClock();
  readonly routers: { sm: VrrpStateMachine; cfg: VrrpInstanceConfig; addr: string; alive: boolean; faulted: boolean; isolated: boolean }[] = [];
  /** When the last partition healed (−∞: never partitioned). */
  healedAt = Number.NEGATIVE_INFINITY;
  private queue: { from: number; bytes: Buffer }[] = [];
  private flushing = false;
  private burst = 0;
  private burstAt = -1;
  delivered = 0;
  dropped = 0;

  constructor(version: 2 | 3, specs: RouterSpec[]) {
    specs.forEach((s, i) => {
      const addr = `10.9.0.${i + 1}`;
      const cfg = instanceConfig({
        name: `R${i}`,
        version,
        priority: s.priority,
        initialState: s.priority === 255 ? 'MASTER' : 'BACKUP',
        preempt: s.preempt,
        preemptDelayMs: s.preemptDelayMs,
        advertIntervalMs: version === 2 ? 1000 : s.intervalMs,
      });
      const sm = new VrrpStateMachine({
        config: cfg,
        clock: this.clock,
        primaryAddress: addr,
        onAction: (a) => {
          if (a.type !== 'send-advert' || !this.routers[i]?.alive) return;
          const bytes = encodeVrrp(
            { version, type: 1, vrid: 51, priority: a.priority, advertIntervalCs: sm.masterAdverIntervalCentis, addresses: ['10.9.0.50'], ...(version === 2 ? { authType: 0 } : {}) },
            { family: 4, source: addr, destination: '224.0.0.18' },
          );
          this.send(i, bytes);
        },
      });
      this.routers.push({ sm, cfg, addr, alive: true, faulted: false, isolated: false });
    });
  }

  private send(from: number, bytes: Buffer): void {
    // Two routers that each think they win re-assert at each other forever: a bug, not a hang.
    if (this.clock.now() !== this.burstAt) {
      this.burstAt = this.clock.now();
      this.burst = 0;
    }
    if (++this.burst > 1000) throw new Error('advert storm: routers keep forcing elections at the same instant');
    this.queue.push({ from, bytes });
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (let m = this.queue.shift(); m; m = this.queue.shift()) {
        this.routers.forEach((r, j) => {
          if (j === m.from || !r.alive || r.isolated || this.routers[m.from]?.isolated) return;
          const src = this.routers[m.from]?.addr ?? '';
          const v = validateAdvert({ raw: m.bytes, ttlOrHopLimit: 255, source: src, destination: '224.0.0.18', family: 4 }, r.cfg);
          if (!v.ok) {
            this.dropped++;
            return;
          }
          this.delivered++;
          r.sm.receiveAdvert(v.packet, src);
        });
      }
    } finally {
      this.flushing = false;
    }
  }

  start(): void {
    for (const r of this.routers) r.sm.start();
  }

  apply(c: Command): void {
    const r = 'i' in c ? this.routers[c.i % this.routers.length] : undefined;
    switch (c.kind) {
      case 'advance':
        this.clock.advance(c.ms);
        return;
      case 'fault':
        if (!r) return;
        r.faulted = c.on;
        r.sm.setFault(c.on, c.on ? 'test fault' : 'test recovered');
        return;
      case 'delta':
        r?.sm.setPriorityDelta(c.delta);
        return;
      case 'relinquish':
        r?.sm.relinquish();
        return;
      case 'stop':
        r?.sm.stop();
        return;
      case 'crash':
        if (!r) return;
        r.alive = false; // silent: no priority 0 (SIGKILL)
        r.sm.destroy();
        return;
      case 'restart':
        if (!r) return;
        r.alive = true;
        r.sm.start();
        return;
      case 'isolate':
        // A VRRP-only partition (nftables drop of proto 112 in the spec's scenarios): no carrier loss.
        if (!r || r.isolated === c.on) return;
        r.isolated = c.on;
        if (!c.on && !this.partitioned()) this.healedAt = this.clock.now();
        return;
    }
  }

  partitioned(): boolean {
    return this.routers.some((r) => r.isolated);
  }

  masters(): number {
    return this.routers.filter((r) => r.alive && r.sm.state === 'MASTER').length;
  }
}

const routerSpec = fc.record({
  priority: fc.oneof(fc.integer({ min: 1, max: 254 }), fc.constantFrom(100, 150, 255)),
  preempt: fc.boolean(),
  preemptDelayMs: fc.constantFrom(0, 0, 2000, 5000),
  intervalMs: fc.constantFrom(100, 350, 1000, 2000),
});

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 6000 }).map((ms) => ({ kind: 'advance' as const, ms })) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('fault' as const), i: fc.nat(7), on: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delta' as const), i: fc.nat(7), delta: fc.integer({ min: -120, max: 120 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('relinquish' as const), i: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('stop' as const), i: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), i: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('restart' as const), i: fc.nat(7) }) },
);

/** The same, plus VRRP-only partitions that come and go. */
const commandWithPartitions: fc.Arbitrary<Command> = fc.oneof(
  { weight: 8, arbitrary: command },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('isolate' as const), i: fc.nat(7), on: fc.boolean() }) },
);

describe('vrrp/state-machine properties (fast-check)', () => {
  it('routers that hear each other never have two masters, whatever happens', () => {
    fc.assert(
      fc.property(fc.constantFrom(2 as const, 3 as const), fc.array(routerSpec, { minLength: 2, maxLength: 4 }), fc.array(command, { maxLength: 60 }), (version, specs, commands) => {
        const lan = new Lan(version, specs);
        lan.start();
        assert.ok(lan.masters() <= 1);
        for (const c of commands) {
          lan.apply(c);
          assert.ok(lan.masters() <= 1, `two masters after ${JSON.stringify(c)}: ${lan.routers.map((r) => `${r.addr}=${r.sm.state}/${r.sm.effectivePriority}`).join(' ')}`);
        }
        // And the group converges: once every live, unfaulted router has had time, exactly one is MASTER.
        lan.clock.advance(30_000);
        const eligible = lan.routers.filter((r) => r.alive && r.sm.state !== 'INIT' && !r.faulted);
        assert.equal(lan.masters(), eligible.length > 0 ? 1 : 0);
      }),
      { numRuns: 300 },
    );
  });

  it('after a VRRP-only partition heals, dual masters resolve within one advert interval (spec 1.11)', () => {
    let runsWithDualMasters = 0;
    fc.assert(
      fc.property(fc.constantFrom(2 as const, 3 as const), fc.array(routerSpec, { minLength: 2, maxLength: 4 }), fc.array(commandWithPartitions, { maxLength: 60 }), (version, specs, commands) => {
        const lan = new Lan(version, specs);
        // Longest interval any master advertises with (v2: all 1 s).
        const maxIntervalMs = Math.max(...lan.routers.map((r) => (version === 2 ? 1000 : r.cfg.advertIntervalMs)));
        lan.start();
        let sawDual = false;
        for (const c of commands) {
          lan.apply(c);
          if (lan.masters() > 1) sawDual = true;
          if (!lan.partitioned()) {
            if (lan.clock.now() - lan.healedAt >= maxIntervalMs) assert.ok(lan.masters() <= 1, `two masters ${maxIntervalMs} ms after the heal`);
            else {
              lan.clock.advance(maxIntervalMs);
              assert.ok(lan.masters() <= 1, `two masters still ${maxIntervalMs} ms after the heal (${JSON.stringify(c)})`);
            }
          }
        }
        if (sawDual) runsWithDualMasters++;
      }),
      { numRuns: 300 },
    );
    // The property is only meaningful if partitions really produced split brains to heal.
    assert.ok(runsWithDualMasters > 10, `only ${runsWithDualMasters} runs had two masters`);
  });

  it('a single surviving router becomes MASTER within its Master_Down_Interval', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(2 as const, 3 as const),
        fc.array(routerSpec, { minLength: 2, maxLength: 4 }),
        fc.array(command, { maxLength: 30 }),
        fc.nat(7),
        fc.boolean(),
        (version, specs, commands, survivorSeed, graceful) => {
          const lan = new Lan(version, specs);
          lan.start();
          for (const c of commands) lan.apply(c);
          const s = survivorSeed % lan.routers.length;
          const survivor = lan.routers[s];
          assert.ok(survivor);
          if (!survivor.alive || survivor.sm.state === 'INIT') lan.apply({ kind: 'restart', i: s });
          if (survivor.faulted) lan.apply({ kind: 'fault', i: s, on: false });
          // Everyone else leaves: gracefully (priority 0 from a master) or by crashing.
          lan.routers.forEach((_, j) => {
            if (j !== s) lan.apply(graceful ? { kind: 'stop', i: j } : { kind: 'crash', i: j });
          });
          if (survivor.sm.state === 'MASTER') return;
          const state = (): string => survivor.sm.state; // a getter: TS must not narrow it across timer steps
          assert.equal(state(), 'BACKUP');
          const bound = survivor.sm.masterDownIntervalMs;
          const start = lan.clock.now();
          while (state() !== 'MASTER') {
            const next = lan.clock.nextDueIn();
            assert.ok(next !== undefined, 'no timer pending on a lone BACKUP');
            assert.ok(lan.clock.now() + next - start <= bound + 1e-6, `takeover later than Master_Down_Interval ${bound} ms`);
            lan.clock.advance(next);
          }
          assert.ok(lan.clock.now() - start <= bound + 1e-6);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('vrrp/sync-group properties (fast-check)', () => {
  /** Two routers, each with a sync group of two instances (VRID 51 and 52), on one zero-delay LAN. */
  function build(prios: number[][]) {
    const clock = new ManualClock();
    const routers: { members: VrrpStateMachine[]; cfgs: VrrpInstanceConfig[]; addr: string; group: VrrpSyncGroup }[] = [];
    const queue: { from: number; vrid: number; bytes: Buffer }[] = [];
    let flushing = false;
    let burst = 0;
    let burstAt = -1;
    const send = (from: number, vrid: number, bytes: Buffer) => {
      if (clock.now() !== burstAt) {
        burstAt = clock.now();
        burst = 0;
      }
      if (++burst > 1000) throw new Error('advert storm');
      queue.push({ from, vrid, bytes });
      if (flushing) return;
      flushing = true;
      try {
        for (let m = queue.shift(); m; m = queue.shift()) {
          routers.forEach((r, j) => {
            if (j === m.from) return;
            const k = m.vrid === 51 ? 0 : 1;
            const cfg = r.cfgs[k];
            const sm = r.members[k];
            if (!cfg || !sm) return;
            const src = routers[m.from]?.addr ?? '';
            const v = validateAdvert({ raw: m.bytes, ttlOrHopLimit: 255, source: src, destination: '224.0.0.18', family: 4 }, cfg);
            assert.ok(v.ok, v.ok ? '' : v.detail);
            sm.receiveAdvert(v.packet, src);
          });
        }
      } finally {
        flushing = false;
      }
    };
    prios.forEach((pr, i) => {
      const addr = `10.9.0.${i + 1}`;
      const cfgs = [51, 52].map((vrid, k) => instanceConfig({ name: `VI_${vrid}`, vrid, priority: pr[k] ?? 100 }));
      const members = cfgs.map(
        (cfg) =>
          new VrrpStateMachine({
            config: cfg,
            clock,
            primaryAddress: addr,
            onAction: (a) => {
              if (a.type !== 'send-advert') return;
              send(i, cfg.vrid, encodeVrrp({ version: 2, type: 1, vrid: cfg.vrid, priority: a.priority, advertIntervalCs: 100, addresses: ['10.9.0.50'], authType: 0 }, { family: 4, source: addr, destination: '224.0.0.18' }));
            },
          }),
      );
      routers.push({ members, cfgs, addr, group: new VrrpSyncGroup({ name: `G${i}`, members }) });
    });
    return { clock, routers };
  }

  it('members of a group never split (no MASTER beside a BACKUP), and each VRID has at most one master', () => {
    const prio = fc.integer({ min: 1, max: 254 });
    const cmd = fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 6000 }) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('fault' as const), r: fc.nat(1), k: fc.nat(1), on: fc.boolean() }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('delta' as const), r: fc.nat(1), k: fc.nat(1), delta: fc.integer({ min: -100, max: 100 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('relinquish' as const), r: fc.nat(1), k: fc.nat(1) }) },
    );
    fc.assert(
      fc.property(fc.tuple(fc.tuple(prio, prio), fc.tuple(prio, prio)), fc.array(cmd, { maxLength: 50 }), (prios, cmds) => {
        const { clock, routers } = build(prios);
        for (const r of routers) for (const m of r.members) m.start();
        const check = (after: string) => {
          for (const r of routers) {
            const states = new Set(r.members.map((m) => m.state));
            assert.ok(!(states.has('MASTER') && states.has('BACKUP')), `${r.addr} split after ${after}: ${[...states].join(',')}`);
          }
          for (const k of [0, 1]) {
            const masters = routers.filter((r) => r.members[k]?.state === 'MASTER').length;
            assert.ok(masters <= 1, `two masters for VRID ${k === 0 ? 51 : 52} after ${after}`);
          }
        };
        check('start');
        for (const c of cmds) {
          const m = 'r' in c ? routers[c.r]?.members[c.k] : undefined;
          if (c.kind === 'advance') clock.advance(c.ms);
          else if (c.kind === 'fault') m?.setFault(c.on, 'test');
          else if (c.kind === 'delta') m?.setPriorityDelta(c.delta);
          else m?.relinquish();
          check(JSON.stringify(c));
        }
      }),
      { numRuns: 200 },
    );
  });
});
