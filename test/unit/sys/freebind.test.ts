import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { DirectorError } from '../../../src/core/errors.js';
import { openFreebindSocket } from '../../../src/sys/freebind.js';
import { addonAvailable } from '../../../src/sys/rawnet.js';
import { skipBecause } from '../../support/skip.js';

// 127.0.0.0/8 is all local; 127.42.0.1 is on lo too, so these tests show the fd handover. The
// non-local case (a VIP not configured yet) is exercised in the netns suite, where addresses
// can be added and removed without touching the host.
describe('sys/freebind: IP_FREEBIND listening sockets adopted by Node', () => {
  before(function () {
    if (!addonAvailable()) skipBecause(this, 'the rawnet addon is not built (npm test builds it before mocha runs)');
  });

  it('TCP: net.Server listens on the returned fd and accepts connections', async () => {
    const fd = openFreebindSocket({ protocol: 'tcp', address: '127.0.0.1', port: 0 });
    const server = createServer((s) => s.end('freebind ok'));
    await new Promise<void>((r) => server.listen({ fd }, r));
    const port = (server.address() as AddressInfo).port;
    assert.ok(port > 0);
    const reply = await new Promise<string>((resolve, reject) => {
      const c = connect(port, '127.0.0.1');
      let data = '';
      c.on('data', (d) => (data += d.toString()));
      c.on('end', () => resolve(data));
      c.on('error', reject);
    });
    assert.equal(reply, 'freebind ok');
    await new Promise((r) => server.close(r));
  });

  it('UDP: dgram binds to the returned fd and receives', async () => {
    const fd = openFreebindSocket({ protocol: 'udp', address: '127.0.0.1', port: 0 });
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind({ fd }, r));
    const port = sock.address().port;
    const got = new Promise<string>((r) => sock.once('message', (m) => r(m.toString())));
    const sender = createSocket('udp4');
    sender.send('ping', port, '127.0.0.1');
    assert.equal(await got, 'ping');
    sender.close();
    sock.close();
  });

  it('a port already taken fails with DIR_ERR_SYS_SOCKET naming bind and EADDRINUSE, leaking nothing', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    assert.throws(
      () => openFreebindSocket({ protocol: 'tcp', address: '127.0.0.1', port, reuseAddress: false }),
      (e: unknown) => e instanceof DirectorError && e.code === 'DIR_ERR_SYS_SOCKET' && /bind/.test(e.message) && /EADDRINUSE/.test(e.message),
    );
    await new Promise((r) => server.close(r));
  });

  it('rejects text that is not an address', () => {
    assert.throws(() => openFreebindSocket({ protocol: 'tcp', address: 'vip.example', port: 80 }), (e: unknown) => e instanceof DirectorError && e.code === 'DIR_ERR_INVALID_IP');
  });
});
