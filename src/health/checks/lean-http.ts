/**
 * The lean plain-HTTP check (negotiate service=http): one TCP connection, one write of a
 * `METHOD path HTTP/1.0` request with Host and Connection: close (keepalived's HTTP_GET request
 * shape), judged by the rules of http.ts (2xx or expectStatus; the receive regex on the body).
 *
 * Built for thousands of checks per second on one core (issue #4, test/bench/health-bench.ts):
 * - No per-check closures beyond the Promise executor: the exchange is one state object; socket
 *   events go to module-level handlers that find it on the socket, the AbortSignal listener is
 *   the object itself (EventTarget `handleEvent`), the timer gets it as its argument.
 * - Reads land in one module-wide buffer (net.connect `onread`): no Buffer allocated per read,
 *   no stream 'data' machinery; bytes are copied out only when the body must be kept. One
 *   buffer serves every socket because each read is handled synchronously before the next.
 * - No TCP_NODELAY: the request is one write on a fresh connection, which Nagle never delays
 *   (nothing unacknowledged is in flight), so the setsockopt would be a syscall for nothing.
 * - The request bytes, the URL text and the compiled receive regex of a target never change:
 *   they are built once per (target, check) object pair and reused (WeakMap, so removed targets
 *   are collected).
 * - Reads stop as soon as the verdict is known: at the end of the status line when the body
 *   does not matter (no receive, or HEAD), else at Content-Length or the server's close.
 * - The host is numeric (reals are addressed by IP), so net.connect does no name lookup.
 * - The connection is closed with a TCP RST (SO_LINGER 0, socket.resetAndDestroy) once the
 *   verdict is in, as HAProxy closes its HTTP checks (haproxy/haproxy#560, #2447): no FIN
 *   exchange and no TIME_WAIT socket left on either side. A graceful close at 5,000 checks/s
 *   keeps ~300,000 TIME_WAIT sockets (60 s each); those on the server side (it closes first
 *   under Connection: close) collide with the checker's next connections from a reused port,
 *   whose SYN then gets a stale ACK and waits a 1 s retransmission: false timeouts (seen in
 *   the bench before this path). Trade-off (same as HAProxy's): an application that logs
 *   resets sees one per check; the banner protocols (smtp, ftp...) still close gracefully.
 *
 * Anything but plain http (https, http_proxy) goes to the fallback checker (http.ts, got).
 *
 * This is the Node-socket path. When the native addon loads, checks/index.ts uses
 * native-http.ts instead: the same request (prepare() below), rules and details, with the
 * socket work on the native prober thread (native/probe.c), at about half the CPU per check.
 */
import net from 'node:net';
import type { CheckConfig } from '../../config/model.js';
import type { CheckResult, CheckTarget, Checker } from '../types.js';
import { checkPortOf, compileReceive, hostForUrl, receiveMatches, receiveOf, requestOf } from './common.js';
import { requestPath, statusAccepted } from './http.js';

/** Bodies above this are cut before the receive match (a health page is small). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** What never changes between two checks of the same target with the same check. */
export interface Prepared {
  readonly check: CheckConfig;
  readonly port: number;
  /** The whole request, written in one write(). */
  readonly request: Buffer;
  /** `http://rip:port/path`, the prefix of every detail. */
  readonly what: string;
  readonly receive: RegExp | undefined;
  /** The body must be read (receive set and the method returns one). */
  readonly needBody: boolean;
}

const prepared = new WeakMap<CheckTarget, Prepared>();

/** Builds (or finds) the fixed parts of a target's check; a string is a failure detail. */
export function prepare(target: CheckTarget, check: CheckConfig): Prepared | string {
  const hit = prepared.get(target);
  if (hit !== undefined && hit.check === check) return hit;
  const port = checkPortOf(target, check);
  if (port === undefined) return 'no port to check (set checkport)';
  const receive = compileReceive(receiveOf(target, check));
  if (receive instanceof Error) return receive.message;
  const path = requestPath(requestOf(target, check));
  const authority = `${hostForUrl(target.address, target.family)}:${port}`;
  const host = check.virtualHost ?? authority;
  const p: Prepared = {
    check,
    port,
    request: Buffer.from(`${check.httpMethod} ${path} HTTP/1.0\r\nHost: ${host}\r\nUser-Agent: directord health check\r\nConnection: close\r\n\r\n`, 'latin1'),
    what: `http://${authority}${path}`,
    receive,
    needBody: receive !== undefined && check.httpMethod !== 'HEAD',
  };
  prepared.set(target, p);
  return p;
}

