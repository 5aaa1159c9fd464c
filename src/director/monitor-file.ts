/**
 * ldirectord monitorfile (ldirectord-spec 10.9): one line per check outcome,
 *   [<ctime>] [<pid>] <real id, runs of ':' → one space, backslashes removed> [up|down] <message>
 * with %, |, CR and LF percent-escaped in the message. Not written for ping failures,
 * external-perl and checktype=on. ldirectord dies on a write error; directord logs it instead.
 */
import { appendFile } from 'node:fs/promises';
import type { CheckConfig, RealServerConfig, VirtualServiceConfig } from '../config/model.js';
import { formatHost } from '../core/ip.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Perl's scalar(localtime): `Sat Nov 21 12:39:37 2026`. */
export function ctime(date: Date): string {
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[date.getDay()]} ${MONTHS[date.getMonth()]} ${String(date.getDate()).padStart(2, ' ')} ${p2(date.getHours())}:${p2(date.getMinutes())}:${p2(date.getSeconds())} ${date.getFullYear()}`;
}

/** ldirectord's real id (check dedup key, ldirectord-spec 10.2) as written to the monitorfile. */
export function monitorRealId(vs: VirtualServiceConfig, real: RealServerConfig): string {
  const c: CheckConfig = vs.check;
  const checkWhat = c.type === 'external' || c.type === 'external-perl' ? c.command.join(' ') : c.service;
  const host = formatHost(real.address);
  const parts = [c.type, checkWhat, vs.protocol, host, String(real.port), c.virtualHost ?? '', c.checkPort === undefined ? '' : String(c.checkPort), String(real.weight), real.forward, real.request ?? c.request, real.receive ?? c.receive];
  return parts.join(':').replace(/:+/g, ' ').replace(/\\/g, '');
}

/** Percent-escapes %, |, CR and LF. */
export function escapeMonitorMessage(message: string): string {
  return message.replace(/[%|\r\n]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** Does this outcome get a line? */
export function monitorLogs(check: CheckConfig, ok: boolean): boolean {
  if (check.type === 'on' || check.type === 'off' || check.type === 'external-perl') return false;
  if (check.type === 'ping' && !ok) return false;
  return true;
}

/** The whole line, newline included. */
export function monitorLine(date: Date, pid: number, realId: string, ok: boolean, message: string): string {
  return `[${ctime(date)}] [${pid}] ${realId} [${ok ? 'up' : 'down'}] ${escapeMonitorMessage(message)}\n`;
}

/** Appends lines to monitor files, in order per file. */
export class MonitorFileWriter {
  private chains = new Map<string, Promise<void>>();

  constructor(private readonly onError: (path: string, err: Error) => void) {}

  write(path: string, line: string): Promise<void> {
    const prev = this.chains.get(path) ?? Promise.resolve();
    const next = prev.then(() => appendFile(path, line, { encoding: 'utf8', mode: 0o640 })).catch((err: unknown) => this.onError(path, err as Error));
    this.chains.set(path, next);
    return next;
  }

  async flush(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }
}
