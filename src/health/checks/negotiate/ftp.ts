/**
 * negotiate, service=ftp (ldirectord-spec 10.4; Net::FTP in ldirectord's check_ftp): connect,
 * read the 220 greeting, log in with login/passwd (ldirectord's defaults: anonymous /
 * ldirectord@<host>, filled by the config reader), CWD /, TYPE I, and when a file is requested
 * (request other than "/") or receive is set: PASV + RETR <request> (leading "/" kept), with the
 * downloaded content matched against receive. Without a request file, a successful login is up
 * (ldirectord's empty-receive case reuses Perl's last regex and is unreliable; spec 10.4).
 * The passive data connection goes to the real's address with the port the server gave, never to
 * the address in the 227 reply (a NAT'd or hostile reply cannot redirect the check).
 */
import type { Checker } from '../../types.js';
import { ProtocolError, Session, checkPortOf, compileReceive, receiveMatches, guarded, readNumericReply, receiveOf, requestOf } from '../common.js';

async function command(session: Session, line: string, accept: readonly number[], what: string): Promise<number> {
  session.write(`${line}\r\n`);
  const reply = await readNumericReply(session, what);
  if (!accept.includes(reply.code)) throw new ProtocolError(`${what}: ${reply.lines.join(' ').slice(0, 200)}`);
  return reply.code;
}

export const ftpChecker: Checker = {
  run(target, check, signal) {
    return guarded(signal, check.negotiateTimeoutMs, async (deadline) => {
      const port = checkPortOf(target, check);
      if (port === undefined) return deadline.fail('no port to check');
      const receive = compileReceive(receiveOf(target, check));
      if (receive instanceof Error) return deadline.fail(receive.message);
      const session = await Session.connect(target.address, port, deadline);
      try {
        const hello = await readNumericReply(session, 'greeting');
        if (hello.code !== 220) return deadline.fail(`greeting: ${hello.lines.join(' ')}`);
        const user = await command(session, `USER ${check.login || 'anonymous'}`, [230, 331], 'USER');
        if (user === 331) await command(session, `PASS ${check.password}`, [230, 202], 'login');
        await command(session, 'CWD /', [250], 'CWD /');
        await command(session, 'TYPE I', [200], 'TYPE I');
        const request = requestOf(target, check);
        if (request === '/' && receive === undefined) {
          await command(session, 'QUIT', [221], 'QUIT').catch(() => 0);
          return deadline.ok(`ftp login as ${check.login || 'anonymous'} ok`);
        }
        session.write('PASV\r\n');
        const pasv = await readNumericReply(session, 'PASV');
        const m = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(pasv.lines.join(' '));
        if (pasv.code !== 227 || !m) return deadline.fail(`PASV: ${pasv.lines.join(' ')}`);
        const dataPort = Number(m[5]) * 256 + Number(m[6]);
        const data = await Session.connect(target.address, dataPort, deadline);
        let content: string;
        try {
          await command(session, `RETR ${request}`, [125, 150], `RETR ${request}`);
          content = await data.readAll('data connection');
        } finally {
          data.close();
        }
        const done = await readNumericReply(session, 'transfer');
        if (done.code !== 226 && done.code !== 250) return deadline.fail(`RETR ${request}: ${done.lines.join(' ')}`);
        session.write('QUIT\r\n');
        if (receive && !receiveMatches(receive, content)) return deadline.fail(`RETR ${request}: content does not match receive /${receive.source}/`);
        return deadline.ok(`ftp RETR ${request}: ${content.length} bytes${receive ? ', receive matched' : ''}`);
      } finally {
        session.close();
      }
    });
  },
};

