/** The health module's public face: the monitor, its vocabulary, and the built-in checkers. */
export { createHealthMonitor, checkIdentity, checkTimeoutMs, fastIntervalMs, type HealthMonitorOptions } from './monitor.js';
export { createDefaultCheckers, type DefaultCheckerOptions } from './checks/index.js';
export type {
  CheckResult,
  CheckTarget,
  Checker,
  HealthListener,
  HealthMonitor,
  HealthSnapshot,
  HealthTarget,
  HealthTransition,
} from './types.js';
