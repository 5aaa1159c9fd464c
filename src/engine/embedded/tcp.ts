/**
 * One proxied TCP connection: client socket (accepted on the VIP) <-> upstream socket (to the real).
 *
 * Data path choices come from the measurements in baselines-haproxy-node.md section 3: both sockets
 * read with `onread` into a per-connection 64 KiB buffer taken from a pool and reused for every
 * read (reading stops while a write still references it and resumes once that write is flushed);
 * writes are manual with backpressure; no pipe(); one object per connection. The accepted socket
 * gets `onread` because ServiceState builds it itself (see takeOverAccept in service.ts); services
 * with L7 rules read the request line through 'data' events instead.
 *
 * Half-close: both sockets are allowHalfOpen; a FIN from one side is passed on with end() after the
 * queued data and the other direction keeps flowing (IPVS states FIN_WAIT when the client closed
 * first, CLOSE_WAIT when the real did). A reset or error on one side resets the other.
 *
 * Counters: IPVS counts IP packets and their bytes; a proxy sees neither. We count one "packet" per
 * read() that returned data (each read drains what the kernel had queued, so a read can cover
 * several segments) and payload bytes only (no IP/TCP headers). Bytes are exact payload bytes.
 *
 * Per-connection cost (short connections are dominated by it; measurements in the engine-perf
 * report): one TcpFlow per proxied connection holds both sockets; the sockets carry a back-pointer
 * (FLOW symbol) and share module-level listener functions, so a connection allocates no closures
 * (two are made lazily, and only for connections that meet backpressure);
 * the upstream socket is built with `new net.Socket()` from a per-real options object and the
 * 'drain' listener is added only when backpressure first happens. On close, a side whose peer has
 * already sent its FIN and that has nothing queued is destroyed (close() sends the FIN) instead of
 * end() + shutdown() + close(); a FIN from the real is held back one event-loop turn (deferEnd).
 */
import net from 'node:net';
import { formatEndpointText } from './format.js';
import type { ConnectionEntry } from '../model.js';
import type { Flow, RealState, Template } from './state.js';
import type { SchedulableFlow, ServiceState } from './service.js';

/** IPVS tcp_timeout_syn_recv default (seed-features 2.4): the limit for connect + L7 request read. */
export const SYN_RECV_TIMEOUT_MS = 60_000;
/** IPVS tcp_timeout_close_wait default. */
export const CLOSE_WAIT_TIMEOUT_MS = 60_000;
/** Longest HTTP request line read for L7 rules before giving up. */
export const MAX_REQUEST_LINE = 8192;

const EMPTY = Buffer.alloc(0);

export type TcpState = 'SYN_RECV' | 'ESTABLISHED' | 'FIN_WAIT' | 'CLOSE_WAIT' | 'CLOSE';

/** Back-pointer from a socket to its flow (lets every socket share the module-level listeners below). */
const FLOW = Symbol('directord.tcpFlow');
type FlowSocket = net.Socket & { [FLOW]: TcpFlow };

function onClientError(this: FlowSocket): void {
  this[FLOW].onError(true);
}
function onClientClose(this: FlowSocket): void {
  this[FLOW].onClientClose();
}
function onClientEnd(this: FlowSocket): void {
  this[FLOW].onClientEnd();
}
function onClientData(this: FlowSocket, chunk: Buffer): void {
  this[FLOW].onClientData(chunk);
}
function onUpstreamConnect(this: FlowSocket): void {
  this[FLOW].onUpstreamConnect(this);
}
function onUpstreamError(this: FlowSocket): void {
  this[FLOW].onUpstreamError(this);
}
function onUpstreamEnd(this: FlowSocket): void {
  this[FLOW].onUpstreamEnd(this);
}
function onUpstreamClose(this: FlowSocket): void {
  this[FLOW].onUpstreamClose(this);
}
function onUpstreamDrain(this: FlowSocket): void {
  this[FLOW].onUpstreamDrain(this);
}
/** onread callback of accepted sockets made by ServiceState.onAccepted (`this` is the client socket). */
export function onClientRead(this: FlowSocket, n: number, buf: Buffer): boolean {
  return this[FLOW].onClientRead(n, buf);
}
/** onread callback: Node calls it with the upstream socket as `this`. */
function onUpstreamRead(this: FlowSocket, n: number, buf: Buffer): boolean {
  return this[FLOW].onUpstreamRead(this, n, buf);
}

