/**
 * Process exit statuses used by directord and directorctl.
 *
 * Based on BSD sysexits(3) so that scripts can tell a typo in a config file from a missing file or
 * a daemon that is not running. ldirectord-compatible verbs (start/stop/status) keep ldirectord's
 * and LSB's own codes; those live with the daemon's command line.
 */
export const EXIT = Object.freeze({
  OK: 0,
  /** Generic runtime failure. */
  FAILURE: 1,
  /** Wrong command-line usage (EX_USAGE). */
  USAGE: 64,
  /** Config file syntax error: the text cannot be read as the format (EX_DATAERR). */
  CONFIG_SYNTAX: 65,
  /** A named input file does not exist or cannot be read (EX_NOINPUT). */
  NO_INPUT: 66,
  /** A service (daemon, control socket) is not available (EX_UNAVAILABLE). */
  UNAVAILABLE: 69,
  /** Internal software error (EX_SOFTWARE). */
  SOFTWARE: 70,
  /** An OS operation failed (EX_OSERR). */
  OS_ERROR: 71,
  /** I/O error (EX_IOERR). */
  IO_ERROR: 74,
  /** Temporary failure, retry later (EX_TEMPFAIL). */
  TEMPFAIL: 75,
  /** Permission denied (EX_NOPERM). */
  NO_PERMISSION: 77,
  /** Config file is readable but its meaning is wrong (EX_CONFIG). */
  CONFIG_SEMANTIC: 78,
} as const);

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];
