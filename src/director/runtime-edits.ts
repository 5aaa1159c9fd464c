/**
 * Runtime edits: the ipvsadm-style changes an operator makes with `directorctl -A/-E/-D/-a/-e/-d`
 * (and `-R`, `--set`), kept as an overlay on top of the config. Pure functions: the Director
 * folds commands into an overlay (validating each against the effective table), then derives the
 * effective ClusterConfig (config + overlay) and installs it like a reload, in one engine apply.
 *
 * The rules (why they differ from ipvsadm + ldirectord):
 * - ldirectord silently overwrites manual `ipvsadm` edits of its virtuals on its next check cycle
 *   (and a manual real in a configured virtual is left unmanaged, unchecked). Operators learned
 *   to distrust that. Here an edit is an explicit, visible override: it survives health
 *   transitions (a runtime real is health-checked like a configured one: its weight is what the
 *   operator set, its check decides whether it is live), is shown by `directorctl status`
 *   (`runtime` marks), survives `directorctl reload` and a restart (state file), and is dropped
 *   only by `directorctl -C`. A reload must not silently undo an incident fix made an hour
 *   earlier; a restart must not either, and `-C` is the one explicit "back to the config".
 * - When a reload makes an edit moot (the config now defines the runtime-added service or real,
 *   or no longer defines the configured thing an edit refers to), the config wins and that edit
 *   is dropped with a log line (`pruneOverlay`).
 * - `-C` drops every runtime edit and operator override but keeps the configured services:
 *   ipvsadm -C empties the kernel table, but in directord the config is the source of truth and
 *   an empty table would only be refilled from it (ldirectord does the same on its next cycle);
 *   emptying it would be an outage with no benefit. `ipvsadm -S >f; -C; -R <f` still round-trips:
 *   in a batch, `-A`/`-a` of a configured entry that `-C` left in place is accepted as a no-op
 *   when it matches (see `foldCommand`, `restoring`).
 * - Configured reals: `-e -w N` pins a weight override and `-d` disables (same overrides as
 *   `directorctl weight/disable`), `-a` of such a disabled real enables it again.
 * - fwmark services are refused: the embedded engine cannot see firewall marks
 *   (DIR_ERR_ENGINE_UNSUPPORTED says the same at apply time).
 */
import type { CheckConfig, ClusterConfig, ConnectionTimeouts, RealServerConfig, VirtualServiceConfig } from '../config/model.js';
import { DirectorError } from '../core/errors.js';
import { formatEndpoint, parseIp } from '../core/ip.js';
import type { ForwardMethod, SchedulerFlag, SchedulerName } from '../core/types.js';
import { pairKey } from './plan.js';
import { LDIRECTORD_DEFAULT_CHECKINTERVAL_S, LDIRECTORD_DEFAULT_CHECKTIMEOUT_S, LDIRECTORD_DEFAULT_NEGOTIATETIMEOUT_S } from '../config/defaults.js';

/** A service reference as ipvsadm names it: -t/-u addr:port or -f mark. */
export type EditServiceRef =
  | { readonly protocol: 'tcp' | 'udp'; readonly address: string; readonly port: number }
  | { readonly protocol: 'fwm'; readonly fwmark: number; readonly family: 4 | 6 };

/** Service options of -A / -E (undefined = ipvsadm's default for -A, unchanged for -E). */
export interface EditServiceOptions {
  readonly scheduler?: SchedulerName;
  readonly schedulerFlags?: readonly SchedulerFlag[];
  /** -p [timeout] [-M netmask]: persistence timeout in ms (ipvsadm default 300 s); null turns it off. */
  readonly persistence?: { readonly timeoutMs: number; readonly netmaskPrefixLength?: number } | null;
  /** -o / --ops: one-packet scheduling (udp). */
  readonly ops?: boolean;
}

/** Real options of -a / -e. */
export interface EditRealOptions {
  /** -g / -m / -i (default gate, as ipvsadm). */
  readonly forward?: ForwardMethod;
  /** -w (default 1). */
  readonly weight?: number;
  /** -x upper threshold (0 = none). */
  readonly upperThreshold?: number;
  /** -y lower threshold. */
  readonly lowerThreshold?: number;
}

