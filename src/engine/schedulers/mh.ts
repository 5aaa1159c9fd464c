/**
 * mh: Maglev hashing (net/netfilter/ipvs/ip_vs_mh.c, after Google's Maglev paper, section 3.4).
 *
 * - Table size: IP_VS_MH_TAB_SIZE = primes[CONFIG_IP_VS_MH_TAB_INDEX - 8] = 4093 with the default
 *   CONFIG_IP_VS_MH_TAB_INDEX=12.
 * - Per destination: offset = hash1(addr, port) % 4093, skip = hash2(addr, port) % 4092 + 1, where
 *   hashN = hsiphash(port + ntohl(addr_fold)) with the fixed keys of generate_hash_secret() (so
 *   every director builds the same table).
 * - turns = ((last_weight / gcd) >> rshift) or 1 when last_weight != 0, rshift = fls(max/gcd) - 5
 *   (IP_VS_MH_TAB_BITS = ilog2(4093) / 2 = 5) when positive; zero-weight (never weighted) reals
 *   get no slots. last_weight keeps a quiesced real's slots.
 * - Population (ip_vs_mh_populate): destinations take turns claiming their next free permutation
 *   slot, `turns` slots per round.
 * - Lookup: slot = hash1(client addr, port) % 4093 (port only with mh-port). The real there is
 *   refused when weight <= 0 or overloaded, unless mh-fallback, which probes
 *   hash1(addr, port, offset=roffset) for roffset = ihash..ihash+4092 (ip_vs_mh_get_fallback()).
 */
import type { SchedulerFlag } from '../../core/types.js';
import { hsiphash32, sipKey, type SipKey } from './siphash.js';
import { addressFold, gcd, isAvailable, type SchedDest, type ScheduleInput, type Scheduler } from './types.js';

export const MH_PRIMES = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071] as const;
export const MH_TAB_INDEX = 12 - 8;
export const MH_TAB_SIZE: number = MH_PRIMES[MH_TAB_INDEX] as number;
/** ilog2(4093) / 2 = 11 / 2 = 5. */
export const MH_TAB_BITS = Math.floor(Math.floor(Math.log2(MH_TAB_SIZE)) / 2);

// generate_hash_secret(): fixed keys.
const HASH1: SipKey = sipKey(2654435761n, 2654435761n);
const HASH2: SipKey = sipKey(2654435801n, 2654435761n);

/** ip_vs_mh_hashkey(): hsiphash(offset + ntohs(port) + ntohl(addr_fold)). */
export function mhHashKey(addressText: string, port: number, key: SipKey, offset: number): number {
  const v = (offset + port + addressFold(addressText)) >>> 0;
  return hsiphash32(v, key);
}

/** fls(): index of the most significant set bit, 1-based; 0 for 0. */
function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

/** The address/port a destination is hashed by (mh hashes the real, not the key string). */
export interface MhDestAddress {
  readonly address: string;
  readonly port: number;
}

export class MaglevHashingScheduler implements Scheduler {
  readonly name = 'mh' as const;
  private readonly fallback: boolean;
  private readonly usePort: boolean;
  private lookup: Int32Array = new Int32Array(MH_TAB_SIZE).fill(-1);

  constructor(
    flags: readonly SchedulerFlag[] = [],
    /** Resolves a destination's address and port; defaults to parsing `key` as addr:port. */
    private readonly addressOf: (d: SchedDest) => MhDestAddress = keyAddress,
  ) {
    this.fallback = flags.includes('mh-fallback');
    this.usePort = flags.includes('mh-port');
  }

  /** The slot table as destination indices (for tests). */
  table(): Int32Array {
    return this.lookup;
  }

  update(dests: readonly SchedDest[]): void {
    const size = MH_TAB_SIZE;
    const table = new Int32Array(size).fill(-1);
    let g = 0;
    let maxW = 0;
    for (const d of dests) {
      if (d.lastWeight > 0) g = g === 0 ? d.lastWeight : gcd(d.lastWeight, g);
      if (d.lastWeight > maxW) maxW = d.lastWeight;
    }
    let rshift = 0;
    if (g >= 1) {
      const shift = fls(Math.floor(maxW / g)) - MH_TAB_BITS;
      rshift = shift >= 0 ? shift : 0;
    }
    const setup = dests.map((d) => {
      const a = this.addressOf(d);
      const offset = mhHashKey(a.address, a.port, HASH1, 0) % size;
      const skip = (mhHashKey(a.address, a.port, HASH2, 0) % (size - 1)) + 1;
      const lw = d.lastWeight;
      const turns = g >= 1 ? Math.floor(lw / g) >> rshift || (lw !== 0 ? 1 : 0) : 0;
      return { perm: offset, skip, turns };
    });
    if (setup.some((s) => s.turns >= 1)) {
      const taken = new Uint8Array(size);
      let n = 0;
      while (n < size) {
        for (let i = 0; i < setup.length && n < size; ) {
          const s = setup[i] as { perm: number; skip: number; turns: number };
          if (s.turns < 1) {
            i++;
            continue;
          }
          let c = s.perm;
          while (taken[c] === 1) {
            s.perm += s.skip;
            if (s.perm >= size) s.perm -= size;
            c = s.perm;
          }
          taken[c] = 1;
          table[c] = i;
          n++;
          // dt_count: stay on this destination for `turns` slots.
          const st = s as { perm: number; skip: number; turns: number; dt?: number };
          st.dt = (st.dt ?? 0) + 1;
          if (st.dt >= s.turns) {
            st.dt = 0;
            i++;
          }
        }
      }
    }
    this.lookup = table;
  }

  schedule(dests: readonly SchedDest[], input: ScheduleInput, _now?: number): SchedDest | undefined {
    const port = this.usePort ? input.sourcePort : 0;
    const ihash = mhHashKey(input.sourceAddress, port, HASH1, 0) % MH_TAB_SIZE;
    const first = dests[this.lookup[ihash] as number];
    if (first === undefined) return undefined;
    if (isAvailable(first)) return first;
    if (!this.fallback) return undefined;
    for (let offset = 0; offset < MH_TAB_SIZE; offset++) {
      const roffset = (offset + ihash) % MH_TAB_SIZE;
      const d = dests[this.lookup[mhHashKey(input.sourceAddress, port, HASH1, roffset) % MH_TAB_SIZE] as number];
      if (d === undefined) break;
      if (isAvailable(d)) return d;
    }
    return undefined;
  }
}

function keyAddress(d: SchedDest): MhDestAddress {
  const k = d.key;
  const colon = k.lastIndexOf(':');
  let host = k.slice(0, colon);
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { address: host, port: Number(k.slice(colon + 1)) };
}
