/**
 * One virtual service of the embedded engine: its listener, reals, scheduler, persistence
 * templates, L7 rules, UDP flows and counters.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { DirectorError } from '../../core/errors.js';
import { maskIp, parseIp } from '../../core/ip.js';
import type { TimerHandle } from '../../core/clock.js';
import type { ConnectionEntry, DesiredReal, DesiredService, RealStats, ServiceStats } from '../model.js';
import { createScheduler } from '../schedulers/index.js';
import type { Scheduler, ScheduleInput } from '../schedulers/types.js';
import { MutableCounters, RateEstimator } from './counters.js';
import type { EmbeddedEngine } from './engine.js';
import type { NativeRelay } from './native.js';
import { formatEndpointText } from './format.js';
import type { ListenRequest } from './listen.js';
import { proxyV1Header, proxyV2Header } from './proxy-protocol.js';
import { RealState, type Flow, type Template } from './state.js';
import { onClientRead, TcpFlow, type TcpState } from './tcp.js';
import { UdpFlow } from './udp.js';

const EMPTY_BUFFER = Buffer.alloc(0);

/**
 * Options for accepted client sockets. `handle` and `onread.buffer` change per connection (Node
 * copies them); `onread` gives the client->real direction the same reused-buffer reads as the
 * upstream side (no 64 KiB allocation and no Readable push per read). `handle`, `pauseOnCreate` and
 * `noDelay` are net.Socket constructor options @types/node 20 does not list.
 */
const clientSocketOptions: net.SocketConstructorOpts & { handle: TcpHandle | undefined; pauseOnCreate: boolean; noDelay: boolean; onread: { buffer: Buffer; callback: (n: number, buf: Buffer) => boolean } } = {
  handle: undefined,
  allowHalfOpen: true,
  pauseOnCreate: true,
  readable: true,
  writable: true,
  noDelay: true,
  onread: { buffer: EMPTY_BUFFER, callback: onClientRead },
};

/** The part of Node's internal TCP wrap used here. */
interface TcpHandle {
  setNoDelay?(enable: boolean): number;
}

/**
 * net.Server makes every accepted socket without `onread` (Node 20 honours it only on sockets it is
 * given in the constructor). Replacing the listen handle's `onconnection` (what net.Server itself
 * installs in setupListenHandle, unchanged since Node 0.x) lets the service build the client socket
 * with a reused read buffer. Without a handle (an unusual ListenFactory) the 'connection' event path
 * stays. server.close() still stops accepting; the server just does not count these sockets.
 */
function takeOverAccept(server: net.Server, svc: ServiceState): void {
  // `_handle` is Node's internal TCP wrap; typed loosely on purpose.
  const handle = (server as unknown as { _handle?: { onconnection?: unknown } })._handle;
  if (handle === undefined || handle === null || typeof handle.onconnection !== 'function') return;
  handle.onconnection = (err: number, clientHandle: TcpHandle | undefined): void => {
    if (err !== 0 || clientHandle === undefined) {
      svc.engine.logger.error('accept failed', { service: svc.key, errno: err });
      return;
    }
    svc.onAccepted(clientHandle);
  };
}

export interface L7Rule {
  readonly index: number;
  readonly pattern: string;
  readonly regex: RegExp;
  reals: RealState[];
  readonly keys: readonly string[];
  scheduler: Scheduler;
}

/** A TCP connection as both data paths keep it (tcp.ts TcpFlow, native.ts NativeFlow). */
export interface SchedulableFlow extends Flow {
  real: RealState | undefined;
  template: Template | undefined;
  state: TcpState;
  attempts: number;
  tried: RealState[] | undefined;
}

export interface PickResult {
  readonly real: RealState;
  readonly template: Template | undefined;
}

