/**
 * The native data path of the embedded engine: TCP services without L7 rules are served by the
 * addon's relay threads (native/relay.c, src/sys/relay.ts) instead of Node sockets.
 *
 * Why: on short connections a pair of Node sockets costs ~220 µs of CPU per proxied connection
 * against HAProxy's ~90 µs, and the time is in Node's stream machinery and libuv's epoll_ctl
 * churn, not in the engine (issue #3's profile, baselines-haproxy-node.md). The relay threads do
 * accept/connect/read/write/close in C with one epoll registration per socket; this file keeps
 * every IPVS decision in TypeScript, in the same code the Node path uses:
 *   - ACCEPTED: ServiceState.pick() (schedulers, persistence templates, thresholds, quiesce),
 *     the real's ActiveConn/InActConn binding, Conns counters, the PROXY header -> relayConnect;
 *   - CONNECT_FAILED: counted, the template dropped, the next real tried (bounded), as tcp.ts;
 *   - ESTABLISHED / CLIENT_FIN / REAL_FIN: the IPVS state (ESTABLISHED, FIN_WAIT, CLOSE_WAIT) and
 *     so ActiveConn vs InActConn;
 *   - CLOSED: unbind, release the template, the engine's drain bookkeeping.
 * Bytes and packets are counted by the threads per slot (one slot per (service, real, port)) and
 * folded into the IPVS counters when stats are read or rates sampled (syncCounters). Idle timeouts
 * stay Clock-driven: each sweep asks the threads which connections moved bytes since the last
 * sweep (syncActivity), so an idle connection's clock starts at most one sweep (1 s) late.
 *
 * Not served natively (the Node path in tcp.ts keeps them): L7 rules (the request line is read in
 * JS), UDP, a custom ListenFactory, worker processes (cluster shares net.Server handles only).
 */
import type { Logger } from '../../core/logger.js';
import { loadRelayAddon, recordAddress, RELAY_RECORD_WORDS, RELAY_SLOT_NUMBERS, RelayEvent, type RelayHandle } from '../../sys/relay.js';
import type { ConnectionEntry } from '../model.js';
import { LISTEN_BACKLOG, type ListenRequest } from './listen.js';
import type { SchedulableFlow, ServiceState } from './service.js';
import type { RealState, Template } from './state.js';
import { expireTcpFlow, tcpConnectionEntry, type TcpState } from './tcp.js';

type RelayAddon = Exclude<ReturnType<typeof loadRelayAddon>, Error>;

/** Records drained per relayDrain() call. */
const DRAIN_RECORDS = 1024;

/** One proxied connection owned by a relay thread. */
export class NativeFlow implements SchedulableFlow {
  active = false;
  state: TcpState = 'SYN_RECV';
  real: RealState | undefined = undefined;
  template: Template | undefined = undefined;
  lastActive: number;
  attempts = 0;
  tried: RealState[] | undefined = undefined;

  constructor(
    private readonly relay: NativeRelay,
    readonly id: number,
    readonly svc: ServiceState,
    readonly sourceAddress: string,
    readonly sourcePort: number,
  ) {
    this.lastActive = svc.engine.clock.now();
  }

  reset(): void {
    this.relay.reset(this.id);
  }

  expire(now: number): boolean {
    return expireTcpFlow(this, now);
  }

  entry(now: number): ConnectionEntry {
    return tcpConnectionEntry(this, now, this.sourceAddress, this.sourcePort);
  }
}

/** A destination's counter slot and the last totals folded into the IPVS counters. */
interface SlotOwner {
  readonly real: RealState;
  readonly svc: ServiceState;
  inPackets: number;
  inBytes: number;
  outPackets: number;
  outBytes: number;
}

export class NativeRelay {
  private readonly handle: RelayHandle;
  private readonly flows = new Map<number, NativeFlow>();
  /** Listener id -> service; kept after unlisten so connections accepted just before still find theirs. */
  private readonly services = new Map<number, ServiceState>();
  private listening = 0;
  private nextListenerId = 1;
  private readonly records = new Uint32Array(RELAY_RECORD_WORDS * DRAIN_RECORDS);
  private readonly slots: SlotOwner[] = [];
  /** Slots live as long as the relay (`slots` holds their owners), bounded by the distinct (service, real, port) seen. */
  private readonly slotOf = new Map<RealState, { slot: number; port: number }>();
  private totals = new Float64Array(0);
  private keptAlive = false;
  private closed = false;

