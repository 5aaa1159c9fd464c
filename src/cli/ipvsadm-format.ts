/**
 * ipvsadm's text formats, as pure functions of EngineStats / ConnectionEntry.
 *
 * LVS veterans read and script against these tables, so the layout follows ipvsadm(8) 1.2x
 * column by column (seed-features 3.2-3.5):
 *   list        `  -> ` + address padded to 28, forward padded to 7, weight to 6, ActiveConn to 10
 *   --stats     name padded to 33, then 9-wide right-aligned numbers with K/M/G/T above 10^8
 *   --rate      the same columns with CPS InPPS OutPPS InBPS OutBPS
 *   -c          `%-3s %-6s %-11s %-18s %-18s %s` (proto, mm:ss, state, client, virtual, real)
 *   -S          `-A -t addr:port -s sched ...` / `-a -t addr:port -r addr:port -m -w N`
 * Two deliberate differences from a byte dump of ipvsadm 1.2x, both matching the text recorded in
 * the seeds: trailing blanks are trimmed from every line (ipvsadm pads InActConn to 10 columns),
 * and in --stats/--rate the last column follows a single space instead of being right-aligned
 * (the seed's ipvsadm 1.21 output, 003_01be8a6496434ac6.txt lines 7257-7269).
 *
 * Names: ipvsadm without -n resolves every address with DNS, which "can take up to a minute"
 * (seed-features 3.2). Callers pass a NameResolver; directorctl's resolves from /etc/hosts and
 * /etc/services only, never DNS.
 */
import type { ConnectionEntry, EngineStats, RealStats, ServiceStats } from '../engine/model.js';
import type { ForwardMethod } from '../core/types.js';
import { FORWARD_METHOD_IPVS_NAME } from '../core/types.js';
import { ipBytes, prefixLengthToNetmask } from '../core/ip.js';

/** Turns addresses and ports into names when -n is not given. Undefined = keep the number. */
export interface NameResolver {
  host(address: string): string | undefined;
  service(port: number, protocol: 'tcp' | 'udp'): string | undefined;
}

/** The `IP Virtual Server version X (size=N)` header. */
export interface IpvsHeader {
  readonly version: string;
  readonly connTableSize: number;
}

/** The header the embedded engine reports: the IPVS version the formats follow. */
export const DEFAULT_IPVS_HEADER: IpvsHeader = Object.freeze({ version: '1.2.1', connTableSize: 4096 });

export interface IpvsadmFormatOptions {
  /** -n: print numbers; otherwise names from `names`. */
  readonly numeric?: boolean;
  readonly names?: NameResolver;
  /** --exact: full numbers instead of K/M/G/T. */
  readonly exact?: boolean;
  /** Sort services and reals as ipvsadm does (default); --nosort keeps the engine's order. */
  readonly sort?: boolean;
  readonly header?: IpvsHeader;
  /**
   * Is this real address one of the director's own? IPVS then forwards locally and ipvsadm prints
   * `Local` (seed-features 3.2). Default: loopback addresses only.
   */
  readonly isLocal?: (address: string) => boolean;
  /** Only this service (ipvsadm -L -t addr:port). */
  readonly service?: (service: ServiceStats) => boolean;
}

/* ------------------------------------------------------------------------------------------ */

