/**
 * Receive validation of VRRP advertisements, in keepalived 2.2.7's order (`vrrp_check_packet`,
 * keepalived-spec 1.8). The first failing check decides the reason; nothing here has side effects,
 * so the caller counts drops per reason and logs them (rate limited, as HEAD does).
 *
 * Input is the VRRP message only (IP header already removed by the transport, which also checks
 * the IPv4 total length against the received length, 1.8 #12, and drops AH packets since AH is
 * not supported). Checks that need the instance's state (ignore in FAULT/INIT, 1.8 row 0) belong
 * to the state machine.
 */
import { timingSafeEqual } from 'node:crypto';
import type { VrrpInstanceConfig } from '../config/model.js';
import { ipBytes, tryParseIp } from '../core/ip.js';
import {
  decodeVrrp,
  passwordAuthData,
  vrrpChecksumOk,
  vrrpMessageLength,
  VRRP_AUTH_AH,
  VRRP_AUTH_NONE,
  VRRP_AUTH_PASS,
  VRRP_HEADER_LEN,
  VRRP_TYPE_ADVERTISEMENT,
  type VrrpPacket,
  type VrrpReceivedChecksumForm,
} from './codec.js';
import { configuredIntervalCs } from './state-machine.js';

/** Why an advert was dropped; one per row family of keepalived-spec 1.8. */
export type DropReason =
  /** Shorter than the header, or length ≠ 8 + count × addr (+8 auth for v2) (1.8 #0, #2). */
  | 'length'
  /** Not our VRID (1.8 row 0; keepalived demultiplexes on it and logs only with log_unknown_vrids). */
  | 'vrid'
  /** TTL / hop limit ≠ 255 in multicast mode (RFC 3768 7.1, RFC 5798 7.1; 1.8 #3). */
  | 'ttl'
  /** Version ≠ configured (1.8 #4). */
  | 'version'
  /** v2: invalid auth type, auth type ≠ ours, wrong password (1.8 #5-#7). */
  | 'auth'
  /** v2: Adver Int ≠ ours (RFC 3768 7.1 MUST; 1.8 #9). */
  | 'interval'
  /** Type ≠ 1 (1.8 #10). */
  | 'type'
  /** VIP count or set differs from ours (2.2.7 behaviour; 1.8 #11, #17). */
  | 'addresses'
  /** Checksum wrong in every accepted form (1.8 #14, 1.1.3). */
  | 'checksum'
  /** Multicast destination in unicast mode or unicast destination in multicast mode (1.8 #15). */
  | 'mode'
  /** We are the address owner and ignore adverts (HEAD `owner_ignore_adverts`; 1.8 #16). */
  | 'owner'
  /** Unicast source not among unicast_peer (check_unicast_src; 1.8 #18). */
  | 'unicast-source';

/** The drop reasons, in check order (for counters and docs). */
export const DROP_REASONS: readonly DropReason[] = [
  'length',
  'vrid',
  'ttl',
  'version',
  'auth',
  'interval',
  'type',
  'addresses',
  'checksum',
  'mode',
  'owner',
  'unicast-source',
];

export interface AdvertInput {
  /** The VRRP message (no IP header). */
  readonly raw: Buffer;
  readonly ttlOrHopLimit: number;
  /** IP source of the packet (canonical text or any parseable form). */
  readonly source: string;
  /** IP destination of the packet (the multicast group or our unicast address). */
  readonly destination: string;
  readonly family: 4 | 6;
}

export interface ValidateOptions {
  /**
   * 'strict' (default, keepalived 2.2.7): drop adverts whose VIP count or set differs from ours.
   * 'log' (keepalived HEAD >= 2.3.3): accept them and report the mismatch in `warnings`.
   */
  readonly vipCheck?: 'strict' | 'log';
  /**
   * Unicast mode: drop adverts whose source is not a configured unicast peer. keepalived only does
   * this with `check_unicast_src`; directord defaults to on (a VRRP speaker we were not told about
   * must not be able to win an election over unicast).
   */
  readonly checkUnicastSource?: boolean;
  /** HEAD `owner_ignore_adverts`: a priority-255 owner ignores every advert. Default false. */
  readonly ownerIgnoreAdverts?: boolean;
}

export type ValidateResult =
  | {
      readonly ok: true;
      readonly packet: VrrpPacket;
      /** Which checksum form matched (log it: an RFC 9568 peer is worth knowing about). */
      readonly checksumForm: VrrpReceivedChecksumForm;
      /** Non-fatal findings (VIP mismatch with vipCheck 'log'). */
      readonly warnings: readonly string[];
    }
  | {
      readonly ok: false;
      readonly reason: DropReason;
      /** keepalived's log text for the same check, with our values. */
      readonly detail: string;
      /** keepalived's classification: KO (counted as an error) or DROP (silently not relevant). */
      readonly severity: 'error' | 'drop';
    };

function fail(reason: DropReason, detail: string, severity: 'error' | 'drop' = 'error'): ValidateResult {
  return { ok: false, reason, detail, severity };
}

/** Is this address multicast (224.0.0.0/4, ff00::/8)? */
export function isMulticastAddress(text: string): boolean {
  const b = ipBytes(text);
  if (!b) return false;
  return b.length === 4 ? ((b[0] as number) & 0xf0) === 0xe0 : b[0] === 0xff;
}

function canonical(text: string): string {
  return tryParseIp(text)?.text ?? text;
}

