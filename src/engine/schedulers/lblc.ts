/**
 * lblc: locality-based least connection (net/netfilter/ipvs/ip_vs_lblc.c; pseudo code in
 * seed-features 1.2). A table maps each destination IP to the real last chosen for it. The cached
 * real is kept while it has weight > 0 and is not "overloaded" in lblc's sense:
 *
 *     activeconns > weight AND some real m has m.activeconns * 2 < m.weight
 *
 * (is_overloaded() in current kernels; 2.4 used activeconns > 2*weight, seed-features 1.3).
 * Otherwise a weighted-least-connection pick (overhead activeconns*256 + inactconns, skipping
 * IP_VS_DEST_F_OVERLOAD and weight 0) replaces the entry.
 *
 * Expiry mirrors the kernel's garbage collection: every 60 s (CHECK_EXPIRE_INTERVAL) the table is
 * trimmed of entries unused for ENTRY_TIMEOUT (6 min) when it holds more than max_size entries,
 * and every 30th run (COUNT_FOR_FULL_EXPIRATION) entries unused for `lblc_expiration` (24 h default)
 * are dropped. The engine calls `expire()` on that interval.
 */
import { connOverhead, type SchedDest, type ScheduleInput, type Scheduler } from './types.js';
import { leastWeightedOverhead } from './weighted-least.js';

export const LBLC_CHECK_EXPIRE_INTERVAL_MS = 60_000;
export const LBLC_ENTRY_TIMEOUT_MS = 6 * 60_000;
export const LBLC_DEFAULT_EXPIRATION_MS = 24 * 3600_000;
export const LBLC_COUNT_FOR_FULL_EXPIRATION = 30;
/** IP_VS_LBLC_TAB_SIZE (1024) * 16. */
export const LBLC_MAX_SIZE = 1024 * 16;

/** lblc/lblcr's is_overloaded(). */
export function lblcOverloaded(d: SchedDest, dests: readonly SchedDest[]): boolean {
  if (d.activeConns > d.weight) {
    for (const m of dests) if (m.activeConns * 2 < m.weight) return true;
  }
  return false;
}

/**
 * The destination-address table lblc and lblcr share, with the kernel's garbage collection
 * (ip_vs_lblc_check_expire() / ip_vs_lblcr_check_expire() are the same code).
 */
export class LocalityTable<E extends { lastUse: number }> extends Map<string, E> {
  private counter = 1;

  /** Run every LBLC_CHECK_EXPIRE_INTERVAL_MS; `expirationMs` is lblc_expiration / lblcr_expiration. */
  expire(now: number, expirationMs: number): void {
    if (this.counter % LBLC_COUNT_FOR_FULL_EXPIRATION === 0) {
      for (const [k, e] of this) if (now - e.lastUse >= expirationMs) this.delete(k);
      this.counter = 1;
      return;
    }
    if (this.size <= LBLC_MAX_SIZE) {
      this.counter++;
      return;
    }
    let goal = Math.min(Math.floor(((this.size - LBLC_MAX_SIZE) * 4) / 3), LBLC_MAX_SIZE / 2);
    for (const [k, e] of this) {
      if (goal <= 0) break;
      if (now - e.lastUse < LBLC_ENTRY_TIMEOUT_MS) continue;
      this.delete(k);
      goal--;
    }
  }
}

interface LblcEntry {
  dest: SchedDest;
  lastUse: number;
}

export class LocalityLeastConnectionScheduler implements Scheduler {
  readonly name = 'lblc' as const;
  private readonly table = new LocalityTable<LblcEntry>();

  constructor(private readonly expirationMs = LBLC_DEFAULT_EXPIRATION_MS) {}

  update(dests: readonly SchedDest[]): void {
    // A removed destination's entries become invalid (the kernel checks IP_VS_DEST_F_AVAILABLE).
    const live = new Set(dests.map((d) => d.key));
    for (const [k, e] of this.table) if (!live.has(e.dest.key)) this.table.delete(k);
    // Entries hold the destination object; refresh them to the current objects.
    const byKey = new Map(dests.map((d) => [d.key, d] as const));
    for (const e of this.table.values()) e.dest = byKey.get(e.dest.key) ?? e.dest;
  }

  get size(): number {
    return this.table.size;
  }

  schedule(dests: readonly SchedDest[], input: ScheduleInput, now: number): SchedDest | undefined {
    const en = this.table.get(input.destAddress);
    if (en !== undefined) {
      en.lastUse = now;
      const d = en.dest;
      if (d.weight > 0 && !lblcOverloaded(d, dests) && dests.includes(d)) return d;
    }
    const d = leastWeightedOverhead(dests, connOverhead);
    if (d === undefined) return undefined;
    if (en !== undefined) en.dest = d;
    else this.table.set(input.destAddress, { dest: d, lastUse: now });
    return d;
  }

  /** ip_vs_lblc_check_expire(), run every LBLC_CHECK_EXPIRE_INTERVAL_MS. */
  expire(now: number): void {
    this.table.expire(now, this.expirationMs);
  }
}
