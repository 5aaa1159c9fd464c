/**
 * ipvsadm-style counters and the IPVS rate estimator (net/netfilter/ipvs/ip_vs_est.c).
 *
 * The estimator samples every 2 s and keeps an exponentially weighted moving average with weight
 * 1/4, in fixed point, exactly as the kernel does:
 *
 *     rate = (n_conns - last_conns) << 9;      e->cps += (rate - e->cps) >> 2;   cps = (e->cps + 0x1FF) >> 10
 *     rate = (n_pkts  - last_pkts)  << 9;      same for inpps / outpps
 *     rate = (n_bytes - last_bytes) << 4;      e->inbps += (rate - e->inbps) >> 2; inbps = (e->inbps + 0xF) >> 5
 *
 * (`<< 9` is delta/2 s scaled by 2^10; `<< 4` is delta/2 s scaled by 2^5.) Shifts are done as
 * floor divisions so byte counters beyond 2^31 stay exact.
 */
import type { Counters, Rates } from '../model.js';

/** IPVS estimator sample period. */
export const ESTIMATOR_INTERVAL_MS = 2000;

export class MutableCounters implements Counters {
  conns = 0;
  inPackets = 0;
  outPackets = 0;
  inBytes = 0;
  outBytes = 0;

  snapshot(): Counters {
    return { conns: this.conns, inPackets: this.inPackets, outPackets: this.outPackets, inBytes: this.inBytes, outBytes: this.outBytes };
  }
}

export class RateEstimator {
  private lastConns = 0;
  private lastInPkts = 0;
  private lastOutPkts = 0;
  private lastInBytes = 0;
  private lastOutBytes = 0;
  private cps = 0;
  private inpps = 0;
  private outpps = 0;
  private inbps = 0;
  private outbps = 0;

  constructor(private readonly counters: Counters) {
    this.lastConns = counters.conns;
    this.lastInPkts = counters.inPackets;
    this.lastOutPkts = counters.outPackets;
    this.lastInBytes = counters.inBytes;
    this.lastOutBytes = counters.outBytes;
  }

  /** One 2 s sample (estimation_timer()). */
  sample(): void {
    const c = this.counters;
    this.cps += Math.floor(((c.conns - this.lastConns) * 512 - this.cps) / 4);
    this.lastConns = c.conns;
    this.inpps += Math.floor(((c.inPackets - this.lastInPkts) * 512 - this.inpps) / 4);
    this.lastInPkts = c.inPackets;
    this.outpps += Math.floor(((c.outPackets - this.lastOutPkts) * 512 - this.outpps) / 4);
    this.lastOutPkts = c.outPackets;
    this.inbps += Math.floor(((c.inBytes - this.lastInBytes) * 16 - this.inbps) / 4);
    this.lastInBytes = c.inBytes;
    this.outbps += Math.floor(((c.outBytes - this.lastOutBytes) * 16 - this.outbps) / 4);
    this.lastOutBytes = c.outBytes;
  }

  rates(): Rates {
    return {
      cps: Math.floor((this.cps + 0x1ff) / 1024),
      inPps: Math.floor((this.inpps + 0x1ff) / 1024),
      outPps: Math.floor((this.outpps + 0x1ff) / 1024),
      inBps: Math.floor((this.inbps + 0xf) / 32),
      outBps: Math.floor((this.outbps + 0xf) / 32),
    };
  }
}
