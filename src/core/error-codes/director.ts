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
  DIR_ERR_DIRECTOR_RUNTIME_FWMARK: {
    message: 'cannot add or edit firewall-mark service {service} at run time',
    hint: 'the embedded engine never sees firewall marks (packets are marked in the kernel); use -t/-u ADDRESS:PORT, or configure the fwmark service for the ipvs engine',
    exitStatus: EXIT.USAGE,
  },
  DIR_ERR_DIRECTOR_RUNTIME_FAMILY: {
    message: 'real server {real} is not of the address family of {service}',
    hint: 'an IPv4 service takes IPv4 reals and an IPv6 service IPv6 reals',
    exitStatus: EXIT.USAGE,
  },
} as const satisfies Record<string, ErrorCodeSpec>;
