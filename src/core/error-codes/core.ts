import { EXIT } from '../exit-status.js';
import type { ErrorCodeSpec } from './spec.js';

/** Codes raised by the vocabulary in src/core (addresses, durations, clocks). */
export const CORE_CODES = {
  DIR_ERR_INVALID_IP: {
    message: 'invalid IP address "{input}"',
    hint: 'write an IPv4 address as 192.0.2.1 or an IPv6 address as 2001:db8::1',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_INVALID_CIDR: {
    message: 'invalid network prefix "{input}": {reason}',
    hint: 'write a prefix as ADDRESS/LENGTH, e.g. 192.0.2.0/24 or 2001:db8::/64',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_INVALID_PORT: {
    message: 'invalid port "{input}"',
    hint: 'a port is a whole number from 0 to 65535',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_INVALID_ENDPOINT: {
    message: 'invalid endpoint "{input}": {reason}',
    hint: 'write IPv4 endpoints as 192.0.2.1:80 and IPv6 endpoints in brackets as [2001:db8::1]:80',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_INVALID_DURATION: {
    message: 'invalid duration "{input}"',
    hint: 'write a duration as a number of seconds or with a unit: 250ms, 5s, 2m, 1h, 1d',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_INTERNAL: {
    message: 'internal error: {reason}',
    hint: 'this is a bug in directord; please report it with the log lines around it',
    exitStatus: EXIT.SOFTWARE,
  },
} as const satisfies Record<string, ErrorCodeSpec>;