/** Every socket's reads land here (see the module comment); 64 KiB, libuv's usual read size. */
const readBuffer = Buffer.allocUnsafe(64 * 1024);

const CR = 0x0d;
const LF = 0x0a;

/** Where the state object of an exchange hangs on its socket. */
const kExchange = Symbol('leanHttpExchange');
type ExchangeSocket = net.Socket & { [kExchange]?: Exchange };

/** One check in flight. */
class Exchange {
  private resolve!: (r: CheckResult) => void;
  readonly promise: Promise<CheckResult>;
  private readonly socket: ExchangeSocket;
  private readonly timer: NodeJS.Timeout;
  private readonly started = performance.now();
  private connected = false;
  private settled = false;
  private chunks: Buffer[] = [];
  private size = 0;
  private status = 0;
  private headerEnd = -1;
  private contentLength = -1;

  constructor(
    private readonly p: Prepared,
    address: string,
    private readonly signal: AbortSignal,
    private readonly timeoutMs: number,
  ) {
    this.promise = new Promise<CheckResult>((resolve) => {
      this.resolve = resolve;
    });
    this.timer = setTimeout(onTimeout, Math.max(1, timeoutMs), this);
    signal.addEventListener('abort', this, { once: true });
    const socket: ExchangeSocket = net.connect({ host: address, port: p.port, onread: { buffer: readBuffer, callback: onRead } });
    socket[kExchange] = this;
    socket.on('connect', onConnect);
    socket.on('end', onEnd);
    socket.on('error', onError);
    this.socket = socket;
  }

  /** The AbortSignal listener (EventTarget calls handleEvent on listener objects). */
  handleEvent(): void {
    this.fail('aborted');
  }

  timedOut(): void {
    this.fail(`timed out after ${this.timeoutMs} ms`);
  }

  connectedNow(): void {
    this.connected = true;
    this.socket.write(this.p.request);
  }

  /** `n` bytes arrived in `shared` (valid only during this call). */
  received(n: number, shared: Buffer): void {
    if (this.settled) return;
    if (this.status === 0 && this.size === 0) {
      // The usual case: the whole status line is in the first read; judge it in place.
      const eol = indexOfLf(shared, n);
      if (eol >= 0) {
        const status = statusOf(shared, eol);
        if (status === 0) {
          this.malformed(shared.subarray(0, n));
          return;
        }
        this.status = status;
        if (!this.p.needBody || !statusAccepted(status, this.p.check)) {
          this.judge('');
          return;
        }
      }
    }
    // Keep the bytes: the status line came in pieces, or the body is needed. (Every path below
    // ends the exchange once MAX_BODY_BYTES are held, so the buffer stays bounded.)
    const chunk = Buffer.allocUnsafe(n);
    shared.copy(chunk, 0, 0, n);
    this.chunks.push(chunk);
    this.size += n;
    const all = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.size);
    if (this.chunks.length > 1) this.chunks = [all];
    if (this.status === 0) {
      const eol = all.indexOf(LF);
      if (eol < 0) {
        if (this.size >= 8192) this.malformed(all);
        return;
      }
      const status = statusOf(all, eol);
      if (status === 0) {
        this.malformed(all);
        return;
      }
      this.status = status;
      // The status alone decides when the body does not matter: stop reading here.
      if (!this.p.needBody || !statusAccepted(status, this.p.check)) {
        this.judge('');
        return;
      }
    }
    if (this.headerEnd < 0) {
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) {
        if (this.size >= MAX_BODY_BYTES) this.fail(`${this.p.what}: response headers too large`);
        return;
      }
      this.headerEnd = end + 4;
      this.contentLength = contentLengthOf(all.subarray(0, end).toString('latin1'));
      if (this.status === 204 || this.status === 304) this.contentLength = 0;
    }
    if (this.contentLength >= 0 && this.size - this.headerEnd >= Math.min(this.contentLength, MAX_BODY_BYTES - this.headerEnd)) this.complete();
    else if (this.size >= MAX_BODY_BYTES) this.complete();
  }

  /** The server closed its side: judge what came. */
  complete(): void {
    if (this.settled) return;
    if (this.status === 0) {
      this.fail(`${this.p.what}: ${this.size === 0 ? 'connection closed without a response' : 'malformed HTTP response'}`);
      return;
    }
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.size);
    const headerEnd = this.headerEnd < 0 ? all.length : this.headerEnd;
    const bodyEnd = this.contentLength >= 0 ? Math.min(all.length, headerEnd + this.contentLength) : all.length;
    this.judge(all.toString('utf8', headerEnd, bodyEnd));
  }

  failed(err: NodeJS.ErrnoException): void {
    this.fail(`${this.p.what}: ${err.code ?? err.message}`);
  }

  private malformed(all: Buffer): void {
    const eol = all.indexOf(LF);
    const line = all.toString('latin1', 0, eol < 0 ? Math.min(all.length, 60) : Math.min(eol, 60)).replace(/\r$/, '');
    this.fail(`${this.p.what}: malformed status line ${JSON.stringify(line)}`);
  }

  /** The rules of http.ts judge(): status first, then the receive regex on the body. */
  private judge(body: string): void {
    const { check, receive, what } = this.p;
    const status = this.status;
    if (!statusAccepted(status, check)) {
      this.fail(`${what}: HTTP ${status} (expected ${check.expectStatus?.join(',') ?? '2xx'})`);
      return;
    }
    if (this.p.needBody && receive !== undefined && !receiveMatches(receive, body)) {
      this.fail(`${what}: HTTP ${status} but body does not match receive /${receive.source}/`);
      return;
    }
    const durationMs = Math.round(performance.now() - this.started);
    this.settle({ ok: true, detail: `${what}: HTTP ${status} in ${durationMs} ms`, durationMs });
  }

  private fail(detail: string): void {
    this.settle({ ok: false, detail, durationMs: Math.round(performance.now() - this.started) });
  }

  private settle(result: CheckResult): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.signal.removeEventListener('abort', this);
    const socket = this.socket;
    socket[kExchange] = undefined;
    // RST once connected (no TIME_WAIT); a socket still connecting is simply dropped.
    if (this.connected && !socket.destroyed) socket.resetAndDestroy();
    else socket.destroy();
    this.chunks = [];
    this.resolve(result);
  }
}

