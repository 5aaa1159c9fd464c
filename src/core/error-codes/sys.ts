import { EXIT } from '../exit-status.js';
import type { ErrorCodeSpec } from './spec.js';

/** Codes raised by src/sys. Add new codes here; run `npm run docs:errors` afterwards. */
export const SYS_CODES = {
  DIR_ERR_SYS_UNAVAILABLE: {
    message: 'sys: {reason}',
    hint: 'see the log for the operation that failed',
    exitStatus: EXIT.FAILURE,
  },
  DIR_ERR_SYS_ADDON_MISSING: {
    message: 'the native network addon could not be loaded from {path}: {reason}',
    hint: 'build it with `node scripts/build-addon.mjs` (needs a C compiler, make and the Node headers)',
    exitStatus: EXIT.SOFTWARE,
  },
  DIR_ERR_SYS_PERMISSION: {
    message: '{syscall} failed: {errno} ({reason})',
    hint: 'raw sockets, AF_PACKET and address changes need root or CAP_NET_RAW + CAP_NET_ADMIN',
    exitStatus: EXIT.NO_PERMISSION,
  },
  DIR_ERR_SYS_SOCKET: {
    message: '{syscall} failed: {errno} ({reason})',
    hint: 'see the errno: EADDRNOTAVAIL means the address is not configured, ENODEV a missing interface',
    exitStatus: EXIT.OS_ERROR,
  },
  DIR_ERR_SYS_INTERFACE: {
    message: 'interface "{name}": {reason}',
    hint: 'check the interface name with `ip link` (inside the right network namespace)',
    exitStatus: EXIT.OS_ERROR,
  },
  DIR_ERR_SYS_NETLINK: {
    message: 'netlink {operation} failed: {errno} ({reason})',
    hint: 'EEXIST/EADDRNOTAVAIL are expected for repeated adds/deletes; EPERM needs CAP_NET_ADMIN',
    exitStatus: EXIT.OS_ERROR,
  },
  DIR_ERR_SYS_COMMAND: {
    message: 'command {command} failed: {reason}',
    hint: 'run the command by hand to see its full output',
    exitStatus: EXIT.OS_ERROR,
  },
  DIR_ERR_SYS_PROBE: {
    message: 'native probe {operation} failed: {reason}',
    hint: 'probes need a numeric IPv4/IPv6 address, a port 1-65535 and the addon built with probe.c (node scripts/build-addon.mjs)',
    exitStatus: EXIT.SOFTWARE,
  },
} as const satisfies Record<string, ErrorCodeSpec>;
