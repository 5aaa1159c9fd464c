/**
 * check.caFile against real servers on loopback (127.60.3.0/24): nginx over https and slapd over
 * ldaps, each with a self-signed certificate. With certificate verification on, the server's own
 * certificate as the CA file makes the check up; without it (system store) the check is down.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { CheckConfig } from '../../../src/config/model.js';
import { createNegotiateChecker } from '../../../src/health/checks/negotiate.js';
import type { CheckResult } from '../../../src/health/types.js';
import { type NginxServer, startNginx } from '../../support/servers/nginx.js';
import { makeTempDir, removeDir, selfSignedCert } from '../../support/servers/process.js';
import { type SlapdServer, startSlapd } from '../../support/servers/slapd.js';
import { checkConfig, checkTarget } from '../../unit/health/fixtures.js';

describe('health: ca_file for https and ldaps checks (real nginx, real slapd)', function () {
  this.timeout(30_000);
  let nginx: NginxServer | undefined;
  let slapd: SlapdServer | undefined;
  let otherDir: string | undefined;
  let otherCa: string;
  const checker = createNegotiateChecker();

  before(async () => {
    [nginx, slapd] = await Promise.all([startNginx('127.60.3.1'), startSlapd('127.60.3.2')]);
    otherDir = makeTempDir('other-ca');
    otherCa = selfSignedCert(otherDir, 'health.test').cert; // same name, different key: must not be trusted
  });
  after(async () => {
    await Promise.all([nginx?.stop(), slapd?.stop()]);
    if (otherDir) removeDir(otherDir);
  });

  const https = (over: Partial<CheckConfig>): Promise<CheckResult> => {
    const n = nginx as NginxServer;
    return checker.run(checkTarget(n.host, n.tlsPort), checkConfig({ type: 'negotiate', service: 'https', request: '/health', receive: 'over tls', tlsVerify: true, ...over }), new AbortController().signal);
  };
  const ldaps = (over: Partial<CheckConfig>): Promise<CheckResult> => {
    const s = slapd as SlapdServer;
    return checker.run(checkTarget(s.host, s.tlsPort), checkConfig({ type: 'negotiate', service: 'ldaps', request: s.suffix, tlsVerify: true, ...over }), new AbortController().signal);
  };

  it('https: verification on + caFile = the server certificate → up; without caFile → down (self-signed)', async () => {
    const ca = join((nginx as NginxServer).dir, 'cert.pem');
    const up = await https({ caFile: ca });
    assert.equal(up.ok, true, up.detail);
    const down = await https({});
    assert.equal(down.ok, false);
    assert.match(down.detail, /self[- ]signed/i);
  });

  it('https: another CA with the same name is not trusted; with virtualhost the name is verified against the CA-signed certificate', async () => {
    const other = await https({ caFile: otherCa });
    assert.equal(other.ok, false, 'a different certificate of the same name must not verify');
    const ca = join((nginx as NginxServer).dir, 'cert.pem');
    const named = await https({ caFile: ca, virtualHost: 'health.test' });
    assert.equal(named.ok, true, named.detail);
    const wrongName = await https({ caFile: ca, virtualHost: 'other.test', receive: '' });
    assert.equal(wrongName.ok, false, 'other.test is served with the health.test certificate');
    assert.match(wrongName.detail, /other\.test|altnames|hostname/i);
  });

  it('https: an unreadable ca_file fails the check naming the file (no silent fallback to the system store)', async () => {
    const missing = await https({ caFile: '/nonexistent/directord-ca.pem' });
    assert.equal(missing.ok, false);
    assert.match(missing.detail, /ca_file \/nonexistent\/directord-ca\.pem: .*ENOENT/);
  });

  it('ldaps: verification on + caFile → up; without caFile → down', async () => {
    const ca = join((slapd as SlapdServer).dir, 'cert.pem');
    const up = await ldaps({ caFile: ca });
    assert.equal(up.ok, true, up.detail);
    const down = await ldaps({});
    assert.equal(down.ok, false);
    assert.match(down.detail, /self[- ]signed|certificate/i);
    const other = await ldaps({ caFile: otherCa });
    assert.equal(other.ok, false);
  });
});
