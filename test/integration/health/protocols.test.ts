/**
 * negotiate checks against real Debian servers started on loopback in temp dirs: unbound (dns),
 * exim4 (smtp), vsftpd (ftp), dovecot (imap, pop), slapd (ldap).
 */
import assert from 'node:assert/strict';
import type { CheckConfig } from '../../../src/config/model.js';
import { negotiateChecker } from '../../../src/health/checks/negotiate.js';
import type { CheckResult, CheckTarget } from '../../../src/health/types.js';
import { type DovecotServer, startDovecot } from '../../support/servers/dovecot.js';
import { startExim } from '../../support/servers/exim.js';
import type { RunningServer } from '../../support/servers/process.js';
import { type SlapdServer, startSlapd } from '../../support/servers/slapd.js';
import { startUnbound } from '../../support/servers/unbound.js';
import { startVsftpd } from '../../support/servers/vsftpd.js';
import { checkConfig, checkTarget } from '../../unit/health/fixtures.js';

function negotiate(target: CheckTarget, check: Partial<CheckConfig>): Promise<CheckResult> {
  return negotiateChecker.run(target, checkConfig({ type: 'negotiate', negotiateTimeoutMs: 10_000, timeoutMs: 10_000, ...check }), new AbortController().signal);
}

describe('health/negotiate against real servers', function () {
  this.timeout(30_000);

  describe('dns (unbound)', () => {
    let server: RunningServer;
    before(async () => {
      server = await startUnbound('127.20.2.1', { 'www.test': '192.0.2.55', 'db.test': '192.0.2.56' });
    });
    after(async () => server?.stop());

    it('A query over udp: up when the answer matches receive, down otherwise', async () => {
      const t = checkTarget(server.host, server.port, { virtualProtocol: 'udp' });
      const up = await negotiate(t, { service: 'dns', request: '/www.test', receive: '^192\\.0\\.2\\.55$' });
      assert.equal(up.ok, true, up.detail);
      const wrong = await negotiate(t, { service: 'dns', request: 'db.test', receive: '^192\\.0\\.2\\.55$' });
      assert.equal(wrong.ok, false);
      assert.match(wrong.detail, /192\.0\.2\.56/);
      const nx = await negotiate(t, { service: 'dns', request: 'nope.test', receive: '.' });
      assert.equal(nx.ok, false);
      assert.match(nx.detail, /rcode 3/);
    });

    it('reverse (PTR) query when the request is an address; tcp when the virtual is tcp', async () => {
      const ptr = await negotiate(checkTarget(server.host, server.port, { virtualProtocol: 'udp' }), { service: 'dns', request: '192.0.2.55', receive: 'www\\.test' });
      assert.equal(ptr.ok, true, ptr.detail);
      const tcp = await negotiate(checkTarget(server.host, server.port, { virtualProtocol: 'tcp' }), { service: 'dns', request: 'www.test', receive: '192\\.0\\.2\\.55' });
      assert.equal(tcp.ok, true, tcp.detail);
    });
  });

  describe('smtp (exim4)', () => {
    let server: RunningServer;
    before(async () => {
      server = await startExim('127.20.3.1');
    });
    after(async () => server?.stop());

    it('banner 220 and EHLO 250 is up; stopped server is down', async () => {
      const r = await negotiate(checkTarget(server.host, server.port), { service: 'smtp' });
      assert.equal(r.ok, true, r.detail);
      assert.match(r.detail, /EHLO 250/);
      const closed = await negotiate(checkTarget(server.host, 1), { service: 'smtp' });
      assert.equal(closed.ok, false);
      assert.match(closed.detail, /ECONNREFUSED/);
    });
  });

  describe('ftp (vsftpd)', () => {
    let server: RunningServer;
    before(async () => {
      server = await startVsftpd('127.20.4.1', { 'health.txt': 'ftp is healthy\n' });
    });
    after(async () => server?.stop());

    it('anonymous login + RETR request, matched against receive', async () => {
      const t = checkTarget(server.host, server.port);
      const up = await negotiate(t, { service: 'ftp', login: 'anonymous', password: 'ldirectord@test', request: '/health.txt', receive: 'healthy' });
      assert.equal(up.ok, true, up.detail);
      const mismatch = await negotiate(t, { service: 'ftp', login: 'anonymous', password: 'x', request: '/health.txt', receive: '^nothing' });
      assert.equal(mismatch.ok, false);
      assert.match(mismatch.detail, /does not match/);
      const missing = await negotiate(t, { service: 'ftp', login: 'anonymous', password: 'x', request: '/missing.txt', receive: '.' });
      assert.equal(missing.ok, false);
      assert.match(missing.detail, /RETR \/missing.txt/);
    });

    it('login only when request is "/" and receive is empty', async () => {
      const r = await negotiate(checkTarget(server.host, server.port), { service: 'ftp', login: 'anonymous', password: 'x' });
      assert.equal(r.ok, true, r.detail);
      assert.match(r.detail, /login/);
    });
  });

  describe('imap and pop (dovecot)', () => {
    let server: DovecotServer;
    before(async () => {
      server = await startDovecot('127.20.5.1');
    });
    after(async () => server?.stop());

    it('imap: greeting alone, then login with good and bad credentials', async () => {
      const t = checkTarget(server.host, server.imapPort);
      assert.equal((await negotiate(t, { service: 'imap' })).ok, true);
      const good = await negotiate(t, { service: 'imap', login: server.user, password: server.password });
      assert.equal(good.ok, true, good.detail);
      const bad = await negotiate(t, { service: 'imap', login: server.user, password: 'wrong' });
      assert.equal(bad.ok, false);
      assert.match(bad.detail, /login as checker failed/);
    });

    it('pop: greeting alone, then login with good and bad credentials', async () => {
      const t = checkTarget(server.host, server.popPort);
      assert.equal((await negotiate(t, { service: 'pop' })).ok, true);
      const good = await negotiate(t, { service: 'pop', login: server.user, password: server.password });
      assert.equal(good.ok, true, good.detail);
      const bad = await negotiate(t, { service: 'pop', login: server.user, password: 'wrong' });
      assert.equal(bad.ok, false);
    });

    it('imaps and pops: TLS from the first byte; verification on by default, off with tlsVerify=false', async () => {
      for (const [service, port] of [['imaps', server.imapsPort], ['pops', server.popsPort]] as const) {
        const t = checkTarget(server.host, port);
        const verified = await negotiate(t, { service, login: server.user, password: server.password });
        assert.equal(verified.ok, false, `${service}: ${verified.detail}`);
        assert.match(verified.detail, /self[- ]signed/i);
        const r = await negotiate(t, { service, login: server.user, password: server.password, tlsVerify: false });
        assert.equal(r.ok, true, `${service}: ${r.detail}`);
      }
    });
  });

  describe('ldap (slapd)', () => {
    let server: SlapdServer;
    before(async () => {
      server = await startSlapd('127.20.8.1');
    });
    after(async () => server?.stop());

    it('anonymous bind + base search of the request DN: exactly one entry is up', async () => {
      const t = checkTarget(server.host, server.port);
      const up = await negotiate(t, { service: 'ldap', request: `/ou=health,${server.suffix}`, receive: '^ou=health' });
      assert.equal(up.ok, true, up.detail);
      const missing = await negotiate(t, { service: 'ldap', request: `ou=nope,${server.suffix}` });
      assert.equal(missing.ok, false);
      assert.match(missing.detail, /result 32|0 entries/);
      const wrongDn = await negotiate(t, { service: 'ldap', request: server.suffix, receive: '^ou=' });
      assert.equal(wrongDn.ok, false);
    });

    it('simple bind with login and passwd; a wrong password is down', async () => {
      const t = checkTarget(server.host, server.port);
      const good = await negotiate(t, { service: 'ldap', login: server.rootDn, password: server.rootPassword, request: server.suffix });
      assert.equal(good.ok, true, good.detail);
      const bad = await negotiate(t, { service: 'ldap', login: server.rootDn, password: 'nope', request: server.suffix });
      assert.equal(bad.ok, false);
      assert.match(bad.detail, /result 49/);
    });

    it('ldaps with tlsVerify=false', async () => {
      const r = await negotiate(checkTarget(server.host, server.tlsPort), { service: 'ldaps', request: server.suffix, tlsVerify: false });
      assert.equal(r.ok, true, r.detail);
    });
  });
});
