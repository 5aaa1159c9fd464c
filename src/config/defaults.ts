/**
 * Defaults shared by both readers (ldirectord-spec 3, 4.2, 5.1, 8; keepalived-spec 1.3, 2.2, 3.3).
 */
import { basename } from 'node:path';
import type { ConnectionTimeouts, DaemonSettings, GarpConfig } from './model.js';

export const DEFAULT_CONTROL_SOCKET = '/run/directord/directord.sock';
export const DEFAULT_STATE_FILE = '/var/lib/directord/state.json';

/** ldirectord: /var/run/ldirectord.<CFGNAME>.pid where CFGNAME is the basename as typed (ldirectord-spec 1.2). */
export function defaultPidFile(configPath: string): string {
  return `/run/directord/directord.${basename(configPath)}.pid`;
}

/** ldirectord: checktimeout 5 s, negotiatetimeout 30 s, checkinterval 10 s (ldirectord-spec 3, 8). */
export const LDIRECTORD_DEFAULT_CHECKTIMEOUT_S = 5;
export const LDIRECTORD_DEFAULT_NEGOTIATETIMEOUT_S = 30;
export const LDIRECTORD_DEFAULT_CHECKINTERVAL_S = 10;

/** IPVS's own idle timeouts (ipvsadm --set defaults: tcp 900 s, tcpfin 120 s, udp 300 s). */
export const DEFAULT_TIMEOUTS: ConnectionTimeouts = { tcpMs: 900_000, tcpFinMs: 120_000, udpMs: 300_000 };

/** keepalived-spec 2.2: garp_master_delay 5 s, repeat 5, refresh off, refresh_repeat 1, interval 0. */
export const DEFAULT_GARP: GarpConfig = {
  masterDelayMs: 5000,
  masterRepeat: 5,
  masterRefreshMs: 0,
  masterRefreshRepeat: 1,
  intervalMs: 0,
};

/** 5 min; the systemd units allow for it (TimeoutStopSec=330s). */
export const DEFAULT_DRAIN_DEADLINE_MS = 300_000;

/** Daemon settings before any directive is applied. */
export function defaultDaemonSettings(configPath: string): DaemonSettings {
  return {
    engine: 'embedded',
    controlSocket: DEFAULT_CONTROL_SOCKET,
    stateFile: DEFAULT_STATE_FILE,
    pidFile: defaultPidFile(configPath),
    log: { kind: 'stdout' },
    logLevel: 'info',
    autoreload: false,
    autoreloadIntervalMs: LDIRECTORD_DEFAULT_CHECKINTERVAL_S * 1000,
    supervised: false,
    fork: false,
    readdQuiescent: false,
    execute: [],
    drainDeadlineMs: DEFAULT_DRAIN_DEADLINE_MS,
    schedules: [],
  };
}
