import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../src/core/clock.js';
import { decodeState, loadStateFile, saveStateFile } from '../../../src/director/state-file.js';
import { cluster, fallbackAt, real, virtual } from './fakes.js';
import { startHarness } from './harness.js';

const V = '127.30.0.100:80';
const VID = `tcp:${V}`;
const R1 = '127.30.1.1:80';
const R2 = '127.30.1.2:80';
const R3 = '127.30.1.3:80';
const k = (r: string, vid = VID): string => `${vid}/${r}`;

describe('director: reload', () => {
  it('keeps health and overrides of unchanged pairs, starts new ones per initialState, purges removed ones, in one apply', async () => {
    const h = await startHarness(cluster([virtual(V, [real(R1), real(R2, { weight: 2 })])]));
    h.health.set(k(R1), 'up');
    h.health.set(k(R2), 'up');
    await h.director.settled();
    h.director.setWeight({ realKey: R1 }, 5, 'ops');
    await h.director.settled();
    const before = h.engine.applied.length;
    const next = cluster([virtual(V, [real(R1), real(R3, { weight: 3 })], { check: { ...virtual(V, []).check, initialState: 'up' } })]);
    await h.director.reload(next);
    assert.equal(h.engine.applied.length, before + 1, 'one engine apply for the reload');
    assert.deepEqual(h.engine.last().services[0]?.reals.map((r) => [r.key, r.weight]), [
      [R1, 5],
      [R3, 3],
    ]);
    const call = h.health.setTargetsCalls[h.health.setTargetsCalls.length - 1];
    assert.deepEqual(call?.keys, [k(R1), k(R3)]);
    // R1's state was observed; R3's 'up' is only its initialState, left to the monitor.
    assert.deepEqual(call?.initial, { [k(R1)]: 'up' });
    const st = h.director.status();
    assert.equal(st.reloads.ok, 1);
    assert.equal(st.virtuals[0]?.reals[0]?.override?.kind, 'weight');
    assert.ok(h.logger.records.some((r) => r.message === `Purged real server (start): ${R2} (${V})`));
    assert.ok(!h.logger.records.some((r) => r.message === `Deleted real server: ${R2} (${V})`), 'purge is not also reported as a delete');
    await h.director.close();
  });

  it('removes a virtual that left the config and adds a new one', async () => {
    const V2 = '127.30.0.101:80';
    const h = await startHarness(cluster([virtual(V, [real(R1)])]));
    h.health.set(k(R1), 'up');
    await h.director.settled();
    await h.director.reload(cluster([virtual(V2, [real(R1)], { fallback: fallbackAt('127.30.9.9:80') })]));
    assert.deepEqual(h.engine.last().services.map((s) => s.key), [`tcp:${V2}`]);
    assert.equal(h.engine.fallbackIn(`tcp:${V2}`), true);
    assert.ok(h.logger.records.some((r) => r.message === `Purged virtual server (start): ${V}`));
    await h.director.close();
  });
});

describe('director: state file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'directord-state-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes atomically and round-trips; rejects other versions', async () => {
    const path = join(dir, 'sub', 'state.json');
    const state = { version: 1 as const, savedAt: 5, pairs: { a: { health: 'up' as const, override: { kind: 'weight' as const, weight: 3, since: 1, by: 'x' } } }, fallbackCommands: { v: 'start' as const } };
    await saveStateFile(path, state);
    assert.deepEqual((await loadStateFile(path)).state, state);
    assert.deepEqual(await readdir(join(dir, 'sub')), ['state.json'], 'no temp file left');
    assert.throws(() => decodeState({ version: 2, pairs: {} }), /unsupported version/);
    assert.equal((await loadStateFile(join(dir, 'missing.json'))).missing, true);
  });

  it('a restart restores health and overrides: no flap to full weight and back, fallbackcommand stop still runs', async () => {
    const stateFile = join(dir, 'state.json');
    const vs = virtual(V, [real(R1, { weight: 4 }), real(R2), real(R3)], { fallbackCommand: ['/bin/sorry'] });
    const h1 = await startHarness(cluster([vs]), { stateFile });
    h1.health.set(k(R1), 'up');
    h1.health.set(k(R2), 'up');
    await h1.director.settled();
    h1.director.disable({ realKey: R2 }, 'ops');
    h1.health.set(k(R1), 'down');
    await h1.director.settled();
    assert.deepEqual(h1.runner.calls.map((c) => c.argv[1]), ['start', 'stop', 'start']);
    await h1.director.close();
    const saved = JSON.parse(await readFile(stateFile, 'utf8')) as { pairs: Record<string, { health: string }> };
    assert.equal(saved.pairs[k(R1)]?.health, 'down');

    // Second process: R1 last known down (quiesced), R2 up but disabled, R3 never checked.
    const h2 = await startHarness(cluster([vs]), { stateFile }, new ManualClock(0, 1_800_000_000_000));
    const first = h2.engine.applied[0];
    assert.deepEqual(first?.services[0]?.reals.map((r) => [r.key, r.weight]), [
      [R1, 0],
      [R3, 0],
    ]);
    assert.deepEqual(h2.health.setTargetsCalls[0]?.initial, { [k(R1)]: 'down', [k(R2)]: 'up' });
    assert.equal(h2.director.status().virtuals[0]?.reals[1]?.override?.kind, 'disabled');
    assert.equal(h2.runner.calls.length, 0, 'last run was already start: not run again');
    h2.health.set(k(R1), 'up');
    await h2.director.settled();
    assert.deepEqual(h2.runner.calls.map((c) => c.argv[1]), ['stop'], 'the stop matching the previous process\'s start');
    for (const s of h2.engine.applied) assert.notEqual(s.services[0]?.reals.find((r) => r.key === R2)?.weight, 1, 'disabled real never flaps in');
    await h2.director.close();
  });

  it('restored up reals go straight to full weight', async () => {
    const stateFile = join(dir, 'state.json');
    const vs = virtual(V, [real(R1, { weight: 4 })], { slowStartMs: 10_000 });
    const h1 = await startHarness(cluster([vs]), { stateFile });
    h1.health.set(k(R1), 'up');
    await h1.director.settled();
    await h1.director.close();
    const h2 = await startHarness(cluster([vs]), { stateFile });
    assert.equal(h2.engine.applied.length, 1);
    assert.equal(h2.engine.weightOf(VID, R1), 4, 'no flap, no slow start at process start');
    await h2.director.close();
  });

  it('a damaged state file means a clean start with a warning', async () => {
    const stateFile = join(dir, 'state.json');
    await writeFile(stateFile, '{"version":1,"pairs":');
    const h = await startHarness(cluster([virtual(V, [real(R1)])]), { stateFile });
    assert.ok(h.logger.records.some((r) => r.level === 'warn' && r.message === 'state file unreadable, starting clean'));
    assert.equal(h.engine.weightOf(VID, R1), 0);
    h.health.set(k(R1), 'up');
    await h.director.settled();
    await h.director.close();
    assert.equal((await loadStateFile(stateFile)).state.pairs[k(R1)]?.health, 'up', 'rewritten cleanly');
  });
});
