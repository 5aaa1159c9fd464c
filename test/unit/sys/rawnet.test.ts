import assert from 'node:assert/strict';
import { DirectorError } from '../../../src/core/errors.js';
import { addonAvailable, loadAddon, NativeRawNet, parseIpv4Datagram, parseLinkMessages, sysError } from '../../../src/sys/rawnet.js';
import { MemoryRawNet } from '../../../src/sys/rawnet-memory.js';
import { skipBecause } from '../../support/skip.js';

function ipv4(ttl: number, proto: number, payload: Buffer, totalLength?: number): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(totalLength ?? 20 + payload.length, 2);
  h[8] = ttl;
  h[9] = proto;
  Buffer.from([10, 9, 0, 1]).copy(h, 12);
  Buffer.from([224, 0, 0, 18]).copy(h, 16);
  return Buffer.concat([h, payload]);
}

describe('sys/rawnet', () => {
  it('parses a received IPv4 datagram: TTL, protocol, addresses and the VRRP payload after the header', () => {
    const payload = Buffer.from('2133960100013e8f0a0900320000000000000000', 'hex');
    const p = parseIpv4Datagram(ipv4(255, 112, payload), 2);
    assert.ok(p);
    assert.equal(p.ttlOrHopLimit, 255);
    assert.equal(p.protocol, 112);
    assert.equal(p.source, '10.9.0.1');
    assert.equal(p.destination, '224.0.0.18');
    assert.equal(p.ifindex, 2);
    assert.deepEqual(p.payload, payload);
    assert.equal(p.lengthMismatch, false);
  });

  it('flags a total-length mismatch (keepalived-spec 1.8 #12) and rejects non-IPv4 or truncated headers', () => {
    const payload = Buffer.alloc(20);
    assert.equal(parseIpv4Datagram(ipv4(64, 112, payload, 99), 1)?.lengthMismatch, true);
    assert.equal(parseIpv4Datagram(Buffer.alloc(10), 1), undefined);
    const v6ish = ipv4(1, 112, payload);
    v6ish[0] = 0x60;
    assert.equal(parseIpv4Datagram(v6ish, 1), undefined);
  });

  it('parses rtnetlink link messages: index, IFLA_IFNAME, up = IFF_UP and IFF_RUNNING, deleted = down', () => {
    const link = (type: number, index: number, flags: number, name: string) => {
      const nameAttr = Buffer.alloc((4 + name.length + 1 + 3) & ~3);
      nameAttr.writeUInt16LE(4 + name.length + 1, 0);
      nameAttr.writeUInt16LE(3, 2);
      nameAttr.write(name, 4);
      const b = Buffer.alloc(32);
      b.writeUInt32LE(32 + nameAttr.length, 0);
      b.writeUInt16LE(type, 4);
      b.writeInt32LE(index, 20);
      b.writeUInt32LE(flags, 24);
      return Buffer.concat([b, nameAttr]);
    };
    const UP = 0x1;
    const RUNNING = 0x40;
    const events = parseLinkMessages(Buffer.concat([link(16, 3, UP | RUNNING, 'eth1'), link(16, 3, UP, 'eth1'), link(17, 3, UP | RUNNING, 'eth1')]), UP | RUNNING);
    assert.deepEqual(events, [
      { ifindex: 3, name: 'eth1', up: true },
      { ifindex: 3, name: 'eth1', up: false },
      { ifindex: 3, name: 'eth1', up: false },
    ]);
  });

  it('maps addon errors to DIR_ERR_SYS_* codes: EPERM/EACCES → PERMISSION, others → SOCKET', () => {
    const perm = sysError(Object.assign(new Error('socket: Operation not permitted'), { code: 'EPERM', syscall: 'socket' }), 'VRRP socket');
    assert.equal(perm.code, 'DIR_ERR_SYS_PERMISSION');
    assert.match(perm.message, /VRRP socket: socket failed: EPERM/);
    const other = sysError(Object.assign(new Error('x'), { code: 'ENODEV', syscall: 'setsockopt' }), 'ctx');
    assert.equal(other.code, 'DIR_ERR_SYS_SOCKET');
    const passthrough = new DirectorError('DIR_ERR_SYS_INTERFACE', { name: 'x', reason: 'y' });
    assert.equal(sysError(passthrough, 'ctx'), passthrough);
  });

  it('the built addon loads, exports the socket API and the constants from the system headers', function () {
    if (!addonAvailable()) skipBecause(this, 'the rawnet addon is not built (npm test builds it before mocha runs)');
    const a = loadAddon();
    for (const f of ['socket', 'setsockopt', 'sendTo', 'sendPacket', 'startRecv', 'stopRecv', 'ifinfo']) assert.equal(typeof (a as unknown as Record<string, unknown>)[f], 'function', f);
    assert.equal(a.constants.AF_INET, 2);
    assert.equal(a.constants.AF_INET6, 10);
    assert.equal(a.constants.IPPROTO_VRRP, 112);
    assert.equal(a.constants.IP_FREEBIND, 15);
  });

  it('reads interface facts through the addon and reports a missing interface as DIR_ERR_SYS_INTERFACE', function () {
    if (!addonAvailable()) skipBecause(this, 'the rawnet addon is not built (npm test builds it before mocha runs)');
    const rn = new NativeRawNet();
    const lo = rn.interfaceInfo('lo');
    assert.equal(lo.index, 1);
    assert.equal(lo.mac.length, 6);
    assert.throws(() => rn.interfaceInfo('nosuchif0'), (e: unknown) => e instanceof DirectorError && e.code === 'DIR_ERR_SYS_INTERFACE');
  });

  it('throws coded errors with the errno name from failed syscalls (close of a bad fd)', function () {
    if (!addonAvailable()) skipBecause(this, 'the rawnet addon is not built (npm test builds it before mocha runs)');
    assert.throws(() => loadAddon().close(987654), (e: unknown) => (e as { code?: string }).code === 'EBADF' && (e as { syscall?: string }).syscall === 'close');
  });

  it('MemoryRawNet records what is sent and delivers injected packets to matching channels only', () => {
    const rn = new MemoryRawNet();
    rn.addInterface('eth0', 2, '02:00:00:00:00:02', [{ family: 4, address: '10.9.0.2', prefixLength: 24 }]);
    const got: number[] = [];
    const ch = rn.openVrrp({ family: 4, interface: 'eth0', multicast: true }, (p) => got.push(p.ttlOrHopLimit));
    ch.send(Buffer.from([1, 2]), '224.0.0.18');
    const base = { payload: Buffer.alloc(0), source: '10.9.0.1', destination: '224.0.0.18', ifindex: 2, lengthMismatch: false, protocol: 112 };
    rn.deliver('eth0', { ...base, family: 4, ttlOrHopLimit: 255 });
    rn.deliver('eth0', { ...base, family: 6, ttlOrHopLimit: 1 });
    rn.deliver('eth1', { ...base, family: 4, ttlOrHopLimit: 2 });
    assert.deepEqual(got, [255]);
    assert.equal(rn.sent.length, 1);
    ch.close();
    assert.equal(rn.openChannels(), 0);
    assert.throws(() => rn.interfaceInfo('eth9'), /no such interface/);
  });
});
