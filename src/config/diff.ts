/**
 * What changed between two configs: the director applies a reload as a diff (ldirectord-spec 10.6:
 * new virtuals added, changed ones edited, removed reals and virtuals purged), and
 * `directorctl configtest` can show it.
 *
 * Source locations are not part of a change: moving a block in the file changes nothing.
 */
import type {
  ClusterConfig,
  DaemonSettings,
  RealServerConfig,
  VirtualServiceConfig,
  VrrpInstanceConfig,
} from './model.js';

export interface RealChange {
  readonly key: string;
  readonly fields: readonly string[];
  readonly old: RealServerConfig;
  readonly next: RealServerConfig;
}

export interface VirtualChange {
  readonly id: string;
  /** Changed fields of the virtual itself (excluding `reals`), e.g. ["scheduler", "check.intervalMs"]. */
  readonly fields: readonly string[];
  readonly realsAdded: readonly RealServerConfig[];
  readonly realsRemoved: readonly RealServerConfig[];
  readonly realsChanged: readonly RealChange[];
  readonly old: VirtualServiceConfig;
  readonly next: VirtualServiceConfig;
}

export interface VrrpInstanceChange {
  readonly name: string;
  readonly fields: readonly string[];
  readonly old: VrrpInstanceConfig;
  readonly next: VrrpInstanceConfig;
}

export interface ConfigDiff {
  readonly virtualsAdded: readonly VirtualServiceConfig[];
  readonly virtualsRemoved: readonly VirtualServiceConfig[];
  readonly virtualsChanged: readonly VirtualChange[];
  readonly vrrpInstancesAdded: readonly VrrpInstanceConfig[];
  readonly vrrpInstancesRemoved: readonly VrrpInstanceConfig[];
  readonly vrrpInstancesChanged: readonly VrrpInstanceChange[];
  /** Sync groups or vrrp scripts differ (names of the changed ones). */
  readonly vrrpSyncGroupsChanged: readonly string[];
  readonly vrrpScriptsChanged: readonly string[];
  /** Changed daemon settings, e.g. ["autoreload", "log"]. */
  readonly daemonChanged: readonly (keyof DaemonSettings)[];
  readonly isEmpty: boolean;
}

/** Paths of leaves that differ, ignoring `location` keys. */
function changedPaths(a: unknown, b: unknown, prefix: string, out: string[], skip: ReadonlySet<string> = new Set()): void {
  if (a === b) return;
  const aObj = typeof a === 'object' && a !== null;
  const bObj = typeof b === 'object' && b !== null;
  if (!aObj || !bObj || Array.isArray(a) !== Array.isArray(b)) {
    out.push(prefix || '(value)');
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length || a.some((x, i) => !equalIgnoringLocation(x, b[i]))) out.push(prefix);
    return;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) {
    if (k === 'location' || skip.has(k)) continue;
    const path = prefix ? `${prefix}.${k}` : k;
    const x = ao[k];
    const y = bo[k];
    // Nested plain objects are reported per leaf; arrays and scalars as a whole.
    if (x !== null && y !== null && typeof x === 'object' && typeof y === 'object' && !Array.isArray(x) && !Array.isArray(y)) {
      changedPaths(x, y, path, out);
    } else if (!equalIgnoringLocation(x, y)) out.push(path);
  }
}

function equalIgnoringLocation(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equalIgnoringLocation(x, b[i]));
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) {
    if (k === 'location') continue;
    if (!equalIgnoringLocation(ao[k], bo[k])) return false;
  }
  return true;
}

function byKey<T>(list: readonly T[], key: (t: T) => string): Map<string, T> {
  const m = new Map<string, T>();
  for (const x of list) m.set(key(x), x);
  return m;
}

/** Computes the difference from `old` to `next`. */
export function diffConfig(old: ClusterConfig, next: ClusterConfig): ConfigDiff {
  const oldV = byKey(old.virtualServices, (v) => v.id);
  const newV = byKey(next.virtualServices, (v) => v.id);
  const virtualsAdded = next.virtualServices.filter((v) => !oldV.has(v.id));
  const virtualsRemoved = old.virtualServices.filter((v) => !newV.has(v.id));
  const virtualsChanged: VirtualChange[] = [];
  for (const v of next.virtualServices) {
    const o = oldV.get(v.id);
    if (!o) continue;
    const fields: string[] = [];
    changedPaths(o, v, '', fields, new Set(['reals']));
    const oldR = byKey(o.reals, (r) => r.key);
    const newR = byKey(v.reals, (r) => r.key);
    const realsAdded = v.reals.filter((r) => !oldR.has(r.key));
    const realsRemoved = o.reals.filter((r) => !newR.has(r.key));
    const realsChanged: RealChange[] = [];
    for (const r of v.reals) {
      const or = oldR.get(r.key);
      if (!or) continue;
      const rf: string[] = [];
      changedPaths(or, r, '', rf);
      if (rf.length > 0) realsChanged.push({ key: r.key, fields: rf, old: or, next: r });
    }
    if (fields.length > 0 || realsAdded.length > 0 || realsRemoved.length > 0 || realsChanged.length > 0) {
      virtualsChanged.push({ id: v.id, fields, realsAdded, realsRemoved, realsChanged, old: o, next: v });
    }
  }
  const oldI = byKey(old.vrrp.instances, (i) => i.name);
  const newI = byKey(next.vrrp.instances, (i) => i.name);
  const vrrpInstancesAdded = next.vrrp.instances.filter((i) => !oldI.has(i.name));
  const vrrpInstancesRemoved = old.vrrp.instances.filter((i) => !newI.has(i.name));
  const vrrpInstancesChanged: VrrpInstanceChange[] = [];
  for (const i of next.vrrp.instances) {
    const o = oldI.get(i.name);
    if (!o) continue;
    const fields: string[] = [];
    changedPaths(o, i, '', fields);
    if (fields.length > 0) vrrpInstancesChanged.push({ name: i.name, fields, old: o, next: i });
  }
  const namedChanges = <T extends { name: string }>(a: readonly T[], b: readonly T[]): string[] => {
    const am = byKey(a, (x) => x.name);
    const bm = byKey(b, (x) => x.name);
    const names = new Set([...am.keys(), ...bm.keys()]);
    return [...names].filter((n) => !equalIgnoringLocation(am.get(n), bm.get(n)));
  };
  const vrrpSyncGroupsChanged = namedChanges(old.vrrp.syncGroups, next.vrrp.syncGroups);
  const vrrpScriptsChanged = namedChanges(old.vrrp.scripts, next.vrrp.scripts);
  const daemonChanged = (Object.keys({ ...old.daemon, ...next.daemon }) as (keyof DaemonSettings)[]).filter(
    (k) => !equalIgnoringLocation(old.daemon[k], next.daemon[k]),
  );
  const isEmpty =
    virtualsAdded.length === 0 && virtualsRemoved.length === 0 && virtualsChanged.length === 0 &&
    vrrpInstancesAdded.length === 0 && vrrpInstancesRemoved.length === 0 && vrrpInstancesChanged.length === 0 &&
    vrrpSyncGroupsChanged.length === 0 && vrrpScriptsChanged.length === 0 && daemonChanged.length === 0;
  return {
    virtualsAdded,
    virtualsRemoved,
    virtualsChanged,
    vrrpInstancesAdded,
    vrrpInstancesRemoved,
    vrrpInstancesChanged,
    vrrpSyncGroupsChanged,
    vrrpScriptsChanged,
    daemonChanged,
    isEmpty,
  };
}
