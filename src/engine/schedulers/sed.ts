/**
 * sed: shortest expected delay (ip_vs_sed.c): minimal (activeconns + 1) / weight. Inactive
 * connections do not count (ip_vs_sed_dest_overhead returns activeconns + 1).
 */
import type { SchedDest, ScheduleInput, Scheduler } from './types.js';
import { leastWeightedOverhead } from './weighted-least.js';

export function sedOverhead(d: SchedDest): number {
  return d.activeConns + 1;
}

export class ShortestExpectedDelayScheduler implements Scheduler {
  readonly name = 'sed' as const;

  update(): void {}

  schedule(dests: readonly SchedDest[], _input?: ScheduleInput, _now?: number): SchedDest | undefined {
    return leastWeightedOverhead(dests, sedOverhead);
  }
}
