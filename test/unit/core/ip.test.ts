import assert from 'node:assert/strict';
import {
  cidrContains, compareIp, formatEndpoint, maskIp, netmaskToPrefixLength, parseCidr, parseEndpoint, parseIp,
  parsePort, prefixLengthToNetmask, tryParseIp,
} from '../../../src/core/ip.js';
import { DirectorError } from '../../../src/core/errors.js';

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof DirectorError) return e.code;
    throw e;
  }
  return 'no error';
};

describe('core/ip', () => {
  it('parses IPv4 and rejects out-of-range, short and zero-padded forms', () => {
    assert.deepEqual(parseIp('192.0.2.1'), { family: 4, text: '192.0.2.1' });
    for (const bad of ['999.1.1.1', '1.2.3', '01.2.3.4', '1.2.3.4.5', '', 'a.b.c.d']) assert.equal(tryParseIp(bad), undefined, bad);
    assert.equal(code(() => parseIp('256.0.0.1')), 'DIR_ERR_INVALID_IP');
  });

  it('canonicalises IPv6 per RFC 5952', () => {
    const cases: [string, string][] = [
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['::1', '::1'],
      ['fe80::', 'fe80::'],
      ['::ffff:192.0.2.1', '::ffff:c000:201'],
      ['[2001:db8::5]', '2001:db8::5'],
    ];
    for (const [input, want] of cases) assert.equal(parseIp(input).text, want, input);
    for (const bad of ['2001:db8::1::2', '1:2:3:4:5:6:7:8:9', 'gggg::1', 'fe80::1%eth0', '2001:db8:::1']) {
      assert.equal(tryParseIp(bad), undefined, bad);
    }
  });

  it('parses and formats endpoints, brackets for IPv6', () => {
    assert.equal(formatEndpoint(parseEndpoint('192.0.2.1:80')), '192.0.2.1:80');
    assert.equal(formatEndpoint(parseEndpoint('[2001:DB8::1]:443')), '[2001:db8::1]:443');
    assert.equal(code(() => parseEndpoint('2001:db8::1:80')), 'DIR_ERR_INVALID_ENDPOINT');
    assert.equal(code(() => parseEndpoint('192.0.2.1')), 'DIR_ERR_INVALID_ENDPOINT');
    assert.equal(code(() => parseEndpoint('192.0.2.1:65536')), 'DIR_ERR_INVALID_ENDPOINT');
    assert.equal(code(() => parseEndpoint('[::1]80')), 'DIR_ERR_INVALID_ENDPOINT');
  });

  it('masks addresses and handles CIDR prefixes', () => {
    assert.equal(maskIp(parseIp('192.0.2.77'), 24).text, '192.0.2.0');
    assert.equal(maskIp(parseIp('192.0.2.77'), 0).text, '0.0.0.0');
    assert.equal(maskIp(parseIp('2001:db8:1:2:3:4:5:6'), 48).text, '2001:db8:1::');
    assert.equal(maskIp(parseIp('2001:db8:1:2:3:4:5:6'), 127).text, '2001:db8:1:2:3:4:5:6');
    const c = parseCidr('10.1.0.0/16');
    assert.ok(cidrContains(c, parseIp('10.1.200.3')));
    assert.ok(!cidrContains(c, parseIp('10.2.0.1')));
    assert.equal(code(() => parseCidr('10.1.0.1/16')), 'DIR_ERR_INVALID_CIDR');
    assert.equal(parseCidr('10.1.0.1/16', { strict: false }).address.text, '10.1.0.0');
    assert.equal(code(() => parseCidr('10.0.0.0/33')), 'DIR_ERR_INVALID_CIDR');
    assert.equal(parseCidr('2001:db8::/32').prefixLength, 32);
  });

  it('converts netmasks and prefix lengths both ways', () => {
    assert.equal(netmaskToPrefixLength('255.255.255.0'), 24);
    assert.equal(netmaskToPrefixLength('255.255.255.255'), 32);
    assert.equal(netmaskToPrefixLength('0.0.0.0'), 0);
    assert.equal(netmaskToPrefixLength('255.0.255.0'), undefined);
    for (let len = 0; len <= 32; len++) assert.equal(netmaskToPrefixLength(prefixLengthToNetmask(len)), len);
  });

  it('parses ports strictly', () => {
    assert.equal(parsePort('0'), 0);
    assert.equal(parsePort('65535'), 65535);
    assert.equal(code(() => parsePort('65536')), 'DIR_ERR_INVALID_PORT');
    assert.equal(code(() => parsePort('-1')), 'DIR_ERR_INVALID_PORT');
    assert.equal(code(() => parsePort('http')), 'DIR_ERR_INVALID_PORT');
  });

  it('compares addresses numerically (VRRP tie-break order)', () => {
    assert.ok(compareIp(parseIp('10.0.0.12'), parseIp('10.0.0.11')) > 0);
    assert.ok(compareIp(parseIp('10.0.0.2'), parseIp('10.0.0.10')) < 0);
    assert.equal(compareIp(parseIp('::1'), parseIp('0::1')), 0);
  });
});
