/**
 * ipvsadm's command line (ipvsadm(8)), parsed into a listing request or an IpvsCommand.
 *
 * The same parser reads `-R` input: every line is an ipvsadm command without the word ipvsadm,
 * as `-S` writes it (seed-features 3.7). Short options bundle as with getopt (`-Ln`, `-lnc`);
 * `-p` takes an optional timeout. Defaults follow ipvsadm: scheduler wlc, persistence 300 s,
 * forwarding -g, weight 1, real port = the service's port.
 *
 * Host and service names are looked up locally (/etc/hosts, /etc/services through the injected
 * AddressLookup) and never with DNS: a restore must not hang on a resolver.
 */
import { DirectorError } from '../core/errors.js';
import { netmaskToPrefixLength, tryParseIp } from '../core/ip.js';
import { SCHEDULERS, SCHEDULER_FLAGS } from '../core/types.js';
import type { ForwardMethod, SchedulerFlag, SchedulerName } from '../core/types.js';
import type { IpvsCommand, IpvsRealOptions, IpvsServiceOptions, IpvsServiceRef } from '../control/api.js';

/** Name → number lookups for -t host:service (undefined = unknown name). */
export interface AddressLookup {
  address(name: string): string | undefined;
  port(name: string, protocol: 'tcp' | 'udp'): number | undefined;
}

export const NO_LOOKUP: AddressLookup = { address: () => undefined, port: () => undefined };

/** What to list. */
export type ListFormat = 'list' | 'stats' | 'rate' | 'thresholds' | 'persistent-conn' | 'connections' | 'timeout';

export type IpvsadmInvocation =
  | {
      readonly kind: 'list';
      readonly format: ListFormat;
      readonly numeric: boolean;
      readonly exact: boolean;
      readonly sort: boolean;
      readonly service?: IpvsServiceRef;
    }
  | { readonly kind: 'save'; readonly numeric: boolean; readonly sort: boolean; readonly service?: IpvsServiceRef }
  | { readonly kind: 'restore' }
  | { readonly kind: 'command'; readonly command: IpvsCommand };

/** Default scheduler of ipvsadm -A (ipvsadm.c DEF_SCHED). */
export const DEFAULT_SCHEDULER: SchedulerName = 'wlc';
/** Default persistence timeout of a bare -p (seconds). */
export const DEFAULT_PERSISTENT_TIMEOUT_S = 300;

const COMMAND_FLAGS: Readonly<Record<string, string>> = {
  A: 'add-service',
  E: 'edit-service',
  D: 'delete-service',
  C: 'clear',
  R: 'restore',
  S: 'save',
  a: 'add-server',
  e: 'edit-server',
  d: 'delete-server',
  L: 'list',
  l: 'list',
  Z: 'zero',
};

const LONG_COMMANDS: Readonly<Record<string, string>> = {
  '--add-service': 'add-service',
  '--edit-service': 'edit-service',
  '--delete-service': 'delete-service',
  '--clear': 'clear',
  '--restore': 'restore',
  '--save': 'save',
  '--add-server': 'add-server',
  '--edit-server': 'edit-server',
  '--delete-server': 'delete-server',
  '--list': 'list',
  '--zero': 'zero',
  '--set': 'set',
};

/** Options that take a value: short letter → long name. */
const VALUE_OPTIONS: Readonly<Record<string, string>> = {
  t: 'tcp-service',
  u: 'udp-service',
  f: 'fwmark-service',
  s: 'scheduler',
  b: 'sched-flags',
  M: 'netmask',
  r: 'real-server',
  w: 'weight',
  x: 'u-threshold',
  y: 'l-threshold',
};

const FLAG_OPTIONS: Readonly<Record<string, string>> = {
  g: 'gatewaying',
  m: 'masquerading',
  i: 'ipip',
  n: 'numeric',
  c: 'connection',
  o: 'ops',
  '6': 'ipv6',
};

const LONG_VALUE = new Set(Object.values(VALUE_OPTIONS));
const LONG_FLAGS = new Set([...Object.values(FLAG_OPTIONS), 'timeout', 'stats', 'rate', 'exact', 'thresholds', 'persistent-conn', 'nosort', 'sort']);

/** Does this argument look like the start of an ipvsadm-style invocation? */
export function isIpvsadmCommandArg(arg: string): boolean {
  if (arg in LONG_COMMANDS) return true;
  if (!arg.startsWith('-') || arg.startsWith('--') || arg.length < 2) return false;
  return [...arg.slice(1)].some((ch) => ch in COMMAND_FLAGS);
}

function usage(reason: string): DirectorError {
  return new DirectorError('DIR_ERR_CLI_USAGE', { reason });
}

interface Collected {
  command?: string;
  values: Map<string, string>;
  flags: Set<string>;
  persistent?: string | true;
  set?: [string, string, string];
}

