/** Builders for EngineStats values in formatter tests (fields not under test get neutral values). */
import type { Counters, Rates, RealStats, ServiceStats } from '../../../src/engine/model.js';
import type { ForwardMethod, SchedulerFlag, SchedulerName } from '../../../src/core/types.js';

export const ZERO_COUNTERS: Counters = { conns: 0, inPackets: 0, outPackets: 0, inBytes: 0, outBytes: 0 };
export const ZERO_RATES: Rates = { cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };

export function counters(conns: number, inPackets: number, outPackets: number, inBytes: number, outBytes: number): Counters {
  return { conns, inPackets, outPackets, inBytes, outBytes };
}

export function rates(cps: number, inPps: number, outPps: number, inBps: number, outBps: number): Rates {
  return { cps, inPps, outPps, inBps, outBps };
}

export function real(
  address: string,
  port: number,
  forward: ForwardMethod,
  weight: number,
  activeConns: number,
  inactiveConns: number,
  extra: Partial<RealStats> = {},
): RealStats {
  return {
    key: address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`,
    address,
    port,
    forward,
    weight,
    upperThreshold: 0,
    lowerThreshold: 0,
    isFallback: false,
    activeConns,
    inactiveConns,
    persistentConns: 0,
    overloaded: false,
    counters: ZERO_COUNTERS,
    rates: ZERO_RATES,
    ...extra,
  };
}

export function service(
  protocol: 'tcp' | 'udp',
  address: string,
  port: number,
  scheduler: SchedulerName,
  reals: readonly RealStats[],
  extra: Partial<ServiceStats> = {},
): ServiceStats {
  const family = address.includes(':') ? 6 : 4;
  return {
    key: `${protocol}:${family === 6 ? `[${address}]` : address}:${port}`,
    protocol,
    family,
    address,
    port,
    scheduler,
    schedulerFlags: [] as SchedulerFlag[],
    ops: false,
    reals,
    counters: ZERO_COUNTERS,
    rates: ZERO_RATES,
    errors: { noRealAvailable: 0, connectFailures: 0 },
    ...extra,
  };
}

export function fwmService(fwmark: number, family: 4 | 6, scheduler: SchedulerName, reals: readonly RealStats[], extra: Partial<ServiceStats> = {}): ServiceStats {
  return {
    key: family === 6 ? `fwm6:${fwmark}` : `fwm:${fwmark}`,
    protocol: 'fwm',
    family,
    port: 0,
    fwmark,
    scheduler,
    schedulerFlags: [],
    ops: false,
    reals,
    counters: ZERO_COUNTERS,
    rates: ZERO_RATES,
    errors: { noRealAvailable: 0, connectFailures: 0 },
    ...extra,
  };
}
