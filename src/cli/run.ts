/**
 * directorctl: the operator's command line. Everything is testable in-process through `runCli`
 * with injected I/O; ./main.ts binds it to the real process.
 *
 *   directorctl [-s SOCKET] [--json] [--timeout-ms N] COMMAND ...
 *   directorctl [-s SOCKET] [--json] IPVSADM-OPTIONS...      (-L -n, --stats, -c, -S, -R, -A, -a, ...)
 *
 * Exit statuses come from the error registry (core/exit-status.ts): 0 ok, 64 usage, 65 bad restore
 * input, 66 no config, 69 daemon not running, 75 timeout or drain deadline, 77 permission denied.
 */
import { existsSync, readFileSync } from 'node:fs';
import { DirectorError, ERROR_CODES, isErrorCode } from '../core/errors.js';
import { tryParseDurationMs } from '../core/duration.js';
import { EXIT } from '../core/exit-status.js';
import type { RealSelector, IpvsServiceRef } from '../control/api.js';
import type { ControlClient } from '../control/client.js';
import { RemoteError, connectControl } from '../control/client.js';
import { DEFAULT_SOCKET_PATH, PROTOCOL_VERSION } from '../control/protocol.js';
import type { ServiceStats } from '../engine/model.js';
import {
  formatConnections,
  formatList,
  formatPersistentConn,
  formatRate,
  formatSave,
  formatStats,
  formatThresholds,
  formatTimeout,
} from './ipvsadm-format.js';
import type { IpvsadmFormatOptions } from './ipvsadm-format.js';
import { parseIpvsadmArgs, parseRestore } from './ipvsadm-args.js';
import type { IpvsadmInvocation } from './ipvsadm-args.js';
import { loadLocalNames, localAddressPredicate } from './names.js';
import type { LocalNames } from './names.js';
import { formatCheckResults, formatDrainProgress, formatDrainResult, formatStatus, formatTcpvsList } from './status-format.js';

/** Default config files for `configtest`, in order. */
export const DEFAULT_CONFIG_PATHS = ['/etc/directord/director.toml', '/etc/ha.d/ldirectord.cf'] as const;

/** Default drain deadline. */
export const DEFAULT_DRAIN_DEADLINE_MS = 30_000;

export interface CliOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** Signature of src/config/configtest.ts runConfigTest. */
export type ConfigTestFn = (path: string, options: { json: boolean }) => Promise<{ exitCode: number; output: string }>;

export interface CliIo {
  readonly stdout: CliOutput;
  readonly stderr: CliOutput;
  readStdin(): Promise<string>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Wall-clock ms. */
  now(): number;
  connect?(socketPath: string, timeoutMs: number): Promise<ControlClient>;
  configTest?: ConfigTestFn;
  fileExists?(path: string): boolean;
  names?(): LocalNames;
  isLocal?(): (address: string) => boolean;
  /** Called when the drain command wants to stop on Ctrl-C (main.ts wires SIGINT). */
  onInterrupt?(handler: () => void): () => void;
}

