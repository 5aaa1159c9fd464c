import { strict as assert } from 'node:assert';
import { CheckLatencyHistogram, ExpositionWriter, RateHistory, escapeLabelValue, labelText, renderMetrics } from '../../../src/control/metrics.js';
import type { EngineStats } from '../../../src/engine/model.js';
import { sampleStats, sampleStatus } from './fake-api.js';

describe('metrics rendering', () => {
  it('escapes label values as exposition 0.0.4 requires', () => {
    assert.equal(escapeLabelValue('plain'), 'plain');
    assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
    assert.equal(labelText({}), '');
    assert.equal(labelText({ a: 'x', b: 'y"' }), '{a="x",b="y\\""}');
  });

  it('writes HELP and TYPE before samples, values in Prometheus spelling', () => {
    const w = new ExpositionWriter();
    w.family('x_total', 'counter', 'A line\nbreak \\ here.');
    w.sample('x_total', { k: 'v' }, 1.5);
    w.sample('x_total', '{k="w"}', Infinity);
    w.sample('x_total', {}, Number.NaN);
    assert.equal(w.text(), '# HELP x_total A line\\nbreak \\\\ here.\n# TYPE x_total counter\nx_total{k="v"} 1.5\nx_total{k="w"} +Inf\nx_total NaN\n');
  });

  it('histogram buckets are cumulative', () => {
    const h = new CheckLatencyHistogram();
    h.observe('v', 'r', 0.5, true); // 0.0005 s
    h.observe('v', 'r', 30, false); // 0.03 s
    h.observe('v', 'r', 60_000, false); // past the last bucket
    const w = new ExpositionWriter();
    h.render(w);
    const text = w.text();
    assert.match(text, /directord_real_check_duration_seconds_bucket\{virtual="v",real="r",le="0\.001"\} 1\n/);
    assert.match(text, /directord_real_check_duration_seconds_bucket\{virtual="v",real="r",le="0\.05"\} 2\n/);
    assert.match(text, /directord_real_check_duration_seconds_bucket\{virtual="v",real="r",le="10"\} 2\n/);
    assert.match(text, /directord_real_check_duration_seconds_bucket\{virtual="v",real="r",le="\+Inf"\} 3\n/);
    assert.match(text, /directord_real_check_duration_seconds_count\{virtual="v",real="r"\} 3\n/);
    assert.match(text, /directord_real_checks_total\{virtual="v",real="r",result="failed"\} 2\n/);
  });

  it('renders every family once even with no VRRP and no services', () => {
    const text = renderMetrics({
      status: { ...sampleStatus(), vrrp: [], virtuals: [] },
      stats: { services: [] },
      version: { version: '1', protocol: 1, engine: 'embedded', ipvsVersion: '1.2.1', connTableSize: 4096 },
    });
    const types = text.split('\n').filter((l) => l.startsWith('# TYPE '));
    assert.equal(new Set(types).size, types.length);
    assert.match(text, /^directord_build_info\{version="1",engine="embedded"\} 1$/m);
  });
});

describe('rate history for sparklines', () => {
  it('keeps a bounded window per series and forgets services that went away', () => {
    const h = new RateHistory(3);
    const stats = sampleStats();
    for (let i = 0; i < 5; i++) h.record(stats, i * 1000);
    const snap = h.snapshot();
    assert.deepEqual(snap['tcp:192.0.2.1:80']?.t, [2000, 3000, 4000]);
    assert.deepEqual(snap['tcp:192.0.2.1:80/192.0.2.10:80']?.active, [12, 12, 12]);
    const fewer: EngineStats = { services: stats.services.slice(1) };
    h.record(fewer, 5000);
    assert.equal(h.snapshot()['tcp:192.0.2.1:80'], undefined);
    assert.ok(h.snapshot()['udp:[2001:db8::1]:53']);
  });
});
