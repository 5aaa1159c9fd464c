/**
 * The control protocol: newline-delimited JSON frames over the unix socket.
 *
 *   request   {"v":1,"id":7,"method":"setWeight","params":{"selector":{"realKey":"192.0.2.10:80"},"weight":5}}
 *   result    {"v":1,"id":7,"result":{...}}
 *   error     {"v":1,"id":7,"error":{"code":"DIR_ERR_...","message":"...","hint":"..."}}
 *   progress  {"v":1,"id":7,"progress":{...}}      (zero or more, before the final result/error)
 *
 * A connection may carry several requests at once (ids tell the replies apart). The first frame a
 * client sends is normally `hello` with its uid/pid/user for the audit log. A frame that cannot
 * be read as JSON gets an error frame with `"id":null` and the connection stays open; a frame
 * longer than the limit gets an error frame and the connection is closed (the rest of the line
 * cannot be resynchronised cheaply). A frame with another `v` gets DIR_ERR_CONTROL_PROTOCOL_VERSION.
 *
 * Versioning rule: fields may be added to results within a version; removing or changing the
 * meaning of one, or changing a method's params, needs a new `v`.
 */
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

/** The protocol version this build speaks. */
export const PROTOCOL_VERSION = 1;

/** Largest request frame the server accepts (bytes, excluding the newline). */
export const MAX_REQUEST_FRAME_BYTES = 1024 * 1024;

/** Largest response frame the client accepts (a status of thousands of reals is a few MB). */
export const MAX_RESPONSE_FRAME_BYTES = 64 * 1024 * 1024;

/** Default control socket path (the config's default, src/config/defaults.ts DEFAULT_CONTROL_SOCKET). */
export const DEFAULT_SOCKET_PATH = '/run/directord/directord.sock';

/** What a client says about itself in its `hello` (not kernel-verified; see ControlPeer). */
export interface HelloParams {
  readonly uid?: number;
  readonly pid?: number;
  readonly user?: string;
  /** Client software, e.g. "directorctl 0.1.0". */
  readonly client?: string;
}

/** Result of `hello`. */
export interface HelloResult {
  readonly protocol: number;
  readonly server: string;
}

/** Params and result of every method, by name. */
export interface MethodMap {
  hello: { params: HelloParams; result: HelloResult };
  ping: { params: Record<string, never>; result: { readonly pong: true } };
  status: { params: Record<string, never>; result: DirectorStatus };
  engineStats: { params: Record<string, never>; result: EngineStats };
  connections: { params: Record<string, never>; result: readonly ConnectionEntry[] };
  timeouts: { params: Record<string, never>; result: ConnectionTimeouts };
  version: { params: Record<string, never>; result: VersionInfo };
  reload: { params: Record<string, never>; result: ReloadResult };
  enable: { params: { readonly selector: RealSelector }; result: ChangeResult };
  disable: { params: { readonly selector: RealSelector }; result: ChangeResult };
  setWeight: { params: { readonly selector: RealSelector; readonly weight: number }; result: ChangeResult };
  drain: { params: { readonly selector: RealSelector; readonly options: DrainOptions }; result: DrainResult; progress: DrainProgress };
  checkNow: { params: { readonly selector: RealSelector }; result: readonly CheckNowResult[] };
  failover: { params: { readonly instance?: string }; result: FailoverResult };
  ipvsadm: { params: { readonly commands: readonly IpvsCommand[] }; result: IpvsBatchResult };
  l7Rules: { params: Record<string, never>; result: readonly L7ServiceRules[] };
}

export type MethodName = keyof MethodMap;
export type ParamsOf<M extends MethodName> = MethodMap[M]['params'];
export type ResultOf<M extends MethodName> = MethodMap[M]['result'];
export type ProgressOf<M extends MethodName> = MethodMap[M] extends { progress: infer P } ? P : never;

export const METHOD_NAMES: readonly MethodName[] = [
  'hello', 'ping', 'status', 'engineStats', 'connections', 'timeouts', 'version',
  'reload', 'enable', 'disable', 'setWeight', 'drain', 'checkNow', 'failover', 'ipvsadm', 'l7Rules',
];

export function isMethodName(name: string): name is MethodName {
  return (METHOD_NAMES as readonly string[]).includes(name);
}

/** A request frame. */
export interface RequestFrame {
  readonly v: number;
  readonly id: number;
  readonly method: string;
  readonly params?: unknown;
}

/** The error object inside an error frame. */
export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
  /** Extra structured detail (e.g. a ConfigError's file/line/column). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** A frame from the server. Exactly one of result / error / progress is present. */
