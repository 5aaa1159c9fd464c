/**
 * The control client: connects to the daemon's unix socket and makes typed calls.
 *
 * Connection failures are mapped to the errors an operator can act on: no socket or nobody
 * listening → DIR_ERR_CONTROL_DAEMON_UNAVAILABLE (exit 69), EACCES → DIR_ERR_CONTROL_PERMISSION_DENIED
 * (exit 77). Error frames from the server become DirectorErrors with the server's code when this
 * build knows it (RemoteError otherwise), so `directorctl` exits with the code's status.
 */
import { createConnection } from 'node:net';
import type { Socket } from 'node:net';
import { userInfo } from 'node:os';
import { DirectorError, isErrorCode } from '../core/errors.js';
import type { ErrorCode } from '../core/errors.js';
import { EXIT } from '../core/exit-status.js';
import type {
  ChangeResult,
  CheckNowResult,
  ConnectionTimeouts,
  DrainOptions,
  DrainProgress,
  DrainResult,
  FailoverResult,
  IpvsBatchResult,
  IpvsCommand,
  L7ServiceRules,
  RealSelector,
  ReloadResult,
  VersionInfo,
} from './api.js';
import type { DirectorStatus } from '../director/status.js';
import type { ConnectionEntry, EngineStats } from '../engine/model.js';
import type { HelloResult, MethodName, ParamsOf, ResultOf, WireError } from './protocol.js';
import { LineSplitter, MAX_RESPONSE_FRAME_BYTES, PROTOCOL_VERSION, encodeFrame, parseResponse } from './protocol.js';

/** Default inactivity limit per call (a drain resets it with every progress frame). */
export const DEFAULT_CALL_TIMEOUT_MS = 10_000;

/** An error frame whose code this build does not know (a newer daemon). */
export class RemoteError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitStatus: number = EXIT.FAILURE;

  constructor(wire: WireError) {
    super(wire.message);
    this.name = 'RemoteError';
    this.code = wire.code;
    this.hint = wire.hint;
  }
}

/** Rebuilds a server error as a local error carrying the same code, message and hint. */
export function fromWireError(wire: WireError): Error {
  if (!isErrorCode(wire.code)) return new RemoteError(wire);
  const error = new DirectorError(wire.code as ErrorCode, {}, wire.hint === undefined ? {} : { hint: wire.hint });
  // The server rendered the message with its params; keep its text rather than the bare template.
  Object.defineProperty(error, 'message', { value: wire.message, enumerable: false, writable: true, configurable: true });
  if (wire.details) Object.defineProperty(error, 'details', { value: wire.details, enumerable: true });
  return error;
}

export interface CallOptions<P> {
  /** Inactivity limit: no frame for this long → DIR_ERR_CONTROL_TIMEOUT (default 10 s). */
  readonly timeoutMs?: number;
  /** Called for each progress frame (drain). */
  readonly onProgress?: (progress: P) => void;
}

export interface ConnectOptions {
  /** Limit for connecting and for the hello exchange (default 5 s). */
  readonly timeoutMs?: number;
  /** Send hello with uid/pid/user first (default true). */
  readonly hello?: boolean;
  /** Client name sent in hello. */
  readonly client?: string;
}

interface PendingCall {
  readonly method: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly onProgress: ((progress: unknown) => void) | undefined;
  readonly timeoutMs: number;
  timer: NodeJS.Timeout;
}

/** A connection to the control socket. */
export class ControlClient {
  private nextId = 1;
  private readonly pending = new Map<number, PendingCall>();
  private readonly splitter = new LineSplitter(MAX_RESPONSE_FRAME_BYTES);
  private closedError: Error | undefined;

