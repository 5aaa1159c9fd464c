/**
 * negotiate, service=smtp / submission (ldirectord-spec 10.4: Net::SMTP connect = greeting +
 * EHLO, then QUIT; keepalived SMTP_CHECK: 220 banner, HELO, 250). Up when the banner is 220 and
 * EHLO (or, if the server refuses EHLO, HELO) is answered 250.
 */
import { hostname } from 'node:os';
import type { Checker } from '../../types.js';
import { Session, checkPortOf, guarded, readNumericReply } from '../common.js';

export const smtpChecker: Checker = {
  run(target, check, signal) {
    return guarded(signal, check.negotiateTimeoutMs, async (deadline) => {
      const port = checkPortOf(target, check);
      if (port === undefined) return deadline.fail('no port to check');
      const session = await Session.connect(target.address, port, deadline);
      try {
        const banner = await readNumericReply(session, 'banner');
        if (banner.code !== 220) return deadline.fail(`banner: ${banner.lines.join(' ').slice(0, 200)}`);
        const me = hostname() || 'localhost';
        session.write(`EHLO ${me}\r\n`);
        let hello = await readNumericReply(session, 'EHLO');
        let verb = 'EHLO';
        if (hello.code !== 250) {
          verb = 'HELO';
          session.write(`HELO ${me}\r\n`);
          hello = await readNumericReply(session, 'HELO');
          if (hello.code !== 250) return deadline.fail(`HELO: ${hello.lines.join(' ').slice(0, 200)}`);
        }
        session.write('QUIT\r\n');
        return deadline.ok(`smtp ${banner.lines[0]?.slice(4, 60) ?? ''} (${verb} 250)`.trim());
      } finally {
        session.close();
      }
    });
  },
};