export const USAGE = `Usage: directorctl [-s SOCKET] [--json] [--timeout-ms N] COMMAND [ARGS]

Commands:
  status                         VRRP role per instance, virtual services, reals with health and last check
  reload                         re-read the config (a bad config is refused; the running one stays)
  drain REAL [--virtual ID] [--deadline 30s] [--keep]
                                 weight 0, show progress until connections reach zero, then remove
                                 (--keep leaves it at weight 0); exit 75 if the deadline passes first
  enable REAL [--virtual ID]     clear a disable/weight/drain override
  disable REAL [--virtual ID]    take a real out until enabled
  weight REAL N [--virtual ID]   override the configured weight (0..65535)
  check REAL [--virtual ID]      run the real's check once now and show the result
  failover [INSTANCE]            give up VRRP mastership (all MASTER instances without INSTANCE)
  configtest [-f FILE] [--json]  check a config file without a daemon (default ${DEFAULT_CONFIG_PATHS.join(', then ')})
  tcpvsadm --list                L7 services and their content rules
  version                        client and daemon versions
  help                           this text

ipvsadm-compatible (same options and output as ipvsadm(8); names from /etc/hosts only, never DNS):
  -L|-l [-n] [--stats|--rate|--thresholds|--persistent-conn] [--exact] [--nosort] [-t|-u|-f SERVICE]
  -L -c [-n]                     connection entries          -L --timeout   connection timeouts
  -S [-n]                        save the table as commands  -R             restore commands from stdin
  -A|-E -t|-u|-f SERVICE [-s SCHED] [-b FLAGS] [-p [T]] [-M MASK] [-o]
  -D -t|-u|-f SERVICE
  -a|-e -t|-u|-f SERVICE -r REAL[:PORT] [-g|-m|-i] [-w W] [-x U] [-y L]
  -d -t|-u|-f SERVICE -r REAL[:PORT]
  -C   clear runtime edits       -Z [SERVICE]  zero counters   --set TCP TCPFIN UDP
  Edits are runtime overrides (shown by status) kept across reloads and restarts and
  dropped only by -C; -R applies all lines or none.

Options:
  -s, --socket PATH   control socket (default ${DEFAULT_SOCKET_PATH}, or $DIRECTORCTL_SOCKET);
                      -s is the socket only when its value contains a '/', else ipvsadm's scheduler
  --json              machine-readable output (errors too)
  --timeout-ms N      give up on a silent daemon after N ms (default 10000)
  -h, --help          this text

REAL is addr:port as status shows it (192.0.2.10:80, [2001:db8::10]:80); ID is a virtual id
(tcp:192.0.2.1:80, fwm:1).
`;

interface GlobalOptions {
  socketPath: string;
  json: boolean;
  timeoutMs: number;
  rest: string[];
}

function usageError(reason: string): DirectorError {
  return new DirectorError('DIR_ERR_CLI_USAGE', { reason });
}

function parseGlobal(argv: readonly string[], env: CliIo['env']): GlobalOptions {
  const out: GlobalOptions = { socketPath: env.DIRECTORCTL_SOCKET ?? DEFAULT_SOCKET_PATH, json: false, timeoutMs: 10_000, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = (): string => {
      const v = argv[i + 1];
      if (v === undefined) throw usageError(`${arg} needs a value`);
      i++;
      return v;
    };
    if (arg === '--socket') out.socketPath = value();
    else if (arg.startsWith('--socket=')) out.socketPath = arg.slice('--socket='.length);
    // ipvsadm's -s is the scheduler; a socket path always contains a slash, a scheduler name never.
    else if (arg === '-s' && (argv[i + 1] ?? '').includes('/')) out.socketPath = value();
    else if (arg === '--json') out.json = true;
    else if (arg === '--timeout-ms') {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) < 1) throw usageError(`--timeout-ms needs a positive integer, got "${v}"`);
      out.timeoutMs = Number(v);
    } else out.rest.push(arg);
  }
  return out;
}

/** Splits subcommand args into positionals and --name value options. */
function subArgs(args: readonly string[], valueOptions: readonly string[], flagOptions: readonly string[]): { positional: string[]; options: Map<string, string | true> } {
  const positional: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (valueOptions.includes(name)) {
      if (eq > 0 && arg.startsWith('--')) options.set(name, arg.slice(eq + 1));
      else {
        const v = args[i + 1];
        if (v === undefined) throw usageError(`${name} needs a value`);
        options.set(name, v);
        i++;
      }
    } else if (flagOptions.includes(arg)) options.set(arg, true);
    else if (arg.startsWith('-') && arg !== '-') throw usageError(`unknown option ${arg}`);
    else positional.push(arg);
  }
  return { positional, options };
}