/** A real server as -r addr:port names it. */
export interface EditRealRef {
  readonly address: string;
  readonly port: number;
}

/**
 * One ipvsadm-style edit. The control protocol carries exactly this type (control/api.ts
 * re-exports it as IpvsCommand).
 */
export type RuntimeEditCommand =
  | { readonly op: 'add-service'; readonly service: EditServiceRef; readonly options: EditServiceOptions }
  | { readonly op: 'edit-service'; readonly service: EditServiceRef; readonly options: EditServiceOptions }
  | { readonly op: 'delete-service'; readonly service: EditServiceRef }
  | { readonly op: 'add-real'; readonly service: EditServiceRef; readonly real: EditRealRef; readonly options: EditRealOptions }
  | { readonly op: 'edit-real'; readonly service: EditServiceRef; readonly real: EditRealRef; readonly options: EditRealOptions }
  | { readonly op: 'delete-real'; readonly service: EditServiceRef; readonly real: EditRealRef }
  /** -C: drop every runtime override (the config's services stay; ipvsadm would clear all). */
  | { readonly op: 'clear' }
  /** -Z [service]: zero counters. */
  | { readonly op: 'zero'; readonly service?: EditServiceRef }
  /** --set tcp tcpfin udp (seconds on the command line, ms here; 0 = unchanged). */
  | { readonly op: 'set-timeouts'; readonly timeouts: ConnectionTimeouts };

/** Who made an edit and when (wall-clock ms): shown in status, kept in the state file. */
export interface EditStamp {
  readonly by: string;
  readonly since: number;
}

/** A real added at run time (to a runtime or a configured service). */
export interface RuntimeReal extends EditStamp {
  readonly address: string;
  readonly port: number;
  readonly forward: ForwardMethod;
  readonly weight: number;
  readonly upperThreshold: number;
  readonly lowerThreshold: number;
}

/** A service added at run time. */
export interface RuntimeService extends EditStamp {
  readonly protocol: 'tcp' | 'udp';
  readonly address: string;
  readonly port: number;
  readonly scheduler: SchedulerName;
  readonly schedulerFlags: readonly SchedulerFlag[];
  readonly persistence?: { readonly timeoutMs: number; readonly netmaskPrefixLength: number };
  readonly ops: boolean;
}

/** Changes to a configured service (-E) or configured real (-e other than -w). */
export interface ServiceEdit extends EditStamp {
  readonly scheduler?: SchedulerName;
  readonly schedulerFlags?: readonly SchedulerFlag[];
  /** null = persistence turned off. */
  readonly persistence?: { readonly timeoutMs: number; readonly netmaskPrefixLength: number } | null;
}
export interface RealEdit extends EditStamp {
  readonly forward?: ForwardMethod;
  readonly upperThreshold?: number;
  readonly lowerThreshold?: number;
}

/** The overlay. Plain JSON (it goes to the state file as is). Keys: virtual id, pair key. */
export interface RuntimeOverlay {
  readonly addedServices: Readonly<Record<string, RuntimeService>>;
  readonly serviceEdits: Readonly<Record<string, ServiceEdit>>;
  readonly deletedServices: Readonly<Record<string, EditStamp>>;
  /** Reals added at run time, keyed by pair key (`<virtual id>/<real key>`). */
  readonly addedReals: Readonly<Record<string, RuntimeReal>>;
  readonly realEdits: Readonly<Record<string, RealEdit>>;
  /** --set: connection timeouts for every service (0 fields never stored: merged at edit time). */
  readonly timeouts?: ConnectionTimeouts & EditStamp;
}

export function emptyOverlay(): RuntimeOverlay {
  return { addedServices: {}, serviceEdits: {}, deletedServices: {}, addedReals: {}, realEdits: {} };
}

export function overlayIsEmpty(o: RuntimeOverlay): boolean {
  return (
    Object.keys(o.addedServices).length + Object.keys(o.serviceEdits).length + Object.keys(o.deletedServices).length + Object.keys(o.addedReals).length + Object.keys(o.realEdits).length === 0 &&
    o.timeouts === undefined
  );
}

