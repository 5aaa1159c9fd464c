import assert from 'node:assert/strict';
import {
  ackErrno,
  buildAddressDump,
  buildAddressMessage,
  errnoName,
  IFA_F_NODAD,
  parseAddressDump,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
} from '../../../src/sys/netlink.js';
import { DirectorError } from '../../../src/core/errors.js';

/** Reads the rtattrs of an RTM_*ADDR message: type → data. */
function attrs(buf: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (let off = 24; off + 4 <= buf.length; ) {
    const len = buf.readUInt16LE(off);
    out.set(buf.readUInt16LE(off + 2), buf.subarray(off + 4, off + len));
    off += (len + 3) & ~3;
  }
  return out;
}

describe('sys/netlink: rtnetlink address messages', () => {
  it('builds RTM_NEWADDR for an IPv4 VIP with label: create|excl|ack, IFA_LOCAL = IFA_ADDRESS, label NUL-terminated', () => {
    const { buf, seq } = buildAddressMessage('add', { family: 4, address: '10.9.0.50', prefixLength: 24, ifindex: 7, label: 'eth0:vip' });
    assert.equal(buf.readUInt32LE(0), buf.length, 'nlmsg_len covers the whole message');
    assert.equal(buf.length % 4, 0);
    assert.equal(buf.readUInt16LE(4), RTM_NEWADDR);
    assert.equal(buf.readUInt16LE(6), 0x1 | 0x4 | 0x400 | 0x200);
    assert.equal(buf.readUInt32LE(8), seq);
    assert.deepEqual([buf[16], buf[17], buf[19]], [2, 24, 0]); // AF_INET, /24, scope global
    assert.equal(buf.readUInt32LE(20), 7);
    const a = attrs(buf);
    assert.deepEqual([...(a.get(2) ?? [])], [10, 9, 0, 50]);
    assert.deepEqual([...(a.get(1) ?? [])], [10, 9, 0, 50]);
    assert.equal(a.get(3)?.toString(), 'eth0:vip\0');
    assert.equal(a.get(8)?.readUInt32LE(0), 0, 'no flags for IPv4');
  });

  it('builds IPv6 VIPs with IFA_F_NODAD and, for /128, preferred lifetime 0 (keepalived-spec 2.3); never a label', () => {
    const { buf } = buildAddressMessage('add', { family: 6, address: 'fd00:9::50', prefixLength: 128, ifindex: 3, nodad: true, deprecated: true, label: 'x' });
    assert.equal(buf[16], 10);
    assert.equal(buf[18], IFA_F_NODAD);
    const a = attrs(buf);
    assert.equal(a.get(2)?.length, 16);
    assert.equal(a.get(8)?.readUInt32LE(0), IFA_F_NODAD);
    assert.equal(a.get(6)?.readUInt32LE(0), 0, 'preferred 0');
    assert.equal(a.get(6)?.readUInt32LE(4), 0xffffffff, 'valid forever');
    assert.equal(a.has(3), false);
  });

  it('builds RTM_DELADDR with only the address attributes, and a dump request', () => {
    const del = buildAddressMessage('delete', { family: 4, address: '10.9.0.50', prefixLength: 24, ifindex: 7, label: 'eth0:vip' }).buf;
    assert.equal(del.readUInt16LE(4), RTM_DELADDR);
    assert.equal(del.readUInt16LE(6), 0x1 | 0x4);
    assert.deepEqual([...attrs(del).keys()].sort(), [1, 2]);
    const dump = buildAddressDump(4).buf;
    assert.equal(dump.readUInt16LE(4), RTM_GETADDR);
    assert.equal(dump.readUInt16LE(6) & 0x300, 0x300);
    assert.equal(dump[16], 2);
  });

  it('refuses an address of the wrong family with DIR_ERR_SYS_NETLINK', () => {
    assert.throws(() => buildAddressMessage('add', { family: 4, address: 'fd00::1', prefixLength: 24, ifindex: 1 }), (e: unknown) => e instanceof DirectorError && e.code === 'DIR_ERR_SYS_NETLINK');
  });

  it('reads the errno of the NLMSG_ERROR answering our sequence number', () => {
    const ack = (seq: number, err: number) => {
      const b = Buffer.alloc(36);
      b.writeUInt32LE(36, 0);
      b.writeUInt16LE(2, 4);
      b.writeUInt32LE(seq, 8);
      b.writeInt32LE(err, 16);
      return b;
    };
    assert.equal(ackErrno([ack(5, -17), ack(6, 0)], 6), 0);
    assert.equal(ackErrno([ack(5, -17), ack(6, 0)], 5), 17);
    assert.equal(ackErrno([ack(5, -17)], 9), undefined);
    assert.equal(errnoName(17), 'EEXIST');
    assert.equal(errnoName(99), 'EADDRNOTAVAIL');
  });

  it('parses an address dump (the kernel answers with RTM_NEWADDR messages shaped like our requests)', () => {
    const msg = buildAddressMessage('add', { family: 4, address: '10.9.0.50', prefixLength: 24, ifindex: 7, label: 'eth0:vip' }).buf;
    const v6 = buildAddressMessage('add', { family: 6, address: 'fe80::50', prefixLength: 64, ifindex: 7, nodad: true }).buf;
    const done = Buffer.alloc(20);
    done.writeUInt32LE(20, 0);
    done.writeUInt16LE(3, 4);
    const parsed = parseAddressDump([msg, v6, done]);
    assert.deepEqual(
      parsed.map((p) => [p.family, p.address, p.prefixLength, p.ifindex, p.label]),
      [
        [4, '10.9.0.50', 24, 7, 'eth0:vip'],
        [6, 'fe80::50', 64, 7, undefined],
      ],
    );
    assert.equal(parsed[1]?.flags, IFA_F_NODAD);
  });
});
