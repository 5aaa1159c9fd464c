/**
 * VRRP advertisement encoder/decoder (VRRP payload only; the IP header is the transport's).
 *
 * v2: RFC 3768 5.1 (keepalived-spec 1.1.1): ver/type, VRID, priority, count, auth type,
 *     adver int (seconds), checksum, IPv4 addresses, 8 bytes of authentication data (always sent,
 *     zero-filled when auth type is 0, as keepalived does).
 * v3: RFC 5798 / RFC 9568 5.1 (keepalived-spec 1.1.2): ver/type, VRID, priority, count, 4 reserved
 *     bits + 12-bit Max Adver Int in centiseconds, checksum, IPv4 or IPv6 addresses. No auth.
 */
import { DirectorError } from '../core/errors.js';
import { formatIpBytes, ipBytes } from '../core/ip.js';
import { computeVrrpChecksum } from './checksum.js';

/** RFC 3768 5.3.2 / RFC 5798 5.2.2: the only defined type. */
export const VRRP_TYPE_ADVERTISEMENT = 1;
/** RFC 3768 5.3.6 auth types (keepalived-spec 1.10). */
export const VRRP_AUTH_NONE = 0;
export const VRRP_AUTH_PASS = 1;
export const VRRP_AUTH_AH = 2;
/** v2 authentication data length (RFC 3768 5.3.10). */
export const VRRP_V2_AUTH_LEN = 8;
export const VRRP_HEADER_LEN = 8;
/** Default multicast groups (RFC 5798 5.1.1.2 / 5.1.2.2). */
export const VRRP_MCAST_V4 = '224.0.0.18';
export const VRRP_MCAST_V6 = 'ff02::12';

export interface VrrpPacket {
  readonly version: 2 | 3;
  readonly type: number;
  readonly vrid: number;
  readonly priority: number;
  readonly countIpAddrs: number;
  /** v2 only (0 none, 1 PASS, 2 AH). */
  readonly authType?: number;
  /** v3: Max Adver Int in centiseconds; v2: Adver Int seconds × 100. */
  readonly advertIntervalCs: number;
  readonly checksum: number;
  /** Canonical text (RFC 5952 for IPv6). */
  readonly addresses: readonly string[];
  /** v2 only: the 8 bytes of authentication data. */
  readonly authData?: Buffer;
}

export type VrrpPacketFields = Omit<VrrpPacket, 'checksum' | 'countIpAddrs'>;

export interface VrrpChecksumContext {
  readonly family: 4 | 6;
  readonly source: string;
  readonly destination: string;
}

export interface VrrpEncodeContext extends VrrpChecksumContext {
  /** VRRPv3 over IPv4 only (keepalived-spec 1.1.3). Default 'keepalived' (pseudo-header). */
  readonly v3ChecksumMode?: 'keepalived' | 'rfc9568';
}

/** Expected VRRP message length for a version/family/address count (keepalived-spec 1.8 #2). */
export function vrrpMessageLength(version: 2 | 3, family: 4 | 6, count: number): number {
  return VRRP_HEADER_LEN + count * (family === 4 ? 4 : 16) + (version === 2 ? VRRP_V2_AUTH_LEN : 0);
}

function encodeError(reason: string): DirectorError {
  return new DirectorError('DIR_ERR_VRRP_ENCODE', { reason });
}

/** The 8 auth bytes for a keepalived `auth_pass`: only the first 8 characters count, zero padded (keepalived-spec 1.10). */
export function passwordAuthData(password: string): Buffer {
  const out = Buffer.alloc(VRRP_V2_AUTH_LEN);
  Buffer.from(password, 'utf8').copy(out, 0, 0, VRRP_V2_AUTH_LEN);
  return out;
}

/** Builds a VRRP message with its checksum filled in. */
export function encodeVrrp(p: VrrpPacketFields, ctx: VrrpEncodeContext): Buffer {
  if (p.version !== 2 && p.version !== 3) throw encodeError(`version ${String(p.version)} (expected 2 or 3)`);
  if (p.version === 2 && ctx.family !== 4) throw encodeError('VRRPv2 is IPv4 only (RFC 3768)');
  if (!Number.isInteger(p.type) || p.type < 0 || p.type > 15) throw encodeError(`type ${p.type}`);
  if (!Number.isInteger(p.vrid) || p.vrid < 0 || p.vrid > 255) throw encodeError(`VRID ${p.vrid}`);
  if (!Number.isInteger(p.priority) || p.priority < 0 || p.priority > 255) throw encodeError(`priority ${p.priority}`);
  if (p.addresses.length > 255) throw encodeError(`${p.addresses.length} addresses (at most 255)`);
  let intervalField: number;
  if (p.version === 2) {
    // RFC 3768 5.3.7: whole seconds, 8 bits.
    if (p.advertIntervalCs % 100 !== 0 || p.advertIntervalCs < 100 || p.advertIntervalCs > 25500) {
      throw encodeError(`VRRPv2 advert interval ${p.advertIntervalCs / 100}s (whole seconds 1..255)`);
    }
    intervalField = p.advertIntervalCs / 100;
  } else {
    // RFC 5798 5.2.7: 12 bits of centiseconds.
    if (!Number.isInteger(p.advertIntervalCs) || p.advertIntervalCs < 1 || p.advertIntervalCs > 4095) {
      throw encodeError(`VRRPv3 advert interval ${p.advertIntervalCs} cs (1..4095)`);
    }
    intervalField = p.advertIntervalCs;
  }
  const addrLen = ctx.family === 4 ? 4 : 16;
  const len = vrrpMessageLength(p.version, ctx.family, p.addresses.length);
  const buf = Buffer.alloc(len);
  buf[0] = (p.version << 4) | p.type;
  buf[1] = p.vrid;
  buf[2] = p.priority;
  buf[3] = p.addresses.length;
  if (p.version === 2) {
    const authType = p.authType ?? VRRP_AUTH_NONE;
    if (!Number.isInteger(authType) || authType < 0 || authType > 255) throw encodeError(`auth type ${authType}`);
    buf[4] = authType;
    buf[5] = intervalField;
  } else {
    buf.writeUInt16BE(intervalField & 0x0fff, 4);
  }
  let off = VRRP_HEADER_LEN;
  for (const a of p.addresses) {
    const bytes = ipBytes(a);
    if (!bytes || bytes.length !== addrLen) throw encodeError(`"${a}" is not an IPv${ctx.family} address`);
    buf.set(bytes, off);
    off += addrLen;
  }
  if (p.version === 2 && p.authData) {
    if (p.authData.length !== VRRP_V2_AUTH_LEN) throw encodeError(`auth data of ${p.authData.length} bytes (expected 8)`);
    p.authData.copy(buf, off);
  }
  const form = p.version === 2 ? 'v2' : ctx.family === 6 ? 'v6' : (ctx.v3ChecksumMode ?? 'keepalived');
  buf.writeUInt16BE(computeVrrpChecksum(buf, form, ctx), 6);
  return buf;
}

