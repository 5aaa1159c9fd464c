import assert from 'node:assert/strict';
import { isDirectorError } from '../../../src/core/errors.js';
import { validateService } from '../../../src/engine/embedded/service.js';
import { validateForWorkers } from '../../../src/engine/embedded/workers.js';
import type { DesiredService } from '../../../src/engine/model.js';

const base: DesiredService = {
  key: 'tcp:192.0.2.1:80',
  protocol: 'tcp',
  family: 4,
  address: '192.0.2.1',
  port: 80,
  scheduler: 'wlc',
  schedulerFlags: [],
  ops: false,
  reals: [{ key: '192.0.2.10:80', address: '192.0.2.10', port: 80, forward: 'gate', weight: 1, upperThreshold: 0, lowerThreshold: 0 }],
  timeouts: { tcpMs: 900_000, tcpFinMs: 120_000, udpMs: 300_000 },
  onRealRemoved: 'finish',
  l7Rules: [],
};

function code(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    assert.ok(isDirectorError(err));
    return err.code;
  }
}

describe('engine/embedded validation (refuse, never silently)', () => {
  it('accepts a plain tcp service', () => {
    assert.equal(code(() => validateService(base)), undefined);
  });

  it('refuses port 0, fwmark, udp+PROXY, udp+L7, tcp+ops with DIR_ERR_ENGINE_UNSUPPORTED', () => {
    const cases: Partial<DesiredService>[] = [
      { port: 0 },
      { protocol: 'fwm', fwmark: 5, address: undefined },
      { protocol: 'udp', proxyProtocol: 'v2' },
      { protocol: 'udp', l7Rules: [{ pattern: '.*', reals: [] }] },
      { ops: true },
    ];
    for (const c of cases) assert.equal(code(() => validateService({ ...base, ...c })), 'DIR_ERR_ENGINE_UNSUPPORTED', JSON.stringify(c));
  });

  it('refuses an L7 pattern that is not a regular expression with DIR_ERR_ENGINE_BAD_RULE', () => {
    assert.equal(code(() => validateService({ ...base, l7Rules: [{ pattern: '/images/(', reals: [] }] })), 'DIR_ERR_ENGINE_BAD_RULE');
  });

  it('worker mode refuses udp, persistence and thresholds', () => {
    assert.equal(code(() => validateForWorkers(base)), undefined);
    assert.equal(code(() => validateForWorkers({ ...base, protocol: 'udp' })), 'DIR_ERR_ENGINE_UNSUPPORTED');
    assert.equal(code(() => validateForWorkers({ ...base, persistence: { timeoutMs: 300_000, netmaskPrefixLength: 32 } })), 'DIR_ERR_ENGINE_UNSUPPORTED');
    assert.equal(code(() => validateForWorkers({ ...base, reals: [{ ...base.reals[0]!, upperThreshold: 10 }] })), 'DIR_ERR_ENGINE_UNSUPPORTED');
  });
});
