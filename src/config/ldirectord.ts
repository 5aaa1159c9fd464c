/**
 * ldirectord.cf reader: reads the file exactly as ldirectord's read_config/ld_setup do
 * (ldirectord-spec sections 2-8), reports every problem instead of stopping at the first, and adds
 * lint warnings for the traps ldirectord accepts silently (ldirectord-spec 13).
 *
 * Perl regex semantics are reproduced with care: `.` in Perl matches CR (JavaScript's does not), so
 * `[\s\S]` stands in for it; matches are unanchored where ldirectord's are.
 */
import { hostname as osHostname } from 'node:os';
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ErrorParams, SourceLocation } from '../core/errors.js';
import { formatEndpoint, netmaskToPrefixLength, tryParseIp } from '../core/ip.js';
import type { IpAddress, IpFamily } from '../core/ip.js';
import { SCHEDULERS, SERVICES } from '../core/types.js';
import type { CheckType, ForwardMethod, SchedulerFlag, SchedulerName, ServiceName } from '../core/types.js';
import { splitCommand } from './argv.js';
import {
  DEFAULT_TIMEOUTS,
  LDIRECTORD_DEFAULT_CHECKINTERVAL_S,
  LDIRECTORD_DEFAULT_CHECKTIMEOUT_S,
  LDIRECTORD_DEFAULT_NEGOTIATETIMEOUT_S,
  defaultDaemonSettings,
} from './defaults.js';
import type {
  AlertConfig,
  CheckConfig,
  ClusterConfig,
  DaemonSettings,
  FallbackConfig,
  LogTarget,
  RealServerConfig,
  VirtualServiceConfig,
} from './model.js';
import { didYouMean } from './problems.js';
import type { ProblemSink } from './problems.js';
import { CachingResolver } from './resolve.js';
import type { HostResolver } from './resolve.js';
import { ldirectordServiceForPort, portForServiceName } from './services.js';

export interface LdirectordReadOptions {
  readonly resolveHost?: HostResolver;
  /** $HOSTNAME for the ftp/sip login defaults (ldirectord-spec 5.1). Default: os.hostname(). */
  readonly hostname?: string;
  /** Check logfile/monitorfile/maintenancedir paths on disk (never creates anything). Default true. */
  readonly checkPaths?: boolean;
  /** The path used for the default pid file name (the config as the operator named it). */
  readonly configPath?: string;
}

interface Setting<T> {
  readonly value: T;
  readonly loc: SourceLocation;
}

type EmailStatus = 'starting' | 'running' | 'stopping' | 'reloading';
const ALL_STATUSES: readonly EmailStatus[] = ['starting', 'running', 'stopping', 'reloading'];

interface ParsedFallback {
  readonly server: string;
  /** Port as written (number text or service name); undefined = the virtual's port. */
  readonly port?: string;
  readonly forward: ForwardMethod;
}

/** Values that exist both globally and per virtual (ldirectord-spec 3 "G+V"). */
interface Overridable {
  checktimeout?: Setting<number>;
  negotiatetimeout?: Setting<number>;
  checkcount?: Setting<number>;
  failurecount?: Setting<number>;
  checkinterval?: Setting<number>;
  fallbackcommand?: Setting<string>;
  quiescent?: Setting<boolean>;
  emailalert?: Setting<string>;
  emailalertfreq?: Setting<number>;
  emailalertstatus?: Setting<EmailStatus[]>;
  cleanstop?: Setting<boolean>;
  smtp?: Setting<string>;
}

interface GlobalState extends Overridable {
  fallback?: Setting<ParsedFallback>;
  fallback6?: Setting<ParsedFallback>;
  autoreload?: Setting<boolean>;
  callback?: Setting<string>;
  logfile?: Setting<string>;
  execute: Setting<string>[];
  fork?: Setting<boolean>;
  supervised?: Setting<boolean>;
  readdquiescent?: Setting<boolean>;
  emailalertfrom?: Setting<string>;
  maintenancedir?: Setting<string>;
}

interface BlockState extends Overridable {
  family: IpFamily;
  headerLoc: SourceLocation;
  headerValue: string;
  /** Host and port text for address services; undefined for fwmark or unparseable headers. */
  hostText?: string;
  portText?: string;
  fwmark?: number;
  valid: boolean;
  protocol: 'tcp' | 'udp' | 'fwm';
  service?: Setting<ServiceName>;
  request: string;
  receive: string;
  /** Where request= / receive= were written, for lint about checks that ignore them. */
  requestLoc?: SourceLocation;
  receiveLoc?: SourceLocation;
  checktype: CheckType;
  negotiateEvery?: number;
  checkcommand?: Setting<string>;
  checkport?: number;
  login: string;
  passwd: string;
  database: string;
  secret: string;
  scheduler: SchedulerName;
  persistent?: Setting<number>;
  netmask?: Setting<string>;
  ops: boolean;
  opsLoc?: SourceLocation;
  httpmethod: 'GET' | 'HEAD';
  virtualhost?: string;
  fallback?: Setting<ParsedFallback>;
  monitorfile?: string;
  schedflags: SchedulerFlag[];
  servicename?: string;
  comment?: string;
  reals: Setting<string>[];
  endLoc: SourceLocation;
}

/** Global-only directives (ldirectord-spec 3). */
const GLOBAL_ONLY = [
  'autoreload', 'callback', 'logfile', 'execute', 'fork', 'supervised', 'readdquiescent', 'emailalertfrom',
  'maintenancedir',
] as const;
/** Directives allowed in both contexts. */
const SHARED = [
  'checktimeout', 'negotiatetimeout', 'checkinterval', 'checkcount', 'failurecount', 'fallback', 'fallback6',
  'fallbackcommand', 'quiescent', 'emailalert', 'emailalertfreq', 'emailalertstatus', 'cleanstop', 'smtp',
] as const;
/** Virtual-only directives (ldirectord-spec 5.1). */
const VIRTUAL_ONLY = [
  'real', 'real6', 'request', 'receive', 'checktype', 'checkcommand', 'checkport', 'login', 'passwd', 'database',
  'secret', 'load', 'scheduler', 'persistent', 'netmask', 'protocol', 'ops', 'service', 'httpmethod',
  'virtualhost', 'monitorfile', 'schedflags', 'servicename', 'comment',
] as const;
const ALL_DIRECTIVES: readonly string[] = [
  'virtual', 'virtual6', ...GLOBAL_ONLY, ...SHARED, ...VIRTUAL_ONLY, 'connecttimeout', 'timeout',
];
const GLOBAL_SET: ReadonlySet<string> = new Set<string>([...GLOBAL_ONLY, ...SHARED]);
const VIRTUAL_SET: ReadonlySet<string> = new Set<string>([...SHARED, ...VIRTUAL_ONLY]);
/** Directives whose value must be double-quoted (anything else falls through to "Unknown command"). */
const QUOTED_GLOBAL: ReadonlySet<string> = new Set(['callback', 'logfile']);
const QUOTED_VIRTUAL: ReadonlySet<string> = new Set(['request', 'receive', 'login', 'passwd', 'database', 'secret', 'load']);

const SYSLOG_FACILITIES: ReadonlySet<string> = new Set([
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp',
  'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
]);

/** Shows CR and TAB in messages so "yes\r" is visibly not "yes". */
function visible(text: string): string {
  return JSON.stringify(text);
}

/** Perl `$v =~ /(\d+)/`: the first run of digits anywhere. */
function firstDigits(value: string): number | undefined {
  const m = /(\d+)/.exec(value);
  return m ? Number(m[1]) : undefined;
}

/**
 * Longest directive line read. ldirectord has no limit, but its unanchored real= and fallback=
 * patterns backtrack quadratically; no meaningful directive is this long.
 */
const MAX_LINE = 4096;

/** The largest range ldirectord users could mean; beyond it a typo would allocate millions of reals. */
const MAX_RANGE = 65536;

/** Reads ldirectord.cf text; problems go to the sink. Returns a config unless errors made that impossible. */
export async function readLdirectordConfig(
  text: string,
  file: string,
  sink: ProblemSink,
  options: LdirectordReadOptions = {},
): Promise<ClusterConfig> {
  const reader = new LdirectordReader(text, file, sink, options);
  return reader.read();
}

class LdirectordReader {
  private readonly global: GlobalState = { execute: [] };
  private readonly blocks: BlockState[] = [];
  private readonly globalFallbacks = new Map<IpFamily, FallbackConfig>();
  private readonly regexLint = new Map<string, { params: ErrorParams; hint: string } | null>();
  private readonly resolver: CachingResolver;
  private readonly hostname: string;
  private readonly checkPaths: boolean;

  constructor(
    private readonly text: string,
    private readonly file: string,
    private readonly sink: ProblemSink,
    private readonly options: LdirectordReadOptions,
  ) {
    this.resolver = new CachingResolver(options.resolveHost ?? (async () => undefined));
    this.hostname = options.hostname ?? osHostname();
    this.checkPaths = options.checkPaths ?? true;
  }

