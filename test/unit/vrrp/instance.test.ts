import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/core/clock.js';
import { MemoryLogger } from '../../../src/core/logger.js';
import type { ReceivedVrrp } from '../../../src/sys/rawnet.js';
import { MemoryRawNet } from '../../../src/sys/rawnet-memory.js';
import { decodeVrrp, encodeVrrp, vrrpChecksumOk } from '../../../src/vrrp/codec.js';
import { VrrpInstance } from '../../../src/vrrp/instance.js';
import type { VrrpStateChange } from '../../../src/vrrp/types.js';
import { VipManager } from '../../../src/vrrp/vip-manager.js';
import { expandInstance, type RunnerInstance } from '../../netns/runner-config.js';
import { MemoryAddressOps } from './io-fakes.js';

const MDI_100 = 3000 + (156 * 1000) / 256;

function setup(over: Partial<RunnerInstance> = {}, addresses = [{ family: 4 as const, address: '10.9.0.2', prefixLength: 24 }]) {
  const clock = new ManualClock();
  const logger = new MemoryLogger();
  const rawnet = new MemoryRawNet();
  rawnet.addInterface('eth0', 2, '02:00:00:00:00:02', addresses);
  const ops = new MemoryAddressOps();
  let addAtSent = -1;
  const origAdd = ops.add.bind(ops);
  ops.add = (a) => {
    addAtSent = rawnet.sent.length;
    return origAdd(a);
  };
  const vips = new VipManager({ ops, logger, ifindex: (n) => rawnet.interfaceInfo(n).index });
  const changes: VrrpStateChange[] = [];
  const config = expandInstance({ name: 'VI_1', interface: 'eth0', vrid: 51, priority: 100, vips: ['10.9.0.50/24'], ...over });
  const inst = new VrrpInstance({ config, clock, logger, rawnet, vips, onStateChange: (c) => changes.push(c) });
  return { clock, logger, rawnet, ops, inst, changes, addAtSent: () => addAtSent };
}

function advert(prio: number, opts: { ttl?: number; vrid?: number; source?: string; interval?: number } = {}): ReceivedVrrp {
  const source = opts.source ?? '10.9.0.1';
  const payload = encodeVrrp(
    { version: 2, type: 1, vrid: opts.vrid ?? 51, priority: prio, authType: 0, advertIntervalCs: (opts.interval ?? 1) * 100, addresses: ['10.9.0.50'] },
    { family: 4, source, destination: '224.0.0.18' },
  );
  return { payload, family: 4, ttlOrHopLimit: opts.ttl ?? 255, source, destination: '224.0.0.18', ifindex: 2, lengthMismatch: false, protocol: 112 };
}

const adverts = (rn: MemoryRawNet) => rn.sent.flatMap((s) => (s.kind === 'vrrp' ? [{ ...decodeVrrp(s.payload, 4), destination: s.destination, raw: s.payload }] : []));
const frames = (rn: MemoryRawNet) => rn.sent.filter((s) => s.kind === 'frame');

