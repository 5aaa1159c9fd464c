/** wlc: weighted least connection (ip_vs_wlc.c): minimal (activeconns*256 + inactconns) / weight. */
import { connOverhead, type SchedDest, type ScheduleInput, type Scheduler } from './types.js';
import { leastWeightedOverhead } from './weighted-least.js';

export class WeightedLeastConnectionScheduler implements Scheduler {
  readonly name = 'wlc' as const;

  update(): void {}

  schedule(dests: readonly SchedDest[], _input?: ScheduleInput, _now?: number): SchedDest | undefined {
    return leastWeightedOverhead(dests, connOverhead);
  }
}
