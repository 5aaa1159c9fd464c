/**
 * The control server: serves a ControlApi on a root-only unix socket with the protocol of
 * ./protocol.ts.
 *
 * Access control is the file system's: the socket is bound under a temporary name, chmod-ed to
 * 0600 (0660 with `access.gid`) and chown-ed, and only then renamed into place, so there is no
 * window in which it is reachable with the umask's mode; a directory we create for it gets 0700
 * (0750 with a group). connect(2) on a unix socket needs write permission on the file, so anyone
 * else gets EACCES. Node cannot read SO_PEERCRED, so for the audit log the peer's pid and uid are
 * asked of the kernel through sock_diag (./peer.ts); failing that, the client's declared identity
 * is used and marked as such. `access.allowedUids` refuses admin requests from other uids.
 *
 * A bad frame never takes the daemon down: malformed JSON gets an error frame and the connection
 * carries on; an oversize frame gets an error frame and the connection is closed; an exception in
 * the API becomes DIR_ERR_CONTROL_INTERNAL for that request only.
 */
import { chmod, chown, lstat, mkdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { DirectorError, isDirectorError, ConfigError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { AdminMethod, AuditHook, ControlApi, ControlCallContext, ControlPeer } from './api.js';
import { ADMIN_METHODS } from './api.js';
import { kernelPeerOf } from './peer.js';
import type { KernelPeer } from './peer.js';
import type { HelloParams, ResponseFrame, WireError } from './protocol.js';
import { LineSplitter, MAX_REQUEST_FRAME_BYTES, PROTOCOL_VERSION, encodeFrame, isMethodName, parseRequest } from './protocol.js';
import {
  validateDrainOptions,
  validateHello,
  validateIpvsCommands,
  validateSelector,
  validateWeight,
} from './validate.js';

export interface ControlServerAccess {
  /** Owner of the socket file (default 0, root). */
  readonly uid?: number;
  /** Group of the socket file; when set the mode is 0660 so members of the group may connect. */
  readonly gid?: number;
  /** Declared uids accepted in hello (default: any; the file mode is the real gate). */
  readonly allowedUids?: readonly number[];
}

export interface ControlServerOptions {
  readonly socketPath: string;
  readonly api: ControlApi;
  readonly logger: Logger;
  /** Called before every admin request; a throw refuses it. */
  readonly audit?: AuditHook;
  readonly access?: ControlServerAccess;
  /** Request frame limit (default MAX_REQUEST_FRAME_BYTES). */
  readonly maxFrameBytes?: number;
  /** Concurrent connections (default 64); more are closed at once. */
  readonly maxConnections?: number;
  /** Idle connections (nothing in flight) are closed after this long (default 5 min). */
  readonly idleTimeoutMs?: number;
  /** Ask the kernel who connected (sock_diag via `ss`, ./peer.ts) for the audit log (default true). */
  readonly verifyPeer?: boolean;
  /** Server software string returned by hello. */
  readonly serverName?: string;
  /** Wall clock for audit timestamps (default Date.now). */
  readonly wallNow?: () => number;
  /** close() waits this long for running requests before cutting connections (default 5 s). */
  readonly closeTimeoutMs?: number;
}

export interface ControlServer {
  /** Binds the socket. Rejects with DIR_ERR_CONTROL_SOCKET_IN_USE / _SOCKET_SETUP. */
  start(): Promise<void>;
  /** Stops accepting, cancels streaming requests, waits for in-flight ones, removes the socket. Idempotent. */
  close(): Promise<void>;
  /** Drops every connection now and removes the socket. */
  destroy(): void;
  readonly socketPath: string;
  /** Open connections (for tests and status). */
  connectionCount(): number;
}

interface Connection {
  readonly socket: Socket;
  peer: ControlPeer;
  /** The kernel's answer about the peer, looked up once. */
  kernel?: Promise<KernelPeer | undefined>;
  /** Identity settled (hello handled or kernel consulted) and allowed. */
  resolved: boolean;
  /** What the client declared in its last hello. */
  hello: HelloParams;
  readonly inflight: Map<number, AbortController>;
  readonly splitter: LineSplitter;
}

const ADMIN_SET: ReadonlySet<string> = new Set(ADMIN_METHODS);

/** Is a unix socket at `path` answering? */
function probeSocket(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Reads the real uid of a process from /proc/<pid>/status (Linux). */
async function uidOfPid(pid: number): Promise<number | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^Uid:\s+(\d+)/m.exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Converts anything thrown by the API into the wire error. */
export function toWireError(error: unknown, method: string, logger: Logger): WireError {
  if (isDirectorError(error)) {
    const details = error instanceof ConfigError ? { file: error.location.file, line: error.location.line, column: error.location.column } : undefined;
    return { code: error.code, message: error.message, hint: error.hint, ...(details ? { details } : {}) };
  }
  const reason = error instanceof Error ? error.message : String(error);
  logger.error('control request failed with an unexpected error', { method, error: reason, stack: error instanceof Error ? error.stack : undefined });
  const wrapped = new DirectorError('DIR_ERR_CONTROL_INTERNAL', { method, reason });
  return { code: wrapped.code, message: wrapped.message, hint: wrapped.hint };
}

export function createControlServer(options: ControlServerOptions): ControlServer {
  const { socketPath, api, audit } = options;
  const logger = options.logger.child({ module: 'control' });
  const maxFrameBytes = options.maxFrameBytes ?? MAX_REQUEST_FRAME_BYTES;
  const maxConnections = options.maxConnections ?? 64;
  const idleTimeoutMs = options.idleTimeoutMs ?? 300_000;
  const wallNow = options.wallNow ?? Date.now;
  const access = options.access ?? {};
  const closeTimeoutMs = options.closeTimeoutMs ?? 5000;
  const connections = new Set<Connection>();
  const pending = new Set<Promise<void>>();
  let server: Server | undefined;
  let closing = false;
  let closed = false;
  let boundIno: number | undefined;
  let connectionSeq = 0;

  function send(conn: Connection, frame: ResponseFrame): void {
    if (conn.socket.destroyed || !conn.socket.writable) return;
    conn.socket.write(encodeFrame(frame));
  }

  function sendError(conn: Connection, id: number | null, error: DirectorError | WireError): void {
    const wire: WireError = error instanceof DirectorError ? { code: error.code, message: error.message, hint: error.hint } : error;
    send(conn, { v: PROTOCOL_VERSION, id, error: wire });
  }

  function kernelPeer(conn: Connection): Promise<KernelPeer | undefined> {
    if (options.verifyPeer === false) return Promise.resolve(undefined);
    conn.kernel ??= kernelPeerOf(conn.socket).catch(() => undefined);
    return conn.kernel;
  }

  /** Settles who is connected: the kernel's answer if there is one, else what the client declared. */
  async function identify(conn: Connection, hello: HelloParams): Promise<void> {
    const kernel = await kernelPeer(conn);
    const base = { transport: 'unix' as const, connection: conn.peer.connection };
    if (kernel) {
      if (hello.uid !== undefined && hello.uid !== kernel.uid) {
        logger.warn('control client declared another uid than the kernel reports', { declared: hello.uid, kernel: kernel.uid, pid: kernel.pid });
      }
      conn.peer = {
        ...base,
        uid: kernel.uid,
        pid: kernel.pid,
        command: kernel.command,
        pidVerified: true,
        credentials: 'kernel',
        ...(hello.user !== undefined && hello.uid === kernel.uid ? { user: hello.user } : {}),
      };
    } else {
      let pidVerified = false;
      if (hello.pid !== undefined && hello.uid !== undefined) pidVerified = (await uidOfPid(hello.pid)) === hello.uid;
      conn.peer = {
        ...base,
        pidVerified,
        credentials: 'declared',
        ...(hello.uid !== undefined ? { uid: hello.uid } : {}),
        ...(hello.pid !== undefined ? { pid: hello.pid } : {}),
        ...(hello.user !== undefined ? { user: hello.user } : {}),
      };
    }
    const uid = conn.peer.uid;
    if (access.allowedUids && uid !== undefined && uid !== 0 && !access.allowedUids.includes(uid)) {
      // Left unresolved, so every later admin request is checked (and refused) again.
      throw new DirectorError('DIR_ERR_CONTROL_NOT_ALLOWED', { uid });
    }
    conn.resolved = true;
  }

  async function dispatch(conn: Connection, id: number, method: string, params: unknown, signal: AbortSignal): Promise<unknown> {
    if (!isMethodName(method)) throw new DirectorError('DIR_ERR_CONTROL_UNKNOWN_METHOD', { method });
    if (closing) throw new DirectorError('DIR_ERR_CONTROL_SHUTTING_DOWN', { method });
    const p = (params ?? {}) as Record<string, unknown>;
    if (method === 'hello') {
      const hello = validateHello(params);
      conn.hello = hello;
      await identify(conn, hello);
      logger.debug('control client hello', { ...conn.peer, client: hello.client });
      return { protocol: PROTOCOL_VERSION, server: options.serverName ?? 'directord' };
    }
    if (ADMIN_SET.has(method) && !conn.resolved) await identify(conn, conn.hello);
    const ctx: ControlCallContext = { peer: conn.peer, signal };
    // Validate first, then audit what will actually run, then run it.
    let run: () => Promise<unknown> | unknown;
    let audited: unknown = p;
    switch (method) {
      case 'ping':
        return { pong: true };
      case 'status':
        return api.status();
      case 'engineStats':
        return api.engineStats();
      case 'connections':
        return api.connections();
      case 'timeouts':
        return api.timeouts();
      case 'version':
        return api.version();
      case 'l7Rules':
        return api.l7Rules ? api.l7Rules() : [];
      case 'reload':
        audited = {};
        run = () => api.reload(ctx);
        break;
      case 'enable': {
        const selector = validateSelector(method, p.selector);
        audited = { selector };
        run = () => api.enable(selector, ctx);
        break;
      }
      case 'disable': {
        const selector = validateSelector(method, p.selector);
        audited = { selector };
        run = () => api.disable(selector, ctx);
        break;
      }
      case 'setWeight': {
        const selector = validateSelector(method, p.selector);
        const weight = validateWeight(method, p.weight);
        audited = { selector, weight };
        run = () => api.setWeight(selector, weight, ctx);
        break;
      }
      case 'drain': {
        const selector = validateSelector(method, p.selector);
        const drainOptions = validateDrainOptions(method, p.options);
        audited = { selector, options: drainOptions };
        run = () =>
          api.drain(
            selector,
            drainOptions,
            (progress) => {
              if (!signal.aborted) send(conn, { v: PROTOCOL_VERSION, id, progress });
            },
            ctx,
          );
        break;
      }
      case 'checkNow': {
        const selector = validateSelector(method, p.selector);
        audited = { selector };
        run = () => api.checkNow(selector, ctx);
        break;
      }
      case 'failover': {
        if (p.instance !== undefined && (typeof p.instance !== 'string' || p.instance === '')) {
          throw new DirectorError('DIR_ERR_CONTROL_INVALID_PARAMS', { method, reason: 'instance must be a non-empty string' });
        }
        const instance = p.instance as string | undefined;
        audited = instance === undefined ? {} : { instance };
        run = () => api.failover(instance, ctx);
        break;
      }
      case 'ipvsadm': {
        const commands = validateIpvsCommands(method, p.commands);
        audited = { commands };
        run = () => api.ipvsadm(commands, ctx);
        break;
      }
    }
    if (ADMIN_SET.has(method)) {
      audit?.({ method: method as AdminMethod, params: audited, peer: conn.peer, at: wallNow() });
      logger.info('control admin request', { method, params: audited, uid: conn.peer.uid, pid: conn.peer.pid, connection: conn.peer.connection });
    }
    return run();
  }

  function handleLine(conn: Connection, line: string): void {
    const parsed = parseRequest(line);
    if (!parsed.ok) {
      if (parsed.code === 'version') {
        sendError(conn, parsed.id, new DirectorError('DIR_ERR_CONTROL_PROTOCOL_VERSION', { got: JSON.stringify(parsed.version ?? null), supported: PROTOCOL_VERSION }));
      } else {
        sendError(conn, parsed.id, new DirectorError('DIR_ERR_CONTROL_MALFORMED_FRAME', { reason: parsed.reason }));
      }
      return;
    }
    const { id, method, params } = parsed.frame;
    if (conn.inflight.has(id)) {
      sendError(conn, id, new DirectorError('DIR_ERR_CONTROL_MALFORMED_FRAME', { reason: `id ${id} is already in use on this connection` }));
      return;
    }
    const controller = new AbortController();
    conn.inflight.set(id, controller);
    const task = (async () => {
      try {
        const result = await dispatch(conn, id, method, params, controller.signal);
        send(conn, { v: PROTOCOL_VERSION, id, result: result ?? null });
      } catch (error) {
        sendError(conn, id, toWireError(error, method, logger));
      } finally {
        conn.inflight.delete(id);
      }
    })();
    pending.add(task);
    void task.finally(() => pending.delete(task));
  }

  function onConnection(socket: Socket): void {
    if (closing || connections.size >= maxConnections) {
      if (!closing) logger.warn('control connection refused: too many connections', { limit: maxConnections });
      socket.destroy();
      return;
    }
    connectionSeq += 1;
    const conn: Connection = {
      socket,
      peer: { transport: 'unix', connection: connectionSeq, pidVerified: false },
      inflight: new Map(),
      splitter: new LineSplitter(maxFrameBytes),
      resolved: false,
      hello: {},
    };
    connections.add(conn);
    // A connection that sends nothing and waits for nothing is dropped after the idle limit.
    socket.setTimeout(idleTimeoutMs, () => {
      if (conn.inflight.size === 0) socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => {
      for (const event of conn.splitter.push(chunk)) {
        if (event.kind === 'line') handleLine(conn, event.line);
        else {
          logger.warn('control frame too large; closing connection', { bytes: event.bytes, limit: maxFrameBytes, connection: conn.peer.connection });
          sendError(conn, null, new DirectorError('DIR_ERR_CONTROL_FRAME_TOO_LARGE', { bytes: `more than ${maxFrameBytes}`, limit: maxFrameBytes }));
          socket.end();
          socket.pause();
          return;
        }
      }
    });
    socket.on('error', (error) => logger.debug('control connection error', { error: error.message, connection: conn.peer.connection }));
    socket.on('close', () => {
      for (const controller of conn.inflight.values()) controller.abort();
      connections.delete(conn);
    });
  }

  async function removeSocketFile(): Promise<void> {
    if (boundIno === undefined) return;
    try {
      const st = await stat(socketPath);
      if (st.ino === boundIno) await unlink(socketPath);
    } catch {
      // Already gone.
    }
    boundIno = undefined;
  }

  return {
    socketPath,
    connectionCount: () => connections.size,

    async start() {
      if (server) return;
      const dir = dirname(socketPath);
      const group = access.gid !== undefined;
      try {
        const created = await mkdir(dir, { recursive: true, mode: group ? 0o750 : 0o700 });
        // A directory we made for a group socket must let the group through (mode 0750, group gid).
        if (created !== undefined && (access.uid !== undefined || access.gid !== undefined)) await chown(dir, access.uid ?? 0, access.gid ?? 0);
      } catch (error) {
        throw new DirectorError('DIR_ERR_CONTROL_SOCKET_SETUP', { socket: socketPath, reason: (error as Error).message }, { cause: error });
      }
      const existing = await lstat(socketPath).catch(() => undefined);
      if (existing) {
        if (!existing.isSocket()) {
          throw new DirectorError('DIR_ERR_CONTROL_SOCKET_SETUP', { socket: socketPath, reason: 'the path exists and is not a socket' });
        }
        if (await probeSocket(socketPath)) throw new DirectorError('DIR_ERR_CONTROL_SOCKET_IN_USE', { socket: socketPath });
        // A stale socket from a daemon that died: nobody answers, so it is safe to replace.
        await unlink(socketPath).catch(() => undefined);
      }
      const tmpPath = `${socketPath}.${process.pid}.tmp`;
      await unlink(tmpPath).catch(() => undefined);
      const srv = createServer({ allowHalfOpen: false }, onConnection);
      try {
        await new Promise<void>((resolve, reject) => {
          srv.once('error', reject);
          srv.listen(tmpPath, () => {
            srv.off('error', reject);
            resolve();
          });
        });
        await chmod(tmpPath, group ? 0o660 : 0o600);
        if (access.uid !== undefined || access.gid !== undefined) await chown(tmpPath, access.uid ?? 0, access.gid ?? 0);
        await rename(tmpPath, socketPath);
        boundIno = (await stat(socketPath)).ino;
      } catch (error) {
        srv.close();
        await unlink(tmpPath).catch(() => undefined);
        throw new DirectorError('DIR_ERR_CONTROL_SOCKET_SETUP', { socket: socketPath, reason: (error as Error).message }, { cause: error });
      }
      srv.on('error', (error) => logger.error('control server error', { error: error.message }));
      server = srv;
      closing = false;
      closed = false;
      logger.info('control socket listening', { socket: socketPath });
    },

    async close() {
      if (closed || !server) return;
      closing = true;
      const srv = server;
      const stopped = new Promise<void>((resolve) => srv.close(() => resolve()));
      // Streaming requests (drain) are cancelled; their API call resolves with outcome 'cancelled'.
      for (const conn of connections) for (const controller of conn.inflight.values()) controller.abort();
      // Other running requests get a bounded time to answer (a hung check must not block shutdown).
      // These bounds use real timers on purpose: they limit socket I/O and must fire even when the
      // daemon's tests drive everything else with a ManualClock.
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...pending]),
        new Promise<void>((resolve) => {
          bound = setTimeout(() => {
            logger.warn('control requests still running at close; cutting them', { count: pending.size });
            resolve();
          }, closeTimeoutMs);
        }),
      ]);
      clearTimeout(bound);
      for (const conn of connections) conn.socket.end();
      // Sockets that do not finish their half-close promptly are cut.
      const cut = setTimeout(() => {
        for (const conn of connections) conn.socket.destroy();
      }, 1000);
      await stopped;
      clearTimeout(cut);
      await removeSocketFile();
      closed = true;
      server = undefined;
      logger.info('control socket closed', { socket: socketPath });
    },

    destroy() {
      closing = true;
      for (const conn of connections) {
        for (const controller of conn.inflight.values()) controller.abort();
        conn.socket.destroy();
      }
      connections.clear();
      server?.close();
      server = undefined;
      closed = true;
      // Synchronous: destroy() must not leave the file behind for the next start.
      if (boundIno !== undefined) {
        try {
          if (statSync(socketPath).ino === boundIno) unlinkSync(socketPath);
        } catch {
          // Already gone.
        }
        boundIno = undefined;
      }
    },
  };
}
