/**
 * Internet checksum (RFC 1071) and the pseudo-headers VRRP uses.
 *
 * VRRPv2 (RFC 3768 5.3.8): plain checksum over the VRRP message, no pseudo-header.
 * VRRPv3/IPv6 (RFC 5798 5.2.8): IPv6 pseudo-header (RFC 2460 8.1) + message.
 * VRRPv3/IPv4 is the interop trap (keepalived-spec 1.1.3): keepalived (every version, by default)
 * includes an IPv4 pseudo-header (src, dst, 0, 112, length); RFC 9568 1.1 says the IPv4
 * pseudo-header is NOT included (`v3_checksum_as_v2` in keepalived >= 2.2.8).
 */
import { ipBytes } from '../core/ip.js';
import { DirectorError } from '../core/errors.js';

/** IANA protocol number of VRRP (RFC 5798 5.1.1.4 / 5.1.2.3). */
export const VRRP_PROTOCOL = 112;

/** One's-complement 16-bit sum of the parts, as if concatenated (odd lengths padded with zero at the very end only). */
export function onesComplementSum(parts: readonly Uint8Array[]): number {
  let sum = 0;
  let carryByte: number | undefined; // a dangling odd byte from the previous part
  for (const part of parts) {
    let i = 0;
    if (carryByte !== undefined && part.length > 0) {
      sum += (carryByte << 8) | (part[0] as number);
      carryByte = undefined;
      i = 1;
    }
    for (; i + 1 < part.length; i += 2) sum += ((part[i] as number) << 8) | (part[i + 1] as number);
    if (i < part.length) carryByte = part[i] as number;
    // Fold often enough that a JS number never loses precision (it would take ~2^37 words anyway).
    sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  }
  if (carryByte !== undefined) sum += carryByte << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** RFC 1071 Internet checksum of the concatenated parts (the value to put in the field). */
export function internetChecksum(parts: readonly Uint8Array[]): number {
  return ~onesComplementSum(parts) & 0xffff;
}

function addressOrThrow(text: string, family: 4 | 6): Uint8Array {
  const b = ipBytes(text);
  if (!b || b.length !== (family === 4 ? 4 : 16)) {
    throw new DirectorError('DIR_ERR_VRRP_ENCODE', { reason: `"${text}" is not an IPv${family} address` });
  }
  return b;
}

/**
 * The pseudo-header for a VRRP message of `length` bytes: IPv4 (RFC 768 style: src, dst, zero,
 * protocol, 16-bit length) or IPv6 (RFC 8200 8.1: src, dst, 32-bit length, 3 zero bytes, next header).
 */
export function pseudoHeader(family: 4 | 6, source: string, destination: string, length: number): Uint8Array {
  const src = addressOrThrow(source, family);
  const dst = addressOrThrow(destination, family);
  if (family === 4) {
    const b = new Uint8Array(12);
    b.set(src, 0);
    b.set(dst, 4);
    b[9] = VRRP_PROTOCOL;
    b[10] = (length >> 8) & 0xff;
    b[11] = length & 0xff;
    return b;
  }
  const b = new Uint8Array(40);
  b.set(src, 0);
  b.set(dst, 16);
  b[32] = (length >>> 24) & 0xff;
  b[33] = (length >>> 16) & 0xff;
  b[34] = (length >>> 8) & 0xff;
  b[35] = length & 0xff;
  b[39] = VRRP_PROTOCOL;
  return b;
}

/** Which checksum a VRRP message is computed with (see the file comment). */
export type VrrpChecksumForm = 'v2' | 'keepalived' | 'rfc9568' | 'v6';

/**
 * Computes the checksum of a VRRP message (its checksum field, bytes 6..7, treated as zero).
 * Forms: 'v2' and 'rfc9568' = no pseudo-header; 'keepalived' = IPv4 pseudo-header; 'v6' = IPv6
 * pseudo-header.
 */
export function computeVrrpChecksum(
  message: Uint8Array,
  form: VrrpChecksumForm,
  addresses?: { source: string; destination: string },
): number {
  const zeroed = Uint8Array.from(message);
  if (zeroed.length >= 8) {
    zeroed[6] = 0;
    zeroed[7] = 0;
  }
  if (form === 'v2' || form === 'rfc9568') return internetChecksum([zeroed]);
  if (!addresses) throw new DirectorError('DIR_ERR_VRRP_ENCODE', { reason: `checksum form ${form} needs source and destination addresses` });
  const family = form === 'v6' ? 6 : 4;
  return internetChecksum([pseudoHeader(family, addresses.source, addresses.destination, zeroed.length), zeroed]);
}
