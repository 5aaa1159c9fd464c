/**
 * negotiate, service=simpletcp (ldirectord-spec 10.4): connect, send the request (leading "/"
 * removed; the two characters `\n` become a newline), shut down the write side, read lines until
 * the server closes; up when some line matches receive.
 */
import type { Checker } from '../../types.js';
import { Session, checkPortOf, compileReceive, receiveMatches, guarded, receiveOf, requestOf, stripSlash } from '../common.js';

export const simpletcpChecker: Checker = {
  run(target, check, signal) {
    return guarded(signal, check.negotiateTimeoutMs, async (deadline) => {
      const port = checkPortOf(target, check);
      if (port === undefined) return deadline.fail('no port to check');
      const receive = compileReceive(receiveOf(target, check));
      if (receive instanceof Error) return deadline.fail(receive.message);
      const payload = stripSlash(requestOf(target, check)).replaceAll('\\n', '\n');
      const session = await Session.connect(target.address, port, deadline);
      try {
        if (payload !== '') session.write(payload);
        session.endWrite();
        const reply = await session.readAll('reply');
        const lines = reply.split('\n').map((l) => l.replace(/\r$/, ''));
        if (!receive) return deadline.ok(`simpletcp: ${reply.length} bytes (no receive set)`);
        const hit = lines.find((l) => receiveMatches(receive, l));
        if (hit === undefined) return deadline.fail(`simpletcp: no line matches receive /${receive.source}/`);
        return deadline.ok(`simpletcp: matched ${JSON.stringify(hit.slice(0, 60))}`);
      } finally {
        session.close();
      }
    });
  },
};
