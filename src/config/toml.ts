/**
 * director.toml reader: the native format, covering everything in ClusterConfig (schema in
 * docs/config-toml.md). This is the only module that imports the `toml` package.
 *
 * The toml package returns null-prototype objects and reports no positions for values, so
 * locations come from a light scan of the source text (KeyLocator): table headers and `key =`
 * lines, indexed by the same canonical paths the walker uses (`virtual#2.real#0.weight`).
 * VRRP keys use keepalived's vocabulary (keepalived-spec 1-3, 5); per-virtual keys use
 * ldirectord's meaning with snake_case names.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import toml from 'toml';
import type { SourceLocation } from '../core/errors.js';
import { tryParseDurationMs } from '../core/duration.js';
import { formatEndpoint, netmaskToPrefixLength, parseCidr, tryParseIp } from '../core/ip.js';
import type { IpAddress, IpFamily } from '../core/ip.js';
import { CHECK_TYPES, ENGINE_KINDS, SCHEDULER_FLAGS, SCHEDULERS, SERVICES } from '../core/types.js';
import type { CheckType, ForwardMethod, SchedulerFlag, SchedulerName, ServiceName } from '../core/types.js';
import { splitCommand } from './argv.js';
import { DEFAULT_GARP, DEFAULT_TIMEOUTS, defaultDaemonSettings } from './defaults.js';
import { readLdirectordConfig } from './ldirectord.js';
import type { LdirectordReadOptions } from './ldirectord.js';
import type {
  AlertConfig,
  CheckConfig,
  ClusterConfig,
  DaemonSettings,
  FallbackConfig,
  L7RuleConfig,
  LogTarget,
  NotifyConfig,
  QuorumConfig,
  RealServerConfig,
  ScheduleConfig,
  SshCheckConfig,
  VirtualAddressConfig,
  VirtualServiceConfig,
  VrrpInstanceConfig,
  VrrpScriptConfig,
  VrrpSyncGroupConfig,
} from './model.js';
import { didYouMean } from './problems.js';
import type { ProblemSink } from './problems.js';
import { CachingResolver } from './resolve.js';
import { defaultPortForService, ldirectordServiceForPort, portForServiceName } from './services.js';

type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a date';
  if (isTable(v)) return 'a table';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  return `${typeof v} ${String(v)}`;
}

// ------------------------------------------------------------------ source positions

/** Finds the line of a key or table header by canonical path. */
class KeyLocator {
  private readonly positions = new Map<string, { line: number; column: number }>();

  constructor(text: string) {
    const lastArray = new Map<string, string>();
    const counts = new Map<string, number>();
    let current = '';
    const lines = text.split('\n');
    let inMultiline: string | undefined;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as string;
      if (inMultiline) {
        if (line.includes(inMultiline)) inMultiline = undefined;
        continue;
      }
      const lead = /^\s*/.exec(line)?.[0].length ?? 0;
      const body = line.slice(lead);
      const header = /^(\[\[?)\s*([^\]]+?)\s*\]\]?/.exec(body);
      if (header) {
        const parts = (header[2] as string).split('.').map((p) => p.trim().replace(/^"|"$/g, ''));
        let canon = '';
        let plain = '';
        for (let p = 0; p < parts.length - 1; p++) {
          plain = plain ? `${plain}.${parts[p]}` : (parts[p] as string);
          canon = lastArray.get(plain) ?? (canon ? `${canon}.${parts[p]}` : (parts[p] as string));
        }
        const leaf = parts[parts.length - 1] as string;
        plain = plain ? `${plain}.${leaf}` : leaf;
        const base = canon ? `${canon}.${leaf}` : leaf;
        if (header[1] === '[[') {
          const n = counts.get(base) ?? 0;
          counts.set(base, n + 1);
          current = `${base}#${n}`;
          lastArray.set(plain, current);
        } else current = base;
        if (!this.positions.has(current)) this.positions.set(current, { line: i + 1, column: lead + 1 });
        continue;
      }
      const key = /^([A-Za-z0-9_-]+|"[^"]*")\s*=\s*/.exec(body);
      if (key) {
        const name = (key[1] as string).replace(/^"|"$/g, '');
        const path = current ? `${current}.${name}` : name;
        if (!this.positions.has(path)) this.positions.set(path, { line: i + 1, column: lead + 1 });
        const rest = body.slice(key[0].length);
        for (const q of ['"""', "'''"]) {
          if (rest.startsWith(q) && !rest.slice(3).includes(q)) inMultiline = q;
        }
      }
    }
  }

  /** The position of a path, or of its nearest enclosing key/table. */
  find(path: string): { line: number; column: number } {
    let p = path;
    for (;;) {
      const hit = this.positions.get(p);
      if (hit) return hit;
      const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('#'));
      if (cut <= 0) return { line: 1, column: 1 };
      p = p.slice(0, cut);
    }
  }
}

/** Position of the n-th `key =` line (1-based n), for duplicate-key syntax errors without a position. */
function findKeyOccurrence(text: string, key: string, n: number): { line: number; column: number } | undefined {
  const lines = text.split('\n');
  let seen = 0;
  const re = new RegExp(`^\\s*(${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}|"${key.replace(/[.*+?^${}()|[\]\\"]/g, '\\$&')}")\\s*=`);
  for (let i = 0; i < lines.length; i++) {
    if (re.test(lines[i] as string)) {
      seen++;
      if (seen === n) return { line: i + 1, column: ((/^\s*/.exec(lines[i] as string)?.[0].length ?? 0) + 1) };
    }
  }
  return undefined;
}

// ------------------------------------------------------------------ the reader

export interface TomlReadOptions extends LdirectordReadOptions {}

/** Reads director.toml text; problems go to the sink. Returns undefined when the text is not TOML. */
export async function readTomlConfig(
  text: string,
  file: string,
  sink: ProblemSink,
  options: TomlReadOptions = {},
): Promise<ClusterConfig | undefined> {
  let doc: unknown;
  try {
    doc = toml.parse(text);
  } catch (e) {
    const err = e as { message?: string; location?: { start?: { line?: number; column?: number } } };
    let pos = err.location?.start?.line !== undefined ? { line: err.location.start.line, column: err.location.start.column ?? 1 } : undefined;
    const dup = /Cannot redefine existing key '([^']*)'/.exec(err.message ?? '');
    if (!pos && dup) pos = findKeyOccurrence(text, (dup[1] as string).split('.').pop() as string, 2);
    const lineCount = text.split('\n').length;
    const line = Math.min(Math.max(1, pos?.line ?? 1), lineCount);
    sink.error('DIR_ERR_CONFIG_TOML_SYNTAX', { file, line, column: Math.max(1, pos?.column ?? 1) }, { reason: (err.message ?? String(e)).slice(0, 300) });
    return undefined;
  }
  if (!isTable(doc)) return undefined;
  const reader = new TomlReader(text, file, sink, options);
  return reader.read(doc);
}