describe('vrrp/instance: socket ↔ validation ↔ state machine ↔ VIPs/GARP', () => {
  it('starts BACKUP, removes VIPs left by a killed predecessor, sends nothing', () => {
    const { inst, ops, rawnet, changes } = setup();
    ops.table.push({ family: 4, address: '10.9.0.50', prefixLength: 24, ifindex: 2 });
    inst.start();
    assert.equal(inst.status().state, 'BACKUP');
    assert.equal(ops.table.length, 0, 'leftover VIP removed at start');
    assert.equal(rawnet.sent.length, 0);
    assert.deepEqual(changes.map((c) => [c.from, c.to]), [['INIT', 'BACKUP']]);
    inst.destroy();
  });

  it('on Master_Down expiry: advert first, then the VIP, then 5 GARPs (keepalived-spec 1.4 order)', () => {
    const { inst, ops, rawnet, clock, addAtSent } = setup();
    inst.start();
    clock.advance(MDI_100 - 1);
    assert.equal(inst.status().state, 'BACKUP');
    clock.advance(2);
    assert.equal(inst.status().state, 'MASTER');
    const a = adverts(rawnet);
    assert.equal(a.length, 1);
    assert.equal(rawnet.sent[0]?.kind, 'vrrp', 'the advert is the first thing on the wire');
    assert.equal(addAtSent(), 1, 'VIP added after the advert and before any GARP');
    assert.deepEqual(ops.table.map((t) => `${t.address}/${t.prefixLength}`), ['10.9.0.50/24']);
    assert.equal(frames(rawnet).length, 5);
    const first = a[0];
    assert.ok(first);
    assert.deepEqual([first.version, first.vrid, first.priority, first.advertIntervalCs, first.destination], [2, 51, 100, 100, '224.0.0.18']);
    assert.deepEqual(first.addresses, ['10.9.0.50']);
    assert.equal(vrrpChecksumOk(first.raw, { family: 4, source: '10.9.0.2', destination: '224.0.0.18' }).ok, true);
    clock.advance(1000);
    assert.equal(adverts(rawnet).length, 2, 'one advert per advert_int');
    clock.advance(4000);
    assert.equal(frames(rawnet).length, 10, 'second GARP burst garp_master_delay after the first');
    const t = inst.lastTakeover;
    assert.ok(t && t.vipMs >= 0 && t.firstGarpMs >= t.vipMs);
    inst.destroy();
  });

  it('hostile adverts are dropped and counted per reason, logged once per reason, without a state change', () => {
    const { inst, rawnet, clock, logger, changes } = setup({ priority: 150 });
    inst.start();
    clock.advance(4000);
    assert.equal(inst.status().state, 'MASTER');
    const before = changes.length;
    rawnet.deliver('eth0', advert(254, { ttl: 64 }));
    rawnet.deliver('eth0', advert(254, { ttl: 64 }));
    rawnet.deliver('eth0', advert(254, { vrid: 52 }));
    rawnet.deliver('eth0', advert(254, { interval: 2 }));
    const bad = advert(254);
    bad.payload.writeUInt16BE(bad.payload.readUInt16BE(6) ^ 0xffff, 6);
    rawnet.deliver('eth0', bad);
    rawnet.deliver('eth0', { ...advert(254), lengthMismatch: true });
    rawnet.deliver('eth0', { ...advert(254), protocol: 51 });
    const st = inst.status();
    assert.deepEqual(st.dropped, { ttl: 2, vrid: 1, interval: 1, checksum: 1, length: 1, auth: 1 });
    assert.equal(st.state, 'MASTER');
    assert.equal(changes.length, before);
    const warns = logger.records.filter((r) => r.level === 'warn' && r.fields.dropReason === 'ttl');
    assert.equal(warns.length, 1, 'rate limited: one log line per reason');
    assert.equal(logger.records.filter((r) => r.fields.dropReason === 'vrid').length, 0, 'other VRIDs are not errors');
    inst.destroy();
  });

  it('a valid higher-priority advert makes the master yield: VIP removed, no priority 0 (keepalived-spec 1.7)', () => {
    const { inst, rawnet, clock, ops } = setup({ priority: 100 });
    inst.start();
    clock.advance(4000);
    const sentBefore = adverts(rawnet).length;
    rawnet.deliver('eth0', advert(150));
    assert.equal(inst.status().state, 'BACKUP');
    assert.equal(ops.table.length, 0);
    assert.equal(adverts(rawnet).slice(sentBefore).filter((a) => a.priority === 0).length, 0);
    assert.equal(inst.status().advertsReceived, 1);
    // The pending second GARP burst is cancelled once we are no longer MASTER.
    // (the new master keeps advertising, so we stay BACKUP past the burst's due time).
    const f = frames(rawnet).length;
    for (let i = 0; i < 6; i++) {
      clock.advance(1000);
      rawnet.deliver('eth0', advert(150));
    }
    assert.equal(inst.status().state, 'BACKUP');
    assert.equal(frames(rawnet).length, f);
    inst.destroy();
  });

  it('close() from MASTER sends exactly one priority-0 advert, removes the VIPs and closes the socket', async () => {
    const { inst, rawnet, clock, ops } = setup();
    inst.start();
    clock.advance(4000);
    const before = adverts(rawnet).length;
    await inst.close();
    const after = adverts(rawnet).slice(before);
    assert.deepEqual(after.map((a) => a.priority), [0]);
    assert.equal(ops.table.length, 0);
    assert.equal(rawnet.openChannels(), 0);
    await inst.close();
    assert.equal(adverts(rawnet).length, before + 1, 'close is idempotent');
  });

  it('destroy() sends nothing but still removes VIPs (a leftover VIP is a duplicate-address hazard)', () => {
    const { inst, rawnet, clock, ops } = setup();
    inst.start();
    clock.advance(4000);
    const before = rawnet.sent.length;
    inst.destroy();
    assert.equal(rawnet.sent.length, before);
    assert.equal(ops.table.length, 0);
    assert.equal(rawnet.openChannels(), 0);
    assert.equal(clock.pendingTimers(), 0);
  });

  it('never takes a leftover VIP as its primary (source) address', () => {
    const { inst, rawnet, clock } = setup({}, [
      { family: 4, address: '10.9.0.50', prefixLength: 24 },
      { family: 4, address: '10.9.0.2', prefixLength: 24 },
    ]);
    assert.equal(inst.primaryAddress, '10.9.0.2');
    inst.start();
    clock.advance(4000);
    const first = rawnet.sent.find((s) => s.kind === 'vrrp');
    assert.ok(first?.kind === 'vrrp' && first.source === '10.9.0.2');
    inst.destroy();
  });

  it('without a source address on the interface the instance starts in FAULT ("src address not configured")', () => {
    const { inst, changes } = setup({}, []);
    inst.start();
    assert.equal(inst.status().state, 'FAULT');
    assert.match(changes.at(-1)?.reason ?? '', /src address not configured/);
    inst.destroy();
  });

  it('unicast: adverts go to each peer (checksum per destination), and a multicast advert is dropped (mode)', () => {
    const { inst, rawnet, clock } = setup({ priority: 150, version: 3, unicastSrc: '10.9.0.2', unicastPeers: ['10.9.0.1', '10.9.0.3'] });
    inst.start();
    clock.advance(4000);
    const a = adverts(rawnet);
    assert.deepEqual(a.map((x) => x.destination), ['10.9.0.1', '10.9.0.3']);
    for (const x of a) assert.equal(vrrpChecksumOk(x.raw, { family: 4, source: '10.9.0.2', destination: x.destination }).form, 'keepalived');
    const mc = encodeVrrp({ version: 3, type: 1, vrid: 51, priority: 200, advertIntervalCs: 100, addresses: ['10.9.0.50'] }, { family: 4, source: '10.9.0.1', destination: '224.0.0.18' });
    rawnet.deliver('eth0', { payload: mc, family: 4, ttlOrHopLimit: 255, source: '10.9.0.1', destination: '224.0.0.18', ifindex: 2, lengthMismatch: false, protocol: 112 });
    assert.equal(inst.status().dropped.mode, 1);
    assert.equal(inst.status().state, 'MASTER');
    inst.destroy();
  });
});