  private loc(line: number, column: number): SourceLocation {
    return { file: this.file, line, column: Math.max(1, column) };
  }

  async read(): Promise<ClusterConfig> {
    this.lex();
    return this.build();
  }

  // ---------------------------------------------------------------- lexical pass (ldirectord-spec 2)

  private lex(): void {
    const lines = this.text.split('\n');
    // Perl reads lines terminated by \n; a final \n does not start another line.
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    let i = 0;
    while (i < lines.length) {
      const raw = lines[i] as string;
      const lineNo = i + 1;
      const vm = /^virtual(6)?\s*=\s*([\s\S]*)$/.exec(raw);
      if (vm) {
        const valueCol = raw.length - (vm[2] as string).length + 1;
        const block = this.startBlock(vm[1] === '6' ? 6 : 4, vm[2] as string, this.loc(lineNo, valueCol), lineNo);
        i++;
        while (i < lines.length) {
          const braw = lines[i] as string;
          if (/^\s*#/.test(braw)) {
            i++;
            continue;
          }
          const hash = braw.indexOf('#');
          const stripped = (hash >= 0 ? braw.slice(0, hash) : braw).replace(/\t/g, '    ');
          const m = /^ {4,}([\s\S]+)$/.exec(stripped);
          if (!m) break;
          this.blockDirective(block, m[1] as string, braw, hash >= 0 ? braw.slice(0, hash) : braw, i + 1);
          i++;
        }
        // ldirectord reports a duplicate at the line that ended the block (ldirectord-spec 2.4).
        block.endLoc = this.loc(Math.min(i + 1, Math.max(lines.length, 1)), 1);
        this.blocks.push(block);
        continue; // the ending line is processed again in global context, unmodified
      }
      if (/^\s*$/.test(raw) || /^\s*#/.test(raw)) {
        i++;
        continue;
      }
      this.globalDirective(raw, lineNo);
      i++;
    }
  }

