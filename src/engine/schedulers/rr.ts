/**
 * rr: round robin (net/netfilter/ipvs/ip_vs_rr.c). Starting after the last chosen destination, take
 * the next one that is not IP_VS_DEST_F_OVERLOAD and has weight > 0; wrap around once.
 */
import type { SchedDest, ScheduleInput, Scheduler } from './types.js';

export class RoundRobinScheduler implements Scheduler {
  readonly name = 'rr' as const;
  /** Index of the last chosen destination; -1 = the list head (ip_vs_rr keeps a list pointer). */
  private last = -1;
  private lastKey: string | undefined;

  update(dests: readonly SchedDest[]): void {
    // ip_vs_rr_del_dest moves the cursor back when the current destination goes; keep it on the
    // same destination by key when it still exists.
    if (this.lastKey === undefined) return;
    const i = dests.findIndex((d) => d.key === this.lastKey);
    this.last = i;
    if (i < 0) this.lastKey = undefined;
  }

  schedule(dests: readonly SchedDest[], _input: ScheduleInput, _now?: number): SchedDest | undefined {
    const n = dests.length;
    if (n === 0) return undefined;
    const start = this.last >= n ? -1 : this.last;
    for (let step = 1; step <= n; step++) {
      const i = (start + step) % n;
      const d = dests[i] as SchedDest;
      if (!d.overloaded && d.weight > 0) {
        this.last = i;
        this.lastKey = d.key;
        return d;
      }
    }
    return undefined;
  }
}