function collect(argv: readonly string[]): Collected {
  const out: Collected = { values: new Map(), flags: new Set() };
  const setCommand = (name: string): void => {
    if (out.command && out.command !== name) throw usage(`only one command at a time (got ${out.command} and ${name})`);
    out.command = name;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = (): string => {
      const v = argv[i + 1];
      if (v === undefined) throw usage(`option ${arg} needs a value`);
      i++;
      return v;
    };
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg : arg.slice(0, eq);
      const inline = eq < 0 ? undefined : arg.slice(eq + 1);
      const command = LONG_COMMANDS[name];
      if (command === 'set') {
        setCommand('set');
        const a = next();
        const b = next();
        const c = next();
        out.set = [a, b, c];
        continue;
      }
      if (command) {
        setCommand(command);
        continue;
      }
      const long = name.slice(2);
      if (long === 'persistent') {
        out.persistent = inline ?? (argv[i + 1] !== undefined && /^\d+$/.test(argv[i + 1] as string) ? next() : true);
        continue;
      }
      if (LONG_VALUE.has(long)) {
        out.values.set(long, inline ?? next());
        continue;
      }
      if (LONG_FLAGS.has(long)) {
        out.flags.add(long);
        continue;
      }
      throw usage(`unknown option ${name}`);
    }
    if (!arg.startsWith('-') || arg === '-') throw usage(`unexpected argument "${arg}"`);
    const letters = arg.slice(1);
    for (let k = 0; k < letters.length; k++) {
      const ch = letters[k] as string;
      const command = COMMAND_FLAGS[ch];
      if (command) {
        setCommand(command);
        continue;
      }
      if (ch === 'p') {
        const rest = letters.slice(k + 1);
        if (rest !== '') out.persistent = rest;
        else out.persistent = argv[i + 1] !== undefined && /^\d+$/.test(argv[i + 1] as string) ? next() : true;
        break;
      }
      const valueName = VALUE_OPTIONS[ch];
      if (valueName) {
        const rest = letters.slice(k + 1);
        out.values.set(valueName, rest !== '' ? rest : next());
        break;
      }
      const flagName = FLAG_OPTIONS[ch];
      if (flagName) {
        out.flags.add(flagName);
        continue;
      }
      throw usage(`unknown option -${ch}`);
    }
  }
  return out;
}

function parseIntIn(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw usage(`${what} must be an integer ${min}..${max}, got "${text}"`);
  return Number(text);
}

/** host[:port] / [v6]:port with local name lookup. Port is optional (undefined). */
export function parseHostPort(text: string, protocol: 'tcp' | 'udp', lookup: AddressLookup, what: string): { address: string; port?: number } {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw usage(`${what} "${text}": missing ]`);
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) throw usage(`${what} "${text}": expected :port after ]`);
    portText = rest === '' ? undefined : rest.slice(1);
  } else {
    const colons = text.split(':').length - 1;
    if (colons > 1) {
      // A bare IPv6 address without a port (ipvsadm accepts it only in brackets with a port).
      host = text;
      portText = undefined;
    } else if (colons === 1) {
      host = text.slice(0, text.indexOf(':'));
      portText = text.slice(text.indexOf(':') + 1);
    } else {
      host = text;
    }
  }
  const ip = tryParseIp(host);
  const address = ip?.text ?? lookup.address(host);
  if (!address) throw usage(`${what} "${host}" is neither an IP address nor a name in /etc/hosts`);
  if (portText === undefined || portText === '') return { address };
  const port = /^\d+$/.test(portText) ? Number(portText) : lookup.port(portText, protocol);
  if (port === undefined || port > 65535) throw usage(`${what} port "${portText}" is neither a number 0..65535 nor a name in /etc/services`);
  return { address, port };
}

function serviceRef(c: Collected, lookup: AddressLookup, required: boolean): IpvsServiceRef | undefined {
  const tcp = c.values.get('tcp-service');
  const udp = c.values.get('udp-service');
  const fwm = c.values.get('fwmark-service');
  const given = [tcp, udp, fwm].filter((v) => v !== undefined).length;
  if (given > 1) throw usage('give only one of -t, -u and -f');
  if (given === 0) {
    if (required) throw usage('a service is required: -t addr:port, -u addr:port or -f mark');
    return undefined;
  }
  if (fwm !== undefined) return { protocol: 'fwm', fwmark: parseIntIn(fwm, 'fwmark', 1, 0xffffffff), family: c.flags.has('ipv6') ? 6 : 4 };
  const protocol = tcp !== undefined ? 'tcp' : 'udp';
  const hp = parseHostPort((tcp ?? udp) as string, protocol, lookup, 'service');
  return { protocol, address: hp.address, port: hp.port ?? 0 };
}

