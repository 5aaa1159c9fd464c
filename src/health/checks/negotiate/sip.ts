/**
 * negotiate, service=sip (ldirectord-spec 10.4): send an OPTIONS request to `sip:<login>` over UDP
 * or TCP (the virtual's protocol); up when the first response line starts `SIP/2.0 200 OK`.
 * Request per RFC 3261 11 / 8.1.1 (Via with a magic-cookie branch, Max-Forwards, To, From with a
 * tag, Call-ID, CSeq, Contact, Content-Length).
 */
import { randomBytes } from 'node:crypto';
import type { Checker } from '../../types.js';
import { Session, checkPortOf, endpointText, guarded } from '../common.js';
import { udpExchange } from './udp.js';

export function sipOptions(login: string, target: { address: string; family: 4 | 6 }, port: number, transport: 'UDP' | 'TCP'): { text: string; callId: string } {
  const callId = randomBytes(8).toString('hex');
  const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
  const uri = `sip:${login || endpointText(target.address, port, target.family)}`;
  const text = [
    `OPTIONS ${uri} SIP/2.0`,
    `Via: SIP/2.0/${transport} directord.invalid;branch=${branch}`,
    'Max-Forwards: 70',
    `To: <${uri}>`,
    `From: <sip:directord@directord.invalid>;tag=${randomBytes(4).toString('hex')}`,
    `Call-ID: ${callId}`,
    'CSeq: 1 OPTIONS',
    'Contact: <sip:directord@directord.invalid>',
    'Accept: application/sdp',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  return { text, callId };
}

export const sipChecker: Checker = {
  run(target, check, signal) {
    return guarded(signal, check.negotiateTimeoutMs, async (deadline) => {
      const port = checkPortOf(target, check);
      if (port === undefined) return deadline.fail('no port to check');
      const tcp = target.virtualProtocol === 'tcp';
      const { text, callId } = sipOptions(check.login, target, port, tcp ? 'TCP' : 'UDP');
      let first: string;
      if (tcp) {
        const session = await Session.connect(target.address, port, deadline);
        try {
          session.write(text);
          first = await session.readLine('sip response');
        } finally {
          session.close();
        }
      } else {
        const reply = await udpExchange(target.address, port, target.family, Buffer.from(text), deadline, (m) => m.toString('utf8').includes(callId));
        first = reply.toString('utf8').split('\r\n')[0] ?? '';
      }
      if (!first.startsWith('SIP/2.0 200 OK')) return deadline.fail(`sip OPTIONS: ${first.slice(0, 120)}`);
      return deadline.ok(`sip OPTIONS: ${first}`);
    });
  },
};