/**
 * deferEnd(): a FIN from the real is passed to the client after one more poll phase of the event
 * loop (two setImmediate turns: the flow is queued in turn N, moved at N's check phase, handled at
 * N+1's), which is when a client that closes on receiving the answer has usually been read. HAProxy
 * does the same in effect (it almost never calls shutdown() on short connections). Pending
 * immediates keep libuv's poll from blocking, so the delay is one loop iteration, never a wait.
 */
let endsQueued: TcpFlow[] = [];
let endsDue: TcpFlow[] = [];
let endsScheduled = false;

function deferEnd(flow: TcpFlow): void {
  endsQueued.push(flow);
  if (!endsScheduled) {
    endsScheduled = true;
    setImmediate(runDeferredEnds);
  }
}

function runDeferredEnds(): void {
  const due = endsDue;
  endsDue = endsQueued;
  endsQueued = [];
  for (let i = 0; i < due.length; i++) (due[i] as TcpFlow).passEndToClient();
  if (endsDue.length > 0) setImmediate(runDeferredEnds);
  else endsScheduled = false;
}

/** Options for `new net.Socket()`; `onread.buffer` is replaced per connection (Node copies both fields). */
// `noDelay` is a net.Socket constructor option since Node 17.3 (applied when the handle is made);
// @types/node 20 lists it only for net.connect(), hence the intersection type.
const upstreamSocketOptions: net.SocketConstructorOpts & { noDelay: boolean; onread: { buffer: Buffer; callback: (n: number, buf: Buffer) => boolean } } = {
  allowHalfOpen: true,
  // TCP_NODELAY: a PROXY header and the first data are separate writes; Nagle would hold the second.
  noDelay: true,
  onread: { buffer: EMPTY, callback: onUpstreamRead },
};

/** The IPVS idle timeout of a TCP connection entry in `state` (ipvsadm --set tcp tcpfin udp, seed-features 2.4). */
export function tcpStateTimeoutMs(state: TcpState, t: { readonly tcpMs: number; readonly tcpFinMs: number }): number {
  switch (state) {
    case 'ESTABLISHED':
      return t.tcpMs;
    case 'FIN_WAIT':
      return t.tcpFinMs;
    case 'CLOSE_WAIT':
      return CLOSE_WAIT_TIMEOUT_MS;
    default:
      return SYN_RECV_TIMEOUT_MS;
  }
}

/** What idle expiry and the connection listing read of a TCP connection (both data paths). */
interface ListedTcpFlow {
  readonly state: TcpState;
  readonly lastActive: number;
  readonly svc: ServiceState;
  readonly real: RealState | undefined;
  reset(): void;
}

/** Resets a connection idle past its IPVS state timeout; true when it did. */
export function expireTcpFlow(flow: ListedTcpFlow, now: number): boolean {
  const limit = tcpStateTimeoutMs(flow.state, flow.svc.desired.timeouts);
  if (limit > 0 && now - flow.lastActive >= limit) {
    flow.svc.engine.logger.debug('connection idle past its IPVS state timeout; resetting', { service: flow.svc.key, state: flow.state });
    flow.reset();
    return true;
  }
  return false;
}

/** The connection as `ipvsadm -lnc` lists it. */
export function tcpConnectionEntry(flow: ListedTcpFlow, now: number, sourceAddress: string, sourcePort: number): ConnectionEntry {
  const limit = tcpStateTimeoutMs(flow.state, flow.svc.desired.timeouts);
  return {
    protocol: 'TCP',
    state: flow.state,
    expiresInMs: Math.max(0, limit - (now - flow.lastActive)),
    source: formatEndpointText(sourceAddress, sourcePort),
    virtual: formatEndpointText(flow.svc.address, flow.svc.port),
    destination: flow.real?.key ?? '',
    template: false,
    serviceKey: flow.svc.key,
  };
}