function serviceOptions(c: Collected, isAdd: boolean, service: IpvsServiceRef): IpvsServiceOptions {
  const out: {
    scheduler?: SchedulerName;
    schedulerFlags?: SchedulerFlag[];
    persistence?: { timeoutMs: number; netmaskPrefixLength?: number };
    ops?: boolean;
  } = {};
  const sched = c.values.get('scheduler');
  if (sched !== undefined) {
    if (!(SCHEDULERS as readonly string[]).includes(sched)) throw usage(`unknown scheduler "${sched}" (one of ${SCHEDULERS.join(', ')})`);
    out.scheduler = sched as SchedulerName;
  } else if (isAdd) out.scheduler = DEFAULT_SCHEDULER;
  const flags = c.values.get('sched-flags');
  if (flags !== undefined) {
    const list = flags.split(',').filter((f) => f !== '');
    for (const f of list) if (!(SCHEDULER_FLAGS as readonly string[]).includes(f)) throw usage(`unknown scheduler flag "${f}" (one of ${SCHEDULER_FLAGS.join(', ')})`);
    out.schedulerFlags = list as SchedulerFlag[];
  }
  const family = service.protocol === 'fwm' ? service.family : service.address.includes(':') ? 6 : 4;
  if (c.persistent !== undefined) {
    const seconds = c.persistent === true ? DEFAULT_PERSISTENT_TIMEOUT_S : parseIntIn(c.persistent, 'persistent timeout', 1, 0x7fffffff / 1000);
    const mask = c.values.get('netmask');
    let prefix: number | undefined;
    if (mask !== undefined) {
      prefix = family === 4 ? (/^\d+$/.test(mask) ? parseIntIn(mask, 'netmask', 0, 32) : netmaskToPrefixLength(mask)) : parseIntIn(mask, 'netmask', 0, 128);
      if (prefix === undefined) throw usage(`netmask "${mask}" is not a contiguous mask`);
    }
    out.persistence = prefix === undefined ? { timeoutMs: seconds * 1000, ...(isAdd ? { netmaskPrefixLength: family === 4 ? 32 : 128 } : {}) } : { timeoutMs: seconds * 1000, netmaskPrefixLength: prefix };
  } else if (c.values.has('netmask')) throw usage('-M/--netmask needs -p/--persistent');
  if (c.flags.has('ops')) {
    if (service.protocol === 'tcp') throw usage('-o/--ops applies to UDP and fwmark services only');
    out.ops = true;
  }
  return out;
}

function forwardOf(c: Collected): ForwardMethod | undefined {
  const chosen = (['gatewaying', 'masquerading', 'ipip'] as const).filter((f) => c.flags.has(f));
  if (chosen.length > 1) throw usage('give only one of -g, -m and -i');
  const f = chosen[0];
  return f === 'gatewaying' ? 'gate' : f === 'masquerading' ? 'masq' : f === 'ipip' ? 'ipip' : undefined;
}

function realOptions(c: Collected, isAdd: boolean): IpvsRealOptions {
  const out: { forward?: ForwardMethod; weight?: number; upperThreshold?: number; lowerThreshold?: number } = {};
  const fwd = forwardOf(c);
  if (fwd) out.forward = fwd;
  else if (isAdd) out.forward = 'gate';
  const w = c.values.get('weight');
  if (w !== undefined) out.weight = parseIntIn(w, 'weight', 0, 65535);
  else if (isAdd) out.weight = 1;
  const x = c.values.get('u-threshold');
  if (x !== undefined) out.upperThreshold = parseIntIn(x, 'upper threshold', 0, 0x7fffffff);
  const y = c.values.get('l-threshold');
  if (y !== undefined) out.lowerThreshold = parseIntIn(y, 'lower threshold', 0, 0x7fffffff);
  return out;
}

function realAddress(c: Collected, service: IpvsServiceRef, lookup: AddressLookup): { address: string; port: number } {
  const r = c.values.get('real-server');
  if (r === undefined) throw usage('a real server is required: -r addr[:port]');
  const protocol = service.protocol === 'udp' ? 'udp' : 'tcp';
  const hp = parseHostPort(r, protocol, lookup, 'real server');
  // ipvsadm: without a port the real uses the service's port.
  return { address: hp.address, port: hp.port ?? (service.protocol === 'fwm' ? 0 : service.port) };
}

