/**
 * The plain-HTTP check (negotiate service=http) on the native prober (src/sys/probe.ts,
 * native/probe.c): the same request bytes, rules and failure details as lean-http.ts, but the
 * socket work (connect, send, recv, RST close, timeouts) runs on the prober's own thread with
 * epoll, and results come back to this thread in batches. Issue #4: at 5,000 checks/s Node's
 * net.Socket machinery was most of the CPU of a check.
 *
 * Policy stays here, in TypeScript: lean-http.ts builds the request (keepalived HTTP_GET's
 * shape, Host = virtualhost or rip:port, HTTP/1.0, Connection: close); the status rule is
 * http.ts's (2xx or expectStatus; redirects not followed); the receive regex runs on the body.
 * The native side only knows when to stop reading:
 * - no body needed (no receive, or HEAD): at the end of the status line ('line', cap 8 KiB,
 *   beyond which lean-http.ts calls the line malformed);
 * - body needed: at Content-Length (none: the server's close), cap MAX_BODY_BYTES.
 * The one difference from lean-http.ts: with a body needed, lean-http.ts stops at a status line
 * that already fails (a 404 is judged without its body); here the body is read too (the native
 * side has no status rule), which changes nothing but a few bytes, except for a failing status
 * from a server that then neither closes nor ends its body: that is judged at the timeout, with
 * the status detail ("HTTP 404 (expected 2xx)") that lean-http.ts would give.
 *
 * The time budget is lean-http.ts's: the whole exchange within negotiatetimeout (connect
 * included), enforced on the prober thread; "timed out after N ms" either way.
 */
import type { ProbeCompletion, ProbeListener, ProbeRunner, ProbeSpec } from '../../sys/probe.js';
import type { CheckResult, CheckTarget, Checker } from '../types.js';
import type { CheckConfig } from '../../config/model.js';
import { statusAccepted } from './http.js';
import { MAX_BODY_BYTES, type Prepared, contentLengthOf, indexOfLf, prepare, statusOf } from './lean-http.js';
import { receiveMatches } from './common.js';

/** lean-http.ts calls a status line malformed when no LF came in this many bytes. */
const STATUS_LINE_LIMIT = 8192;

/**
 * The exchanges in flight per AbortSignal, behind ONE 'abort' listener per signal for the
 * signal's whole life: the monitor reuses a group's signal for run after run until it fires,
 * so adding and removing an EventTarget listener per check (lean-http.ts) is work for nothing.
 */
const inFlightBySignal = new WeakMap<AbortSignal, Set<NativeExchange>>();

function watch(signal: AbortSignal, exchange: NativeExchange): Set<NativeExchange> {
  let set = inFlightBySignal.get(signal);
  if (set === undefined) {
    const exchanges = new Set<NativeExchange>();
    set = exchanges;
    inFlightBySignal.set(signal, exchanges);
    signal.addEventListener(
      'abort',
      () => {
        for (const e of [...exchanges]) e.abort();
      },
      { once: true },
    );
  }
  set.add(exchange);
  return set;
}

/** One check in flight on the prober. */
class NativeExchange implements ProbeListener {
  private resolve!: (r: CheckResult) => void;
  readonly promise: Promise<CheckResult>;
  private readonly started = performance.now();
  private readonly id: number;
  private readonly watchers: Set<NativeExchange>;
  private settled = false;

  constructor(
    private readonly prober: ProbeRunner,
    private readonly p: Prepared,
    spec: ProbeSpec,
    signal: AbortSignal,
    private readonly timeoutMs: number,
  ) {
    this.promise = new Promise<CheckResult>((resolve) => {
      this.resolve = resolve;
    });
    this.id = prober.submit(spec, this);
    this.watchers = watch(signal, this);
  }

  /** The check's signal fired: cancel the probe, settle at once. */
  abort(): void {
    if (this.settled) return;
    this.prober.cancel(this.id);
    this.settle(false, 'aborted', Math.round(performance.now() - this.started));
  }

  /** The prober's completion; `c.bytes` is valid only during this call. */
  probeDone(c: ProbeCompletion): void {
    if (this.settled) return;
    const durationMs = Math.round(c.totalMs);
    const what = this.p.what;
    switch (c.outcome) {
      case 'ok':
        this.judgeAll(c.bytes, c.end === 'cap', durationMs);
        return;
      case 'timeout':
      case 'connect-timeout':
        // A status line that decides alone would have ended the exchange in lean-http.ts.
        if (!this.judgeStatusLine(c.bytes, durationMs)) this.settle(false, `timed out after ${this.timeoutMs} ms`, durationMs);
        return;
      case 'error':
        if (!this.judgeStatusLine(c.bytes, durationMs)) this.settle(false, `${what}: ${c.errno ?? 'error'}`, durationMs);
        return;
      case 'cancelled':
        this.settle(false, 'aborted', durationMs);
        return;
      default:
        // connect-error, setup-error: the errno name, as net's error.code in lean-http.ts.
        this.settle(false, `${what}: ${c.errno ?? c.outcome}`, durationMs);
    }
  }

