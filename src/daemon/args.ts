/**
 * Parsing of directord's command line and config-file resolution (pure; ./command-line.ts acts).
 * See ./command-line.ts for the command line and its exit codes.
 */
import { existsSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';
import { DirectorError } from '../core/errors.js';
import type { LogLevel } from '../core/logger.js';
import type { DaemonOverrides } from './daemon.js';

/** ldirectord's seven verbs. */
export const VERBS = ['start', 'stop', 'restart', 'try-restart', 'reload', 'force-reload', 'status'] as const;
export type Verb = (typeof VERBS)[number];

/** Exit statuses of the verbs (ldirectord-spec 1.3; LSB init-script actions). */
export const VERB_EXIT = Object.freeze({
  OK: 0,
  /** Initialisation error, config not found, stale pid file on status, reload of a stopped instance. */
  FAILURE: 1,
  CONFIG_ERROR: 2,
  /** LSB status: program is not running. */
  NOT_RUNNING: 3,
  USAGE: 255,
});

/** Directories searched for a config given by bare name, in order. */
export const CONFIG_SEARCH_DIRS = ['/etc/directord', '/etc/ha.d', '/etc/ha.d/conf'] as const;

/** Config used when none is named (first that exists). */
export const DEFAULT_CONFIGS = ['/etc/directord/directord.toml', '/etc/directord/directord.cf', '/etc/ha.d/ldirectord.cf'] as const;

export interface ParsedArgs {
  readonly mode: 'verb' | 'foreground' | 'configtest' | 'help' | 'version';
  readonly verb?: Verb;
  readonly config?: string;
  readonly debug: boolean;
  readonly json: boolean;
  readonly pidFile?: string;
  readonly overrides: DaemonOverrides;
  readonly readyFd?: number;
  readonly logLevel?: LogLevel;
}

export const USAGE = `Usage:
    directord [-d|--debug] [options] [--] [configfile] start|stop|restart|try-restart|reload|force-reload|status
    directord [options] -f|--foreground configfile
    directord -t|--configtest configfile [--json]
    directord -h|--help|-v|--version

Options:
    -d, --debug              stay in the foreground, log to stderr at debug level, no pid file
    -f, --foreground FILE    run in the foreground (systemd Type=notify); writes the pid file
    -t, --configtest FILE    check the configuration and exit (0 ok, 65 syntax error,
                             66 file missing, 78 other errors)
        --json               configtest output as JSON
    -p, --pid-file PATH      pid file (default /run/directord/directord.<configname>.pid)
    -s, --control-socket P   control socket (overrides the config)
        --state-file PATH    state file (overrides the config)
        --http HOST:PORT     status/metrics listener ("" = off; overrides the config)
        --log-level LEVEL    error|warn|info|debug (overrides the config)
    -h, --help               this text
    -v, --version            version

A bare configfile name is looked up in /etc/directord/, /etc/ha.d/, /etc/ha.d/conf/, then the
current directory. Exit codes: 0 ok; 1 failure (status: stale pid file); 2 configuration error;
3 not running (status); 255 usage.
`;

/** A command-line mistake: usage text and exit 255. */
export class UsageError extends Error {}

/** Parses argv (without node and script). Throws UsageError. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  let debug = false;
  let json = false;
  let mode: ParsedArgs['mode'] | undefined;
  let config: string | undefined;
  let pidFile: string | undefined;
  let readyFd: number | undefined;
  let logLevel: LogLevel | undefined;
  const overrides: { -readonly [K in keyof DaemonOverrides]: DaemonOverrides[K] } = {};
  let i = 0;
  const value = (flag: string): string => {
    const v = argv[++i];
    if (v === undefined) throw new UsageError(`option ${flag} needs a value`);
    return v;
  };
  const setMode = (m: ParsedArgs['mode']): void => {
    if (mode !== undefined && mode !== m) throw new UsageError('options -f, -t, -h and -v exclude each other');
    mode = m;
  };
  for (; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    // --opt=value form.
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const take = (): string => inline ?? value(name);
    switch (name) {
      case '-d': case '--debug': debug = true; break;
      case '-h': case '-?': case '--help': setMode('help'); break;
      case '-v': case '--version': setMode('version'); break;
      case '-f': case '--foreground': setMode('foreground'); config = take(); break;
      case '-t': case '--configtest': case '--config-test': setMode('configtest'); config = take(); break;
      case '--json': json = true; break;
      case '-p': case '--pid-file': pidFile = take(); break;
      case '-s': case '--control-socket': overrides.controlSocket = take(); break;
      case '--state-file': overrides.stateFile = take(); break;
      case '--http': overrides.httpListen = take(); break;
      case '--drain-deadline': {
        const ms = Number(take());
        if (!Number.isFinite(ms) || ms < 0) throw new UsageError('--drain-deadline wants milliseconds');
        overrides.drainDeadlineMs = ms;
        break;
      }
      case '--log-level': {
        const l = take();
        if (!['error', 'warn', 'info', 'debug'].includes(l)) throw new UsageError(`bad log level "${l}"`);
        logLevel = l as LogLevel;
        break;
      }
      case '--ready-fd': readyFd = Number(take()); break;
      default:
        throw new UsageError(`unknown option ${arg}`);
    }
  }
  const rest = argv.slice(i);
  if (mode === 'help' || mode === 'version') return { mode, debug, json, overrides };
  if (mode === 'foreground' || mode === 'configtest') {
    if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`);
    return { mode, config, debug, json, pidFile, overrides, readyFd, logLevel };
  }
  // ldirectord: two or more positionals = config, command; one = command; none = usage.
  let verb: string | undefined;
  if (rest.length >= 2) {
    config = rest[0];
    verb = rest[1];
  } else if (rest.length === 1) {
    verb = rest[0];
  }
  if (verb === undefined) throw new UsageError('no command given');
  if (!(VERBS as readonly string[]).includes(verb)) throw new UsageError(`unknown command "${verb}"`);
  return { mode: 'verb', verb: verb as Verb, config, debug, json, pidFile, overrides, logLevel };
}

/** ldirectord-spec 1.2: the first existing of the search dirs, then the name itself. */
export function resolveConfigPath(name: string | undefined, exists: (p: string) => boolean = existsSync): string {
  if (name === undefined) {
    const found = DEFAULT_CONFIGS.find((p) => exists(p));
    if (found) return found;
    throw new DirectorError('DIR_ERR_DAEMON_CONFIG_NOT_FOUND', { name: '(default)', searched: DEFAULT_CONFIGS.join(', ') });
  }
  if (isAbsolute(name)) {
    if (exists(name)) return name;
    throw new DirectorError('DIR_ERR_DAEMON_CONFIG_NOT_FOUND', { name, searched: name });
  }
  const candidates = [...CONFIG_SEARCH_DIRS.map((d) => `${d}/${name}`), resolve(name)];
  const found = candidates.find((p) => exists(p));
  if (found) return found;
  throw new DirectorError('DIR_ERR_DAEMON_CONFIG_NOT_FOUND', { name, searched: candidates.join(', ') });
}

/** ldirectord's CFGNAME: the basename of the config as typed (or "directord"). */
export function configName(typed: string | undefined): string {
  return typed === undefined ? 'directord' : basename(typed);
}

