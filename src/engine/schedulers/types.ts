/**
 * The scheduler contract of the embedded engine, shaped after the kernel's `struct ip_vs_scheduler`
 * (init_service / update_service / schedule; seed-features 1.1): a scheduler picks the real for a
 * *new* connection only, and `update()` runs whenever the list of reals or a weight changes (IPVS
 * calls add_dest/del_dest/upd_dest then).
 *
 * Schedulers are pure: they read the destinations' counters and flags, never touch sockets or time
 * except through the `now` they are given, so they are unit-tested with plain objects.
 */
import type { SchedulerFlag, SchedulerName } from '../../core/types.js';

/** What a scheduler may look at for one real (an `ip_vs_dest`). */
export interface SchedDest {
  readonly key: string;
  /** Current weight; 0 = quiesced (no new connections). */
  readonly weight: number;
  /**
   * The last non-zero weight (IPVS `dest->last_weight`): mh keeps a quiesced server's table slots
   * so clients come back to it when the weight returns (ip_vs_mh.c uses last_weight for turns).
   */
  readonly lastWeight: number;
  /** IPVS ActiveConn. */
  readonly activeConns: number;
  /** IPVS InActConn. */
  readonly inactiveConns: number;
  /** IPVS IP_VS_DEST_F_OVERLOAD: set by the -x/-y thresholds; every scheduler skips it. */
  readonly overloaded: boolean;
}

/** The packet facts a scheduler hashes on. */
export interface ScheduleInput {
  /** Client address, canonical text. */
  readonly sourceAddress: string;
  readonly sourcePort: number;
  /** Virtual (destination) address, canonical text. */
  readonly destAddress: string;
  readonly destPort: number;
}

/** One scheduler instance per virtual service (per L7 rule for content switching). */
export interface Scheduler {
  readonly name: SchedulerName;
  /** update_service: the destination list or a weight changed. */
  update(dests: readonly SchedDest[]): void;
  /** schedule(): the destination for a new connection, or undefined ("no destination available"). */
  schedule(dests: readonly SchedDest[], input: ScheduleInput, now: number): SchedDest | undefined;
}

/** Options every scheduler factory receives. */
export interface SchedulerOptions {
  readonly flags: readonly SchedulerFlag[];
}

/**
 * ip_vs_dest_conn_overhead() (include/net/ip_vs.h): `(activeconns << 8) + inactconns`. Active
 * connections weigh 256 times an inactive one (the HOWTO's "ActConn * K + InActConn", K = 256 in
 * current kernels; seed-features 1.2).
 */
export function connOverhead(d: SchedDest): number {
  return d.activeConns * 256 + d.inactiveConns;
}

/** The kernel's GOLDEN_RATIO_32 (include/linux/hash.h). */
const GOLDEN_RATIO_32 = 0x61c88647;

/** hash_32(val, bits) from include/linux/hash.h: `(val * GOLDEN_RATIO_32) >> (32 - bits)`. */
export function hash32(val: number, bits: number): number {
  return Math.imul(val >>> 0, GOLDEN_RATIO_32) >>> (32 - bits);
}

const foldCache = new Map<string, number>();

/**
 * The address as the kernel folds it into 32 bits, in host order: IPv4 is `ntohl(addr)`, IPv6 is
 * `ip6[0]^ip6[1]^ip6[2]^ip6[3]` (ip_vs_sh.c / ip_vs_dh.c / ip_vs_mh.c `addr_fold`). The XOR of
 * network-order words followed by ntohl equals the XOR of host-order words.
 */
export function addressFold(text: string): number {
  const cached = foldCache.get(text);
  if (cached !== undefined) return cached;
  let fold = 0;
  if (!text.includes(':')) {
    const parts = text.split('.');
    fold = ((Number(parts[0]) << 24) | (Number(parts[1]) << 16) | (Number(parts[2]) << 8) | Number(parts[3])) >>> 0;
  } else {
    const words = expandV6(text);
    for (let i = 0; i < 4; i++) fold ^= ((words[i * 2] as number) << 16) | (words[i * 2 + 1] as number);
    fold >>>= 0;
  }
  if (foldCache.size > 65536) foldCache.clear();
  foldCache.set(text, fold);
  return fold;
}

/** Eight 16-bit groups of an IPv6 text address (compressed or embedded-IPv4 forms). */
function expandV6(text: string): number[] {
  let t = text;
  const groups: number[] = [];
  const lastColon = t.lastIndexOf(':');
  let tail: number[] = [];
  if (t.indexOf('.', lastColon) > 0) {
    const v4 = t.slice(lastColon + 1).split('.').map(Number);
    tail = [((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0)];
    t = t.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = t.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':').map((g) => parseInt(g, 16));
  const r = rest === undefined || rest === '' ? [] : rest.split(':').map((g) => parseInt(g, 16));
  groups.push(...h);
  if (rest !== undefined) for (let i = h.length + r.length; i < 8; i++) groups.push(0);
  groups.push(...r);
  if (tail.length === 2) {
    groups[6] = tail[0] as number;
    groups[7] = tail[1] as number;
  }
  return groups;
}

/** Greatest common divisor. */
export function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) {
    const t = x % y;
    x = y;
    y = t;
  }
  return x;
}

/** Is this destination usable for a new connection (weight > 0 and not IP_VS_DEST_F_OVERLOAD)? */
export function isAvailable(d: SchedDest): boolean {
  return d.weight > 0 && !d.overloaded;
}
