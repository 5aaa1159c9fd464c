import assert from 'node:assert/strict';
import { DirectorError } from '../../../src/core/errors.js';
import { MemoryLogger } from '../../../src/core/logger.js';
import { VipManager } from '../../../src/vrrp/vip-manager.js';
import { MemoryAddressOps, vip } from './io-fakes.js';

const IFINDEX: Record<string, number> = { eth0: 2, eth1: 3 };

describe('vrrp/vip-manager (keepalived-spec 2.3)', () => {
  function setup() {
    const ops = new MemoryAddressOps();
    const logger = new MemoryLogger();
    const m = new VipManager({
      ops,
      logger,
      ifindex: (n) => {
        const i = IFINDEX[n];
        if (i === undefined) throw new DirectorError('DIR_ERR_SYS_INTERFACE', { name: n, reason: 'no such interface' });
        return i;
      },
    });
    return { ops, logger, m };
  }

  it('resolves VIPs on the instance interface unless `dev` says otherwise; label is IPv4 only; IPv6 gets nodad, /128 deprecated', () => {
    const { m } = setup();
    const r = m.resolve([vip('10.9.0.50/24', { label: 'eth0:1' }), vip('10.9.1.50/24', { device: 'eth1' }), vip('fd00:9::50/64', { label: 'x' }), vip('fd00:9::51')], 'eth0');
    assert.deepEqual(r.map((v) => [v.device, v.request.ifindex]), [['eth0', 2], ['eth1', 3], ['eth0', 2], ['eth0', 2]]);
    assert.equal(r[0]?.request.label, 'eth0:1');
    assert.equal(r[2]?.request.label, undefined);
    assert.equal(r[2]?.request.nodad, true);
    assert.equal(r[2]?.request.deprecated, false);
    assert.equal(r[3]?.request.deprecated, true);
    assert.equal(r[0]?.request.nodad, undefined);
  });

  it('an unknown device fails resolution with DIR_ERR_SYS_INTERFACE', () => {
    const { m } = setup();
    assert.throws(() => m.resolve([vip('10.0.0.1/24', { device: 'eth9' })], 'eth0'), (e: unknown) => e instanceof DirectorError && e.code === 'DIR_ERR_SYS_INTERFACE');
  });

  it('add is idempotent (EEXIST is success); remove tolerates missing addresses; present() reads the table', () => {
    const { m, ops } = setup();
    const r = m.resolve([vip('10.9.0.50/24'), vip('10.9.1.50/24', { device: 'eth1' })], 'eth0');
    m.add(r);
    m.add(r);
    assert.equal(ops.table.length, 2);
    assert.deepEqual(m.present(r).map((v) => v.request.address), ['10.9.0.50', '10.9.1.50']);
    assert.deepEqual(m.remove(r), []);
    assert.deepEqual(m.remove(r), []);
    assert.equal(ops.table.length, 0);
  });

  it('a real kernel refusal on add throws DIR_ERR_SYS_NETLINK naming the address and errno', () => {
    const { m, ops } = setup();
    ops.failWith = 'EPERM';
    const r = m.resolve([vip('10.9.0.50/24')], 'eth0');
    assert.throws(() => m.add(r), (e: unknown) => e instanceof DirectorError && e.code === 'DIR_ERR_SYS_NETLINK' && /10\.9\.0\.50\/24 dev eth0/.test(e.message) && /EPERM/.test(e.message));
  });
});
