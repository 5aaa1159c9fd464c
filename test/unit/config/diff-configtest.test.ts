/** diffConfig and runConfigTest. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConfigTest } from '../../../src/config/configtest.js';
import { diffConfig } from '../../../src/config/diff.js';
import { EXIT } from '../../../src/core/exit-status.js';
import { cfOk, ok, OPTIONS, tomlText } from './helpers.js';

describe('config/diff', () => {
  it('identical configs (even with blocks moved) give an empty diff', async () => {
    const a = await cfOk('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\nvirtual=10.0.0.2:80\n\treal=10.0.1.1:80 gate\n');
    const b = await cfOk('# moved\n\nvirtual=10.0.0.2:80\n\treal=10.0.1.1:80 gate\n\nvirtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n');
    const d = diffConfig(a, b);
    assert.equal(d.isEmpty, true);
  });

  it('lists changed check fields and changed reals with their fields', async () => {
    const a = await cfOk('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate 1\n\tchecktype=connect\n');
    const b = await cfOk('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 masq 4\n\tchecktype=negotiate\n\trequest="x"\n');
    const d = diffConfig(a, b);
    const ch = d.virtualsChanged[0];
    assert.deepEqual(ch?.fields, ['check.type', 'check.request']);
    assert.deepEqual(ch?.realsChanged.map((r) => [r.key, r.fields]), [['10.0.1.1:80', ['forward', 'weight']]]);
  });

  it('daemon and VRRP changes', async () => {
    const base = '[[vrrp.instance]]\nname = "A"\ninterface = "eth0"\nvirtual_router_id = 1\nvirtual_ipaddress = ["192.0.2.1"]\n';
    const a = ok(await tomlText(base));
    const b = ok(await tomlText(`[daemon]\nautoreload = true\n${base.replace('virtual_router_id = 1', 'virtual_router_id = 1\npriority = 200')}[[vrrp.instance]]\nname = "B"\ninterface = "eth1"\nvirtual_router_id = 2\nvirtual_ipaddress = ["192.0.2.2"]\n`));
    const d = diffConfig(a, b);
    assert.deepEqual(d.daemonChanged, ['autoreload']);
    assert.deepEqual(d.vrrpInstancesChanged.map((c) => [c.name, c.fields]), [['A', ['priority']]]);
    assert.deepEqual(d.vrrpInstancesAdded.map((i) => i.name), ['B']);
    assert.equal(diffConfig(b, a).vrrpInstancesRemoved[0]?.name, 'B');
    assert.equal(d.isEmpty, false);
  });
});

describe('config/configtest', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'directord-cfgtest-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('semantic errors exit with CONFIG_SEMANTIC; syntax errors win over semantic ones', async () => {
    const sem = join(dir, 'sem.cf');
    writeFileSync(sem, 'virtual=10.0.0.1:80\n\treal=nosuch:80 gate\n');
    assert.equal((await runConfigTest(sem, { json: false, ...OPTIONS })).exitCode, EXIT.CONFIG_SEMANTIC);
    const both = join(dir, 'both.cf');
    writeFileSync(both, 'virtual=10.0.0.1:80\n\treal=nosuch:80 gate\n\tbogus=1\n');
    assert.equal((await runConfigTest(both, { json: false, ...OPTIONS })).exitCode, EXIT.CONFIG_SYNTAX);
  });

  it('human output: problems as file:line:col: CODE message + hint, warnings allowed with exit 0', async () => {
    const path = join(dir, 'w.cf');
    writeFileSync(path, 'virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\tscheduler=Wlc\n');
    const r = await runConfigTest(path, { json: false, ...OPTIONS });
    assert.equal(r.exitCode, 0);
    assert.match(r.output, new RegExp(`^${path.replace(/[.]/g, '\\.')}:3:12: warning: DIR_ERR_CONFIG_LINT_SCHEDULER_MANGLED .*\\n  hint: `, 'm'));
    assert.match(r.output, /configuration OK \(1 warning\)/);
  });

  it('JSON output parses and carries problems and the summary', async () => {
    const path = join(dir, 'j.toml');
    writeFileSync(path, '[[virtual]]\naddress = "192.0.2.1:80"\n[[virtual.real]]\naddress = "10.0.0.1:80"\nweight = 3\n[[vrrp.instance]]\nname = "A"\ninterface = "eth0"\nvirtual_router_id = 9\nvirtual_ipaddress = ["192.0.2.1/24"]\n');
    const r = await runConfigTest(path, { json: true, ...OPTIONS });
    assert.equal(r.exitCode, 0);
    const j = JSON.parse(r.output);
    assert.equal(j.ok, true);
    assert.deepEqual(j.summary.virtuals[0].reals, [{ key: '10.0.0.1:80', forward: 'gate', weight: 3 }]);
    assert.deepEqual(j.summary.vrrp[0].vips, ['192.0.2.1/24']);
    const bad = join(dir, 'bad.toml');
    writeFileSync(bad, '[daemon]\nengine = 5\n');
    const rb = JSON.parse((await runConfigTest(bad, { json: true, ...OPTIONS })).output);
    assert.deepEqual(rb.errors.map((e: { code: string; line: number; severity: string }) => [e.code, e.line, e.severity]), [['DIR_ERR_CONFIG_WRONG_TYPE', 2, 'error']]);
  });

  it('the summary stays on one screen for big configs', async () => {
    const path = join(dir, 'big.cf');
    const lines: string[] = [];
    for (let i = 0; i < 100; i++) {
      lines.push(`virtual=10.1.${i}.1:80`);
      for (let r = 0; r < 20; r++) lines.push(`\treal=10.2.${i}.${r + 1}:80 gate`);
      lines.push('');
    }
    writeFileSync(path, lines.join('\n'));
    const r = await runConfigTest(path, { json: false, ...OPTIONS });
    assert.equal(r.exitCode, 0);
    assert.match(r.output, /virtual services: 100 \(2000 real servers\)/);
    assert.match(r.output, /and 80 more virtual services/);
    assert.ok(r.output.split('\n').length < 260);
  });
});
