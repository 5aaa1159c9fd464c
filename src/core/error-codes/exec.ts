import { EXIT } from '../exit-status.js';
import type { ErrorCodeSpec } from './spec.js';

/** Codes raised by src/sys/exec.ts (running programs without a shell). Run `npm run docs:errors` after edits. */
export const EXEC_CODES = {
  DIR_ERR_EXEC_SPAWN: {
    message: 'cannot run {command}: {reason}',
    hint: 'check that the program exists, is executable, and is given as a path or found on PATH',
    exitStatus: EXIT.OS_ERROR,
  },
} as const satisfies Record<string, ErrorCodeSpec>;