function onTimeout(exchange: Exchange): void {
  exchange.timedOut();
}

function onConnect(this: ExchangeSocket): void {
  this[kExchange]?.connectedNow();
}

function onRead(this: ExchangeSocket, n: number, shared: Buffer): boolean {
  this[kExchange]?.received(n, shared);
  return true;
}

function onEnd(this: ExchangeSocket): void {
  this[kExchange]?.complete();
}

function onError(this: ExchangeSocket, err: NodeJS.ErrnoException): void {
  this[kExchange]?.failed(err);
}

export function indexOfLf(buf: Buffer, length: number): number {
  for (let i = 0; i < length; i++) if (buf[i] === LF) return i;
  return -1;
}

const DIGIT_0 = 0x30;

/** The status code of `HTTP/d.d NNN ...` ending at `eol`, or 0 when the line is not one. */
export function statusOf(buf: Buffer, eol: number): number {
  // "HTTP/1.1 200" is 12 bytes; the reason phrase may be empty.
  if (eol < 12 || buf[0] !== 0x48 || buf[1] !== 0x54 || buf[2] !== 0x54 || buf[3] !== 0x50 || buf[4] !== 0x2f) return 0;
  if (!isDigit(buf[5]) || buf[6] !== 0x2e || !isDigit(buf[7]) || buf[8] !== 0x20) return 0;
  const a = buf[9];
  const b = buf[10];
  const c = buf[11];
  if (!isDigit(a) || !isDigit(b) || !isDigit(c)) return 0;
  const after = buf[12];
  if (after !== 0x20 && after !== CR && after !== LF) return 0;
  return (a - DIGIT_0) * 100 + (b - DIGIT_0) * 10 + (c - DIGIT_0);
}

function isDigit(byte: number | undefined): byte is number {
  return byte !== undefined && byte >= DIGIT_0 && byte <= 0x39;
}

const contentLengthPattern = /\r\ncontent-length:[ \t]*(\d+)/i;

export function contentLengthOf(head: string): number {
  const m = contentLengthPattern.exec(head);
  return m ? Number(m[1]) : -1;
}

/**
 * The checker for negotiate service=http on the lean path; every other service (https,
 * http_proxy) goes to `fallback`. Same time budget as http.ts: the whole exchange within
 * negotiatetimeout.
 */
export function createLeanHttpChecker(fallback: Checker): Checker {
  return {
    run(target, check, signal) {
      if (check.service !== 'http') return fallback.run(target, check, signal);
      if (signal.aborted) return Promise.resolve({ ok: false, detail: 'aborted', durationMs: 0 });
      const p = prepare(target, check);
      if (typeof p === 'string') return Promise.resolve({ ok: false, detail: p, durationMs: 0 });
      return new Exchange(p, target.address, signal, check.negotiateTimeoutMs).promise;
    },
  };
}
