import assert from 'node:assert/strict';
import type { DesiredState } from '../../../src/engine/model.js';
import { cluster, fallbackAt, real, virtual } from './fakes.js';
import { startHarness } from './harness.js';

const V = '127.30.0.100:80';
const VID = `tcp:${V}`;
const R1 = '127.30.1.1:80';
const R2 = '127.30.1.2:80';
const R3 = '127.30.1.3:80';
const FB = '127.30.9.9:80';
const k = (r: string, vid = VID): string => `${vid}/${r}`;

/** Every applied state must offer traffic somewhere: a real with weight > 0 or the fallback. */
function assertNeverEmpty(states: readonly DesiredState[], serviceKey: string): void {
  states.forEach((s, i) => {
    const svc = s.services.find((x) => x.key === serviceKey);
    assert.ok(svc, `state ${i} lacks ${serviceKey}`);
    const ok = svc.reals.some((r) => r.isFallback === true || r.weight > 0);
    assert.ok(ok, `applied state #${i} has neither a live real nor the fallback: ${JSON.stringify(svc.reals)}`);
  });
}

describe('director: start, quiesce vs remove, readdquiescent', () => {
  it('hands one health target per (virtual, real) pair and quiesces unchecked reals at start without flapping', async () => {
    const h = await startHarness(cluster([virtual(V, [real(R1), real(R2)], { quiescent: true })]));
    assert.equal(h.engine.started, true);
    assert.deepEqual(h.health.targets.map((t) => t.key), [k(R1), k(R2)]);
    assert.equal(h.health.targets[0]?.target.virtualAddress, '127.30.0.100');
    assert.equal(h.health.started, true);
    // ldirectord (readdquiescent=no) would add at full weight first; directord never does.
    for (const s of h.engine.applied) for (const r of s.services[0]?.reals ?? []) assert.equal(r.weight, 0, 'no real at full weight before its first check');
    assert.equal(h.engine.weightOf(VID, R1), 0);
    assert.equal(h.engine.weightOf(VID, R2), 0);
    await h.director.close();
  });

  it('quiescent=yes: a failed real stays in the engine at weight 0; quiescent=no: it is removed', async () => {
    for (const quiescent of [true, false]) {
      const h = await startHarness(cluster([virtual(V, [real(R1, { weight: 3 }), real(R2)], { quiescent })]));
      h.health.set(k(R1), 'up');
      h.health.set(k(R2), 'up');
      await h.director.settled();
      assert.equal(h.engine.weightOf(VID, R1), 3);
      h.health.set(k(R1), 'down');
      await h.director.settled();
      assert.equal(h.engine.weightOf(VID, R1), quiescent ? 0 : undefined, `quiescent=${quiescent}`);
      assert.equal(h.engine.weightOf(VID, R2), 1);
      const st = h.director.status().virtuals[0]?.reals[0];
      assert.equal(st?.health, 'down');
      assert.equal(st?.engineWeight, quiescent ? 0 : undefined);
      assert.ok(h.logger.records.some((r) => r.message === (quiescent ? `Quiescent real server: ${R1} (${V}) (Weight set to 0)` : `Deleted real server: ${R1} (${V})`)));
      await h.director.close();
    }
  });

  it('readdquiescent decides whether a quiescent real that left the engine is re-added at weight 0', async () => {
    for (const readdQuiescent of [false, true]) {
      const h = await startHarness(cluster([virtual(V, [real(R1), real(R2)], { quiescent: true })], { readdQuiescent }));
      h.health.set(k(R2), 'up');
      h.director.disable({ realKey: R1 }, 'test');
      await h.director.settled();
      assert.equal(h.engine.weightOf(VID, R1), undefined);
      h.director.enable({ realKey: R1 }, 'test');
      await h.director.settled();
      // R1 is still unchecked (down), and was absent: only readdquiescent=yes puts it back at 0.
      assert.equal(h.engine.weightOf(VID, R1), readdQuiescent ? 0 : undefined, `readdquiescent=${readdQuiescent}`);
      h.health.set(k(R1), 'up');
      await h.director.settled();
      assert.equal(h.engine.weightOf(VID, R1), 1);
      await h.director.close();
    }
  });
});