  constructor(
    private readonly addon: RelayAddon,
    threads: number,
    private readonly logger: Logger,
  ) {
    this.handle = addon.relayCreate(() => this.onEvents(), threads);
  }

  /** The relay part of the addon, or why it cannot be used. */
  static load(): RelayAddon | Error {
    return loadRelayAddon();
  }

  /** Binds and listens on the JS thread (errors carry errno names, as net's do); returns the listener id. */
  listen(svc: ServiceState, req: ListenRequest, freebind = false): number {
    const id = this.nextListenerId++;
    this.addon.relayListen(this.handle, id, req.address, req.port, LISTEN_BACKLOG, freebind);
    this.services.set(id, svc);
    this.listening++;
    this.updateKeepAlive();
    return id;
  }

  /** No thread accepts on the listener once this returns; its connections carry on. */
  unlisten(id: number): void {
    if (this.closed) return;
    this.addon.relayUnlisten(this.handle, id);
    this.listening--;
    this.updateKeepAlive();
  }

  reset(id: number): void {
    if (!this.closed) this.addon.relayReset(this.handle, id);
  }

  get flowCount(): number {
    return this.flows.size;
  }

  private updateKeepAlive(): void {
    if (this.closed) return; // relayClose released the keep-alive with the threads
    const want = this.listening > 0 || this.flows.size > 0;
    if (want === this.keptAlive) return;
    this.keptAlive = want;
    this.addon.relayRef(this.handle, want);
  }

  private slotFor(svc: ServiceState, real: RealState): number {
    const known = this.slotOf.get(real);
    if (known !== undefined && known.port === real.port) return known.slot;
    // A new real, or its port changed (ipvsadm -e): a new slot; the old one keeps feeding the same real.
    const slot = this.addon.relayTarget(this.handle, real.address, real.port);
    this.slots[slot] = { real, svc, inPackets: 0, inBytes: 0, outPackets: 0, outBytes: 0 };
    this.slotOf.set(real, { slot, port: real.port });
    return slot;
  }

  /** Folds the threads' byte and packet counts into the reals' and services' IPVS counters. */
  syncCounters(): void {
    if (this.closed || this.slots.length === 0) return;
    if (this.totals.length < this.slots.length * RELAY_SLOT_NUMBERS) this.totals = new Float64Array(Math.max(64, this.slots.length * 2) * RELAY_SLOT_NUMBERS);
    const t = this.totals;
    const n = this.addon.relayCounters(this.handle, t);
    for (let i = 0; i < n; i++) {
      const o = this.slots[i];
      if (o === undefined) continue;
      const b = i * RELAY_SLOT_NUMBERS;
      const inPackets = t[b] as number;
      const inBytes = t[b + 1] as number;
      const outPackets = t[b + 2] as number;
      const outBytes = t[b + 3] as number;
      if (inPackets === o.inPackets && outPackets === o.outPackets) continue;
      const rc = o.real.counters;
      const sc = o.svc.counters;
      rc.inPackets += inPackets - o.inPackets;
      sc.inPackets += inPackets - o.inPackets;
      rc.inBytes += inBytes - o.inBytes;
      sc.inBytes += inBytes - o.inBytes;
      rc.outPackets += outPackets - o.outPackets;
      sc.outPackets += outPackets - o.outPackets;
      rc.outBytes += outBytes - o.outBytes;
      sc.outBytes += outBytes - o.outBytes;
      o.inPackets = inPackets;
      o.inBytes = inBytes;
      o.outPackets = outPackets;
      o.outBytes = outBytes;
    }
  }

  /** Marks the connections that moved bytes since the last sweep as active now (idle timeouts). */
  syncActivity(now: number): void {
    if (this.closed || this.flows.size === 0) return;
    const ids = this.addon.relayActivity(this.handle);
    for (let i = 0; i < ids.length; i++) {
      const f = this.flows.get(ids[i] as number);
      if (f !== undefined) f.lastActive = now;
    }
  }

