import { strict as assert } from 'node:assert';
import { formatCheckResults, formatDrainResult, formatStatus, roughDuration, table } from '../../../src/cli/status-format.js';
import type { DirectorStatus } from '../../../src/control/api.js';
import { STARTED_AT, sampleStatus } from '../control/fake-api.js';

describe('directorctl status rendering', () => {
  it('aligns columns and trims the last one', () => {
    assert.deepEqual(table([['A', 'BB', 'C'], ['long', 'x', '']]), ['A     BB  C', 'long  x']);
  });

  it('rounds durations to whole seconds for humans', () => {
    assert.equal(roughDuration(999), '0s');
    assert.equal(roughDuration(1_300), '1s');
    assert.equal(roughDuration(130_000), '2m10s');
  });

  it('shows maintenance, slow start and drain overrides', () => {
    const now = STARTED_AT + 60_000;
    const base = sampleStatus();
    const v = base.virtuals[0] as DirectorStatus['virtuals'][number];
    const [r1, r2] = v.reals as [DirectorStatus['virtuals'][number]['reals'][number], DirectorStatus['virtuals'][number]['reals'][number]];
    const status: DirectorStatus = {
      ...base,
      role: undefined,
      vrrp: [],
      virtuals: [
        {
          ...v,
          engineErrors: ['192.0.2.12:80: EADDRNOTAVAIL'],
          reals: [
            { ...r1, maintenance: true, maintenanceFile: '/etc/ha.d/maint/192.0.2.10' },
            { ...r2, override: undefined, slowStartUntil: now + 20_000 },
            { ...r2, key: '192.0.2.12:80', override: { kind: 'drain', deadlineAt: now + 15_000, since: now - 1000, by: 'root' }, engineWeight: undefined },
          ],
        },
      ],
    };
    const text = formatStatus(status, now);
    assert.match(text, /role n\/a \(no VRRP\)/);
    assert.doesNotMatch(text, /^VRRP$/m);
    assert.match(text, /engine error: 192\.0\.2\.12:80: EADDRNOTAVAIL/);
    assert.match(text, /192\.0\.2\.10:80 .* maintenance \(\/etc\/ha\.d\/maint\/192\.0\.2\.10\)/);
    assert.match(text, /192\.0\.2\.11:80 .* slow start \(20s left\)/);
    assert.match(text, /192\.0\.2\.12:80 +Masq +down +-\/1 +draining \(15s left\)/);
  });

  it('check and drain results', () => {
    assert.equal(formatCheckResults([]), 'no matching real server\n');
    assert.equal(
      formatDrainResult({ outcome: 'deadline', affected: [{ virtualId: 'fwm:1', realKey: '192.0.2.5:0' }], remainingConns: 1, elapsedMs: 30_000 }),
      'deadline passed for 192.0.2.5:0 in fwm:1 after 30s with 1 connection left\n',
    );
  });
});
