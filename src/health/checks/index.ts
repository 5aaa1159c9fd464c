/** The built-in checkers by check type. */
import type { CheckType } from '../../core/types.js';
import type { Checker } from '../types.js';
import { agentChecker } from './agent.js';
import { createCombinedChecker } from './combined.js';
import { connectChecker } from './connect.js';
import { createExternalChecker } from './external.js';
import { createHttpChecker } from './http.js';
import { createNegotiateChecker } from './negotiate.js';
import { pingChecker } from './ping.js';
import { sshChecker } from './ssh.js';
import { offChecker, onChecker } from './static.js';

export interface DefaultCheckerOptions {
  /** Plain-HTTP negotiate checks through node:http instead of got (same rules; cheaper per check). */
  readonly leanHttp?: boolean;
}

export function createDefaultCheckers(options: DefaultCheckerOptions = {}): Record<CheckType, Checker> {
  const http = createHttpChecker({ lean: options.leanHttp ?? true });
  const negotiate = createNegotiateChecker({ http, https: http, http_proxy: http });
  return {
    connect: connectChecker,
    negotiate,
    combined: createCombinedChecker(negotiate),
    external: createExternalChecker({ perl: false }),
    'external-perl': createExternalChecker({ perl: true }),
    ping: pingChecker,
    on: onChecker,
    off: offChecker,
    ssh: sshChecker,
    agent: agentChecker,
  };
}
