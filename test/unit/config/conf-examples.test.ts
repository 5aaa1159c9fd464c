/** Every shipped example in conf/ loads without errors (conf/demo/ belongs to the daemon and is tested there). */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../../../src/config/load.js';

const CONF = fileURLToPath(new URL('../../../conf/', import.meta.url));
// Example files use only numeric addresses, so no resolver is needed; an unexpected name fails.
const NO_DNS = { resolveHost: async () => undefined };

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'demo' ? [] : walk(path);
    return /\.(cf|toml)$/.test(name) ? [path] : [];
  });
}

describe('conf/: shipped examples', () => {
  const files = walk(CONF);

  it('includes every required example', () => {
    const names = files.map((f) => f.slice(CONF.length));
    for (const n of ['http-negotiate.cf', 'tcp-connect.cf', 'udp-dns.cf', 'fwmark.cf', 'sorry-server.cf', 'quiescent-drain.cf', 'two-director.toml']) {
      assert.ok(names.includes(n), `conf/${n} is missing`);
    }
  });

  for (const file of files) {
    it(`${file.slice(CONF.length)} is valid`, async () => {
      const r = await loadConfigFile(file, NO_DNS);
      if (!r.ok) assert.fail(r.errors.map((e) => e.format()).join('\n'));
      assert.ok(r.config.virtualServices.length > 0);
      // Examples are what operators copy: they must not trip the linter either.
      assert.deepEqual(r.warnings.map((w) => w.format()), []);
    });
  }

  it('two-director.toml runs a sync group of two VRRP instances and includes the legacy file', async () => {
    const r = await loadConfigFile(join(CONF, 'two-director.toml'), NO_DNS);
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.deepEqual(r.config.vrrp.syncGroups.map((g) => g.instances), [['VI_FRONT', 'VI_BACK']]);
    assert.ok(r.config.virtualServices.some((v) => v.id === 'tcp:192.0.2.60:25'));
  });
});
