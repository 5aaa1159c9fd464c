import { EXIT } from '../exit-status.js';
import type { ErrorCodeSpec } from './spec.js';

/** Codes raised by src/daemon. Add new codes here; run `npm run docs:errors` afterwards. */
export const DAEMON_CODES = {
  // Placeholder so the record is never empty; replace when the module defines real codes.
  DIR_ERR_DAEMON_UNAVAILABLE: {
    message: 'daemon: {reason}',
    hint: 'see the log for the operation that failed',
    exitStatus: EXIT.FAILURE,
  },
} as const satisfies Record<string, ErrorCodeSpec>;