function selectorFrom(positional: readonly string[], options: Map<string, string | true>, command: string): RealSelector {
  const realKey = positional[0];
  if (!realKey) throw usageError(`${command} needs a real server (addr:port)`);
  const virtualId = options.get('--virtual');
  return typeof virtualId === 'string' ? { virtualId, realKey } : { realKey };
}

function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function serviceMatcher(ref: IpvsServiceRef): (s: ServiceStats) => boolean {
  return (s) =>
    ref.protocol === 'fwm'
      ? s.protocol === 'fwm' && s.fwmark === ref.fwmark && s.family === ref.family
      : s.protocol === ref.protocol && s.address === ref.address && s.port === ref.port;
}

class Session {
  private client: ControlClient | undefined;

  constructor(
    private readonly io: CliIo,
    private readonly global: GlobalOptions,
  ) {}

  async get(): Promise<ControlClient> {
    if (!this.client) {
      this.client = this.io.connect
        ? await this.io.connect(this.global.socketPath, this.global.timeoutMs)
        : await connectControl(this.global.socketPath, { timeoutMs: this.global.timeoutMs, client: 'directorctl' });
    }
    return this.client;
  }

  get timeout(): { timeoutMs: number } {
    return { timeoutMs: this.global.timeoutMs };
  }

  close(): void {
    this.client?.close();
    this.client = undefined;
  }
}

async function runIpvsadm(io: CliIo, global: GlobalOptions, session: Session): Promise<number> {
  const names = io.names ? io.names() : loadLocalNames();
  const invocation: IpvsadmInvocation = parseIpvsadmArgs(global.rest, names);
  const client = await session.get();
  const version = await client.version(session.timeout);
  const formatOptions = (numeric: boolean, extra: Partial<IpvsadmFormatOptions> = {}): IpvsadmFormatOptions => ({
    numeric,
    names,
    header: { version: version.ipvsVersion, connTableSize: version.connTableSize },
    isLocal: io.isLocal ? io.isLocal() : localAddressPredicate(),
    ...extra,
  });
  switch (invocation.kind) {
    case 'list': {
      if (invocation.format === 'timeout') {
        const timeouts = await client.timeouts(session.timeout);
        if (global.json) printJson(io, timeouts);
        else io.stdout.write(formatTimeout(timeouts));
        return EXIT.OK;
      }
      if (invocation.format === 'connections') {
        const entries = await client.connections(session.timeout);
        if (global.json) printJson(io, entries);
        else io.stdout.write(formatConnections(entries, formatOptions(invocation.numeric)));
        return EXIT.OK;
      }
      const stats = await client.engineStats(session.timeout);
      const options = formatOptions(invocation.numeric, {
        exact: invocation.exact,
        sort: invocation.sort,
        ...(invocation.service ? { service: serviceMatcher(invocation.service) } : {}),
      });
      if (invocation.service && !stats.services.some(serviceMatcher(invocation.service))) {
        throw new DirectorError('DIR_ERR_CONTROL_NO_SUCH_SERVICE', { service: describeRef(invocation.service) });
      }
      if (global.json) {
        printJson(io, invocation.service ? { services: stats.services.filter(serviceMatcher(invocation.service)) } : stats);
        return EXIT.OK;
      }
      const formatter = {
        list: formatList,
        stats: formatStats,
        rate: formatRate,
        thresholds: formatThresholds,
        'persistent-conn': formatPersistentConn,
      }[invocation.format];
      io.stdout.write(formatter(stats, options));
      return EXIT.OK;
    }
    case 'save': {
      const stats = await client.engineStats(session.timeout);
      const options = formatOptions(invocation.numeric, { sort: invocation.sort, ...(invocation.service ? { service: serviceMatcher(invocation.service) } : {}) });
      io.stdout.write(formatSave(stats, options));
      return EXIT.OK;
    }
    case 'restore': {
      const parsed = parseRestore(await io.readStdin(), names);
      const result = await client.ipvsadm(
        parsed.map((p) => p.command),
        { timeoutMs: Math.max(60_000, global.timeoutMs) },
      );
      if (global.json) printJson(io, result);
      if (!result.ok) {
        const failed = result.outcomes.find((o) => !o.ok);
        const line = failed ? parsed[failed.index]?.line : undefined;
        if (!global.json) {
          io.stderr.write(
            `directorctl: restore stopped at input line ${line ?? '?'}: ${failed?.error?.code ?? ''} ${failed?.error?.message ?? 'failed'}\n` +
              (failed?.error?.hint ? `  hint: ${failed.error.hint}\n` : '') +
              (result.applied === 0 ? `  nothing was applied: a restore is all or nothing\n` : `  ${result.applied} of ${parsed.length} commands were applied\n`),
          );
        }
        return exitFor(failed?.error?.code);
      }
      return EXIT.OK;
    }
    case 'command': {
      const result = await client.ipvsadm([invocation.command], session.timeout);
      if (global.json) printJson(io, result);
      const failed = result.outcomes.find((o) => !o.ok);
      if (!result.ok) {
        if (!global.json) {
          io.stderr.write(`directorctl: ${failed?.error?.code ?? ''} ${failed?.error?.message ?? 'failed'}\n` + (failed?.error?.hint ? `  hint: ${failed.error.hint}\n` : ''));
        }
        return exitFor(failed?.error?.code);
      }
      return EXIT.OK;
    }
  }
}

