/**
 * Agent weight percentages (HAProxy agent-check "75%") and the re-apply on VRRP MASTER, over the
 * director's fakes.
 */
import assert from 'node:assert/strict';
import { percentWeight, targetWeightOf, type PairInput } from '../../../src/director/plan.js';
import type { VrrpController, VrrpInstanceStatus, VrrpStateChange } from '../../../src/vrrp/types.js';
import type { VrrpState } from '../../../src/core/types.js';
import { cluster, fallbackAt, real, virtual } from './fakes.js';
import { startHarness } from './harness.js';

const V = '127.60.0.100:80';
const VID = `tcp:${V}`;
const R1 = '127.60.1.1:80';
const R2 = '127.60.1.2:80';
const FB = '127.60.9.9:80';
const k = (r: string): string => `${VID}/${r}`;

describe('director: agent weight percentages (HAProxy semantics)', () => {
  it('percentWeight is configured x percent / 100 truncated, as HAProxy server_parse_weight_change_request', () => {
    assert.equal(percentWeight(10, 75), 7, '7.5 truncates to 7 (HAProxy integer arithmetic)');
    assert.equal(percentWeight(10, 100), 10);
    assert.equal(percentWeight(10, 0), 0);
    assert.equal(percentWeight(1, 75), 0, 'weight 1 at 75% is 0, as in HAProxy');
    assert.equal(percentWeight(1, 250), 2);
    assert.equal(percentWeight(3, 150), 4);
    assert.equal(percentWeight(40_000, 300), 65_535, 'capped at the highest engine weight');
    assert.equal(percentWeight(10, 99_999), 2_560, 'percent clamped to 25600 like HAProxy');
  });

  it('targetWeightOf: operator weight, then absolute dynamic weight, then agent percentage, then configured', () => {
    const r = real(R1, { weight: 20 });
    const base: PairInput = { health: 'up', maintenance: false, agentDrain: false, inEngine: true };
    assert.equal(targetWeightOf(r, base), 20);
    assert.equal(targetWeightOf(r, { ...base, dynamicWeightPercent: 50 }), 10);
    assert.equal(targetWeightOf(r, { ...base, dynamicWeightPercent: 50, dynamicWeight: 3 }), 3);
    assert.equal(targetWeightOf(r, { ...base, dynamicWeightPercent: 50, override: { kind: 'weight', weight: 9, by: 't', since: 0 } }), 9);
  });

  it('scales the configured weight by the agent percentage, quiesces at 0%, and returns to the configured weight', async () => {
    const h = await startHarness(cluster([virtual(V, [real(R1, { weight: 10 }), real(R2, { weight: 4 })], { quiescent: true, fallback: fallbackAt(FB) })]), { tickMs: 1000 });
    h.health.set(k(R1), 'up', { weightPercent: 75 });
    h.health.set(k(R2), 'up');
    await h.director.settled();
    assert.equal(h.engine.weightOf(VID, R1), 7);
    assert.equal(h.engine.weightOf(VID, R2), 4);
    const st = h.director.status().virtuals[0]?.reals;
    assert.deepEqual([st?.[0]?.configuredWeight, st?.[0]?.checkWeightPercent, st?.[0]?.engineWeight], [10, 75, 7], 'status shows why the weight is 7');
    assert.equal(st?.[1]?.checkWeightPercent, undefined);
    assert.equal(h.director.status().virtuals[0]?.liveWeightSum, 11);

    // A later result changes only the percentage (no transition): the tick notices it.
    h.health.result(k(R1), { ok: true, detail: 'agent says up 150%', durationMs: 1, weightPercent: 150 });
    await h.step(1000);
    assert.equal(h.engine.weightOf(VID, R1), 15);

    h.health.result(k(R1), { ok: true, detail: 'agent says up 0%', durationMs: 1, weightPercent: 0 });
    await h.step(1000);
    assert.equal(h.engine.weightOf(VID, R1), 0, '0% quiesces: in the engine at weight 0');
    assert.equal(h.engine.fallbackIn(VID), false, 'R2 still serves');

    h.health.result(k(R2), { ok: true, detail: 'agent says up 0%', durationMs: 1, weightPercent: 0 });
    await h.step(1000);
    assert.equal(h.engine.weightOf(VID, R2), 0);
    assert.equal(h.engine.fallbackIn(VID), true, 'every real at 0%: quiesced reals count as down, the sorry server is installed');

    h.health.result(k(R1), { ok: true, detail: 'agent says up', durationMs: 1 });
    await h.step(1000);
    assert.equal(h.engine.weightOf(VID, R1), 10, 'no percentage any more: configured weight');
    assert.equal(h.engine.fallbackIn(VID), false);
    await h.director.close();
  });

  it('a from === to transition carrying a new percentage re-plans at once', async () => {
    const h = await startHarness(cluster([virtual(V, [real(R1, { weight: 8 })])]));
    h.health.set(k(R1), 'up');
    await h.director.settled();
    assert.equal(h.engine.weightOf(VID, R1), 8);
    const result = { ok: true, detail: 'agent says up 50%', durationMs: 1, weightPercent: 50 };
    h.health.result(k(R1), result);
    h.health.emit({ key: k(R1), from: 'up', to: 'up', result, at: 0 });
    await h.director.settled();
    assert.equal(h.engine.weightOf(VID, R1), 4);
    await h.director.close();
  });
});

