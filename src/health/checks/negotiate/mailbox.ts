/**
 * negotiate, service=pop / pops / imap / imaps (ldirectord-spec 10.4: Mail::POP3Client,
 * Net::IMAP::Simple): connect (TLS from the first byte for pops/imaps), read the greeting, and log
 * in only if `login` is set; up when connected (and the login succeeded when attempted).
 * TLS certificates follow CheckConfig.tlsVerify (names verified only against virtualhost).
 */
import type { Checker } from '../../types.js';
import { ProtocolError, Session, checkPortOf, guarded, sessionTlsOf } from '../common.js';

/** IMAP quoted string (RFC 3501 4.3). */
function imapQuote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export const popChecker: Checker = {
  run(target, check, signal) {
    return guarded(signal, check.negotiateTimeoutMs, async (deadline) => {
      const port = checkPortOf(target, check);
      if (port === undefined) return deadline.fail('no port to check');
      const secure = check.service === 'pops';
      const session = await Session.connect(target.address, port, deadline, secure ? await sessionTlsOf(check) : undefined);
      try {
        const greeting = await session.readLine('greeting');
        if (!greeting.startsWith('+OK')) return deadline.fail(`greeting: ${greeting.slice(0, 200)}`);
        if (check.login !== '') {
          session.write(`USER ${check.login}\r\n`);
          const user = await session.readLine('USER');
          if (!user.startsWith('+OK')) return deadline.fail(`USER: ${user.slice(0, 200)}`);
          session.write(`PASS ${check.password}\r\n`);
          const pass = await session.readLine('PASS');
          if (!pass.startsWith('+OK')) return deadline.fail(`login as ${check.login} failed: ${pass.slice(0, 200)}`);
        }
        session.write('QUIT\r\n');
        return deadline.ok(`${check.service} ${check.login !== '' ? `login as ${check.login} ok` : 'greeting +OK'}`);
      } finally {
        session.close();
      }
    });
  },
};

export const imapChecker: Checker = {
  run(target, check, signal) {
    return guarded(signal, check.negotiateTimeoutMs, async (deadline) => {
      const port = checkPortOf(target, check);
      if (port === undefined) return deadline.fail('no port to check');
      const secure = check.service === 'imaps';
      const session = await Session.connect(target.address, port, deadline, secure ? await sessionTlsOf(check) : undefined);
      try {
        const greeting = await session.readLine('greeting');
        if (!/^\* (OK|PREAUTH)/i.test(greeting)) return deadline.fail(`greeting: ${greeting.slice(0, 200)}`);
        if (check.login !== '') {
          session.write(`a1 LOGIN ${imapQuote(check.login)} ${imapQuote(check.password)}\r\n`);
          for (;;) {
            const line = await session.readLine('LOGIN');
            if (line.startsWith('* ')) continue; // untagged (e.g. CAPABILITY)
            if (/^a1 OK/i.test(line)) break;
            throw new ProtocolError(`login as ${check.login} failed: ${line.slice(0, 200)}`);
          }
        }
        session.write('a2 LOGOUT\r\n');
        return deadline.ok(`${check.service} ${check.login !== '' ? `login as ${check.login} ok` : 'greeting OK'}`);
      } finally {
        session.close();
      }
    });
  },
};