/** An operation on a configured real's override that a command turns into. */
export type PairOp = { readonly kind: 'weight'; readonly virtualId: string; readonly realKey: string; readonly weight: number } | { readonly kind: 'disable' | 'enable'; readonly virtualId: string; readonly realKey: string };

/** The config's virtual id for a service reference (`tcp:192.0.2.1:80`, `fwm:1`). */
export function editServiceId(ref: EditServiceRef): string {
  if (ref.protocol === 'fwm') return ref.family === 6 ? `fwm6:${ref.fwmark}` : `fwm:${ref.fwmark}`;
  const host = ref.address.includes(':') ? `[${ref.address}]` : ref.address;
  return `${ref.protocol}:${host}:${ref.port}`;
}

function realKeyOf(r: EditRealRef): string {
  return formatEndpoint({ address: parseIp(r.address), port: r.port });
}

/**
 * The check of a runtime-added service: a TCP connect to the real (ldirectord checktype=connect,
 * default checkinterval 10 s / checktimeout 5 s); UDP has no generic probe, so its reals are
 * taken as up (checktype=on). Reals start up: the operator just said they serve (ipvsadm -a).
 */
export function runtimeServiceCheck(protocol: 'tcp' | 'udp'): CheckConfig {
  return {
    type: protocol === 'tcp' ? 'connect' : 'on',
    service: 'simpletcp',
    request: '/',
    receive: '',
    httpMethod: 'GET',
    login: '',
    password: '',
    database: '',
    secret: '',
    command: [],
    // ldirectord's defaults (ldirectord-spec section 8), as a configured check would get them.
    intervalMs: LDIRECTORD_DEFAULT_CHECKINTERVAL_S * 1000,
    timeoutMs: LDIRECTORD_DEFAULT_CHECKTIMEOUT_S * 1000,
    negotiateTimeoutMs: LDIRECTORD_DEFAULT_NEGOTIATETIMEOUT_S * 1000,
    checkCount: 1,
    failureCount: 1,
    riseCount: 1,
    jitterMs: 0,
    tlsVerify: true,
    initialState: 'up',
  };
}

function runtimeRealConfig(r: RuntimeReal, source: string): RealServerConfig {
  const address = parseIp(r.address);
  return {
    key: formatEndpoint({ address, port: r.port }),
    location: { file: source, line: 0, column: 0 },
    address,
    port: r.port,
    forward: r.forward,
    weight: r.weight,
    upperThreshold: r.upperThreshold,
    lowerThreshold: r.lowerThreshold,
  };
}

