import assert from 'node:assert/strict';
import { DirectorError } from '../../../src/core/errors.js';
import { computeVrrpChecksum, internetChecksum } from '../../../src/vrrp/checksum.js';
import { decodeVrrp, encodeVrrp, passwordAuthData, vrrpChecksumOk, type VrrpPacketFields } from '../../../src/vrrp/codec.js';
import { fixture, loadAdvertFixtures } from './helpers.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('vrrp/checksum', () => {
  it('computes the RFC 1071 example sum', () => {
    // RFC 1071 4.1 example bytes: 00 01 f2 03 f4 f5 f6 f7 → one's complement sum 0xddf2.
    assert.equal(internetChecksum([hex('0001f203f4f5f6f7')]), ~0xddf2 & 0xffff);
    // Split across parts at an odd boundary gives the same result as contiguous bytes.
    assert.equal(internetChecksum([hex('0001f2'), hex('03f4f5f6f7')]), ~0xddf2 & 0xffff);
    // Odd total length pads with a zero byte.
    assert.equal(internetChecksum([hex('01')]), ~0x0100 & 0xffff);
  });

  it('the IPv4 header in the spike capture checks out (sanity of the fixture)', () => {
    const f = fixture('spike-v2-prio150');
    assert.equal(internetChecksum([hex(f.ipHeader ?? '')]), 0);
  });
});

