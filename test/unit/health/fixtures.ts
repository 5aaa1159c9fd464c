/** Builders for health tests: a complete CheckConfig with ldirectord's defaults, and targets. */
import type { CheckConfig } from '../../../src/config/model.js';
import type { CheckTarget, HealthTarget } from '../../../src/health/types.js';

export function checkConfig(overrides: Partial<CheckConfig> = {}): CheckConfig {
  return {
    type: 'connect',
    service: 'none',
    request: '/',
    receive: '',
    httpMethod: 'GET',
    login: '',
    password: '',
    database: '',
    secret: '',
    command: [],
    intervalMs: 10_000,
    timeoutMs: 5_000,
    negotiateTimeoutMs: 30_000,
    checkCount: 1,
    failureCount: 1,
    riseCount: 1,
    jitterMs: 0,
    tlsVerify: true,
    initialState: 'down',
    ...overrides,
  };
}

export function checkTarget(address: string, port: number, overrides: Partial<CheckTarget> = {}): CheckTarget {
  return {
    address,
    port,
    family: address.includes(':') ? 6 : 4,
    virtualAddress: '192.0.2.1',
    virtualPort: 80,
    virtualProtocol: 'tcp',
    ...overrides,
  };
}

export function healthTarget(virtualId: string, address: string, port: number, check: CheckConfig, targetOverrides: Partial<CheckTarget> = {}): HealthTarget {
  return { key: `${virtualId}/${address}:${port}`, target: checkTarget(address, port, targetOverrides), check };
}
