/**
 * negotiate, service=radius (ldirectord-spec 10.4: Authen::Radius check_pwd): an Access-Request
 * (RFC 2865 4.1) with User-Name = login and User-Password = passwd hidden with the shared secret
 * (RFC 2865 5.2); up on Access-Accept only, with a valid Response Authenticator
 * (MD5(Code|ID|Length|RequestAuth|Attributes|Secret), RFC 2865 3). Reject, timeout or error = down.
 * Bounded by checktimeout, as ldirectord's alarm.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { Checker } from '../../types.js';
import { checkPortOf, guarded } from '../common.js';
import { udpExchange } from './udp.js';

const ACCESS_REQUEST = 1;
const ACCESS_ACCEPT = 2;
const ACCESS_REJECT = 3;

function attribute(type: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, value.length + 2]), value]);
}

/** RFC 2865 5.2 User-Password hiding. */
export function hidePassword(password: string, secret: string, authenticator: Buffer): Buffer {
  const p = Buffer.from(password, 'utf8');
  const padded = Buffer.alloc(Math.max(16, Math.ceil(p.length / 16) * 16));
  p.copy(padded);
  const out = Buffer.alloc(padded.length);
  let prev = authenticator;
  for (let i = 0; i < padded.length; i += 16) {
    const b = createHash('md5').update(secret).update(prev).digest();
    for (let j = 0; j < 16; j++) out[i + j] = (padded[i + j] ?? 0) ^ (b[j] ?? 0);
    prev = out.subarray(i, i + 16);
  }
  return out;
}

export function accessRequest(id: number, login: string, password: string, secret: string): { packet: Buffer; authenticator: Buffer } {
  const authenticator = randomBytes(16);
  const attrs = Buffer.concat([
    attribute(1, Buffer.from(login, 'utf8')), // User-Name
    attribute(2, hidePassword(password, secret, authenticator)), // User-Password
    attribute(4, Buffer.from([127, 0, 0, 1])), // NAS-IP-Address (informational)
  ]);
  const header = Buffer.alloc(20);
  header[0] = ACCESS_REQUEST;
  header[1] = id;
  header.writeUInt16BE(20 + attrs.length, 2);
  authenticator.copy(header, 4);
  return { packet: Buffer.concat([header, attrs]), authenticator };
}

export const radiusChecker: Checker = {
  run(target, check, signal) {
    return guarded(signal, check.timeoutMs, async (deadline) => {
      const port = checkPortOf(target, check);
      if (port === undefined) return deadline.fail('no port to check');
      if (check.secret === '') return deadline.fail('radius check needs secret');
      const id = randomInt(0, 256);
      const { packet, authenticator } = accessRequest(id, check.login, check.password, check.secret);
      const reply = await udpExchange(target.address, port, target.family, packet, deadline, (m) => m.length >= 20 && m[1] === id);
      const length = reply.readUInt16BE(2);
      if (length < 20 || length > reply.length) return deadline.fail('radius: malformed response');
      const expected = createHash('md5')
        .update(reply.subarray(0, 4))
        .update(authenticator)
        .update(reply.subarray(20, length))
        .update(check.secret)
        .digest();
      if (!expected.equals(reply.subarray(4, 20))) return deadline.fail('radius: bad response authenticator (wrong secret?)');
      if (reply[0] === ACCESS_ACCEPT) return deadline.ok(`radius Access-Accept for ${check.login}`);
      if (reply[0] === ACCESS_REJECT) return deadline.fail(`radius Access-Reject for ${check.login}`);
      return deadline.fail(`radius: unexpected code ${reply[0]}`);
    });
  },
};