/** Throws DIR_ERR_ENGINE_UNSUPPORTED for what a userspace proxy cannot do (never silently). */
export function validateService(d: DesiredService): void {
  const unsupported = (feature: string, reason: string): DirectorError =>
    new DirectorError('DIR_ERR_ENGINE_UNSUPPORTED', { engine: 'embedded', service: d.key, feature, reason });
  if (d.protocol === 'fwm' || d.fwmark !== undefined) {
    throw unsupported('a firewall-mark service', 'packets are marked in the kernel; a userspace proxy never sees the mark (use the ipvs or nftables engine)');
  }
  if (d.address === undefined) throw unsupported('a service without an address', 'the embedded engine listens on address:port');
  if (d.port === 0) {
    throw unsupported('port 0 ("all ports")', 'the embedded engine listens on one port per service; use the ipvs engine (persistent port-0 services) or list each port');
  }
  if (d.protocol === 'udp' && d.proxyProtocol !== undefined) {
    throw unsupported('the PROXY protocol on udp', 'only TCP services can send a PROXY header');
  }
  if (d.protocol === 'udp' && d.l7Rules.length > 0) throw unsupported('L7 rules on udp', 'content switching reads an HTTP request line (tcp only)');
  if (d.protocol === 'tcp' && d.ops) throw unsupported('one-packet scheduling on tcp', 'ops applies to udp services only (ipvsadm -o)');
  for (const rule of d.l7Rules) compileRule(d.key, rule.pattern);
}

function compileRule(service: string, pattern: string): RegExp {
  try {
    // KTCPVS matches the request URI with regexec(): an unanchored search, like RegExp.test.
    return new RegExp(pattern);
  } catch (err) {
    throw new DirectorError('DIR_ERR_ENGINE_BAD_RULE', { service, pattern, reason: (err as Error).message }, { cause: err });
  }
}

export class ServiceState {
  readonly key: string;
  readonly protocol: 'tcp' | 'udp';
  readonly address: string;
  readonly port: number;
  desired: DesiredService;
  reals: RealState[] = [];
  readonly realsByKey = new Map<string, RealState>();
  /** Deleted reals keep their counters and live connections (IPVS "trash", seed-features 3.4). */
  readonly trash = new Map<string, RealState>();
  scheduler: Scheduler;
  l7: L7Rule[] | undefined;
  readonly templates = new Map<string, Template>();
  readonly flows = new Set<Flow>();
  readonly counters = new MutableCounters();
  readonly estimator = new RateEstimator(this.counters);
  readonly errors = { noRealAvailable: 0, connectFailures: 0 };
  listening = false;
  /** Does choosing a real or building the PROXY header need the client address (else read lazily)? */
  needsClientAddress = true;
  private server: net.Server | undefined;
  /** Listener id in the engine's native relay (TCP without L7 rules; see native.ts). */
  private nativeListener: number | undefined;
  private udpSocket: dgram.Socket | undefined;
  private readonly udpFlows = new Map<string, UdpFlow>();
  private readonly opsFlows = new Map<string, UdpFlow>();
  private retryTimer: TimerHandle | undefined;
  private bindAttempts = 0;
  private stopped = false;
  private readonly input: { sourceAddress: string; sourcePort: number; destAddress: string; destPort: number };
  private fingerprint = '';
  private realsFingerprint = '';

  constructor(
    readonly engine: EmbeddedEngine,
    d: DesiredService,
  ) {
    this.key = d.key;
    this.protocol = d.protocol === 'udp' ? 'udp' : 'tcp';
    this.address = d.address as string;
    this.port = d.port;
    this.desired = d;
    this.scheduler = createScheduler(d.scheduler, d.schedulerFlags);
    this.input = { sourceAddress: '', sourcePort: 0, destAddress: this.address, destPort: this.port };
    this.update(d);
  }

  /** Same listening endpoint? (otherwise the engine replaces the service) */
  sameEndpoint(d: DesiredService): boolean {
    return d.protocol === this.protocol && d.address === this.address && d.port === this.port;
  }

