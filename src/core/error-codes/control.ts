import { EXIT } from '../exit-status.js';
import type { ErrorCodeSpec } from './spec.js';

/** Codes raised by src/control. Add new codes here; run `npm run docs:errors` afterwards. */
export const CONTROL_CODES = {
  /* Connecting (client side). */
  DIR_ERR_CONTROL_DAEMON_UNAVAILABLE: {
    message: 'cannot reach directord at {socket}: {reason}',
    hint: 'is directord running? start it (systemctl start directord) or point directorctl at its socket with -s PATH',
    exitStatus: EXIT.UNAVAILABLE,
  },
  DIR_ERR_CONTROL_PERMISSION_DENIED: {
    message: 'permission denied on the control socket {socket}',
    hint: 'the control socket is root-only (mode 0600): run directorctl as root, e.g. with sudo',
    exitStatus: EXIT.NO_PERMISSION,
  },
  DIR_ERR_CONTROL_TIMEOUT: {
    message: 'no reply from directord to {method} within {timeoutMs} ms',
    hint: 'the daemon may be overloaded or stuck; check its log, or raise the limit with --timeout-ms',
    exitStatus: EXIT.TEMPFAIL,
  },
  DIR_ERR_CONTROL_CONNECTION_CLOSED: {
    message: 'directord closed the control connection before answering {method}',
    hint: 'the daemon may have stopped or restarted; check its log and retry',
    exitStatus: EXIT.UNAVAILABLE,
  },
  DIR_ERR_CONTROL_BAD_RESPONSE: {
    message: 'unreadable reply from directord: {reason}',
    hint: 'directorctl and directord may be different versions; install them from the same release',
    exitStatus: EXIT.SOFTWARE,
  },
  /* Protocol (server side; sent back as error frames). */
  DIR_ERR_CONTROL_PROTOCOL_VERSION: {
    message: 'unsupported control protocol {got}; this directord speaks version {supported}',
    hint: 'directorctl and directord come from different releases; use the directorctl installed with the daemon',
    exitStatus: EXIT.SOFTWARE,
  },
  DIR_ERR_CONTROL_MALFORMED_FRAME: {
    message: 'malformed control frame: {reason}',
    hint: 'each frame is one JSON object on one line: {"v":1,"id":1,"method":"status","params":{}}',
    exitStatus: EXIT.SOFTWARE,
  },
  DIR_ERR_CONTROL_FRAME_TOO_LARGE: {
    message: 'control frame of {bytes} bytes exceeds the limit of {limit} bytes; closing the connection',
    hint: 'split the request (for example restore a large table in several -R runs)',
    exitStatus: EXIT.SOFTWARE,
  },
  DIR_ERR_CONTROL_UNKNOWN_METHOD: {
    message: 'unknown control method "{method}"',
    hint: 'directorctl and directord may be different versions; the methods are listed in src/control/README.md',
    exitStatus: EXIT.SOFTWARE,
  },
  DIR_ERR_CONTROL_INVALID_PARAMS: {
    message: 'invalid parameters for {method}: {reason}',
    hint: 'check the command line; run directorctl --help',
    exitStatus: EXIT.USAGE,
  },
  DIR_ERR_CONTROL_INTERNAL: {
    message: 'internal error while handling {method}: {reason}',
    hint: 'this is a bug in directord; the daemon log has the stack trace, please report it',
    exitStatus: EXIT.SOFTWARE,
  },
  DIR_ERR_CONTROL_SHUTTING_DOWN: {
    message: 'directord is shutting down and no longer accepts {method}',
    hint: 'wait for the daemon to restart, then retry',
    exitStatus: EXIT.UNAVAILABLE,
  },
  DIR_ERR_CONTROL_NOT_ALLOWED: {
    message: 'uid {uid} is not allowed to use the control socket',
    hint: 'add the uid to the control allowed-uid list in the config, or run as root',
    exitStatus: EXIT.NO_PERMISSION,
  },
  /* Server setup. */
  DIR_ERR_CONTROL_SOCKET_IN_USE: {
    message: 'another process is already serving the control socket {socket}',
    hint: 'another directord is running with this socket; stop it or give this one another path',
    exitStatus: EXIT.TEMPFAIL,
  },
  DIR_ERR_CONTROL_SOCKET_SETUP: {
    message: 'cannot create the control socket {socket}: {reason}',
    hint: 'check that the directory exists and is writable by root, and that the path is not a regular file',
    exitStatus: EXIT.OS_ERROR,
  },
  DIR_ERR_CONTROL_HTTP_LISTEN: {
    message: 'cannot serve status/metrics on {address}: {reason}',
    hint: 'another process may use the port, or the address is not configured on this host',
    exitStatus: EXIT.OS_ERROR,
  },
  /* ipvsadm-style edits (for the daemon's ControlApi.ipvsadm implementation). */
  DIR_ERR_CONTROL_SERVICE_EXISTS: {
    message: 'virtual service {service} already exists',
    hint: 'use -E to edit an existing service (ipvsadm semantics)',
    exitStatus: EXIT.FAILURE,
  },
  DIR_ERR_CONTROL_NO_SUCH_SERVICE: {
    message: 'no virtual service {service}',
    hint: 'list services with directorctl -L -n; if {service} is a real server, -t/-u/-f and -r may be swapped',
    exitStatus: EXIT.FAILURE,
  },
  DIR_ERR_CONTROL_REAL_EXISTS: {
    message: 'real server {real} already exists in {service}',
    hint: 'use -e to edit an existing real server (ipvsadm semantics)',
    exitStatus: EXIT.FAILURE,
  },
  DIR_ERR_CONTROL_NO_SUCH_REAL: {
    message: 'no real server {real}{where}',
    hint: 'list real servers with directorctl status; keys look like 192.0.2.10:80 or [2001:db8::10]:80',
    exitStatus: EXIT.FAILURE,
  },
  DIR_ERR_CONTROL_NO_SUCH_INSTANCE: {
    message: 'no VRRP instance "{instance}"',
    hint: 'directorctl status lists the VRRP instances',
    exitStatus: EXIT.FAILURE,
  },
} as const satisfies Record<string, ErrorCodeSpec>;
