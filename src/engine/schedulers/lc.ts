/**
 * lc: least connection (net/netfilter/ipvs/ip_vs_lc.c). The destination with the smallest
 * overhead `activeconns*256 + inactconns`; skips IP_VS_DEST_F_OVERLOAD and weight 0; the first one
 * wins ties (strict `<`).
 */
import { connOverhead, type SchedDest, type ScheduleInput, type Scheduler } from './types.js';

export class LeastConnectionScheduler implements Scheduler {
  readonly name = 'lc' as const;

  update(): void {}

  schedule(dests: readonly SchedDest[], _input?: ScheduleInput, _now?: number): SchedDest | undefined {
    let least: SchedDest | undefined;
    let loh = 0;
    for (const d of dests) {
      if (d.overloaded || d.weight === 0) continue;
      const doh = connOverhead(d);
      if (least === undefined || doh < loh) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
}
