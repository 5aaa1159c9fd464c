/**
 * wrr: weighted round robin (net/netfilter/ipvs/ip_vs_wrr.c). The classic interleaved algorithm from
 * the file's header comment: a current weight `cw` starts at the maximum weight and drops by the gcd
 * of all weights each time the cursor passes the list head; a destination is chosen when its weight
 * is >= cw. Over one full cycle each destination gets exactly weight/gcd connections.
 *
 *     while (true) {
 *       i = (i + 1) mod n;
 *       if (i == 0) { cw = cw - gcd(S); if (cw <= 0) { cw = max(S); if (cw == 0) return NULL; } }
 *       if (W(Si) >= cw) return Si;
 *     }
 *
 * Overloaded destinations are skipped. Weight 0 is never chosen, including right after a weight
 * change resets cw to 0 (we require weight > 0 explicitly, which the kernel gets from cw > 0).
 */
import { gcd, type SchedDest, type ScheduleInput, type Scheduler } from './types.js';

export class WeightedRoundRobinScheduler implements Scheduler {
  readonly name = 'wrr' as const;
  /** Cursor: -1 = list head. */
  private cl = -1;
  private cw = 0;
  private mw = 0;
  private di = 1;

  update(dests: readonly SchedDest[]): void {
    // ip_vs_wrr_dest_changed(): cursor back to the head, recompute gcd and max weight.
    let g = 0;
    let max = 0;
    for (const d of dests) {
      if (d.weight > 0) g = g === 0 ? d.weight : gcd(d.weight, g);
      if (d.weight > max) max = d.weight;
    }
    this.di = g === 0 ? 1 : g;
    this.mw = max;
    this.cl = -1;
    if (this.cw > this.mw) this.cw = 0;
  }

  schedule(dests: readonly SchedDest[], _input: ScheduleInput, _now?: number): SchedDest | undefined {
    const n = dests.length;
    if (n === 0 || this.mw === 0) return undefined;
    if (this.cl >= n) this.cl = -1;
    const start = this.cl;
    const startCw = this.cw;
    // One full cycle visits every (cursor, cw) pair at most once: n * (mw/di + 1) steps.
    let budget = (n + 1) * (Math.floor(this.mw / this.di) + 2);
    while (budget-- > 0) {
      if (this.cl === -1 || this.cl + 1 >= n) {
        // At (or wrapping to) the head: next pass with a lower current weight.
        this.cl = 0;
        this.cw -= this.di;
        if (this.cw <= 0) {
          this.cw = this.mw;
          if (this.cw === 0) {
            this.cl = -1;
            return undefined;
          }
        }
      } else {
        this.cl++;
      }
      const d = dests[this.cl] as SchedDest;
      if (!d.overloaded && d.weight > 0 && d.weight >= this.cw) return d;
      // "back to the start, and no dest is found": only when every destination is overloaded.
      if (this.cl === start && this.cw === startCw) break;
    }
    return undefined;
  }
}
