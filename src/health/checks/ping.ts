/**
 * checktype=ping (ldirectord-spec 10.4.2): ICMP echo, up to `checkcount` attempts, each waiting
 * up to checktimeout; the first reply means up.
 *
 * Echoes go through the native addon (src/sys/icmp.ts: a ping socket, else a raw socket): no
 * process per check and exact sub-second timeouts. When neither socket may be opened (no
 * CAP_NET_RAW and ping sockets disabled by net.ipv4.ping_group_range) or the addon is not built,
 * iputils `ping -n -c 1 -W <seconds>` runs once per attempt through runCommand (argv, no shell),
 * as ldirectord itself does.
 */
import { DirectorError } from '../../core/errors.js';
import { runCommand } from '../../sys/exec.js';
import { IcmpEchoer } from '../../sys/icmp.js';
import type { CheckResult, CheckTarget, Checker } from '../types.js';
import type { CheckConfig } from '../../config/model.js';
import { describeError, guarded, type Deadline } from './common.js';

/** How echoes are sent: 'auto' (addon, iputils when the addon cannot), or one of them only. */
export type PingMethod = 'auto' | 'addon' | 'iputils';

let sharedEchoer: IcmpEchoer | Error | undefined;

function echoer(): IcmpEchoer | Error {
  if (sharedEchoer === undefined) {
    try {
      sharedEchoer = new IcmpEchoer();
    } catch (err) {
      sharedEchoer = err as Error;
    }
  }
  return sharedEchoer;
}

/** The addon could not open an ICMP socket here: permission, or the addon is missing. */
function cannotUseAddon(err: unknown): boolean {
  return err instanceof DirectorError && (err.code === 'DIR_ERR_SYS_PERMISSION' || err.code === 'DIR_ERR_SYS_ADDON_MISSING');
}

async function pingWithAddon(e: IcmpEchoer, target: CheckTarget, attempts: number, perAttemptMs: number, deadline: Deadline): Promise<CheckResult> {
  let last = 'no reply';
  for (let i = 1; i <= attempts; i++) {
    const r = await e.echo(target.address, perAttemptMs, deadline.signal);
    if (r.ok) return deadline.ok(`ICMP echo reply from ${target.address} in ${r.rttMs.toFixed(2)} ms (attempt ${i}/${attempts})`);
    if (r.reason === 'aborted') return deadline.fail(`ping: ${deadline.reason()}`);
    last = r.detail;
  }
  return deadline.fail(`ping ${target.address}: ${last} after ${attempts} attempt(s)`);
}

async function pingWithIputils(target: CheckTarget, attempts: number, perAttemptMs: number, deadline: Deadline): Promise<CheckResult> {
  const seconds = Math.max(0.001, perAttemptMs / 1000).toFixed(3);
  const argv = ['ping', target.family === 6 ? '-6' : '-4', '-n', '-q', '-c', '1', '-W', seconds, target.address];
  let last = 'no reply';
  for (let i = 1; i <= attempts; i++) {
    const r = await runCommand(argv, { timeoutMs: perAttemptMs + 1000, signal: deadline.signal, killGraceMs: 200 });
    if (r.error) return deadline.fail(`ping: ${describeError(r.error)}`);
    if (r.exitCode === 0) return deadline.ok(`ping reply from ${target.address} (iputils, attempt ${i}/${attempts})`);
    if (deadline.signal.aborted) return deadline.fail(`ping: ${deadline.reason()}`);
    last = r.timedOut ? 'timed out' : r.exitCode === 1 ? 'no reply' : `ping exited ${r.exitCode ?? r.signal}: ${r.stderr.trim()}`;
  }
  return deadline.fail(`ping ${target.address}: ${last} after ${attempts} attempt(s)`);
}

/** A ping checker; `method` exists for tests and for hosts where only one way works. */
export function createPingChecker(method: PingMethod = 'auto'): Checker {
  return {
    run(target, check: CheckConfig, signal) {
      const attempts = Math.max(1, check.checkCount);
      const perAttemptMs = Math.max(1, check.timeoutMs);
      return guarded(signal, perAttemptMs * attempts + 1000, async (deadline) => {
        if (method !== 'iputils') {
          const e = echoer();
          if (!(e instanceof Error)) {
            try {
              return await pingWithAddon(e, target, attempts, perAttemptMs, deadline);
            } catch (err) {
              if (method === 'addon' || !cannotUseAddon(err)) return deadline.fail(`ping: ${describeError(err)}`);
            }
          } else if (method === 'addon') {
            return deadline.fail(`ping: ${describeError(e)}`);
          }
        }
        return pingWithIputils(target, attempts, perAttemptMs, deadline);
      });
    },
  };
}

export const pingChecker: Checker = createPingChecker();