/** config ⊕ overlay: the table the director runs. Order: configured services, then runtime ones. */
export function effectiveConfig(base: ClusterConfig, o: RuntimeOverlay): ClusterConfig {
  const source = '(runtime edit)';
  const realsAddedTo = (id: string): RealServerConfig[] =>
    Object.entries(o.addedReals)
      .filter(([k]) => k.startsWith(`${id}/`))
      .map(([, r]) => runtimeRealConfig(r, source));
  const services: VirtualServiceConfig[] = [];
  const template = base.virtualServices[0];
  for (const vs of base.virtualServices) {
    if (o.deletedServices[vs.id]) continue;
    const edit = o.serviceEdits[vs.id];
    const reals = vs.reals.map((r) => {
      const e = o.realEdits[pairKey(vs.id, r.key)];
      if (!e) return r;
      return { ...r, ...(e.forward !== undefined ? { forward: e.forward } : {}), ...(e.upperThreshold !== undefined ? { upperThreshold: e.upperThreshold } : {}), ...(e.lowerThreshold !== undefined ? { lowerThreshold: e.lowerThreshold } : {}) };
    });
    let next: VirtualServiceConfig = { ...vs, reals: [...reals, ...realsAddedTo(vs.id)] };
    if (edit) {
      const { persistence: _old, ...rest } = next;
      void _old;
      const persistence = edit.persistence === undefined ? vs.persistence : (edit.persistence ?? undefined);
      next = { ...rest, ...(edit.scheduler ? { scheduler: edit.scheduler } : {}), ...(edit.schedulerFlags ? { schedulerFlags: edit.schedulerFlags } : {}), ...(persistence ? { persistence } : {}) };
    }
    if (o.timeouts) next = { ...next, timeouts: { tcpMs: o.timeouts.tcpMs, tcpFinMs: o.timeouts.tcpFinMs, udpMs: o.timeouts.udpMs } };
    services.push(next);
  }
  for (const [id, s] of Object.entries(o.addedServices)) {
    const address = parseIp(s.address);
    services.push({
      id,
      location: { file: source, line: 0, column: 0 },
      protocol: s.protocol,
      family: address.family,
      address,
      port: s.port,
      scheduler: s.scheduler,
      schedulerFlags: s.schedulerFlags,
      ...(s.persistence ? { persistence: s.persistence } : {}),
      ops: s.ops,
      reals: realsAddedTo(id),
      check: runtimeServiceCheck(s.protocol),
      // ipvsadm semantics: -e -w 0 quiesces, -d removes (ldirectord quiescent=yes for manual weights).
      quiescent: true,
      cleanStop: true,
      alerts: template?.alerts ?? { emailTo: [], emailFrequencyMs: 0, emailStatuses: [] },
      slowStartMs: 0,
      l7Rules: [],
      timeouts: o.timeouts ? { tcpMs: o.timeouts.tcpMs, tcpFinMs: o.timeouts.tcpFinMs, udpMs: o.timeouts.udpMs } : (template?.timeouts ?? { tcpMs: 900_000, tcpFinMs: 120_000, udpMs: 300_000 }),
      onRealRemoved: 'finish',
    });
  }
  return { ...base, virtualServices: services };
}

/** Drops edits a (reloaded) config made moot; returns the kept overlay and what was dropped. */
export function pruneOverlay(base: ClusterConfig, o: RuntimeOverlay): { overlay: RuntimeOverlay; dropped: string[] } {
  const configured = new Map(base.virtualServices.map((v) => [v.id, v] as const));
  const configuredPairs = new Set(base.virtualServices.flatMap((v) => v.reals.map((r) => pairKey(v.id, r.key))));
  const dropped: string[] = [];
  const keep = <T>(rec: Readonly<Record<string, T>>, ok: (k: string) => boolean, what: string): Record<string, T> => {
    const out: Record<string, T> = {};
    for (const [k, v] of Object.entries(rec)) {
      if (ok(k)) out[k] = v;
      else dropped.push(`${what} ${k}`);
    }
    return out;
  };
  const addedServices = keep(o.addedServices, (id) => !configured.has(id), 'added service (now configured)');
  const serviceEdits = keep(o.serviceEdits, (id) => configured.has(id), 'service edit (no longer configured)');
  const deletedServices = keep(o.deletedServices, (id) => configured.has(id), 'service deletion (no longer configured)');
  const virtualOf = (k: string): string => k.slice(0, k.lastIndexOf('/'));
  const addedReals = keep(o.addedReals, (k) => !configuredPairs.has(k) && (configured.has(virtualOf(k)) || addedServices[virtualOf(k)] !== undefined), 'added real (now configured, or its service is gone)');
  const realEdits = keep(o.realEdits, (k) => configuredPairs.has(k), 'real edit (no longer configured)');
  return { overlay: { addedServices, serviceEdits, deletedServices, addedReals, realEdits, ...(o.timeouts ? { timeouts: o.timeouts } : {}) }, dropped };
}

function checkWeight(w: number | undefined): void {
  if (w !== undefined && (!Number.isInteger(w) || w < 0 || w > 65535)) throw new DirectorError('DIR_ERR_DIRECTOR_BAD_WEIGHT', { weight: String(w) });
}

function samePersistence(a: VirtualServiceConfig['persistence'], b: EditServiceOptions['persistence']): boolean {
  if (!a || !b) return !a && !b;
  return a.timeoutMs === b.timeoutMs && (b.netmaskPrefixLength === undefined || b.netmaskPrefixLength === a.netmaskPrefixLength);
}

