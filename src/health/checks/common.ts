/**
 * Pieces every checker shares: the check port rule, the receive regex, a deadline that combines the
 * monitor's AbortSignal with the check's own timeout, and a small buffered socket session for the
 * line protocols (ftp, smtp, pop, imap, nntp, simpletcp, agent) and the binary ones (ldap, mysql,
 * pgsql).
 */
import { readFile, stat } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import type { CheckConfig } from '../../config/model.js';
import type { ServiceName } from '../../core/types.js';
import type { CheckResult, CheckTarget } from '../types.js';

/** ldirectord's service → port table (ldirectord-spec 5.2), used when neither checkport nor the real has a port. */
export const SERVICE_PORTS: Readonly<Partial<Record<ServiceName, number>>> = Object.freeze({
  ftp: 21,
  smtp: 25,
  dns: 53,
  http: 80,
  pop: 110,
  nntp: 119,
  imap: 143,
  ldap: 389,
  https: 443,
  submission: 587,
  ldaps: 636,
  imaps: 993,
  pops: 995,
  oracle: 1521,
  radius: 1812,
  http_proxy: 3128,
  mysql: 3306,
  sip: 5060,
  pgsql: 5432,
});

/**
 * The check port (ldirectord-spec 10.4): checkport if set, else the real's port if > 0, else the
 * service's default port; undefined when there is none (a fwmark real with service none).
 */
export function checkPortOf(target: CheckTarget, check: CheckConfig): number | undefined {
  if (check.checkPort !== undefined && check.checkPort > 0) return check.checkPort;
  if (target.port > 0) return target.port;
  return SERVICE_PORTS[check.service];
}

/** The request for this real: the per-real override, else the virtual's (ldirectord real= "request"). */
export function requestOf(target: CheckTarget, check: CheckConfig): string {
  return target.request ?? check.request;
}

/** The receive regex source for this real ("" = none). */
export function receiveOf(target: CheckTarget, check: CheckConfig): string {
  return target.receive ?? check.receive;
}

/** The request with ldirectord's leading "/" removed (dns name, ldap base, SQL, simpletcp payload). */
export function stripSlash(request: string): string {
  return request.startsWith('/') ? request.slice(1) : request;
}

/**
 * Compiles a receive pattern. ldirectord's are Perl regexes; the common subset (classes, anchors,
 * alternation, quantifiers) reads the same in JavaScript. Returns an Error for a pattern that
 * does not compile, so the check fails with a clear detail rather than throwing.
 */
export function compileReceive(source: string): RegExp | Error | undefined {
  if (source === '') return undefined;
  const cached = receiveCache.get(source);
  if (cached) return cached;
  let compiled: RegExp | Error;
  try {
    compiled = new RegExp(source);
  } catch (err) {
    compiled = new Error(`receive is not a valid regex: ${err instanceof Error ? err.message : String(err)}`);
  }
  // Patterns come from the config: few distinct ones, checked thousands of times a second.
  if (receiveCache.size >= 1000) receiveCache.clear();
  receiveCache.set(source, compiled);
  return compiled;
}

const receiveCache = new Map<string, RegExp | Error>();

/**
 * Tests a receive regex the way Perl would for the common case: Perl's `$` also matches before a
 * final newline, so `^ok$` matches the body "ok\n". JavaScript's does not; retry without it.
 */
export function receiveMatches(receive: RegExp, text: string): boolean {
  if (receive.test(text)) return true;
  return text.endsWith('\n') && receive.test(text.slice(0, text.endsWith('\r\n') ? -2 : -1));
}

/** Host as a URL authority part: IPv6 in brackets. */
export function hostForUrl(address: string, family: 4 | 6): string {
  return family === 6 ? `[${address}]` : address;
}

/** `192.0.2.10:80` / `[2001:db8::1]:80`. */
export function endpointText(address: string, port: number, family: 4 | 6): string {
  return `${hostForUrl(address, family)}:${port}`;
}

/**
 * A check's time budget: the monitor's signal plus the check's own timeout, whichever comes first.
 * One AbortController and one timer per check (AbortSignal.any/timeout cost several times more
 * per check on Node 20, which shows at thousands of checks per second).
 */
export class Deadline {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private timedOut = false;
  readonly started = performance.now();
  private readonly onOuterAbort = (): void => this.controller.abort();