function describeRef(ref: IpvsServiceRef): string {
  if (ref.protocol === 'fwm') return `fwmark ${ref.fwmark}${ref.family === 6 ? ' (IPv6)' : ''}`;
  return `${ref.protocol} ${ref.address.includes(':') ? `[${ref.address}]` : ref.address}:${ref.port}`;
}

function exitFor(code: string | undefined): number {
  return code !== undefined && isErrorCode(code) ? ERROR_CODES[code].exitStatus : EXIT.FAILURE;
}

async function runConfigtest(io: CliIo, global: GlobalOptions, args: readonly string[]): Promise<number> {
  const { positional, options } = subArgs(args, ['-f', '--file'], ['--json']);
  if (positional.length > 0) throw usageError(`configtest takes no positional arguments (got "${positional[0]}"); use -f FILE`);
  const json = global.json || options.has('--json');
  const given = options.get('-f') ?? options.get('--file');
  const exists = io.fileExists ?? existsSync;
  let path: string;
  if (typeof given === 'string') path = given;
  else {
    const found = DEFAULT_CONFIG_PATHS.find((p) => exists(p));
    if (!found) throw new DirectorError('DIR_ERR_CLI_NO_CONFIG', { tried: DEFAULT_CONFIG_PATHS.join(', ') });
    path = found;
  }
  const configTest = io.configTest ?? (await loadConfigTest());
  const result = await configTest(path, { json });
  io.stdout.write(result.output.endsWith('\n') || result.output === '' ? result.output : `${result.output}\n`);
  return result.exitCode;
}

/** src/config/configtest.ts, loaded on demand: configtest is the only command that parses config. */
async function loadConfigTest(): Promise<ConfigTestFn> {
  const mod = await import('../config/configtest.js');
  return (path, options) => mod.runConfigTest(path, options);
}

