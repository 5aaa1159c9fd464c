import { EXIT } from '../exit-status.js';
import type { ErrorCodeSpec } from './spec.js';

/**
 * Codes raised by src/health. Check outcomes are values (CheckResult), not errors; these codes
 * name the few situations where the monitor itself cannot do what it was asked.
 * Run `npm run docs:errors` after edits.
 */
export const HEALTH_CODES = {
  DIR_ERR_HEALTH_UNKNOWN_TARGET: {
    message: 'no health check target {key}',
    hint: 'list targets with `directorctl status`; keys look like VIRTUAL/REAL, e.g. tcp:192.0.2.1:80/192.0.2.10:80',
    exitStatus: EXIT.USAGE,
  },
  DIR_ERR_HEALTH_NO_CHECKER: {
    message: 'no checker for checktype={type}',
    hint: 'use one of connect, negotiate, external, external-perl, ping, on, off, combined (checktype=N), ssh, agent',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
} as const satisfies Record<string, ErrorCodeSpec>;
