/**
 * Checks request params coming off the socket before they reach the ControlApi: the daemon's
 * implementation can trust shapes and ranges. Each validator returns the typed value or throws
 * DIR_ERR_CONTROL_INVALID_PARAMS naming the field.
 */
import { DirectorError } from '../core/errors.js';
import { SCHEDULER_FLAGS, SCHEDULERS } from '../core/types.js';
import type { SchedulerFlag, SchedulerName } from '../core/types.js';
import { tryParseIp } from '../core/ip.js';
import type {
  DrainOptions,
  IpvsCommand,
  IpvsRealOptions,
  IpvsServiceOptions,
  IpvsServiceRef,
  RealSelector,
} from './api.js';
import type { HelloParams } from './protocol.js';
import { isPlainObject } from './protocol.js';

/** Longest drain deadline accepted: a day (a typo like "30h" for "30s" should not pin a real for weeks). */
export const MAX_DRAIN_DEADLINE_MS = 24 * 60 * 60 * 1000;

function invalid(method: string, reason: string): DirectorError {
  return new DirectorError('DIR_ERR_CONTROL_INVALID_PARAMS', { method, reason });
}

function obj(method: string, value: unknown, field: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw invalid(method, `${field} must be an object`);
  return value;
}

function optString(method: string, value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw invalid(method, `${field} must be a non-empty string`);
  return value;
}

function integer(method: string, value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(method, `${field} must be an integer ${min}..${max}`);
  }
  return value;
}

export function validateSelector(method: string, value: unknown): RealSelector {
  const o = obj(method, value, 'selector');
  const realKey = optString(method, o.realKey, 'selector.realKey');
  if (realKey === undefined) throw invalid(method, 'selector.realKey is required');
  const virtualId = optString(method, o.virtualId, 'selector.virtualId');
  return virtualId === undefined ? { realKey } : { virtualId, realKey };
}

export function validateWeight(method: string, value: unknown): number {
  return integer(method, value, 'weight', 0, 65535);
}

export function validateDrainOptions(method: string, value: unknown): DrainOptions {
  if (value === undefined) return {};
  const o = obj(method, value, 'options');
  const out: { deadlineMs?: number; then?: 'remove' | 'keep' } = {};
  if (o.deadlineMs !== undefined) out.deadlineMs = integer(method, o.deadlineMs, 'options.deadlineMs', 0, MAX_DRAIN_DEADLINE_MS);
  if (o.then !== undefined) {
    if (o.then !== 'remove' && o.then !== 'keep') throw invalid(method, 'options.then must be "remove" or "keep"');
    out.then = o.then;
  }
  return out;
}

export function validateHello(value: unknown): HelloParams {
  if (value === undefined) return {};
  const o = obj('hello', value, 'params');
  const out: { uid?: number; pid?: number; user?: string; client?: string } = {};
  if (o.uid !== undefined) out.uid = integer('hello', o.uid, 'uid', 0, 0xffffffff);
  if (o.pid !== undefined) out.pid = integer('hello', o.pid, 'pid', 1, 0x7fffffff);
  const user = optString('hello', o.user, 'user');
  if (user !== undefined) out.user = user.slice(0, 64);
  const client = optString('hello', o.client, 'client');
  if (client !== undefined) out.client = client.slice(0, 128);
  return out;
}

function validateServiceRef(method: string, value: unknown, field: string): IpvsServiceRef {
  const o = obj(method, value, field);
  if (o.protocol === 'fwm') {
    const fwmark = integer(method, o.fwmark, `${field}.fwmark`, 1, 0xffffffff);
    const family = o.family === undefined ? 4 : o.family;
    if (family !== 4 && family !== 6) throw invalid(method, `${field}.family must be 4 or 6`);
    return { protocol: 'fwm', fwmark, family };
  }
  if (o.protocol !== 'tcp' && o.protocol !== 'udp') throw invalid(method, `${field}.protocol must be tcp, udp or fwm`);
  if (typeof o.address !== 'string' || !tryParseIp(o.address)) throw invalid(method, `${field}.address must be an IP address`);
  const port = integer(method, o.port, `${field}.port`, 0, 65535);
  return { protocol: o.protocol, address: (tryParseIp(o.address) as { text: string }).text, port };
}