async function runDrain(io: CliIo, global: GlobalOptions, session: Session, args: readonly string[]): Promise<number> {
  const { positional, options } = subArgs(args, ['--virtual', '--deadline'], ['--keep']);
  const selector = selectorFrom(positional, options, 'drain');
  const deadlineText = options.get('--deadline');
  const deadlineMs = typeof deadlineText === 'string' ? tryParseDurationMs(deadlineText) : DEFAULT_DRAIN_DEADLINE_MS;
  if (deadlineMs === undefined) throw usageError(`--deadline needs a duration such as 30s or 2m, got "${String(deadlineText)}"`);
  const client = await session.get();
  const tty = io.stderr.isTTY === true && !global.json;
  let lastLineLength = 0;
  const stopInterrupt = io.onInterrupt?.(() => {
    // Ctrl-C stops watching; the drain continues in the daemon (enable undoes it).
    io.stderr.write(`${tty ? '\n' : ''}directorctl: stopped watching; the drain goes on in directord (directorctl enable ${selector.realKey} undoes it)\n`);
    session.close();
  });
  try {
    const result = await client.drain(
      selector,
      { deadlineMs, then: options.has('--keep') ? 'keep' : 'remove' },
      {
        timeoutMs: Math.max(global.timeoutMs, 5_000),
        onProgress: (progress) => {
          if (global.json) {
            io.stdout.write(`${JSON.stringify({ progress })}\n`);
            return;
          }
          const line = formatDrainProgress(progress);
          if (tty) {
            io.stderr.write(`\r${line.padEnd(lastLineLength)}`);
            lastLineLength = line.length;
          } else io.stderr.write(`${line}\n`);
        },
      },
    );
    if (tty && lastLineLength > 0) io.stderr.write('\n');
    if (global.json) io.stdout.write(`${JSON.stringify({ result })}\n`);
    else io.stdout.write(formatDrainResult(result));
    return result.outcome === 'drained' ? EXIT.OK : result.outcome === 'deadline' ? EXIT.TEMPFAIL : EXIT.FAILURE;
  } finally {
    stopInterrupt?.();
  }
}

async function runSubcommand(io: CliIo, global: GlobalOptions, session: Session, command: string, args: readonly string[]): Promise<number> {
  switch (command) {
    case 'status': {
      subArgs(args, [], []);
      const status = await (await session.get()).status(session.timeout);
      if (global.json) printJson(io, status);
      else io.stdout.write(formatStatus(status, io.now()));
      return EXIT.OK;
    }
    case 'reload': {
      subArgs(args, [], []);
      const result = await (await session.get()).reload();
      if (global.json) printJson(io, result);
      else if (result.ok) io.stdout.write(`reloaded: ${result.summary}\n`);
      else {
        io.stderr.write(`directorctl: reload refused, the running config stays: ${result.summary}\n`);
        for (const p of result.errors ?? []) {
          const where = p.file ? `${p.file}:${p.line ?? 0}:${p.column ?? 0}: ` : '';
          io.stderr.write(`${where}${p.code} ${p.message}\n${p.hint ? `  hint: ${p.hint}\n` : ''}`);
        }
      }
      return result.ok ? EXIT.OK : exitFor(result.errors?.[0]?.code);
    }
    case 'enable':
    case 'disable': {
      const { positional, options } = subArgs(args, ['--virtual'], []);
      const selector = selectorFrom(positional, options, command);
      if (positional.length > 1) throw usageError(`${command} takes one real server`);
      const client = await session.get();
      const result = command === 'enable' ? await client.enable(selector, session.timeout) : await client.disable(selector, session.timeout);
      if (global.json) printJson(io, result);
      else io.stdout.write(`${result.summary}\n`);
      return EXIT.OK;
    }
    case 'weight': {
      const { positional, options } = subArgs(args, ['--virtual'], []);
      const selector = selectorFrom(positional, options, 'weight');
      const weightText = positional[1];
      if (weightText === undefined || !/^\d+$/.test(weightText) || Number(weightText) > 65535) {
        throw usageError('weight needs a real server and a weight 0..65535: directorctl weight 192.0.2.10:80 5');
      }
      const result = await (await session.get()).setWeight(selector, Number(weightText), session.timeout);
      if (global.json) printJson(io, result);
      else io.stdout.write(`${result.summary}\n`);
      return EXIT.OK;
    }
    case 'drain':
      return runDrain(io, global, session, args);
    case 'check': {
      const { positional, options } = subArgs(args, ['--virtual'], []);
      const selector = selectorFrom(positional, options, 'check');
      const results = await (await session.get()).checkNow(selector, { timeoutMs: Math.max(global.timeoutMs, 120_000) });
      if (global.json) printJson(io, results);
      else io.stdout.write(formatCheckResults(results));
      if (results.length === 0) return EXIT.FAILURE;
      return results.every((r) => r.result.ok) ? EXIT.OK : EXIT.FAILURE;
    }
    case 'failover': {
      const { positional } = subArgs(args, [], []);
      if (positional.length > 1) throw usageError('failover takes at most one VRRP instance name');
      const result = await (await session.get()).failover(positional[0], session.timeout);
      if (global.json) printJson(io, result);
      else io.stdout.write(`${result.summary}\n`);
      return EXIT.OK;
    }
    case 'configtest':
      return runConfigtest(io, global, args);
    case 'tcpvsadm':
    case 'tcpvs': {
      const { positional, options } = subArgs(args, [], ['--list', '-L', '-l']);
      if (positional.length > 0 || options.size === 0) throw usageError('only tcpvsadm --list is supported; L7 rules come from the config');
      const client = await session.get();
      const [stats, rules] = await Promise.all([client.engineStats(session.timeout), client.l7Rules(session.timeout)]);
      if (global.json) printJson(io, rules);
      else io.stdout.write(formatTcpvsList(stats, rules));
      return EXIT.OK;
    }
    case 'version': {
      const client = await session.get();
      const v = await client.version(session.timeout);
      if (global.json) printJson(io, v);
      else io.stdout.write(`directorctl ${clientVersion()} (control protocol ${PROTOCOL_VERSION})\ndirectord ${v.version}, engine ${v.engine}, control protocol ${v.protocol}, IPVS v${v.ipvsVersion}\n`);
      return EXIT.OK;
    }
    default:
      throw new DirectorError('DIR_ERR_CLI_UNKNOWN_COMMAND', { command });
  }
}