function malformed(reason: string): DirectorError {
  return new DirectorError('DIR_ERR_VRRP_MALFORMED', { reason });
}

/**
 * Parses a VRRP message. Throws DIR_ERR_VRRP_MALFORMED when it is not a VRRPv2/v3 message whose
 * length matches its own address count exactly (keepalived-spec 1.8 #2). Does not check the
 * checksum, type, TTL or anything instance-specific: that is validate.ts.
 */
export function decodeVrrp(buf: Buffer, family: 4 | 6): VrrpPacket {
  if (buf.length < VRRP_HEADER_LEN) throw malformed(`${buf.length} bytes, shorter than the 8-byte header`);
  const b0 = buf[0] as number;
  const version = b0 >> 4;
  if (version !== 2 && version !== 3) throw malformed(`version ${version}`);
  if (version === 2 && family !== 4) throw malformed('VRRPv2 over IPv6');
  const count = buf[3] as number;
  const expected = vrrpMessageLength(version, family, count);
  if (buf.length !== expected) throw malformed(`length ${buf.length}, expected ${expected} for ${count} address(es)`);
  const addrLen = family === 4 ? 4 : 16;
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) {
    const off = VRRP_HEADER_LEN + i * addrLen;
    addresses.push(formatIpBytes(buf.subarray(off, off + addrLen)));
  }
  const common = {
    type: b0 & 0x0f,
    vrid: buf[1] as number,
    priority: buf[2] as number,
    countIpAddrs: count,
    checksum: buf.readUInt16BE(6),
    addresses,
  };
  if (version === 2) {
    const authOff = VRRP_HEADER_LEN + count * 4;
    return {
      version: 2,
      ...common,
      authType: buf[4] as number,
      advertIntervalCs: (buf[5] as number) * 100,
      authData: Buffer.from(buf.subarray(authOff, authOff + VRRP_V2_AUTH_LEN)),
    };
  }
  // RFC 5798 5.2.6: the 4 reserved bits are ignored on receive (keepalived masks with 0x0fff).
  return { version: 3, ...common, advertIntervalCs: buf.readUInt16BE(4) & 0x0fff };
}

/** Which checksum form a received message verified with. */
export type VrrpReceivedChecksumForm = 'v2' | 'keepalived' | 'rfc9568' | 'v6' | 'keepalived-old-unicast';

/**
 * Verifies a received message's checksum. v3/IPv4 accepts both the keepalived pseudo-header form
 * and the RFC 9568 form (keepalived-spec 1.1.3 "accept both on receive"), plus keepalived <= 1.3.6's
 * unicast form that used 224.0.0.18 as the pseudo-header destination (OLD_CHKSUM_COMPAT).
 */
export function vrrpChecksumOk(buf: Buffer, ctx: VrrpChecksumContext): { ok: boolean; form?: VrrpReceivedChecksumForm } {
  if (buf.length < VRRP_HEADER_LEN) return { ok: false };
  const got = buf.readUInt16BE(6);
  const version = (buf[0] as number) >> 4;
  if (version === 2) return computeVrrpChecksum(buf, 'v2') === got ? { ok: true, form: 'v2' } : { ok: false };
  if (ctx.family === 6) return computeVrrpChecksum(buf, 'v6', ctx) === got ? { ok: true, form: 'v6' } : { ok: false };
  if (computeVrrpChecksum(buf, 'keepalived', ctx) === got) return { ok: true, form: 'keepalived' };
  if (computeVrrpChecksum(buf, 'rfc9568') === got) return { ok: true, form: 'rfc9568' };
  if (ctx.destination !== VRRP_MCAST_V4) {
    const old = computeVrrpChecksum(buf, 'keepalived', { source: ctx.source, destination: VRRP_MCAST_V4 });
    if (old === got) return { ok: true, form: 'keepalived-old-unicast' };
  }
  return { ok: false };
}