  /** Reconciles to `d`; returns whether anything changed. Live connections are never touched except by onRealRemoved=reset. */
  update(d: DesiredService): boolean {
    const fp = JSON.stringify(d);
    if (fp === this.fingerprint) return false;
    const prev = this.desired;
    let schedulerChanged = this.fingerprint === '';
    this.fingerprint = fp;
    this.desired = d;
    if (prev.scheduler !== d.scheduler || prev.schedulerFlags.join() !== d.schedulerFlags.join()) {
      this.scheduler = createScheduler(d.scheduler, d.schedulerFlags);
      schedulerChanged = true;
    }
    const wanted = new Set(d.reals.map((r) => r.key));
    for (const real of this.reals) {
      if (!wanted.has(real.key)) this.removeReal(real, d.onRealRemoved);
    }
    const list: RealState[] = [];
    for (const r of d.reals) list.push(this.upsertReal(r));
    this.reals = list;
    // Templates of a service whose persistence was turned off go away (ipvsadm -E without -p).
    if (d.persistence === undefined) for (const t of [...this.templates.values()]) this.deleteTemplate(t);
    // update_service runs only when the real list or a weight changed (as IPVS calls
    // add_dest/del_dest/upd_dest), so wrr's position survives unrelated edits such as timeouts.
    const realsFp = JSON.stringify(d.reals.map((r) => [r.key, r.weight, r.upperThreshold, r.lowerThreshold]));
    if (schedulerChanged || realsFp !== this.realsFingerprint) this.scheduler.update(this.reals);
    this.realsFingerprint = realsFp;
    if (this.nativeListener !== undefined && d.l7Rules.length > 0) {
      // L7 rules read the request line in JS: move the listener to Node sockets (apply() re-opens
      // it at once because it is no longer listening; live connections stay on the relay).
      this.closeNativeListener();
      this.listening = false;
    }
    this.needsClientAddress = d.persistence !== undefined || d.proxyProtocol !== undefined || d.scheduler === 'sh' || d.scheduler === 'mh';
    this.l7 =
      d.l7Rules.length === 0
        ? undefined
        : d.l7Rules.map((rule, index) => {
            const prevRule = this.l7?.[index];
            const reals = rule.reals.flatMap((k) => {
              const real = this.realsByKey.get(k);
              return real === undefined ? [] : [real];
            });
            const keep = prevRule !== undefined && prevRule.pattern === rule.pattern && prev.scheduler === d.scheduler;
            const scheduler = keep ? prevRule.scheduler : createScheduler(d.scheduler, d.schedulerFlags);
            scheduler.update(reals);
            return { index, pattern: rule.pattern, regex: compileRule(d.key, rule.pattern), reals, keys: rule.reals, scheduler };
          });
    return true;
  }

  private upsertReal(r: DesiredReal): RealState {
    let real = this.realsByKey.get(r.key);
    if (real === undefined) {
      real = this.trash.get(r.key);
      if (real !== undefined) {
        // Re-added from the trash: IPVS restores the old dest with its counters and connections.
        this.trash.delete(r.key);
        real.removed = false;
        real.thresholdOverload = false;
        real.update(r, this.port);
        real.lastWeight = r.weight;
      } else {
        real = new RealState(r, this.port);
      }
      this.realsByKey.set(r.key, real);
    } else {
      real.update(r, this.port);
    }
    return real;
  }

  private removeReal(real: RealState, onRemoved: 'finish' | 'reset'): void {
    real.removed = true;
    this.realsByKey.delete(real.key);
    this.trash.set(real.key, real);
    for (const t of [...this.templates.values()]) if (t.real === real) this.deleteTemplate(t);
    if (onRemoved === 'reset') {
      for (const f of [...real.flows]) f.reset();
      this.engine.logger.info('real removed; its connections were reset', { service: this.key, real: real.key });
    }
  }

