/**
 * IP addresses, prefixes and endpoints for IPv4 and IPv6: parse, canonicalise, format, mask.
 *
 * Canonical text follows RFC 5952 for IPv6 (lower case, longest zero run compressed, a single zero
 * group not compressed) so that the same address always has the same key in maps and in
 * `ipvsadm -L -n` style output. Endpoints with IPv6 addresses are written `[2001:db8::1]:80`
 * (RFC 3986 section 3.2.2), as ipvsadm and ldirectord's `real6=` do.
 */
import { DirectorError } from './errors.js';

/** 4 or 6. */
export type IpFamily = 4 | 6;

/** An IP address in canonical text form, with its family. */
export interface IpAddress {
  readonly family: IpFamily;
  /** RFC 5952 canonical text for v6, dotted quad for v4. */
  readonly text: string;
}

/** An address prefix such as 192.0.2.0/24. `address` is the network address (host bits cleared). */
export interface Cidr {
  readonly address: IpAddress;
  readonly prefixLength: number;
}

/** An address and a port. */
export interface Endpoint {
  readonly address: IpAddress;
  readonly port: number;
}

const V4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseV4Bytes(text: string): Uint8Array | undefined {
  const m = V4_RE.exec(text);
  if (!m) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = m[i + 1] as string;
    // Leading zeros are rejected: inet_pton does, and "010" is octal to some tools.
    if (part.length > 1 && part.startsWith('0')) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    bytes[i] = n;
  }
  return bytes;
}

function parseV6Bytes(input: string): Uint8Array | undefined {
  let text = input;
  const zone = text.indexOf('%');
  if (zone >= 0) return undefined; // zone ids are not addresses a director can own or forward to
  const bytes = new Uint8Array(16);
  // An embedded IPv4 tail (::ffff:192.0.2.1) takes the last 32 bits.
  let tailV4: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.indexOf('.', lastColon) > 0) {
    tailV4 = parseV4Bytes(text.slice(lastColon + 1));
    if (!tailV4) return undefined;
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const groups: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      groups.push(parseInt(g, 16));
    }
    return groups;
  };
  const head = parseGroups(halves[0] as string);
  const tail = halves.length === 2 ? parseGroups(halves[1] as string) : [];
  if (!head || !tail) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    if (head.length !== 8) return undefined;
    groups = head;
  }
  for (let i = 0; i < 8; i++) {
    const g = groups[i] as number;
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  }
  if (tailV4) bytes.set(tailV4, 12);
  return bytes;
}

/** Formats 4 or 16 address bytes as canonical text. */
export function formatIpBytes(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) throw new DirectorError('DIR_ERR_INTERNAL', { reason: `address of ${bytes.length} bytes` });
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(((bytes[i * 2] as number) << 8) | (bytes[i * 2 + 1] as number));
  // RFC 5952 4.2: compress the longest run of two or more zero groups, the first if tied.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Parses an address to its bytes, or undefined. Accepts v4 dotted quads and any RFC 4291 v6 text form. */
export function ipBytes(text: string): Uint8Array | undefined {
  return text.includes(':') ? parseV6Bytes(text) : parseV4Bytes(text);
}

/** Parses an address, or returns undefined; brackets around IPv6 are accepted. */
export function tryParseIp(input: string): IpAddress | undefined {
  let text = input.trim();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  const bytes = ipBytes(text);
  if (!bytes) return undefined;
  return { family: bytes.length === 4 ? 4 : 6, text: formatIpBytes(bytes) };
}

/** Parses an address; throws DIR_ERR_INVALID_IP. */
export function parseIp(input: string): IpAddress {
  const ip = tryParseIp(input);
  if (!ip) throw new DirectorError('DIR_ERR_INVALID_IP', { input });
  return ip;
}

/** Bytes of an already-parsed address. */
export function addressBytes(ip: IpAddress): Uint8Array {
  return ipBytes(ip.text) as Uint8Array;
}

/** Number of bits in an address of this family. */
export function familyBits(family: IpFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}

/** Clears host bits beyond prefixLength (used for persistence netmasks and CIDR networks). */
export function maskIp(ip: IpAddress, prefixLength: number): IpAddress {
  const bits = familyBits(ip.family);
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > bits) {
    throw new DirectorError('DIR_ERR_INVALID_CIDR', { input: `${ip.text}/${prefixLength}`, reason: `prefix length must be 0..${bits}` });
  }
  const bytes = addressBytes(ip);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefixLength - i * 8));
    bytes[i] = (bytes[i] as number) & ((0xff << (8 - keep)) & 0xff);
  }
  return { family: ip.family, text: formatIpBytes(bytes) };
}

