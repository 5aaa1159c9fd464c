/**
 * checktype=on and checktype=off (ldirectord-spec 10.3): no I/O. `on` marks the real up every
 * round; `off` keeps it out of service (directord reads "off" as always down: no traffic).
 */
import type { Checker } from '../types.js';

export const onChecker: Checker = {
  run: () => Promise.resolve({ ok: true, detail: 'checktype=on: always up', durationMs: 0 }),
};

export const offChecker: Checker = {
  run: () => Promise.resolve({ ok: false, detail: 'checktype=off: always down', durationMs: 0 }),
};