  constructor(
    private readonly outer: AbortSignal,
    readonly timeoutMs: number,
  ) {
    this.signal = this.controller.signal;
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort();
    }, Math.max(1, timeoutMs));
    this.timer.unref();
    if (outer.aborted) this.controller.abort();
    else outer.addEventListener('abort', this.onOuterAbort, { once: true });
  }

  /** Releases the timer and the listener on the outer signal. */
  dispose(): void {
    clearTimeout(this.timer);
    this.outer.removeEventListener('abort', this.onOuterAbort);
  }

  elapsed(): number {
    return Math.round(performance.now() - this.started);
  }

  remaining(): number {
    return Math.max(1, this.timeoutMs - (performance.now() - this.started));
  }

  /** Why the deadline fired, for the result detail. */
  reason(): string {
    return this.timedOut ? `timed out after ${this.timeoutMs} ms` : 'aborted';
  }

  ok(detail: string, extra: Partial<CheckResult> = {}): CheckResult {
    return { ok: true, detail, durationMs: this.elapsed(), ...extra };
  }

  fail(detail: string): CheckResult {
    return { ok: false, detail, durationMs: this.elapsed() };
  }
}

/** Describes a caught error (errno code first: "ECONNREFUSED", then the message). */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code && !err.message.includes(code)) return `${code} ${err.message}`;
    return err.message;
  }
  return String(err);
}

/**
 * Runs a check body with its deadline; any throw or the deadline becomes a failed CheckResult.
 * Checkers are written as straight-line protocol code and never leak an exception.
 */
export async function guarded(
  outer: AbortSignal,
  timeoutMs: number,
  body: (deadline: Deadline) => Promise<CheckResult>,
): Promise<CheckResult> {
  const deadline = new Deadline(outer, timeoutMs);
  if (outer.aborted) return deadline.fail('aborted');
  try {
    return await body(deadline);
  } catch (err) {
    if (deadline.signal.aborted) return deadline.fail(deadline.reason());
    return deadline.fail(describeError(err));
  } finally {
    deadline.dispose();
  }
}

/** Thrown by Session reads when the protocol is violated; the message is the check detail. */
export class ProtocolError extends Error {}

/** TLS options for a session. */
export interface SessionTls {
  /** SNI and the name verified (undefined: no SNI, as when checking by IP). */
  readonly servername?: string;
  readonly verify: boolean;
  /** Trusted CAs (PEM) replacing the system store (CheckConfig.caFile). */
  readonly ca?: Buffer;
}

/** CA files read so far, re-read when their size or mtime changes (a rotated CA is picked up). */
const caCache = new Map<string, { readonly mtimeMs: number; readonly size: number; readonly pem: Buffer }>();

/**
 * Reads CheckConfig.caFile (cached; one stat per check). Throws an Error whose message names the
 * file, which guarded() turns into the check's detail: a missing CA fails the check, it never
 * silently falls back to the system store.
 */
export async function readCaFile(path: string): Promise<Buffer> {
  try {
    const st = await stat(path);
    const hit = caCache.get(path);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.pem;
    const pem = await readFile(path);
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate in the file');
    caCache.set(path, { mtimeMs: st.mtimeMs, size: st.size, pem });
    return pem;
  } catch (err) {
    throw new Error(`ca_file ${path}: ${describeError(err)}`);
  }
}

/** The TLS options of a check's secure session: SNI from virtualhost, tlsVerify, caFile. */
export async function sessionTlsOf(check: CheckConfig): Promise<SessionTls> {
  return {
    ...(check.virtualHost !== undefined ? { servername: check.virtualHost } : {}),
    verify: check.tlsVerify,
    ...(check.caFile !== undefined ? { ca: await readCaFile(check.caFile) } : {}),
  };
}

/**
 * A connected TCP (optionally TLS) socket with a receive buffer and read-until helpers. Every
 * operation ends when the deadline fires (the socket is destroyed).
 */
export class Session {
  private buffer: Buffer = Buffer.alloc(0);
  private error: Error | undefined;
  private ended = false;
  private wake: (() => void) | undefined;
  private onAbort = (): void => {
    this.error = new Error('deadline');
    this.socket.destroy();
    this.notify();
  };

  private constructor(
    private socket: net.Socket,
    private readonly deadline: Deadline,
  ) {
    this.attach(socket);
    deadline.signal.addEventListener('abort', this.onAbort, { once: true });
  }