/** Parses `addr/len`; a bare address is a host prefix. Host bits set are an error unless `strict` is false. */
export function parseCidr(input: string, options: { strict?: boolean } = {}): Cidr {
  const slash = input.indexOf('/');
  const addrText = slash < 0 ? input : input.slice(0, slash);
  const ip = tryParseIp(addrText);
  if (!ip) throw new DirectorError('DIR_ERR_INVALID_CIDR', { input, reason: 'not an IP address' });
  const bits = familyBits(ip.family);
  let prefixLength: number = bits;
  if (slash >= 0) {
    const lenText = input.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > bits) {
      throw new DirectorError('DIR_ERR_INVALID_CIDR', { input, reason: `prefix length must be 0..${bits}` });
    }
    prefixLength = Number(lenText);
  }
  const network = maskIp(ip, prefixLength);
  if (options.strict !== false && network.text !== ip.text) {
    throw new DirectorError('DIR_ERR_INVALID_CIDR', { input, reason: `host bits set (network is ${network.text}/${prefixLength})` });
  }
  return { address: network, prefixLength };
}

/** Does the prefix contain the address? */
export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  return ip.family === cidr.address.family && maskIp(ip, cidr.prefixLength).text === cidr.address.text;
}

/** Converts a dotted IPv4 netmask (255.255.255.0) to a prefix length; undefined if not contiguous. */
export function netmaskToPrefixLength(mask: string): number | undefined {
  const bytes = parseV4Bytes(mask);
  if (!bytes) return undefined;
  const n = (((bytes[0] as number) << 24) | ((bytes[1] as number) << 16) | ((bytes[2] as number) << 8) | (bytes[3] as number)) >>> 0;
  const inverted = ~n >>> 0;
  if ((inverted & (inverted + 1)) !== 0) return undefined; // ones must be contiguous from the top
  let len = 0;
  for (let v = n; v & 0x80000000; v = (v << 1) >>> 0) len++;
  return len;
}

/** Converts an IPv4 prefix length to dotted form (24 → 255.255.255.0), as ipvsadm prints netmasks. */
export function prefixLengthToNetmask(prefixLength: number): string {
  const n = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

/** Parses a port number 0..65535 (decimal only). */
export function parsePort(input: string): number {
  if (!/^\d{1,5}$/.test(input) || Number(input) > 65535) throw new DirectorError('DIR_ERR_INVALID_PORT', { input });
  return Number(input);
}

/**
 * Parses `192.0.2.1:80` or `[2001:db8::1]:80`. A bare IPv6 address without brackets is refused:
 * its last group would be ambiguous with a port.
 */
export function parseEndpoint(input: string): Endpoint {
  const text = input.trim();
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') {
      throw new DirectorError('DIR_ERR_INVALID_ENDPOINT', { input, reason: 'expected [IPv6]:port' });
    }
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw new DirectorError('DIR_ERR_INVALID_ENDPOINT', { input, reason: 'missing :port' });
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) {
      throw new DirectorError('DIR_ERR_INVALID_ENDPOINT', { input, reason: 'IPv6 addresses must be written in brackets' });
    }
  }
  const address = tryParseIp(host);
  if (!address) throw new DirectorError('DIR_ERR_INVALID_ENDPOINT', { input, reason: `"${host}" is not an IP address` });
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new DirectorError('DIR_ERR_INVALID_ENDPOINT', { input, reason: `"${portText}" is not a port 0..65535` });
  }
  return { address, port: Number(portText) };
}

/** Formats an address for use before `:port` (brackets for v6). */
export function formatHost(ip: IpAddress): string {
  return ip.family === 6 ? `[${ip.text}]` : ip.text;
}

/** Formats `addr:port`, with brackets for IPv6. */
export function formatEndpoint(ep: Endpoint): string {
  return `${formatHost(ep.address)}:${ep.port}`;
}

/** Convenience: the canonical `addr:port` key of an endpoint. */
export function endpointKey(ep: Endpoint): string {
  return formatEndpoint(ep);
}

/** Are two addresses the same? */
export function ipEquals(a: IpAddress, b: IpAddress): boolean {
  return a.family === b.family && a.text === b.text;
}

/**
 * Compares two addresses numerically (for VRRP's tie-break, RFC 5798 6.4.3: the higher primary
 * address wins). Returns <0, 0, >0. IPv4 sorts before IPv6.
 */
export function compareIp(a: IpAddress, b: IpAddress): number {
  if (a.family !== b.family) return a.family - b.family;
  const x = addressBytes(a);
  const y = addressBytes(b);
  for (let i = 0; i < x.length; i++) {
    const d = (x[i] as number) - (y[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}
