/**
 * fo: weighted failover (ip_vs_fo.c): all new connections go to the available destination with the
 * highest weight (strictly greater, so the first one wins ties); overloaded ones are skipped.
 */
import type { SchedDest, ScheduleInput, Scheduler } from './types.js';

export class WeightedFailoverScheduler implements Scheduler {
  readonly name = 'fo' as const;

  update(): void {}

  schedule(dests: readonly SchedDest[], _input?: ScheduleInput, _now?: number): SchedDest | undefined {
    let best: SchedDest | undefined;
    let hw = 0;
    for (const d of dests) {
      if (!d.overloaded && d.weight > hw) {
        best = d;
        hw = d.weight;
      }
    }
    return best;
  }
}