  private attach(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.notify();
    });
    socket.on('end', () => {
      this.ended = true;
      this.notify();
    });
    socket.on('close', () => {
      this.ended = true;
      this.notify();
    });
    socket.on('error', (err) => {
      this.error ??= err;
      this.notify();
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Opens a TCP (or TLS) connection to host:port within the deadline. */
  static connect(host: string, port: number, deadline: Deadline, tlsOptions?: SessionTls): Promise<Session> {
    return new Promise<Session>((resolve, reject) => {
      if (deadline.signal.aborted) {
        reject(new Error('deadline'));
        return;
      }
      const socket = tlsOptions
        ? tls.connect({
            host,
            port,
            ...(tlsOptions.servername !== undefined && net.isIP(tlsOptions.servername) === 0 ? { servername: tlsOptions.servername } : {}),
            rejectUnauthorized: tlsOptions.verify,
            ...(tlsOptions.ca !== undefined ? { ca: tlsOptions.ca } : {}),
            ...(tlsOptions.verify && tlsOptions.servername === undefined ? { checkServerIdentity: () => undefined } : {}),
          })
        : net.connect({ host, port });
      const event = tlsOptions ? 'secureConnect' : 'connect';
      const onAbort = (): void => {
        socket.destroy();
        reject(new Error('deadline'));
      };
      deadline.signal.addEventListener('abort', onAbort, { once: true });
      socket.once('error', (err) => {
        deadline.signal.removeEventListener('abort', onAbort);
        socket.destroy();
        reject(err);
      });
      socket.once(event, () => {
        deadline.signal.removeEventListener('abort', onAbort);
        socket.removeAllListeners('error');
        resolve(new Session(socket, deadline));
      });
    });
  }

  /** Upgrades the connection to TLS in place (STARTTLS, pgsql SSLRequest). */
  async startTls(options: SessionTls): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('end');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    this.buffer = Buffer.alloc(0);
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({
        socket: plain,
        ...(options.servername !== undefined && net.isIP(options.servername) === 0 ? { servername: options.servername } : {}),
        rejectUnauthorized: options.verify,
        ...(options.ca !== undefined ? { ca: options.ca } : {}),
      });
      s.once('secureConnect', () => {
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Half-closes the write side (ldirectord simpletcp shuts down writing before reading). */
  endWrite(): void {
    this.socket.end();
  }

  /**
   * Waits until `take` finds a complete unit in the buffer; `take` returns how many bytes it
   * consumes (or undefined to wait for more). Rejects on close, error or the deadline.
   */
  async read<T>(take: (buf: Buffer) => { used: number; value: T } | undefined, what: string): Promise<T> {
    for (;;) {
      const got = take(this.buffer);
      if (got) {
        this.buffer = this.buffer.subarray(got.used);
        return got.value;
      }
      if (this.error) throw this.error.message === 'deadline' ? this.error : new ProtocolError(`${what}: ${describeError(this.error)}`);
      if (this.ended) throw new ProtocolError(`${what}: connection closed by server`);
      if (this.buffer.length > 1024 * 1024) throw new ProtocolError(`${what}: response too large`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** Reads one line (without CR LF). */
  readLine(what = 'reading a line'): Promise<string> {
    return this.read((buf) => {
      const nl = buf.indexOf(0x0a);
      // A last line without a newline before the server closed still counts as a line.
      if (nl < 0) return this.ended && buf.length > 0 ? { used: buf.length, value: buf.toString('utf8').replace(/\r$/, '') } : undefined;
      const end = nl > 0 && buf[nl - 1] === 0x0d ? nl - 1 : nl;
      return { used: nl + 1, value: buf.subarray(0, end).toString('utf8') };
    }, what);
  }

  /** Reads until the server closes; returns everything (bounded at 1 MiB). */
  readAll(what = 'reading'): Promise<string> {
    return this.read((buf) => (this.ended || this.error ? { used: buf.length, value: buf.toString('utf8') } : undefined), what);
  }

  /** Reads exactly n bytes. */
  readBytes(n: number, what: string): Promise<Buffer> {
    return this.read((buf) => (buf.length >= n ? { used: n, value: Buffer.from(buf.subarray(0, n)) } : undefined), what);
  }

  /** Bytes already buffered (for a non-blocking peek). */
  buffered(): number {
    return this.buffer.length;
  }

  close(): void {
    this.deadline.signal.removeEventListener('abort', this.onAbort);
    this.socket.destroy();
  }
}

/**
 * Reads an SMTP/FTP-style reply: `NNN-text` continuation lines until `NNN text`. Returns the code
 * and all text lines.
 */
export async function readNumericReply(session: Session, what: string): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  for (;;) {
    const line = await session.readLine(what);
    lines.push(line);
    const m = /^(\d{3})([ -]?)/.exec(line);
    if (m && m[2] !== '-') return { code: Number(m[1]), lines };
    if (lines.length > 200) throw new ProtocolError(`${what}: reply too long`);
  }
}