function validateServiceOptions(method: string, value: unknown): IpvsServiceOptions {
  if (value === undefined) return {};
  const o = obj(method, value, 'options');
  const out: {
    scheduler?: SchedulerName;
    schedulerFlags?: SchedulerFlag[];
    persistence?: { timeoutMs: number; netmaskPrefixLength?: number } | null;
    ops?: boolean;
  } = {};
  if (o.scheduler !== undefined) {
    if (typeof o.scheduler !== 'string' || !(SCHEDULERS as readonly string[]).includes(o.scheduler)) {
      throw invalid(method, `options.scheduler must be one of ${SCHEDULERS.join(', ')}`);
    }
    out.scheduler = o.scheduler as SchedulerName;
  }
  if (o.schedulerFlags !== undefined) {
    if (!Array.isArray(o.schedulerFlags) || !o.schedulerFlags.every((f) => (SCHEDULER_FLAGS as readonly unknown[]).includes(f))) {
      throw invalid(method, `options.schedulerFlags must list ${SCHEDULER_FLAGS.join(', ')}`);
    }
    out.schedulerFlags = o.schedulerFlags as SchedulerFlag[];
  }
  if (o.persistence === null) out.persistence = null;
  else if (o.persistence !== undefined) {
    const p = obj(method, o.persistence, 'options.persistence');
    const timeoutMs = integer(method, p.timeoutMs, 'options.persistence.timeoutMs', 1000, 0x7fffffff);
    out.persistence =
      p.netmaskPrefixLength === undefined
        ? { timeoutMs }
        : { timeoutMs, netmaskPrefixLength: integer(method, p.netmaskPrefixLength, 'options.persistence.netmaskPrefixLength', 0, 128) };
  }
  if (o.ops !== undefined) {
    if (typeof o.ops !== 'boolean') throw invalid(method, 'options.ops must be a boolean');
    out.ops = o.ops;
  }
  return out;
}

function validateRealOptions(method: string, value: unknown): IpvsRealOptions {
  if (value === undefined) return {};
  const o = obj(method, value, 'options');
  const out: { forward?: 'gate' | 'masq' | 'ipip'; weight?: number; upperThreshold?: number; lowerThreshold?: number } = {};
  if (o.forward !== undefined) {
    if (o.forward !== 'gate' && o.forward !== 'masq' && o.forward !== 'ipip') throw invalid(method, 'options.forward must be gate, masq or ipip');
    out.forward = o.forward;
  }
  if (o.weight !== undefined) out.weight = integer(method, o.weight, 'options.weight', 0, 65535);
  if (o.upperThreshold !== undefined) out.upperThreshold = integer(method, o.upperThreshold, 'options.upperThreshold', 0, 0x7fffffff);
  if (o.lowerThreshold !== undefined) out.lowerThreshold = integer(method, o.lowerThreshold, 'options.lowerThreshold', 0, 0x7fffffff);
  return out;
}

function validateRealAddress(method: string, value: unknown): { address: string; port: number } {
  const o = obj(method, value, 'real');
  const ip = typeof o.address === 'string' ? tryParseIp(o.address) : undefined;
  if (!ip) throw invalid(method, 'real.address must be an IP address');
  return { address: ip.text, port: integer(method, o.port, 'real.port', 0, 65535) };
}

/** Bound on commands per ipvsadm batch (one -R of a large table). */
export const MAX_IPVS_COMMANDS = 100_000;

export function validateIpvsCommands(method: string, value: unknown): IpvsCommand[] {
  if (!Array.isArray(value)) throw invalid(method, 'commands must be an array');
  if (value.length > MAX_IPVS_COMMANDS) throw invalid(method, `at most ${MAX_IPVS_COMMANDS} commands per request`);
  return value.map((raw: unknown, i): IpvsCommand => {
    const c = obj(method, raw, `commands[${i}]`);
    switch (c.op) {
      case 'add-service':
      case 'edit-service':
        return { op: c.op, service: validateServiceRef(method, c.service, `commands[${i}].service`), options: validateServiceOptions(method, c.options) };
      case 'delete-service':
        return { op: 'delete-service', service: validateServiceRef(method, c.service, `commands[${i}].service`) };
      case 'add-real':
      case 'edit-real':
        return {
          op: c.op,
          service: validateServiceRef(method, c.service, `commands[${i}].service`),
          real: validateRealAddress(method, c.real),
          options: validateRealOptions(method, c.options),
        };
      case 'delete-real':
        return { op: 'delete-real', service: validateServiceRef(method, c.service, `commands[${i}].service`), real: validateRealAddress(method, c.real) };
      case 'clear':
        return { op: 'clear' };
      case 'zero':
        return c.service === undefined ? { op: 'zero' } : { op: 'zero', service: validateServiceRef(method, c.service, `commands[${i}].service`) };
      case 'set-timeouts': {
        const t = obj(method, c.timeouts, `commands[${i}].timeouts`);
        return {
          op: 'set-timeouts',
          timeouts: {
            tcpMs: integer(method, t.tcpMs, 'timeouts.tcpMs', 0, 0x7fffffff),
            tcpFinMs: integer(method, t.tcpFinMs, 'timeouts.tcpFinMs', 0, 0x7fffffff),
            udpMs: integer(method, t.udpMs, 'timeouts.udpMs', 0, 0x7fffffff),
          },
        };
      }
      default:
        throw invalid(method, `commands[${i}].op ${JSON.stringify(c.op)} is not an ipvsadm command`);
    }
  });
}
