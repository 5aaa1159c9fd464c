/**
 * nq: never queue (ip_vs_nq.c): an idle destination (activeconns == 0, weight > 0, not overloaded)
 * is returned at once, first in list order; otherwise it behaves like sed, minimal
 * (activeconns + 1) / weight.
 */
import type { SchedDest, ScheduleInput, Scheduler } from './types.js';

export class NeverQueueScheduler implements Scheduler {
  readonly name = 'nq' as const;

  update(): void {}

  schedule(dests: readonly SchedDest[], _input?: ScheduleInput, _now?: number): SchedDest | undefined {
    let least: SchedDest | undefined;
    let loh = 0;
    for (const d of dests) {
      if (d.overloaded || d.weight === 0) continue;
      const doh = d.activeConns + 1;
      if (d.activeConns === 0) return d;
      if (least === undefined || loh * d.weight > doh * least.weight) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
}