describe('director: fallback (sorry server) and fallbackcommand', () => {
  it('swaps the last real and the fallback in one apply, both ways, and never applies an empty pool', async () => {
    for (const quiescent of [true, false]) {
      const h = await startHarness(cluster([virtual(V, [real(R1), real(R2), real(R3)], { quiescent, fallback: fallbackAt(FB) })]));
      assert.equal(h.engine.fallbackIn(VID), true, 'no real checked yet: fallback installed at start');
      const firstUp = h.engine.applied.length;
      h.health.set(k(R1), 'up');
      await h.director.settled();
      assert.equal(h.engine.applied.length, firstUp + 1, 'one apply for the transition');
      assert.equal(h.engine.fallbackIn(VID), false);
      assert.equal(h.engine.weightOf(VID, R1), 1);
      for (const r of [R2, R3]) h.health.set(k(r), 'up');
      await h.director.settled();
      for (const r of [R1, R2, R3]) {
        h.health.set(k(r), 'down');
        await h.director.settled();
      }
      assert.equal(h.engine.fallbackIn(VID), true);
      const fb = h.engine.last().services[0]?.reals.find((r) => r.isFallback);
      assert.deepEqual([fb?.key, fb?.address, fb?.port, fb?.weight], [FB, '127.30.9.9', 80, 1]);
      h.health.set(k(R2), 'up');
      await h.director.settled();
      assert.equal(h.engine.fallbackIn(VID), false);
      assertNeverEmpty(h.engine.applied, VID);
      assert.equal(h.director.status().virtuals[0]?.fallbackActive, false);
      await h.director.close();
    }
  });

  it('counts quiesced (weight 0) reals as down: an operator weight of 0 on the last real installs the fallback', async () => {
    const h = await startHarness(cluster([virtual(V, [real(R1)], { fallback: fallbackAt(FB) })]));
    h.health.set(k(R1), 'up');
    await h.director.settled();
    assert.equal(h.engine.fallbackIn(VID), false);
    h.director.setWeight({ realKey: R1 }, 0, 'ops');
    await h.director.settled();
    assert.equal(h.engine.weightOf(VID, R1), 0);
    assert.equal(h.engine.fallbackIn(VID), true);
    assertNeverEmpty(h.engine.applied.slice(1), VID);
    await h.director.close();
  });

  it('runs fallbackcommand start once when no real is up and stop once when one returns (argv, no shell)', async () => {
    const vs = virtual(V, [real(R1), real(R2)], { fallbackCommand: ['/usr/local/bin/sorry', '--mode', 'a b'] });
    const h = await startHarness(cluster([vs]));
    assert.deepEqual(h.runner.calls.map((c) => c.argv), [['/usr/local/bin/sorry', '--mode', 'a b', 'start', V, 'tcp']]);
    h.health.set(k(R1), 'up');
    await h.director.settled();
    h.health.set(k(R2), 'up');
    await h.director.settled();
    h.health.set(k(R1), 'down');
    await h.director.settled();
    assert.deepEqual(h.runner.calls.map((c) => c.argv[3]), ['start', 'stop'], 'R2 still up: no second start');
    h.health.set(k(R2), 'down');
    await h.director.settled();
    assert.deepEqual(h.runner.calls.map((c) => c.argv[3]), ['start', 'stop', 'start']);
    await h.director.close();
    assert.equal(h.runner.calls.length, 3, 'fallbackcommand is not run on shutdown (ldirectord-spec 10.7)');
  });

  it('passes [v6]:port and :0 for fwmark virtuals to fallbackcommand', async () => {
    const v6 = virtual('[2001:db8::1]:443', [real('[2001:db8::10]:443')], { fallbackCommand: ['/bin/true'] });
    const fwm = { ...virtual('127.30.0.5:0', [real('127.30.1.5:80')], { fallbackCommand: ['/bin/true'] }), id: 'fwm:7', protocol: 'fwm' as const, fwmark: 7, port: 0 };
    const { address: _a, ...fwmNoAddr } = fwm;
    void _a;
    const h = await startHarness(cluster([v6, fwmNoAddr]));
    assert.deepEqual(h.runner.calls.map((c) => c.argv.slice(1)), [
      ['start', '[2001:db8::1]:443', 'tcp'],
      ['start', ':0', 'fwm'],
    ]);
    await h.director.close();
  });
});

