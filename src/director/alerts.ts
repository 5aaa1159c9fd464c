/**
 * E-mail alerts with ldirectord's semantics (ldirectord-spec 10.9):
 * - every real or fallback add / restore / delete / quiesce / re-add event and every real purge
 *   mails its log text as the subject, prefixed `[<servicename>] ` when one is set;
 * - nothing is sent when the daemon phase is not in emailalertstatus (this also filters reminders);
 * - a real that is deleted or quiesced, with emailalertfreq > 0, is recorded as inaccessible and
 *   gets `Inaccessible real server: <rip:port> (<vip:port>)` every freq until it is restored;
 *   the fallback and purges never create such a record.
 * On top of that, a global cap (default 60 mails per 10 minutes) stops a flapping farm from
 * flooding a mailbox: mails beyond it are logged and counted, not sent.
 */
import { hostname, userInfo } from 'node:os';
import type { AlertConfig } from '../config/model.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { DaemonPhase, MailMessage, Mailer } from './types.js';

/** Per-virtual details an alert needs. */
export interface AlertVirtual {
  readonly id: string;
  /** `vip:vport` as ldirectord prints it. */
  readonly label: string;
  readonly alerts: AlertConfig;
  readonly serviceName?: string;
  readonly comment?: string;
}

interface Inaccessible {
  readonly virtual: AlertVirtual;
  readonly realLabel: string;
  lastAlertAt: number;
}

export interface AlerterOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Picks the transport for a virtual (smtp= host or sendmail). undefined = cannot mail. */
  readonly mailerFor: (alerts: AlertConfig) => Mailer | undefined;
  /** emailalertfrom (global), read at send time so a reload changes it. */
  readonly from: () => string | undefined;
  readonly phase: () => DaemonPhase;
  /** Global cap: at most `max` mails per `windowMs`. */
  readonly cap?: { readonly max: number; readonly windowMs: number };
  readonly hostName?: string;
}

/** Sends alerts and reminders; never throws (failures are logged). */
export class Alerter {
  private readonly inaccessible = new Map<string, Inaccessible>();
  private readonly sentAt: number[] = [];
  private suppressed = 0;
  private pending = new Set<Promise<void>>();
  /** Counters for status/metrics. */
  readonly counters = { sent: 0, failed: 0, suppressed: 0, filtered: 0 };

  constructor(private readonly options: AlerterOptions) {}

  /** A real/fallback event: mail it, and start or stop the reminder record. */
  event(virtual: AlertVirtual, subject: string, record?: { readonly realKey: string; readonly realLabel: string; readonly kind: 'inaccessible' | 'restored' }): void {
    if (record) {
      const key = `${virtual.id}/${record.realKey}`;
      if (record.kind === 'restored') this.inaccessible.delete(key);
      else if (virtual.alerts.emailFrequencyMs > 0) {
        this.inaccessible.set(key, { virtual, realLabel: record.realLabel, lastAlertAt: this.options.clock.now() });
      }
    }
    this.send(virtual, subject);
  }

  /** Forget records of pairs that no longer exist (reload). */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.inaccessible.keys()) if (!keys.has(key)) this.inaccessible.delete(key);
  }

  /** Keys with a reminder record (for tests and status). */
  inaccessibleKeys(): string[] {
    return [...this.inaccessible.keys()];
  }

  /** Called every loop iteration: resend reminders that are due. */
  tick(): void {
    const now = this.options.clock.now();
    for (const rec of this.inaccessible.values()) {
      if (now - rec.lastAlertAt < rec.virtual.alerts.emailFrequencyMs) continue;
      if (!this.phaseAllows(rec.virtual)) continue;
      rec.lastAlertAt = now;
      this.send(rec.virtual, `Inaccessible real server: ${rec.realLabel} (${rec.virtual.label})`);
    }
  }

  /** Resolves when every mail in flight has been handed over (or failed). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private phaseAllows(virtual: AlertVirtual): boolean {
    return virtual.alerts.emailStatuses.includes(this.options.phase());
  }

  private send(virtual: AlertVirtual, text: string): void {
    const to = virtual.alerts.emailTo;
    if (to.length === 0) return;
    if (!this.phaseAllows(virtual)) {
      this.counters.filtered++;
      return;
    }
    const now = this.options.clock.now();
    const cap = this.options.cap ?? { max: 60, windowMs: 600_000 };
    while (this.sentAt.length > 0 && now - (this.sentAt[0] as number) >= cap.windowMs) this.sentAt.shift();
    if (this.sentAt.length >= cap.max) {
      this.suppressed++;
      this.counters.suppressed++;
      this.options.logger.warn('e-mail alert suppressed: rate limit reached', { subject: text, limit: cap.max, windowMs: cap.windowMs, suppressed: this.suppressed });
      return;
    }
    const mailer = this.options.mailerFor(virtual.alerts);
    if (!mailer) {
      this.counters.failed++;
      this.options.logger.warn('e-mail alert not sent: no mail transport (set smtp= or install /usr/sbin/sendmail)', { subject: text });
      return;
    }
    this.sentAt.push(now);
    const subject = virtual.serviceName ? `[${virtual.serviceName}] ${text}` : text;
    const host = this.options.hostName ?? hostname();
    const body = [
      `ldirectord host: ${host}`,
      `Log-Message: ${text}`,
      `Daemon-Status: ${this.options.phase()}`,
      ...(virtual.serviceName ? [`Service name: ${virtual.serviceName}`] : []),
      ...(virtual.comment ? [`Comment: ${virtual.comment}`] : []),
    ].join('\n');
    const message: MailMessage = { from: this.options.from() ?? defaultSender(host), to, subject, body };
    const p = mailer
      .send(message)
      .then(() => {
        this.counters.sent++;
      })
      .catch((err: unknown) => {
        this.counters.failed++;
        this.options.logger.error('e-mail alert failed', { subject, error: (err as Error).message });
      })
      .finally(() => {
        this.pending.delete(p);
      });
    this.pending.add(p);
  }
}

/** ldirectord's envelope sender: `<uid user>@<hostname>`. */
export function defaultSender(host: string): string {
  let user = 'root';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry for this uid: keep root
  }
  return `${user}@${host}`;
}
