/**
 * Per-real and per-service state of the embedded engine: the IPVS `ip_vs_dest` counters
 * (ActiveConn, InActConn, PersistConn), the threshold flag, persistence templates.
 */
import type { ForwardMethod } from '../../core/types.js';
import type { ConnectionEntry, DesiredReal } from '../model.js';
import type { SchedDest } from '../schedulers/types.js';
import { MutableCounters, RateEstimator } from './counters.js';

/** A connection-table entry a real holds (a TCP connection or a UDP flow). */
export interface Flow {
  /** Counted in ActiveConn (true) or InActConn (false). */
  active: boolean;
  /** Closes the flow with a reset (RST for TCP). */
  reset(): void;
  entry(now: number): ConnectionEntry;
  /** Idle expiry check; returns true when the flow was expired. */
  expire(now: number): boolean;
}

export class RealState implements SchedDest {
  readonly key: string;
  readonly address: string;
  port: number;
  forward: ForwardMethod;
  weight: number;
  lastWeight: number;
  upperThreshold: number;
  lowerThreshold: number;
  isFallback: boolean;
  activeConns = 0;
  inactiveConns = 0;
  persistConns = 0;
  /** IP_VS_DEST_F_OVERLOAD, driven by the -x/-y thresholds. */
  thresholdOverload = false;
  /** Temporarily excluded while retrying a failed connect (not visible outside). */
  excluded = false;
  /** Deleted from the service (in the IPVS "trash"): no new connections, templates invalid. */
  removed = false;
  readonly counters = new MutableCounters();
  readonly estimator = new RateEstimator(this.counters);
  readonly flows = new Set<Flow>();
  /** `socket.connect()` options, built once per real (not per connection); the address is numeric, so no DNS lookup. */
  connectOptions: { readonly host: string; readonly port: number };

  constructor(d: DesiredReal, servicePort: number) {
    this.key = d.key;
    this.address = d.address;
    this.port = d.port === 0 ? servicePort : d.port;
    this.connectOptions = { host: this.address, port: this.port };
    this.forward = d.forward;
    this.weight = d.weight;
    this.lastWeight = d.weight;
    this.upperThreshold = d.upperThreshold;
    this.lowerThreshold = d.lowerThreshold;
    this.isFallback = d.isFallback ?? false;
  }

  get overloaded(): boolean {
    return this.thresholdOverload || this.excluded;
  }

  /**
   * ip_vs_edit_dest -> __ip_vs_update_dest(): the OVERLOAD flag is cleared when the new upper
   * threshold is 0 or higher than the old one; thresholds then take the new values.
   */
  update(d: DesiredReal, servicePort: number): boolean {
    const before = `${this.port}|${this.forward}|${this.weight}|${this.upperThreshold}|${this.lowerThreshold}|${this.isFallback}`;
    this.port = d.port === 0 ? servicePort : d.port;
    if (this.connectOptions.port !== this.port) this.connectOptions = { host: this.address, port: this.port };
    this.forward = d.forward;
    this.weight = d.weight;
    if (d.weight > 0) this.lastWeight = d.weight;
    if (d.upperThreshold === 0 || d.upperThreshold > this.upperThreshold) this.thresholdOverload = false;
    this.upperThreshold = d.upperThreshold;
    this.lowerThreshold = d.lowerThreshold;
    this.isFallback = d.isFallback ?? false;
    return before !== `${this.port}|${this.forward}|${this.weight}|${this.upperThreshold}|${this.lowerThreshold}|${this.isFallback}`;
  }

  /** ip_vs_dest_totalconns(): active + inactive (templates are not counted). */
  totalConns(): number {
    return this.activeConns + this.inactiveConns;
  }

  /**
   * ip_vs_bind_dest(): a new connection starts inactive (IP_VS_CONN_F_INACTIVE); the upper
   * threshold sets IP_VS_DEST_F_OVERLOAD once totalconns >= u_threshold.
   */
  bind(flow: Flow): void {
    this.flows.add(flow);
    if (flow.active) this.activeConns++;
    else this.inactiveConns++;
    if (this.upperThreshold !== 0 && this.totalConns() >= this.upperThreshold) this.thresholdOverload = true;
  }

  /**
   * ip_vs_unbind_dest(): OVERLOAD is cleared when totalconns < l_threshold, or, with no lower
   * threshold, when totalconns * 4 < u_threshold * 3 (the lower threshold defaults to 3/4 of the
   * upper one), or at once when both are 0.
   */
  unbind(flow: Flow): void {
    if (!this.flows.delete(flow)) return;
    if (flow.active) this.activeConns--;
    else this.inactiveConns--;
    const total = this.totalConns();
    if (this.lowerThreshold !== 0) {
      if (total < this.lowerThreshold) this.thresholdOverload = false;
    } else if (this.upperThreshold !== 0) {
      if (total * 4 < this.upperThreshold * 3) this.thresholdOverload = false;
    } else {
      this.thresholdOverload = false;
    }
  }

  /** TCP state change ESTABLISHED <-> other (ip_vs_tcp set_tcp_state moves the counters). */
  setActive(flow: Flow, active: boolean): void {
    if (flow.active === active || !this.flows.has(flow)) {
      flow.active = active;
      return;
    }
    flow.active = active;
    if (active) {
      this.inactiveConns--;
      this.activeConns++;
    } else {
      this.activeConns--;
      this.inactiveConns++;
    }
  }
}

/** A persistence template (IPVS connection entry with IP_VS_CONN_F_TEMPLATE, client port 0). */
export interface Template {
  readonly clientNetwork: string;
  real: RealState;
  expiresAt: number;
  /** Connections this template controls (n_control): it cannot expire while any is live. */
  controls: number;
}