describe('director: quorum with hysteresis (keepalived-spec 4.3)', () => {
  it('gains at S >= Q+H, keeps it down to Q-H, loses below, and runs quorum_up / quorum_down', async () => {
    const reals = ['127.30.2.1:80', '127.30.2.2:80', '127.30.2.3:80', '127.30.2.4:80', '127.30.2.5:80'].map((r) => real(r));
    const vs = virtual(V, reals, { quorum: { quorum: 3, hysteresis: 1, upCommand: ['/bin/qup'], downCommand: ['/bin/qdown'] } });
    const h = await startHarness(cluster([vs]));
    const cmds = (): string[] => h.runner.calls.map((c) => c.argv[0] as string);
    assert.deepEqual(cmds(), ['/bin/qdown'], 'nothing live at start: quorum lost');
    const up = async (i: number, to: 'up' | 'down'): Promise<boolean> => {
      h.health.set(k(reals[i]?.key as string), to);
      await h.director.settled();
      return h.director.status().virtuals[0]?.quorumUp as boolean;
    };
    assert.equal(await up(0, 'up'), false);
    assert.equal(await up(1, 'up'), false);
    assert.equal(await up(2, 'up'), false, 'S=3 < Q+H=4');
    assert.equal(await up(3, 'up'), true, 'S=4 >= Q+H');
    assert.deepEqual(cmds(), ['/bin/qdown', '/bin/qup']);
    assert.equal(await up(3, 'down'), true, 'S=3 >= Q-H');
    assert.equal(await up(2, 'down'), true, 'S=2 = Q-H: not below');
    assert.equal(await up(1, 'down'), false, 'S=1 < Q-H');
    assert.deepEqual(cmds(), ['/bin/qdown', '/bin/qup', '/bin/qdown']);
    assert.ok(h.logger.records.some((r) => r.message === `Gained quorum 3+1=4 <= 4 for VS ${V}`));
    assert.ok(h.logger.records.some((r) => r.message === `Lost quorum 3-1=2 > 1 for VS ${V}`));
    await h.director.close();
  });

  it('with a sorry server, losing quorum removes the live reals and installs it in the same apply', async () => {
    const reals = [real(R1, { weight: 2 }), real(R2, { weight: 2 })];
    const h = await startHarness(cluster([virtual(V, reals, { quorum: { quorum: 3, hysteresis: 0 }, fallback: fallbackAt(FB), quiescent: false })]));
    h.health.set(k(R1), 'up');
    h.health.set(k(R2), 'up');
    await h.director.settled();
    assert.equal(h.engine.weightOf(VID, R1), 2);
    assert.equal(h.engine.fallbackIn(VID), false);
    h.health.set(k(R2), 'down');
    await h.director.settled();
    assert.equal(h.engine.weightOf(VID, R1), undefined, 'alive but removed: quorum lost');
    assert.equal(h.engine.fallbackIn(VID), true);
    assertNeverEmpty(h.engine.applied.slice(1), VID);
    await h.director.close();
  });
});

describe('director: slow start', () => {
  it('ramps a recovered real from 1 to its weight over slowStartMs, stepped by the clock', async () => {
    const h = await startHarness(cluster([virtual(V, [real(R1, { weight: 20 }), real(R2)], { slowStartMs: 10_000 })]));
    h.health.set(k(R1), 'up');
    h.health.set(k(R2), 'up');
    await h.director.settled();
    assert.equal(h.engine.weightOf(VID, R1), 20, 'first result after start: no ramp');
    h.health.set(k(R1), 'down');
    await h.director.settled();
    h.health.set(k(R1), 'up');
    await h.director.settled();
    assert.equal(h.engine.weightOf(VID, R1), 1, 'recovery starts at weight 1');
    assert.ok((h.director.status().virtuals[0]?.reals[0]?.slowStartUntil ?? 0) > 0);
    const seen: number[] = [];
    for (let t = 0; t < 12; t++) {
      await h.step(1000);
      seen.push(h.engine.weightOf(VID, R1) as number);
    }
    for (let i = 1; i < seen.length; i++) assert.ok((seen[i] as number) >= (seen[i - 1] as number), `monotonic: ${seen.join(',')}`);
    assert.equal(seen[4], 10, 'half way after 5 s');
    assert.equal(seen[9], 20, 'full weight at 10 s');
    assert.equal(seen[11], 20);
    assert.equal(h.director.status().virtuals[0]?.reals[0]?.slowStartUntil, undefined);
    assert.ok(h.logger.records.some((r) => r.message.startsWith('slow start finished')));
    await h.director.close();
  });
});