/** Parses an ipvsadm-style argument list. */
export function parseIpvsadmArgs(argv: readonly string[], lookup: AddressLookup = NO_LOOKUP): IpvsadmInvocation {
  const c = collect(argv);
  // Without a command ipvsadm lists the table (`ipvsadm`, `ipvsadm -n`, `ipvsadm --stats`).
  const command = c.command ?? 'list';
  switch (command) {
    case 'list': {
      const formats: ListFormat[] = [];
      if (c.flags.has('connection')) formats.push('connections');
      if (c.flags.has('timeout')) formats.push('timeout');
      if (c.flags.has('stats')) formats.push('stats');
      if (c.flags.has('rate')) formats.push('rate');
      if (c.flags.has('thresholds')) formats.push('thresholds');
      if (c.flags.has('persistent-conn')) formats.push('persistent-conn');
      if (formats.length > 1) throw usage(`choose one listing format (got ${formats.join(' and ')})`);
      const service = serviceRef(c, lookup, false);
      return {
        kind: 'list',
        format: formats[0] ?? 'list',
        numeric: c.flags.has('numeric'),
        exact: c.flags.has('exact'),
        sort: !c.flags.has('nosort'),
        ...(service ? { service } : {}),
      };
    }
    case 'save': {
      const service = serviceRef(c, lookup, false);
      return { kind: 'save', numeric: c.flags.has('numeric'), sort: !c.flags.has('nosort'), ...(service ? { service } : {}) };
    }
    case 'restore':
      return { kind: 'restore' };
    case 'clear':
      return { kind: 'command', command: { op: 'clear' } };
    case 'zero': {
      const service = serviceRef(c, lookup, false);
      return { kind: 'command', command: service ? { op: 'zero', service } : { op: 'zero' } };
    }
    case 'set': {
      const [tcp, fin, udp] = c.set as [string, string, string];
      return {
        kind: 'command',
        command: {
          op: 'set-timeouts',
          timeouts: {
            tcpMs: parseIntIn(tcp, 'tcp timeout', 0, 0x7fffffff / 1000) * 1000,
            tcpFinMs: parseIntIn(fin, 'tcpfin timeout', 0, 0x7fffffff / 1000) * 1000,
            udpMs: parseIntIn(udp, 'udp timeout', 0, 0x7fffffff / 1000) * 1000,
          },
        },
      };
    }
    case 'add-service':
    case 'edit-service': {
      const service = serviceRef(c, lookup, true) as IpvsServiceRef;
      const op = command === 'add-service' ? 'add-service' : 'edit-service';
      return { kind: 'command', command: { op, service, options: serviceOptions(c, op === 'add-service', service) } };
    }
    case 'delete-service':
      return { kind: 'command', command: { op: 'delete-service', service: serviceRef(c, lookup, true) as IpvsServiceRef } };
    case 'add-server':
    case 'edit-server': {
      const service = serviceRef(c, lookup, true) as IpvsServiceRef;
      const op = command === 'add-server' ? 'add-real' : 'edit-real';
      return { kind: 'command', command: { op, service, real: realAddress(c, service, lookup), options: realOptions(c, op === 'add-real') } };
    }
    case 'delete-server': {
      const service = serviceRef(c, lookup, true) as IpvsServiceRef;
      return { kind: 'command', command: { op: 'delete-real', service, real: realAddress(c, service, lookup) } };
    }
    default:
      throw usage(`unsupported ipvsadm command ${command}`);
  }
}

/** Splits a restore line into words (ipvsadm-restore splits on blanks; # starts a comment). */
export function splitRestoreLine(line: string): string[] {
  const hash = line.indexOf('#');
  const text = hash >= 0 ? line.slice(0, hash) : line;
  return text.trim().split(/\s+/).filter((w) => w !== '');
}

/**
 * Parses `-R` input into commands. Blank and comment lines are skipped; a leading `ipvsadm` word is
 * tolerated. Any error names its line (DIR_ERR_CLI_RESTORE_SYNTAX, exit 65) and nothing is sent.
 */
export function parseRestore(text: string, lookup: AddressLookup = NO_LOOKUP): { readonly line: number; readonly command: IpvsCommand }[] {
  const commands: { line: number; command: IpvsCommand }[] = [];
  const rows = text.split('\n');
  for (let i = 0; i < rows.length; i++) {
    let words = splitRestoreLine(rows[i] as string);
    if (words[0] === 'ipvsadm') words = words.slice(1);
    if (words.length === 0) continue;
    let parsed: IpvsadmInvocation;
    try {
      parsed = parseIpvsadmArgs(words, lookup);
    } catch (error) {
      throw new DirectorError('DIR_ERR_CLI_RESTORE_SYNTAX', { line: i + 1, reason: error instanceof Error ? error.message : String(error) });
    }
    if (parsed.kind !== 'command') {
      throw new DirectorError('DIR_ERR_CLI_RESTORE_SYNTAX', { line: i + 1, reason: 'only table commands (-A -E -D -a -e -d -C -Z --set) may appear in restore input' });
    }
    commands.push({ line: i + 1, command: parsed.command });
  }
  return commands;
}