function persistenceOf(p: EditServiceOptions['persistence'], family: 4 | 6): RuntimeService['persistence'] {
  if (!p) return undefined;
  return { timeoutMs: p.timeoutMs, netmaskPrefixLength: p.netmaskPrefixLength ?? (family === 4 ? 32 : 128) };
}

/**
 * Applies one command to the overlay, validated against `base` ⊕ overlay (ipvsadm's errors:
 * -A of an existing service, -a of an existing real, edits of missing ones). Returns the new
 * overlay and the override operations on configured reals. `restoring`: inside a -R batch, an
 * -A/-a matching a configured entry is a no-op (see the module comment).
 */
export function foldCommand(
  base: ClusterConfig,
  o: RuntimeOverlay,
  cmd: Exclude<RuntimeEditCommand, { op: 'clear' } | { op: 'zero' }>,
  stamp: EditStamp,
  restoring: boolean,
  configuredRealDisabled: (virtualId: string, realKey: string) => boolean,
): { overlay: RuntimeOverlay; pairOps: PairOp[] } {
  if (cmd.op === 'set-timeouts') {
    const current = o.timeouts ?? base.virtualServices[0]?.timeouts ?? { tcpMs: 900_000, tcpFinMs: 120_000, udpMs: 300_000 };
    // ipvsadm --set: 0 leaves a timeout unchanged.
    const t = cmd.timeouts;
    return { overlay: { ...o, timeouts: { tcpMs: t.tcpMs || current.tcpMs, tcpFinMs: t.tcpFinMs || current.tcpFinMs, udpMs: t.udpMs || current.udpMs, ...stamp } }, pairOps: [] };
  }
  const id = editServiceId(cmd.service);
  if (cmd.service.protocol === 'fwm') {
    throw new DirectorError('DIR_ERR_DIRECTOR_RUNTIME_FWMARK', { service: id });
  }
  const eff = effectiveConfig(base, o);
  const vs = eff.virtualServices.find((v) => v.id === id);
  const configuredVs = base.virtualServices.find((v) => v.id === id);
  const isRuntimeService = o.addedServices[id] !== undefined;
  switch (cmd.op) {
    case 'add-service': {
      const opt = cmd.options;
      if (vs) {
        const matches = (opt.scheduler ?? 'wlc') === vs.scheduler && samePersistence(vs.persistence, opt.persistence ?? null);
        if (restoring && !isRuntimeService && matches) return { overlay: o, pairOps: [] };
        throw new DirectorError('DIR_ERR_CONTROL_SERVICE_EXISTS', { service: id });
      }
      const address = parseIp(cmd.service.address);
      if (configuredVs) {
        // -D then -A of a configured service: it comes back as configured, with these parameters.
        const { [id]: _gone, ...deletedServices } = o.deletedServices;
        void _gone;
        const edit: ServiceEdit = { ...stamp, scheduler: opt.scheduler ?? 'wlc', ...(opt.schedulerFlags ? { schedulerFlags: opt.schedulerFlags } : {}), persistence: persistenceOf(opt.persistence, address.family) ?? null };
        return { overlay: { ...o, deletedServices, serviceEdits: { ...o.serviceEdits, [id]: edit } }, pairOps: [] };
      }
      const svc: RuntimeService = {
        ...stamp,
        protocol: cmd.service.protocol,
        address: address.text,
        port: cmd.service.port,
        // ipvsadm's default scheduler (ipvsadm(8): -s, default wlc).
        scheduler: opt.scheduler ?? 'wlc',
        schedulerFlags: opt.schedulerFlags ?? [],
        ...(opt.persistence ? { persistence: persistenceOf(opt.persistence, address.family) as NonNullable<RuntimeService['persistence']> } : {}),
        ops: opt.ops ?? false,
      };
      return { overlay: { ...o, addedServices: { ...o.addedServices, [id]: svc } }, pairOps: [] };
    }
    case 'edit-service': {
      if (!vs) throw new DirectorError('DIR_ERR_CONTROL_NO_SUCH_SERVICE', { service: id });
      const opt = cmd.options;
      const rt = o.addedServices[id];
      if (rt) {
        const persistence = opt.persistence === undefined ? rt.persistence : persistenceOf(opt.persistence, vs.family);
        const { persistence: _p, ...rest } = rt;
        void _p;
        const next: RuntimeService = { ...rest, ...(opt.scheduler ? { scheduler: opt.scheduler } : {}), ...(opt.schedulerFlags ? { schedulerFlags: opt.schedulerFlags } : {}), ...(opt.ops !== undefined ? { ops: opt.ops } : {}), ...(persistence ? { persistence } : {}) };
        return { overlay: { ...o, addedServices: { ...o.addedServices, [id]: next } }, pairOps: [] };
      }
      const prev = o.serviceEdits[id];
      const edit: ServiceEdit = {
        ...prev,
        ...stamp,
        ...(opt.scheduler ? { scheduler: opt.scheduler } : {}),
        ...(opt.schedulerFlags ? { schedulerFlags: opt.schedulerFlags } : {}),
        ...(opt.persistence !== undefined ? { persistence: persistenceOf(opt.persistence, vs.family) ?? null } : {}),
      };
      return { overlay: { ...o, serviceEdits: { ...o.serviceEdits, [id]: edit } }, pairOps: [] };
    }
    case 'delete-service': {
      if (!vs) throw new DirectorError('DIR_ERR_CONTROL_NO_SUCH_SERVICE', { service: id });
      const addedReals = Object.fromEntries(Object.entries(o.addedReals).filter(([k]) => !k.startsWith(`${id}/`)));
      if (isRuntimeService) {
        const { [id]: _gone, ...addedServices } = o.addedServices;
        void _gone;
        return { overlay: { ...o, addedServices, addedReals }, pairOps: [] };
      }
      const { [id]: _e, ...serviceEdits } = o.serviceEdits;
      void _e;
      return { overlay: { ...o, serviceEdits, addedReals, deletedServices: { ...o.deletedServices, [id]: stamp } }, pairOps: [] };
    }
    case 'add-real':
    case 'edit-real':
    case 'delete-real': {
      if (!vs) throw new DirectorError('DIR_ERR_CONTROL_NO_SUCH_SERVICE', { service: id });
      const realKey = realKeyOf(cmd.real);
      const key = pairKey(id, realKey);
      const real = vs.reals.find((r) => r.key === realKey);
      const runtimeReal = o.addedReals[key];
      if (cmd.op === 'add-real') {
        const opt = cmd.options;
        checkWeight(opt.weight);
        if (real && !runtimeReal) {
          // A configured real: -a brings back one taken out with -d; in a restore a match is a no-op.
          if (configuredRealDisabled(id, realKey)) {
            const ops: PairOp[] = [{ kind: 'enable', virtualId: id, realKey }];
            if (opt.weight !== undefined && opt.weight !== real.weight) ops.push({ kind: 'weight', virtualId: id, realKey, weight: opt.weight });
            return { overlay: o, pairOps: ops };
          }
          if (restoring && (opt.forward ?? 'gate') === real.forward) {
            return { overlay: o, pairOps: opt.weight !== undefined && opt.weight !== real.weight ? [{ kind: 'weight', virtualId: id, realKey, weight: opt.weight }] : [] };
          }
        }
        if (real) throw new DirectorError('DIR_ERR_CONTROL_REAL_EXISTS', { real: realKey, service: id });
        const address = parseIp(cmd.real.address);
        if (address.family !== vs.family) throw new DirectorError('DIR_ERR_DIRECTOR_RUNTIME_FAMILY', { real: realKey, service: id });
        const added: RuntimeReal = {
          ...stamp,
          address: address.text,
          port: cmd.real.port,
          // ipvsadm(8) defaults: -g (gatewaying), -w 1, no thresholds.
          forward: opt.forward ?? 'gate',
          weight: opt.weight ?? 1,
          upperThreshold: opt.upperThreshold ?? 0,
          lowerThreshold: opt.lowerThreshold ?? 0,
        };
        return { overlay: { ...o, addedReals: { ...o.addedReals, [key]: added } }, pairOps: [] };
      }
      if (!real) throw new DirectorError('DIR_ERR_CONTROL_NO_SUCH_REAL', { real: realKey, where: ` in ${id}` });
      if (cmd.op === 'delete-real') {
        if (runtimeReal) {
          const { [key]: _gone, ...addedReals } = o.addedReals;
          void _gone;
          return { overlay: { ...o, addedReals }, pairOps: [] };
        }
        return { overlay: o, pairOps: [{ kind: 'disable', virtualId: id, realKey }] };
      }
      const opt = cmd.options;
      checkWeight(opt.weight);
      if (runtimeReal) {
        const next: RuntimeReal = {
          ...runtimeReal,
          ...stamp,
          ...(opt.forward !== undefined ? { forward: opt.forward } : {}),
          ...(opt.weight !== undefined ? { weight: opt.weight } : {}),
          ...(opt.upperThreshold !== undefined ? { upperThreshold: opt.upperThreshold } : {}),
          ...(opt.lowerThreshold !== undefined ? { lowerThreshold: opt.lowerThreshold } : {}),
        };
        return { overlay: { ...o, addedReals: { ...o.addedReals, [key]: next } }, pairOps: [] };
      }
      const pairOps: PairOp[] = opt.weight !== undefined ? [{ kind: 'weight', virtualId: id, realKey, weight: opt.weight }] : [];
      const changes = (opt.forward !== undefined && opt.forward !== real.forward) || opt.upperThreshold !== undefined || opt.lowerThreshold !== undefined;
      if (!changes) return { overlay: o, pairOps };
      const prev = o.realEdits[key];
      const edit: RealEdit = {
        ...prev,
        ...stamp,
        ...(opt.forward !== undefined ? { forward: opt.forward } : {}),
        ...(opt.upperThreshold !== undefined ? { upperThreshold: opt.upperThreshold } : {}),
        ...(opt.lowerThreshold !== undefined ? { lowerThreshold: opt.lowerThreshold } : {}),
      };
      return { overlay: { ...o, realEdits: { ...o.realEdits, [key]: edit } }, pairOps };
    }
  }
}

