import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectorError } from '../../../src/core/errors.js';
import type { RuntimeEditCommand } from '../../../src/director/runtime-edits.js';
import { cluster, real, virtual } from './fakes.js';
import { startHarness, type Harness } from './harness.js';

const CFG_VS = 'tcp:127.70.1.1:80';
const RT_VS = 'tcp:127.70.1.9:8080';
const svc = { protocol: 'tcp' as const, address: '127.70.1.9', port: 8080 };
const cfgSvc = { protocol: 'tcp' as const, address: '127.70.1.1', port: 80 };

function config() {
  return cluster([virtual('127.70.1.1:80', [real('127.70.1.2:80'), real('127.70.1.3:80')])]);
}

async function ok(h: Harness, commands: RuntimeEditCommand[], by = 'test'): Promise<void> {
  const r = await h.director.runtimeEdit(commands, by);
  assert.equal(r.ok, true, r.ok ? '' : `refused #${r.index}: ${r.error.code} ${r.error.message}`);
}

async function refused(h: Harness, commands: RuntimeEditCommand[]): Promise<{ index: number; code: string }> {
  const r = await h.director.runtimeEdit(commands, 'test');
  assert.equal(r.ok, false, 'expected a refusal');
  return r.ok ? { index: -1, code: '' } : { index: r.index, code: (r.error as DirectorError).code };
}