  /** Matches an HTTP request path against the rules, first match wins. */
  matchRule(path: string): L7Rule | undefined {
    for (const rule of this.l7 ?? []) if (rule.regex.test(path)) return rule;
    return undefined;
  }

  proxyHeader(srcAddress: string, srcPort: number): Buffer | undefined {
    const v = this.desired.proxyProtocol;
    if (v === undefined) return undefined;
    return v === 'v1' ? proxyV1Header(srcAddress, srcPort, this.address, this.port) : proxyV2Header(srcAddress, srcPort, this.address, this.port);
  }

  private clientNetwork(src: string): string {
    const p = this.desired.persistence as { netmaskPrefixLength: number };
    const ip = parseIp(src);
    const bits = ip.family === 4 ? 32 : 128;
    return maskIp(ip, Math.min(p.netmaskPrefixLength, bits)).text;
  }

  /**
   * Chooses the real for a new connection (ip_vs_schedule / ip_vs_sched_persist): a live
   * persistence template wins over the scheduler, even when its real is overloaded or at weight 0
   * (IPVS keeps sending persistent clients to a quiesced real while the template lives unless the
   * sysctl expire_quiescent_template is set; seed-features 1.3 and 2.1, ip_vs_check_template()).
   */
  pick(src: string, sport: number, candidates: readonly RealState[] | undefined, ruleIndex: number, tried: readonly RealState[] | undefined): PickResult | undefined {
    const now = this.engine.clock.now();
    const persistence = this.desired.persistence;
    let netKey = '';
    if (persistence !== undefined) {
      netKey = this.clientNetwork(src);
      const t = this.templates.get(netKey);
      if (t !== undefined) {
        const valid =
          !t.real.removed &&
          (now < t.expiresAt || t.controls > 0) &&
          !(this.desired.expireQuiescentTemplate === true && t.real.weight === 0) &&
          (candidates === undefined || candidates.includes(t.real)) &&
          (tried === undefined || !tried.includes(t.real));
        if (valid) {
          t.expiresAt = now + persistence.timeoutMs;
          t.controls++;
          return { real: t.real, template: t };
        }
        this.deleteTemplate(t);
      }
    }
    if (tried !== undefined) for (const r of tried) r.excluded = true;
    const input = this.input as ScheduleInput & { sourceAddress: string; sourcePort: number };
    input.sourceAddress = src;
    input.sourcePort = sport;
    const rule = ruleIndex >= 0 ? this.l7?.[ruleIndex] : undefined;
    const real = (rule !== undefined ? rule.scheduler.schedule(rule.reals, input, now) : this.scheduler.schedule(candidates ?? this.reals, input, now)) as RealState | undefined;
    if (tried !== undefined) for (const r of tried) r.excluded = false;
    if (real === undefined) return undefined;
    let template: Template | undefined;
    if (persistence !== undefined) {
      template = { clientNetwork: netKey, real, expiresAt: now + persistence.timeoutMs, controls: 1 };
      this.templates.set(netKey, template);
      real.persistConns++;
    }
    return { real, template };
  }

  /**
   * Chooses and binds the real for a new (or retried) connection: ip_vs_schedule() then
   * ip_vs_bind_dest() (a new connection starts inactive, in SYN_RECV) and the Conns counters.
   * Undefined when no real is available (counted and logged, rate-limited); the caller resets.
   */
  assign(flow: SchedulableFlow, src: string, sport: number, candidates: readonly RealState[] | undefined, ruleIndex: number): RealState | undefined {
    const picked = this.pick(src, sport, candidates, ruleIndex, flow.tried);
    if (picked === undefined) {
      this.errors.noRealAvailable++;
      this.engine.noRealLog(this);
      return undefined;
    }
    const real = picked.real;
    flow.template = picked.template;
    flow.attempts++;
    flow.real = real;
    flow.active = false;
    flow.state = 'SYN_RECV';
    real.bind(flow);
    real.counters.conns++;
    this.counters.conns++;
    return real;
  }

