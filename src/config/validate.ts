/**
 * Cross-field validation shared by both formats, then deep-freeze.
 *
 * Readers produce a ClusterConfig with every default filled; this pass checks what only makes sense
 * across fields (families of reals and fallbacks, uniqueness of ids and VRIDs, references between
 * VRRP instances, sync groups and scripts, L7 rules and reals) and collects every problem.
 */
import type { SourceLocation } from '../core/errors.js';
import type { ClusterConfig, VirtualServiceConfig, VrrpInstanceConfig } from './model.js';
import type { ProblemSink } from './problems.js';

/** Checks a config; problems go to the sink. */
export function validateConfig(config: ClusterConfig, sink: ProblemSink, fallbackLocation: SourceLocation): void {
  const seenVirtual = new Map<string, SourceLocation>();
  for (const v of config.virtualServices) {
    const first = seenVirtual.get(v.id);
    if (first) {
      sink.error('DIR_ERR_CONFIG_DUPLICATE_VIRTUAL', v.location, { id: v.id, first: `${first.file}:${first.line}` });
    } else seenVirtual.set(v.id, v.location);
    validateVirtual(v, sink);
  }
  validateVrrp(config, sink);
  const scheduleNames = new Map<string, SourceLocation>();
  for (const s of config.daemon.schedules) {
    const first = scheduleNames.get(s.name);
    if (first) sink.error('DIR_ERR_CONFIG_DUPLICATE_NAME', s.location, { what: 'schedule', name: s.name, first: `${first.file}:${first.line}` });
    scheduleNames.set(s.name, s.location);
    const fields = s.cron.trim().split(/\s+/);
    if (fields.length < 5 || fields.length > 6 || !fields.every((f) => /^[\d*/,\-A-Za-z?LW#]+$/.test(f))) {
      sink.error('DIR_ERR_CONFIG_INVALID_VALUE', s.location, { directive: 'cron', reason: `"${s.cron}" is not a cron expression of 5 or 6 fields` },
        'minute hour day-of-month month day-of-week, e.g. "0 3 * * 0"');
    }
    if ((s.action === 'drain' || s.action === 'enable' || s.action === 'disable') && !s.target) {
      sink.error('DIR_ERR_CONFIG_MISSING_KEY', s.location, { section: `schedule "${s.name}" (action ${s.action})`, key: 'target' });
    }
  }
  if (config.daemon.drainDeadlineMs < 0) {
    sink.error('DIR_ERR_CONFIG_OUT_OF_RANGE', fallbackLocation, { field: 'drain_deadline', value: config.daemon.drainDeadlineMs, min: 0, max: 'any' });
  }
}

function validateVirtual(v: VirtualServiceConfig, sink: ProblemSink): void {
  const keys = new Set<string>();
  for (const r of v.reals) {
    if (r.address.family !== v.family) {
      sink.error('DIR_ERR_CONFIG_WRONG_FAMILY', r.location, {
        reason: `real server ${r.key} is IPv${r.address.family} but virtual ${v.id} is IPv${v.family}`,
      });
    }
    if (keys.has(r.key)) sink.error('DIR_ERR_CONFIG_DUPLICATE_NAME', r.location, { what: 'real server', name: r.key, first: v.id });
    keys.add(r.key);
    range(sink, r.location, 'weight', r.weight, 0, 65535);
    range(sink, r.location, 'port', r.port, 0, 65535);
    range(sink, r.location, 'upper threshold', r.upperThreshold, 0, 65535);
    range(sink, r.location, 'lower threshold', r.lowerThreshold, 0, 65535);
    if (r.upperThreshold > 0 && r.lowerThreshold > r.upperThreshold) {
      sink.error('DIR_ERR_CONFIG_CONFLICT', r.location, { reason: `lower threshold ${r.lowerThreshold} is above upper threshold ${r.upperThreshold}` });
    }
  }
  if (v.fallback) {
    if (v.fallback.address.family !== v.family) {
      sink.error('DIR_ERR_CONFIG_WRONG_FAMILY', v.fallback.location, {
        reason: `fallback ${v.fallback.address.text} is IPv${v.fallback.address.family} but virtual ${v.id} is IPv${v.family}`,
      });
    }
    range(sink, v.fallback.location, 'fallback weight', v.fallback.weight, 0, 65535);
  }
  if (v.persistence) {
    range(sink, v.location, 'persistence netmask prefix', v.persistence.netmaskPrefixLength, v.family === 4 ? 0 : 1, v.family === 4 ? 32 : 128);
  }
  const c = v.check;
  range(sink, v.location, 'failure count', c.failureCount, 1, 1_000_000);
  range(sink, v.location, 'rise count', c.riseCount, 1, 1_000_000);
  range(sink, v.location, 'check count', c.checkCount, 1, 1_000_000);
  if (!(c.intervalMs > 0)) range(sink, v.location, 'check interval (ms)', c.intervalMs, 1, 'any');
  if (!(c.timeoutMs > 0)) range(sink, v.location, 'check timeout (ms)', c.timeoutMs, 1, 'any');
  if (c.checkPort !== undefined) range(sink, v.location, 'check port', c.checkPort, 1, 65535);
  if ((c.type === 'external' || c.type === 'external-perl') && c.command.length === 0) {
    sink.error('DIR_ERR_CONFIG_MISSING_KEY', v.location, { section: `virtual ${v.id} (check type ${c.type})`, key: 'command' });
  }
  if (c.type === 'ssh' && !c.ssh) sink.error('DIR_ERR_CONFIG_MISSING_KEY', v.location, { section: `virtual ${v.id} (check type ssh)`, key: 'ssh' });
  if (c.type === 'agent' && c.agentPort === undefined) {
    sink.error('DIR_ERR_CONFIG_MISSING_KEY', v.location, { section: `virtual ${v.id} (check type agent)`, key: 'agent_port' });
  }
  if (c.dynamic === true && c.type !== 'external' && c.type !== 'external-perl') {
    // keepalived-spec 4.5: misc_dynamic belongs to MISC_CHECK; other checks have no exit status.
    sink.warn('DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE', v.location, {
      reason: `virtual ${v.id}: check dynamic = true only applies to external checks (type is ${c.type})`,
      advice: 'remove dynamic, or use type = "external" with a command whose exit status 2..255 sets weight status - 2',
    });
  }
  if (c.caFile !== undefined && !(TLS_SERVICES.includes(c.service) && (c.type === 'negotiate' || c.type === 'combined'))) {
    sink.warn('DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE', v.location, {
      reason: `virtual ${v.id}: check ca_file is only used by TLS negotiate checks (${TLS_SERVICES.join(', ')}); this check is ${c.type}/${c.service}`,
      advice: 'remove ca_file, or set type = "negotiate" with a TLS service',
    });
  }
  if (c.caFile !== undefined && !c.tlsVerify) {
    sink.warn('DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE', v.location, {
      reason: `virtual ${v.id}: check ca_file is set but tls_verify = false, so certificates are not verified at all`,
      advice: 'set tls_verify = true (the default) to verify against ca_file',
    });
  }
  if (v.proxyProtocol && v.protocol !== 'tcp') {
    sink.error('DIR_ERR_CONFIG_CONFLICT', v.location, { reason: `proxy_protocol needs a tcp service (${v.id} is ${v.protocol})` });
  }
  for (const rule of v.l7Rules) {
    if (v.protocol !== 'tcp') sink.error('DIR_ERR_CONFIG_CONFLICT', rule.location, { reason: `L7 rules need a tcp service (${v.id} is ${v.protocol})` });
    try {
      new RegExp(rule.pattern);
    } catch (e) {
      sink.error('DIR_ERR_CONFIG_INVALID_VALUE', rule.location, { directive: 'pattern', reason: `not a valid regular expression: ${(e as Error).message}` });
    }
    for (const key of rule.reals) {
      if (!keys.has(key)) sink.error('DIR_ERR_CONFIG_UNKNOWN_REFERENCE', rule.location, { what: `real server in L7 rule of ${v.id}`, name: key });
    }
  }
  if (v.quorum) {
    range(sink, v.location, 'quorum', v.quorum.quorum, 0, 'any');
    range(sink, v.location, 'hysteresis', v.quorum.hysteresis, 0, v.quorum.quorum);
  }
  if (v.slowStartMs < 0) range(sink, v.location, 'slow_start (ms)', v.slowStartMs, 0, 'any');
}

/** Services whose negotiate check speaks TLS from the first byte, and so can use check.caFile. */
const TLS_SERVICES: readonly string[] = ['https', 'ldaps', 'imaps', 'pops'];

function validateVrrp(config: ClusterConfig, sink: ProblemSink): void {
  const { instances, syncGroups, scripts } = config.vrrp;
  const names = new Map<string, VrrpInstanceConfig>();
  const vrids = new Map<string, VrrpInstanceConfig>();
  const scriptNames = new Map<string, SourceLocation>();
  for (const s of scripts) {
    const first = scriptNames.get(s.name);
    if (first) sink.error('DIR_ERR_CONFIG_DUPLICATE_NAME', s.location, { what: 'vrrp script', name: s.name, first: `${first.file}:${first.line}` });
    scriptNames.set(s.name, s.location);
    range(sink, s.location, 'script weight', s.weight, -253, 253);
    range(sink, s.location, 'rise', s.rise, 1, 1_000_000);
    range(sink, s.location, 'fall', s.fall, 1, 1_000_000);
    if (s.command.length === 0) sink.error('DIR_ERR_CONFIG_MISSING_KEY', s.location, { section: `vrrp script "${s.name}"`, key: 'script' });
  }
  for (const inst of instances) {
    const first = names.get(inst.name);
    if (first) {
      sink.error('DIR_ERR_CONFIG_DUPLICATE_NAME', inst.location, { what: 'vrrp instance', name: inst.name, first: `${first.location.file}:${first.location.line}` });
    }
    names.set(inst.name, inst);
    range(sink, inst.location, 'virtual_router_id', inst.vrid, 1, 255);
    range(sink, inst.location, 'priority', inst.priority, 1, 255);
    const key = `${inst.interface}/${inst.family}/${inst.vrid}`;
    const other = vrids.get(key);
    // keepalived-spec 1.9: duplicates are tolerated in unicast mode when the peer sets differ.
    const unicastDistinct =
      other !== undefined && inst.unicastPeers.length > 0 && other.unicastPeers.length > 0 &&
      !inst.unicastPeers.some((p) => other.unicastPeers.some((q) => q.text === p.text));
    if (other && !unicastDistinct) {
      sink.error('DIR_ERR_CONFIG_DUPLICATE_VRID', inst.location, {
        vrid: inst.vrid,
        interface: inst.interface,
        family: inst.family,
        first: other.name,
        second: inst.name,
      });
    } else vrids.set(key, inst);
    if (inst.version === 2 && inst.family === 6) {
      sink.error('DIR_ERR_CONFIG_CONFLICT', inst.location, { reason: `vrrp instance ${inst.name}: VRRPv2 is IPv4 only (use version 3 for IPv6)` });
    }
    if (inst.version === 2) {
      if (inst.advertIntervalMs % 1000 !== 0 || inst.advertIntervalMs < 1000 || inst.advertIntervalMs > 255_000) {
        sink.error('DIR_ERR_CONFIG_INVALID_VALUE', inst.location, { directive: 'advert_int', reason: `VRRPv2 needs whole seconds 1..255 (got ${inst.advertIntervalMs / 1000} s)` });
      }
    } else if (inst.advertIntervalMs < 10 || inst.advertIntervalMs > 40_950 || inst.advertIntervalMs % 10 !== 0) {
      sink.error('DIR_ERR_CONFIG_INVALID_VALUE', inst.location, { directive: 'advert_int', reason: `VRRPv3 needs centiseconds 0.01..40.95 s (got ${inst.advertIntervalMs / 1000} s)` });
    }
    if (inst.authPass !== undefined) {
      if (inst.version !== 2) sink.error('DIR_ERR_CONFIG_CONFLICT', inst.location, { reason: `vrrp instance ${inst.name}: authentication exists only in VRRPv2` });
      if (Buffer.byteLength(inst.authPass) > 8) {
        sink.warn('DIR_ERR_CONFIG_LINT_SUSPICIOUS', inst.location, {
          reason: `vrrp instance ${inst.name}: auth_pass is longer than 8 bytes; only the first 8 are sent (as keepalived does)`,
          advice: 'use at most 8 characters',
        });
      }
    }
    if (inst.virtualAddresses.length === 0) {
      sink.error('DIR_ERR_CONFIG_MISSING_KEY', inst.location, { section: `vrrp instance "${inst.name}"`, key: 'virtual_ipaddress' });
    }
    for (const a of inst.virtualAddresses) {
      if (a.address.family !== inst.family) {
        sink.error('DIR_ERR_CONFIG_WRONG_FAMILY', inst.location, { reason: `vrrp instance ${inst.name}: VIP ${a.address.text} is not IPv${inst.family}` });
      }
      if (a.label !== undefined && (a.address.family === 6 || a.label.length > 15)) {
        sink.error('DIR_ERR_CONFIG_INVALID_VALUE', inst.location, { directive: 'label', reason: `label "${a.label}" needs an IPv4 VIP and at most 15 characters` });
      }
    }
    for (const p of inst.unicastPeers) {
      if (p.family !== inst.family) sink.error('DIR_ERR_CONFIG_WRONG_FAMILY', inst.location, { reason: `vrrp instance ${inst.name}: unicast peer ${p.text} is not IPv${inst.family}` });
    }
    if (inst.unicastSource && inst.unicastSource.family !== inst.family) {
      sink.error('DIR_ERR_CONFIG_WRONG_FAMILY', inst.location, { reason: `vrrp instance ${inst.name}: unicast_src_ip ${inst.unicastSource.text} is not IPv${inst.family}` });
    }
    if (!inst.preempt && inst.initialState === 'MASTER') {
      sink.warn('DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE', inst.location, {
        reason: `vrrp instance ${inst.name}: nopreempt will not work with initial state MASTER`,
        advice: 'set state BACKUP on both directors when using nopreempt (keepalived clears nopreempt here)',
      });
    }
    if (!inst.preempt && inst.preemptDelayMs > 0) {
      sink.error('DIR_ERR_CONFIG_CONFLICT', inst.location, { reason: `vrrp instance ${inst.name}: preempt_delay cannot be combined with nopreempt` });
    }
    range(sink, inst.location, 'preempt_delay (ms)', inst.preemptDelayMs, 0, 1_000_000);
    const weighted = inst.trackInterfaces.some((t) => t.weight !== 0) || inst.trackFiles.some((t) => t.weight !== 0) ||
      inst.trackScripts.some((t) => (t.weight ?? scripts.find((s) => s.name === t.name)?.weight ?? 0) !== 0);
    if (inst.priority === 255 && weighted) {
      sink.error('DIR_ERR_CONFIG_CONFLICT', inst.location, { reason: `vrrp instance ${inst.name}: priority 255 (address owner) cannot have weighted trackers` });
    }
    for (const t of inst.trackInterfaces) range(sink, inst.location, `track_interface ${t.name} weight`, t.weight, -253, 253);
    for (const t of inst.trackFiles) range(sink, inst.location, `track_file ${t.path} weight`, t.weight, -254, 254);
    for (const t of inst.trackScripts) {
      if (!scriptNames.has(t.name)) sink.error('DIR_ERR_CONFIG_UNKNOWN_REFERENCE', inst.location, { what: 'vrrp script', name: t.name });
      if (t.weight !== undefined) range(sink, inst.location, `track_script ${t.name} weight`, t.weight, -253, 253);
    }
  }
  const member = new Map<string, string>();
  const groupNames = new Set<string>();
  for (const g of syncGroups) {
    if (groupNames.has(g.name)) sink.error('DIR_ERR_CONFIG_DUPLICATE_NAME', g.location, { what: 'sync group', name: g.name, first: g.name });
    groupNames.add(g.name);
    if (g.instances.length === 0) sink.error('DIR_ERR_CONFIG_MISSING_KEY', g.location, { section: `sync group "${g.name}"`, key: 'group' });
    for (const n of g.instances) {
      if (!names.has(n)) sink.error('DIR_ERR_CONFIG_UNKNOWN_REFERENCE', g.location, { what: 'vrrp instance', name: n });
      const prev = member.get(n);
      if (prev !== undefined) {
        sink.error('DIR_ERR_CONFIG_CONFLICT', g.location, { reason: `vrrp instance ${n} is in sync groups ${prev} and ${g.name}` });
      }
      member.set(n, g.name);
    }
  }
}

function range(sink: ProblemSink, loc: SourceLocation, field: string, value: number, min: number, max: number | 'any'): void {
  if (!Number.isFinite(value) || value < min || (max !== 'any' && value > max)) {
    sink.error('DIR_ERR_CONFIG_OUT_OF_RANGE', loc, { field, value, min, max });
  }
}

/** Freezes an object graph in place (configs are shared between modules and must not change). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}
