import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/core/clock.js';
import type { VrrpPacket } from '../../../src/vrrp/codec.js';
import { VrrpStateMachine, type VrrpAction } from '../../../src/vrrp/state-machine.js';
import { VrrpSyncGroup, type SyncGroupStateChange } from '../../../src/vrrp/sync-group.js';
import { instanceConfig } from './helpers.js';

function pkt(priority: number, vrid: number): VrrpPacket {
  return { version: 2, type: 1, vrid, priority, countIpAddrs: 1, authType: 0, advertIntervalCs: 100, checksum: 0, addresses: ['10.9.0.50'] };
}

function group(prios: [number, number] = [150, 150]) {
  const clock = new ManualClock();
  const actions: { member: string; a: VrrpAction }[] = [];
  const mk = (name: string, vrid: number, priority: number) =>
    new VrrpStateMachine({ config: instanceConfig({ name, vrid, priority }), clock, primaryAddress: '10.9.0.2', onAction: (a) => actions.push({ member: name, a }) });
  const vi1 = mk('VI_1', 51, prios[0]);
  const vi2 = mk('VI_2', 52, prios[1]);
  const changes: SyncGroupStateChange[] = [];
  const g = new VrrpSyncGroup({ name: 'G1', members: [vi1, vi2], onGroupStateChange: (c) => changes.push(c) });
  return { clock, vi1, vi2, g, actions, changes };
}

describe('vrrp/sync-group (keepalived-spec 3.6)', () => {
  it('becomes MASTER only as a whole: the first expiring member waits for the other', () => {
    const { clock, vi1, vi2, g, changes } = group([150, 100]);
    vi1.start();
    vi2.start();
    clock.advance(3414.062); // VI_1's timer expires; VI_2 (3.609 s) does not want MASTER yet
    assert.equal(vi1.state, 'BACKUP');
    assert.equal(vi1.wantsMaster, true);
    clock.advance(195.313); // VI_2 expires → both want MASTER → VI_2 goes MASTER and VI_1 follows
    assert.equal(vi2.state, 'MASTER');
    assert.equal(vi1.state, 'MASTER');
    assert.equal(g.state, 'MASTER');
    assert.deepEqual(changes.map((c) => c.to), ['BACKUP', 'MASTER']);
  });

  it('a member hearing a live master keeps the whole group BACKUP', () => {
    const { clock, vi1, vi2 } = group();
    vi1.start();
    vi2.start();
    for (let i = 0; i < 10; i++) {
      vi2.receiveAdvert(pkt(200, 52), '10.9.0.1');
      clock.advance(1000);
    }
    assert.equal(vi1.state, 'BACKUP');
    assert.equal(vi2.state, 'BACKUP');
  });

  it('one member yielding to a higher-priority advert takes the others to BACKUP, without priority 0', () => {
    const { clock, vi1, vi2, actions } = group();
    vi1.start();
    vi2.start();
    clock.advance(5000);
    assert.equal(vi1.state, 'MASTER');
    assert.equal(vi2.state, 'MASTER');
    actions.splice(0);
    vi1.receiveAdvert(pkt(200, 51), '10.9.0.1');
    assert.equal(vi1.state, 'BACKUP');
    assert.equal(vi2.state, 'BACKUP');
    assert.equal(actions.some(({ a }) => a.type === 'send-advert' && a.priority === 0), false);
    const vi2Change = actions.find(({ member, a }) => member === 'VI_2' && a.type === 'state-change');
    assert.equal(vi2Change?.a.type === 'state-change' && vi2Change.a.syncGroup, 'G1'); // following the group
  });

  it('one member FAULT → all FAULT (masters send priority 0); they leave FAULT together', () => {
    const { clock, vi1, vi2, g, actions, changes } = group();
    vi1.start();
    vi2.start();
    clock.advance(5000);
    actions.splice(0);
    vi2.setFault(true, 'interface eth1 down');
    assert.equal(vi1.state, 'FAULT');
    assert.equal(vi2.state, 'FAULT');
    assert.equal(g.state, 'FAULT');
    const zeros = actions.filter(({ a }) => a.type === 'send-advert' && a.priority === 0).map(({ member }) => member).sort();
    assert.deepEqual(zeros, ['VI_1', 'VI_2']);
    // A second own fault, then the first clears: still FAULT (VI_1 has its own fault now).
    vi1.setFault(true, 'script chk failed');
    vi2.setFault(false, 'interface eth1 up');
    assert.equal(vi2.state, 'FAULT');
    assert.equal(vi1.state, 'FAULT');
    vi1.setFault(false, 'script chk ok');
    assert.equal(vi1.state, 'BACKUP');
    assert.equal(vi2.state, 'BACKUP');
    assert.deepEqual(changes.map((c) => c.to), ['BACKUP', 'MASTER', 'FAULT', 'BACKUP']);
    clock.advance(5000);
    assert.equal(g.state, 'MASTER');
  });

  it('relinquishing one member hands the whole group over (priority 0 from each, all hold)', () => {
    const { clock, vi1, vi2, actions } = group();
    vi1.start();
    vi2.start();
    clock.advance(5000);
    actions.splice(0);
    vi1.relinquish();
    assert.equal(vi1.state, 'BACKUP');
    assert.equal(vi2.state, 'BACKUP');
    const zeros = actions.filter(({ a }) => a.type === 'send-advert' && a.priority === 0).map(({ member }) => member).sort();
    assert.deepEqual(zeros, ['VI_1', 'VI_2']);
    assert.equal(vi2.relinquishHoldMs, Number.POSITIVE_INFINITY);
    // The peer's lower-priority adverts are accepted by both.
    clock.advance(500);
    assert.equal(vi1.receiveAdvert(pkt(100, 51), '10.9.0.1'), 'backup-accepted');
    assert.equal(vi2.receiveAdvert(pkt(100, 52), '10.9.0.1'), 'backup-accepted');
  });

  it('a fault present before start puts the whole group in FAULT (init)', () => {
    const { vi1, vi2 } = group();
    vi1.setFault(true, 'no source address');
    vi1.start();
    vi2.start();
    assert.equal(vi1.state, 'FAULT');
    assert.equal(vi2.state, 'FAULT');
  });

  it('close() detaches: members then act alone', () => {
    const { clock, vi1, vi2, g } = group([150, 100]);
    g.close();
    vi1.start();
    vi2.start();
    clock.advance(3414.062);
    assert.equal(vi1.state, 'MASTER');
    assert.equal(vi2.state, 'BACKUP');
  });
});
