/** Scheduler factory: one file per IPVS scheduler, created by ipvsadm name. */
import type { SchedulerFlag, SchedulerName } from '../../core/types.js';
import { DestinationHashingScheduler } from './dh.js';
import { WeightedFailoverScheduler } from './fo.js';
import { LocalityLeastConnectionScheduler } from './lblc.js';
import { LocalityLeastConnectionReplicationScheduler } from './lblcr.js';
import { LeastConnectionScheduler } from './lc.js';
import { MaglevHashingScheduler } from './mh.js';
import { NeverQueueScheduler } from './nq.js';
import { WeightedOverflowScheduler } from './ovf.js';
import { RoundRobinScheduler } from './rr.js';
import { ShortestExpectedDelayScheduler } from './sed.js';
import { SourceHashingScheduler } from './sh.js';
import type { Scheduler } from './types.js';
import { WeightedLeastConnectionScheduler } from './wlc.js';
import { WeightedRoundRobinScheduler } from './wrr.js';

export type { SchedDest, ScheduleInput, Scheduler } from './types.js';

export function createScheduler(name: SchedulerName, flags: readonly SchedulerFlag[] = []): Scheduler {
  switch (name) {
    case 'rr':
      return new RoundRobinScheduler();
    case 'wrr':
      return new WeightedRoundRobinScheduler();
    case 'lc':
      return new LeastConnectionScheduler();
    case 'wlc':
      return new WeightedLeastConnectionScheduler();
    case 'sed':
      return new ShortestExpectedDelayScheduler();
    case 'nq':
      return new NeverQueueScheduler();
    case 'sh':
      return new SourceHashingScheduler(flags);
    case 'dh':
      return new DestinationHashingScheduler();
    case 'lblc':
      return new LocalityLeastConnectionScheduler();
    case 'lblcr':
      return new LocalityLeastConnectionReplicationScheduler();
    case 'mh':
      return new MaglevHashingScheduler(flags);
    case 'fo':
      return new WeightedFailoverScheduler();
    case 'ovf':
      return new WeightedOverflowScheduler();
  }
}

/** Schedulers whose state needs the periodic 60 s expiry (lblc, lblcr). */
export function expiringScheduler(s: Scheduler): { expire(now: number): void } | undefined {
  return s instanceof LocalityLeastConnectionScheduler || s instanceof LocalityLeastConnectionReplicationScheduler ? s : undefined;
}