describe('director/runtime edits (ipvsadm-style overlay)', () => {
  let h: Harness | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    h?.director.destroy();
    h = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('-A adds a service with ipvsadm defaults, -a adds a checked real, -e/-d/-D edit and remove them', async () => {
    h = await startHarness(config());
    await ok(h, [{ op: 'add-service', service: svc, options: { scheduler: 'rr' } }]);
    let s = h.engine.last().services.find((x) => x.key === RT_VS);
    assert.equal(s?.scheduler, 'rr');
    assert.equal(s?.reals.length, 0);
    await ok(h, [{ op: 'add-real', service: svc, real: { address: '127.70.1.10', port: 8080 }, options: { forward: 'masq', weight: 2 } }]);
    // The runtime real is health-checked with the runtime service's TCP connect check.
    const target = h.health.targets.find((t) => t.key === `${RT_VS}/127.70.1.10:8080`);
    assert.equal(target?.check.type, 'connect');
    assert.equal(h.engine.weightOf(RT_VS, '127.70.1.10:8080'), 2);
    s = h.engine.last().services.find((x) => x.key === RT_VS);
    assert.equal(s?.reals[0]?.forward, 'masq');
    const st = h.director.status().virtuals.find((v) => v.id === RT_VS);
    assert.equal(st?.runtime?.kind, 'added');
    assert.equal(st?.runtime?.by, 'test');
    assert.equal(st?.reals[0]?.runtime?.kind, 'added');
    // A failing check takes it out like any real; a recovery restores the operator's weight.
    h.health.set(`${RT_VS}/127.70.1.10:8080`, 'down');
    await h.director.settled();
    assert.equal(h.engine.weightOf(RT_VS, '127.70.1.10:8080'), 0, 'runtime services quiesce (ipvsadm -e -w 0 semantics)');
    h.health.set(`${RT_VS}/127.70.1.10:8080`, 'up');
    await h.director.settled();
    assert.equal(h.engine.weightOf(RT_VS, '127.70.1.10:8080'), 2, 'the runtime weight survives a health transition');
    await ok(h, [{ op: 'edit-real', service: svc, real: { address: '127.70.1.10', port: 8080 }, options: { weight: 0 } }]);
    assert.equal(h.engine.weightOf(RT_VS, '127.70.1.10:8080'), 0);
    await ok(h, [{ op: 'edit-service', service: svc, options: { scheduler: 'wlc', persistence: { timeoutMs: 300_000 } } }]);
    s = h.engine.last().services.find((x) => x.key === RT_VS);
    assert.equal(s?.scheduler, 'wlc');
    assert.deepEqual(s?.persistence, { timeoutMs: 300_000, netmaskPrefixLength: 32 });
    await ok(h, [{ op: 'delete-real', service: svc, real: { address: '127.70.1.10', port: 8080 } }]);
    assert.equal(h.engine.weightOf(RT_VS, '127.70.1.10:8080'), undefined);
    await ok(h, [{ op: 'delete-service', service: svc }]);
    assert.equal(h.engine.last().services.some((x) => x.key === RT_VS), false);
    assert.ok(h.logger.records.some((r) => r.message === 'admin: ipvsadm -A tcp:127.70.1.9:8080' && r.fields?.['by'] === 'test'), 'edits are audited');
  });

  it('refuses what ipvsadm refuses, and fwmark services with a coded error', async () => {
    h = await startHarness(config());
    assert.deepEqual(await refused(h, [{ op: 'add-service', service: cfgSvc, options: {} }]), { index: 0, code: 'DIR_ERR_CONTROL_SERVICE_EXISTS' });
    assert.deepEqual(await refused(h, [{ op: 'edit-service', service: svc, options: {} }]), { index: 0, code: 'DIR_ERR_CONTROL_NO_SUCH_SERVICE' });
    assert.deepEqual(await refused(h, [{ op: 'add-real', service: cfgSvc, real: { address: '127.70.1.2', port: 80 }, options: {} }]), { index: 0, code: 'DIR_ERR_CONTROL_REAL_EXISTS' });
    assert.deepEqual(await refused(h, [{ op: 'edit-real', service: cfgSvc, real: { address: '127.70.1.7', port: 80 }, options: { weight: 3 } }]), { index: 0, code: 'DIR_ERR_CONTROL_NO_SUCH_REAL' });
    assert.deepEqual(await refused(h, [{ op: 'add-service', service: { protocol: 'fwm', fwmark: 5, family: 4 }, options: {} }]), { index: 0, code: 'DIR_ERR_DIRECTOR_RUNTIME_FWMARK' });
    assert.deepEqual(await refused(h, [{ op: 'add-real', service: cfgSvc, real: { address: '::1', port: 80 }, options: {} }]), { index: 0, code: 'DIR_ERR_DIRECTOR_RUNTIME_FAMILY' });
    assert.deepEqual(await refused(h, [{ op: 'edit-real', service: cfgSvc, real: { address: '127.70.1.2', port: 80 }, options: { weight: 70000 } }]), { index: 0, code: 'DIR_ERR_DIRECTOR_BAD_WEIGHT' });
    assert.equal(h.director.status().runtimeEdits, undefined, 'refusals change nothing');
  });

  it('-R is all or nothing: a refused line leaves the table as it was, with no engine apply', async () => {
    h = await startHarness(config());
    const applies = h.director.applyCount();
    const r = await refused(h, [
      { op: 'add-service', service: svc, options: { scheduler: 'rr' } },
      { op: 'add-real', service: svc, real: { address: '127.70.1.10', port: 8080 }, options: { weight: 1 } },
      { op: 'add-real', service: svc, real: { address: '127.70.1.10', port: 8080 }, options: { weight: 1 } },
    ]);
    assert.deepEqual(r, { index: 2, code: 'DIR_ERR_CONTROL_REAL_EXISTS' });
    assert.equal(h.director.applyCount(), applies);
    assert.equal(h.director.status().virtuals.some((v) => v.id === RT_VS), false);
    // The same batch without the duplicate: one engine apply for all of it.
    await ok(h, [
      { op: 'add-service', service: svc, options: { scheduler: 'rr' } },
      { op: 'add-real', service: svc, real: { address: '127.70.1.10', port: 8080 }, options: { weight: 1 } },
      { op: 'add-real', service: svc, real: { address: '127.70.1.11', port: 8080 }, options: { weight: 3 } },
    ]);
    assert.equal(h.director.applyCount(), applies + 1);
    assert.deepEqual(h.engine.last().services.find((x) => x.key === RT_VS)?.reals.map((x) => [x.key, x.weight]), [['127.70.1.10:8080', 1], ['127.70.1.11:8080', 3]]);
  });

  it('configured reals: -e -w pins a weight override, -d disables, -a enables; -E and -D reach configured services', async () => {
    h = await startHarness(config());
    h.health.set(`${CFG_VS}/127.70.1.2:80`, 'up');
    h.health.set(`${CFG_VS}/127.70.1.3:80`, 'up');
    await h.director.settled();
    await ok(h, [{ op: 'edit-real', service: cfgSvc, real: { address: '127.70.1.2', port: 80 }, options: { weight: 5, upperThreshold: 10 } }]);
    const r2 = h.engine.last().services.find((x) => x.key === CFG_VS)?.reals.find((x) => x.key === '127.70.1.2:80');
    assert.deepEqual([r2?.weight, r2?.upperThreshold], [5, 10]);
    const st = h.director.status().virtuals[0]?.reals.find((x) => x.key === '127.70.1.2:80');
    assert.equal(st?.override?.kind, 'weight');
    assert.equal(st?.runtime?.kind, 'edited');
    await ok(h, [{ op: 'delete-real', service: cfgSvc, real: { address: '127.70.1.3', port: 80 } }]);
    assert.equal(h.director.status().virtuals[0]?.reals.find((x) => x.key === '127.70.1.3:80')?.override?.kind, 'disabled');
    await ok(h, [{ op: 'add-real', service: cfgSvc, real: { address: '127.70.1.3', port: 80 }, options: { weight: 1 } }]);
    assert.equal(h.director.status().virtuals[0]?.reals.find((x) => x.key === '127.70.1.3:80')?.override, undefined);
    await ok(h, [{ op: 'edit-service', service: cfgSvc, options: { scheduler: 'sh' } }]);
    assert.equal(h.engine.last().services.find((x) => x.key === CFG_VS)?.scheduler, 'sh');
    await ok(h, [{ op: 'delete-service', service: cfgSvc }]);
    assert.equal(h.engine.last().services.length, 0);
    assert.deepEqual(h.director.status().runtimeEdits?.deletedServices.map((d) => d.id), [CFG_VS]);
    // -C: back to the config (the configured service returns, every runtime edit and override is gone).
    await ok(h, [{ op: 'clear' }]);
    // Its reals were purged with it: they are checked again from scratch, as after a reload.
    h.health.set(`${CFG_VS}/127.70.1.2:80`, 'up');
    h.health.set(`${CFG_VS}/127.70.1.3:80`, 'up');
    await h.director.settled();
    const back = h.engine.last().services.find((x) => x.key === CFG_VS);
    assert.equal(back?.scheduler, 'wrr');
    assert.deepEqual(back?.reals.map((x) => [x.key, x.weight, x.upperThreshold]), [['127.70.1.2:80', 1, 0], ['127.70.1.3:80', 1, 0]]);
    assert.equal(h.director.status().runtimeEdits, undefined);
  });

  it('runtime edits survive a reload and a restart (state file); the config wins where it now defines them', async () => {
    dir = await mkdtemp(join(tmpdir(), 'directord-runtime-'));
    const stateFile = join(dir, 'state.json');
    h = await startHarness(config(), { stateFile });
    await ok(h, [
      { op: 'add-service', service: svc, options: { scheduler: 'rr' } },
      { op: 'add-real', service: svc, real: { address: '127.70.1.10', port: 8080 }, options: { weight: 4 } },
      { op: 'add-real', service: cfgSvc, real: { address: '127.70.1.4', port: 80 }, options: { forward: 'masq' } },
      { op: 'set-timeouts', timeouts: { tcpMs: 60_000, tcpFinMs: 0, udpMs: 0 } },
    ]);
    assert.deepEqual(h.engine.last().services.find((x) => x.key === CFG_VS)?.timeouts, { tcpMs: 60_000, tcpFinMs: 120_000, udpMs: 300_000 });
    // Reload of a config that now defines 127.70.1.4: the configured real replaces the runtime one.
    await h.director.reload(cluster([virtual('127.70.1.1:80', [real('127.70.1.2:80'), real('127.70.1.3:80'), real('127.70.1.4:80', { weight: 7 })])]));
    assert.equal(h.director.status().virtuals.find((v) => v.id === CFG_VS)?.reals.find((r) => r.key === '127.70.1.4:80')?.runtime, undefined);
    assert.equal(h.director.status().virtuals.find((v) => v.id === RT_VS)?.runtime?.kind, 'added', 'the runtime service survives the reload');
    await h.director.close();
    const saved = JSON.parse(await readFile(stateFile, 'utf8')) as { runtime?: { addedServices: Record<string, unknown> } };
    assert.deepEqual(Object.keys(saved.runtime?.addedServices ?? {}), [RT_VS]);
    h = await startHarness(config(), { stateFile });
    const s = h.engine.last().services.find((x) => x.key === RT_VS);
    assert.deepEqual(s?.reals.map((x) => [x.key, x.weight]), [['127.70.1.10:8080', 4]]);
    assert.equal(h.engine.last().services.find((x) => x.key === CFG_VS)?.timeouts.tcpMs, 60_000, '--set survives the restart');
  });

  it('-Z zeroes counters in the director view (the embedded engine keeps running totals)', async () => {
    h = await startHarness(config());
    const engine = h.engine;
    let total = 10;
    const original = engine.stats.bind(engine);
    engine.stats = () => {
      const s = original();
      return { services: s.services.map((x) => ({ ...x, counters: { conns: total, inPackets: total, outPackets: total, inBytes: total * 100, outBytes: total * 100 } })) };
    };
    assert.equal(h.director.engineStats().services[0]?.counters.conns, 10);
    await ok(h, [{ op: 'zero' }]);
    assert.equal(h.director.engineStats().services[0]?.counters.conns, 0);
    total = 13;
    assert.equal(h.director.engineStats().services[0]?.counters.conns, 3);
    assert.equal(h.director.engineStats().services[0]?.counters.inBytes, 300);
  });

  it('concurrent edits and a reload are serialised: each sees the table the previous left', async () => {
    h = await startHarness(config());
    const d = h.director;
    const results = await Promise.all([
      d.runtimeEdit([{ op: 'add-service', service: svc, options: { scheduler: 'rr' } }], 'a'),
      d.runtimeEdit([{ op: 'add-real', service: svc, real: { address: '127.70.1.10', port: 8080 }, options: { weight: 2 } }], 'b'),
      d.reload(config()),
      d.runtimeEdit([{ op: 'add-service', service: svc, options: {} }], 'c'),
    ]);
    assert.deepEqual(results.map((r) => (r === undefined ? 'reload' : r.ok ? 'ok' : (r.error as DirectorError).code)), ['ok', 'ok', 'reload', 'DIR_ERR_CONTROL_SERVICE_EXISTS']);
    assert.equal(h.engine.weightOf(RT_VS, '127.70.1.10:8080'), 2);
  });

  it('-R after -C round-trips a saved table: -A/-a of the configured entries that -C left are no-ops in a batch', async () => {
    h = await startHarness(config());
    await ok(h, [
      { op: 'clear' },
      { op: 'add-service', service: cfgSvc, options: { scheduler: 'wrr' } },
      { op: 'add-real', service: cfgSvc, real: { address: '127.70.1.2', port: 80 }, options: { forward: 'masq', weight: 1 } },
      { op: 'add-service', service: svc, options: { scheduler: 'rr' } },
    ]);
    assert.deepEqual(h.engine.last().services.map((x) => x.key), [CFG_VS, RT_VS]);
    // A single -A of a configured service stays an error, as in ipvsadm.
    assert.equal((await refused(h, [{ op: 'add-service', service: cfgSvc, options: { scheduler: 'wrr' } }])).code, 'DIR_ERR_CONTROL_SERVICE_EXISTS');
  });
});
