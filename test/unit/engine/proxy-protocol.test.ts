import assert from 'node:assert/strict';
import { proxyV1Header, proxyV2Header } from '../../../src/engine/embedded/proxy-protocol.js';

describe('engine/embedded PROXY protocol headers', () => {
  it('v1 for IPv4 and IPv6', () => {
    assert.equal(proxyV1Header('192.0.2.1', 1234, '198.51.100.2', 80).toString(), 'PROXY TCP4 192.0.2.1 198.51.100.2 1234 80\r\n');
    assert.equal(proxyV1Header('2001:db8::1', 1234, '2001:db8::2', 443).toString(), 'PROXY TCP6 2001:db8::1 2001:db8::2 1234 443\r\n');
  });

  it('v2 for IPv6: TCP over IPv6 (0x21), 36 address bytes in network order', () => {
    const h = proxyV2Header('2001:db8::1', 1234, '2001:db8:0:0:0:0:0:2', 443);
    assert.equal(h.length, 16 + 36);
    assert.equal(h[12], 0x21);
    assert.equal(h[13], 0x21);
    assert.equal(h.readUInt16BE(14), 36);
    assert.equal(h.subarray(16, 32).toString('hex'), '20010db8000000000000000000000001');
    assert.equal(h.subarray(32, 48).toString('hex'), '20010db8000000000000000000000002');
    assert.equal(h.readUInt16BE(48), 1234);
    assert.equal(h.readUInt16BE(50), 443);
  });

  it('v2 with a v4-mapped client sends both addresses as IPv6', () => {
    const h = proxyV2Header('::ffff:192.0.2.1', 5, '2001:db8::2', 6);
    assert.equal(h.subarray(16, 32).toString('hex'), '00000000000000000000ffffc0000201');
  });
});
