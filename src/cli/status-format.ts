/**
 * Human output of `directorctl status`, `check`, `drain` and `tcpvsadm --list`. Pure functions;
 * `--json` prints the same data as JSON instead.
 */
import type { CheckNowResult, DirectorStatus, DrainProgress, DrainResult, L7ServiceRules, RealStatus, VirtualStatus } from '../control/api.js';
import type { EngineStats } from '../engine/model.js';
import { formatDurationMs } from '../core/duration.js';
import { FORWARD_METHOD_IPVS_NAME } from '../core/types.js';

/** Renders rows as left-aligned columns separated by two blanks (last column unpadded). */
export function table(rows: readonly (readonly string[])[], indent = ''): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

/** "3s ago", "2m10s ago"; "-" when unknown. */
export function ago(at: number | undefined, now: number): string {
  if (at === undefined) return '-';
  return `${roughDuration(now - at)} ago`;
}

/** Whole seconds for humans ("1s", "2m10s"); under a second is "0s". */
export function roughDuration(ms: number): string {
  const s = Math.floor(Math.max(0, ms) / 1000);
  return s === 0 ? '0s' : formatDurationMs(s * 1000);
}

function overrideText(real: RealStatus, now: number): string {
  const base = overrideBase(real, now);
  // Runtime (ipvsadm-style) edits are overrides too: kept until `directorctl -C`.
  if (!real.runtime) return base;
  const mark = `runtime-${real.runtime.kind} by ${real.runtime.by}`;
  return base === '-' ? mark : `${mark}; ${base}`;
}

function overrideBase(real: RealStatus, now: number): string {
  const o = real.override;
  if (!o) {
    if (real.maintenance) return real.maintenanceFile ? `maintenance (${real.maintenanceFile})` : 'maintenance';
    if (real.slowStartUntil !== undefined && real.slowStartUntil > now) return `slow start (${roughDuration(real.slowStartUntil - now)} left)`;
    return '-';
  }
  switch (o.kind) {
    case 'disabled':
      return `disabled by ${o.by}`;
    case 'weight':
      return `weight ${o.weight} by ${o.by}`;
    case 'drain':
      return `draining (${o.deadlineAt > now ? `${roughDuration(o.deadlineAt - now)} left` : 'deadline passed'})`;
  }
}

function virtualTitle(v: VirtualStatus): string {
  const flags: string[] = [v.scheduler];
  if (!v.quorumUp) flags.push('QUORUM DOWN');
  if (v.fallbackActive) flags.push('FALLBACK ACTIVE');
  const live = v.reals.filter((r) => r.health === 'up').length;
  flags.push(`${live}/${v.reals.length} up`);
  if (v.runtime) flags.push(`runtime-${v.runtime.kind} by ${v.runtime.by} (directorctl -C drops it)`);
  return `${v.id}  ${flags.join(', ')}`;
}

/** `directorctl status`. `now` is wall-clock ms. */
export function formatStatus(status: DirectorStatus, now: number): string {
  const out: string[] = [];
  const head = [`directord up ${roughDuration(now - status.startedAt)}`];
  if (status.phase) head.push(status.phase);
  head.push(`role ${status.role ?? 'n/a (no VRRP)'}`);
  head.push(`reloads ${status.reloads.ok} ok/${status.reloads.failed} failed`);
  out.push(head.join(', '));
  if (status.configFiles.length > 0) out.push(`config ${status.configFiles.join(', ')}`);
  if (status.reloads.lastError) out.push(`last reload error: ${status.reloads.lastError}`);
  if (status.vrrp.length > 0) {
    out.push('', 'VRRP');
    out.push(
      ...table(
        [
          ['INSTANCE', 'STATE', 'VRID', 'IFACE', 'PRIO', 'MASTER', 'TRANSITIONS'],
          ...status.vrrp.map((i) => [
            i.name,
            i.state,
            String(i.vrid),
            i.interface,
            i.effectivePriority === i.basePriority ? String(i.basePriority) : `${i.effectivePriority} (base ${i.basePriority})`,
            i.masterAddress ?? '-',
            String(i.transitions),
          ]),
        ],
        '  ',
      ),
    );
  }
  const edits = status.runtimeEdits;
  if (edits) {
    for (const d of edits.deletedServices) out.push(`runtime edit: ${d.id} deleted by ${d.by} (directorctl -C restores it)`);
    if (edits.timeouts) out.push(`runtime edit: timeouts tcp ${edits.timeouts.tcpMs / 1000} tcpfin ${edits.timeouts.tcpFinMs / 1000} udp ${edits.timeouts.udpMs / 1000} set by ${edits.timeouts.by}`);
  }
  out.push('', status.virtuals.length === 0 ? 'No virtual services.' : 'Virtual services');
  for (const v of status.virtuals) {
    out.push(`  ${virtualTitle(v)}`);
    for (const e of v.engineErrors ?? []) out.push(`    engine error: ${e}`);
    if (v.reals.length === 0) {
      out.push('    (no real servers)');
      continue;
    }
    out.push(
      ...table(
        [
          ['REAL', 'FWD', 'HEALTH', 'WEIGHT', 'OVERRIDE', 'LAST CHECK'],
          ...v.reals.map((r) => [
            r.key,
            FORWARD_METHOD_IPVS_NAME[r.forward],
            r.health,
            r.engineWeight === undefined ? `-/${r.configuredWeight}` : `${r.engineWeight}/${r.configuredWeight}`,
            overrideText(r, now),
            r.lastCheck ? `${r.lastCheck.ok ? 'ok' : 'FAILED'}: ${r.lastCheck.detail} (${ago(r.lastCheck.at, now)})` : '-',
          ]),
        ],
        '    ',
      ),
    );
  }
  return `${out.join('\n')}\n`;
}