  /** Stops the threads: live connections are reset and their flows finished here. */
  destroy(): void {
    if (this.closed) return;
    this.syncCounters();
    this.closed = true;
    this.keptAlive = false;
    this.addon.relayClose(this.handle);
    for (const f of [...this.flows.values()]) this.finish(f);
  }

  // ---- events ----

  private onEvents(): void {
    const rec = this.records;
    for (;;) {
      if (this.closed) return;
      const n = this.addon.relayDrain(this.handle, rec);
      for (let i = 0; i < n; i++) {
        const at = i * RELAY_RECORD_WORDS;
        try {
          this.dispatch(rec, at);
        } catch (err) {
          // A bug must not stall the relay: the connection is reset, the error logged.
          this.logger.error('native relay event failed', { error: (err as Error).message, type: rec[at] });
          this.reset(rec[at + 1] as number);
        }
      }
      if (n < DRAIN_RECORDS) return;
    }
  }

  private dispatch(rec: Uint32Array, at: number): void {
    const type = rec[at] as number;
    const id = rec[at + 1] as number;
    if (type === RelayEvent.ACCEPTED) return this.onAccepted(id, rec, at);
    if (type === RelayEvent.ACCEPT_ERROR) {
      this.logger.error('accept failed', { service: this.services.get(id)?.key, errno: rec[at + 2] });
      return;
    }
    const flow = this.flows.get(id);
    if (flow === undefined) return;
    switch (type) {
      case RelayEvent.ESTABLISHED: {
        flow.state = 'ESTABLISHED';
        flow.real?.setActive(flow, true);
        flow.lastActive = flow.svc.engine.clock.now();
        return;
      }
      case RelayEvent.CONNECT_FAILED:
        return this.onConnectFailed(flow);
      case RelayEvent.CLIENT_FIN:
        // IPVS: the client's FIN moves ESTABLISHED to FIN_WAIT (inactive).
        if (flow.state === 'ESTABLISHED') this.toState(flow, 'FIN_WAIT');
        return;
      case RelayEvent.REAL_FIN:
        if (flow.state === 'ESTABLISHED') this.toState(flow, 'CLOSE_WAIT');
        return;
      case RelayEvent.CLOSED:
        return this.finish(flow);
    }
  }

  private toState(flow: NativeFlow, state: TcpState): void {
    flow.state = state;
    flow.real?.setActive(flow, state === 'ESTABLISHED');
  }

  private onAccepted(id: number, rec: Uint32Array, at: number): void {
    const svc = this.services.get(rec[at + 2] as number);
    if (svc === undefined || svc.engine.closing) {
      this.addon.relayReset(this.handle, id);
      return;
    }
    const src = recordAddress(rec, at);
    const flow = new NativeFlow(this, id, svc, src.address, src.port);
    this.flows.set(id, flow);
    svc.flows.add(flow);
    if (this.flows.size === 1) this.updateKeepAlive();
    this.connect(flow);
  }

  /** Picks a real (as TcpFlow.connect does) and hands the connection to the thread. */
  private connect(flow: NativeFlow): void {
    const svc = flow.svc;
    const real = svc.assign(flow, flow.sourceAddress, flow.sourcePort, undefined, -1);
    if (real === undefined) {
      this.reset(flow.id);
      return;
    }
    const header = svc.proxyHeader(flow.sourceAddress, flow.sourcePort);
    this.addon.relayConnect(this.handle, flow.id, this.slotFor(svc, real), header);
  }

  private onConnectFailed(flow: NativeFlow): void {
    if (flow.svc.connectFailed(flow)) {
      this.connect(flow);
      return;
    }
    this.logger.debug('connect to reals failed; resetting client', { service: flow.svc.key, attempts: flow.attempts });
    this.reset(flow.id);
  }

  private finish(flow: NativeFlow): void {
    if (!this.flows.delete(flow.id)) return;
    flow.state = 'CLOSE';
    flow.real?.unbind(flow);
    const svc = flow.svc;
    svc.releaseTemplate(flow);
    svc.flows.delete(flow);
    if (this.flows.size === 0) this.updateKeepAlive();
    svc.engine.flowFinished();
  }
}