  private startBlock(family: IpFamily, value: string, loc: SourceLocation, lineNo: number): BlockState {
    const block: BlockState = {
      family,
      headerLoc: loc,
      headerValue: value,
      valid: true,
      protocol: 'tcp',
      request: '/',
      receive: '',
      checktype: 'negotiate',
      login: '',
      passwd: '',
      database: '',
      secret: '',
      scheduler: 'wrr',
      ops: false,
      httpmethod: 'GET',
      schedflags: [],
      reals: [],
      endLoc: loc,
    };
    let rest = '';
    let m: RegExpExecArray | null;
    // ldirectord-spec 4.1: the patterns in order, anchored only at the start.
    if (family === 4 && (m = /^(\d+\.\d+\.\d+\.\d+):([0-9A-Za-z_-]+)/.exec(value))) {
      block.hostText = m[1] as string;
      block.portText = m[2] as string;
      rest = value.slice(m[0].length);
    } else if ((m = /^([0-9A-Za-z._+-]+):([0-9A-Za-z_-]+)/.exec(value))) {
      block.hostText = m[1] as string;
      block.portText = m[2] as string;
      rest = value.slice(m[0].length);
      if (family === 6 && /^[0-9A-Fa-f]{1,4}$/.test(block.hostText) && /^[0-9A-Fa-f:]+/.test(value.slice(m[0].length - block.portText.length))) {
        this.sink.warn('DIR_ERR_CONFIG_LINT_SUSPICIOUS', loc, {
          reason: `virtual6=${value.trim()} is read as host "${block.hostText}" port "${block.portText}"`,
          advice: 'IPv6 addresses must be written in brackets: virtual6=[2001:db8::5]:119',
        });
      }
    } else if ((m = /^(\d+)/.exec(value))) {
      block.fwmark = Number(m[1]);
      block.protocol = 'fwm';
      block.service = { value: 'none', loc };
      rest = value.slice(m[0].length);
      if (/^\.\d/.test(rest)) {
        this.sink.warn('DIR_ERR_CONFIG_LINT_FWMARK_FROM_ADDRESS', loc, { value: value.trim(), mark: block.fwmark });
        rest = '';
      }
      if (block.fwmark > 0xffffffff) {
        this.sink.error('DIR_ERR_CONFIG_OUT_OF_RANGE', loc, { field: 'firewall mark', value: m[1], min: 0, max: 4294967295 });
        block.valid = false;
      }
    } else if ((m = /^\[([0-9A-Fa-f:]+)\]:([0-9A-Za-z_-]+)/.exec(value))) {
      if (family === 4) {
        this.sink.error('DIR_ERR_CONFIG_WRONG_FAMILY', loc, {
          reason: 'cannot specify an IPv6 address here. please use "virtual6" instead.',
        });
        block.valid = false;
      } else if (tryParseIp(m[1] as string)?.family !== 6) {
        this.sink.error('DIR_ERR_CONFIG_INVALID_VIRTUAL', loc, { value: `${visible(value)} (invalid ipv6 address for virtual server)` });
        block.valid = false;
      } else {
        block.hostText = `[${m[1]}]`;
        block.portText = m[2] as string;
        rest = value.slice(m[0].length);
      }
    } else {
      this.sink.error('DIR_ERR_CONFIG_INVALID_VIRTUAL', loc, { value: visible(value) });
      block.valid = false;
    }
    if (block.portText !== undefined && /^(53|domain)$/.test(block.portText)) block.protocol = 'udp';
    if (rest !== '' && !/^\s*(#[\s\S]*)?$/.test(rest)) {
      this.sink.warn('DIR_ERR_CONFIG_LINT_IGNORED_TEXT', this.loc(lineNo, loc.column + value.length - rest.length), {
        directive: family === 6 ? 'virtual6' : 'virtual',
        text: rest.trim(),
      });
    }
    return block;
  }

  // ---------------------------------------------------------------- global directives (ldirectord-spec 3)

  private globalDirective(raw: string, lineNo: number): void {
    if (raw.length > MAX_LINE) {
      this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', this.loc(lineNo, 1), { directive: 'line', reason: `longer than ${MAX_LINE} characters` });
      return;
    }
    const nameMatch = /^([A-Za-z0-9_-]+)(\s*=\s*)?/.exec(raw);
    if (!nameMatch || raw.length === 0 || /^\s/.test(raw)) {
      this.unknownGlobal(raw, lineNo);
      return;
    }
    const name = nameMatch[1] as string;
    const valueCol = nameMatch[0].length + 1;
    const at = this.loc(lineNo, valueCol);
    if (name === 'supervised' && GLOBAL_SET.has(name)) {
      // ldirectord-spec 3: `supervised=yes|no`, or the bare word (deprecated, = yes).
      const sm = /^supervised\s*=\s*([\s\S]*)$/.exec(raw);
      if (sm && (sm[1] === 'yes' || sm[1] === 'no')) {
        this.global.supervised = { value: sm[1] === 'yes', loc: at };
      } else if (/^supervised\s*$/.test(raw)) {
        this.global.supervised = { value: true, loc: at };
        this.sink.warn('DIR_ERR_CONFIG_LINT_DEPRECATED', this.loc(lineNo, 1), {
          reason: 'please update your config not to use a bare supervised directive',
          advice: 'write supervised=yes',
        });
      } else {
        this.sink.error('DIR_ERR_CONFIG_INVALID_YES_NO', at, { directive: 'supervised', value: visible(sm ? (sm[1] as string) : raw.slice(10)) });
      }
      return;
    }
    if (nameMatch[2] === undefined) {
      this.unknownGlobal(raw, lineNo);
      return;
    }
    const value = raw.slice(nameMatch[0].length);
    if (name === 'connecttimeout') {
      this.sink.error('DIR_ERR_CONFIG_DEPRECATED_DIRECTIVE', this.loc(lineNo, 1), { directive: 'connecttimeout', replacement: 'negotiatetimeout' });
      return;
    }
    if (name === 'timeout') {
      this.sink.error('DIR_ERR_CONFIG_DEPRECATED_DIRECTIVE', this.loc(lineNo, 1), {
        directive: 'timeout',
        replacement: 'checktimeout and negotiatetimeout',
      });
      return;
    }
    if (!GLOBAL_SET.has(name)) {
      this.unknownGlobal(raw, lineNo);
      return;
    }
    const g = this.global;
    switch (name) {
      case 'callback':
      case 'logfile': {
        const q = /^"([\s\S]*)"/.exec(value);
        if (!q) {
          this.sink.error('DIR_ERR_CONFIG_QUOTES_REQUIRED', at, { directive: name });
          return;
        }
        const v = q[1] as string;
        if (name === 'callback') g.callback = { value: v, loc: at };
        else {
          this.checkLogfile(v, at);
          g.logfile = { value: v, loc: at };
        }
        this.trailingAfterQuote(name, value, q[0].length, at);
        return;
      }
      case 'execute':
        if (value === '') {
          this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, { directive: 'execute', reason: 'no configuration file given' });
          return;
        }
        g.execute.push({ value, loc: at });
        return;
      case 'fork':
      case 'autoreload':
      case 'readdquiescent': {
        const b = this.yesNo(name, value, at);
        if (b !== undefined) g[name] = { value: b, loc: at };
        return;
      }
      case 'emailalertfrom':
        if (value === '') this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, { directive: name, reason: 'no email from address specified' });
        else g.emailalertfrom = { value, loc: at };
        return;
      case 'maintenancedir':
        if (value === '') {
          this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, { directive: name, reason: 'maintenance directory not specified' });
          return;
        }
        g.maintenancedir = { value, loc: at };
        if (this.checkPaths && !isDirectory(value)) {
          this.sink.warn('DIR_ERR_CONFIG_LINT_PATH_MISSING', at, { directive: name, path: visible(value) });
        }
        return;
      case 'fallback':
      case 'fallback6': {
        const fb = this.parseFallback(value, at);
        if (fb) g[name] = { value: fb, loc: at };
        return;
      }
      default:
        this.sharedDirective(g, name, value, at, true);
    }
  }

  private unknownGlobal(raw: string, lineNo: number): void {
    const indented = /^(\s+)/.exec(raw);
    const body = raw.replace(/^\s+/, '');
    const name = (/^([A-Za-z0-9_-]+)/.exec(body)?.[1] ?? body.split(/\s/)[0] ?? '').slice(0, 60);
    const col = (indented?.[1]?.length ?? 0) + 1;
    const loc = this.loc(lineNo, col);
    if (indented) {
      const known = VIRTUAL_SET.has(name) || GLOBAL_SET.has(name);
      this.sink.error(
        'DIR_ERR_CONFIG_OUTSIDE_BLOCK',
        loc,
        { text: truncate(body.trimEnd()) },
        VIRTUAL_SET.has(name)
          ? 'a blank line or an indent of fewer than 4 spaces ends a virtual block in ldirectord.cf; remove the blank line (or comment it with #) so the line belongs to the block above'
          : known
            ? 'global directives must start in column 0'
            : undefined,
      );
      return;
    }
    if (VIRTUAL_SET.has(name) && !GLOBAL_SET.has(name)) {
      this.sink.error('DIR_ERR_CONFIG_WRONG_CONTEXT', loc, { directive: name, context: 'outside a virtual block' },
        `indent ${name}= by 4 spaces or a tab under a virtual= line`);
      return;
    }
    if (QUOTED_GLOBAL.has(name)) {
      this.sink.error('DIR_ERR_CONFIG_QUOTES_REQUIRED', loc, { directive: name });
      return;
    }
    this.unknown(name || truncate(body), loc, ALL_DIRECTIVES);
  }

  private unknown(name: string, loc: SourceLocation, candidates: readonly string[]): void {
    const suggestion = didYouMean(name, candidates);
    let hint: string | undefined;
    if (suggestion !== undefined) {
      hint =
        suggestion === name.toLowerCase()
          ? `directive names are case-sensitive: write ${suggestion}`
          : `did you mean ${suggestion}?`;
    }
    this.sink.error('DIR_ERR_CONFIG_UNKNOWN_DIRECTIVE', loc, { directive: truncate(name) }, hint);
  }

  /** yes/no compared with `eq`: nothing else may be on the line (ldirectord-spec 2.1). */
  private yesNo(directive: string, value: string, at: SourceLocation): boolean | undefined {
    if (value === 'yes') return true;
    if (value === 'no') return false;
    this.sink.error('DIR_ERR_CONFIG_INVALID_YES_NO', at, { directive, value: visible(value) });
    return undefined;
  }

  private trailingAfterQuote(directive: string, value: string, used: number, at: SourceLocation): void {
    const rest = value.slice(used);
    if (/\S/.test(rest) && !/^\s*#/.test(rest)) {
      this.sink.warn('DIR_ERR_CONFIG_LINT_IGNORED_TEXT', at, { directive, text: rest.trim() });
    }
  }

  private checkLogfile(value: string, at: SourceLocation): void {
    if (value.startsWith('/')) {
      if (this.checkPaths && !isDirectory(dirname(value))) {
        this.sink.error('DIR_ERR_CONFIG_PATH_UNUSABLE', at, { directive: 'logfile', path: visible(value), reason: 'its directory does not exist' });
      }
    } else if (!SYSLOG_FACILITIES.has(value)) {
      this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, {
        directive: 'logfile',
        reason: `${visible(value)} is neither an absolute path nor a syslog facility`,
      }, 'use a path starting with / or a facility such as daemon or local0');
    }
  }

  /** Directives valid in both contexts; `global` selects the global error wording and rules. */
  private sharedDirective(target: Overridable, name: string, value: string, at: SourceLocation, global: boolean): boolean {
    switch (name) {
      case 'checktimeout':
      case 'negotiatetimeout':
      case 'checkinterval':
      case 'checkcount':
      case 'failurecount': {
        // "first digit run" and it must be non-zero (ldirectord-spec 3).
        const n = firstDigits(value);
        if (n === undefined || n === 0) {
          this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, { directive: name, reason: `${visible(value)} is not a positive number` });
          return true;
        }
        if (!/^\s*\d+\s*$/.test(value) && !/^\s*\d+\s*#/.test(value)) {
          this.sink.warn('DIR_ERR_CONFIG_LINT_IGNORED_TEXT', at, { directive: name, text: value.replace(/\d+/, '').trim() });
        }
        target[name] = { value: n, loc: at };
        if (name === 'checkcount') {
          this.sink.warn('DIR_ERR_CONFIG_LINT_DEPRECATED', at, {
            reason: "checkcount option is deprecated and slated for removal.  please see 'failurecount'",
            advice: 'use failurecount (checkcount only sets the number of ping attempts)',
          });
        }
        return true;
      }
      case 'fallbackcommand': {
        let v = value;
        if (!global) {
          const q = /^"([\s\S]*)"/.exec(value);
          if (q) v = q[1] as string;
        }
        if (v === '') {
          this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, { directive: name, reason: 'invalid fallback command' });
          return true;
        }
        target.fallbackcommand = { value: v, loc: at };
        return true;
      }
      case 'quiescent':
      case 'cleanstop': {
        const b = this.yesNo(name, value, at);
        if (b !== undefined) target[name] = { value: b, loc: at };
        return true;
      }
      case 'emailalert': {
        // Enclosing quotes are stripped only when they enclose the whole value.
        const v = value.replace(/^"([^"]*)"$/, '$1');
        if (v === '') {
          this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, { directive: name, reason: 'no email address specified' });
          return true;
        }
        if (/^"/.test(v)) {
          this.sink.warn('DIR_ERR_CONFIG_LINT_SUSPICIOUS', at, {
            reason: `emailalert value ${visible(v)} keeps its quotes (ldirectord strips them only when they enclose the whole value)`,
            advice: 'remove the text after the closing quote (comments are not stripped on global lines)',
          });
        }
        target.emailalert = { value: v, loc: at };
        return true;
      }
      case 'emailalertfreq': {
        const m = /^(\d*)/.exec(value);
        if (!m || m[1] === '') {
          this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, { directive: name, reason: 'invalid email alert frequency' });
          return true;
        }
        target.emailalertfreq = { value: Number(m[1]), loc: at };
        return true;
      }
      case 'emailalertstatus': {
        const s = parseEmailAlertStatus(value);
        if (typeof s === 'string') this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, { directive: name, reason: s });
        else target.emailalertstatus = { value: s, loc: at };
        return true;
      }
      case 'smtp': {
        const m = /^([0-9A-Za-z._+-]+)/.exec(value);
        if (!m) {
          this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, { directive: name, reason: 'invalid SMTP server address' });
          return true;
        }
        const rest = value.slice(m[0].length);
        if (/\S/.test(rest)) this.sink.warn('DIR_ERR_CONFIG_LINT_IGNORED_TEXT', at, { directive: name, text: rest.trim() });
        target.smtp = { value: m[1] as string, loc: at };
        return true;
      }
      default:
        return false;
    }
  }

  /** ldirectord-spec 7: `host[:port] [gate|masq|ipip]`. */
  private parseFallback(value: string, at: SourceLocation): ParsedFallback | undefined {
    let parse = value;
    let fwd: string | undefined;
    const m = /(\S+)(\s+(\S+))?\s*$/.exec(value);
    if (m) {
      fwd = m[3];
      parse = m[1] as string;
      const before = value.slice(0, m.index);
      if (/\S/.test(before)) this.sink.warn('DIR_ERR_CONFIG_LINT_IGNORED_TEXT', at, { directive: 'fallback', text: before.trim() });
    }
    const pm = /(:(\d+|[A-Za-z0-9_-]+))?$/.exec(parse);
    const port = pm?.[2];
    const server = pm ? parse.slice(0, pm.index) : parse;
    if (server === '') {
      this.sink.error('DIR_ERR_CONFIG_INVALID_FALLBACK', at, { value: visible(value) });
      return undefined;
    }
    let forward: ForwardMethod = 'gate';
    if (fwd) {
      if (fwd !== 'gate' && fwd !== 'masq' && fwd !== 'ipip') {
        this.sink.error('DIR_ERR_CONFIG_FORWARD_METHOD', at, { value: fwd });
        return undefined;
      }
      forward = fwd;
    }
    return { server, ...(port !== undefined ? { port } : {}), forward };
  }

  // ---------------------------------------------------------------- virtual block (ldirectord-spec 5)

  private blockDirective(b: BlockState, rcmd: string, raw: string, rawNoComment: string, lineNo: number): void {
    const indent = /^[ \t]*/.exec(raw)?.[0].length ?? 0;
    if (raw.length > MAX_LINE) {
      this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', this.loc(lineNo, indent + 1), { directive: 'line', reason: `longer than ${MAX_LINE} characters` });
      return;
    }
    const nameMatch = /^([A-Za-z0-9_-]+)(\s*=\s*)?/.exec(rcmd);
    const name = nameMatch?.[1] ?? '';
    const nameLoc = this.loc(lineNo, indent + 1);
    if (!nameMatch || nameMatch[2] === undefined) {
      if (rcmd.trim() === '') {
        this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', nameLoc, { directive: 'line', reason: 'whitespace-only line inside a virtual block' },
          'a line of 5 or more spaces is read as a directive by ldirectord; make it empty (which ends the block) or remove it');
      } else {
        this.unknown(name || truncate(rcmd.trim()), nameLoc, [...VIRTUAL_SET]);
      }
      return;
    }
    // Column of the value in the original line (tabs not expanded there).
    const eq = rawNoComment.indexOf('=', indent);
    const after = eq >= 0 ? /^\s*/.exec(rawNoComment.slice(eq + 1))?.[0].length ?? 0 : 0;
    const at = this.loc(lineNo, eq >= 0 ? eq + 2 + after : indent + 1);
    const value = rcmd.slice(nameMatch[0].length);

    if (name === 'connecttimeout') {
      this.sink.error('DIR_ERR_CONFIG_DEPRECATED_DIRECTIVE', nameLoc, { directive: 'connecttimeout', replacement: 'negotiatetimeout' });
      return;
    }
    if (!VIRTUAL_SET.has(name)) {
      if (GLOBAL_SET.has(name)) {
        this.sink.error('DIR_ERR_CONFIG_WRONG_CONTEXT', nameLoc, { directive: name, context: 'inside a virtual block' },
          `${name} is a global directive: move it to column 0 outside any virtual block`);
      } else if (name === 'timeout') {
        this.sink.error('DIR_ERR_CONFIG_UNKNOWN_DIRECTIVE', nameLoc, { directive: name }, 'timeout= was replaced by checktimeout= and negotiatetimeout=');
      } else if (name === 'virtual' || name === 'virtual6') {
        this.sink.error('DIR_ERR_CONFIG_WRONG_CONTEXT', nameLoc, { directive: name, context: 'indented' }, `${name}= starts a new block and must be in column 0`);
      } else {
        this.unknown(name, nameLoc, [...VIRTUAL_SET]);
      }
      return;
    }
    if (QUOTED_VIRTUAL.has(name)) {
      const q = /^"([\s\S]*)"/.exec(value);
      if (!q) {
        this.sink.error('DIR_ERR_CONFIG_QUOTES_REQUIRED', at, { directive: name },
          value.includes('"') && raw.includes('#')
            ? 'ldirectord cuts the line at the first # even inside quotes; a receive string cannot contain #'
            : undefined);
        return;
      }
      this.quotedDirective(b, name, q[1] as string, at);
      this.trailingAfterQuote(name, value, q[0].length, at);
      return;
    }
    if (this.sharedDirective(b, name, value, at, false)) return;
    switch (name) {
      case 'real':
      case 'real6':
        if ((b.family === 4) !== (name === 'real')) {
          this.sink.error('DIR_ERR_CONFIG_WRONG_FAMILY', nameLoc, {
            reason: `cannot specify "${name}" here.  please use "${b.family === 4 ? 'real' : 'real6'}" instead`,
          });
          return;
        }
        b.reals.push({ value, loc: at });
        return;
      case 'fallback':
      case 'fallback6': {
        if ((b.family === 4) !== (name === 'fallback')) {
          this.sink.error('DIR_ERR_CONFIG_WRONG_FAMILY', nameLoc, {
            reason: `cannot specify "${name}" here.  please use "${b.family === 4 ? 'fallback' : 'fallback6'}" instead`,
          });
          return;
        }
        const fb = this.parseFallback(value, at);
        if (fb) b.fallback = { value: fb.port === undefined && b.portText !== undefined ? { ...fb, port: b.portText } : fb, loc: at };
        return;
      }
      case 'checktype': {
        const n = firstDigits(value);
        if (n !== undefined) {
          b.checktype = 'combined';
          b.negotiateEvery = n;
          if (!/^\s*\d+\s*$/.test(value)) {
            this.sink.warn('DIR_ERR_CONFIG_LINT_SUSPICIOUS', at, {
              reason: `checktype=${value.trim()} contains digits, so it means "negotiate every ${n}th check, connect otherwise"`,
              advice: `write checktype=${n} if that is meant; otherwise one of connect, negotiate, external, external-perl, ping, on, off`,
            });
          }
          return;
        }
        const w = /([\w-]+)/.exec(value)?.[1];
        const allowed = ['connect', 'negotiate', 'ping', 'off', 'on', 'external', 'external-perl'];
        if (w === undefined || !allowed.includes(w)) {
          const s = w === undefined ? undefined : didYouMean(w, allowed);
          this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, {
            directive: name,
            reason: 'checktype must be "connect", "negotiate", "on", "off", "ping", "external", "external-perl" or a positive number',
          }, s !== undefined ? `did you mean ${s}? (values are case-sensitive; negotiate_connect does not exist: use a number)` : undefined);
          return;
        }
        b.checktype = w as CheckType;
        b.negotiateEvery = undefined;
        return;
      }
      case 'checkcommand': {
        const q = /^"([\s\S]*)"/.exec(value);
        const v = q ? (q[1] as string) : value;
        if (v === '') {
          this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, { directive: name, reason: 'invalid check command' });
          return;
        }
        b.checkcommand = { value: v, loc: at };
        return;
      }
      case 'checkport': {
        const n = firstDigits(value);
        if (n === undefined) {
          this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, { directive: name, reason: 'invalid port' });
          return;
        }
        if (n < 1 || n > 65535) {
          this.sink.error('DIR_ERR_CONFIG_OUT_OF_RANGE', at, { field: 'checkport', value: n, min: 1, max: 65535 });
          return;
        }
        b.checkport = n;
        return;
      }
      case 'scheduler': {
        const m = /([a-z]+)/.exec(value);
        if (!m) {
          this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, { directive: name, reason: 'invalid scheduler, should be only lowercase letters (a-z)' });
          return;
        }
        const s = m[1] as string;
        if (value.trimEnd() !== s) {
          this.sink.warn('DIR_ERR_CONFIG_LINT_SCHEDULER_MANGLED', at, { value: value.trim(), scheduler: s },
            /[A-Z]/.test(value) && (SCHEDULERS as readonly string[]).includes(value.trim().toLowerCase())
              ? `scheduler names are lower case: write scheduler=${value.trim().toLowerCase()}`
              : undefined);
        }
        if (!(SCHEDULERS as readonly string[]).includes(s)) {
          const d = didYouMean(s, SCHEDULERS);
          this.sink.error('DIR_ERR_CONFIG_UNKNOWN_SCHEDULER', at, { value: s }, d ? `did you mean ${d}?` : undefined);
          return;
        }
        b.scheduler = s as SchedulerName;
        return;
      }
      case 'persistent': {
        const n = firstDigits(value);
        if (n === undefined) {
          this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, { directive: name, reason: 'invalid persistent timeout' });
          return;
        }
        b.persistent = { value: n, loc: at };
        return;
      }
      case 'netmask':
        if (b.family === 6) {
          if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 128) {
            this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, { directive: name, reason: `invalid netmask ${visible(value)}: a prefix length between 1 and 128 is required` });
            return;
          }
        } else if (!/^\d+\.\d+\.\d+\.\d+$/.test(value)) {
          this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, { directive: name, reason: `invalid netmask ${visible(value)}: dotted quad notation is required` });
          return;
        }
        b.netmask = { value, loc: at };
        return;
      case 'protocol': {
        const w = /(\w+)/.exec(value)?.[1];
        if (w === undefined) {
          this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, { directive: name, reason: 'invalid protocol' });
        } else if (b.protocol === 'fwm' || b.fwmark !== undefined) {
          if (w !== 'fwm') {
            this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, { directive: name, reason: 'protocol must be fwm if the virtual service is a fwmark (a number)' });
          }
        } else if (w === 'tcp' || w === 'udp') {
          b.protocol = w;
        } else {
          this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, {
            directive: name,
            reason: `protocol must be tcp or udp if the virtual service is an address and port (got ${visible(w)})`,
          }, w.toLowerCase() === 'tcp' || w.toLowerCase() === 'udp' ? `values are case-sensitive: write protocol=${w.toLowerCase()}` : undefined);
        }
        return;
      }
      case 'ops': {
        const v = this.yesNo(name, value, at);
        if (v !== undefined) {
          b.ops = v;
          b.opsLoc = at;
        }
        return;
      }
      case 'service': {
        const w = /(\w+)/.exec(value)?.[1];
        if (w === undefined || !(SERVICES as readonly string[]).includes(w)) {
          const d = w === undefined ? undefined : didYouMean(w, SERVICES);
          this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, {
            directive: name,
            reason: `service must be one of ${SERVICES.join(', ')} (got ${visible(value)})`,
          }, d !== undefined ? `did you mean ${d}? (values are case-sensitive)` : undefined);
          return;
        }
        const svc = w as ServiceName;
        b.service = { value: svc, loc: at };
        // ldirectord-spec 5.1: defaults applied only when this line is read, and only if still empty.
        if (svc === 'ftp' && b.login === '') b.login = 'anonymous';
        else if (svc === 'sip' && b.login === '') b.login = `ldirectord@${this.hostname}`;
        if (svc === 'ftp' && b.passwd === '') b.passwd = `ldirectord@${this.hostname}`;
        return;
      }
      case 'httpmethod': {
        const w = /(\w+)/.exec(value)?.[1]?.toUpperCase();
        if (w !== 'GET' && w !== 'HEAD') {
          this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, { directive: name, reason: 'httpmethod must be GET or HEAD' });
          return;
        }
        b.httpmethod = w;
        return;
      }
      case 'virtualhost': {
        const m = /"?([^"]*)"?/.exec(value);
        b.virtualhost = m?.[1] ?? '';
        if (/\s$/.test(b.virtualhost)) {
          this.sink.warn('DIR_ERR_CONFIG_LINT_SUSPICIOUS', at, {
            reason: `virtualhost ${visible(b.virtualhost)} ends in white space, which ldirectord sends in the Host header`,
            advice: 'quote the value or remove the trailing spaces (and any comment after it)',
          });
        }
        return;
      }
      case 'monitorfile': {
        const q = /^"([\s\S]*)"/.exec(value);
        const v = q ? (q[1] as string) : value;
        if (this.checkPaths && (v === '' || !isDirectory(dirname(v)))) {
          this.sink.error('DIR_ERR_CONFIG_PATH_UNUSABLE', at, { directive: name, path: visible(v), reason: 'No such file or directory' });
          return;
        }
        b.monitorfile = v;
        return;
      }
      case 'schedflags': {
        const m = /(\S+)/.exec(value);
        if (!m) {
          this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, { directive: name, reason: 'invalid sched-flags' });
          return;
        }
        const flags: SchedulerFlag[] = [];
        for (const f of (m[1] as string).split(',')) {
          const mapped = mapSchedFlag(f, b.scheduler);
          if (mapped === undefined) {
            this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, {
              directive: name,
              reason: `invalid sched-flag ${visible(f)}: use sh-fallback, sh-port, mh-fallback, mh-port (or flag-1, flag-2)`,
            });
            return;
          }
          if (!flags.includes(mapped)) flags.push(mapped);
        }
        b.schedflags = flags;
        return;
      }
      case 'servicename':
        b.servicename = value;
        return;
      case 'comment':
        b.comment = value;
        return;
      default:
        this.unknown(name, nameLoc, [...VIRTUAL_SET]);
    }
  }

  private quotedDirective(b: BlockState, name: string, v: string, at: SourceLocation): void {
    const empty: Record<string, string> = {
      request: 'no request string specified',
      receive: 'invalid receive string',
      login: 'invalid login string',
      passwd: 'invalid password',
      database: 'invalid database',
      secret: 'invalid secret',
      load: 'invalid string for load testing',
    };
    if (name === 'load') {
      if (!/\w/.test(v)) this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, { directive: name, reason: empty.load as string });
      else
        this.sink.warn('DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE', at, {
          reason: 'load= is accepted and ignored (ldirectord never used it)',
          advice: 'remove the line',
        });
      return;
    }
    if (v === '') {
      this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', at, { directive: name, reason: empty[name] as string });
      return;
    }
    switch (name) {
      case 'request':
        // ldirectord prepends "/" and strips it again for a request with a scheme, which is then the
        // whole URL (http_proxy checks; ldirectord-spec 6.3): keep such a request as written.
        b.request = v.startsWith('/') || /^[A-Za-z][\w+.-]*:\/\//.test(v) ? v : `/${v}`;
        b.requestLoc = at;
        return;
      case 'receive':
        b.receive = v;
        this.lintRegex(v, at);
        b.receiveLoc = at;
        return;
      case 'login':
        b.login = v;
        return;
      case 'passwd':
        b.passwd = v;
        return;
      case 'database':
        b.database = v;
        return;
      case 'secret':
        b.secret = v;
        return;
    }
  }

  /** ldirectord-spec 13.5: receive is a Perl regex; flag what JavaScript reads differently. */
  private lintRegex(pattern: string, at: SourceLocation): void {
    // Big configs repeat the same receive string; check each distinct pattern once.
    const cached = this.regexLint.get(pattern);
    if (cached !== undefined) {
      if (cached !== null) this.sink.warn('DIR_ERR_CONFIG_LINT_REGEX', at, cached.params, cached.hint);
      return;
    }
    const before = this.sink.warnings.length;
    this.lintRegexUncached(pattern, at);
    const added = this.sink.warnings[before];
    this.regexLint.set(pattern, added ? { params: added.params, hint: added.hint } : null);
  }

  private lintRegexUncached(pattern: string, at: SourceLocation): void {
    const perlOnly: [RegExp, string][] = [
      [/\\[AZz]/, '\\A, \\Z and \\z do not exist in JavaScript'],
      [/\\[hHvVRK]/, '\\h, \\v, \\R and \\K do not exist in JavaScript'],
      [/[+*?}][+]/, 'possessive quantifiers (a++) do not exist in JavaScript'],
      [/\(\?[a-z]*[imsx]+[a-z]*[:)]/, 'inline modifiers like (?i) are not supported by this Node.js'],
      [/\(\?[<]?[=!]?[#]/, 'regex comments (?#...) do not exist in JavaScript'],
      [/\\Q|\\E/, '\\Q...\\E quoting does not exist in JavaScript'],
    ];
    for (const [re, reason] of perlOnly) {
      if (re.test(pattern)) {
        this.sink.warn('DIR_ERR_CONFIG_LINT_REGEX', at, { pattern: truncate(pattern), reason });
        return;
      }
    }
    try {
      new RegExp(pattern);
    } catch (e) {
      this.sink.warn('DIR_ERR_CONFIG_LINT_REGEX', at, { pattern: truncate(pattern), reason: `not a valid JavaScript regex (${(e as Error).message})` },
        'the pattern will be matched as literal text');
    }
  }

  // ---------------------------------------------------------------- resolution and mapping (ldirectord-spec 2.4, 6, 7, 8)

  private async build(): Promise<ClusterConfig> {
    const g = this.global;
    const configPath = this.options.configPath ?? this.file;
    const fork = g.fork?.value ?? false;
    const checkIntervalS = g.checkinterval?.value ?? LDIRECTORD_DEFAULT_CHECKINTERVAL_S;
    const daemonBase = defaultDaemonSettings(configPath);
    const supervised = g.supervised?.value ?? false;
    let log: LogTarget = { kind: 'stdout' };
    if (supervised && g.logfile) {
      this.sink.warn('DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE', g.logfile.loc, {
        reason: 'logfile is ignored with supervised=yes: logs go to stdout',
        advice: 'remove logfile, or set supervised=no',
      });
    }
    if (!supervised && g.logfile) {
      log = g.logfile.value.startsWith('/') ? { kind: 'file', path: g.logfile.value } : { kind: 'syslog', facility: g.logfile.value };
    }
    const daemon: DaemonSettings = {
      ...daemonBase,
      log,
      autoreload: g.autoreload?.value ?? false,
      // ldirectord looks for changes once per main-loop round: checkinterval with fork=no, 1 s with fork=yes.
      autoreloadIntervalMs: fork ? 1000 : checkIntervalS * 1000,
      ...(g.callback ? { callback: g.callback.value } : {}),
      supervised,
      fork,
      ...(g.maintenancedir ? { maintenanceDir: g.maintenancedir.value } : {}),
      readdQuiescent: g.readdquiescent?.value ?? false,
      ...(g.emailalertfrom ? { emailAlertFrom: g.emailalertfrom.value } : {}),
      execute: g.execute.map((e) => e.value),
    };
    if (g.callback) this.lintCommand('callback', g.callback.value, g.callback.loc);
    if (fork) {
      this.sink.warn('DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE', g.fork?.loc ?? this.loc(1, 1), {
        reason: 'fork=yes is accepted for compatibility; directord checks every virtual concurrently in one process',
        advice: 'remove fork=yes (per-virtual checkinterval is honoured either way here)',
      });
    }
    if (g.readdquiescent?.value === true && !(g.quiescent?.value ?? false) && !this.blocks.some((b) => b.quiescent?.value)) {
      this.sink.warn('DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE', g.readdquiescent.loc, {
        reason: 'readdquiescent=yes has no effect without quiescent=yes',
        advice: 'set quiescent=yes, or remove readdquiescent',
      });
    }

    // Global fallbacks are resolved once, where they are written, whether or not a virtual uses them.
    for (const family of [4, 6] as const) {
      const setting = family === 4 ? g.fallback : g.fallback6;
      if (setting) {
        const resolved = await this.resolveFallback(setting, family, -1, true);
        if (resolved) this.globalFallbacks.set(family, resolved);
      }
    }
    const virtuals: VirtualServiceConfig[] = [];
    const seen = new Map<string, SourceLocation>();
    for (const b of this.blocks) {
      const v = await this.buildVirtual(b, fork, checkIntervalS);
      if (!v) continue;
      const first = seen.get(v.id);
      if (first) {
        this.sink.error('DIR_ERR_CONFIG_DUPLICATE_VIRTUAL', b.endLoc, { id: v.id, first: `${first.file}:${first.line}` });
        continue;
      }
      seen.set(v.id, b.headerLoc);
      virtuals.push(v);
    }
    return { files: [this.file], daemon, vrrp: { instances: [], syncGroups: [], scripts: [] }, virtualServices: virtuals };
  }

  private lintCommand(directive: string, text: string, at: SourceLocation): readonly string[] {
    const split = splitCommand(text);
    if (split.shellChars.length > 0) {
      this.sink.warn('DIR_ERR_CONFIG_LINT_SHELL_SYNTAX', at, { directive, command: truncate(text), chars: split.shellChars.join(' ') });
    }
    if (split.unterminated) {
      this.sink.warn('DIR_ERR_CONFIG_LINT_SUSPICIOUS', at, { reason: `${directive}: unterminated quote in ${visible(text)}`, advice: 'close the quote' });
    }
    return split.argv;
  }

  private async buildVirtual(b: BlockState, fork: boolean, globalIntervalS: number): Promise<VirtualServiceConfig | undefined> {
    const g = this.global;
    // 1. the fallback (resolved with the final protocol; ldirectord-spec 2.4)
    let fallback: FallbackConfig | undefined;
    let virtualPort = 0;
    let address: IpAddress | undefined;
    // 2. the virtual address and port
    if (b.hostText !== undefined && b.portText !== undefined) {
      const numeric = this.resolver.resolveNumeric(b.hostText, b.family);
      address = numeric !== null ? numeric : await this.resolver.resolve(b.hostText, b.family);
      const port = portForServiceName(b.portText);
      if (!address) {
        this.sink.error('DIR_ERR_CONFIG_UNRESOLVABLE_HOST', b.headerLoc, { what: 'virtual service address', host: b.hostText, family: b.family },
          b.family === 6 && !b.hostText.startsWith('[') ? 'IPv6 addresses must be written in brackets: virtual6=[2001:db8::5]:119' : undefined);
        b.valid = false;
      }
      if (port === undefined) {
        this.sink.error('DIR_ERR_CONFIG_UNKNOWN_PORT', b.headerLoc, { port: b.portText, what: 'virtual service' });
        b.valid = false;
      } else virtualPort = port;
    }
    if (b.fallback) fallback = await this.resolveFallback(b.fallback, b.family, virtualPort);
    else {
      const gfb = b.family === 4 ? g.fallback : g.fallback6;
      if (gfb) {
        if (b.protocol === 'fwm') {
          this.sink.warn('DIR_ERR_CONFIG_LINT_SUSPICIOUS', b.headerLoc, {
            reason: `the global ${b.family === 4 ? 'fallback' : 'fallback6'} is applied to firewall-mark service ${b.fwmark ?? ''}; ldirectord would add a fallback entry without an address here, which ipvsadm rejects`,
            advice: 'define fallback= inside this virtual block if this file must also work with ldirectord',
          });
        }
        const resolved = this.globalFallbacks.get(b.family);
        // -1 marks a global fallback written without a port: it takes each virtual's port.
        if (resolved) fallback = resolved.port === -1 ? { ...resolved, port: virtualPort } : resolved;
      }
    }
    const service: ServiceName = b.service?.value ?? (b.protocol === 'fwm' ? 'none' : ldirectordServiceForPort(virtualPort));

    // 3. the reals, in order
    const reals: RealServerConfig[] = [];
    const keys = new Set<string>();
    for (const r of b.reals) {
      const parsed = this.parseReal(r, b, virtualPort);
      for (const real of parsed instanceof Promise ? await parsed : parsed) {
        if (keys.has(real.key)) {
          this.sink.warn('DIR_ERR_CONFIG_LINT_DUPLICATE_REAL', real.location, { key: real.key, id: virtualIdText(b, address, virtualPort) });
          continue;
        }
        keys.add(real.key);
        reals.push(real);
      }
    }
    if (!b.valid) return undefined;

    // ldirectord-spec 8: effective values.
    const checkTimeoutS =
      b.checktimeout?.value ?? b.negotiatetimeout?.value ?? g.checktimeout?.value ?? g.negotiatetimeout?.value ?? LDIRECTORD_DEFAULT_CHECKTIMEOUT_S;
    const negotiateTimeoutS =
      b.negotiatetimeout?.value ?? b.checktimeout?.value ?? g.negotiatetimeout?.value ?? g.checktimeout?.value ?? LDIRECTORD_DEFAULT_NEGOTIATETIMEOUT_S;
    const id = virtualIdText(b, address, virtualPort);
    if (b.checkinterval && !fork) {
      this.sink.warn('DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE', b.checkinterval.loc, {
        reason: `checkinterval in virtual service ${id} ignored when fork=no`,
        advice: 'set the global checkinterval, or fork=yes (ldirectord honours a per-virtual checkinterval only then)',
      });
    }
    const intervalS = fork ? (b.checkinterval?.value ?? globalIntervalS) : globalIntervalS;

    const commandSetting = b.checkcommand;
    let command: readonly string[] = ['/bin/true'];
    if (commandSetting) {
      command = this.lintCommand('checkcommand', commandSetting.value, commandSetting.loc);
      if (command.length > 1) {
        this.sink.warn('DIR_ERR_CONFIG_LINT_COMMAND_ARGUMENTS', commandSetting.loc, { command: truncate(commandSetting.value), program: command[0] ?? '' });
      }
      if (command.length === 0) {
        this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', commandSetting.loc, { directive: 'checkcommand', reason: 'invalid check command' });
        return undefined;
      }
    }
    if ((b.checktype === 'external' || b.checktype === 'external-perl') && !commandSetting) {
      this.sink.warn('DIR_ERR_CONFIG_LINT_SUSPICIOUS', b.headerLoc, {
        reason: `checktype=${b.checktype} without checkcommand runs /bin/true: every real is always up`,
        advice: 'set checkcommand= to the check program',
      });
    }
    if (['connect', 'ping', 'on', 'off', 'external', 'external-perl'].includes(b.checktype)) {
      for (const [name, where] of [['request', b.requestLoc], ['receive', b.receiveLoc]] as const) {
        if (where) {
          this.sink.warn('DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE', where, {
            reason: `${name}= has no effect with checktype=${b.checktype}`,
            advice: 'use checktype=negotiate (or a number) for request/receive checks, or remove the line',
          });
        }
      }
    }
    if (b.checktype === 'negotiate' && service === 'none') {
      this.sink.warn('DIR_ERR_CONFIG_LINT_NO_CHECK', b.headerLoc, { id });
    }
    const check: CheckConfig = {
      type: b.checktype,
      ...(b.negotiateEvery !== undefined ? { negotiateEvery: b.negotiateEvery } : {}),
      service,
      ...(b.checkport !== undefined ? { checkPort: b.checkport } : {}),
      request: b.request,
      receive: b.receive,
      httpMethod: b.httpmethod,
      ...(b.virtualhost !== undefined ? { virtualHost: b.virtualhost } : {}),
      login: b.login,
      password: b.passwd,
      database: b.database,
      secret: b.secret,
      command,
      intervalMs: intervalS * 1000,
      timeoutMs: checkTimeoutS * 1000,
      negotiateTimeoutMs: negotiateTimeoutS * 1000,
      checkCount: b.checkcount?.value ?? g.checkcount?.value ?? 1,
      failureCount: b.failurecount?.value ?? g.failurecount?.value ?? 1,
      riseCount: 1,
      jitterMs: 0,
      // LWP in ldirectord runs with hostname verification off (ldirectord-spec 15, PR #333).
      tlsVerify: false,
      initialState: 'down',
    };

    let persistence: VirtualServiceConfig['persistence'];
    if (b.persistent) {
      let prefix = b.family === 4 ? 32 : 128;
      if (b.netmask) {
        if (b.family === 6) prefix = Number(b.netmask.value);
        else {
          const p = netmaskToPrefixLength(b.netmask.value);
          if (p === undefined) {
            this.sink.error('DIR_ERR_CONFIG_INVALID_VALUE', b.netmask.loc, {
              directive: 'netmask',
              reason: `${b.netmask.value} is not a contiguous IPv4 netmask`,
            }, 'write a mask such as 255.255.255.0');
            return undefined;
          }
          prefix = p;
        }
      }
      persistence = { timeoutMs: b.persistent.value * 1000, netmaskPrefixLength: prefix };
    } else if (b.netmask) {
      this.sink.warn('DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE', b.netmask.loc, {
        reason: 'netmask= without persistent= has no effect',
        advice: 'add persistent=SECONDS, or remove netmask',
      });
    }
    if (b.ops && b.protocol !== 'udp' && b.opsLoc) {
      this.sink.warn('DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE', b.opsLoc, {
        reason: `ops=yes is ignored for a ${b.protocol} service (one-packet scheduling is UDP only)`,
        advice: 'remove ops=yes or set protocol=udp',
      });
    }

    const fallbackCommandSetting = b.fallbackcommand ?? g.fallbackcommand;
    const fallbackCommand = fallbackCommandSetting ? this.lintCommand('fallbackcommand', fallbackCommandSetting.value, fallbackCommandSetting.loc) : undefined;

    const emailRaw = b.emailalert?.value ?? g.emailalert?.value ?? '';
    const alerts: AlertConfig = {
      emailTo: emailRaw === '' ? [] : emailRaw.split(',').map((s) => s.trim()).filter((s) => s !== ''),
      emailFrequencyMs: (b.emailalertfreq?.value ?? g.emailalertfreq?.value ?? 0) * 1000,
      emailStatuses: b.emailalertstatus?.value ?? g.emailalertstatus?.value ?? [...ALL_STATUSES],
      ...((b.smtp ?? g.smtp) ? { smtpHost: (b.smtp ?? g.smtp)?.value as string } : {}),
    };

    const v: VirtualServiceConfig = {
      id,
      location: b.headerLoc,
      protocol: b.protocol,
      family: b.family,
      ...(address && b.protocol !== 'fwm' ? { address } : {}),
      port: b.protocol === 'fwm' ? 0 : virtualPort,
      ...(b.fwmark !== undefined ? { fwmark: b.fwmark } : {}),
      scheduler: b.scheduler,
      schedulerFlags: b.schedflags,
      ...(persistence ? { persistence } : {}),
      ops: b.ops && b.protocol === 'udp',
      reals,
      ...(fallback ? { fallback } : {}),
      ...(fallbackCommand && fallbackCommand.length > 0 ? { fallbackCommand } : {}),
      check,
      quiescent: b.quiescent?.value ?? g.quiescent?.value ?? false,
      cleanStop: b.cleanstop?.value ?? g.cleanstop?.value ?? true,
      alerts,
      ...(b.servicename !== undefined ? { serviceName: b.servicename } : {}),
      ...(b.comment !== undefined ? { comment: b.comment } : {}),
      ...(b.monitorfile !== undefined ? { monitorFile: b.monitorfile } : {}),
      slowStartMs: 0,
      l7Rules: [],
      timeouts: DEFAULT_TIMEOUTS,
      onRealRemoved: 'finish',
    };
    return v;
  }

  private async resolveFallback(
    s: Setting<ParsedFallback>,
    family: IpFamily,
    virtualPort: number,
    global = false,
  ): Promise<FallbackConfig | undefined> {
    const fb = s.value;
    const address = await this.resolver.resolve(fb.server, family);
    if (!address) {
      this.sink.error('DIR_ERR_CONFIG_UNRESOLVABLE_HOST', s.loc, { what: 'fallback server', host: fb.server, family });
      return undefined;
    }
    let port = virtualPort;
    if (fb.port !== undefined && fb.port !== '0') {
      const p = portForServiceName(fb.port);
      if (p === undefined) {
        this.sink.error('DIR_ERR_CONFIG_UNKNOWN_PORT', s.loc, { port: fb.port, what: 'fallback server' });
        return undefined;
      }
      port = p;
    } else if (fb.port === '0' && !global) port = 0;
    return { address, port, forward: fb.forward, weight: 1, location: s.loc };
  }

  /** ldirectord-spec 6: one real= line, possibly a range. Synchronous unless a host name needs the resolver. */
  private parseReal(r: Setting<string>, b: BlockState, virtualPort: number): RealServerConfig[] | Promise<RealServerConfig[]> {
    const at = r.loc;
    const text = r.value;
    const m = /(\d+\.\d+\.\d+\.\d+|[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(->(\d+\.\d+\.\d+\.\d+|[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]))?(:(\d+|[A-Za-z0-9_-]+))?\s+([\s\S]*)/.exec(text);
    if (!m) {
      this.sink.error('DIR_ERR_CONFIG_INVALID_REAL', at, { reason: `invalid address for real server (wrong format): ${visible(text)}` },
        /^\S+$/.test(text.trim()) ? 'add the forwarding method: real=ADDR:PORT gate|masq|ipip' : undefined);
      return [];
    }
    const ip1 = m[1] as string;
    const ip2 = m[3];
    if (m.index > 0) {
      const written = text.slice(0, m.index + (m[0].length - (m[6] as string).length)).trim();
      this.sink.warn('DIR_ERR_CONFIG_LINT_MISPARSED_ADDRESS', at, { written, host: ip1 });
    }
    const n1 = this.resolver.resolveNumeric(ip1, b.family);
    const n2 = ip2 === undefined ? undefined : this.resolver.resolveNumeric(ip2, b.family);
    if (n1 === null || n2 === null) {
      return (async () => {
        const r1 = n1 !== null ? n1 : await this.resolver.resolve(ip1, b.family);
        const r2 = ip2 === undefined ? undefined : n2 !== null ? n2 : await this.resolver.resolve(ip2, b.family);
        return this.finishReal(at, b, virtualPort, m, r1, r2);
      })();
    }
    return this.finishReal(at, b, virtualPort, m, n1, n2);
  }

  private finishReal(
    at: SourceLocation,
    b: BlockState,
    virtualPort: number,
    m: RegExpExecArray,
    resolved1: IpAddress | undefined,
    resolved2: IpAddress | undefined,
  ): RealServerConfig[] {
    const ip1 = m[1] as string;
    const ip2 = m[3];
    const portText = m[5] ?? '0';
    const flags = m[6] as string;
    if (!resolved1) {
      this.sink.error('DIR_ERR_CONFIG_UNRESOLVABLE_HOST', at, { what: 'real server', host: ip1, family: b.family },
        b.family === 6 && !ip1.startsWith('[') ? 'IPv6 real servers must be written in brackets: real6=[2001:db8::10]:80 gate' : undefined);
      return [];
    }
    const port = portForServiceName(portText);
    if (port === undefined) {
      this.sink.error('DIR_ERR_CONFIG_UNKNOWN_PORT', at, { port: portText, what: 'real server' });
      return [];
    }
    const parsedFlags = this.parseRealFlags(flags, at);
    if (!parsedFlags) return [];
    // A real without a port gets the virtual's port (ipvsadm does the same for -r ADDR).
    const effectivePort = m[5] === undefined && b.protocol !== 'fwm' ? virtualPort : port;
    const make = (address: IpAddress): RealServerConfig => {
      const real: RealServerConfig = {
        key: formatEndpoint({ address, port: effectivePort }),
        location: at,
        address,
        port: effectivePort,
        forward: parsedFlags.forward,
        weight: parsedFlags.weight,
        upperThreshold: parsedFlags.upper,
        lowerThreshold: parsedFlags.lower,
        ...(parsedFlags.request !== undefined ? { request: parsedFlags.request } : {}),
        ...(parsedFlags.receive !== undefined ? { receive: parsedFlags.receive } : {}),
      };
      return real;
    };
    if (ip2 === undefined) return [make(resolved1)];
    if (!resolved2) {
      this.sink.error('DIR_ERR_CONFIG_UNRESOLVABLE_HOST', at, { what: 'real server range end', host: ip2, family: b.family });
      return [];
    }
    if (b.family === 6) {
      this.sink.error('DIR_ERR_CONFIG_INVALID_RANGE', at, { first: ip1, last: ip2, reason: 'Address range for IPv6 is not supported yet' },
        'list each IPv6 real server on its own real6= line');
      return [];
    }
    const first = v4ToInt(resolved1.text);
    const last = v4ToInt(resolved2.text);
    if (first > last) {
      this.sink.error('DIR_ERR_CONFIG_INVALID_RANGE', at, {
        first: resolved1.text,
        last: resolved2.text,
        reason: 'First value must be greater than or equal to the second value',
      });
      return [];
    }
    const count = last - first + 1;
    if (count > MAX_RANGE) {
      this.sink.error('DIR_ERR_CONFIG_OUT_OF_RANGE', at, { field: 'address range size', value: count, min: 1, max: MAX_RANGE });
      return [];
    }
    const ldCount = ldirectordRangeCount(first, last);
    if (ldCount !== count) {
      this.sink.warn('DIR_ERR_CONFIG_LINT_RANGE_BUG', at, {
        first: resolved1.text,
        last: resolved2.text,
        count,
        ldirectordCount: ldCount > MAX_RANGE ? `more than ${MAX_RANGE}` : ldCount,
      });
    }
    const out: RealServerConfig[] = [];
    for (let n = first; n <= last; n++) out.push(make({ family: 4, text: intToV4(n) }));
    return out;
  }

  /** ldirectord-spec 6.3: method, weight, request/receive, thresholds, each step unanchored. */
  private parseRealFlags(
    input: string,
    at: SourceLocation,
  ): { forward: ForwardMethod; weight: number; request?: string; receive?: string; lower: number; upper: number } | undefined {
    const fm = /(\w+)([\s\S]*)/.exec(input);
    const word = fm?.[1];
    if (!fm || (word !== 'gate' && word !== 'masq' && word !== 'ipip')) {
      const d = word === undefined ? undefined : didYouMean(word, ['gate', 'masq', 'ipip']);
      this.sink.error('DIR_ERR_CONFIG_FORWARD_METHOD', at, { value: word ?? input.trim() },
        d !== undefined ? `did you mean ${d}? (case-sensitive: gate, masq or ipip)` : undefined);
      return undefined;
    }
    const forward: ForwardMethod = word;
    let flags: string | undefined = fm[2] as string;
    let weight = 1;
    const wm = /\s+(\d+)([\s\S]*)/.exec(flags);
    if (wm) {
      const skipped = flags.slice(0, wm.index).trim();
      if (skipped !== '') this.sink.warn('DIR_ERR_CONFIG_LINT_WEIGHT_MIDLINE', at, { weight: wm[1] as string, skipped: truncate(skipped) });
      weight = Number(wm[1]);
      flags = wm[2] as string;
      if (weight > 65535) {
        this.sink.error('DIR_ERR_CONFIG_OUT_OF_RANGE', at, { field: 'weight', value: wm[1] as string, min: 0, max: 65535 });
        return undefined;
      }
    }
    let request: string | undefined;
    let receive: string | undefined;
    const rm = /\s+"([\s\S]*)"[, ]\s*"([\s\S]*)"([\s\S]*)/.exec(flags);
    if (rm) {
      const req = rm[1] as string;
      if (req.startsWith('/')) {
        // The leading-slash bug: the pair is ignored and the rest of the line is lost (ldirectord-spec 6.3).
        const rest = (rm[3] as string).trim();
        this.sink.warn('DIR_ERR_CONFIG_LINT_REAL_CHECK_IGNORED', at, {
          request: req,
          dropped: rest !== '' ? ` and "${truncate(rest)}" is dropped` : '',
          suggestion: req.slice(1),
        });
        flags = undefined;
      } else {
        request = /^[A-Za-z][\w+.-]*:\/\//.test(req) ? req : `/${req}`;
        receive = rm[2] as string;
        if (/^l:\d+$|^u:\d+$/.test(req)) {
          this.sink.warn('DIR_ERR_CONFIG_LINT_SUSPICIOUS', at, {
            reason: `quoted "${req}" "${receive}" is read as a request/receive pair, not as thresholds`,
            advice: 'write thresholds unquoted: l:10 u:20',
          });
        }
        flags = rm[3] as string;
      }
    }
    let lower = 0;
    let upper = 0;
    if (flags !== undefined) {
      const lm = /\s+l:(\d+)([\s\S]*)/.exec(flags);
      if (lm) {
        const before = flags.slice(0, lm.index);
        const droppedU = /\s*u:(\d+)/.exec(before);
        if (droppedU) this.sink.warn('DIR_ERR_CONFIG_LINT_THRESHOLD_DROPPED', at, { value: droppedU[1] as string });
        else if (/\S/.test(before)) this.sink.warn('DIR_ERR_CONFIG_LINT_IGNORED_TEXT', at, { directive: 'real', text: truncate(before.trim()) });
        lower = Number(lm[1]);
        flags = lm[2] as string;
      }
      const um = /\s+u:(\d+)([\s\S]*)/.exec(flags);
      if (um) {
        const before = flags.slice(0, um.index);
        if (/\S/.test(before)) {
          this.sink.error('DIR_ERR_CONFIG_INVALID_REAL', at, { reason: `Invalid real server line, around "${truncate(before.trim())}"` });
          return undefined;
        }
        upper = Number(um[1]);
        flags = um[2] as string;
      }
      if (/\S/.test(flags)) {
        this.sink.error('DIR_ERR_CONFIG_INVALID_REAL', at, { reason: `Invalid real server line, around "${truncate(flags)}"` },
          /"/.test(flags) ? 'per-real checks need both strings: "REQUEST", "RECEIVE"; a number inside a quoted string can be taken as the weight when no weight is given' : undefined);
        return undefined;
      }
      if (lower > 65535 || upper > 65535) {
        this.sink.error('DIR_ERR_CONFIG_OUT_OF_RANGE', at, { field: 'connection threshold', value: Math.max(lower, upper), min: 0, max: 65535 });
        return undefined;
      }
    }
    return { forward, weight, ...(request !== undefined ? { request } : {}), ...(receive !== undefined ? { receive } : {}), lower, upper };
  }
}

function virtualIdText(b: BlockState, address: IpAddress | undefined, port: number): string {
  if (b.protocol === 'fwm') return `${b.family === 6 ? 'fwm6' : 'fwm'}:${b.fwmark ?? 0}`;
  const host = address ? (address.family === 6 ? `[${address.text}]` : address.text) : (b.hostText ?? '?');
  return `${b.protocol}:${host}:${port}`;
}

function mapSchedFlag(flag: string, scheduler: SchedulerName): SchedulerFlag | undefined {
  switch (flag) {
    case 'sh-fallback':
    case 'sh-port':
    case 'mh-fallback':
    case 'mh-port':
      return flag;
    // ipvsadm: flag-1 and flag-2 are the scheduler-neutral names of the same bits.
    case 'flag-1':
      return scheduler === 'mh' ? 'mh-fallback' : 'sh-fallback';
    case 'flag-2':
      return scheduler === 'mh' ? 'mh-port' : 'sh-port';
    default:
      return undefined;
  }
}

/** ldirectord parse_emailalertstatus: a string reason on error. */
function parseEmailAlertStatus(value: string): EmailStatus[] | string {
  const parts = value.split(/\s*,\s*/);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop(); // Perl split drops trailing empties
  const none = parts.includes('none');
  const out = new Set<EmailStatus>();
  for (const p of parts) {
    if (p === 'none') continue;
    if (p === 'all') ALL_STATUSES.forEach((s) => out.add(s));
    else if ((ALL_STATUSES as readonly string[]).includes(p)) out.add(p as EmailStatus);
    else return `invalid email alert status at: ${visible(p)}`;
    if (none) return `invalid email alert status: ${visible(p)} specified with "none"`;
  }
  return ALL_STATUSES.filter((s) => out.has(s));
}

function v4ToInt(text: string): number {
  return text.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

function intToV4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** How many reals ldirectord's `while ($i le $last_i)` string comparison yields (ldirectord-spec 6.2). */
function ldirectordRangeCount(first: number, last: number): number {
  const lastText = String(last);
  let count = 0;
  for (let i = first; String(i) <= lastText; i++) {
    count++;
    if (count > MAX_RANGE) break;
  }
  return count;
}

function isDirectory(path: string): boolean {
  try {
    return existsSync(path) && statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function truncate(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
