import { EXIT } from '../exit-status.js';
import type { ErrorCodeSpec } from './spec.js';

/** Codes raised by src/director. Add new codes here; run `npm run docs:errors` afterwards. */
export const DIRECTOR_CODES = {
  DIR_ERR_DIRECTOR_UNAVAILABLE: {
    message: 'director: {reason}',
    hint: 'see the log for the operation that failed',
    exitStatus: EXIT.FAILURE,
  },
  DIR_ERR_DIRECTOR_UNKNOWN_REAL: {
    message: 'no real server {real} in {virtual}',
    hint: 'list the configured reals with `directorctl status`; a real is named ADDRESS:PORT ([ADDRESS]:PORT for IPv6)',
    exitStatus: EXIT.USAGE,
  },
  DIR_ERR_DIRECTOR_UNKNOWN_VIRTUAL: {
    message: 'no virtual service {virtual}',
    hint: 'virtual services are named like tcp:192.0.2.1:80, udp:[2001:db8::1]:53 or fwm:1; see `directorctl status`',
    exitStatus: EXIT.USAGE,
  },
  DIR_ERR_DIRECTOR_BAD_WEIGHT: {
    message: 'invalid weight {weight}: must be an integer from 0 to 65535',
    hint: 'weight 0 quiesces the real (no new connections); use `drain` to wait for its connections to finish',
    exitStatus: EXIT.USAGE,
  },
  DIR_ERR_DIRECTOR_NO_VRRP: {
    message: 'failover needs VRRP, and no vrrp_instance is configured',
    hint: 'configure a vrrp_instance, or fail over by stopping this director',
    exitStatus: EXIT.USAGE,
  },
  DIR_ERR_DIRECTOR_NOT_STARTED: {
    message: 'director is {state}: cannot {operation}',
    hint: 'wait for the daemon to finish starting, or start it',
    exitStatus: EXIT.UNAVAILABLE,
  },
  DIR_ERR_DIRECTOR_STATE_FILE: {
    message: 'state file {path}: {reason}',
    hint: 'check the directory exists and is writable by directord; a damaged file is ignored at start',
    exitStatus: EXIT.IO_ERROR,
  },
  DIR_ERR_DIRECTOR_MAIL: {
    message: 'e-mail alert to {to} failed: {reason}',
    hint: 'check the smtp= host accepts mail from this director, or that /usr/sbin/sendmail works',
    exitStatus: EXIT.TEMPFAIL,
  },
} as const satisfies Record<string, ErrorCodeSpec>;