const DAEMON_KEYS = [
  'engine', 'engine_threads', 'control_socket', 'state_file', 'pid_file', 'log', 'log_level', 'autoreload', 'autoreload_interval',
  'callback', 'supervised', 'fork', 'maintenance_dir', 'readd_quiescent', 'email_alert_from', 'execute',
  'http_listen', 'drain_deadline', 'schedule',
] as const;
const VIRTUAL_KEYS = [
  'address', 'fwmark', 'family', 'protocol', 'scheduler', 'scheduler_flags', 'persistent', 'persistence_netmask', 'ops',
  'real', 'fallback', 'fallback_command', 'check', 'quiescent', 'clean_stop', 'alerts', 'service_name', 'comment',
  'monitor_file', 'quorum', 'slow_start', 'proxy_protocol', 'l7_rule', 'timeouts', 'on_real_removed',
] as const;
const DEFAULTS_KEYS = VIRTUAL_KEYS.filter((k) => !['address', 'fwmark', 'family', 'real', 'l7_rule', 'comment', 'service_name'].includes(k));
const CHECK_KEYS = [
  'type', 'negotiate_every', 'service', 'port', 'request', 'receive', 'http_method', 'virtual_host', 'login',
  'password', 'database', 'secret', 'command', 'interval', 'timeout', 'negotiate_timeout', 'check_count',
  'failure_count', 'rise_count', 'jitter', 'expect_status', 'tls_verify', 'initial_state', 'ssh', 'agent_port',
  'dynamic', 'ca_file',
] as const;
const REAL_KEYS = ['address', 'forward', 'weight', 'upper_threshold', 'lower_threshold', 'request', 'receive'] as const;
const INSTANCE_KEYS = [
  'name', 'interface', 'virtual_router_id', 'priority', 'advert_int', 'state', 'nopreempt', 'preempt_delay', 'version',
  'virtual_ipaddress', 'unicast_src_ip', 'unicast_peer', 'authentication', 'garp_master_delay', 'garp_master_repeat',
  'garp_master_refresh', 'garp_master_refresh_repeat', 'garp_interval', 'gna_interval', 'track_interface', 'track_script',
  'track_file', 'notify_master', 'notify_backup', 'notify_fault', 'notify_stop', 'notify', 'notify_fifo',
  'v3_checksum', 'accept',
] as const;

class TomlReader {
  private readonly locator: KeyLocator;
  private readonly resolver: CachingResolver;
  private readonly files: string[];

  constructor(
    text: string,
    private readonly file: string,
    private readonly sink: ProblemSink,
    private readonly options: TomlReadOptions,
  ) {
    this.locator = new KeyLocator(text);
    this.resolver = new CachingResolver(options.resolveHost ?? (async () => undefined));
    this.files = [file];
  }

  private loc(path: string): SourceLocation {
    const p = this.locator.find(path);
    return { file: this.file, line: p.line, column: p.column };
  }

  // ---- typed getters: each reports a wrong type at the key's line and returns undefined

  private unknownKeys(t: Table, allowed: readonly string[], path: string, section: string): void {
    for (const k of Object.keys(t)) {
      if (!allowed.includes(k)) {
        const d = didYouMean(k, allowed);
        this.sink.error('DIR_ERR_CONFIG_UNKNOWN_KEY', this.loc(`${path}.${k}`.replace(/^\./, '')), { key: k, section },
          d !== undefined ? `did you mean ${d}?` : undefined);
      }
    }
  }

  private wrong(path: string, key: string, expected: string, v: unknown): undefined {
    this.sink.error('DIR_ERR_CONFIG_WRONG_TYPE', this.loc(path), { key, expected, actual: typeName(v) });
    return undefined;
  }

  private str(t: Table, key: string, path: string): string | undefined {
    const v = t[key];
    if (v === undefined) return undefined;
    return typeof v === 'string' ? v : this.wrong(`${path}.${key}`, key, 'a string', v);
  }

  private bool(t: Table, key: string, path: string): boolean | undefined {
    const v = t[key];
    if (v === undefined) return undefined;
    return typeof v === 'boolean' ? v : this.wrong(`${path}.${key}`, key, 'true or false', v);
  }

  private int(t: Table, key: string, path: string, min: number, max: number): number | undefined {
    const v = t[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) return this.wrong(`${path}.${key}`, key, 'an integer', v);
    if (v < min || v > max) {
      this.sink.error('DIR_ERR_CONFIG_OUT_OF_RANGE', this.loc(`${path}.${key}`), { field: key, value: v, min, max });
      return undefined;
    }
    return v;
  }

  /** A duration: a number of seconds or a string with a unit ("1.5s", "250ms", "5m"). */
  private duration(t: Table, key: string, path: string): number | undefined {
    const v = t[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' && typeof v !== 'string') return this.wrong(`${path}.${key}`, key, 'a duration (seconds, or a string like "500ms")', v);
    const ms = tryParseDurationMs(v);
    if (ms === undefined) return this.wrong(`${path}.${key}`, key, 'a duration (seconds, or a string like "500ms")', v);
    return ms;
  }

  private oneOf<T extends string>(t: Table, key: string, path: string, allowed: readonly T[]): T | undefined {
    const v = this.str(t, key, path);
    if (v === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(v)) {
      const d = didYouMean(v, allowed);
      this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', this.loc(`${path}.${key}`), { directive: key, reason: `must be one of ${allowed.join(', ')} (got "${v}")` },
        d !== undefined ? `did you mean ${d}?` : undefined);
      return undefined;
    }
    return v as T;
  }

  private table(t: Table, key: string, path: string): Table | undefined {
    const v = t[key];
    if (v === undefined) return undefined;
    return isTable(v) ? v : this.wrong(`${path}.${key}`, key, 'a table', v);
  }

