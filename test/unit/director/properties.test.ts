import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cluster, fallbackAt, real, virtual } from './fakes.js';
import { startHarness } from './harness.js';

const V = '127.30.0.100:80';
const VID = `tcp:${V}`;
const REALS = ['127.30.3.1:80', '127.30.3.2:80', '127.30.3.3:80'];

type Op =
  | { kind: 'health'; i: number; up: boolean }
  | { kind: 'disable' | 'enable'; i: number }
  | { kind: 'weight'; i: number; w: number }
  | { kind: 'tick' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('health' as const), i: fc.integer({ min: 0, max: 2 }), up: fc.boolean() }),
  fc.record({ kind: fc.constantFrom('disable' as const, 'enable' as const), i: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('weight' as const), i: fc.integer({ min: 0, max: 2 }), w: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ kind: fc.constant('tick' as const) }),
);

describe('director: properties over random event sequences', () => {
  it('every applied state has a live real or the fallback, and matches the rules of its inputs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.boolean(), fc.array(opArb, { minLength: 1, maxLength: 25 }), async (quiescent, withQuorum, ops) => {
        const vs = virtual(V, REALS.map((r) => real(r, { weight: 2 })), {
          quiescent,
          fallback: fallbackAt('127.30.9.9:80'),
          slowStartMs: 3000,
          ...(withQuorum ? { quorum: { quorum: 3, hysteresis: 1 } } : {}),
        });
        const h = await startHarness(cluster([vs]), { tickMs: 500 });
        const health = new Map<string, boolean>();
        const disabled = new Set<string>();
        for (const op of ops) {
          const key = REALS[op.kind === 'tick' ? 0 : op.i] as string;
          if (op.kind === 'health') {
            h.health.set(`${VID}/${key}`, op.up ? 'up' : 'down');
            health.set(key, op.up);
          } else if (op.kind === 'disable') {
            h.director.disable({ realKey: key }, 'p');
            disabled.add(key);
          } else if (op.kind === 'enable') {
            h.director.enable({ realKey: key }, 'p');
            disabled.delete(key);
          } else if (op.kind === 'weight') {
            h.director.setWeight({ realKey: key }, op.w, 'p');
            disabled.delete(key);
          } else await h.step(700);
          await h.director.settled();
          // The last applied state follows the rules for the current inputs.
          const svc = h.engine.last().services[0];
          assert.ok(svc);
          for (const r of svc.reals) {
            if (r.isFallback) continue;
            if (r.weight > 0) assert.ok(health.get(r.key) === true && !disabled.has(r.key), `${r.key} live while down or disabled`);
            if (!quiescent && !disabled.has(r.key) && health.get(r.key) === false) assert.fail(`${r.key} down with quiescent=no must be absent`);
          }
          for (const d of disabled) assert.ok(!svc.reals.some((r) => r.key === d && !r.isFallback), `${d} disabled but present`);
        }
        for (const [i, s] of h.engine.applied.entries()) {
          const svc = s.services[0];
          assert.ok(svc?.reals.some((r) => r.isFallback === true || r.weight > 0), `applied state #${i} offers nothing`);
          assert.ok((svc?.reals.filter((r) => r.isFallback).length ?? 0) <= 1);
        }
        await h.director.close();
        assert.equal(h.clock.pendingTimers(), 0);
      }),
      { numRuns: 150 },
    );
  });
});
