/** The built-in checkers by check type. */
import type { CheckType } from '../../core/types.js';
import type { Checker } from '../types.js';
import { agentChecker } from './agent.js';
import { createCombinedChecker } from './combined.js';
import { connectChecker } from './connect.js';
import { createExternalChecker } from './external.js';
import { createHttpChecker } from './http.js';
import { createLeanHttpChecker } from './lean-http.js';
import { createNativeHttpChecker } from './native-http.js';
import { createNegotiateChecker } from './negotiate.js';
import { pingChecker } from './ping.js';
import { sshChecker } from './ssh.js';
import { offChecker, onChecker } from './static.js';
import { sharedProber } from '../../sys/probe.js';

export interface DefaultCheckerOptions {
  /** Plain-HTTP negotiate checks on the lean raw HTTP/1.0 path (lean-http.ts; default true) instead of got. Same rules. */
  readonly leanHttp?: boolean;
  /**
   * On the lean path, do the socket work on the native prober thread (native-http.ts,
   * native/probe.c) when the addon loads (default true); false, or no addon: Node sockets
   * (lean-http.ts). Same request, rules and details either way.
   */
  readonly nativeHttp?: boolean;
}

export function createDefaultCheckers(options: DefaultCheckerOptions = {}): Record<CheckType, Checker> {
  // Plain http goes to the lean raw HTTP/1.0 checker: on the native prober when the addon loads
  // (native-http.ts), else on Node sockets (lean-http.ts); https and http_proxy, and plain http
  // when leanHttp is false, to the got-based checker of http.ts.
  const viaGot = createHttpChecker();
  const prober = options.leanHttp !== false && options.nativeHttp !== false ? sharedProber() : undefined;
  const http =
    options.leanHttp === false ? viaGot : prober !== undefined ? createNativeHttpChecker(viaGot, prober) : createLeanHttpChecker(viaGot);
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
