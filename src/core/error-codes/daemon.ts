import { EXIT } from '../exit-status.js';
import type { ErrorCodeSpec } from './spec.js';

/**
 * Codes raised by src/daemon. Add new codes here; run `npm run docs:errors` afterwards.
 *
 * Exit statuses of the ldirectord-compatible verbs follow ldirectord (ldirectord-spec 1.3):
 * 255 usage, 1 initialisation error / config file not found, 2 configuration error, and LSB's
 * status codes (0 running, 1 dead with a pid file, 3 not running) are chosen by the command line.
 */
export const DAEMON_CODES = {
  DIR_ERR_DAEMON_UNAVAILABLE: {
    message: 'daemon: {reason}',
    hint: 'see the log for the operation that failed',
    exitStatus: EXIT.FAILURE,
  },
  DIR_ERR_DAEMON_USAGE: {
    message: '{reason}',
    hint: 'run `directord -h` for the command line (ldirectord-compatible: [-d] [configfile] start|stop|restart|try-restart|reload|force-reload|status, or -f FILE, -t FILE)',
    exitStatus: 255,
  },
  DIR_ERR_DAEMON_CONFIG_NOT_FOUND: {
    message: 'Config file {name} not found (looked in {searched})',
    hint: 'give an absolute path, or put the file in /etc/directord/ or /etc/ha.d/',
    exitStatus: EXIT.FAILURE,
  },
  DIR_ERR_DAEMON_CONFIG_INVALID: {
    message: 'configuration {file} has {count} error(s); first: {first}',
    hint: 'run `directord -t {file}` for every problem with its file:line:column',
    exitStatus: 2,
  },
  DIR_ERR_DAEMON_PIDFILE: {
    message: 'cannot {action} pid file {path}: {reason}',
    hint: 'check that the pid file directory exists and is writable (RuntimeDirectory=directord under systemd)',
    exitStatus: EXIT.FAILURE,
  },
  DIR_ERR_DAEMON_START_FAILED: {
    message: 'directord did not start: {reason}',
    hint: 'run `directord -f CONFIG` in the foreground to see the start-up log',
    exitStatus: EXIT.FAILURE,
  },
  DIR_ERR_DAEMON_STOP_TIMEOUT: {
    message: 'directord pid {pid} did not exit within {seconds} s after SIGTERM',
    hint: 'a drain may still be running (daemon.drainDeadlineMs); wait, or send SIGKILL',
    exitStatus: EXIT.FAILURE,
  },
  DIR_ERR_DAEMON_RELOAD_REFUSED: {
    message: 'reload refused, the running configuration is unchanged: {reason}',
    hint: 'fix the file (see the listed file:line:column) and reload again',
    exitStatus: 2,
  },
  DIR_ERR_DAEMON_SCHEDULE_CRON: {
    message: 'schedule "{name}": invalid cron expression "{cron}": {reason}',
    hint: 'use five or six node-cron fields, e.g. "0 3 * * 0" (03:00 every Sunday)',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_DAEMON_SCHEDULE_TARGET: {
    message: 'schedule "{name}": action {action} {reason}',
    hint: 'drain/enable/disable need target = "REAL" or "VIRTUAL/REAL" naming a configured real server',
    exitStatus: EXIT.CONFIG_SEMANTIC,
  },
  DIR_ERR_DAEMON_LISTEN: {
    message: 'cannot listen on {what} {where}: {reason}',
    hint: 'another directord may be running with the same control socket or status address',
    exitStatus: EXIT.OS_ERROR,
  },
  DIR_ERR_DAEMON_NOT_SUPPORTED: {
    message: '{what} is not supported by this daemon yet',
    hint: 'edit the config file and reload instead',
    exitStatus: EXIT.UNAVAILABLE,
  },
} as const satisfies Record<string, ErrorCodeSpec>;
