import { EXIT } from '../exit-status.js';
import type { ErrorCodeSpec } from './spec.js';

/** Codes raised by src/engine. Add new codes here; run `npm run docs:errors` afterwards. */
export const ENGINE_CODES = {
  // Placeholder so the record is never empty; replace when the module defines real codes.
  DIR_ERR_ENGINE_UNAVAILABLE: {
    message: 'engine: {reason}',
    hint: 'see the log for the operation that failed',
    exitStatus: EXIT.FAILURE,
  },
} as const satisfies Record<string, ErrorCodeSpec>;
