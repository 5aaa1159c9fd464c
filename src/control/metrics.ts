/**
 * Prometheus text exposition (format 0.0.4) of the director's state, and the check-latency
 * histogram / rate history the HTTP status server keeps between scrapes.
 *
 * Naming follows Prometheus conventions: `_total` for counters, base units (seconds, bytes),
 * one metric family per HELP/TYPE block, label values escaped (\\, \", \n).
 */
import type { DirectorStatus } from '../director/status.js';
import type { EngineStats } from '../engine/model.js';
import type { VersionInfo } from './api.js';
import type { VrrpState } from '../core/types.js';

/** Check latency buckets in seconds: checks take from sub-millisecond connects to 5-10 s timeouts. */
export const CHECK_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

const VRRP_STATES: readonly VrrpState[] = ['INIT', 'BACKUP', 'MASTER', 'FAULT'];

/** One histogram series (cumulative bucket counts as Prometheus wants them at render time). */
interface HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly counts: number[];
  sum: number;
  count: number;
}

/** Per (virtual, real) check latency histogram plus ok/failed counters. */
export class CheckLatencyHistogram {
  private readonly series = new Map<string, HistogramSeries>();
  private readonly results = new Map<string, { labels: Readonly<Record<string, string>>; ok: number; failed: number }>();

