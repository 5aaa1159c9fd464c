/**
 * negotiate, service=dns (ldirectord-spec 10.4): query the real (on the check port) for the
 * request (leading "/" removed), over UDP, or TCP when the virtual is tcp. The query is for A
 * records, or PTR when the request is an IPv4 address (Net::DNS turns an address into a reverse
 * query). Up when any A address or PTR name in the answer matches receive. ldirectord requires a
 * receive; without one, directord accepts a NOERROR answer with at least one record.
 * Message format: RFC 1035 4.1; names may be compressed (4.1.4).
 */
import { randomInt } from 'node:crypto';
import net from 'node:net';
import type { Checker } from '../../types.js';
import { ProtocolError, Session, checkPortOf, compileReceive, receiveMatches, guarded, receiveOf, requestOf, stripSlash } from '../common.js';
import { udpExchange } from './udp.js';

const TYPE_A = 1;
const TYPE_PTR = 12;

/** Encodes a DNS query with RD set. */
export function encodeQuery(id: number, name: string, type: number): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter((l) => l !== '');
  const parts: Buffer[] = [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4); // QDCOUNT
  parts.push(header);
  for (const label of labels) {
    const b = Buffer.from(label, 'utf8');
    if (b.length > 63) throw new ProtocolError(`dns: label too long in ${name}`);
    parts.push(Buffer.from([b.length]), b);
  }
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(type, 1);
  tail.writeUInt16BE(1, 3); // IN
  parts.push(tail);
  return Buffer.concat(parts);
}

function readName(msg: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next = -1;
  for (let hops = 0; hops < 64; hops++) {
    const len = msg[pos];
    if (len === undefined) throw new ProtocolError('dns: truncated name');
    if (len === 0) {
      if (next < 0) next = pos + 1;
      return { name: labels.join('.'), next };
    }
    if ((len & 0xc0) === 0xc0) {
      const lo = msg[pos + 1];
      if (lo === undefined) throw new ProtocolError('dns: truncated pointer');
      if (next < 0) next = pos + 2;
      pos = ((len & 0x3f) << 8) | lo;
      continue;
    }
    labels.push(msg.subarray(pos + 1, pos + 1 + len).toString('utf8'));
    pos += 1 + len;
  }
  throw new ProtocolError('dns: name compression loop');
}

export interface DnsAnswer {
  readonly id: number;
  readonly rcode: number;
  readonly values: string[];
}

/** Decodes a response: rcode and the A addresses / PTR names of the answer section. */
export function decodeResponse(msg: Buffer): DnsAnswer {
  if (msg.length < 12) throw new ProtocolError('dns: short response');
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  const qd = msg.readUInt16BE(4);
  const an = msg.readUInt16BE(6);
  let pos = 12;
  for (let i = 0; i < qd; i++) pos = readName(msg, pos).next + 4;
  const values: string[] = [];
  for (let i = 0; i < an; i++) {
    pos = readName(msg, pos).next;
    if (pos + 10 > msg.length) throw new ProtocolError('dns: truncated record');
    const type = msg.readUInt16BE(pos);
    const rdlen = msg.readUInt16BE(pos + 8);
    const rdata = pos + 10;
    if (type === TYPE_A && rdlen === 4) values.push([...msg.subarray(rdata, rdata + 4)].join('.'));
    else if (type === TYPE_PTR) values.push(readName(msg, rdata).name);
    pos = rdata + rdlen;
  }
  return { id, rcode: flags & 0x0f, values };
}

export const dnsChecker: Checker = {
  run(target, check, signal) {
    return guarded(signal, check.negotiateTimeoutMs, async (deadline) => {
      const port = checkPortOf(target, check);
      if (port === undefined) return deadline.fail('no port to check');
      const receive = compileReceive(receiveOf(target, check));
      if (receive instanceof Error) return deadline.fail(receive.message);
      const name = stripSlash(requestOf(target, check));
      if (name === '') return deadline.fail('dns: request (the name to query) is empty');
      const reverse = net.isIPv4(name);
      const qname = reverse ? `${name.split('.').reverse().join('.')}.in-addr.arpa` : name;
      const id = randomInt(0, 0x10000);
      const query = encodeQuery(id, qname, reverse ? TYPE_PTR : TYPE_A);
      let raw: Buffer;
      if (target.virtualProtocol === 'tcp') {
        const session = await Session.connect(target.address, port, deadline);
        try {
          const len = Buffer.alloc(2);
          len.writeUInt16BE(query.length);
          session.write(Buffer.concat([len, query]));
          const size = (await session.readBytes(2, 'dns length')).readUInt16BE(0);
          raw = await session.readBytes(size, 'dns response');
        } finally {
          session.close();
        }
      } else {
        raw = await udpExchange(target.address, port, target.family, query, deadline, (m) => m.length >= 12 && m.readUInt16BE(0) === id && (m[2] ?? 0) >= 0x80);
      }
      const answer = decodeResponse(raw);
      if (answer.id !== id) return deadline.fail('dns: response id mismatch');
      if (answer.rcode !== 0) return deadline.fail(`dns ${qname}: rcode ${answer.rcode}`);
      if (!receive) {
        return answer.values.length > 0 ? deadline.ok(`dns ${qname}: ${answer.values.join(' ')}`) : deadline.fail(`dns ${qname}: empty answer`);
      }
      const hit = answer.values.find((v) => receiveMatches(receive, v));
      if (hit === undefined) return deadline.fail(`dns ${qname}: answer [${answer.values.join(' ')}] does not match receive /${receive.source}/`);
      return deadline.ok(`dns ${qname}: ${hit}`);
    });
  },
};
