/** Pure helpers: shell-like word splitting (never a shell), port names, edit distance, inet_aton. */
import assert from 'node:assert/strict';
import { splitCommand } from '../../../src/config/argv.js';
import { didYouMean, editDistance } from '../../../src/config/problems.js';
import { inetAton } from '../../../src/config/resolve.js';
import { defaultPortForService, ldirectordServiceForPort, portForServiceName } from '../../../src/config/services.js';

describe('config/argv: splitCommand', () => {
  it('splits words and honours single quotes, double quotes and backslashes', () => {
    assert.deepEqual(splitCommand(`/bin/check -x 'a b' "c \\"d\\"" e\\ f`).argv, ['/bin/check', '-x', 'a b', 'c "d"', 'e f']);
    assert.deepEqual(splitCommand('  spaced\t\targs\r').argv, ['spaced', 'args']);
    assert.deepEqual(splitCommand('a""b').argv, ['ab']);
    assert.deepEqual(splitCommand('""').argv, ['']);
  });

  it('reports shell syntax but keeps it literal', () => {
    const r = splitCommand('notify $HOST | mail; x > /tmp/f');
    assert.deepEqual(r.argv, ['notify', '$HOST', '|', 'mail;', 'x', '>', '/tmp/f']);
    assert.deepEqual(new Set(r.shellChars), new Set(['$', '|', ';', '>']));
    assert.deepEqual(splitCommand("'$HOME'").shellChars, []);
  });

  it('flags unterminated quotes', () => {
    assert.equal(splitCommand('a "b c').unterminated, true);
    assert.deepEqual(splitCommand('a "b c').argv, ['a', 'b c']);
  });
});

describe('config/services and resolve helpers', () => {
  it('getservbyname equivalents', () => {
    assert.equal(portForServiceName('http'), 80);
    assert.equal(portForServiceName('domain'), 53);
    assert.equal(portForServiceName('http-alt'), 8080);
    assert.equal(portForServiceName('0'), 0);
    assert.equal(portForServiceName('65536'), undefined);
    assert.equal(portForServiceName('nosuch'), undefined);
    assert.equal(portForServiceName('constructor'), undefined);
  });

  it("ldirectord's port/service tables", () => {
    assert.equal(ldirectordServiceForPort(3128), 'http_proxy');
    assert.equal(ldirectordServiceForPort(8080), 'none');
    assert.equal(defaultPortForService('pgsql'), 5432);
    assert.equal(defaultPortForService('none'), undefined);
  });

  it('inet_aton short forms', () => {
    assert.equal(inetAton('80')?.text, '0.0.0.80');
    assert.equal(inetAton('10.1')?.text, '10.0.0.1');
    assert.equal(inetAton('10.1.258')?.text, '10.1.1.2');
    assert.equal(inetAton('999.1.1.1'), undefined);
    assert.equal(inetAton('4294967296'), undefined);
  });

  it('edit distance and did-you-mean', () => {
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(didYouMean('checktimout', ['checktimeout', 'checkport']), 'checktimeout');
    assert.equal(didYouMean('QUIESCENT', ['quiescent']), 'quiescent');
    assert.equal(didYouMean('zzzzzz', ['quiescent']), undefined);
  });
});
