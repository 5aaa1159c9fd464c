/**
 * checktype=external and external-perl (ldirectord-spec 10.4.3; keepalived MISC_CHECK,
 * keepalived-spec 4.5).
 *
 * Argument contract, as ldirectord's exec: `checkcommand VIP-or-fwmark VPORT RIP RPORT`, no shell.
 * - For a fwmark virtual VIP is the mark and VPORT is 0; IPv6 addresses are passed in brackets.
 * - RPORT is the check port (checkport, else the real's port, else the service's).
 * - The environment is the daemon's, plus DIRECTORD_* variables naming the same things (and
 *   the service, request, receive, virtualhost and login; never the password or secret).
 *
 * Exit status: by default ldirectord's rule, 0 = up and anything else = down (a checkcommand
 * with arguments fails with 127 and must mean down). With dynamic weights on (keepalived
 * misc_dynamic: CheckConfig.dynamic, TOML `dynamic = true` in the check section, or the checker
 * option) 0 = up at the configured weight, 1 = down, 2..255 = up with weight `status - 2`
 * (CheckResult.weight). Killed by a signal, timeout (checktimeout: the whole process group gets
 * SIGTERM, then SIGKILL), or could not run = down. Output is capped at 64 KiB; the first line of
 * stdout/stderr goes into the detail.
 *
 * external-perl: directord has no Perl interpreter inside; it runs the file with `perl` as an
 * external program with the same four arguments. `exit(n)` gives status n, returning normally
 * gives 0, a die gives 255 (down; ldirectord treats die as down too). The in-process compile
 * cache ldirectord keeps (never flushed, even on reload) is deliberately not copied.
 */
import { runCommand } from '../../sys/exec.js';
import type { CheckConfig } from '../../config/model.js';
import type { CheckResult, CheckTarget, Checker } from '../types.js';
import { checkPortOf, describeError, guarded, hostForUrl, receiveOf, requestOf } from './common.js';

/** The four arguments ldirectord passes. */
export function externalArguments(target: CheckTarget, check: CheckConfig): [string, string, string, string] {
  const vip =
    target.virtualProtocol === 'fwm' || target.virtualAddress === undefined
      ? String(target.fwmark ?? 0)
      : hostForUrl(target.virtualAddress, target.virtualAddress.includes(':') ? 6 : 4);
  const vport = target.virtualProtocol === 'fwm' ? '0' : String(target.virtualPort);
  const rip = hostForUrl(target.address, target.family);
  const rport = String(checkPortOf(target, check) ?? target.port);
  return [vip, vport, rip, rport];
}

function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}...` : line.trim();
}

export function createExternalChecker(options: { perl: boolean; dynamic?: boolean }): Checker {
  return {
    run(target, check, signal) {
      return guarded(signal, check.timeoutMs + 5000, async (deadline) => {
        if (check.command.length === 0) return deadline.fail('no checkcommand configured');
        const args = externalArguments(target, check);
        const argv = options.perl ? ['perl', ...check.command, ...args] : [...check.command, ...args];
        const env: NodeJS.ProcessEnv = {
          ...process.env,
          DIRECTORD_VIP: args[0],
          DIRECTORD_VPORT: args[1],
          DIRECTORD_RIP: args[2],
          DIRECTORD_RPORT: args[3],
          DIRECTORD_PROTOCOL: target.virtualProtocol,
          DIRECTORD_SERVICE: check.service,
          DIRECTORD_REQUEST: requestOf(target, check),
          DIRECTORD_RECEIVE: receiveOf(target, check),
          DIRECTORD_VIRTUALHOST: check.virtualHost ?? '',
          DIRECTORD_LOGIN: check.login,
          DIRECTORD_TIMEOUT_MS: String(check.timeoutMs),
        };
        const r = await runCommand(argv, { timeoutMs: check.timeoutMs, env, signal: deadline.signal, killGraceMs: 2000 });
        const said = firstLine(r.stdout) || firstLine(r.stderr);
        const suffix = said ? `: ${said}` : '';
        if (r.error) return deadline.fail(describeError(r.error));
        if (r.timedOut) return deadline.fail(`${check.command[0]} timed out after ${check.timeoutMs} ms (process group killed)`);
        if (r.exitCode === null) return deadline.fail(`${check.command[0]} killed by ${r.signal ?? 'a signal'}${suffix}`);
        const dynamic = options.dynamic === true || check.dynamic === true;
        return externalResult(r.exitCode, check.command[0] ?? '', said, deadline.elapsed(), dynamic);
      });
    },
  };
}

/** Maps an exit status to a result (ldirectord: non-zero = down; keepalived misc_dynamic when dynamic). */
export function externalResult(exitCode: number, command: string, said: string, durationMs: number, dynamic: boolean): CheckResult {
  const suffix = said ? `: ${said}` : '';
  if (exitCode === 0) return { ok: true, detail: `${command} exited 0${suffix}`, durationMs };
  if (exitCode === 1 || !dynamic) return { ok: false, detail: `${command} exited ${exitCode}${suffix}`, durationMs };
  if (exitCode >= 2 && exitCode <= 255) {
    return { ok: true, detail: `${command} exited ${exitCode} (weight ${exitCode - 2})${suffix}`, durationMs, weight: exitCode - 2 };
  }
  return { ok: false, detail: `${command} exited ${exitCode}${suffix}`, durationMs };
}