  constructor(
    private readonly socket: Socket,
    readonly socketPath: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.failAll(error));
    socket.on('close', () => this.failAll(undefined));
  }

  private onData(chunk: Buffer): void {
    for (const event of this.splitter.push(chunk)) {
      if (event.kind === 'oversize') {
        this.failAll(new DirectorError('DIR_ERR_CONTROL_BAD_RESPONSE', { reason: `a reply frame exceeds ${MAX_RESPONSE_FRAME_BYTES} bytes` }));
        this.socket.destroy();
        return;
      }
      let frame;
      try {
        frame = parseResponse(event.line);
      } catch (error) {
        this.failAll(new DirectorError('DIR_ERR_CONTROL_BAD_RESPONSE', { reason: (error as Error).message }));
        this.socket.destroy();
        return;
      }
      if (frame.id === null) {
        // A connection-level error (malformed frame, oversize): every pending call fails with it.
        if ('error' in frame) this.failAll(fromWireError(frame.error));
        continue;
      }
      const call = this.pending.get(frame.id);
      if (!call) continue;
      if ('progress' in frame) {
        call.timer.refresh();
        call.onProgress?.(frame.progress);
        continue;
      }
      clearTimeout(call.timer);
      this.pending.delete(frame.id);
      if ('error' in frame) call.reject(fromWireError(frame.error));
      else call.resolve(frame.result);
    }
  }

  private failAll(error: Error | undefined): void {
    for (const [id, call] of this.pending) {
      clearTimeout(call.timer);
      this.pending.delete(id);
      call.reject(error && isDirectorErrorLike(error) ? error : new DirectorError('DIR_ERR_CONTROL_CONNECTION_CLOSED', { method: call.method }, error ? { cause: error } : {}));
    }
    if (!this.closedError) this.closedError = error ?? new DirectorError('DIR_ERR_CONTROL_CONNECTION_CLOSED', { method: 'any' });
  }

  /** Makes one call. */
  call<M extends MethodName>(method: M, params: ParamsOf<M>, options: CallOptions<unknown> = {}): Promise<ResultOf<M>> {
    return this.rawCall(method, params, options) as Promise<ResultOf<M>>;
  }

  /** Sends any method name and params (tests use it for unknown methods). */
  rawCall(method: string, params: unknown, options: CallOptions<unknown> = {}): Promise<unknown> {
    if (this.socket.destroyed || this.closedError) {
      return Promise.reject(new DirectorError('DIR_ERR_CONTROL_CONNECTION_CLOSED', { method }));
    }
    const id = this.nextId++;
    const timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new DirectorError('DIR_ERR_CONTROL_TIMEOUT', { method, timeoutMs }));
      }, timeoutMs);
      this.pending.set(id, { method, resolve, reject, onProgress: options.onProgress, timeoutMs, timer });
      this.socket.write(encodeFrame({ v: PROTOCOL_VERSION, id, method, params: params ?? {} }));
    });
  }

  async hello(client = 'directorctl'): Promise<HelloResult> {
    return this.rawCall('hello', helloParams(client)) as Promise<HelloResult>;
  }

  status(options?: { readonly timeoutMs?: number }): Promise<DirectorStatus> {
    return this.call('status', {}, options);
  }
  engineStats(options?: { readonly timeoutMs?: number }): Promise<EngineStats> {
    return this.call('engineStats', {}, options);
  }
  connections(options?: { readonly timeoutMs?: number }): Promise<readonly ConnectionEntry[]> {
    return this.call('connections', {}, options);
  }
  timeouts(options?: { readonly timeoutMs?: number }): Promise<ConnectionTimeouts> {
    return this.call('timeouts', {}, options);
  }
  version(options?: { readonly timeoutMs?: number }): Promise<VersionInfo> {
    return this.call('version', {}, options);
  }
  l7Rules(options?: { readonly timeoutMs?: number }): Promise<readonly L7ServiceRules[]> {
    return this.call('l7Rules', {}, options);
  }
  reload(options?: { readonly timeoutMs?: number }): Promise<ReloadResult> {
    return this.call('reload', {}, { timeoutMs: 120_000, ...options });
  }
  enable(selector: RealSelector, options?: { readonly timeoutMs?: number }): Promise<ChangeResult> {
    return this.call('enable', { selector }, options);
  }
  disable(selector: RealSelector, options?: { readonly timeoutMs?: number }): Promise<ChangeResult> {
    return this.call('disable', { selector }, options);
  }
  setWeight(selector: RealSelector, weight: number, options?: { readonly timeoutMs?: number }): Promise<ChangeResult> {
    return this.call('setWeight', { selector, weight }, options);
  }
  drain(selector: RealSelector, drainOptions: DrainOptions, options: CallOptions<DrainProgress> = {}): Promise<DrainResult> {
    return this.call('drain', { selector, options: drainOptions }, options as CallOptions<unknown>);
  }
  checkNow(selector: RealSelector, options?: { readonly timeoutMs?: number }): Promise<readonly CheckNowResult[]> {
    return this.call('checkNow', { selector }, { timeoutMs: 120_000, ...options });
  }
  failover(instance?: string, options?: { readonly timeoutMs?: number }): Promise<FailoverResult> {
    return this.call('failover', instance === undefined ? {} : { instance }, options);
  }
  ipvsadm(commands: readonly IpvsCommand[], options?: { readonly timeoutMs?: number }): Promise<IpvsBatchResult> {
    return this.call('ipvsadm', { commands }, { timeoutMs: 60_000, ...options });
  }

  /** Ends the connection (pending calls fail with CONNECTION_CLOSED). */
  close(): void {
    this.socket.end();
    this.socket.destroy();
  }
}

function isDirectorErrorLike(error: Error): boolean {
  return error instanceof DirectorError || error instanceof RemoteError;
}

/** Maps a connect() failure to the operator-facing error. */
export function connectError(socketPath: string, error: NodeJS.ErrnoException): DirectorError {
  switch (error.code) {
    case 'EACCES':
    case 'EPERM':
      return new DirectorError('DIR_ERR_CONTROL_PERMISSION_DENIED', { socket: socketPath }, { cause: error });
    case 'ENOENT':
      return new DirectorError('DIR_ERR_CONTROL_DAEMON_UNAVAILABLE', { socket: socketPath, reason: 'the socket does not exist (directord is not running?)' }, { cause: error });
    case 'ECONNREFUSED':
      return new DirectorError('DIR_ERR_CONTROL_DAEMON_UNAVAILABLE', { socket: socketPath, reason: 'nobody is listening (stale socket; directord is not running?)' }, { cause: error });
    default:
      return new DirectorError('DIR_ERR_CONTROL_DAEMON_UNAVAILABLE', { socket: socketPath, reason: `${error.code ?? 'error'}: ${error.message}` }, { cause: error });
  }
}

/** Connects to the control socket and (by default) introduces itself with hello. */
export async function connectControl(socketPath: string, options: ConnectOptions = {}): Promise<ControlClient> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = createConnection(socketPath);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new DirectorError('DIR_ERR_CONTROL_DAEMON_UNAVAILABLE', { socket: socketPath, reason: `connect timed out after ${timeoutMs} ms` }));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(connectError(socketPath, error));
    });
  });
  const client = new ControlClient(socket, socketPath);
  if (options.hello !== false) {
    try {
      await client.rawCall('hello', helloParams(options.client), { timeoutMs });
    } catch (error) {
      client.close();
      throw error;
    }
  }
  return client;
}

function helloParams(client = 'directorctl'): Record<string, unknown> {
  let user: string | undefined;
  try {
    user = userInfo().username;
  } catch {
    user = undefined;
  }
  const uid = process.getuid?.();
  return { pid: process.pid, client, ...(uid !== undefined ? { uid } : {}), ...(user !== undefined ? { user } : {}) };
}