function padEnd(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function padStart(text: string, width: number): string {
  return text.length >= width ? text : ' '.repeat(width - text.length) + text;
}

/** Joins lines, trimming trailing blanks (see the module comment), with a final newline. */
function lines(rows: readonly string[]): string {
  return rows.map((r) => r.replace(/[ \t]+$/, '')).join('\n') + (rows.length > 0 ? '\n' : '');
}

/**
 * ipvsadm's print_largenum: a 9-column field; values of 10^8 and more are divided and suffixed
 * (K below 10^9, M below 10^11, G below 10^14, T above). With --exact the full value, in a field
 * one wider than the number (at least 9).
 */
export function formatLargeNumber(value: number, exact: boolean): string {
  const n = Math.max(0, Math.floor(value));
  if (exact) {
    const text = String(n);
    return padStart(text, text.length <= 8 ? 9 : text.length + 1);
  }
  if (n < 1e8) return padStart(String(n), 9);
  if (n < 1e9) return `${padStart(String(Math.floor(n / 1e3)), 8)}K`;
  if (n < 1e11) return `${padStart(String(Math.floor(n / 1e6)), 8)}M`;
  if (n < 1e14) return `${padStart(String(Math.floor(n / 1e9)), 8)}G`;
  return `${padStart(String(Math.floor(n / 1e12)), 8)}T`;
}

/** The last --stats/--rate column: a single space, then the value (the seed's layout). */
function lastColumn(value: number, exact: boolean): string {
  return ` ${formatLargeNumber(value, exact).trimStart()}`;
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}

/** addrport_to_anyname: `host:port`, `[v6]:port`, names when not numeric. */
export function formatAddrPort(address: string, port: number, protocol: 'tcp' | 'udp', options: IpvsadmFormatOptions): string {
  const v6 = address.includes(':');
  const names = options.numeric ? undefined : options.names;
  const host = names?.host(address) ?? address;
  const portText = names?.service(port, protocol) ?? String(port);
  // ipvsadm brackets every IPv6 endpoint, names included (addrport_to_anyname).
  return v6 ? `[${host}]:${portText}` : `${host}:${portText}`;
}

function compareBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): number {
  if (!a || !b) return 0;
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/** libipvs ipvs_cmp_services: fwmark (0 first), family, protocol, address, port. */
export function compareServices(a: ServiceStats, b: ServiceStats): number {
  const fa = a.protocol === 'fwm' ? (a.fwmark ?? 0) : 0;
  const fb = b.protocol === 'fwm' ? (b.fwmark ?? 0) : 0;
  if (fa !== fb) return fa - fb;
  if (a.family !== b.family) return a.family - b.family;
  const pa = a.protocol === 'tcp' ? 6 : a.protocol === 'udp' ? 17 : 0;
  const pb = b.protocol === 'tcp' ? 6 : b.protocol === 'udp' ? 17 : 0;
  if (pa !== pb) return pa - pb;
  const c = compareBytes(a.address ? ipBytes(a.address) : undefined, b.address ? ipBytes(b.address) : undefined);
  if (c !== 0) return c;
  return a.port - b.port;
}

/** libipvs ipvs_cmp_dests: address, then port. */
export function compareReals(a: RealStats, b: RealStats): number {
  const c = compareBytes(ipBytes(a.address), ipBytes(b.address));
  return c !== 0 ? c : a.port - b.port;
}

function orderedServices(stats: EngineStats, options: IpvsadmFormatOptions): ServiceStats[] {
  const selected = options.service ? stats.services.filter(options.service) : [...stats.services];
  return options.sort === false ? selected : selected.sort(compareServices);
}

function orderedReals(service: ServiceStats, options: IpvsadmFormatOptions): RealStats[] {
  return options.sort === false ? [...service.reals] : [...service.reals].sort(compareReals);
}

function realProtocol(service: ServiceStats): 'tcp' | 'udp' {
  return service.protocol === 'udp' ? 'udp' : 'tcp';
}

/** The service column: `TCP  addr:port`, `FWM  1`, `FWM  1 IPv6` (v4 names cut at 33 as ipvsadm does). */
export function serviceName(service: ServiceStats, options: IpvsadmFormatOptions): string {
  if (service.protocol === 'fwm') return service.family === 6 ? `FWM  ${service.fwmark ?? 0} IPv6` : `FWM  ${service.fwmark ?? 0}`;
  const name = `${service.protocol === 'tcp' ? 'TCP' : 'UDP'}  ${formatAddrPort(service.address ?? '', service.port, service.protocol, options)}`;
  return service.family === 6 ? name : name.slice(0, 33);
}

function realName(service: ServiceStats, real: RealStats, options: IpvsadmFormatOptions): string {
  const name = formatAddrPort(real.address, real.port, realProtocol(service), options);
  return service.family === 6 ? name : name.slice(0, 28);
}

/** `Route`, `Masq`, `Tunnel`, or `Local` for the director's own addresses. */
export function forwardName(real: RealStats, options: IpvsadmFormatOptions): string {
  const isLocal = options.isLocal ?? isLoopback;
  if (isLocal(real.address)) return 'Local';
  return FORWARD_METHOD_IPVS_NAME[real.forward];
}

function schedulerFlagsText(service: ServiceStats): string {
  return service.schedulerFlags.join(',');
}

function persistenceText(service: ServiceStats, rule: boolean): string {
  const p = service.persistence;
  if (!p) return '';
  let text = rule ? ` -p ${Math.round(p.timeoutMs / 1000)}` : ` persistent ${Math.round(p.timeoutMs / 1000)}`;
  const maskWord = rule ? '-M' : 'mask';
  if (service.family === 4 && p.netmaskPrefixLength !== 32) text += ` ${maskWord} ${prefixLengthToNetmask(p.netmaskPrefixLength)}`;
  if (service.family === 6 && p.netmaskPrefixLength !== 128) text += ` ${maskWord} ${p.netmaskPrefixLength}`;
  return text;
}

function headerLine(options: IpvsadmFormatOptions): string {
  const h = options.header ?? DEFAULT_IPVS_HEADER;
  return `IP Virtual Server version ${h.version} (size=${h.connTableSize})`;
}

/* ------------------------------------------------------------------------------------------ */

/** `ipvsadm -L [-n]`. */
export function formatList(stats: EngineStats, options: IpvsadmFormatOptions = {}): string {
  const rows = [
    headerLine(options),
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
  ];
  for (const service of orderedServices(stats, options)) {
    let line = `${serviceName(service, options)} ${service.scheduler}`;
    if (service.schedulerFlags.length > 0) line += ` (${schedulerFlagsText(service)})`;
    line += persistenceText(service, false);
    if (service.ops) line += ' ops';
    rows.push(line);
    for (const real of orderedReals(service, options)) {
      rows.push(
        `  -> ${padEnd(realName(service, real, options), 28)} ${padEnd(forwardName(real, options), 7)} ${padEnd(String(real.weight), 6)} ${padEnd(String(real.activeConns), 10)} ${real.inactiveConns}`,
      );
    }
  }
  return lines(rows);
}

type CounterColumns = readonly [number, number, number, number, number];

function counterRow(name: string, values: CounterColumns, exact: boolean): string {
  const [a, b, c, d, e] = values;
  return `${padEnd(name, 33)}${formatLargeNumber(a, exact)}${formatLargeNumber(b, exact)}${formatLargeNumber(c, exact)}${formatLargeNumber(d, exact)}${lastColumn(e, exact)}`;
}

function countersTable(
  stats: EngineStats,
  options: IpvsadmFormatOptions,
  titles: readonly string[],
  pick: (x: ServiceStats | RealStats) => CounterColumns,
): string {
  const exact = options.exact ?? false;
  const [t1, t2, t3, t4, t5] = titles as [string, string, string, string, string];
  const rows = [
    headerLine(options),
    `${padEnd('Prot LocalAddress:Port', 33)} ${padStart(t1, 8)} ${padStart(t2, 8)} ${padStart(t3, 8)} ${padStart(t4, 8)} ${t5}`,
    '  -> RemoteAddress:Port',
  ];
  for (const service of orderedServices(stats, options)) {
    rows.push(counterRow(serviceName(service, options), pick(service), exact));
    for (const real of orderedReals(service, options)) rows.push(counterRow(`  -> ${realName(service, real, options)}`, pick(real), exact));
  }
  return lines(rows);
}

/** `ipvsadm -L -n --stats [--exact]`. */
export function formatStats(stats: EngineStats, options: IpvsadmFormatOptions = {}): string {
  return countersTable(stats, options, ['Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes'], (x) => [
    x.counters.conns,
    x.counters.inPackets,
    x.counters.outPackets,
    x.counters.inBytes,
    x.counters.outBytes,
  ]);
}

/** `ipvsadm -L -n --rate [--exact]`. Rates are rounded to integers as the kernel estimator reports them. */
export function formatRate(stats: EngineStats, options: IpvsadmFormatOptions = {}): string {
  return countersTable(stats, options, ['CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS'], (x) => [
    Math.round(x.rates.cps),
    Math.round(x.rates.inPps),
    Math.round(x.rates.outPps),
    Math.round(x.rates.inBps),
    Math.round(x.rates.outBps),
  ]);
}

/** `ipvsadm -L -n --thresholds`. */
export function formatThresholds(stats: EngineStats, options: IpvsadmFormatOptions = {}): string {
  const rows = [
    headerLine(options),
    `${padEnd('Prot LocalAddress:Port', 33)} ${padEnd('Uthreshold', 10)} ${padEnd('Lthreshold', 10)} ${padEnd('ActiveConn', 10)} InActConn`,
    '  -> RemoteAddress:Port',
  ];
  for (const service of orderedServices(stats, options)) {
    rows.push(serviceName(service, options));
    for (const real of orderedReals(service, options)) {
      rows.push(
        `  -> ${padEnd(realName(service, real, options), 28)} ${padEnd(String(real.upperThreshold), 10)} ${padEnd(String(real.lowerThreshold), 10)} ${padEnd(String(real.activeConns), 10)} ${real.inactiveConns}`,
      );
    }
  }
  return lines(rows);
}

/** `ipvsadm -L -n --persistent-conn`. */
export function formatPersistentConn(stats: EngineStats, options: IpvsadmFormatOptions = {}): string {
  const rows = [
    headerLine(options),
    `${padEnd('Prot LocalAddress:Port', 33)} ${padEnd('Weight', 9)} ${padEnd('PersistConn', 11)} ${padEnd('ActiveConn', 10)} InActConn`,
    '  -> RemoteAddress:Port',
  ];
  for (const service of orderedServices(stats, options)) {
    let line = `${serviceName(service, options)} ${service.scheduler}`;
    line += persistenceText(service, false);
    rows.push(line);
    for (const real of orderedReals(service, options)) {
      rows.push(
        `  -> ${padEnd(realName(service, real, options), 28)} ${padEnd(String(real.weight), 9)} ${padEnd(String(real.persistentConns), 11)} ${padEnd(String(real.activeConns), 10)} ${real.inactiveConns}`,
      );
    }
  }
  return lines(rows);
}

const FORWARD_SWITCH: Readonly<Record<ForwardMethod, string>> = { gate: '-g', masq: '-m', ipip: '-i' };

/** The service part of a rule: `-t addr:port`, `-u addr:port`, `-f 1`, `-f 1 -6`. */
export function serviceRuleName(service: ServiceStats, options: IpvsadmFormatOptions): string {
  if (service.protocol === 'fwm') return service.family === 6 ? `-f ${service.fwmark ?? 0} -6` : `-f ${service.fwmark ?? 0}`;
  return `${service.protocol === 'tcp' ? '-t' : '-u'} ${formatAddrPort(service.address ?? '', service.port, service.protocol, options)}`;
}

/** `ipvsadm -S [-n]`: the table as commands that -R reads back. */
export function formatSave(stats: EngineStats, options: IpvsadmFormatOptions = {}): string {
  const rows: string[] = [];
  for (const service of orderedServices(stats, options)) {
    const svc = serviceRuleName(service, options);
    let line = `-A ${svc} -s ${service.scheduler}`;
    if (service.schedulerFlags.length > 0) line += ` -b ${schedulerFlagsText(service)}`;
    line += persistenceText(service, true);
    if (service.ops) line += ' --ops';
    rows.push(line);
    for (const real of orderedReals(service, options)) {
      // A real on one of our own addresses is "Local" in the list but saved as -g, as ipvsadm does.
      let r = `-a ${svc} -r ${formatAddrPort(real.address, real.port, realProtocol(service), options)} ${FORWARD_SWITCH[real.forward]} -w ${real.weight}`;
      if (real.upperThreshold > 0) r += ` -x ${real.upperThreshold}`;
      if (real.lowerThreshold > 0) r += ` -y ${real.lowerThreshold}`;
      rows.push(r);
    }
  }
  return lines(rows);
}

/** `mm:ss` as ipvsadm prints expiry (minutes are not wrapped into hours). */
export function formatExpire(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return `${String(minutes).padStart(2, '0')}:${String(seconds).padStart(2, '0')}`;
}

function connEndpoint(text: string, protocol: 'tcp' | 'udp', options: IpvsadmFormatOptions): string {
  // Entries carry canonical `addr:port` / `[v6]:port` text; re-render for names.
  if (options.numeric || !options.names) return text;
  const m = /^\[(.+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) return text;
  return formatAddrPort(m[1] as string, Number(m[2]), protocol, options);
}

/** `ipvsadm -L -n -c`. */
export function formatConnections(entries: readonly ConnectionEntry[], options: IpvsadmFormatOptions = {}): string {
  const rows = ['IPVS connection entries', `pro expire ${padEnd('state', 11)} ${padEnd('source', 18)} ${padEnd('virtual', 18)} destination`];
  for (const e of entries) {
    const proto = e.protocol === 'UDP' ? 'udp' : 'tcp';
    rows.push(
      `${padEnd(e.protocol, 3)} ${padEnd(formatExpire(e.expiresInMs), 6)} ${padEnd(e.state, 11)} ${padEnd(connEndpoint(e.source, proto, options), 18)} ${padEnd(connEndpoint(e.virtual, proto, options), 18)} ${connEndpoint(e.destination, proto, options)}`,
    );
  }
  return lines(rows);
}

/** `ipvsadm -L --timeout`. */
export function formatTimeout(timeouts: { readonly tcpMs: number; readonly tcpFinMs: number; readonly udpMs: number }): string {
  const s = (ms: number): number => Math.round(ms / 1000);
  return `Timeout (tcp tcpfin udp): ${s(timeouts.tcpMs)} ${s(timeouts.tcpFinMs)} ${s(timeouts.udpMs)}\n`;
}
