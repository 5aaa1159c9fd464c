import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/core/clock.js';
import type { VrrpInstanceConfig } from '../../../src/config/model.js';
import { encodeVrrp, passwordAuthData, type VrrpPacketFields } from '../../../src/vrrp/codec.js';
import { VrrpStateMachine, type VrrpAction } from '../../../src/vrrp/state-machine.js';
import { DROP_REASONS, validateAdvert, type AdvertInput, type DropReason, type ValidateOptions } from '../../../src/vrrp/validate.js';
import { fixture, instanceConfig } from './helpers.js';

const PEER = '10.9.0.2';
const GROUP = '224.0.0.18';

function advert(fields: Partial<VrrpPacketFields> = {}, ctx: { source?: string; destination?: string; v3ChecksumMode?: 'keepalived' | 'rfc9568' } = {}): Buffer {
  const f: VrrpPacketFields = { version: 2, type: 1, vrid: 51, priority: 200, advertIntervalCs: 100, addresses: ['10.9.0.50'], authType: 0, ...fields };
  return encodeVrrp(f, { family: 4, source: ctx.source ?? PEER, destination: ctx.destination ?? GROUP, ...(ctx.v3ChecksumMode ? { v3ChecksumMode: ctx.v3ChecksumMode } : {}) });
}

function input(raw: Buffer, o: Partial<AdvertInput> = {}): AdvertInput {
  return { raw, ttlOrHopLimit: 255, source: PEER, destination: GROUP, family: 4, ...o };
}

/**
 * Runs the receive path the instance uses (validate, then the state machine if valid) against a
 * BACKUP and a MASTER machine, and checks that a dropped advert changes nothing in either.
 */
function assertDropped(cfg: VrrpInstanceConfig, inp: AdvertInput, reason: DropReason, detail?: RegExp, options?: ValidateOptions): void {
  const r = validateAdvert(inp, cfg, options);
  assert.equal(r.ok, false, `expected a drop (${reason})`);
  if (r.ok) return;
  assert.equal(r.reason, reason, r.detail);
  if (detail) assert.match(r.detail, detail);

  for (const role of ['BACKUP', 'MASTER'] as const) {
    const clock = new ManualClock();
    const actions: VrrpAction[] = [];
    const own = cfg.unicastSource?.text ?? '10.9.0.1';
    const sm = new VrrpStateMachine({ config: cfg, clock, primaryAddress: own, onAction: (a) => actions.push(a) });
    sm.start();
    if (role === 'MASTER') clock.advance(sm.masterDownIntervalMs);
    assert.equal(sm.state, role);
    clock.advance(300);
    const before = { state: sm.state, remaining: sm.timerRemainingMs, n: actions.length, master: sm.masterAddress };
    const again = validateAdvert(inp, cfg, options);
    if (again.ok) sm.receiveAdvert(again.packet, inp.source); // never reached: a drop must stop here
    assert.deepEqual({ state: sm.state, remaining: sm.timerRemainingMs, n: actions.length, master: sm.masterAddress }, before);
  }
}

