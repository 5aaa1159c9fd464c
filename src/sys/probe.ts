/**
 * Native TCP request/response probes (native/probe.c): the socket work of a health check on a
 * thread of its own (epoll), with results handed back to the JS thread in batches.
 *
 * A probe: connect to address:port (optionally from a source address), send `request`, read the
 * answer until the stop rule is met, the server closes, or `maxBytes` are held, then close with
 * a TCP RST (no TIME_WAIT on either side; see native/probe.c). Connect and total timeouts are
 * enforced on the prober thread, so a hung server never delays another probe. What the bytes
 * mean is the caller's business (src/health/checks/native-http.ts judges HTTP).
 *
 * Two ways to run a probe:
 * - `submit(spec, listener)`: the listener's `probeDone(c)` gets a ProbeCompletion that is
 *   REUSED for every completion and whose `bytes` is a view into a shared buffer, valid only
 *   during the call (like net's `onread`): no allocation per probe beyond the view. For hot paths.
 * - `probe(spec, signal?)`: a Promise of a ProbeResult that owns a copy of its bytes.
 *
 * One Prober per process is enough (`sharedProber()`); it starts its thread when first asked and
 * never keeps the process alive while idle.
 */
import { getSystemErrorName } from 'node:util';
import { DirectorError } from '../core/errors.js';
import { loadAddon, sysError } from './rawnet.js';

/** When the answer holds all the caller needs. */
export type ProbeStopRule =
  /** At the first LF (an HTTP status line, a banner line). */
  | 'line'
  /** At the end of an HTTP header block plus Content-Length bytes of body (no Content-Length, or none yet: until close). */
  | 'http-content-length'
  /** Only the server's close (or the cap) ends it. */
  | 'close';

export interface ProbeSpec {
  readonly address: string;
  readonly port: number;
  /** Bind the probe's socket to this local address first (the port is picked at connect time). */
  readonly source?: string;
  /** Sent in full once connected. */
  readonly request: Buffer;
  /** Reading stops when this many bytes are held (at most MAX_PROBE_BYTES). */
  readonly maxBytes: number;
  readonly stop: ProbeStopRule;
  /** Not connected by then: 'connect-timeout'. Capped at timeoutMs. */
  readonly connectTimeoutMs: number;
  /** The whole probe, from submission. */
  readonly timeoutMs: number;
}

export type ProbeOutcome =
  /** The stop rule was met, the server closed, or the cap was reached: see `end`. */
  | 'ok'
  /** connect() failed: `errno` (ECONNREFUSED, ENETUNREACH...). */
  | 'connect-error'
  | 'connect-timeout'
  /** Connected, but the answer was not complete by timeoutMs; `bytes` holds what came. */
  | 'timeout'
  /** send/recv failed after connecting: `errno` (ECONNRESET...); `bytes` holds what came. */
  | 'error'
  | 'cancelled'
  /** socket() or bind() failed: `errno` (EMFILE, EADDRNOTAVAIL...). */
  | 'setup-error';

export type ProbeEnd = 'stop' | 'eof' | 'cap' | undefined;

const OUTCOMES: readonly ProbeOutcome[] = ['ok', 'connect-error', 'connect-timeout', 'timeout', 'error', 'cancelled', 'setup-error'];
const ENDS: readonly ProbeEnd[] = [undefined, 'stop', 'eof', 'cap'];
const SYSCALLS: readonly (string | undefined)[] = [undefined, 'socket', 'bind', 'connect', 'send', 'recv'];
const STOP_CODES: Record<ProbeStopRule, number> = { line: 0, 'http-content-length': 1, close: 2 };

/** The largest answer a probe may keep. */
export const MAX_PROBE_BYTES = 1024 * 1024;

/** One completion as the listener sees it: reused, and `bytes` is only valid during the call. */
export class ProbeCompletion {
  id = 0;
  outcome: ProbeOutcome = 'ok';
  /** Errno name (ECONNREFUSED, ...) for connect-error, error and setup-error. */
  errno: string | undefined = undefined;
  /** The call that failed: socket, bind, connect, send or recv. */
  syscall: string | undefined = undefined;
  end: ProbeEnd = undefined;
  connected = false;
  /** Time to connect (ms, fractional), -1 if never connected. */
  connectMs = -1;
  /** Time from submission to the end of the probe (ms, fractional; measured on the prober thread). */
  totalMs = 0;
  bytes: Buffer = Buffer.alloc(0);
}

/** A completion that owns its bytes (from `probe()`). */
export interface ProbeResult {
  readonly outcome: ProbeOutcome;
  readonly errno?: string;
  readonly syscall?: string;
  readonly end?: 'stop' | 'eof' | 'cap';
  readonly connected: boolean;
  readonly connectMs: number;
  readonly totalMs: number;
  readonly bytes: Buffer;
}

