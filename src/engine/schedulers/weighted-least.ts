/**
 * The "least overhead per weight" loop shared by wlc and sed (ip_vs_wlc.c, ip_vs_sed.c): take the
 * first available destination, then replace it whenever `loh * dest.weight > doh * least.weight`
 * (the division-free form of doh/dw < loh/lw). A weight-0 destination never wins: `loh * 0 > x`
 * is false for x >= 0.
 */
import type { SchedDest } from './types.js';

export function leastWeightedOverhead(dests: readonly SchedDest[], overhead: (d: SchedDest) => number): SchedDest | undefined {
  let least: SchedDest | undefined;
  let loh = 0;
  let i = 0;
  for (; i < dests.length; i++) {
    const d = dests[i] as SchedDest;
    if (!d.overloaded && d.weight > 0) {
      least = d;
      loh = overhead(d);
      break;
    }
  }
  if (least === undefined) return undefined;
  for (i++; i < dests.length; i++) {
    const d = dests[i] as SchedDest;
    if (d.overloaded) continue;
    const doh = overhead(d);
    if (loh * d.weight > doh * least.weight) {
      least = d;
      loh = doh;
    }
  }
  return least;
}