describe('vrrp/codec: byte-exact against keepalived', () => {
  for (const f of loadAdvertFixtures()) {
    it(`${f.name}: decode, re-encode byte for byte, checksum verifies (${f.source})`, () => {
      const raw = hex(f.vrrp);
      const p = decodeVrrp(raw, f.family);
      const ctx = { family: f.family, source: f.src, destination: f.dst };
      const again = encodeVrrp(
        { version: p.version, type: p.type, vrid: p.vrid, priority: p.priority, advertIntervalCs: p.advertIntervalCs, addresses: p.addresses, ...(p.authType !== undefined ? { authType: p.authType } : {}), ...(p.authData ? { authData: p.authData } : {}) },
        ctx,
      );
      assert.equal(again.toString('hex'), f.vrrp);
      const ok = vrrpChecksumOk(raw, ctx);
      assert.equal(ok.ok, true);
      assert.equal(ok.form, p.version === 2 ? 'v2' : f.family === 6 ? 'v6' : 'keepalived');
    });
  }

  it('encodes keepalived 2.2.7 v2 adverts from fields (spec 1.1.1 vector)', () => {
    const buf = encodeVrrp(
      { version: 2, type: 1, vrid: 51, priority: 100, advertIntervalCs: 100, addresses: ['10.9.0.50'], authType: 0 },
      { family: 4, source: '10.9.0.1', destination: '224.0.0.18' },
    );
    assert.equal(buf.toString('hex'), '213364010001708f0a0900320000000000000000');
  });

  it('encodes PASS auth like keepalived: only the first 8 characters, zero padded', () => {
    const f = fixture('pass-prio200'); // auth_pass secret12345 captured from keepalived
    const p = decodeVrrp(hex(f.vrrp), 4);
    assert.equal(p.authType, 1);
    assert.deepEqual(p.authData, passwordAuthData('secret12345'));
    assert.equal(p.authData?.toString('latin1'), 'secret12');
    assert.deepEqual(passwordAuthData('abc'), Buffer.from([0x61, 0x62, 0x63, 0, 0, 0, 0, 0]));
    const built = encodeVrrp(
      { version: 2, type: 1, vrid: 42, priority: 200, advertIntervalCs: 100, addresses: ['10.77.0.100', '10.77.0.101'], authType: 1, authData: passwordAuthData('secret12345') },
      { family: 4, source: f.src, destination: f.dst },
    );
    assert.equal(built.toString('hex'), f.vrrp);
  });

  it('VRRPv3/IPv4: keepalived pseudo-header form by default, RFC 9568 form on request; both accepted', () => {
    const fields: VrrpPacketFields = { version: 3, type: 1, vrid: 51, priority: 150, advertIntervalCs: 50, addresses: ['10.9.0.50'] };
    const ctx = { family: 4 as const, source: '10.9.0.1', destination: '224.0.0.18' };
    const ka = encodeVrrp(fields, ctx);
    const rfc = encodeVrrp(fields, { ...ctx, v3ChecksumMode: 'rfc9568' });
    assert.equal(ka.readUInt16BE(6), 0x43c5); // measured keepalived value (spec 1.1.3)
    assert.equal(rfc.readUInt16BE(6), 0x2e5e); // the no-pseudo-header value the spec computed
    assert.deepEqual(vrrpChecksumOk(ka, ctx), { ok: true, form: 'keepalived' });
    assert.deepEqual(vrrpChecksumOk(rfc, ctx), { ok: true, form: 'rfc9568' });
    // The pseudo-header form depends on the addresses: the same bytes from another source fail,
    // unless by accident they match the RFC 9568 form (they do not here).
    assert.equal(vrrpChecksumOk(ka, { ...ctx, source: '10.9.0.2' }).ok, false);
    const bad = Buffer.from(ka);
    bad.writeUInt16BE(0x1234, 6);
    assert.equal(vrrpChecksumOk(bad, ctx).ok, false);
  });

  it('VRRPv3/IPv4 unicast: per-peer pseudo-header destination, and the old 224.0.0.18 form is accepted', () => {
    const f = fixture('v3uni-prio120');
    const raw = hex(f.vrrp);
    assert.deepEqual(vrrpChecksumOk(raw, { family: 4, source: f.src, destination: f.dst }), { ok: true, form: 'keepalived' });
    const p = decodeVrrp(raw, 4);
    assert.equal(p.advertIntervalCs, 35); // advert_int 0.35
    const old = encodeVrrp(
      { version: 3, type: 1, vrid: p.vrid, priority: p.priority, advertIntervalCs: 35, addresses: p.addresses },
      { family: 4, source: f.src, destination: '224.0.0.18' },
    );
    assert.deepEqual(vrrpChecksumOk(old, { family: 4, source: f.src, destination: f.dst }), { ok: true, form: 'keepalived-old-unicast' });
  });

  it('VRRPv3/IPv6 uses the IPv6 pseudo-header (RFC 5798 5.2.8)', () => {
    const f = fixture('v6-prio254');
    const raw = hex(f.vrrp);
    const p = decodeVrrp(raw, 6);
    assert.deepEqual(p.addresses, ['fe80::99', 'fd00:77::99']);
    assert.equal(p.advertIntervalCs, 50);
    assert.equal(computeVrrpChecksum(raw, 'v6', { source: f.src, destination: f.dst }), raw.readUInt16BE(6));
    assert.notEqual(computeVrrpChecksum(raw, 'rfc9568'), raw.readUInt16BE(6));
    assert.equal(vrrpChecksumOk(raw, { family: 6, source: 'fe80::1', destination: f.dst }).ok, false);
  });

  it('round-trips random packets of every kind', () => {
    const cases: { fields: VrrpPacketFields; family: 4 | 6; src: string; dst: string }[] = [
      { fields: { version: 2, type: 1, vrid: 1, priority: 255, advertIntervalCs: 25500, addresses: [], authType: 0 }, family: 4, src: '192.0.2.1', dst: '224.0.0.18' },
      { fields: { version: 2, type: 1, vrid: 255, priority: 0, advertIntervalCs: 300, addresses: ['192.0.2.10', '192.0.2.11', '198.51.100.1'], authType: 1, authData: passwordAuthData('pw') }, family: 4, src: '192.0.2.1', dst: '224.0.0.18' },
      { fields: { version: 3, type: 1, vrid: 9, priority: 1, advertIntervalCs: 4095, addresses: ['192.0.2.10'] }, family: 4, src: '192.0.2.1', dst: '192.0.2.2' },
      { fields: { version: 3, type: 1, vrid: 9, priority: 200, advertIntervalCs: 1, addresses: ['fe80::1', '2001:db8::1:0:0:1'] }, family: 6, src: 'fe80::2', dst: 'ff02::12' },
    ];
    for (const c of cases) {
      const buf = encodeVrrp(c.fields, { family: c.family, source: c.src, destination: c.dst });
      const p = decodeVrrp(buf, c.family);
      assert.equal(p.version, c.fields.version);
      assert.equal(p.vrid, c.fields.vrid);
      assert.equal(p.priority, c.fields.priority);
      assert.equal(p.advertIntervalCs, c.fields.advertIntervalCs);
      assert.deepEqual(p.addresses, c.fields.addresses);
      assert.equal(p.countIpAddrs, c.fields.addresses.length);
      assert.equal(vrrpChecksumOk(buf, { family: c.family, source: c.src, destination: c.dst }).ok, true);
      if (c.fields.version === 2) assert.deepEqual(p.authData, c.fields.authData ?? Buffer.alloc(8));
    }
  });

  it('ignores the v3 reserved bits on receive (RFC 5798 5.2.6)', () => {
    const raw = hex('31339601f03243c50a090032');
    assert.equal(decodeVrrp(raw, 4).advertIntervalCs, 0x32);
  });

  it('refuses malformed input with DIR_ERR_VRRP_MALFORMED', () => {
    const cases: [string, 4 | 6, RegExp][] = [
      ['2133640100', 4, /shorter than the 8-byte header/],
      ['513364010001708f0a0900320000000000000000', 4, /version 5/],
      ['213364020001708f0a0900320000000000000000', 4, /length 20, expected 24/],
      ['213364010001708f0a090032000000000000000000', 4, /length 21/],
      ['21336401000170', 4, /shorter/],
      ['213364010001708f0a0900320000000000000000', 6, /VRRPv2 over IPv6/],
    ];
    for (const [h, fam, re] of cases) {
      assert.throws(
        () => decodeVrrp(hex(h), fam),
        (e: unknown) => e instanceof DirectorError && e.code === 'DIR_ERR_VRRP_MALFORMED' && re.test(e.message),
        h,
      );
    }
  });

  it('refuses to encode impossible packets with DIR_ERR_VRRP_ENCODE', () => {
    const ctx = { family: 4 as const, source: '10.0.0.1', destination: '224.0.0.18' };
    const base: VrrpPacketFields = { version: 2, type: 1, vrid: 1, priority: 100, advertIntervalCs: 100, addresses: ['10.0.0.9'] };
    const bad: [VrrpPacketFields, typeof ctx | { family: 6; source: string; destination: string }][] = [
      [{ ...base, advertIntervalCs: 150 }, ctx],
      [{ ...base, vrid: 256 }, ctx],
      [{ ...base, priority: -1 }, ctx],
      [{ ...base, addresses: ['fe80::1'] }, ctx],
      [base, { family: 6, source: 'fe80::1', destination: 'ff02::12' }],
      [{ ...base, version: 3, advertIntervalCs: 4096 }, ctx],
      [{ ...base, authData: Buffer.alloc(4) }, ctx],
    ];
    for (const [f, c] of bad) {
      assert.throws(() => encodeVrrp(f, c), (e: unknown) => e instanceof DirectorError && e.code === 'DIR_ERR_VRRP_ENCODE', JSON.stringify(f));
    }
  });
});
