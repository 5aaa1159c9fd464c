/**
 * checktype=N, "combined" (ldirectord-spec 10.3): a negotiate check every Nth round, a connect
 * check otherwise. Each real has a counter that starts very large (999999):
 * - counter >= N → negotiate; success resets it to 0, failure leaves it (negotiate again next time);
 * - otherwise → connect (TCP even for udp virtuals); success adds 1, failure resets it to 999999.
 * So after each successful negotiate come N connects, then a negotiate; N = 0 negotiates always.
 * The counter lives per target object (the monitor passes the same object every run).
 */
import type { CheckTarget, Checker } from '../types.js';
import { tcpConnect } from './connect.js';
import { negotiateChecker } from './negotiate.js';

const NEGOTIATE_NEXT = 999_999;

export function createCombinedChecker(negotiate: Checker = negotiateChecker): Checker {
  const counters = new WeakMap<CheckTarget, number>();
  return {
    async run(target, check, signal) {
      const every = check.negotiateEvery ?? 0;
      const counter = counters.get(target) ?? NEGOTIATE_NEXT;
      if (counter >= every) {
        const r = await negotiate.run(target, check, signal);
        if (r.ok) counters.set(target, 0);
        return { ...r, detail: `negotiate: ${r.detail}` };
      }
      const r = await tcpConnect(target, check, signal, check.timeoutMs);
      counters.set(target, r.ok ? counter + 1 : NEGOTIATE_NEXT);
      return { ...r, detail: `connect: ${r.detail}` };
    },
  };
}