export class TcpFlow implements SchedulableFlow {
  active = false;
  state: TcpState = 'SYN_RECV';
  real: RealState | undefined = undefined;
  template: Template | undefined = undefined;
  upstream: FlowSocket | undefined = undefined;
  lastActive: number;
  readonly client: FlowSocket;
  readonly svc: ServiceState;
  private buf: Buffer | undefined = undefined;
  /** The client socket's onread buffer (undefined: the client reads through 'data' events). */
  private clientBuf: Buffer | undefined;
  /** Client address and port; read lazily (getpeername is a syscall) unless scheduling needs them. */
  private src: string | undefined = undefined;
  private sport = 0;
  attempts = 0;
  tried: RealState[] | undefined = undefined;
  private pending: Buffer | undefined = undefined;
  private candidates: readonly RealState[] | undefined = undefined;
  private ruleScheduler = -1;
  private clientEnded = false;
  private upstreamEnded = false;
  private clientClosed = false;
  private upstreamClosed = true;
  private finished = false;
  private drainListening = false;
  private resumeUpstream: (() => void) | undefined = undefined;
  private resumeClient: (() => void) | undefined = undefined;

  constructor(svc: ServiceState, client: net.Socket, clientBuf: Buffer | undefined) {
    this.svc = svc;
    this.clientBuf = clientBuf;
    const c = client as FlowSocket;
    c[FLOW] = this;
    this.client = c;
    if (svc.needsClientAddress) this.readPeer();
    this.lastActive = svc.engine.clock.now();
    svc.flows.add(this);
    c.on('error', onClientError);
    c.on('close', onClientClose);
    c.on('end', onClientEnd);
    if (svc.l7 !== undefined) this.readRequestLine();
    else this.connect();
  }

