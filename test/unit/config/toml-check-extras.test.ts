/** director.toml check keys `dynamic` (keepalived misc_dynamic) and `ca_file` (TLS checks). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { err, ok, tomlText, warned } from './helpers.js';

function virtualWith(check: string, address = '192.0.2.1:443'): string {
  return `
[[virtual]]
address = "${address}"
  [virtual.check]
${check}
  [[virtual.real]]
  address = "10.0.0.1:443"
  forward = "masq"
`;
}

describe('config/toml: check.dynamic and check.ca_file', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'directord-ca-'));
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('dynamic is absent by default (ldirectord rule) and true when set on an external check', async () => {
    const plain = ok(await tomlText(virtualWith('  type = "external"\n  command = "/usr/local/bin/chk"')));
    assert.equal(plain.virtualServices[0]?.check.dynamic, undefined);
    const r = await tomlText(virtualWith('  type = "external"\n  command = "/usr/local/bin/chk"\n  dynamic = true'));
    assert.equal(ok(r).virtualServices[0]?.check.dynamic, true);
    assert.deepEqual(r.warnings.map((w) => w.code), []);
  });

  it('dynamic in [defaults.check] applies to every virtual; a virtual can turn it off', async () => {
    const text = `
[defaults.check]
type = "external"
command = "/usr/local/bin/chk"
dynamic = true
${virtualWith('')}
${virtualWith('  dynamic = false', '192.0.2.2:443')}
`;
    const c = ok(await tomlText(text));
    assert.deepEqual(c.virtualServices.map((v) => v.check.dynamic), [true, false]);
  });

  it('dynamic must be a boolean, and is reported as ignored on a non-external check', async () => {
    err(await tomlText(virtualWith('  type = "external"\n  command = "/x"\n  dynamic = "yes"')), 'DIR_ERR_CONFIG_WRONG_TYPE', 7);
    const r = await tomlText(virtualWith('  type = "connect"\n  dynamic = true'));
    ok(r);
    assert.match(warned(r, 'DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE').message, /dynamic = true only applies to external checks/);
  });

  it('ca_file: absolute, or relative to the config file; a missing file is a warning', async () => {
    const abs = await tomlText(virtualWith(`  service = "https"\n  ca_file = "${join(dir, 'ca.pem')}"`));
    assert.equal(ok(abs).virtualServices[0]?.check.caFile, join(dir, 'ca.pem'));
    assert.deepEqual(abs.warnings.map((w) => w.code), []);
    const rel = await tomlText(virtualWith('  service = "https"\n  ca_file = "ca.pem"'), join(dir, 'director.toml'));
    assert.equal(ok(rel).virtualServices[0]?.check.caFile, join(dir, 'ca.pem'));
    const missing = await tomlText(virtualWith('  service = "https"\n  ca_file = "nope.pem"'), join(dir, 'director.toml'));
    assert.equal(ok(missing).virtualServices[0]?.check.caFile, join(dir, 'nope.pem'));
    assert.match(warned(missing, 'DIR_ERR_CONFIG_LINT_PATH_MISSING', 6).message, /nope\.pem/);
  });

  it('ca_file on a check without TLS, or with tls_verify = false, is reported as ignored; empty is an error', async () => {
    const http = await tomlText(virtualWith(`  service = "http"\n  ca_file = "${join(dir, 'ca.pem')}"`, '192.0.2.1:80'));
    assert.match(warned(http, 'DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE').message, /ca_file is only used by TLS negotiate checks/);
    const noVerify = await tomlText(virtualWith(`  service = "ldaps"\n  tls_verify = false\n  ca_file = "${join(dir, 'ca.pem')}"`, '192.0.2.1:636'));
    assert.match(warned(noVerify, 'DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE').message, /tls_verify = false/);
    err(await tomlText(virtualWith('  service = "https"\n  ca_file = ""')), 'DIR_ERR_CONFIG_INVALID_VALUE', 6);
  });
});