  /**
   * The verdict when the status line alone decides (malformed; failing status; or no body
   * needed); false when there is no status line yet or the body must be judged too.
   */
  private judgeStatusLine(bytes: Buffer, durationMs: number): boolean {
    const eol = indexOfLf(bytes, bytes.length);
    if (eol < 0) return false;
    const status = statusOf(bytes, eol);
    if (status === 0) {
      this.malformed(bytes, durationMs);
      return true;
    }
    if (this.p.needBody && statusAccepted(status, this.p.check)) return false;
    this.judge(status, '', durationMs);
    return true;
  }

  /** The whole answer is in: the rules of lean-http.ts received()/complete(). */
  private judgeAll(bytes: Buffer, capped: boolean, durationMs: number): void {
    const what = this.p.what;
    if (bytes.length === 0) {
      this.settle(false, `${what}: connection closed without a response`, durationMs);
      return;
    }
    const eol = indexOfLf(bytes, bytes.length);
    if (eol < 0) {
      if (bytes.length >= STATUS_LINE_LIMIT) this.malformed(bytes, durationMs);
      else this.settle(false, `${what}: malformed HTTP response`, durationMs);
      return;
    }
    if (this.judgeStatusLine(bytes, durationMs)) return;
    const status = statusOf(bytes, eol);
    const end = bytes.indexOf('\r\n\r\n');
    if (end < 0) {
      // Headers never ended: too large at the cap; at the server's close, an empty body.
      if (capped) this.settle(false, `${what}: response headers too large`, durationMs);
      else this.judge(status, '', durationMs);
      return;
    }
    const headerEnd = end + 4;
    let contentLength = contentLengthOf(bytes.toString('latin1', 0, end));
    if (status === 204 || status === 304) contentLength = 0;
    const bodyEnd = contentLength >= 0 ? Math.min(bytes.length, headerEnd + contentLength) : bytes.length;
    this.judge(status, bytes.toString('utf8', headerEnd, bodyEnd), durationMs);
  }

  private malformed(bytes: Buffer, durationMs: number): void {
    const eol = bytes.indexOf(0x0a);
    const line = bytes.toString('latin1', 0, eol < 0 ? Math.min(bytes.length, 60) : Math.min(eol, 60)).replace(/\r$/, '');
    this.settle(false, `${this.p.what}: malformed status line ${JSON.stringify(line)}`, durationMs);
  }

  /** The rules of http.ts judge(): status first, then the receive regex on the body. */
  private judge(status: number, body: string, durationMs: number): void {
    const { check, receive, what } = this.p;
    if (!statusAccepted(status, check)) {
      this.settle(false, `${what}: HTTP ${status} (expected ${check.expectStatus?.join(',') ?? '2xx'})`, durationMs);
      return;
    }
    if (this.p.needBody && receive !== undefined && !receiveMatches(receive, body)) {
      this.settle(false, `${what}: HTTP ${status} but body does not match receive /${receive.source}/`, durationMs);
      return;
    }
    this.settle(true, `${what}: HTTP ${status} in ${durationMs} ms`, durationMs);
  }

  private settle(ok: boolean, detail: string, durationMs: number): void {
    if (this.settled) return;
    this.settled = true;
    this.watchers.delete(this);
    this.resolve({ ok, detail, durationMs });
  }
}

/**
 * What the prober is asked for a prepared check. Cached per Prepared, which lean-http.ts keeps
 * per (target, check) object pair: address and timeout are fixed for it (checked anyway).
 */
const specs = new WeakMap<Prepared, ProbeSpec>();

function specOf(p: Prepared, address: string, timeoutMs: number): ProbeSpec {
  let spec = specs.get(p);
  if (spec === undefined || spec.address !== address || spec.timeoutMs !== timeoutMs) {
    spec = {
      address,
      port: p.port,
      request: p.request,
      stop: p.needBody ? 'http-content-length' : 'line',
      maxBytes: p.needBody ? MAX_BODY_BYTES : STATUS_LINE_LIMIT,
      connectTimeoutMs: timeoutMs,
      timeoutMs,
    };
    specs.set(p, spec);
  }
  return spec;
}

function failure(detail: string): Promise<CheckResult> {
  return Promise.resolve({ ok: false, detail, durationMs: 0 });
}

/**
 * The checker for negotiate service=http on the native prober; every other service (https,
 * http_proxy) goes to `fallback`. Same time budget as lean-http.ts: the whole exchange within
 * negotiatetimeout.
 */
export function createNativeHttpChecker(fallback: Checker, prober: ProbeRunner): Checker {
  return {
    run(target: CheckTarget, check: CheckConfig, signal: AbortSignal): Promise<CheckResult> {
      if (check.service !== 'http') return fallback.run(target, check, signal);
      if (signal.aborted) return failure('aborted');
      const p = prepare(target, check);
      if (typeof p === 'string') return failure(p);
      const timeoutMs = check.negotiateTimeoutMs;
      try {
        return new NativeExchange(prober, p, specOf(p, target.address, timeoutMs), signal, timeoutMs).promise;
      } catch (err) {
        // An address the prober cannot parse, or a closed prober: a failed check, never a throw.
        return failure(`${p.what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
  };
}
