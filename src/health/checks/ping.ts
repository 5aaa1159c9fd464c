/**
 * checktype=ping (ldirectord-spec 10.4.2): ICMP echo, up to `checkcount` attempts, each waiting
 * up to checktimeout; the first reply means up.
 *
 * Runs iputils `ping -n -c 1 -W <seconds>` once per attempt through runCommand (argv, no shell).
 * A raw-socket ICMP echo through the native addon is the planned upgrade: no process per check,
 * and sub-second timeouts without relying on iputils' fractional -W.
 */
import { runCommand } from '../../sys/exec.js';
import type { Checker } from '../types.js';
import { describeError, guarded } from './common.js';

export const pingChecker: Checker = {
  run(target, check, signal) {
    const attempts = Math.max(1, check.checkCount);
    const perAttemptMs = Math.max(1, check.timeoutMs);
    return guarded(signal, perAttemptMs * attempts + 1000, async (deadline) => {
      const seconds = Math.max(0.001, perAttemptMs / 1000).toFixed(3);
      const argv = ['ping', target.family === 6 ? '-6' : '-4', '-n', '-q', '-c', '1', '-W', seconds, target.address];
      let last = 'no reply';
      for (let i = 1; i <= attempts; i++) {
        const r = await runCommand(argv, { timeoutMs: perAttemptMs + 1000, signal: deadline.signal, killGraceMs: 200 });
        if (r.error) return deadline.fail(`ping: ${describeError(r.error)}`);
        if (r.exitCode === 0) return deadline.ok(`ping reply from ${target.address} (attempt ${i}/${attempts})`);
        if (deadline.signal.aborted) return deadline.fail(`ping: ${deadline.reason()}`);
        last = r.timedOut ? 'timed out' : r.exitCode === 1 ? 'no reply' : `ping exited ${r.exitCode ?? r.signal}: ${r.stderr.trim()}`;
      }
      return deadline.fail(`ping ${target.address}: ${last} after ${attempts} attempt(s)`);
    });
  },
};