describe('director: overrides and drain', () => {
  it('disable / weight / enable, with audit lines, validation and unknown-real errors', async () => {
    const h = await startHarness(cluster([virtual(V, [real(R1, { weight: 4 }), real(R2)])]));
    h.health.set(k(R1), 'up');
    h.health.set(k(R2), 'up');
    await h.director.settled();
    h.director.disable({ virtualId: VID, realKey: R1 }, 'alice');
    await h.director.settled();
    assert.equal(h.engine.weightOf(VID, R1), undefined);
    assert.equal(h.director.status().virtuals[0]?.reals[0]?.override?.kind, 'disabled');
    h.director.setWeight({ realKey: R1 }, 9, 'bob');
    await h.director.settled();
    assert.equal(h.engine.weightOf(VID, R1), 9);
    h.director.enable({ realKey: R1 }, 'carol');
    await h.director.settled();
    assert.equal(h.engine.weightOf(VID, R1), 4);
    const audits = h.logger.records.filter((r) => r.fields['audit'] === true).map((r) => `${r.message}:${String(r.fields['by'])}`);
    assert.deepEqual(audits, ['admin: disable:alice', 'admin: weight:bob', 'admin: enable:carol']);
    assert.throws(() => h.director.setWeight({ realKey: R1 }, 70000, 'x'), /DIR_ERR_DIRECTOR_BAD_WEIGHT|invalid weight/);
    assert.throws(() => h.director.disable({ realKey: '127.30.1.99:80' }, 'x'), (e: Error & { code?: string }) => e.code === 'DIR_ERR_DIRECTOR_UNKNOWN_REAL');
    assert.throws(() => h.director.disable({ virtualId: 'tcp:1.2.3.4:80', realKey: R1 }, 'x'), (e: Error & { code?: string }) => e.code === 'DIR_ERR_DIRECTOR_UNKNOWN_VIRTUAL');
    await h.director.close();
  });

  it('drain: weight 0, progress until connections reach zero, then the real is removed', async () => {
    const h = await startHarness(cluster([virtual(V, [real(R1), real(R2)])]), { drainPollMs: 1000 });
    h.health.set(k(R1), 'up');
    h.health.set(k(R2), 'up');
    await h.director.settled();
    h.engine.conns.set(`${VID}/${R1}`, { active: 3, inactive: 1 });
    const handle = h.director.drain({ realKey: R1 }, 60_000, 'ops');
    await h.director.settled();
    assert.equal(h.engine.weightOf(VID, R1), 0, 'draining: weight 0, still in the engine');
    const progress: number[] = [];
    const consume = (async () => {
      for await (const p of handle) progress.push(p.activeConns + p.inactiveConns);
    })();
    await h.step(1000);
    h.engine.conns.set(`${VID}/${R1}`, { active: 1, inactive: 0 });
    await h.step(1000);
    h.engine.conns.set(`${VID}/${R1}`, { active: 0, inactive: 0 });
    await h.step(1000);
    const outcome = await handle.done;
    await consume;
    assert.equal(outcome.reason, 'idle');
    assert.deepEqual(progress.slice(-2), [1, 0]);
    assert.ok(progress.includes(4));
    await h.director.settled();
    assert.equal(h.engine.weightOf(VID, R1), undefined, 'removed after the drain');
    assert.equal(h.director.status().virtuals[0]?.reals[0]?.override?.kind, 'disabled');
    await h.director.close();
  });

  it('drain: the deadline ends it even with connections left', async () => {
    const h = await startHarness(cluster([virtual(V, [real(R1), real(R2)])]), { drainPollMs: 500 });
    h.health.set(k(R1), 'up');
    await h.director.settled();
    h.engine.conns.set(`${VID}/${R1}`, { active: 5, inactive: 0 });
    const handle = h.director.drain({ virtualId: VID, realKey: R1 }, 3000, 'ops');
    await h.step(2500);
    assert.equal(h.engine.weightOf(VID, R1), 0);
    await h.step(1000);
    const outcome = await handle.done;
    assert.deepEqual(outcome, { reason: 'deadline', activeConns: 5, inactiveConns: 0 });
    await h.director.settled();
    assert.equal(h.engine.weightOf(VID, R1), undefined);
    await h.director.close();
  });
});

