/**
 * Typed access to the addon's native TCP relay (native/relay.c): relay threads that accept on the
 * engine's listening sockets, connect to the real the engine chose and move the bytes, reporting
 * each connection's life as batched events. The engine (src/engine/embedded/native.ts) keeps every
 * decision; this file only names the calls and decodes the event records.
 */
import { formatIpBytes } from '../core/ip.js';
import { loadAddon } from './rawnet.js';

/** Event record types (native/relay.c enum EV_*). */
export const RelayEvent = {
  ACCEPTED: 1,
  ESTABLISHED: 2,
  CONNECT_FAILED: 3,
  CLIENT_FIN: 4,
  REAL_FIN: 5,
  CLOSED: 6,
  ACCEPT_ERROR: 7,
} as const;

/** Words per event record: [type, id, arg, family<<16|port, address words x4]. */
export const RELAY_RECORD_WORDS = 8;
/** Numbers per slot in relayCounters(): in packets, in bytes, out packets, out bytes. */
export const RELAY_SLOT_NUMBERS = 4;

/** An opaque relay handle (an N-API external). */
export type RelayHandle = { readonly __relay: unique symbol };

interface RelayAddon {
  relayCreate(onEvents: () => void, threads: number): RelayHandle;
  relayListen(handle: RelayHandle, listenerId: number, address: string, port: number, backlog: number, freebind: boolean): void;
  relayUnlisten(handle: RelayHandle, listenerId: number): void;
  relayTarget(handle: RelayHandle, address: string, port: number): number;
  relayConnect(handle: RelayHandle, id: number, slot: number, header?: Buffer): void;
  relayReset(handle: RelayHandle, id: number): void;
  relayDrain(handle: RelayHandle, out: Uint32Array): number;
  relayCounters(handle: RelayHandle, out: Float64Array): number;
  relayActivity(handle: RelayHandle): Uint32Array;
  relayRef(handle: RelayHandle, keepAlive: boolean): void;
  relayClose(handle: RelayHandle): void;
}

/** The relay part of the addon, or the reason it cannot be used (addon not built or too old). */
export function loadRelayAddon(): RelayAddon | Error {
  try {
    const addon = loadAddon() as unknown as Partial<RelayAddon>;
    if (typeof addon.relayCreate !== 'function') return new Error('the addon has no relay (rebuild it: node scripts/build-addon.mjs)');
    return addon as RelayAddon;
  } catch (err) {
    return err as Error;
  }
}

/** Formats the source address of an ACCEPTED record (words 3..7) as text. */
export function recordAddress(rec: Uint32Array, at: number): { address: string; port: number; family: 4 | 6 } {
  const famport = rec[at + 3] as number;
  const family = famport >>> 16 === 6 ? 6 : 4;
  const port = famport & 0xffff;
  // The words hold the address bytes in network order, read back as little-endian uint32s.
  const bytes = new Uint8Array(rec.buffer, rec.byteOffset + (at + 4) * 4, family === 4 ? 4 : 16);
  if (family === 4) return { address: `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`, port, family };
  return { address: formatIpBytes(bytes), port, family };
}
