/**
 * lblcr: locality-based least connection with replication (net/netfilter/ipvs/ip_vs_lblcr.c).
 * Each destination IP maps to a *set* of reals. A new connection goes to the set member with the
 * least overhead per weight (ip_vs_dest_set_min, skipping overloaded and weight-0 members). When that
 * member is missing or lblc-overloaded (see lblc.ts) a wlc pick over all reals is added to the set.
 * When the set has more than one member and was not modified for `lblcr_expiration` (24 h
 * default), its most loaded member is dropped (ip_vs_dest_set_max). Table expiry as in lblc.
 */
import { connOverhead, type SchedDest, type ScheduleInput, type Scheduler } from './types.js';
import { LBLC_DEFAULT_EXPIRATION_MS, LocalityTable, lblcOverloaded } from './lblc.js';
import { leastWeightedOverhead } from './weighted-least.js';

interface LblcrEntry {
  set: SchedDest[];
  lastMod: number;
  lastUse: number;
}

/** ip_vs_dest_set_max(): the member with the most overhead per weight, among weight > 0. */
function setMax(set: readonly SchedDest[]): SchedDest | undefined {
  let most: SchedDest | undefined;
  let moh = 0;
  for (const d of set) {
    if (d.weight <= 0) continue;
    const doh = connOverhead(d);
    if (most === undefined || moh * d.weight < doh * most.weight) {
      most = d;
      moh = doh;
    }
  }
  return most;
}

export class LocalityLeastConnectionReplicationScheduler implements Scheduler {
  readonly name = 'lblcr' as const;
  private readonly table = new LocalityTable<LblcrEntry>();

  constructor(private readonly expirationMs = LBLC_DEFAULT_EXPIRATION_MS) {}

  update(dests: readonly SchedDest[]): void {
    const byKey = new Map(dests.map((d) => [d.key, d] as const));
    for (const [k, e] of this.table) {
      e.set = e.set.flatMap((d) => {
        const cur = byKey.get(d.key);
        return cur === undefined ? [] : [cur];
      });
      if (e.set.length === 0) this.table.delete(k);
    }
  }

  /** The replica set for a destination address (for tests and diagnostics). */
  replicas(destAddress: string): readonly string[] {
    return (this.table.get(destAddress)?.set ?? []).map((d) => d.key);
  }

  schedule(dests: readonly SchedDest[], input: ScheduleInput, now: number): SchedDest | undefined {
    const en = this.table.get(input.destAddress);
    if (en !== undefined) {
      en.lastUse = now;
      const members = en.set.filter((d) => dests.includes(d));
      let dest = leastWeightedOverhead(members, connOverhead);
      if (en.set.length > 1 && now - en.lastMod > this.expirationMs) {
        const m = setMax(en.set);
        if (m !== undefined) {
          en.set = en.set.filter((d) => d !== m);
          en.lastMod = now;
          if (dest === m) dest = leastWeightedOverhead(en.set, connOverhead);
        }
      }
      if (dest !== undefined && !lblcOverloaded(dest, dests)) return dest;
      const fresh = leastWeightedOverhead(dests, connOverhead);
      if (fresh === undefined) return undefined;
      if (!en.set.includes(fresh)) {
        en.set.push(fresh);
        en.lastMod = now;
      }
      return fresh;
    }
    const d = leastWeightedOverhead(dests, connOverhead);
    if (d === undefined) return undefined;
    this.table.set(input.destAddress, { set: [d], lastMod: now, lastUse: now });
    return d;
  }

  /** ip_vs_lblcr_check_expire(), run every 60 s (the same collection as lblc's). */
  expire(now: number): void {
    this.table.expire(now, this.expirationMs);
  }
}