  private tables(t: Table, key: string, path: string): Table[] {
    const v = t[key];
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every(isTable)) {
      this.wrong(`${path}.${key}`, key, `an array of tables ([[${path ? `${path.replace(/#\d+/g, '')}.` : ''}${key}]])`, v);
      return [];
    }
    return v;
  }

  private strings(t: Table, key: string, path: string): string[] | undefined {
    const v = t[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return this.wrong(`${path}.${key}`, key, 'an array of strings', v);
    return v;
  }

  /** A command: an array of argv words, or a string split like a shell would (never run by one). */
  private command(t: Table, key: string, path: string): string[] | undefined {
    const v = t[key];
    if (v === undefined) return undefined;
    if (typeof v === 'string') {
      const s = splitCommand(v);
      if (s.shellChars.length > 0) {
        this.sink.warn('DIR_ERR_CONFIG_LINT_SHELL_SYNTAX', this.loc(`${path}.${key}`), { directive: key, command: v, chars: s.shellChars.join(' ') });
      }
      if (s.argv.length === 0) {
        this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', this.loc(`${path}.${key}`), { directive: key, reason: 'empty command' });
        return undefined;
      }
      return s.argv;
    }
    if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) return v as string[];
    return this.wrong(`${path}.${key}`, key, 'a command (a string, or a non-empty array of strings)', v);
  }

  // ---- document

  async read(doc: Table): Promise<ClusterConfig | undefined> {
    this.unknownKeys(doc, ['include', 'daemon', 'defaults', 'virtual', 'vrrp', 'schedule'], '', 'the top level');
    const daemonTable = this.table(doc, 'daemon', '') ?? {};
    const defaults = this.table(doc, 'defaults', '') ?? {};
    if (Object.keys(defaults).length > 0) this.unknownKeys(defaults, DEFAULTS_KEYS, 'defaults', '[defaults]');

    const includes = this.strings(doc, 'include', '') ?? [];
    const included: ClusterConfig[] = [];
    for (const inc of includes) {
      const cfg = await this.include(inc);
      if (cfg) included.push(cfg);
    }

    const daemon = this.daemon(daemonTable, doc, included);
    const virtuals: VirtualServiceConfig[] = [];
    for (const inc of included) virtuals.push(...inc.virtualServices);
    const vts = this.tables(doc, 'virtual', '');
    for (let i = 0; i < vts.length; i++) {
      const v = await this.virtual(vts[i] as Table, `virtual#${i}`, defaults);
      if (v) virtuals.push(v);
    }
    const vrrpTable = this.table(doc, 'vrrp', '') ?? {};
    this.unknownKeys(vrrpTable, ['instance', 'sync_group', 'script'], 'vrrp', '[vrrp]');
    const instances = this.tables(vrrpTable, 'instance', 'vrrp').map((t, i) => this.instance(t, `vrrp.instance#${i}`)).filter((x) => x !== undefined);
    const syncGroups = this.tables(vrrpTable, 'sync_group', 'vrrp').map((t, i) => this.syncGroup(t, `vrrp.sync_group#${i}`)).filter((x) => x !== undefined);
    const scripts = this.tables(vrrpTable, 'script', 'vrrp').map((t, i) => this.script(t, `vrrp.script#${i}`)).filter((x) => x !== undefined);
    return { files: this.files, daemon, vrrp: { instances, syncGroups, scripts }, virtualServices: virtuals };
  }

  private async include(relative: string): Promise<ClusterConfig | undefined> {
    const at = this.loc('include');
    const path = resolvePath(dirname(this.file), relative);
    if (path.toLowerCase().endsWith('.toml')) {
      this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, { directive: 'include', reason: `${relative}: only ldirectord.cf files can be included` },
        'merge the TOML files into one, or include ldirectord.cf files');
      return undefined;
    }
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      this.sink.error('DIR_ERR_CONFIG_INCLUDE_NOT_FOUND', at, { file: path });
      return undefined;
    }
    this.files.push(path);
    return readLdirectordConfig(text, path, this.sink, { ...this.options, configPath: path });
  }

  private daemon(t: Table, doc: Table, included: readonly ClusterConfig[]): DaemonSettings {
    const p = 'daemon';
    this.unknownKeys(t, DAEMON_KEYS, p, '[daemon]');
    const base = defaultDaemonSettings(this.options.configPath ?? this.file);
    // Daemon-level ldirectord globals of included files apply unless [daemon] sets them.
    const fromInclude = <K extends keyof DaemonSettings>(key: K): DaemonSettings[K] | undefined => {
      for (const inc of included) {
        const v = inc.daemon[key];
        if (v !== undefined && JSON.stringify(v) !== JSON.stringify(base[key])) return v;
      }
      return undefined;
    };
    let log: LogTarget = base.log;
    const logText = this.str(t, 'log', p);
    if (logText !== undefined) {
      if (logText === 'stdout') log = { kind: 'stdout' };
      else if (logText.startsWith('/')) log = { kind: 'file', path: logText };
      else if (/^(syslog:)?(kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local[0-7])$/.test(logText)) {
        log = { kind: 'syslog', facility: logText.replace(/^syslog:/, '') };
      } else {
        this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', this.loc(`${p}.log`), { directive: 'log', reason: `"${logText}" is not stdout, an absolute path or a syslog facility` });
      }
    } else log = fromInclude('log') ?? log;
    let httpListen: DaemonSettings['httpListen'];
    const listen = this.str(t, 'http_listen', p);
    if (listen !== undefined) {
      const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(listen);
      const address = m ? tryParseIp(m[1] as string) : undefined;
      if (!m || !address || Number(m[2]) > 65535) {
        this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', this.loc(`${p}.http_listen`), { directive: 'http_listen', reason: `"${listen}" is not ADDRESS:PORT` });
      } else httpListen = { address, port: Number(m[2]) };
    }
    const schedules = [
      ...this.tables(t, 'schedule', p).map((s, i) => this.schedule(s, `${p}.schedule#${i}`)),
      ...this.tables(doc, 'schedule', '').map((s, i) => this.schedule(s, `schedule#${i}`)),
    ].filter((x) => x !== undefined);
    const callback = this.str(t, 'callback', p) ?? fromInclude('callback');
    const maintenanceDir = this.str(t, 'maintenance_dir', p) ?? fromInclude('maintenanceDir');
    const emailAlertFrom = this.str(t, 'email_alert_from', p) ?? fromInclude('emailAlertFrom');
    const engineThreads = this.int(t, 'engine_threads', p, 1, 8);
    return {
      engine: this.oneOf(t, 'engine', p, ENGINE_KINDS) ?? base.engine,
      ...(engineThreads !== undefined ? { engineThreads } : {}),
      controlSocket: this.str(t, 'control_socket', p) ?? base.controlSocket,
      stateFile: this.str(t, 'state_file', p) ?? base.stateFile,
      pidFile: this.str(t, 'pid_file', p) ?? base.pidFile,
      log,
      logLevel: this.oneOf(t, 'log_level', p, ['error', 'warn', 'info', 'debug'] as const) ?? base.logLevel,
      autoreload: this.bool(t, 'autoreload', p) ?? fromInclude('autoreload') ?? base.autoreload,
      autoreloadIntervalMs: this.duration(t, 'autoreload_interval', p) ?? fromInclude('autoreloadIntervalMs') ?? base.autoreloadIntervalMs,
      ...(callback !== undefined ? { callback } : {}),
      supervised: this.bool(t, 'supervised', p) ?? fromInclude('supervised') ?? base.supervised,
      fork: this.bool(t, 'fork', p) ?? base.fork,
      ...(maintenanceDir !== undefined ? { maintenanceDir } : {}),
      readdQuiescent: this.bool(t, 'readd_quiescent', p) ?? fromInclude('readdQuiescent') ?? base.readdQuiescent,
      ...(emailAlertFrom !== undefined ? { emailAlertFrom } : {}),
      execute: [...(this.strings(t, 'execute', p) ?? []), ...included.flatMap((c) => c.daemon.execute)],
      ...(httpListen ? { httpListen } : {}),
      drainDeadlineMs: this.duration(t, 'drain_deadline', p) ?? base.drainDeadlineMs,
      schedules,
    };
  }