export type ResponseFrame =
  | { readonly v: number; readonly id: number | null; readonly result: unknown }
  | { readonly v: number; readonly id: number | null; readonly error: WireError }
  | { readonly v: number; readonly id: number; readonly progress: unknown };

/** Serialises a frame (one line, newline-terminated). */
export function encodeFrame(frame: RequestFrame | ResponseFrame): string {
  return `${JSON.stringify(frame)}\n`;
}

/** What `LineSplitter.push` found. */
export type SplitEvent = { readonly kind: 'line'; readonly line: string } | { readonly kind: 'oversize'; readonly bytes: number };

/**
 * Splits a byte stream into newline-terminated lines with a size bound. Once a line grows past
 * the limit, `oversize` is reported once and the splitter refuses further input (the caller closes
 * the connection): buffering the rest to find its end would defeat the bound.
 */
export class LineSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private broken = false;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): SplitEvent[] {
    if (this.broken) return [];
    const events: SplitEvent[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      if (this.buffered + piece.length > this.maxBytes) {
        this.broken = true;
        events.push({ kind: 'oversize', bytes: this.buffered + piece.length });
        this.chunks = [];
        return events;
      }
      const line = this.buffered === 0 ? piece.toString('utf8') : Buffer.concat([...this.chunks, piece]).toString('utf8');
      this.chunks = [];
      this.buffered = 0;
      // Tolerate CRLF from hand-typed sessions (socat, nc).
      const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (trimmed.trim() !== '') events.push({ kind: 'line', line: trimmed });
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (rest.length > 0) {
      if (this.buffered + rest.length > this.maxBytes) {
        this.broken = true;
        events.push({ kind: 'oversize', bytes: this.buffered + rest.length });
        this.chunks = [];
        return events;
      }
      this.chunks.push(Buffer.from(rest));
      this.buffered += rest.length;
    }
    return events;
  }
}

/** Is this a plain JSON object (not null, not an array)? */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reasons a line is not a usable request. */
export type RequestParse =
  | { readonly ok: true; readonly frame: RequestFrame }
  | { readonly ok: false; readonly id: number | null; readonly code: 'malformed' | 'version'; readonly reason: string; readonly version?: unknown };

/** Parses one request line. */
export function parseRequest(line: string): RequestParse {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { ok: false, id: null, code: 'malformed', reason: `not JSON (${(error as Error).message})` };
  }
  if (!isPlainObject(value)) return { ok: false, id: null, code: 'malformed', reason: 'a frame must be a JSON object' };
  const id = typeof value.id === 'number' && Number.isSafeInteger(value.id) ? value.id : null;
  if (value.v !== PROTOCOL_VERSION) {
    return { ok: false, id, code: 'version', reason: `version ${JSON.stringify(value.v)}`, version: value.v };
  }
  if (id === null) return { ok: false, id: null, code: 'malformed', reason: '"id" must be an integer' };
  if (typeof value.method !== 'string') return { ok: false, id, code: 'malformed', reason: '"method" must be a string' };
  if (value.params !== undefined && !isPlainObject(value.params)) {
    return { ok: false, id, code: 'malformed', reason: '"params" must be an object' };
  }
  return { ok: true, frame: { v: value.v, id, method: value.method, params: value.params } };
}

/** Parses one response line (client side). Throws a plain Error with the reason when unusable. */
export function parseResponse(line: string): ResponseFrame {
  const value: unknown = JSON.parse(line);
  if (!isPlainObject(value)) throw new Error('response frame is not a JSON object');
  if (value.v !== PROTOCOL_VERSION) throw new Error(`response frame has version ${JSON.stringify(value.v)}`);
  const id = value.id === null ? null : typeof value.id === 'number' ? value.id : undefined;
  if (id === undefined) throw new Error('response frame has no id');
  if ('error' in value) {
    const err = value.error;
    if (!isPlainObject(err) || typeof err.code !== 'string' || typeof err.message !== 'string') {
      throw new Error('response error frame is malformed');
    }
    return {
      v: PROTOCOL_VERSION,
      id,
      error: {
        code: err.code,
        message: err.message,
        ...(typeof err.hint === 'string' ? { hint: err.hint } : {}),
        ...(isPlainObject(err.details) ? { details: err.details } : {}),
      },
    };
  }
  if ('progress' in value) {
    if (id === null) throw new Error('progress frame without id');
    return { v: PROTOCOL_VERSION, id, progress: value.progress };
  }
  if ('result' in value) return { v: PROTOCOL_VERSION, id, result: value.result };
  throw new Error('response frame has neither result, error nor progress');
}
