/**
 * checktype=connect (ldirectord-spec 10.4.1): a TCP connect to rip:checkport within checktimeout;
 * success = the connection is established, and it is closed at once. For a udp virtual ldirectord
 * pings instead (spec 10.3), and so does this checker (UDP has no connection to prove).
 */
import net from 'node:net';
import type { CheckConfig } from '../../config/model.js';
import type { CheckResult, CheckTarget, Checker } from '../types.js';
import { checkPortOf, endpointText, guarded } from './common.js';
import { pingChecker } from './ping.js';

/** A bare TCP connect with a deadline; shared by connect and combined. */
export function tcpConnect(target: CheckTarget, check: CheckConfig, signal: AbortSignal, timeoutMs: number): Promise<CheckResult> {
  return guarded(signal, timeoutMs, async (deadline) => {
    const port = checkPortOf(target, check);
    if (port === undefined) return deadline.fail('no port to check (set checkport)');
    const where = endpointText(target.address, port, target.family);
    return new Promise<CheckResult>((resolve) => {
      const socket = net.connect({ host: target.address, port });
      const done = (r: CheckResult): void => {
        deadline.signal.removeEventListener('abort', onAbort);
        socket.destroy();
        resolve(r);
      };
      const onAbort = (): void => done(deadline.fail(`connect ${where}: ${deadline.reason()}`));
      deadline.signal.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => done(deadline.ok(`connected to ${where} in ${deadline.elapsed()} ms`)));
      socket.once('error', (err: NodeJS.ErrnoException) => done(deadline.fail(`connect ${where}: ${err.code ?? err.message}`)));
    });
  });
}

export const connectChecker: Checker = {
  run(target, check, signal) {
    if (target.virtualProtocol === 'udp') return pingChecker.run(target, check, signal);
    return tcpConnect(target, check, signal, check.timeoutMs);
  },
};
