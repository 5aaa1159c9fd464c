/** ssh check against a real OpenSSH sshd on loopback, with the host key pinned from known_hosts. */
import assert from 'node:assert/strict';
import { sshChecker } from '../../../src/health/checks/ssh.js';
import type { SshCheckConfig } from '../../../src/config/model.js';
import { type SshdServer, startSshd } from '../../support/servers/sshd.js';
import { checkConfig, checkTarget } from '../../unit/health/fixtures.js';

describe('health/ssh against real sshd', function () {
  this.timeout(30_000);
  let sshd: SshdServer;
  before(async () => {
    sshd = await startSshd('127.20.9.1');
  });
  after(async () => sshd?.stop());

  const run = (ssh: Partial<SshCheckConfig>) =>
    sshChecker.run(
      checkTarget(sshd.host, 22),
      checkConfig({
        type: 'ssh',
        negotiateTimeoutMs: 8000,
        ssh: { user: sshd.user, port: sshd.port, privateKeyFile: sshd.clientKeyFile, knownHostsFile: sshd.knownHostsFile, command: 'true', ...ssh },
      }),
      new AbortController().signal,
    );

  it('runs the command: exit 0 is up, non-zero is down, expectOutput is matched', async () => {
    const up = await run({ command: 'echo alive' , expectOutput: '^alive$' });
    assert.equal(up.ok, true, up.detail);
    const exit3 = await run({ command: 'exit 3' });
    assert.equal(exit3.ok, false);
    assert.match(exit3.detail, /exit 3/);
    const wrongOut = await run({ command: 'echo dead', expectOutput: '^alive' });
    assert.equal(wrongOut.ok, false);
    assert.match(wrongOut.detail, /does not match/);
  });

  it('a host key that differs from the pinned one fails with a clear detail (no TOFU)', async () => {
    const r = await run({ knownHostsFile: sshd.wrongKnownHostsFile });
    assert.equal(r.ok, false);
    assert.match(r.detail, /HOST KEY MISMATCH/);
  });

  it('a host missing from known_hosts is down without connecting', async () => {
    const r = await sshChecker.run(
      checkTarget('127.20.9.2', 22),
      checkConfig({ type: 'ssh', ssh: { user: 'root', port: sshd.port, privateKeyFile: sshd.clientKeyFile, knownHostsFile: sshd.knownHostsFile, command: 'true' } }),
      new AbortController().signal,
    );
    assert.equal(r.ok, false);
    assert.match(r.detail, /not in .*no trust on first use/);
  });
});