/** A VRRP controller whose transitions the test drives. */
class FakeVrrp implements VrrpController {
  readonly states = new Map<string, VrrpState>();
  private readonly listeners = new Set<(c: VrrpStateChange) => void>();
  constructor(names: string[]) {
    for (const n of names) this.states.set(n, 'BACKUP');
  }
  async start(): Promise<void> {}
  onStateChange(listener: (c: VrrpStateChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  status(): readonly VrrpInstanceStatus[] {
    return [...this.states].map(([name, state], i) => ({
      name, state, vrid: 51 + i, interface: 'lo', basePriority: 100, effectivePriority: 100, transitions: 0, dropped: {}, advertsSent: 0, advertsReceived: 0,
    }));
  }
  async relinquish(): Promise<void> {}
  async close(): Promise<void> {}
  destroy(): void {}
  go(instance: string, to: VrrpState): void {
    const from = this.states.get(instance) ?? 'INIT';
    this.states.set(instance, to);
    for (const l of this.listeners) l({ instance, from, to, reason: 'test', at: 0 });
  }
}

describe('director: re-apply on VRRP MASTER', () => {
  it('each instance that becomes MASTER causes one apply of the unchanged state; other transitions do not', async () => {
    const vrrp = new FakeVrrp(['VI_1', 'VI_2']);
    const h = await startHarness(cluster([virtual(V, [real(R1, { weight: 3 })])]), { vrrp });
    h.health.set(k(R1), 'up');
    await h.director.settled();
    const n = h.engine.applied.length;
    const before = h.engine.last();

    vrrp.go('VI_1', 'MASTER');
    await h.director.settled();
    assert.equal(h.engine.applied.length, n + 1, 'BACKUP -> MASTER applies');
    assert.deepEqual(h.engine.last(), before);

    // A second instance becoming MASTER brings other VIPs: apply again although the role stays MASTER.
    vrrp.go('VI_2', 'MASTER');
    await h.director.settled();
    assert.equal(h.engine.applied.length, n + 2, 'VI_2 BACKUP -> MASTER applies too');

    vrrp.go('VI_2', 'FAULT');
    vrrp.go('VI_2', 'BACKUP');
    await h.director.settled();
    assert.equal(h.engine.applied.length, n + 2, 'FAULT and BACKUP do not touch the engine');

    // Several MASTER transitions in one tick coalesce into one apply.
    vrrp.go('VI_1', 'BACKUP');
    vrrp.go('VI_1', 'MASTER');
    vrrp.go('VI_2', 'MASTER');
    await h.director.settled();
    assert.equal(h.engine.applied.length, n + 3);
    await h.director.close();
  });

  it('a MASTER transition after a failed apply retries it with the state as it is now', async () => {
    const vrrp = new FakeVrrp(['VI_1']);
    const h = await startHarness(cluster([virtual(V, [real(R1)])]), { vrrp });
    h.engine.failKeys = [VID];
    h.health.set(k(R1), 'up');
    await h.director.settled();
    assert.deepEqual(h.director.status().virtuals[0]?.engineErrors, [`${VID}: cannot program ${VID}`]);
    const n = h.engine.applied.length;
    vrrp.go('VI_1', 'MASTER');
    await h.director.settled();
    assert.equal(h.engine.applied.length, n + 1);
    assert.equal(h.director.status().virtuals[0]?.engineErrors, undefined, 'the re-apply on MASTER succeeded and cleared the error');
    assert.equal(h.engine.weightOf(VID, R1), 1);
    await h.director.close();
  });
});
