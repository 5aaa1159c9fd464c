import { EXIT } from '../exit-status.js';
import type { ErrorCodeSpec } from './spec.js';

/** Codes raised by src/engine. Add new codes here; run `npm run docs:errors` afterwards. */
export const ENGINE_CODES = {
  DIR_ERR_ENGINE_UNAVAILABLE: {
    message: 'engine: {reason}',
    hint: 'see the log for the operation that failed',
    exitStatus: EXIT.FAILURE,
  },
  DIR_ERR_ENGINE_UNSUPPORTED: {
    message: 'engine {engine}: service {service}: {feature} is not supported: {reason}',
    hint: 'use the ipvs or nftables engine for this service, or change the virtual service so the embedded engine can proxy it',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_ENGINE_LISTEN: {
    message: 'engine: service {service}: cannot listen on {endpoint}: {reason}',
    hint: 'check that no other process holds the address and port, and that the address is configured (or ip_nonlocal_bind is set)',
    exitStatus: EXIT.OS_ERROR,
  },
  DIR_ERR_ENGINE_BAD_RULE: {
    message: 'engine: service {service}: L7 rule pattern "{pattern}" is not usable: {reason}',
    hint: 'write the pattern as an extended regular expression matched against the HTTP request path, e.g. /images/.*',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_ENGINE_CLOSED: {
    message: 'engine: {operation} after close()',
    hint: 'create a new engine; a closed engine does not reopen',
    exitStatus: EXIT.SOFTWARE,
  },
} as const satisfies Record<string, ErrorCodeSpec>;