  /**
   * Connecting to the flow's real failed: counted, the real excluded from this connection's next
   * pick, a template that pointed there forgotten. Returns whether another real may be tried
   * (the engine's maxConnectAttempts bound).
   */
  connectFailed(flow: SchedulableFlow): boolean {
    this.errors.connectFailures++;
    const real = flow.real;
    if (real !== undefined) {
      real.unbind(flow);
      (flow.tried ??= []).push(real);
    }
    this.dropTemplateFor(flow);
    flow.real = undefined;
    return flow.attempts < this.engine.maxConnectAttempts;
  }

  deleteTemplate(t: Template): void {
    if (this.templates.get(t.clientNetwork) === t) {
      this.templates.delete(t.clientNetwork);
      t.real.persistConns--;
    }
  }

  /** A connection controlled by a template ended. */
  releaseTemplate(flow: { template: Template | undefined }): void {
    const t = flow.template;
    if (t === undefined) return;
    flow.template = undefined;
    t.controls--;
  }

  /** Connect to the template's real failed: forget the template so the retry schedules afresh. */
  dropTemplateFor(flow: { template: Template | undefined }): void {
    const t = flow.template;
    this.releaseTemplate(flow);
    if (t !== undefined && t.controls <= 0) this.deleteTemplate(t);
  }

  /** Idle expiry of connections and templates (called every second through the Clock). */
  sweep(now: number): void {
    for (const f of [...this.flows]) f.expire(now);
    for (const f of [...this.opsFlows.values()]) f.expire(now);
    const p = this.desired.persistence;
    for (const t of [...this.templates.values()]) {
      if (now < t.expiresAt) continue;
      // ip_vs_conn_expire(): a template that still controls connections is re-armed.
      if (t.controls > 0) t.expiresAt = now + (p?.timeoutMs ?? 0);
      else this.deleteTemplate(t);
    }
  }

  // ---- listener ----

  private request(): ListenRequest {
    return { serviceKey: this.key, protocol: this.protocol, family: this.desired.family, address: this.address, port: this.port };
  }