/** Validates one received advert against the instance, in keepalived-spec 1.8 order. */
export function validateAdvert(input: AdvertInput, instance: VrrpInstanceConfig, options: ValidateOptions = {}): ValidateResult {
  const { raw, family } = input;
  const unicast = instance.unicastPeers.length > 0;

  // 1.8 #0: at least the fixed header must be there before anything can be read.
  if (raw.length < VRRP_HEADER_LEN) return fail('length', `${family === 4 ? 'IPv4' : 'IPv6'} VRRP packet too short (${raw.length} bytes)`);
  // 1.8 #0: keepalived finds the instance by VRID first; other VRIDs are not ours at all.
  const vrid = raw[1] as number;
  if (vrid !== instance.vrid) return fail('vrid', `Unknown VRID(${vrid}) received (ours ${instance.vrid})`, 'drop');

  // 1.8 #2: exact length from the packet's own version and count (RFC 3768 7.1 / RFC 5798 7.1 "MUST verify that the
  // received packet contains the complete VRRP packet").
  const pktVersion = (raw[0] as number) >> 4;
  const count = raw[3] as number;
  const expected = vrrpMessageLength(pktVersion === 2 ? 2 : 3, family, count);
  if (raw.length !== expected) {
    return fail('length', `vrrp packet too ${raw.length > expected ? 'long' : 'short'}, length ${raw.length} and expect ${expected}`);
  }

  // 1.8 #3: TTL/HL must be 255, multicast mode only (unicast peers may send with the kernel default, 1.9).
  if (!unicast && input.ttlOrHopLimit !== 255) {
    return fail('ttl', `invalid TTL/HL. Received ${input.ttlOrHopLimit} and expect 255`);
  }

  // 1.8 #4.
  if (pktVersion !== instance.version) return fail('version', `wrong version. Received ${pktVersion} and expect ${instance.version}`);

  if (instance.version === 2) {
    const authType = raw[4] as number;
    // 1.8 #5.
    if (authType !== VRRP_AUTH_NONE && authType !== VRRP_AUTH_PASS && authType !== VRRP_AUTH_AH) {
      return fail('auth', `Invalid auth type: ${authType}`);
    }
    // 1.8 #6: strict both ways (a PASS instance rejects auth type 0 and vice versa, 1.10).
    const ours = instance.authPass !== undefined ? VRRP_AUTH_PASS : VRRP_AUTH_NONE;
    if (authType !== ours) return fail('auth', `received a ${authType} auth, expecting ${ours}!`);
    // 1.8 #7: constant-time compare of the 8 bytes (only the first 8 characters of auth_pass count).
    if (ours === VRRP_AUTH_PASS) {
      const got = raw.subarray(raw.length - 8);
      if (!timingSafeEqual(got, passwordAuthData(instance.authPass ?? ''))) return fail('auth', 'received an invalid passwd!');
    }
    // 1.8 #9: RFC 3768 7.1 "MUST verify that the Adver Interval in the packet is the same as the locally configured".
    // keepalived returns DROP (not counted as an error) "to prevent concurrent VRID running".
    const mine = configuredIntervalCs(instance) / 100;
    const got = raw[5] as number;
    if (got !== mine) return fail('interval', `advertisement interval mismatch mine=${mine} sec rcv'd=${got} sec`, 'drop');
  }

  // 1.8 #10.
  const type = (raw[0] as number) & 0x0f;
  if (type !== VRRP_TYPE_ADVERTISEMENT) return fail('type', `Invalid packet type. ${type} and expect ${VRRP_TYPE_ADVERTISEMENT}`);

  // 1.8 #11 (2.2.7): count must equal ours before anything else about addresses.
  const vipCheck = options.vipCheck ?? 'strict';
  const warnings: string[] = [];
  const ourCount = instance.virtualAddresses.length;
  if (count !== ourCount) {
    const msg = `received an unexpected ip number count ${count}, expected ${ourCount}!`;
    if (vipCheck === 'strict') return fail('addresses', msg);
    warnings.push(msg);
  }

  // 1.8 #14: checksum (v3/IPv4 in either form, 1.1.3).
  const sum = vrrpChecksumOk(raw, { family, source: canonical(input.source), destination: canonical(input.destination) });
  if (!sum.ok || !sum.form) {
    return fail('checksum', `Invalid VRRPv${pktVersion} checksum (0x${raw.readUInt16BE(6).toString(16).padStart(4, '0')})`);
  }

  // 1.8 #15.
  const multicastDst = isMulticastAddress(input.destination);
  if (multicastDst === unicast) {
    return fail('mode', `Expected ${unicast ? 'un' : 'mult'}icast packet but received ${unicast ? 'mult' : 'un'}icast packet`);
  }

  // 1.8 #16 (HEAD owner_ignore_adverts).
  if (options.ownerIgnoreAdverts && instance.priority === 255) {
    return fail('owner', 'Dropping received VRRP packets since we are address owner', 'drop');
  }

  const packet = decodeVrrp(raw, family);

  // 1.8 #17: every configured VIP must be present (order irrelevant).
  const received = new Set(packet.addresses);
  for (const vip of instance.virtualAddresses) {
    if (!received.has(vip.address.text)) {
      const msg = `ip address associated with VRID ${instance.vrid} not present in MASTER advert : ${vip.address.text}`;
      if (vipCheck === 'strict') return fail('addresses', msg);
      warnings.push(msg);
      break;
    }
  }

  // 1.8 #18: unicast source must be a configured peer.
  if (unicast && (options.checkUnicastSource ?? true)) {
    const src = canonical(input.source);
    if (!instance.unicastPeers.some((p) => p.text === src)) {
      return fail('unicast-source', `unicast source address ${src} not a unicast peer`);
    }
  }

  return { ok: true, packet, checksumForm: sum.form, warnings };
}