  /** KTCPVS-style: read the HTTP request line, pick the rule, then connect (one request routes the connection). */
  private readRequestLine(): void {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      this.lastActive = this.svc.engine.clock.now();
      const all = chunks.length === 1 ? chunk : Buffer.concat(chunks, size);
      const eol = all.indexOf('\r\n');
      if (eol < 0 && size < MAX_REQUEST_LINE) return;
      this.client.off('data', onData);
      this.client.pause();
      this.pending = all;
      const line = eol < 0 ? '' : all.toString('latin1', 0, eol);
      const m = /^[A-Z]+ (\S+) HTTP\/\d\.\d$/.exec(line);
      const rule = m ? this.svc.matchRule(m[1] as string) : undefined;
      if (rule === undefined) {
        this.svc.errors.noRealAvailable++;
        this.svc.engine.logger.debug('no L7 rule matches the request; resetting', { service: this.svc.key, line: line.slice(0, 200) });
        this.reset();
        return;
      }
      this.candidates = rule.reals;
      this.ruleScheduler = rule.index;
      this.connect();
    };
    this.client.on('data', onData);
    this.client.resume();
  }

  private connect(): void {
    if (this.clientClosed) return this.finish();
    const svc = this.svc;
    const real = svc.assign(this, this.src ?? '', this.sport, this.candidates, this.ruleScheduler);
    if (real === undefined) {
      this.reset();
      return;
    }
    const buf = svc.engine.takeBuffer();
    this.buf = buf;
    upstreamSocketOptions.onread.buffer = buf;
    const up = new net.Socket(upstreamSocketOptions) as FlowSocket;
    upstreamSocketOptions.onread.buffer = EMPTY;
    up[FLOW] = this;
    this.upstream = up;
    this.upstreamClosed = false;
    this.drainListening = false;
    up.on('connect', onUpstreamConnect);
    up.on('error', onUpstreamError);
    up.on('end', onUpstreamEnd);
    up.on('close', onUpstreamClose);
    up.connect(real.connectOptions);
  }

  onUpstreamConnect(up: FlowSocket): void {
    if (up !== this.upstream) return;
    const real = this.real as RealState;
    this.state = 'ESTABLISHED';
    real.setActive(this, true);
    this.lastActive = this.svc.engine.clock.now();
    const header = this.svc.proxyHeader(this.src ?? '', this.sport);
    if (header !== undefined) up.write(header);
    if (this.pending !== undefined) {
      this.countIn(this.pending.length);
      up.write(this.pending);
      this.pending = undefined;
    }
    if (this.clientBuf === undefined) this.client.on('data', onClientData);
    if (this.clientEnded) up.end();
    else this.client.resume();
  }

  onUpstreamError(up: FlowSocket): void {
    if (up !== this.upstream) return;
    if (this.state === 'SYN_RECV' && !this.clientClosed) {
      // Connect failure: count it and try the next real the scheduler offers (bounded).
      const retry = this.svc.connectFailed(this);
      this.upstream = undefined;
      this.upstreamClosed = true;
      up.destroy();
      this.svc.engine.releaseBuffer(this.buf);
      this.buf = undefined;
      if (retry) {
        this.connect();
        return;
      }
      this.svc.engine.logger.debug('connect to reals failed; resetting client', { service: this.svc.key, attempts: this.attempts });
      this.reset();
      return;
    }
    this.onError(false);
  }

  onClientData(chunk: Buffer): void {
    this.countIn(chunk.length);
    this.lastActive = this.svc.engine.clock.now();
    const up = this.upstream;
    if (up !== undefined && !up.write(chunk)) {
      this.client.pause();
      if (!this.drainListening) {
        this.drainListening = true;
        up.on('drain', onUpstreamDrain);
      }
    }
  }

  /** onread callback of the client socket: relay to the real; false stops reading until it is flushed. */
  onClientRead(n: number, buf: Buffer): boolean {
    this.countIn(n);
    this.lastActive = this.svc.engine.clock.now();
    const up = this.upstream;
    if (up === undefined || this.upstreamClosed) return false;
    up.write(buf.subarray(0, n));
    if (up.writableLength === 0) return true;
    // As in onUpstreamRead: the buffer is still referenced by the queued write.
    up.write(EMPTY, (this.resumeClient ??= () => {
      if (!this.clientClosed) this.client.resume();
    }));
    return false;
  }

  onUpstreamDrain(up: FlowSocket): void {
    if (up === this.upstream && !this.clientClosed) this.client.resume();
  }

  private countIn(n: number): void {
    const real = this.real;
    if (real !== undefined) {
      real.counters.inPackets++;
      real.counters.inBytes += n;
    }
    const c = this.svc.counters;
    c.inPackets++;
    c.inBytes += n;
  }

  /** onread callback: relay into the client; false stops reading until the client drains. */
  onUpstreamRead(up: FlowSocket, n: number, buf: Buffer): boolean {
    if (up !== this.upstream) return false;
    const real = this.real;
    if (real !== undefined) {
      real.counters.outPackets++;
      real.counters.outBytes += n;
    }
    const c = this.svc.counters;
    c.outPackets++;
    c.outBytes += n;
    this.lastActive = this.svc.engine.clock.now();
    const client = this.client;
    if (this.clientClosed) return false;
    client.write(buf.subarray(0, n));
    if (client.writableLength === 0) return true;
    // Part of the shared buffer is still queued: stop reading until it is flushed. write() may have
    // returned true (below the high-water mark), in which case no 'drain' would come, so an empty
    // write's callback (called in order, after the queued bytes) resumes reading. Made once per
    // connection, and only for connections that meet backpressure.
    client.write(EMPTY, (this.resumeUpstream ??= () => {
      if (!this.clientClosed) this.upstream?.resume();
    }));
    return false;
  }

  onClientEnd(): void {
    this.clientEnded = true;
    if (this.state === 'ESTABLISHED') this.toState('FIN_WAIT');
    const up = this.upstream;
    if (up === undefined || up.connecting) return;
    if (this.upstreamEnded) {
      // Both peers have sent their FIN (the real's is still held back by deferEnd): with nothing
      // queued towards the client, close() sends ours.
      const client = this.client;
      if (!client.destroyed && !client.writableEnded && client.writableLength === 0) client.destroy();
    }
    // The real already sent its FIN and nothing is queued towards it: close() sends our FIN, so
    // skip end()'s shutdown() and the stream's finish round.
    if (this.upstreamEnded && up.writableLength === 0) up.destroy();
    else up.end();
  }

  onUpstreamEnd(up: FlowSocket): void {
    if (up !== this.upstream) return;
    this.upstreamEnded = true;
    if (this.state === 'ESTABLISHED') this.toState('CLOSE_WAIT');
    if (this.clientClosed) return;
    const client = this.client;
    if (this.clientEnded) {
      if (client.writableLength === 0) client.destroy();
      else client.end();
      return;
    }
    // The client has not closed yet. Request/response clients usually close as soon as they have
    // the answer we just wrote, so pass the FIN on a little later (deferEnd): if the client's FIN
    // arrives first, both sides are done and a plain close() replaces shutdown() + close().
    deferEnd(this);
  }

  /** Runs from deferEnd's queue: the real's FIN, held back briefly, goes to the client now. */
  passEndToClient(): void {
    if (this.clientClosed) return;
    const client = this.client;
    if (client.destroyed || client.writableEnded) return;
    if (this.clientEnded && client.writableLength === 0) client.destroy();
    else client.end();
  }

  private toState(state: TcpState): void {
    this.state = state;
    this.real?.setActive(this, state === 'ESTABLISHED');
  }

  onError(fromClient: boolean): void {
    // One side failed (usually ECONNRESET): reset the other so the peer learns at once.
    if (fromClient) {
      if (this.upstream !== undefined && !this.upstreamClosed) this.upstream.resetAndDestroy();
      this.client.destroy();
    } else {
      if (!this.clientClosed) this.client.resetAndDestroy();
      this.upstream?.destroy();
    }
  }

  onClientClose(): void {
    this.clientClosed = true;
    if (this.upstream !== undefined && !this.upstreamClosed) {
      // The client is gone entirely (both directions): a pending connect or unsent data is moot.
      // A normal close (client ended and got our end) leaves the upstream to flush and close itself.
      if (this.state === 'SYN_RECV' || !this.clientEnded) this.upstream.destroy();
      return;
    }
    this.finish();
  }

  onUpstreamClose(up: FlowSocket): void {
    if (up !== this.upstream) return;
    this.upstreamClosed = true;
    if (!this.clientClosed) {
      if (!this.upstreamEnded || this.state === 'SYN_RECV') this.client.destroy();
      return;
    }
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.state = 'CLOSE';
    if (this.real !== undefined) this.real.unbind(this);
    this.svc.releaseTemplate(this);
    this.svc.flows.delete(this);
    this.svc.engine.releaseBuffer(this.buf);
    this.buf = undefined;
    this.svc.engine.releaseBuffer(this.clientBuf);
    this.clientBuf = undefined;
    this.svc.engine.flowFinished();
  }

  reset(): void {
    if (this.upstream !== undefined && !this.upstreamClosed) this.upstream.resetAndDestroy();
    if (!this.clientClosed) this.client.resetAndDestroy();
    if (this.clientClosed && (this.upstream === undefined || this.upstreamClosed)) this.finish();
  }

  expire(now: number): boolean {
    return expireTcpFlow(this, now);
  }

  entry(now: number): ConnectionEntry {
    return tcpConnectionEntry(this, now, this.sourceAddress, this.sport);
  }

  get sourceAddress(): string {
    if (this.src === undefined) this.readPeer();
    return this.src as string;
  }

  private readPeer(): void {
    this.src = this.client.remoteAddress ?? '0.0.0.0';
    this.sport = this.client.remotePort ?? 0;
  }
}