  observe(virtual: string, real: string, durationMs: number, ok: boolean): void {
    const key = `${virtual}\u0000${real}`;
    let s = this.series.get(key);
    if (!s) {
      s = { labels: { virtual, real }, counts: CHECK_DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    const seconds = Math.max(0, durationMs) / 1000;
    CHECK_DURATION_BUCKETS.forEach((le, i) => {
      if (seconds <= le) s.counts[i] = (s.counts[i] ?? 0) + 1;
    });
    s.sum += seconds;
    s.count += 1;
    let r = this.results.get(key);
    if (!r) {
      r = { labels: { virtual, real }, ok: 0, failed: 0 };
      this.results.set(key, r);
    }
    if (ok) r.ok += 1;
    else r.failed += 1;
  }

  render(out: ExpositionWriter): void {
    out.family('directord_real_check_duration_seconds', 'histogram', 'Duration of health checks of a real server.');
    for (const s of this.series.values()) {
      const base = labelText(s.labels);
      const open = base.slice(0, -1); // `{virtual="..",real=".."` to append le to
      CHECK_DURATION_BUCKETS.forEach((le, i) => out.sample('directord_real_check_duration_seconds_bucket', `${open},le="${le}"}`, s.counts[i] ?? 0));
      out.sample('directord_real_check_duration_seconds_bucket', `${open},le="+Inf"}`, s.count);
      out.sample('directord_real_check_duration_seconds_sum', base, s.sum);
      out.sample('directord_real_check_duration_seconds_count', base, s.count);
    }
    out.family('directord_real_checks_total', 'counter', 'Health checks run, by result.');
    for (const r of this.results.values()) {
      out.sample('directord_real_checks_total', { ...r.labels, result: 'ok' }, r.ok);
      out.sample('directord_real_checks_total', { ...r.labels, result: 'failed' }, r.failed);
    }
  }
}

const NEEDS_ESCAPE = /[\\\n"]/;

/** Escapes a label value (exposition format 0.0.4). */
export function escapeLabelValue(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** `{a="x",b="y"}` (empty for no labels); render once and reuse for every family of a series. */
export function labelText(labels: Readonly<Record<string, string>>): string {
  let out = '';
  for (const key in labels) out += `${out === '' ? '{' : ','}${key}="${escapeLabelValue(labels[key] as string)}"`;
  return out === '' ? '' : `${out}}`;
}

/** Escapes HELP text (backslash and newline only). */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Builds exposition text; each family's HELP/TYPE is written once, before its samples. */
export class ExpositionWriter {
  // One growing string: V8 keeps it as a rope, cheaper than thousands of array slots plus a join.
  private out = '';

  family(name: string, type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped', help: string): void {
    this.out += `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
  }

  sample(name: string, labels: Readonly<Record<string, string>> | string, value: number): void {
    this.out += `${name}${typeof labels === 'string' ? labels : labelText(labels)} ${formatValue(value)}\n`;
  }

  text(): string {
    return this.out;
  }
}

/** Renders everything /metrics serves. */
export function renderMetrics(input: {
  readonly status: DirectorStatus;
  readonly stats: EngineStats;
  readonly version: VersionInfo;
  readonly checks?: CheckLatencyHistogram;
}): string {
  const { status, stats, version } = input;
  const out = new ExpositionWriter();

  out.family('directord_build_info', 'gauge', 'directord version and forwarding engine (always 1).');
  out.sample('directord_build_info', { version: version.version, engine: version.engine }, 1);
  out.family('directord_start_time_seconds', 'gauge', 'Start time of the director, seconds since the epoch.');
  out.sample('directord_start_time_seconds', {}, status.startedAt / 1000);
  out.family('directord_reloads_total', 'counter', 'Config reloads, by result.');
  out.sample('directord_reloads_total', { result: 'ok' }, status.reloads.ok);
  out.sample('directord_reloads_total', { result: 'failed' }, status.reloads.failed);

  // VRRP (keepalived-spec 6.3: the same counters keepalived writes on SIGUSR2).
  out.family('directord_vrrp_state', 'gauge', 'VRRP instance state: 1 for the current state, 0 for the others.');
  for (const i of status.vrrp) for (const s of VRRP_STATES) out.sample('directord_vrrp_state', { instance: i.name, state: s }, i.state === s ? 1 : 0);
  out.family('directord_vrrp_transitions_total', 'counter', 'VRRP state transitions of the instance.');
  for (const i of status.vrrp) out.sample('directord_vrrp_transitions_total', { instance: i.name }, i.transitions);
  out.family('directord_vrrp_priority', 'gauge', 'Effective VRRP priority of the instance.');
  for (const i of status.vrrp) out.sample('directord_vrrp_priority', { instance: i.name }, i.effectivePriority);
  out.family('directord_vrrp_adverts_sent_total', 'counter', 'VRRP advertisements sent.');
  for (const i of status.vrrp) out.sample('directord_vrrp_adverts_sent_total', { instance: i.name }, i.advertsSent);
  out.family('directord_vrrp_adverts_received_total', 'counter', 'VRRP advertisements received.');
  for (const i of status.vrrp) out.sample('directord_vrrp_adverts_received_total', { instance: i.name }, i.advertsReceived);
  out.family('directord_vrrp_dropped_total', 'counter', 'Received VRRP packets dropped, by reason.');
  for (const i of status.vrrp) for (const [reason, n] of Object.entries(i.dropped)) out.sample('directord_vrrp_dropped_total', { instance: i.name, reason }, n);

  // Virtual services: director view.
  out.family('directord_virtual_quorum_up', 'gauge', 'keepalived-style quorum of the virtual service (1 = up).');
  for (const v of status.virtuals) out.sample('directord_virtual_quorum_up', { virtual: v.id }, v.quorumUp ? 1 : 0);
  out.family('directord_virtual_fallback_active', 'gauge', 'The sorry server is installed because no real server is usable.');
  for (const v of status.virtuals) out.sample('directord_virtual_fallback_active', { virtual: v.id }, v.fallbackActive ? 1 : 0);

  // Engine counters (ipvsadm --stats / --rate).
  const counterFamilies = [
    ['connections_total', 'conns', 'Connections scheduled (ipvsadm Conns).'],
    ['in_packets_total', 'inPackets', 'Packets from clients (ipvsadm InPkts).'],
    ['out_packets_total', 'outPackets', 'Packets to clients (ipvsadm OutPkts).'],
    ['in_bytes_total', 'inBytes', 'Bytes from clients (ipvsadm InBytes).'],
    ['out_bytes_total', 'outBytes', 'Bytes to clients (ipvsadm OutBytes).'],
  ] as const;
  const rateFamilies = [
    ['connections_per_second', 'cps', 'Connection rate (ipvsadm CPS).'],
    ['in_packets_per_second', 'inPps', 'Packet rate from clients (ipvsadm InPPS).'],
    ['out_packets_per_second', 'outPps', 'Packet rate to clients (ipvsadm OutPPS).'],
    ['in_bytes_per_second', 'inBps', 'Byte rate from clients (ipvsadm InBPS).'],
    ['out_bytes_per_second', 'outBps', 'Byte rate to clients (ipvsadm OutBPS).'],
  ] as const;
  for (const [suffix, field, help] of counterFamilies) {
    out.family(`directord_virtual_${suffix}`, 'counter', help);
    for (const s of stats.services) out.sample(`directord_virtual_${suffix}`, { virtual: s.key }, s.counters[field]);
  }
  for (const [suffix, field, help] of rateFamilies) {
    out.family(`directord_virtual_${suffix}`, 'gauge', help);
    for (const s of stats.services) out.sample(`directord_virtual_${suffix}`, { virtual: s.key }, s.rates[field]);
  }
  out.family('directord_virtual_no_real_available_total', 'counter', 'Connections refused because no real server was available.');
  for (const s of stats.services) out.sample('directord_virtual_no_real_available_total', { virtual: s.key }, s.errors.noRealAvailable);
  out.family('directord_virtual_connect_failures_total', 'counter', 'Connections to real servers that failed.');
  for (const s of stats.services) out.sample('directord_virtual_connect_failures_total', { virtual: s.key }, s.errors.connectFailures);

  // Real servers: director view (health, weights, overrides).
  const reals = status.virtuals.flatMap((v) => v.reals.map((r) => ({ v, r, l: labelText({ virtual: v.id, real: r.key }) })));
  out.family('directord_real_up', 'gauge', 'Health of the real server as the checks see it (1 = up, 0 = down or not yet known).');
  for (const { r, l } of reals) out.sample('directord_real_up', l, r.health === 'up' ? 1 : 0);
  out.family('directord_real_health', 'gauge', 'Health of the real server: 1 for the current status (unknown, up, down), 0 for the others.');
  for (const { v, r } of reals) for (const h of ['unknown', 'up', 'down'] as const) out.sample('directord_real_health', { virtual: v.id, real: r.key, status: h }, r.health === h ? 1 : 0);
  out.family('directord_real_configured_weight', 'gauge', 'Weight from the config.');
  for (const { r, l } of reals) out.sample('directord_real_configured_weight', l, r.configuredWeight);
  out.family('directord_real_override', 'gauge', 'Operator override in force (1): disabled, weight or drain.');
  for (const { v, r } of reals) if (r.override) out.sample('directord_real_override', { virtual: v.id, real: r.key, kind: r.override.kind }, 1);
  out.family('directord_real_last_check_success', 'gauge', 'Result of the last check (1 = ok).');
  for (const { r, l } of reals) if (r.lastCheck) out.sample('directord_real_last_check_success', l, r.lastCheck.ok ? 1 : 0);
  out.family('directord_real_last_check_duration_seconds', 'gauge', 'Duration of the last check.');
  for (const { r, l } of reals) if (r.lastCheck) out.sample('directord_real_last_check_duration_seconds', l, r.lastCheck.durationMs / 1000);

  // Real servers: engine view.
  const engineReals = stats.services.flatMap((s) => s.reals.map((r) => ({ r, l: labelText({ virtual: s.key, real: r.key }) })));
  out.family('directord_real_weight', 'gauge', 'Weight in the forwarding engine now (0 = quiesced).');
  for (const { r, l } of engineReals) out.sample('directord_real_weight', l, r.weight);
  out.family('directord_real_active_connections', 'gauge', 'Established connections (ipvsadm ActiveConn).');
  for (const { r, l } of engineReals) out.sample('directord_real_active_connections', l, r.activeConns);
  out.family('directord_real_inactive_connections', 'gauge', 'Connections in other states (ipvsadm InActConn).');
  for (const { r, l } of engineReals) out.sample('directord_real_inactive_connections', l, r.inactiveConns);
  out.family('directord_real_persistent_connections', 'gauge', 'Persistence templates pointing at the real server.');
  for (const { r, l } of engineReals) out.sample('directord_real_persistent_connections', l, r.persistentConns);
  for (const [suffix, field, help] of counterFamilies) {
    out.family(`directord_real_${suffix}`, 'counter', help);
    for (const { r, l } of engineReals) out.sample(`directord_real_${suffix}`, l, r.counters[field]);
  }
  for (const [suffix, field, help] of rateFamilies) {
    out.family(`directord_real_${suffix}`, 'gauge', help);
    for (const { r, l } of engineReals) out.sample(`directord_real_${suffix}`, l, r.rates[field]);
  }

  input.checks?.render(out);
  return out.text();
}

/** Recent samples for the status page's sparklines. */
export interface RateSeries {
  /** Wall-clock ms of each sample. */
  readonly t: number[];
  readonly cps: number[];
  readonly inBps: number[];
  readonly outBps: number[];
  readonly active: number[];
}

/** A bounded ring of recent rates per service and per (service, real) key. */
export class RateHistory {
  private readonly series = new Map<string, RateSeries>();

  constructor(private readonly capacity = 120) {}

  record(stats: EngineStats, at: number): void {
    const seen = new Set<string>();
    const push = (key: string, cps: number, inBps: number, outBps: number, active: number): void => {
      seen.add(key);
      let s = this.series.get(key);
      if (!s) {
        s = { t: [], cps: [], inBps: [], outBps: [], active: [] };
        this.series.set(key, s);
      }
      s.t.push(at);
      s.cps.push(cps);
      s.inBps.push(inBps);
      s.outBps.push(outBps);
      s.active.push(active);
      if (s.t.length > this.capacity) for (const arr of [s.t, s.cps, s.inBps, s.outBps, s.active]) arr.shift();
    };
    for (const svc of stats.services) {
      push(svc.key, svc.rates.cps, svc.rates.inBps, svc.rates.outBps, svc.reals.reduce((n, r) => n + r.activeConns, 0));
      for (const r of svc.reals) push(`${svc.key}/${r.key}`, r.rates.cps, r.rates.inBps, r.rates.outBps, r.activeConns);
    }
    // Services and reals that went away stop taking memory.
    for (const key of [...this.series.keys()]) if (!seen.has(key)) this.series.delete(key);
  }

  snapshot(): Record<string, RateSeries> {
    return Object.fromEntries(this.series);
  }
}
