/**
 * `directorctl configtest [-f FILE]` / `directord -t FILE`: load a config, print every problem
 * (compiler style, so editors can jump to them) and a one-screen summary of what would run.
 *
 * Exit status: 0 when the config loads (warnings allowed), EXIT.NO_INPUT for a missing file,
 * EXIT.CONFIG_SYNTAX when any error is a syntax error, EXIT.CONFIG_SEMANTIC otherwise.
 */
import { formatDurationMs } from '../core/duration.js';
import { formatEndpoint } from '../core/ip.js';
import { EXIT } from '../core/exit-status.js';
import { FORWARD_METHOD_IPVS_NAME } from '../core/types.js';
import { loadConfigFile } from './load.js';
import type { ConfigLoadOptions } from './load.js';
import type { ClusterConfig, VirtualServiceConfig } from './model.js';
import { exitStatusFor, sortProblems } from './problems.js';
import type { ConfigProblem } from './problems.js';

export interface ConfigTestOptions extends ConfigLoadOptions {
  readonly json: boolean;
}

const MAX_VIRTUALS_SHOWN = 20;
const MAX_REALS_SHOWN = 8;

export async function runConfigTest(path: string, options: ConfigTestOptions): Promise<{ exitCode: number; output: string }> {
  const { json, ...loadOptions } = options;
  const result = await loadConfigFile(path, loadOptions);
  const errors: readonly ConfigProblem[] = result.ok ? [] : result.errors;
  const exitCode = result.ok ? EXIT.OK : exitStatusFor(errors);
  if (json) {
    const out = {
      file: path,
      ok: result.ok,
      exitCode,
      errors: errors.map((e) => e.toJSON()),
      warnings: result.warnings.map((w) => w.toJSON()),
      ...(result.ok ? { summary: summaryJson(result.config) } : {}),
    };
    return { exitCode, output: `${JSON.stringify(out, null, 2)}\n` };
  }
  const lines: string[] = [];
  for (const p of sortProblems([...errors, ...result.warnings])) {
    lines.push(p.format());
  }
  if (!result.ok) {
    lines.push(`${path}: ${errors.length} error${errors.length === 1 ? '' : 's'}, ${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'}; configuration NOT valid`);
    return { exitCode, output: `${lines.join('\n')}\n` };
  }
  if (lines.length > 0) lines.push('');
  lines.push(...summaryText(result.config));
  lines.push(`${path}: configuration OK${result.warnings.length > 0 ? ` (${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'})` : ''}`);
  return { exitCode, output: `${lines.join('\n')}\n` };
}

function virtualName(v: VirtualServiceConfig): string {
  if (v.protocol === 'fwm') return `FWM  ${v.fwmark ?? 0}${v.family === 6 ? ' IPv6' : ''}`;
  return `${v.protocol.toUpperCase()}  ${formatEndpoint({ address: v.address as NonNullable<typeof v.address>, port: v.port })}`;
}

function checkText(v: VirtualServiceConfig): string {
  const c = v.check;
  let type: string = c.type;
  if (c.type === 'negotiate') type = `negotiate/${c.service}`;
  if (c.type === 'combined') type = `negotiate/${c.service} every ${c.negotiateEvery ?? 0}, connect otherwise`;
  if (c.type === 'external' || c.type === 'external-perl') type = `${c.type} ${c.command.join(' ')}`;
  const port = c.checkPort !== undefined ? ` port ${c.checkPort}` : '';
  return `check ${type}${port} every ${formatDurationMs(c.intervalMs)}, timeout ${formatDurationMs(c.timeoutMs)}/${formatDurationMs(c.negotiateTimeoutMs)}, down after ${c.failureCount}`;
}

function summaryText(config: ClusterConfig): string[] {
  const d = config.daemon;
  const out: string[] = [];
  const log = d.log.kind === 'stdout' ? 'stdout' : d.log.kind === 'file' ? d.log.path : `syslog ${d.log.facility}`;
  out.push(`files: ${config.files.join(', ')}`);
  out.push(`daemon: engine ${d.engine}, log ${log}, autoreload ${d.autoreload ? 'yes' : 'no'}, control socket ${d.controlSocket}`);
  const vs = config.virtualServices;
  const realCount = vs.reduce((n, v) => n + v.reals.length, 0);
  out.push(`virtual services: ${vs.length} (${realCount} real servers)`);
  for (const v of vs.slice(0, MAX_VIRTUALS_SHOWN)) {
    const persist = v.persistence ? ` persistent ${formatDurationMs(v.persistence.timeoutMs)}` : '';
    out.push(`  ${virtualName(v)} ${v.scheduler}${persist}${v.quiescent ? ' quiescent' : ''}`);
    out.push(`    ${checkText(v)}`);
    for (const r of v.reals.slice(0, MAX_REALS_SHOWN)) {
      out.push(`    -> ${r.key.padEnd(24)} ${FORWARD_METHOD_IPVS_NAME[r.forward].padEnd(7)} weight ${r.weight}`);
    }
    if (v.reals.length > MAX_REALS_SHOWN) out.push(`    ... and ${v.reals.length - MAX_REALS_SHOWN} more real servers`);
    if (v.fallback) {
      out.push(`    fallback ${formatEndpoint({ address: v.fallback.address, port: v.fallback.port })} ${FORWARD_METHOD_IPVS_NAME[v.fallback.forward]}`);
    }
  }
  if (vs.length > MAX_VIRTUALS_SHOWN) out.push(`  ... and ${vs.length - MAX_VIRTUALS_SHOWN} more virtual services`);
  const inst = config.vrrp.instances;
  out.push(`vrrp instances: ${inst.length}`);
  for (const i of inst) {
    const vips = i.virtualAddresses.map((a) => `${a.address.text}/${a.prefixLength}`).join(' ');
    const mode = i.unicastPeers.length > 0 ? `unicast to ${i.unicastPeers.map((p) => p.text).join(',')}` : 'multicast';
    out.push(`  ${i.name} on ${i.interface}: vrid ${i.vrid}, priority ${i.priority}, ${i.initialState}, VRRPv${i.version}, advert ${formatDurationMs(i.advertIntervalMs)}, ${mode}, VIPs ${vips}`);
  }
  for (const g of config.vrrp.syncGroups) out.push(`  sync group ${g.name}: ${g.instances.join(', ')}`);
  return out;
}

function summaryJson(config: ClusterConfig): unknown {
  return {
    files: config.files,
    engine: config.daemon.engine,
    virtuals: config.virtualServices.map((v) => ({
      id: v.id,
      scheduler: v.scheduler,
      check: { type: v.check.type, service: v.check.service, intervalMs: v.check.intervalMs },
      reals: v.reals.map((r) => ({ key: r.key, forward: r.forward, weight: r.weight })),
      ...(v.fallback ? { fallback: formatEndpoint({ address: v.fallback.address, port: v.fallback.port }) } : {}),
    })),
    vrrp: config.vrrp.instances.map((i) => ({
      name: i.name,
      interface: i.interface,
      vrid: i.vrid,
      priority: i.priority,
      state: i.initialState,
      vips: i.virtualAddresses.map((a) => `${a.address.text}/${a.prefixLength}`),
    })),
  };
}
