import assert from 'node:assert/strict';
import { echoRequest, internetChecksum } from '../../../src/sys/icmp.js';

describe('sys/icmp echo request layout', () => {
  it('IPv4: type 8, code 0, identifier and sequence in network order, a checksum that verifies (RFC 792, RFC 1071)', () => {
    const b = echoRequest(4, 0xbeef, 0x1234);
    assert.equal(b[0], 8);
    assert.equal(b[1], 0);
    assert.equal(b.readUInt16BE(4), 0xbeef);
    assert.equal(b.readUInt16BE(6), 0x1234);
    assert.notEqual(b.readUInt16BE(2), 0);
    // Summing a packet that carries its own checksum gives 0 (one's complement).
    assert.equal(internetChecksum(b), 0);
  });

  it('IPv6: type 128 and the checksum left to the kernel (RFC 4443 4.1, RFC 3542 3.1)', () => {
    const b = echoRequest(6, 1, 2);
    assert.equal(b[0], 128);
    assert.equal(b.readUInt16BE(2), 0);
    assert.equal(b.readUInt16BE(6), 2);
  });

  it('the checksum handles an odd length and carries', () => {
    // 0xffff + 0xff00 (odd byte padded) = 0x1feff -> 0xff00 after the carry, complement 0x00ff
    assert.equal(internetChecksum(Buffer.from([0xff, 0xff, 0xff])), 0x00ff);
    // 0x0001 + 0xf203 + 0xf4f5 + 0xf6f7 = 0x2ddf0 -> 0xddf2, complement 0x220d (RFC 1071 section 3 example)
    assert.equal(internetChecksum(Buffer.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])), 0x220d);
  });
});
