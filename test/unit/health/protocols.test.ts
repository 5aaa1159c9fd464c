/** Pure protocol pieces of the checkers, against published vectors where they exist. */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { parseAgentReply } from '../../../src/health/checks/agent.js';
import { checkPortOf, compileReceive, receiveMatches, stripSlash } from '../../../src/health/checks/common.js';
import { externalArguments, externalResult } from '../../../src/health/checks/external.js';
import { requestPath, statusAccepted } from '../../../src/health/checks/http.js';
import { decodeResponse, encodeQuery } from '../../../src/health/checks/negotiate/dns.js';
import { cachingSha2Scramble, nativePasswordScramble } from '../../../src/health/checks/negotiate/mysql.js';
import { Scram } from '../../../src/health/checks/negotiate/pgsql.js';
import { accessRequest, hidePassword } from '../../../src/health/checks/negotiate/radius.js';
import { keysFor } from '../../../src/health/checks/ssh.js';
import { checkIdentity, checkTimeoutMs, fastIntervalMs } from '../../../src/health/monitor.js';
import { checkConfig, checkTarget } from './fixtures.js';

describe('health/checks protocol pieces', () => {
  it('check port: checkport, else the real port, else the service default (ldirectord 10.4)', () => {
    assert.equal(checkPortOf(checkTarget('10.0.0.1', 8080), checkConfig({ checkPort: 9000 })), 9000);
    assert.equal(checkPortOf(checkTarget('10.0.0.1', 8080), checkConfig({ service: 'http' })), 8080);
    assert.equal(checkPortOf(checkTarget('10.0.0.1', 0), checkConfig({ service: 'mysql' })), 3306);
    assert.equal(checkPortOf(checkTarget('10.0.0.1', 0), checkConfig({ service: 'none' })), undefined);
  });

  it('request/receive helpers: leading slash, Perl-like $ before a final newline, bad regex is an Error', () => {
    assert.equal(requestPath('health'), '/health');
    assert.equal(requestPath('/x'), '/x');
    assert.equal(stripSlash('/www.test'), 'www.test');
    const re = compileReceive('^ok$');
    assert.ok(re instanceof RegExp);
    assert.equal(receiveMatches(re, 'ok\n'), true);
    assert.equal(receiveMatches(re, 'ok\n\n'), false);
    assert.ok(compileReceive('(') instanceof Error);
    assert.equal(compileReceive(''), undefined);
  });

  it('http status rule: 2xx (LWP is_success) unless expectStatus is set', () => {
    assert.equal(statusAccepted(204, checkConfig()), true);
    assert.equal(statusAccepted(301, checkConfig()), false);
    assert.equal(statusAccepted(301, checkConfig({ expectStatus: [301, 302] })), true);
    assert.equal(statusAccepted(200, checkConfig({ expectStatus: [301] })), false);
  });

  it('external: argument contract and exit-status mapping', () => {
    assert.deepEqual(externalArguments(checkTarget('10.0.0.2', 80, { virtualAddress: '192.0.2.1', virtualPort: 8080 }), checkConfig()), ['192.0.2.1', '8080', '10.0.0.2', '80']);
    assert.deepEqual(externalArguments(checkTarget('fd00::2', 0, { virtualProtocol: 'fwm', fwmark: 3, virtualPort: 0 }), checkConfig({ service: 'https' })), ['3', '0', '[fd00::2]', '443']);
    assert.equal(externalResult(0, 'c', '', 1, false).ok, true);
    assert.equal(externalResult(7, 'c', '', 1, false).ok, false);
    assert.deepEqual([externalResult(7, 'c', '', 1, true).ok, externalResult(7, 'c', '', 1, true).weight], [true, 5]);
    assert.equal(externalResult(1, 'c', '', 1, true).ok, false);
  });

  it('agent replies', () => {
    assert.deepEqual(parseAgentReply('UP 80%'), { state: 'up', drain: undefined, weightPercent: 80, comment: undefined });
    assert.deepEqual(parseAgentReply('drain'), { state: undefined, drain: true, weightPercent: undefined, comment: undefined });
    assert.equal(parseAgentReply('maint # disk full').comment, 'disk full');
    assert.equal(parseAgentReply('stopped').state, 'down');
    // HAProxy takes any percentage, clamped to 25600 against overflow (the weight itself is capped by the director).
    assert.equal(parseAgentReply('1000%').weightPercent, 1000);
    assert.equal(parseAgentReply('up 99999%').weightPercent, 25_600);
    assert.equal(parseAgentReply('0%').weightPercent, 0);
  });

  it('dns: query encoding and response decoding with name compression', () => {
    const q = encodeQuery(0x1234, 'www.test', 1);
    assert.equal(q.toString('hex'), '123401000001000000000000037777770474657374000001' + '0001');
    // Response: header, the question, one A answer whose name is a pointer to offset 12, and a PTR.
    const answerA = Buffer.from('c00c000100010000003c0004c0000237', 'hex');
    const header = Buffer.from('123481800001000200000000', 'hex');
    const ptr = Buffer.concat([Buffer.from('c00c000c00010000003c0006', 'hex'), Buffer.from('03777777c010', 'hex')]);
    const msg = Buffer.concat([header, q.subarray(12), answerA, ptr]);
    const decoded = decodeResponse(msg);
    assert.equal(decoded.id, 0x1234);
    assert.equal(decoded.rcode, 0);
    assert.deepEqual(decoded.values, ['192.0.2.55', 'www.test']);
  });

  it('pgsql SCRAM-SHA-256 matches the RFC 7677 3 example', () => {
    const scram = new Scram('pencil');
    // Use the RFC's client nonce: the class draws a random one, so rebuild the exchange with it.
    Object.assign(scram, { nonce: 'rOprNGfwEbeRWgbNEkqO', clientFirstBare: 'n=user,r=rOprNGfwEbeRWgbNEkqO' });
    const serverFirst = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
    const final = scram.clientFinal(serverFirst);
    assert.equal(final, 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
    assert.equal(scram.verifyServerFinal('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='), true);
    assert.equal(scram.verifyServerFinal('v=AAAA'), false);
  });

  it('mysql password scrambles (native and caching_sha2) invert with the server-side check', () => {
    const scramble = Buffer.from('0123456789abcdefghij');
    const pw = Buffer.from('secret');
    const native = nativePasswordScramble('secret', scramble);
    // Server side: SHA1(token XOR SHA1(scramble + stored)) === stored, stored = SHA1(SHA1(pw)).
    const stage1 = createHash('sha1').update(pw).digest();
    const stored = createHash('sha1').update(stage1).digest();
    const mask = createHash('sha1').update(scramble).update(stored).digest();
    const recovered = Buffer.from(native.map((b, i) => b ^ (mask[i] ?? 0)));
    assert.deepEqual(createHash('sha1').update(recovered).digest(), stored);
    assert.equal(nativePasswordScramble('', scramble).length, 0);
    assert.equal(cachingSha2Scramble('secret', scramble).length, 32);
  });

  it('radius User-Password hiding (RFC 2865 5.2) round-trips and requests are well-formed', () => {
    const auth = Buffer.alloc(16, 7);
    const hidden = hidePassword('right', 'xyzzy', auth);
    assert.equal(hidden.length, 16);
    const mask = createHash('md5').update('xyzzy').update(auth).digest();
    assert.equal(Buffer.from(hidden.map((b, i) => b ^ (mask[i] ?? 0))).toString().replace(/\0+$/, ''), 'right');
    const long = hidePassword('a'.repeat(20), 'xyzzy', auth);
    assert.equal(long.length, 32);
    const { packet } = accessRequest(9, 'probe', 'pw', 's');
    assert.equal(packet[0], 1);
    assert.equal(packet[1], 9);
    assert.equal(packet.readUInt16BE(2), packet.length);
  });

  it('known_hosts lookup: plain, [host]:port, hashed |1| entries; markers skipped', () => {
    const salt = Buffer.from('0123456789abcdefghij');
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('10.0.0.9').digest('base64')}`;
    const text = [
      '# comment',
      '10.0.0.8,web1 ssh-ed25519 AAAAplain',
      '[10.0.0.8]:2222 ssh-ed25519 AAAAport',
      `${hashed} ssh-ed25519 AAAAhashed`,
      '@revoked 10.0.0.8 ssh-ed25519 AAAArevoked',
    ].join('\n');
    assert.deepEqual(keysFor(text, '10.0.0.8', 22), ['AAAAplain']);
    assert.deepEqual(keysFor(text, '10.0.0.8', 2222), ['AAAAport']);
    assert.deepEqual(keysFor(text, '10.0.0.9', 22), ['AAAAhashed']);
    assert.deepEqual(keysFor(text, '10.0.0.7', 22), []);
  });

  it('monitor helpers: fast interval, timeout per type, identity ignores the VIP except for external', () => {
    assert.equal(fastIntervalMs(10_000), 2500);
    assert.equal(fastIntervalMs(1000), 1000);
    assert.equal(fastIntervalMs(2000), 1000);
    assert.equal(checkTimeoutMs(checkConfig({ type: 'connect', timeoutMs: 3000 })), 3000);
    assert.equal(checkTimeoutMs(checkConfig({ type: 'negotiate', negotiateTimeoutMs: 30_000 })), 30_000);
    assert.equal(checkTimeoutMs(checkConfig({ type: 'ping', timeoutMs: 2000, checkCount: 3 })), 6000);
    const c = checkConfig();
    assert.equal(checkIdentity(checkTarget('10.0.0.1', 80, { virtualAddress: '192.0.2.1' }), c), checkIdentity(checkTarget('10.0.0.1', 80, { virtualAddress: '192.0.2.2' }), c));
    const e = checkConfig({ type: 'external' });
    assert.notEqual(checkIdentity(checkTarget('10.0.0.1', 80, { virtualAddress: '192.0.2.1' }), e), checkIdentity(checkTarget('10.0.0.1', 80, { virtualAddress: '192.0.2.2' }), e));
    assert.notEqual(checkIdentity(checkTarget('10.0.0.1', 80), c), checkIdentity(checkTarget('10.0.0.1', 81), c));
  });
});