/** This package's version (directorctl and directord ship together). */
function clientVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Writes an error the way every directorctl command does and returns its exit status. */
export function reportError(io: CliIo, json: boolean, error: unknown): number {
  if (error instanceof DirectorError || error instanceof RemoteError) {
    const details = (error as { details?: unknown }).details;
    if (json) printJson(io, { error: { code: error.code, message: error.message, hint: error.hint, ...(details ? { details } : {}) } });
    else io.stderr.write(`directorctl: ${error.code} ${error.message}\n${error.hint ? `  hint: ${error.hint}\n` : ''}`);
    return error.exitStatus;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  if (json) printJson(io, { error: { code: 'DIR_ERR_INTERNAL', message: error instanceof Error ? error.message : String(error) } });
  else io.stderr.write(`directorctl: internal error: ${message}\n`);
  return EXIT.SOFTWARE;
}

/** Runs directorctl with `argv` (without node and script) and returns the exit status. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let json = argv.includes('--json');
  try {
    const global = parseGlobal(argv, io.env);
    json = global.json;
    const live = new Session(io, global);
    try {
      const [first, ...rest] = global.rest;
      if (first === '-h' || first === '--help' || first === 'help') {
        io.stdout.write(USAGE);
        return EXIT.OK;
      }
      if (first === '--version' || first === '-v') return await runSubcommand(io, global, live, 'version', []);
      // No arguments lists the table, as bare `ipvsadm` does.
      if (first === undefined) return await runIpvsadm(io, { ...global, rest: ['-L'] }, live);
      // Anything starting with an option is ipvsadm's command line (which lists when no command is given).
      if (first.startsWith('-')) return await runIpvsadm(io, global, live);
      return await runSubcommand(io, global, live, first, rest);
    } finally {
      live.close();
    }
  } catch (error) {
    return reportError(io, json, error);
  }
}
