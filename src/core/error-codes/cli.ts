import { EXIT } from '../exit-status.js';
import type { ErrorCodeSpec } from './spec.js';

/** Codes raised by src/cli. Add new codes here; run `npm run docs:errors` afterwards. */
export const CLI_CODES = {
  DIR_ERR_CLI_USAGE: {
    message: '{reason}',
    hint: 'run directorctl --help for the commands and options',
    exitStatus: EXIT.USAGE,
  },
  DIR_ERR_CLI_UNKNOWN_COMMAND: {
    message: 'unknown command "{command}"',
    hint: 'run directorctl --help; ipvsadm-style options (-L -n, --stats, -a, ...) are accepted too',
    exitStatus: EXIT.USAGE,
  },
  DIR_ERR_CLI_RESTORE_SYNTAX: {
    message: 'restore input line {line}: {reason}',
    hint: 'each line is an ipvsadm command without the word ipvsadm, as -S / ipvsadm-save writes them',
    exitStatus: EXIT.CONFIG_SYNTAX,
  },
  DIR_ERR_CLI_NO_CONFIG: {
    message: 'no config file found (tried {tried})',
    hint: 'pass the config with -f FILE',
    exitStatus: EXIT.NO_INPUT,
  },
  DIR_ERR_CLI_COMMAND_FAILED: {
    message: '{command} failed: {reason}',
    hint: 'see the messages above and the daemon log',
    exitStatus: EXIT.FAILURE,
  },
} as const satisfies Record<string, ErrorCodeSpec>;
