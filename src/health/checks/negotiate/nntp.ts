/**
 * negotiate, service=nntp (ldirectord-spec 10.4): connect, wait up to negotiatetimeout for data,
 * read up to 64 bytes; up when it starts with "2" (200/201 greeting, RFC 3977 5.1).
 */
import type { Checker } from '../../types.js';
import { Session, checkPortOf, guarded } from '../common.js';

export const nntpChecker: Checker = {
  run(target, check, signal) {
    return guarded(signal, check.negotiateTimeoutMs, async (deadline) => {
      const port = checkPortOf(target, check);
      if (port === undefined) return deadline.fail('no port to check');
      const session = await Session.connect(target.address, port, deadline);
      try {
        const head = await session.read((buf) => (buf.length > 0 ? { used: Math.min(64, buf.length), value: buf.subarray(0, 64).toString('latin1') } : undefined), 'greeting');
        const line = head.split(/\r?\n/)[0] ?? '';
        if (!head.startsWith('2')) return deadline.fail(`nntp greeting: ${line}`);
        session.write('QUIT\r\n');
        return deadline.ok(`nntp ${line}`);
      } finally {
        session.close();
      }
    });
  },
};