describe('director: shared reals, dynamic weights, VRRP, engine failures, cleanstop', () => {
  it('counts a real shared by two virtuals per (virtual, real) pair', async () => {
    const V2 = '127.30.0.101:80';
    const h = await startHarness(cluster([virtual(V, [real(R1), real(R2)]), virtual(V2, [real(R1)], { quiescent: false })]));
    assert.deepEqual(h.health.targets.map((t) => t.key), [k(R1), k(R2), k(R1, `tcp:${V2}`)]);
    h.health.set(k(R1), 'up');
    await h.director.settled();
    assert.equal(h.engine.weightOf(VID, R1), 1);
    assert.equal(h.engine.weightOf(`tcp:${V2}`, R1), undefined, 'the other pair is still unchecked');
    h.health.set(k(R1, `tcp:${V2}`), 'up');
    h.health.set(k(R1), 'down');
    await h.director.settled();
    assert.equal(h.engine.weightOf(VID, R1), 0);
    assert.equal(h.engine.weightOf(`tcp:${V2}`, R1), 1);
    // An admin action without virtualId hits the real in both virtuals.
    h.director.setWeight({ realKey: R1 }, 7, 'ops');
    await h.director.settled();
    assert.equal(h.engine.weightOf(`tcp:${V2}`, R1), 7);
    assert.equal(h.director.status().virtuals[0]?.reals[0]?.override?.kind, 'weight');
    await h.director.close();
  });

  it('follows dynamic weights and agent drain reported by checks', async () => {
    const h = await startHarness(cluster([virtual(V, [real(R1, { weight: 10 }), real(R2)])]), { tickMs: 1000 });
    h.health.set(k(R1), 'up');
    await h.director.settled();
    h.health.result(k(R1), { ok: true, detail: 'exit 9', durationMs: 1, weight: 7 });
    await h.step(1000);
    assert.equal(h.engine.weightOf(VID, R1), 7);
    assert.equal(h.director.status().virtuals[0]?.reals[0]?.lastCheck?.detail, 'exit 9', 'status shows the latest check, not only the last transition');
    assert.equal(h.director.status().virtuals[0]?.reals[0]?.lastCheck?.at, h.clock.wallNow() - 1000);
    h.health.result(k(R1), { ok: true, detail: 'drain', durationMs: 1, drain: true });
    await h.step(1000);
    assert.equal(h.engine.weightOf(VID, R1), 0, 'agent drain quiesces');
    h.health.result(k(R1), { ok: true, detail: 'up', durationMs: 1 });
    await h.step(1000);
    assert.equal(h.engine.weightOf(VID, R1), 10);
    await h.director.close();
  });

  it('records the VRRP role, keeps the engine state in BACKUP, and relinquishes on failover', async () => {
    type Listener = (c: import('../../../src/vrrp/types.js').VrrpStateChange) => void;
    const listeners: Listener[] = [];
    const relinquished: string[] = [];
    let state: 'BACKUP' | 'MASTER' = 'BACKUP';
    const vrrp = {
      async start() {},
      onStateChange(l: Listener) {
        listeners.push(l);
        return () => undefined;
      },
      status: () => [{ name: 'VI_1', state, vrid: 51, interface: 'eth0', basePriority: 100, effectivePriority: 100, transitions: 0, dropped: {}, advertsSent: 0, advertsReceived: 0 }],
      async relinquish(name: string) {
        relinquished.push(name);
      },
      async close() {},
      destroy() {},
    };
    const h = await startHarness(cluster([virtual(V, [real(R1)])]), { vrrp });
    assert.equal(h.director.status().role, 'BACKUP');
    h.health.set(k(R1), 'up');
    await h.director.settled();
    const applies = h.engine.applied.length;
    state = 'MASTER';
    for (const l of listeners) l({ instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master down timer', at: 0 });
    await h.director.settled();
    assert.equal(h.director.status().role, 'MASTER');
    // Becoming MASTER re-applies the unchanged state once (the engine re-binds listeners on the new VIPs).
    assert.equal(h.engine.applied.length, applies + 1, 'BACKUP -> MASTER re-applies');
    assert.deepEqual(h.engine.applied[applies], h.engine.applied[applies - 1], 'the same desired state, nothing else changed');
    state = 'BACKUP';
    for (const l of listeners) l({ instance: 'VI_1', from: 'MASTER', to: 'BACKUP', reason: 'higher priority', at: 0 });
    await h.director.settled();
    assert.equal(h.director.status().role, 'BACKUP');
    assert.equal(h.engine.applied.length, applies + 1, 'warm takeover: losing MASTER does not touch the engine');
    assert.equal(h.engine.weightOf(VID, R1), 1);
    state = 'MASTER';
    assert.deepEqual(await h.director.failover(undefined, 'ops'), ['VI_1']);
    assert.deepEqual(relinquished, ['VI_1']);
    await h.director.close();
    const h2 = await startHarness(cluster([virtual(V, [real(R1)])]));
    await assert.rejects(h2.director.failover(undefined, 'ops'), (e: Error & { code?: string }) => e.code === 'DIR_ERR_DIRECTOR_NO_VRRP');
    await h2.director.close();
  });

  it('logs and shows failed apply items, survives a throwing engine, and retries on the next tick', async () => {
    const h = await startHarness(cluster([virtual(V, [real(R1)])]), { tickMs: 1000 });
    h.engine.failKeys = [`${VID}/${R1}`];
    h.health.set(k(R1), 'up');
    await h.director.settled();
    assert.deepEqual(h.director.status().virtuals[0]?.engineErrors, [`${VID}/${R1}: cannot program ${VID}/${R1}`]);
    const n = h.engine.applied.length;
    await h.step(1000);
    assert.equal(h.engine.applied.length, n + 1, 'a failed apply is retried');
    assert.equal(h.director.status().virtuals[0]?.engineErrors, undefined);
    h.engine.throwNext = new Error('netlink exploded');
    h.health.set(k(R1), 'down');
    await h.director.settled();
    assert.ok(h.logger.records.some((r) => r.level === 'error' && r.message === 'engine apply failed'));
    await h.step(1000);
    assert.equal(h.engine.weightOf(VID, R1), 0, 'state converged after the failure');
    await h.director.close();
  });

  it('close honours cleanstop per virtual', async () => {
    const V2 = '127.30.0.101:80';
    const h = await startHarness(cluster([virtual(V, [real(R1)], { cleanStop: true }), virtual(V2, [real(R2)], { cleanStop: false })]));
    h.health.set(k(R1), 'up');
    h.health.set(k(R2, `tcp:${V2}`), 'up');
    await h.director.settled();
    await h.director.close();
    await h.director.close();
    assert.deepEqual(h.engine.last().services.map((s) => s.key), [`tcp:${V2}`]);
    assert.equal(h.engine.weightOf(`tcp:${V2}`, R2), 1, 'cleanstop=no leaves weights as they are');
    assert.ok(h.logger.records.some((r) => r.message === `Purged real server (stop): ${R1} (${V})`));
    assert.ok(h.logger.records.some((r) => r.message === `Purged virtual server (stop): ${V}`));
    assert.equal(h.health.closed, true);
    assert.equal(h.engine.closed, true);
    assert.equal(h.clock.pendingTimers(), 0, 'no timer left behind');
  });

  it('never puts check secrets in status or logs', async () => {
    const h = await startHarness(cluster([virtual(V, [real(R1)], { fallback: fallbackAt(FB) })]));
    h.health.set(k(R1), 'up');
    await h.director.settled();
    const text = JSON.stringify(h.director.status()) + JSON.stringify(h.logger.records);
    assert.ok(!text.includes('pw-secret') && !text.includes('radius-secret'));
    await h.director.close();
  });
});

describe('director: checkNow, destroy, reload failures, result-only transitions', () => {
  it('checkNow runs the selected pairs\' checks through the monitor (audited)', async () => {
    const V2 = '127.30.0.101:80';
    const h = await startHarness(cluster([virtual(V, [real(R1)]), virtual(V2, [real(R1)])]));
    const results = await h.director.checkNow({ realKey: R1 }, 'ops');
    assert.deepEqual(h.health.checkNowCalls, [k(R1), k(R1, `tcp:${V2}`)]);
    assert.deepEqual(results.map((r) => [r.virtualId, r.realKey, r.result.ok]), [
      [VID, R1, true],
      [`tcp:${V2}`, R1, true],
    ]);
    assert.ok(h.logger.records.some((r) => r.message === 'admin: check' && r.fields['by'] === 'ops'));
    await h.director.close();
  });

  it('a transition whose from equals to (new dynamic weight) re-plans without touching health history', async () => {
    const h = await startHarness(cluster([virtual(V, [real(R1, { weight: 10 })])]));
    h.health.set(k(R1), 'up');
    await h.director.settled();
    const hist = h.director.status().virtuals[0]?.reals[0]?.history.length;
    h.health.result(k(R1), { ok: true, detail: 'exit 5', durationMs: 1, weight: 3 });
    // what the real monitor emits for a weight change (src/health/monitor.ts)
    h.health.emit({ key: k(R1), from: 'up', to: 'up', result: { ok: true, detail: 'exit 5', durationMs: 1, weight: 3 }, at: 0 });
    await h.director.settled();
    assert.equal(h.engine.weightOf(VID, R1), 3);
    assert.equal(h.director.status().virtuals[0]?.reals[0]?.history.length, hist);
    await h.director.close();
  });

  it('counts reload failures and refuses admin actions after close; destroy is immediate and idempotent', async () => {
    const h = await startHarness(cluster([virtual(V, [real(R1)])]));
    h.director.recordReloadFailure(new Error('ldirectord.cf:3:1: bad directive'));
    assert.deepEqual(h.director.status().reloads, { ok: 0, failed: 1, lastError: 'ldirectord.cf:3:1: bad directive' });
    h.director.destroy();
    h.director.destroy();
    assert.equal(h.engine.closed, true);
    assert.equal(h.clock.pendingTimers(), 0);
    assert.throws(() => h.director.disable({ realKey: R1 }, 'x'), (e: Error & { code?: string }) => e.code === 'DIR_ERR_DIRECTOR_NOT_STARTED');
    await assert.rejects(h.director.reload(cluster([virtual(V, [real(R1)])])), (e: Error & { code?: string }) => e.code === 'DIR_ERR_DIRECTOR_NOT_STARTED');
  });

  it('an IPv6 virtual keeps canonical addresses in the engine and bracketed keys', async () => {
    const v6 = virtual('[2001:db8::1]:80', [real('[2001:db8::10]:80')], { fallback: fallbackAt('[2001:db8::99]:80') });
    const h = await startHarness(cluster([v6]));
    const svc = h.engine.last().services[0];
    assert.equal(svc?.address, '2001:db8::1');
    assert.equal(svc?.family, 6);
    assert.deepEqual(svc?.reals.map((r) => [r.key, r.address]), [
      ['[2001:db8::10]:80', '2001:db8::10'],
      ['[2001:db8::99]:80', '2001:db8::99'],
    ]);
    h.director.setWeight({ realKey: '[2001:DB8:0::10]:80' }, 2, 'ops');
    h.health.set('tcp:[2001:db8::1]:80/[2001:db8::10]:80', 'up');
    await h.director.settled();
    assert.equal(h.engine.weightOf('tcp:[2001:db8::1]:80', '[2001:db8::10]:80'), 2, 'selector canonicalised');
    await h.director.close();
  });
});
