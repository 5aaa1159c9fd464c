import { EXIT } from '../exit-status.js';
import type { ErrorCodeSpec } from './spec.js';

/** Codes raised by src/control. Add new codes here; run `npm run docs:errors` afterwards. */
export const CONTROL_CODES = {
  // Placeholder so the record is never empty; replace when the module defines real codes.
  DIR_ERR_CONTROL_UNAVAILABLE: {
    message: 'control: {reason}',
    hint: 'see the log for the operation that failed',
    exitStatus: EXIT.FAILURE,
  },
} as const satisfies Record<string, ErrorCodeSpec>;