/** Gets a probe's completion. An object rather than a closure, so hot callers allocate nothing. */
export interface ProbeListener {
  probeDone(completion: ProbeCompletion): void;
}

/** The addon's probe exports (native/probe.c). */
interface ProbeAddon {
  probeOpen(onWake: () => void, meta: Int32Array, bytes: Buffer): unknown;
  probeSubmit(
    handle: unknown,
    id: number,
    address: string,
    port: number,
    request: Buffer,
    maxBytes: number,
    stop: number,
    connectTimeoutMs: number,
    timeoutMs: number,
    source?: string,
  ): void;
  probeFlush(handle: unknown): void;
  probeCancel(handle: unknown, id: number): void;
  probeDrain(handle: unknown): number;
  probeClose(handle: unknown): void;
  readonly probeConstants: Readonly<Record<string, number>>;
}

const META_RECORDS = 1024;
/** Bytes of one drain: at least one whole maximal answer, so every completion fits at some drain. */
const DRAIN_BYTES = 2 * MAX_PROBE_BYTES;

function probeAddon(): ProbeAddon {
  const addon = loadAddon() as unknown as Partial<ProbeAddon>;
  if (typeof addon.probeOpen !== 'function' || addon.probeConstants === undefined) {
    throw new DirectorError('DIR_ERR_SYS_PROBE', { operation: 'load', reason: 'the addon has no probe exports (rebuild it: node scripts/build-addon.mjs)' });
  }
  return addon as ProbeAddon;
}

/** What a probe user needs of a Prober (checkers take this, so unit tests can pass a fake). */
export interface ProbeRunner {
  /** Starts one probe; `listener.probeDone` is called once, later, unless it is cancelled first. */
  submit(spec: ProbeSpec, listener: ProbeListener): number;
  /** Ends a probe early; its listener is not called. */
  cancel(id: number): void;
}

/** Cancelled probes keep their id until their completion comes back; this marks them. */
const CANCELLED: ProbeListener = { probeDone: () => undefined };

/** Runs probes on the native prober thread (see the module comment). */
export class Prober implements ProbeRunner {
  private readonly addon: ProbeAddon;
  private handle: unknown;
  private readonly meta = new Int32Array(META_RECORDS * 8);
  private readonly bytes = Buffer.alloc(DRAIN_BYTES);
  private readonly listeners: (ProbeListener | undefined)[] = [];
  private readonly freeIds: number[] = [];
  private readonly completion = new ProbeCompletion();
  private inFlightCount = 0;
  private closed = false;
  private flushScheduled = false;
  private readonly flushNow = (): void => {
    this.flushScheduled = false;
    if (!this.closed) this.addon.probeFlush(this.handle);
  };

  constructor(addon: ProbeAddon = probeAddon()) {
    this.addon = addon;
  }