describe('vrrp/validate (keepalived-spec 1.8, in order)', () => {
  const cfg = instanceConfig();

  it('accepts a valid advert and reports the checksum form', () => {
    const r = validateAdvert(input(advert()), cfg);
    assert.equal(r.ok, true);
    if (!r.ok) return;
    assert.equal(r.packet.priority, 200);
    assert.equal(r.checksumForm, 'v2');
    assert.deepEqual(r.warnings, []);
  });

  it('accepts the keepalived adverts captured on the wire', () => {
    const f = fixture('pass-prio200');
    const c = instanceConfig({ vrid: 42, priority: 100, authPass: 'secret12', vips: ['10.77.0.101', '10.77.0.100'] });
    const r = validateAdvert({ raw: Buffer.from(f.vrrp, 'hex'), ttlOrHopLimit: f.ttlOrHopLimit, source: f.src, destination: f.dst, family: 4 }, c);
    assert.equal(r.ok, true, r.ok ? '' : r.detail);
    const u = fixture('v3uni-prio120');
    const cu = instanceConfig({ version: 3, vrid: 7, advertIntervalMs: 350, vips: ['10.77.0.200'], peers: ['10.77.0.1'] });
    const ru = validateAdvert({ raw: Buffer.from(u.vrrp, 'hex'), ttlOrHopLimit: 64, source: u.src, destination: u.dst, family: 4 }, cu);
    assert.equal(ru.ok, true, ru.ok ? '' : ru.detail);
    const v6 = fixture('v6-prio254');
    const c6 = instanceConfig({ version: 3, family: 6, vrid: 9, advertIntervalMs: 500, vips: ['fd00:77::99', 'fe80::99'] });
    const r6 = validateAdvert({ raw: Buffer.from(v6.vrrp, 'hex'), ttlOrHopLimit: 255, source: v6.src, destination: v6.dst, family: 6 }, c6);
    assert.equal(r6.ok, true, r6.ok ? '' : r6.detail);
  });

  it('length: shorter than the header', () => {
    assertDropped(cfg, input(advert().subarray(0, 6)), 'length', /too short/);
  });

  it('length: truncated VIP list / count larger than the payload', () => {
    const raw = advert({ addresses: ['10.9.0.50', '10.9.0.51'] });
    assertDropped(cfg, input(raw.subarray(0, raw.length - 4)), 'length', /too short, length 20 and expect 24/);
  });

  it('length: oversized packet (trailing bytes)', () => {
    assertDropped(cfg, input(Buffer.concat([advert(), Buffer.alloc(4)])), 'length', /too long, length 24 and expect 20/);
  });

  it('vrid: another virtual router on the LAN is not ours (DROP, not an error)', () => {
    const r = validateAdvert(input(advert({ vrid: 52 })), cfg);
    assert.equal(!r.ok && r.severity, 'drop');
    assertDropped(cfg, input(advert({ vrid: 52 })), 'vrid');
  });

  it('ttl: TTL 64 in multicast mode (RFC 3768 7.1)', () => {
    assertDropped(cfg, input(advert(), { ttlOrHopLimit: 64 }), 'ttl', /invalid TTL\/HL. Received 64 and expect 255/);
  });

  it('ttl: not required in unicast mode (1.9)', () => {
    const uc = instanceConfig({ peers: [PEER] });
    const r = validateAdvert(input(advert({}, { destination: '10.9.0.1' }), { ttlOrHopLimit: 64, destination: '10.9.0.1' }), uc);
    assert.equal(r.ok, true, r.ok ? '' : r.detail);
  });

  it('version: v3 advert at a v2 instance', () => {
    const raw = advert({ version: 3, advertIntervalCs: 100, authType: undefined });
    assertDropped(cfg, input(raw), 'version', /wrong version. Received 3 and expect 2/);
  });

  it('auth: invalid auth type, type mismatch both ways, wrong password', () => {
    assertDropped(cfg, input(advert({ authType: 7 })), 'auth', /Invalid auth type: 7/);
    assertDropped(cfg, input(advert({ authType: 1, authData: passwordAuthData('secret12') })), 'auth', /received a 1 auth, expecting 0!/);
    const pass = instanceConfig({ authPass: 'secret12345' });
    assertDropped(pass, input(advert({ authType: 0 })), 'auth', /received a 0 auth, expecting 1!/);
    assertDropped(pass, input(advert({ authType: 1, authData: passwordAuthData('secret13') })), 'auth', /invalid passwd/);
    // Only the first 8 characters count.
    const ok = validateAdvert(input(advert({ authType: 1, authData: passwordAuthData('secret12-other') })), pass);
    assert.equal(ok.ok, true);
  });

  it('interval: v2 advert interval mismatch is a DROP (RFC 3768 7.1 MUST)', () => {
    const r = validateAdvert(input(advert({ advertIntervalCs: 200 })), cfg);
    assert.equal(!r.ok && r.severity, 'drop');
    assertDropped(cfg, input(advert({ advertIntervalCs: 200 })), 'interval', /mismatch mine=1 sec rcv'd=2 sec/);
  });

  it('interval: a v3 backup accepts another interval (it adopts the master\'s)', () => {
    const v3 = instanceConfig({ version: 3, advertIntervalMs: 500 });
    const r = validateAdvert(input(advert({ version: 3, advertIntervalCs: 100, authType: undefined })), v3);
    assert.equal(r.ok, true);
  });

  it('type: type 2 is refused', () => {
    assertDropped(cfg, input(advert({ type: 2 })), 'type', /Invalid packet type. 2 and expect 1/);
  });

  it('addresses: VIP count differs (2.2.7 drops; permanent split brain risk)', () => {
    assertDropped(cfg, input(advert({ addresses: ['10.9.0.50', '10.9.0.51'] })), 'addresses', /unexpected ip number count 2, expected 1!/);
  });

  it('addresses: a configured VIP is missing from the advert', () => {
    assertDropped(cfg, input(advert({ addresses: ['10.9.0.99'] })), 'addresses', /not present in MASTER advert : 10.9.0.50/);
  });

  it('addresses: order is irrelevant; with vipCheck "log" (HEAD) mismatches are only warnings', () => {
    const two = instanceConfig({ vips: ['10.9.0.50', '10.9.0.51'] });
    assert.equal(validateAdvert(input(advert({ addresses: ['10.9.0.51', '10.9.0.50'] })), two).ok, true);
    const r = validateAdvert(input(advert({ addresses: ['10.9.0.99', '10.9.0.98'] })), cfg, { vipCheck: 'log' });
    assert.equal(r.ok, true);
    if (r.ok) assert.deepEqual(r.warnings.map((w) => w.split(" ")[0]), ["received", "ip"]); // count, then the missing VIP
  });

  it('checksum: wrong v2 checksum', () => {
    const raw = advert();
    raw.writeUInt16BE(raw.readUInt16BE(6) ^ 0x0101, 6);
    assertDropped(cfg, input(raw), 'checksum', /Invalid VRRPv2 checksum/);
  });

  it('checksum: v3/IPv4 accepts both forms but not a wrong one', () => {
    const v3 = instanceConfig({ version: 3 });
    for (const mode of ['keepalived', 'rfc9568'] as const) {
      const r = validateAdvert(input(advert({ version: 3, authType: undefined }, { v3ChecksumMode: mode })), v3);
      assert.equal(r.ok && r.checksumForm, mode);
    }
    // keepalived form computed for another source address: wrong for this packet.
    const wrong = advert({ version: 3, authType: undefined }, { source: '10.9.0.3' });
    assertDropped(v3, input(wrong), 'checksum', /Invalid VRRPv3 checksum/);
  });

  it('mode: multicast advert at a unicast instance and vice versa', () => {
    const uc = instanceConfig({ peers: [PEER] });
    assertDropped(uc, input(advert()), 'mode', /Expected unicast packet but received multicast packet/);
    assertDropped(cfg, input(advert({}, { destination: '10.9.0.1' }), { destination: '10.9.0.1' }), 'mode', /Expected multicast packet but received unicast/);
  });

  it('owner: owner_ignore_adverts drops everything at priority 255', () => {
    const owner = instanceConfig({ priority: 255, initialState: 'MASTER' });
    const r = validateAdvert(input(advert()), owner, { ownerIgnoreAdverts: true });
    assert.equal(!r.ok && r.reason, 'owner');
    assert.equal(validateAdvert(input(advert()), owner).ok, true);
  });

  it('unicast-source: source not a configured peer (default on; off like keepalived without check_unicast_src)', () => {
    const uc = instanceConfig({ peers: [PEER] });
    const raw = advert({}, { source: '10.9.0.99', destination: '10.9.0.1' });
    const inp = input(raw, { source: '10.9.0.99', destination: '10.9.0.1' });
    assertDropped(uc, inp, 'unicast-source', /10.9.0.99 not a unicast peer/);
    assert.equal(validateAdvert(inp, uc, { checkUnicastSource: false }).ok, true);
  });

  it('checks run in keepalived order: the first failing check wins', () => {
    // Bad TTL + wrong version + bad checksum → ttl (row 3 before 4 and 14).
    const raw = advert({ version: 3, authType: undefined });
    raw.writeUInt16BE(0, 6);
    const r = validateAdvert(input(raw, { ttlOrHopLimit: 1 }), cfg);
    assert.equal(!r.ok && r.reason, 'ttl');
    // Wrong auth + wrong interval + wrong count → auth.
    const r2 = validateAdvert(input(advert({ authType: 1, advertIntervalCs: 300, addresses: [] })), cfg);
    assert.equal(!r2.ok && r2.reason, 'auth');
    // Interval before type before count before checksum.
    const raw3 = advert({ advertIntervalCs: 300, type: 3, addresses: [] });
    raw3.writeUInt16BE(0, 6);
    assert.equal((validateAdvert(input(raw3), cfg) as { reason?: string }).reason, 'interval');
    assert.equal(DROP_REASONS.indexOf('ttl') < DROP_REASONS.indexOf('checksum'), true);
  });
});