/** `directorctl check`. */
export function formatCheckResults(results: readonly CheckNowResult[]): string {
  if (results.length === 0) return 'no matching real server\n';
  const rows = table([
    ['VIRTUAL', 'REAL', 'RESULT', 'TIME', 'DETAIL'],
    ...results.map((r) => [r.virtualId, r.realKey, r.result.ok ? 'ok' : 'FAILED', `${Math.round(r.result.durationMs)}ms`, r.result.detail]),
  ]);
  return `${rows.join('\n')}\n`;
}

/** One progress line of `directorctl drain`. */
export function formatDrainProgress(p: DrainProgress): string {
  const total = p.activeConns + p.inactiveConns;
  return `draining ${p.realKey} in ${p.virtualId}: ${total} connection${total === 1 ? '' : 's'} (${p.activeConns} active, ${p.inactiveConns} inactive, ${p.persistentConns} persistent), ${roughDuration(p.remainingMs)} to deadline`;
}

/** The final line of `directorctl drain`. */
export function formatDrainResult(r: DrainResult): string {
  const which = r.affected.map((a) => `${a.realKey} in ${a.virtualId}`).join(', ') || 'no real';
  switch (r.outcome) {
    case 'drained':
      return `drained ${which} after ${formatDurationMs(r.elapsedMs)}\n`;
    case 'deadline':
      return `deadline passed for ${which} after ${formatDurationMs(r.elapsedMs)} with ${r.remainingConns} connection${r.remainingConns === 1 ? '' : 's'} left\n`;
    case 'cancelled':
      return `drain of ${which} cancelled after ${formatDurationMs(r.elapsedMs)} (${r.remainingConns} connections left)\n`;
  }
}

/**
 * `directorctl tcpvsadm --list`: L7 services in the spirit of KTCPVS's tcpvsadm (seed-features 7).
 * The seed records tcpvsadm's commands but not its listing, so the layout borrows ipvsadm's:
 * a line per virtual, its real servers, then its content rules in match order.
 */
export function formatTcpvsList(stats: EngineStats, rules: readonly L7ServiceRules[]): string {
  const byId = new Map(rules.map((r) => [r.virtualId, r.rules]));
  const out = ['Ident                          Scheduler', '  -> RemoteAddress:Port           Weight ActiveConn InActConn', '  -> Rule Pattern                 Server'];
  for (const service of stats.services) {
    const serviceRules = byId.get(service.key) ?? [];
    if (service.protocol !== 'tcp' || serviceRules.length === 0) continue;
    out.push(`${service.key.padEnd(30)} ${service.scheduler}`);
    for (const real of service.reals) {
      out.push(`  -> ${real.key.padEnd(28)} ${String(real.weight).padEnd(6)} ${String(real.activeConns).padEnd(10)} ${real.inactiveConns}`);
    }
    for (const rule of serviceRules) out.push(`  -> rule ${rule.pattern.padEnd(23)} ${rule.reals.join(',')}`);
  }
  return `${out.map((l) => l.trimEnd()).join('\n')}\n`;
}
