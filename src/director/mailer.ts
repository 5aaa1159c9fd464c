/**
 * E-mail transports for alerts (ldirectord-spec 10.9): a minimal SMTP client (ldirectord `smtp=`
 * uses Net::SMTP) and the local sendmail binary (ldirectord's Mail::Send). Both take the message
 * as data; nothing passes through a shell.
 *
 * Difference from ldirectord, on purpose: with smtp= ldirectord passes the comma-separated list as
 * one RCPT TO (which servers reject); here each recipient gets its own RCPT TO.
 */
import { connect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import type { Clock } from '../core/clock.js';
import { DirectorError } from '../core/errors.js';
import type { MailMessage, Mailer, RunCommand } from './types.js';

/** Header values never carry CR/LF (no header injection from a servicename or a log line). */
function headerValue(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').trim();
}

/** Renders an RFC 5322 message with CRLF line ends. */
export function renderMessage(message: MailMessage, date: Date): string {
  const lines = [
    `From: ${headerValue(message.from)}`,
    `To: ${message.to.map(headerValue).join(', ')}`,
    `Subject: ${headerValue(message.subject)}`,
    `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    'X-Mailer: directord',
    '',
    ...message.body.replace(/\r\n?/g, '\n').split('\n'),
  ];
  return `${lines.join('\r\n')}\r\n`;
}

/** RFC 5321 4.5.2: a line starting with "." gets another ".". */
export function dotStuff(text: string): string {
  return text.replace(/(^|\r\n)\./g, '$1..');
}

/** `host` or `host:port` or `[v6]:port` (port default 25). */
export function parseSmtpHost(spec: string): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec);
  if (v6) return { host: v6[1] as string, port: v6[2] ? Number(v6[2]) : 25 };
  const m = /^([^:]+):(\d+)$/.exec(spec);
  if (m) return { host: m[1] as string, port: Number(m[2]) };
  return { host: spec, port: 25 };
}

function addrOnly(address: string): string {
  const m = /<([^>]*)>/.exec(address);
  return (m ? (m[1] as string) : address).trim();
}

/** Reads SMTP replies (multi-line "250-..." continuation) from a socket. */
class ReplyReader {
  private buffer = '';
  private lines: string[] = [];
  private waiter: ((reply: { code: number; text: string }) => void) | undefined;
  private failure: Error | undefined;
  private failWaiter: ((err: Error) => void) | undefined;

  constructor(socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let i: number;
      while ((i = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, i).replace(/\r$/, '');
        this.buffer = this.buffer.slice(i + 1);
        this.lines.push(line);
        this.flush();
      }
      if (this.buffer.length > 64 * 1024) this.fail(new Error('reply line too long'));
    });
  }

  fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.failWaiter?.(err);
  }

  private flush(): void {
    if (!this.waiter) return;
    const end = this.lines.findIndex((l) => /^\d{3}(?: |$)/.test(l));
    if (end < 0) return;
    const parts = this.lines.splice(0, end + 1);
    const last = parts[parts.length - 1] as string;
    const w = this.waiter;
    this.waiter = undefined;
    this.failWaiter = undefined;
    w({ code: Number(last.slice(0, 3)), text: parts.map((p) => p.slice(4)).join(' ') });
  }

  next(): Promise<{ code: number; text: string }> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.waiter = resolve;
      this.failWaiter = reject;
      this.flush();
    });
  }
}

/** Options of the SMTP transport. */
export interface SmtpMailerOptions {
  /** `host`, `host:port` or `[v6]:port` (ldirectord smtp=). */
  readonly server: string;
  readonly clock: Clock;
  /** Whole-transaction timeout (Net::SMTP's default is 120 s; alerts should not queue that long). */
  readonly timeoutMs?: number;
  /** EHLO name (default: this host's name). */
  readonly heloName?: string;
}

/** Minimal SMTP client: greeting, EHLO (HELO fallback), MAIL FROM, RCPT TO per recipient, DATA, QUIT. */
export class SmtpMailer implements Mailer {
  private readonly host: string;
  private readonly port: number;

  constructor(private readonly options: SmtpMailerOptions) {
    const p = parseSmtpHost(options.server);
    this.host = p.host;
    this.port = p.port;
  }

  async send(message: MailMessage): Promise<void> {
    const to = message.to.join(', ');
    const socket = connect({ host: this.host, port: this.port });
    const reader = new ReplyReader(socket);
    socket.on('error', (err) => reader.fail(err));
    socket.on('close', () => reader.fail(new Error('connection closed by the server')));
    const timer = this.options.clock.setTimeout(() => {
      reader.fail(new Error(`no answer within ${this.options.timeoutMs ?? 30_000} ms`));
      socket.destroy();
    }, this.options.timeoutMs ?? 30_000);
    const expect = async (ok: (code: number) => boolean, step: string): Promise<{ code: number; text: string }> => {
      const reply = await reader.next();
      if (!ok(reply.code)) throw new Error(`${step}: ${reply.code} ${reply.text}`);
      return reply;
    };
    const send = (line: string): void => {
      socket.write(`${line}\r\n`);
    };
    try {
      await expect((c) => c === 220, 'greeting');
      const helo = this.options.heloName ?? hostname();
      send(`EHLO ${helo}`);
      const ehlo = await reader.next();
      if (ehlo.code !== 250) {
        send(`HELO ${helo}`);
        await expect((c) => c === 250, 'HELO');
      }
      send(`MAIL FROM:<${addrOnly(message.from)}>`);
      await expect((c) => c === 250, 'MAIL FROM');
      for (const rcpt of message.to) {
        send(`RCPT TO:<${addrOnly(rcpt)}>`);
        await expect((c) => c === 250 || c === 251, `RCPT TO ${rcpt}`);
      }
      send('DATA');
      await expect((c) => c === 354, 'DATA');
      socket.write(`${dotStuff(renderMessage(message, new Date(this.options.clock.wallNow())))}.\r\n`);
      await expect((c) => c === 250, 'end of data');
      send('QUIT');
      await reader.next().catch(() => undefined);
    } catch (err) {
      throw new DirectorError('DIR_ERR_DIRECTOR_MAIL', { to, reason: (err as Error).message }, { cause: err });
    } finally {
      timer.cancel();
      socket.end();
      socket.destroy();
    }
  }
}

/** Options of the sendmail transport. */
export interface SendmailMailerOptions {
  readonly runCommand: RunCommand;
  readonly clock: Clock;
  /** Default /usr/sbin/sendmail. */
  readonly path?: string;
  readonly timeoutMs?: number;
}

/** Hands the message to `sendmail -t -oi -f <from>` on stdin (recipients come from the To: header). */
export class SendmailMailer implements Mailer {
  constructor(private readonly options: SendmailMailerOptions) {}

  /** The argv used, for tests and for the log. */
  argv(message: MailMessage): string[] {
    return [this.options.path ?? '/usr/sbin/sendmail', '-t', '-oi', '-f', addrOnly(message.from)];
  }

  async send(message: MailMessage): Promise<void> {
    const to = message.to.join(', ');
    const text = renderMessage(message, new Date(this.options.clock.wallNow())).replace(/\r\n/g, '\n');
    const result = await this.options.runCommand(this.argv(message), { timeoutMs: this.options.timeoutMs ?? 30_000, input: text, maxOutputBytes: 16 * 1024 });
    if (result.exitCode !== 0) {
      const why = result.error?.message ?? (result.timedOut ? 'timed out' : result.signal ? `killed by ${result.signal}` : `exit status ${String(result.exitCode)}: ${result.stderr.trim().slice(0, 200)}`);
      throw new DirectorError('DIR_ERR_DIRECTOR_MAIL', { to, reason: `sendmail ${why}` });
    }
  }
}
