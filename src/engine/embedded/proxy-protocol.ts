/**
 * PROXY protocol headers (HAProxy's proxy-protocol.txt), so a real server behind the userspace
 * engine still learns the client address (the engine terminates TCP; without this the real sees
 * the director's address, the Full-NAT objection in seed-features 7).
 */
import { isIPv6 } from 'node:net';

/** Version 1 (text): `PROXY TCP4 <src> <dst> <sport> <dport>\r\n` (section 2.1). */
export function proxyV1Header(srcAddress: string, srcPort: number, dstAddress: string, dstPort: number): Buffer {
  const fam = isIPv6(srcAddress) ? 'TCP6' : 'TCP4';
  return Buffer.from(`PROXY ${fam} ${srcAddress} ${dstAddress} ${srcPort} ${dstPort}\r\n`, 'latin1');
}

/** The 12-byte v2 signature (section 2.2). */
export const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

function addressBytes(text: string): Buffer {
  if (!isIPv6(text)) return Buffer.from(text.split('.').map(Number));
  const out = Buffer.alloc(16);
  let t = text;
  const dot = t.lastIndexOf('.');
  let tail: number[] = [];
  if (dot > 0) {
    const lc = t.lastIndexOf(':');
    tail = t.slice(lc + 1).split('.').map(Number);
    t = t.slice(0, lc + 1) + '0:0';
  }
  const [head, rest] = t.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const r = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = [...h, ...(rest !== undefined ? Array<string>(8 - h.length - r.length).fill('0') : []), ...r];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  if (tail.length === 4) out.set(tail, 12);
  return out;
}

/**
 * Version 2 (binary), command PROXY, transport STREAM (0x21 ver/cmd; 0x11 TCP over IPv4, 0x21 TCP
 * over IPv6), addresses in network order (section 2.2). A v4-mapped client on a v6 listener is sent
 * as IPv6, as the kernel reports it.
 */
export function proxyV2Header(srcAddress: string, srcPort: number, dstAddress: string, dstPort: number): Buffer {
  const v6 = isIPv6(srcAddress) || isIPv6(dstAddress);
  const src = addressBytes(v6 && !isIPv6(srcAddress) ? `::ffff:${srcAddress}` : srcAddress);
  const dst = addressBytes(v6 && !isIPv6(dstAddress) ? `::ffff:${dstAddress}` : dstAddress);
  const len = v6 ? 36 : 12;
  const buf = Buffer.alloc(16 + len);
  PROXY_V2_SIGNATURE.copy(buf, 0);
  buf[12] = 0x21;
  buf[13] = v6 ? 0x21 : 0x11;
  buf.writeUInt16BE(len, 14);
  src.copy(buf, 16);
  dst.copy(buf, 16 + src.length);
  buf.writeUInt16BE(srcPort, 16 + src.length * 2);
  buf.writeUInt16BE(dstPort, 18 + src.length * 2);
  return buf;
}