  /** Binds the listener; EADDRNOTAVAIL schedules bounded retries through the Clock instead of failing. */
  async open(): Promise<void> {
    if (this.listening || this.stopped) return;
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    this.bindAttempts++;
    const req = this.request();
    try {
      const relay = this.protocol === 'tcp' && this.desired.l7Rules.length === 0 ? this.engine.nativeRelay() : undefined;
      if (relay !== undefined) {
        this.nativeListener = this.listenNative(relay, req);
      } else if (this.protocol === 'tcp') {
        const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (sock) => this.onConnection(sock));
        await this.engine.listen.listenTcp(server, req);
        if (this.stopped) {
          server.close();
          return;
        }
        server.on('error', (err) => this.engine.logger.error('listener error', { service: this.key, error: err.message }));
        takeOverAccept(server, this);
        this.server = server;
      } else {
        const sock = await this.engine.listen.bindUdp(req);
        if (this.stopped) {
          sock.close();
          return;
        }
        sock.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo));
        sock.on('error', (err) => this.engine.logger.error('udp socket error', { service: this.key, error: err.message }));
        this.udpSocket = sock;
      }
      this.listening = true;
      if (this.bindAttempts > 1) this.engine.logger.info('listener bound', { service: this.key, attempts: this.bindAttempts });
      this.bindAttempts = 0;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const endpoint = formatEndpointText(this.address, this.port);
      const retry = this.engine.bindRetry;
      if (code === 'EADDRNOTAVAIL' && this.bindAttempts < retry.maxAttempts) {
        // The VIP is not on this host yet (backup director): keep trying; the director's next
        // apply() after a VRRP transition also retries at once.
        const log = this.bindAttempts === 1 ? this.engine.logger.warn.bind(this.engine.logger) : this.engine.logger.debug.bind(this.engine.logger);
        log('VIP not present yet; will retry binding', { service: this.key, endpoint, attempt: this.bindAttempts, retryInMs: retry.intervalMs });
        this.retryTimer = this.engine.clock.setTimeout(() => {
          this.retryTimer = undefined;
          void this.open().catch((e: unknown) => this.engine.logger.error('listener bind failed', { service: this.key, error: (e as Error).message }));
        }, retry.intervalMs);
        this.retryTimer.unref();
        return;
      }
      this.bindAttempts = 0;
      throw new DirectorError('DIR_ERR_ENGINE_LISTEN', { service: this.key, endpoint, reason: code ?? (err as Error).message }, { cause: err });
    }
  }

  /**
   * A VIP this host does not hold yet (a backup director) is bound with IP_FREEBIND (ip(7)): the
   * listener exists before the VIP does, so a VRRP takeover needs no re-bind at all and a backup
   * with many services makes no bind retries. Only when a plain bind says EADDRNOTAVAIL, so a
   * typo'd address is still visible in the log.
   */
  private listenNative(relay: NativeRelay, req: ListenRequest): number {
    try {
      return relay.listen(this, req);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL' || !this.engine.freebind) throw err;
      const id = relay.listen(this, req, true);
      this.engine.logger.warn('VIP not present yet; listening with IP_FREEBIND, traffic flows once it is added', {
        service: this.key,
        endpoint: formatEndpointText(this.address, this.port),
      });
      return id;
    }
  }

  private closeNativeListener(): void {
    if (this.nativeListener === undefined) return;
    this.engine.relay?.unlisten(this.nativeListener);
    this.nativeListener = undefined;
  }

  get retrying(): boolean {
    return this.retryTimer !== undefined;
  }

  /** Stops accepting (live connections continue). */
  stopListening(): void {
    this.stopped = true;
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    this.server?.close();
    this.server = undefined;
    this.closeNativeListener();
    if (this.udpSocket !== undefined) {
      // UDP has no connection to finish: flows end with the socket that answers for the VIP.
      for (const f of [...this.udpFlows.values()]) f.close();
      for (const f of [...this.opsFlows.values()]) f.close();
      this.udpSocket.close();
      this.udpSocket = undefined;
    }
    this.listening = false;
  }

  private onConnection(sock: net.Socket): void {
    if (this.engine.closing) {
      sock.destroy();
      return;
    }
    new TcpFlow(this, sock, undefined);
  }

  /** An accepted connection handed over by takeOverAccept() (no net.Socket made yet). */
  onAccepted(handle: TcpHandle): void {
    // TCP_NODELAY, as net.Server's own onconnection does for `noDelay: true` (the Socket
    // constructor's noDelay option only takes effect on connect()).
    handle.setNoDelay?.(true);
    if (this.engine.closing || this.l7 !== undefined) {
      // L7 rules read the request line through 'data' events: a plain socket.
      const sock = new net.Socket({ handle, allowHalfOpen: true, pauseOnCreate: true, readable: true, writable: true, noDelay: true } as net.SocketConstructorOpts);
      this.onConnection(sock);
      return;
    }
    const buf = this.engine.takeBuffer();
    clientSocketOptions.handle = handle;
    clientSocketOptions.onread.buffer = buf;
    const sock = new net.Socket(clientSocketOptions);
    clientSocketOptions.handle = undefined;
    clientSocketOptions.onread.buffer = EMPTY_BUFFER;
    new TcpFlow(this, sock, buf);
  }

  // ---- UDP ----

  private onDatagram(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.engine.closing) return;
    if (this.desired.ops) {
      this.onOpsDatagram(msg, rinfo);
      return;
    }
    const key = `${rinfo.address}|${rinfo.port}`;
    let flow = this.udpFlows.get(key);
    if (flow === undefined) {
      const picked = this.pick(rinfo.address, rinfo.port, undefined, -1, undefined);
      if (picked === undefined) {
        this.errors.noRealAvailable++;
        this.engine.noRealLog(this);
        return;
      }
      flow = new UdpFlow(this, key, rinfo.address, rinfo.port, picked.real, picked.template, false);
      this.udpFlows.set(key, flow);
    }
    flow.send(msg);
  }

  /**
   * One-packet scheduling (ipvsadm -o): every datagram is scheduled on its own and its connection
   * entry is released at once, so it is counted in Conns but never in ActiveConn/InActConn and not
   * listed. A hidden reply path per (client, real) carries answers back until the udp timeout.
   */
  private onOpsDatagram(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const picked = this.pick(rinfo.address, rinfo.port, undefined, -1, undefined);
    if (picked === undefined) {
      this.errors.noRealAvailable++;
      this.engine.noRealLog(this);
      return;
    }
    this.releaseTemplate(picked);
    const key = `${rinfo.address}|${rinfo.port}|${picked.real.key}`;
    let flow = this.opsFlows.get(key);
    if (flow === undefined) {
      flow = new UdpFlow(this, key, rinfo.address, rinfo.port, picked.real, undefined, true);
      this.opsFlows.set(key, flow);
    } else {
      picked.real.counters.conns++;
      this.counters.conns++;
    }
    flow.send(msg);
  }

  /** Sends a reply from the VIP socket to the client. */
  sendToClient(msg: Buffer, address: string, port: number): void {
    this.udpSocket?.send(msg, port, address);
  }

  forgetUdpFlow(flow: UdpFlow): void {
    if (flow.ops) {
      if (this.opsFlows.get(flow.mapKey) === flow) this.opsFlows.delete(flow.mapKey);
    } else if (this.udpFlows.get(flow.mapKey) === flow) {
      this.udpFlows.delete(flow.mapKey);
    }
  }

  // ---- reporting ----

  connections(now: number): ConnectionEntry[] {
    const out: ConnectionEntry[] = [];
    const proto = this.protocol === 'udp' ? 'UDP' : 'TCP';
    const virtual = formatEndpointText(this.address, this.port);
    for (const t of this.templates.values()) {
      out.push({
        protocol: proto,
        state: 'NONE',
        expiresInMs: Math.max(0, t.expiresAt - now),
        source: formatEndpointText(t.clientNetwork, 0),
        virtual,
        destination: t.real.key,
        template: true,
        serviceKey: this.key,
      });
    }
    for (const f of this.flows) out.push(f.entry(now));
    return out;
  }

  stats(): ServiceStats {
    const d = this.desired;
    const reals: RealStats[] = this.reals.map((r) => ({
      key: r.key,
      address: r.address,
      port: r.port,
      forward: r.forward,
      weight: r.weight,
      upperThreshold: r.upperThreshold,
      lowerThreshold: r.lowerThreshold,
      isFallback: r.isFallback,
      activeConns: r.activeConns,
      inactiveConns: r.inactiveConns,
      persistentConns: r.persistConns,
      overloaded: r.thresholdOverload,
      counters: r.counters.snapshot(),
      rates: r.estimator.rates(),
    }));
    return {
      key: this.key,
      protocol: d.protocol,
      family: d.family,
      address: d.address,
      port: d.port,
      ...(d.fwmark !== undefined ? { fwmark: d.fwmark } : {}),
      scheduler: d.scheduler,
      schedulerFlags: d.schedulerFlags,
      ...(d.persistence !== undefined ? { persistence: d.persistence } : {}),
      ops: d.ops,
      reals,
      counters: this.counters.snapshot(),
      rates: this.estimator.rates(),
      errors: { ...this.errors },
      listening: this.listening,
    };
  }

  sampleRates(): void {
    this.estimator.sample();
    for (const r of this.reals) r.estimator.sample();
    for (const r of this.trash.values()) r.estimator.sample();
  }
}