  private schedule(t: Table, p: string): ScheduleConfig | undefined {
    this.unknownKeys(t, ['name', 'cron', 'action', 'target'], p, '[[schedule]]');
    const name = this.str(t, 'name', p);
    const cron = this.str(t, 'cron', p);
    const action = this.oneOf(t, 'action', p, ['drain', 'enable', 'disable', 'reload', 'snapshot'] as const);
    const location = this.loc(p);
    if (name === undefined) this.sink.error('DIR_ERR_CONFIG_MISSING_KEY', location, { section: '[[schedule]]', key: 'name' });
    if (cron === undefined) this.sink.error('DIR_ERR_CONFIG_MISSING_KEY', location, { section: '[[schedule]]', key: 'cron' });
    if (t.action === undefined) this.sink.error('DIR_ERR_CONFIG_MISSING_KEY', location, { section: '[[schedule]]', key: 'action' });
    const target = this.str(t, 'target', p);
    if (name === undefined || cron === undefined || action === undefined) return undefined;
    return { name, cron, action, ...(target !== undefined ? { target } : {}), location };
  }

  /** `ADDR:PORT`, `[V6]:PORT`, or a bare address/host when a default port is given. */
  private async endpoint(text: string, path: string, what: string, family: IpFamily | undefined, defaultPort?: number):
    Promise<{ address: IpAddress; port: number } | undefined> {
    let host = text;
    let portText: string | undefined;
    const br = /^\[([^\]]+)\](?::([^:]+))?$/.exec(text);
    if (br) {
      host = br[1] as string;
      portText = br[2];
    } else if ((text.match(/:/g) ?? []).length === 1) {
      const i = text.indexOf(':');
      host = text.slice(0, i);
      portText = text.slice(i + 1);
    } else if (text.includes(':')) {
      // bare IPv6 without brackets: allowed only without a port
      host = text;
    }
    let port = defaultPort;
    if (portText !== undefined) {
      port = portForServiceName(portText);
      if (port === undefined) {
        this.sink.error('DIR_ERR_CONFIG_UNKNOWN_PORT', this.loc(path), { port: portText, what });
        return undefined;
      }
    }
    if (port === undefined) {
      this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', this.loc(path), { directive: 'address', reason: `${what} "${text}" needs a port (ADDRESS:PORT, [IPv6]:PORT)` });
      return undefined;
    }
    let address = tryParseIp(host);
    if (!address && /^[A-Za-z0-9.-]+$/.test(host) && /[A-Za-z]/.test(host)) {
      address = await this.resolver.resolve(host, family ?? 4);
      if (!address && family === undefined) address = await this.resolver.resolve(host, 6);
      if (!address) {
        this.sink.error('DIR_ERR_CONFIG_UNRESOLVABLE_HOST', this.loc(path), { what, host, family: family ?? 4 });
        return undefined;
      }
    }
    if (!address) {
      this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', this.loc(path), { directive: 'address', reason: `"${host}" is not an IP address or host name (${what})` });
      return undefined;
    }
    return { address, port };
  }

  // ---- virtual services

  private async virtual(t: Table, p: string, defaults: Table): Promise<VirtualServiceConfig | undefined> {
    this.unknownKeys(t, VIRTUAL_KEYS, p, '[[virtual]]');
    const location = this.loc(p);
    /** A key from this virtual, else from [defaults] (ldirectord's global-then-virtual rule). */
    const pick = <T>(get: (tb: Table, path: string) => T | undefined): T | undefined => get(t, p) ?? get(defaults, 'defaults');
    const addrText = this.str(t, 'address', p);
    const fwmark = this.int(t, 'fwmark', p, 0, 0xffffffff);
    const familyOpt = this.int(t, 'family', p, 4, 6);
    if (familyOpt !== undefined && familyOpt !== 4 && familyOpt !== 6) {
      this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', this.loc(`${p}.family`), { directive: 'family', reason: 'must be 4 or 6' });
    }
    if ((addrText === undefined) === (fwmark === undefined) && t.fwmark === undefined && t.address === undefined) {
      this.sink.error('DIR_ERR_CONFIG_MISSING_KEY', location, { section: '[[virtual]]', key: 'address (or fwmark)' });
      return undefined;
    }
    if (addrText !== undefined && fwmark !== undefined) {
      this.sink.error('DIR_ERR_CONFIG_CONFLICT', location, { reason: 'a virtual service has either address or fwmark, not both' });
      return undefined;
    }
    let protocol: 'tcp' | 'udp' | 'fwm';
    let address: IpAddress | undefined;
    let port = 0;
    let family: IpFamily;
    if (fwmark !== undefined) {
      protocol = 'fwm';
      family = familyOpt === 6 ? 6 : 4;
      if (t.protocol !== undefined && t.protocol !== 'fwm') {
        this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', this.loc(`${p}.protocol`), { directive: 'protocol', reason: 'a fwmark service has protocol fwm' });
      }
    } else {
      if (addrText === undefined) return undefined;
      const ep = await this.endpoint(addrText, `${p}.address`, 'virtual service', familyOpt === 4 || familyOpt === 6 ? familyOpt : undefined);
      if (!ep) return undefined;
      address = ep.address;
      port = ep.port;
      family = address.family;
      if ((familyOpt === 4 || familyOpt === 6) && familyOpt !== family) {
        this.sink.error('DIR_ERR_CONFIG_WRONG_FAMILY', this.loc(`${p}.family`), { reason: `family = ${familyOpt} but address ${addrText} is IPv${family}` });
        return undefined;
      }
      const proto = this.oneOf(t, 'protocol', p, ['tcp', 'udp'] as const);
      // As ldirectord: port 53 means UDP unless protocol says otherwise (ldirectord-spec 4.2).
      protocol = proto ?? (/:(53|domain)$/.test(addrText) ? 'udp' : 'tcp');
    }
    const id = protocol === 'fwm' ? `${family === 6 ? 'fwm6' : 'fwm'}:${fwmark}` : `${protocol}:${formatEndpoint({ address: address as IpAddress, port })}`;

    const reals: RealServerConfig[] = [];
    const rts = this.tables(t, 'real', p);
    for (let i = 0; i < rts.length; i++) {
      const r = await this.real(rts[i] as Table, `${p}.real#${i}`, family, protocol === 'fwm' ? 0 : port);
      if (r) reals.push(r);
    }
    const scheduler = pick((tb, pp) => this.oneOf(tb, 'scheduler', pp, SCHEDULERS)) ?? 'wrr';
    const schedulerFlags = (pick((tb, pp) => this.strings(tb, 'scheduler_flags', pp)) ?? []).filter((f): f is SchedulerFlag => {
      if ((SCHEDULER_FLAGS as readonly string[]).includes(f)) return true;
      this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', this.loc(`${p}.scheduler_flags`), { directive: 'scheduler_flags', reason: `unknown flag "${f}" (${SCHEDULER_FLAGS.join(', ')})` });
      return false;
    });
    let persistence: VirtualServiceConfig['persistence'];
    const persistent = pick((tb, pp) => this.duration(tb, 'persistent', pp));
    if (persistent !== undefined) {
      let prefix: number = family === 4 ? 32 : 128;
      const nm = t.persistence_netmask ?? defaults.persistence_netmask;
      if (typeof nm === 'number' && Number.isInteger(nm)) prefix = nm;
      else if (typeof nm === 'string') {
        const pl = family === 4 ? netmaskToPrefixLength(nm) : undefined;
        if (pl === undefined) {
          this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', this.loc(`${p}.persistence_netmask`), { directive: 'persistence_netmask', reason: `"${nm}" is not a contiguous dotted netmask (or use a prefix length)` });
        } else prefix = pl;
      } else if (nm !== undefined) this.wrong(`${p}.persistence_netmask`, 'persistence_netmask', 'a prefix length or a dotted netmask', nm);
      persistence = { timeoutMs: persistent, netmaskPrefixLength: prefix };
    }
    const check = this.check(t, p, defaults, protocol, port);
    let fallback: FallbackConfig | undefined;
    const fbRaw = t.fallback ?? defaults.fallback;
    const fbPath = t.fallback !== undefined ? `${p}.fallback` : 'defaults.fallback';
    if (fbRaw !== undefined) {
      let addr: string | undefined;
      let forward: ForwardMethod = 'gate';
      let weight = 1;
      if (typeof fbRaw === 'string') addr = fbRaw;
      else if (isTable(fbRaw)) {
        this.unknownKeys(fbRaw, ['address', 'forward', 'weight'], fbPath, 'fallback');
        addr = this.str(fbRaw, 'address', fbPath);
        forward = this.oneOf(fbRaw, 'forward', fbPath, ['gate', 'masq', 'ipip'] as const) ?? 'gate';
        weight = this.int(fbRaw, 'weight', fbPath, 0, 65535) ?? 1;
        if (addr === undefined) this.sink.error('DIR_ERR_CONFIG_MISSING_KEY', this.loc(fbPath), { section: 'fallback', key: 'address' });
      } else this.wrong(fbPath, 'fallback', 'a string or a table', fbRaw);
      if (addr !== undefined) {
        const ep = await this.endpoint(addr, fbPath, 'fallback server', family, protocol === 'fwm' ? 0 : port);
        if (ep) fallback = { address: ep.address, port: ep.port, forward, weight, location: this.loc(fbPath) };
      }
    }
    const fallbackCommand = this.command(t, 'fallback_command', p) ?? this.command(defaults, 'fallback_command', 'defaults');
    const alertsT = (this.table(t, 'alerts', p) ?? this.table(defaults, 'alerts', 'defaults')) ?? {};
    const alertsP = t.alerts !== undefined ? `${p}.alerts` : 'defaults.alerts';
    this.unknownKeys(alertsT, ['email_to', 'frequency', 'statuses', 'smtp'], alertsP, 'alerts');
    const smtpHost = this.str(alertsT, 'smtp', alertsP);
    const alerts: AlertConfig = {
      emailTo: this.strings(alertsT, 'email_to', alertsP) ?? [],
      emailFrequencyMs: this.duration(alertsT, 'frequency', alertsP) ?? 0,
      emailStatuses: (this.strings(alertsT, 'statuses', alertsP) ?? ['starting', 'running', 'stopping', 'reloading']).filter(
        (s): s is AlertConfig['emailStatuses'][number] => {
          if (['starting', 'running', 'stopping', 'reloading'].includes(s)) return true;
          this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', this.loc(`${alertsP}.statuses`), { directive: 'statuses', reason: `"${s}" is not starting, running, stopping or reloading` });
          return false;
        },
      ),
      ...(smtpHost !== undefined ? { smtpHost } : {}),
    };
    let quorum: QuorumConfig | undefined;
    const qT = this.table(t, 'quorum', p) ?? this.table(defaults, 'quorum', 'defaults');
    if (qT) {
      const qp = t.quorum !== undefined ? `${p}.quorum` : 'defaults.quorum';
      this.unknownKeys(qT, ['quorum', 'hysteresis', 'up_command', 'down_command'], qp, 'quorum');
      const q = this.int(qT, 'quorum', qp, 0, 1 << 30);
      if (q === undefined) this.sink.error('DIR_ERR_CONFIG_MISSING_KEY', this.loc(qp), { section: 'quorum', key: 'quorum' });
      const up = this.command(qT, 'up_command', qp);
      const down = this.command(qT, 'down_command', qp);
      quorum = { quorum: q ?? 1, hysteresis: this.int(qT, 'hysteresis', qp, 0, 1 << 30) ?? 0, ...(up ? { upCommand: up } : {}), ...(down ? { downCommand: down } : {}) };
    }
    const l7Rules: L7RuleConfig[] = this.tables(t, 'l7_rule', p).map((r, i) => {
      const rp = `${p}.l7_rule#${i}`;
      this.unknownKeys(r, ['pattern', 'reals'], rp, '[[virtual.l7_rule]]');
      const pattern = this.str(r, 'pattern', rp);
      if (pattern === undefined) this.sink.error('DIR_ERR_CONFIG_MISSING_KEY', this.loc(rp), { section: '[[virtual.l7_rule]]', key: 'pattern' });
      const keys = (this.strings(r, 'reals', rp) ?? []).map((k) => canonicalRealKey(k, protocol === 'fwm' ? 0 : port) ?? k);
      return { pattern: pattern ?? '', reals: keys, location: this.loc(rp) };
    });
    const tT = this.table(t, 'timeouts', p) ?? this.table(defaults, 'timeouts', 'defaults') ?? {};
    const tp = t.timeouts !== undefined ? `${p}.timeouts` : 'defaults.timeouts';
    this.unknownKeys(tT, ['tcp', 'tcp_fin', 'udp'], tp, 'timeouts');
    const proxyProtocol = pick((tb, pp) => this.oneOf(tb, 'proxy_protocol', pp, ['v1', 'v2'] as const));
    const serviceName = this.str(t, 'service_name', p);
    const comment = this.str(t, 'comment', p);
    const monitorFile = pick((tb, pp) => this.str(tb, 'monitor_file', pp));
    if (!check) return undefined;
    return {
      id,
      location,
      protocol,
      family,
      ...(address ? { address } : {}),
      port,
      ...(fwmark !== undefined ? { fwmark } : {}),
      scheduler: scheduler as SchedulerName,
      schedulerFlags,
      ...(persistence ? { persistence } : {}),
      ops: (pick((tb, pp) => this.bool(tb, 'ops', pp)) ?? false) && protocol === 'udp',
      reals,
      ...(fallback ? { fallback } : {}),
      ...(fallbackCommand ? { fallbackCommand } : {}),
      check,
      quiescent: pick((tb, pp) => this.bool(tb, 'quiescent', pp)) ?? false,
      cleanStop: pick((tb, pp) => this.bool(tb, 'clean_stop', pp)) ?? true,
      alerts,
      ...(serviceName !== undefined ? { serviceName } : {}),
      ...(comment !== undefined ? { comment } : {}),
      ...(monitorFile !== undefined ? { monitorFile } : {}),
      ...(quorum ? { quorum } : {}),
      slowStartMs: pick((tb, pp) => this.duration(tb, 'slow_start', pp)) ?? 0,
      ...(proxyProtocol ? { proxyProtocol } : {}),
      l7Rules,
      timeouts: {
        tcpMs: this.duration(tT, 'tcp', tp) ?? DEFAULT_TIMEOUTS.tcpMs,
        tcpFinMs: this.duration(tT, 'tcp_fin', tp) ?? DEFAULT_TIMEOUTS.tcpFinMs,
        udpMs: this.duration(tT, 'udp', tp) ?? DEFAULT_TIMEOUTS.udpMs,
      },
      onRealRemoved: pick((tb, pp) => this.oneOf(tb, 'on_real_removed', pp, ['finish', 'reset'] as const)) ?? 'finish',
    };
  }

  private async real(t: Table, p: string, family: IpFamily, virtualPort: number): Promise<RealServerConfig | undefined> {
    this.unknownKeys(t, REAL_KEYS, p, '[[virtual.real]]');
    const addr = this.str(t, 'address', p);
    if (addr === undefined) {
      if (t.address === undefined) this.sink.error('DIR_ERR_CONFIG_MISSING_KEY', this.loc(p), { section: '[[virtual.real]]', key: 'address' });
      return undefined;
    }
    const ep = await this.endpoint(addr, `${p}.address`, 'real server', family, virtualPort);
    if (!ep) return undefined;
    const request = this.str(t, 'request', p);
    const receive = this.str(t, 'receive', p);
    return {
      key: formatEndpoint(ep),
      location: this.loc(p),
      address: ep.address,
      port: ep.port,
      forward: this.oneOf(t, 'forward', p, ['gate', 'masq', 'ipip'] as const) ?? 'gate',
      weight: this.int(t, 'weight', p, 0, 65535) ?? 1,
      upperThreshold: this.int(t, 'upper_threshold', p, 0, 65535) ?? 0,
      lowerThreshold: this.int(t, 'lower_threshold', p, 0, 65535) ?? 0,
      ...(request !== undefined ? { request: request.startsWith('/') || /^\w+:\/\//.test(request) ? request : `/${request}` } : {}),
      ...(receive !== undefined ? { receive } : {}),
    };
  }

  private check(t: Table, p: string, defaults: Table, protocol: 'tcp' | 'udp' | 'fwm', port: number): CheckConfig | undefined {
    const own = this.table(t, 'check', p) ?? {};
    const dflt = this.table(defaults, 'check', 'defaults') ?? {};
    const cp = `${p}.check`;
    this.unknownKeys(own, CHECK_KEYS, cp, '[virtual.check]');
    if (Object.keys(dflt).length > 0) this.unknownKeys(dflt, CHECK_KEYS, 'defaults.check', '[defaults.check]');
    const pick = <T>(get: (tb: Table, path: string) => T | undefined): T | undefined => get(own, cp) ?? get(dflt, 'defaults.check');
    const type: CheckType = pick((tb, pp) => this.oneOf(tb, 'type', pp, CHECK_TYPES)) ?? 'negotiate';
    const service: ServiceName = pick((tb, pp) => this.oneOf(tb, 'service', pp, SERVICES)) ?? (protocol === 'fwm' ? 'none' : ldirectordServiceForPort(port));
    const timeoutMs = pick((tb, pp) => this.duration(tb, 'timeout', pp));
    const negotiateTimeoutMs = pick((tb, pp) => this.duration(tb, 'negotiate_timeout', pp));
    const requestRaw = pick((tb, pp) => this.str(tb, 'request', pp)) ?? '/';
    const command = pick((tb, pp) => this.command(tb, 'command', pp));
    const expect = own.expect_status ?? dflt.expect_status;
    let expectStatus: number[] | undefined;
    if (expect !== undefined) {
      if (Array.isArray(expect) && expect.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 100 && x <= 599)) expectStatus = expect as number[];
      else this.wrong(`${cp}.expect_status`, 'expect_status', 'an array of HTTP status codes (100..599)', expect);
    }
    let ssh: SshCheckConfig | undefined;
    const sshT = this.table(own, 'ssh', cp) ?? this.table(dflt, 'ssh', 'defaults.check');
    if (sshT) {
      const sp = own.ssh !== undefined ? `${cp}.ssh` : 'defaults.check.ssh';
      this.unknownKeys(sshT, ['user', 'port', 'private_key_file', 'known_hosts_file', 'command', 'expect_output'], sp, 'check.ssh');
      const need = (k: string): string => {
        const v = this.str(sshT, k, sp);
        if (v === undefined && sshT[k] === undefined) this.sink.error('DIR_ERR_CONFIG_MISSING_KEY', this.loc(sp), { section: 'check.ssh', key: k });
        return v ?? '';
      };
      const expectOutput = this.str(sshT, 'expect_output', sp);
      ssh = {
        user: need('user'),
        port: this.int(sshT, 'port', sp, 1, 65535) ?? 22,
        privateKeyFile: need('private_key_file'),
        knownHostsFile: need('known_hosts_file'),
        command: need('command'),
        ...(expectOutput !== undefined ? { expectOutput } : {}),
      };
    }
    const checkPort = pick((tb, pp) => this.int(tb, 'port', pp, 1, 65535));
    const negotiateEvery = pick((tb, pp) => this.int(tb, 'negotiate_every', pp, 0, 1_000_000));
    const virtualHost = pick((tb, pp) => this.str(tb, 'virtual_host', pp));
    const agentPort = pick((tb, pp) => this.int(tb, 'agent_port', pp, 1, 65535));
    const dynamic = pick((tb, pp) => this.bool(tb, 'dynamic', pp));
    const caFile = this.caFile(own, cp) ?? this.caFile(dflt, 'defaults.check');
    if (type === 'combined' && negotiateEvery === undefined) {
      this.sink.error('DIR_ERR_CONFIG_MISSING_KEY', this.loc(cp), { section: '[virtual.check] with type = "combined"', key: 'negotiate_every' });
    }
    if (protocol === 'fwm' && checkPort === undefined && (type === 'connect' || type === 'negotiate' || type === 'combined') && defaultPortForService(service) === undefined) {
      this.sink.warn('DIR_ERR_CONFIG_LINT_SUSPICIOUS', this.loc(cp), {
        reason: 'a firewall-mark service checks the reals\' own ports; reals without a port cannot be checked',
        advice: 'set check.port',
      });
    }
    return {
      type,
      ...(negotiateEvery !== undefined ? { negotiateEvery } : {}),
      service,
      ...(checkPort !== undefined ? { checkPort } : {}),
      request: requestRaw.startsWith('/') || /^\w+:\/\//.test(requestRaw) ? requestRaw : `/${requestRaw}`,
      receive: pick((tb, pp) => this.str(tb, 'receive', pp)) ?? '',
      httpMethod: pick((tb, pp) => this.oneOf(tb, 'http_method', pp, ['GET', 'HEAD'] as const)) ?? 'GET',
      ...(virtualHost !== undefined ? { virtualHost } : {}),
      login: pick((tb, pp) => this.str(tb, 'login', pp)) ?? '',
      password: pick((tb, pp) => this.str(tb, 'password', pp)) ?? '',
      database: pick((tb, pp) => this.str(tb, 'database', pp)) ?? '',
      secret: pick((tb, pp) => this.str(tb, 'secret', pp)) ?? '',
      command: command ?? ['/bin/true'],
      intervalMs: pick((tb, pp) => this.duration(tb, 'interval', pp)) ?? 10_000,
      // ldirectord-spec 8: each timeout defaults to the other, then 5 s / 30 s.
      timeoutMs: timeoutMs ?? negotiateTimeoutMs ?? 5000,
      negotiateTimeoutMs: negotiateTimeoutMs ?? timeoutMs ?? 30_000,
      checkCount: pick((tb, pp) => this.int(tb, 'check_count', pp, 1, 1_000_000)) ?? 1,
      failureCount: pick((tb, pp) => this.int(tb, 'failure_count', pp, 1, 1_000_000)) ?? 1,
      riseCount: pick((tb, pp) => this.int(tb, 'rise_count', pp, 1, 1_000_000)) ?? 1,
      jitterMs: pick((tb, pp) => this.duration(tb, 'jitter', pp)) ?? 0,
      ...(expectStatus ? { expectStatus } : {}),
      tlsVerify: pick((tb, pp) => this.bool(tb, 'tls_verify', pp)) ?? true,
      initialState: pick((tb, pp) => this.oneOf(tb, 'initial_state', pp, ['down', 'up'] as const)) ?? 'down',
      ...(ssh ? { ssh } : {}),
      ...(agentPort !== undefined ? { agentPort } : {}),
      ...(dynamic !== undefined ? { dynamic } : {}),
      ...(caFile !== undefined ? { caFile } : {}),
    };
  }

  /** check.ca_file: a path, relative ones resolved against this file's directory (as include). */
  private caFile(t: Table, path: string): string | undefined {
    const v = this.str(t, 'ca_file', path);
    if (v === undefined) return undefined;
    if (v.trim() === '') {
      this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', this.loc(`${path}.ca_file`), { directive: 'ca_file', reason: 'empty path' });
      return undefined;
    }
    const absolute = resolvePath(dirname(this.file), v);
    if ((this.options.checkPaths ?? true) && !existsSync(absolute)) {
      this.sink.warn('DIR_ERR_CONFIG_LINT_PATH_MISSING', this.loc(`${path}.ca_file`), { directive: 'ca_file', path: absolute });
    }
    return absolute;
  }

  // ---- VRRP

  private notify(t: Table, p: string): NotifyConfig {
    const master = this.command(t, 'notify_master', p);
    const backup = this.command(t, 'notify_backup', p);
    const fault = this.command(t, 'notify_fault', p);
    const stop = this.command(t, 'notify_stop', p);
    const any = this.command(t, 'notify', p);
    return {
      ...(master ? { master } : {}),
      ...(backup ? { backup } : {}),
      ...(fault ? { fault } : {}),
      ...(stop ? { stop } : {}),
      ...(any ? { any } : {}),
    };
  }

  /** keepalived-spec 2.3: `ADDR[/PREFIX] [dev DEV] [label LABEL]`. */
  private vip(text: string, p: string): VirtualAddressConfig | undefined {
    const words = text.trim().split(/\s+/);
    const addrText = words[0] ?? '';
    const slash = addrText.indexOf('/');
    const address = tryParseIp(slash < 0 ? addrText : addrText.slice(0, slash));
    if (!address) {
      this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', this.loc(p), { directive: 'virtual_ipaddress', reason: `"${addrText}" is not an address` });
      return undefined;
    }
    let cidr;
    try {
      cidr = parseCidr(slash < 0 ? address.text : `${address.text}${addrText.slice(slash)}`, { strict: false });
    } catch (e) {
      this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', this.loc(p), { directive: 'virtual_ipaddress', reason: (e as Error).message });
      return undefined;
    }
    let device: string | undefined;
    let label: string | undefined;
    for (let i = 1; i < words.length; i += 2) {
      const k = words[i] as string;
      const v = words[i + 1];
      if (v === undefined || (k !== 'dev' && k !== 'label')) {
        this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', this.loc(p), { directive: 'virtual_ipaddress', reason: `"${text}": expected "dev DEVICE" or "label LABEL" after the address` });
        return undefined;
      }
      if (k === 'dev') device = v;
      else label = v;
    }
    return { cidr, address, prefixLength: cidr.prefixLength, ...(device !== undefined ? { device } : {}), ...(label !== undefined ? { label } : {}) };
  }

  private instance(t: Table, p: string): VrrpInstanceConfig | undefined {
    this.unknownKeys(t, INSTANCE_KEYS, p, '[[vrrp.instance]]');
    const location = this.loc(p);
    const name = this.str(t, 'name', p);
    const iface = this.str(t, 'interface', p);
    const vrid = this.int(t, 'virtual_router_id', p, 1, 255);
    for (const [k, v] of [['name', t.name], ['interface', t.interface], ['virtual_router_id', t.virtual_router_id]] as const) {
      if (v === undefined) this.sink.error('DIR_ERR_CONFIG_MISSING_KEY', location, { section: `[[vrrp.instance]]${name ? ` "${name}"` : ''}`, key: k });
    }
    const vipTexts = this.strings(t, 'virtual_ipaddress', p) ?? [];
    const vips = vipTexts.map((v) => this.vip(v, `${p}.virtual_ipaddress`)).filter((x) => x !== undefined);
    const family: IpFamily = vips[0]?.address.family ?? 4;
    const version = (this.int(t, 'version', p, 2, 3) ?? (family === 6 ? 3 : 2)) as 2 | 3;
    const ipList = (key: string): IpAddress[] =>
      (this.strings(t, key, p) ?? []).flatMap((s) => {
        const ip = tryParseIp(s);
        if (!ip) {
          this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', this.loc(`${p}.${key}`), { directive: key, reason: `"${s}" is not an IP address` });
          return [];
        }
        return [ip];
      });
    const srcText = this.str(t, 'unicast_src_ip', p);
    const unicastSource = srcText !== undefined ? tryParseIp(srcText) : undefined;
    if (srcText !== undefined && !unicastSource) {
      this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', this.loc(`${p}.unicast_src_ip`), { directive: 'unicast_src_ip', reason: `"${srcText}" is not an IP address` });
    }
    let authPass: string | undefined;
    const auth = this.table(t, 'authentication', p);
    if (auth) {
      const ap = `${p}.authentication`;
      this.unknownKeys(auth, ['auth_type', 'auth_pass'], ap, 'authentication');
      const type = this.oneOf(auth, 'auth_type', ap, ['PASS'] as const);
      if (auth.auth_type === 'AH') {
        this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', this.loc(`${ap}.auth_type`), { directive: 'auth_type', reason: 'AH authentication is not supported (only PASS)' });
      }
      authPass = this.str(auth, 'auth_pass', ap);
      if (type !== undefined && authPass === undefined) this.sink.error('DIR_ERR_CONFIG_MISSING_KEY', this.loc(ap), { section: 'authentication', key: 'auth_pass' });
    }
    const tracked = <T>(key: string, parse: (x: unknown, path: string) => T | undefined): T[] => {
      const v = t[key];
      if (v === undefined) return [];
      if (!Array.isArray(v)) {
        this.wrong(`${p}.${key}`, key, 'an array', v);
        return [];
      }
      return v.map((x) => parse(x, `${p}.${key}`)).filter((x): x is T => x !== undefined);
    };
    const nameWeight = (x: unknown, path: string, defaultWeight: number | undefined, what: string): { name: string; weight?: number } | undefined => {
      if (typeof x === 'string') return { name: x, ...(defaultWeight !== undefined ? { weight: defaultWeight } : {}) };
      if (isTable(x) && typeof x.name === 'string') {
        this.unknownKeys(x, ['name', 'weight'], path, what);
        if (x.weight !== undefined && (typeof x.weight !== 'number' || !Number.isInteger(x.weight))) return this.wrong(path, 'weight', 'an integer', x.weight);
        const w = typeof x.weight === 'number' ? x.weight : defaultWeight;
        return { name: x.name, ...(w !== undefined ? { weight: w } : {}) };
      }
      return this.wrong(path, what, 'a name or { name = "...", weight = N }', x);
    };
    const trackInterfaces = tracked(`track_interface`, (x, path) => nameWeight(x, path, 0, 'track_interface')).map((x) => ({ name: x.name, weight: x.weight ?? 0 }));
    const trackScripts = tracked('track_script', (x, path) => nameWeight(x, path, undefined, 'track_script'));
    const trackFiles = tracked('track_file', (x, path) => {
      if (isTable(x) && typeof x.path === 'string') {
        this.unknownKeys(x, ['path', 'weight'], path, 'track_file');
        const w = x.weight === undefined ? 1 : x.weight;
        if (typeof w !== 'number' || !Number.isInteger(w)) return this.wrong(path, 'weight', 'an integer', w);
        return { path: x.path, weight: w };
      }
      return this.wrong(path, 'track_file', '{ path = "...", weight = N }', x);
    });
    const notifyFifo = this.str(t, 'notify_fifo', p);
    const nopreempt = this.bool(t, 'nopreempt', p) ?? false;
    if (name === undefined || iface === undefined || vrid === undefined) return undefined;
    return {
      name,
      location,
      version,
      family,
      interface: iface,
      vrid,
      priority: this.int(t, 'priority', p, 1, 255) ?? 100,
      advertIntervalMs: this.duration(t, 'advert_int', p) ?? 1000,
      initialState: this.oneOf(t, 'state', p, ['BACKUP', 'MASTER'] as const) ?? 'BACKUP',
      preempt: !nopreempt,
      preemptDelayMs: this.duration(t, 'preempt_delay', p) ?? 0,
      virtualAddresses: vips,
      ...(unicastSource ? { unicastSource } : {}),
      unicastPeers: ipList('unicast_peer'),
      ...(authPass !== undefined ? { authPass } : {}),
      garp: {
        masterDelayMs: this.duration(t, 'garp_master_delay', p) ?? DEFAULT_GARP.masterDelayMs,
        masterRepeat: this.int(t, 'garp_master_repeat', p, 1, 1000) ?? DEFAULT_GARP.masterRepeat,
        masterRefreshMs: this.duration(t, 'garp_master_refresh', p) ?? DEFAULT_GARP.masterRefreshMs,
        masterRefreshRepeat: this.int(t, 'garp_master_refresh_repeat', p, 1, 1000) ?? DEFAULT_GARP.masterRefreshRepeat,
        intervalMs: this.duration(t, 'garp_interval', p) ?? this.duration(t, 'gna_interval', p) ?? DEFAULT_GARP.intervalMs,
      },
      trackInterfaces,
      trackScripts,
      trackFiles,
      notify: this.notify(t, p),
      ...(notifyFifo !== undefined ? { notifyFifo } : {}),
      v3ChecksumMode: this.oneOf(t, 'v3_checksum', p, ['keepalived', 'rfc9568'] as const) ?? 'keepalived',
      accept: this.bool(t, 'accept', p) ?? true,
    };
  }

  private syncGroup(t: Table, p: string): VrrpSyncGroupConfig | undefined {
    this.unknownKeys(t, ['name', 'group', 'notify_master', 'notify_backup', 'notify_fault', 'notify_stop', 'notify'], p, '[[vrrp.sync_group]]');
    const name = this.str(t, 'name', p);
    const group = this.strings(t, 'group', p);
    const location = this.loc(p);
    if (t.name === undefined) this.sink.error('DIR_ERR_CONFIG_MISSING_KEY', location, { section: '[[vrrp.sync_group]]', key: 'name' });
    if (t.group === undefined) this.sink.error('DIR_ERR_CONFIG_MISSING_KEY', location, { section: '[[vrrp.sync_group]]', key: 'group' });
    if (name === undefined || group === undefined) return undefined;
    return { name, instances: group, notify: this.notify(t, p), location };
  }

  private script(t: Table, p: string): VrrpScriptConfig | undefined {
    this.unknownKeys(t, ['name', 'script', 'interval', 'timeout', 'rise', 'fall', 'weight'], p, '[[vrrp.script]]');
    const name = this.str(t, 'name', p);
    const command = this.command(t, 'script', p);
    const location = this.loc(p);
    if (t.name === undefined) this.sink.error('DIR_ERR_CONFIG_MISSING_KEY', location, { section: '[[vrrp.script]]', key: 'name' });
    if (t.script === undefined) this.sink.error('DIR_ERR_CONFIG_MISSING_KEY', location, { section: '[[vrrp.script]]', key: 'script' });
    if (name === undefined || command === undefined) return undefined;
    // keepalived-spec 3.3: interval 1 s, timeout = interval, rise/fall 1, weight 0.
    const intervalMs = this.duration(t, 'interval', p) ?? 1000;
    return {
      name,
      command,
      intervalMs,
      timeoutMs: this.duration(t, 'timeout', p) ?? intervalMs,
      rise: this.int(t, 'rise', p, 1, 1_000_000) ?? 1,
      fall: this.int(t, 'fall', p, 1, 1_000_000) ?? 1,
      weight: this.int(t, 'weight', p, -253, 253) ?? 0,
      location,
    };
  }
}

/** Canonical `addr:port` for a real written in an L7 rule (so "[2001:DB8::1]:80" matches). */
function canonicalRealKey(text: string, defaultPort: number): string | undefined {
  const br = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  let host = text;
  let port = defaultPort;
  if (br) {
    host = br[1] as string;
    if (br[2] !== undefined) port = Number(br[2]);
  } else if ((text.match(/:/g) ?? []).length === 1) {
    const i = text.indexOf(':');
    host = text.slice(0, i);
    port = Number(text.slice(i + 1));
  }
  const ip = tryParseIp(host);
  return ip && Number.isInteger(port) ? formatEndpoint({ address: ip, port }) : undefined;
}