  /** Probes submitted whose completion has not been delivered yet (cancelled ones included). */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /** Starts one probe; returns its id (for cancel). Throws DirectorError on invalid input. */
  submit(spec: ProbeSpec, listener: ProbeListener): number {
    if (this.closed) throw new DirectorError('DIR_ERR_SYS_PROBE', { operation: 'submit', reason: 'the prober is closed' });
    if (this.handle === undefined) this.open();
    const id = this.freeIds.length > 0 ? (this.freeIds.pop() as number) : this.listeners.length;
    const maxBytes = Math.max(1, Math.min(MAX_PROBE_BYTES, Math.floor(spec.maxBytes)));
    const connectMs = Math.max(1, Math.ceil(spec.connectTimeoutMs));
    const totalMs = Math.max(1, Math.ceil(spec.timeoutMs));
    try {
      this.addon.probeSubmit(this.handle, id, spec.address, spec.port, spec.request, maxBytes, STOP_CODES[spec.stop], connectMs, totalMs, spec.source);
    } catch (cause) {
      if (id === this.listeners.length) this.listeners.push(undefined);
      this.freeIds.push(id);
      const code = (cause as { code?: string }).code;
      if (code === 'ERR_INVALID_ARG_TYPE' || code === 'EINVAL' || code === 'EAFNOSUPPORT') {
        throw new DirectorError('DIR_ERR_SYS_PROBE', { operation: 'submit', reason: `${(cause as Error).message} (${spec.address}:${spec.port}${spec.source !== undefined ? ` from ${spec.source}` : ''})` }, { cause });
      }
      throw sysError(cause, 'probe');
    }
    this.listeners[id] = listener;
    this.inFlightCount++;
    // The probes submitted in one event-loop turn (one timer phase of the monitor) reach the
    // thread together: one lock and at most one wake-up for all of them.
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushNow);
    }
    return id;
  }

  /** Ends a probe early; its listener is not called (the caller has settled already). */
  cancel(id: number): void {
    if (this.closed || this.listeners[id] === undefined || this.listeners[id] === CANCELLED) return;
    this.listeners[id] = CANCELLED;
    this.addon.probeCancel(this.handle, id);
  }

  /** One probe as a Promise; the signal cancels it (the result is then outcome 'cancelled'). */
  probe(spec: ProbeSpec, signal?: AbortSignal): Promise<ProbeResult> {
    return new Promise<ProbeResult>((resolve, reject) => {
      if (signal?.aborted) {
        resolve({ outcome: 'cancelled', connected: false, connectMs: -1, totalMs: 0, bytes: Buffer.alloc(0) });
        return;
      }
      let id = -1;
      const onAbort = (): void => {
        this.cancel(id);
        resolve({ outcome: 'cancelled', connected: false, connectMs: -1, totalMs: 0, bytes: Buffer.alloc(0) });
      };
      const listener: ProbeListener = {
        probeDone: (c) => {
          signal?.removeEventListener('abort', onAbort);
          resolve({
            outcome: c.outcome,
            ...(c.errno !== undefined ? { errno: c.errno } : {}),
            ...(c.syscall !== undefined ? { syscall: c.syscall } : {}),
            ...(c.end !== undefined ? { end: c.end } : {}),
            connected: c.connected,
            connectMs: c.connectMs,
            totalMs: c.totalMs,
            bytes: Buffer.from(c.bytes),
          });
        },
      };
      try {
        id = this.submit(spec, listener);
      } catch (err) {
        reject(err);
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Stops the thread; probes in flight are dropped and their listeners never called. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.handle !== undefined) this.addon.probeClose(this.handle);
    this.handle = undefined;
    this.listeners.length = 0;
    this.freeIds.length = 0;
    this.inFlightCount = 0;
  }

  private open(): void {
    try {
      this.handle = this.addon.probeOpen(() => this.drain(), this.meta, this.bytes);
    } catch (cause) {
      throw sysError(cause, 'probe open');
    }
  }

  /** Called once per batch of completions (the native wake-up). */
  private drain(): void {
    const meta = this.meta;
    const c = this.completion;
    for (;;) {
      if (this.closed) return;
      const n = this.addon.probeDrain(this.handle);
      if (n === 0) return;
      for (let i = 0; i < n; i++) {
        const m = i * 8;
        const id = meta[m] as number;
        const outcome = meta[m + 1] as number;
        const err = meta[m + 2] as number;
        const offset = meta[m + 3] as number;
        const length = meta[m + 4] as number;
        const flags = meta[m + 5] as number;
        const listener = this.listeners[id];
        this.listeners[id] = undefined;
        this.freeIds.push(id);
        this.inFlightCount--;
        if (listener === undefined || listener === CANCELLED || this.closed) continue;
        c.id = id;
        c.outcome = OUTCOMES[outcome] ?? 'error';
        c.errno = err !== 0 ? errnoName(err) : undefined;
        c.syscall = SYSCALLS[(flags >> 8) & 0xf];
        c.end = ENDS[flags & 3];
        c.connected = (flags & 16) !== 0;
        const connectUs = meta[m + 6] as number;
        c.connectMs = connectUs < 0 ? -1 : connectUs / 1000;
        c.totalMs = (meta[m + 7] as number) / 1000;
        c.bytes = this.bytes.subarray(offset, offset + length);
        try {
          listener.probeDone(c);
        } catch (err) {
          // A listener must not throw; one that does must not lose the other completions.
          queueMicrotask(() => {
            throw err;
          });
        }
      }
    }
  }
}

/** Errno names from libuv's table (util.getSystemErrorName takes the negative number). */
const errnoNames = new Map<number, string>();
function errnoName(errno: number): string {
  let name = errnoNames.get(errno);
  if (name === undefined) {
    try {
      name = getSystemErrorName(-errno);
    } catch {
      name = `errno ${errno}`;
    }
    errnoNames.set(errno, name);
  }
  return name;
}

let shared: Prober | undefined;
let sharedFailed = false;

/** The process-wide prober, or undefined when the addon cannot be loaded (callers fall back). */
export function sharedProber(): Prober | undefined {
  if (shared !== undefined || sharedFailed) return shared;
  try {
    shared = new Prober();
  } catch {
    sharedFailed = true;
  }
  return shared;
}

/** Is the native prober usable in this process? */
export function proberAvailable(): boolean {
  return sharedProber() !== undefined;
}
