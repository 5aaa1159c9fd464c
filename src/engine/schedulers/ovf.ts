/**
 * ovf: weighted overflow (ip_vs_ovf.c): the highest-weight destination whose active connections do
 * not exceed its weight; when it fills up (activeconns > weight) the next one in weight order takes
 * over. Overloaded and weight-0 destinations are skipped; the first one wins ties.
 */
import type { SchedDest, ScheduleInput, Scheduler } from './types.js';

export class WeightedOverflowScheduler implements Scheduler {
  readonly name = 'ovf' as const;

  update(): void {}

  schedule(dests: readonly SchedDest[], _input?: ScheduleInput, _now?: number): SchedDest | undefined {
    let h: SchedDest | undefined;
    for (const d of dests) {
      const w = d.weight;
      if (d.overloaded || d.activeConns > w || w === 0) continue;
      if (h === undefined || w > h.weight) h = d;
    }
    return h;
  }
}