/** Reads an overlay back from the state file; anything malformed is dropped (the file is advisory). */
export function decodeOverlay(raw: unknown): RuntimeOverlay | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  const rec = (v: unknown): Record<string, never> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, never>) : {});
  const stamped = (v: unknown): boolean => typeof v === 'object' && v !== null && typeof (v as EditStamp).by === 'string' && typeof (v as EditStamp).since === 'number';
  const filter = <T>(v: unknown, ok: (x: T) => boolean): Record<string, T> => Object.fromEntries(Object.entries(rec(v)).filter(([, x]) => stamped(x) && ok(x as T)));
  const validIp = (s: unknown): boolean => {
    try {
      parseIp(String(s));
      return true;
    } catch {
      return false;
    }
  };
  const t = r['timeouts'] as (ConnectionTimeouts & EditStamp) | undefined;
  return {
    addedServices: filter<RuntimeService>(r['addedServices'], (s) => (s.protocol === 'tcp' || s.protocol === 'udp') && validIp(s.address) && Number.isInteger(s.port) && typeof s.scheduler === 'string'),
    serviceEdits: filter<ServiceEdit>(r['serviceEdits'], () => true),
    deletedServices: filter<EditStamp>(r['deletedServices'], () => true),
    addedReals: filter<RuntimeReal>(r['addedReals'], (x) => validIp(x.address) && Number.isInteger(x.port) && Number.isInteger(x.weight) && typeof x.forward === 'string'),
    realEdits: filter<RealEdit>(r['realEdits'], () => true),
    ...(stamped(t) && t && typeof t.tcpMs === 'number' && typeof t.tcpFinMs === 'number' && typeof t.udpMs === 'number' ? { timeouts: t } : {}),
  };
}
