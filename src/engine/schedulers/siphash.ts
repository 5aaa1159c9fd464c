/**
 * hsiphash() as built on 64-bit kernels (lib/siphash.c): SipHash-1-3 with a 128-bit key, the
 * 64-bit result truncated to u32. Only the 4-byte input form ip_vs_mh.c needs is implemented.
 *
 * Two versions: `hsiphash32` works on 32-bit halves (fast; mh hashes on every new connection and up
 * to 4093 times with mh-fallback) and `hsiphash32Reference` is the plain BigInt transcription of
 * the C code; a unit test checks they agree.
 */
const MASK = (1n << 64n) - 1n;
const C0 = 0x736f6d6570736575n;
const C1 = 0x646f72616e646f6dn;
const C2 = 0x6c7967656e657261n;
const C3 = 0x7465646279746573n;

function rotl(x: bigint, b: bigint): bigint {
  return ((x << b) | (x >> (64n - b))) & MASK;
}

/** hsiphash(&v, 4, key) with key = [k0, k1], BigInt transcription of HPREAMBLE/HPOSTAMBLE. */
export function hsiphash32Reference(value: number, k0: bigint, k1: bigint): number {
  let v0 = C0 ^ k0;
  let v1 = C1 ^ k1;
  let v2 = C2 ^ k0;
  let v3 = C3 ^ k1;
  const b = (4n << 56n) | BigInt(value >>> 0);
  const round = (): void => {
    v0 = (v0 + v1) & MASK;
    v1 = rotl(v1, 13n);
    v1 ^= v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & MASK;
    v3 = rotl(v3, 16n);
    v3 ^= v2;
    v0 = (v0 + v3) & MASK;
    v3 = rotl(v3, 21n);
    v3 ^= v0;
    v2 = (v2 + v1) & MASK;
    v1 = rotl(v1, 17n);
    v1 ^= v2;
    v2 = rotl(v2, 32n);
  };
  v3 ^= b;
  round();
  v0 ^= b;
  v2 ^= 0xffn;
  round();
  round();
  round();
  return Number((v0 ^ v1 ^ v2 ^ v3) & 0xffffffffn);
}

// State as 8 uint32 halves: [v0h, v0l, v1h, v1l, v2h, v2l, v3h, v3l].
const s = new Uint32Array(8);

function add(dst: number, src: number): void {
  const lo = (s[dst + 1] as number) + (s[src + 1] as number);
  const carry = lo > 0xffffffff ? 1 : 0;
  s[dst + 1] = lo;
  s[dst] = (s[dst] as number) + (s[src] as number) + carry;
}

function rot(i: number, b: number): void {
  const hi = s[i] as number;
  const lo = s[i + 1] as number;
  if (b === 32) {
    s[i] = lo;
    s[i + 1] = hi;
    return;
  }
  s[i] = (hi << b) | (lo >>> (32 - b));
  s[i + 1] = (lo << b) | (hi >>> (32 - b));
}

function xor(dst: number, src: number): void {
  s[dst] = (s[dst] as number) ^ (s[src] as number);
  s[dst + 1] = (s[dst + 1] as number) ^ (s[src + 1] as number);
}

function sipround(): void {
  add(0, 2);
  rot(2, 13);
  xor(2, 0);
  rot(0, 32);
  add(4, 6);
  rot(6, 16);
  xor(6, 4);
  add(0, 6);
  rot(6, 21);
  xor(6, 0);
  add(4, 2);
  rot(2, 17);
  xor(2, 4);
  rot(4, 32);
}

/** A key split into 32-bit halves once. */
export interface SipKey {
  readonly k0h: number;
  readonly k0l: number;
  readonly k1h: number;
  readonly k1l: number;
}

export function sipKey(k0: bigint, k1: bigint): SipKey {
  return {
    k0h: Number((k0 >> 32n) & 0xffffffffn),
    k0l: Number(k0 & 0xffffffffn),
    k1h: Number((k1 >> 32n) & 0xffffffffn),
    k1l: Number(k1 & 0xffffffffn),
  };
}

/** hsiphash(&v, 4, key), fast path. */
export function hsiphash32(value: number, key: SipKey): number {
  s[0] = 0x736f6d65 ^ key.k0h;
  s[1] = 0x70736575 ^ key.k0l;
  s[2] = 0x646f7261 ^ key.k1h;
  s[3] = 0x6e646f6d ^ key.k1l;
  s[4] = 0x6c796765 ^ key.k0h;
  s[5] = 0x6e657261 ^ key.k0l;
  s[6] = 0x74656462 ^ key.k1h;
  s[7] = 0x79746573 ^ key.k1l;
  // b = (4 << 56) | value
  const bh = 0x04000000;
  const bl = value >>> 0;
  s[6] = (s[6] as number) ^ bh;
  s[7] = (s[7] as number) ^ bl;
  sipround();
  s[0] = (s[0] as number) ^ bh;
  s[1] = (s[1] as number) ^ bl;
  s[5] = (s[5] as number) ^ 0xff;
  sipround();
  sipround();
  sipround();
  return ((s[1] as number) ^ (s[3] as number) ^ (s[5] as number) ^ (s[7] as number)) >>> 0;
}
