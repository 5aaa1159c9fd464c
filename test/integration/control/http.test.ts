/**
 * The status HTTP server on loopback (127.40.0.1): Prometheus exposition parsed line by line,
 * status.json, the page's headers, and the check-latency sampler driven by a ManualClock.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { ManualClock } from '../../../src/core/clock.js';
import { MemoryLogger } from '../../../src/core/logger.js';
import { createStatusHttpServer, statusPage } from '../../../src/control/http.js';
import type { StatusHttpServer } from '../../../src/control/http.js';
import type { DirectorStatus } from '../../../src/director/status.js';
import { FakeControlApi, sampleStatus } from '../../unit/control/fake-api.js';
import { parseExposition, valueOf } from './exposition.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function fetchText(port: number, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.40.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('status HTTP server (/metrics, /status.json, /)', function () {
  this.timeout(10_000);
  let api: FakeControlApi;
  let clock: ManualClock;
  let server: StatusHttpServer;
  let port: number;

  beforeEach(async () => {
    api = new FakeControlApi();
    clock = new ManualClock();
    server = createStatusHttpServer({ listen: { host: '127.40.0.1', port: 0 }, api, logger: new MemoryLogger(), clock, sampleIntervalMs: 1000 });
    await server.start();
    port = server.address()?.port ?? 0;
    assert.ok(port > 0);
  });

  afterEach(async () => {
    await server.close();
  });

  it('serves valid exposition text with per-virtual/real counters, health, VRRP state and HELP/TYPE', async () => {
    const reply = await fetchText(port, '/metrics');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const { samples, types, help } = parseExposition(reply.body);
    for (const name of types.keys()) assert.ok(help.has(name), `HELP for ${name}`);
    const pair = { virtual: 'tcp:192.0.2.1:80', real: '192.0.2.10:80' };
    assert.equal(types.get('directord_real_connections_total'), 'counter');
    assert.equal(valueOf(samples, 'directord_real_connections_total', pair), 1500);
    assert.equal(valueOf(samples, 'directord_real_in_bytes_total', pair), 2_000_000);
    assert.equal(valueOf(samples, 'directord_real_active_connections', pair), 12);
    assert.equal(valueOf(samples, 'directord_real_connections_per_second', pair), 5.4);
    assert.equal(valueOf(samples, 'directord_real_up', pair), 1);
    assert.equal(valueOf(samples, 'directord_real_up', { virtual: 'tcp:192.0.2.1:80', real: '192.0.2.11:80' }), 0);
    assert.equal(valueOf(samples, 'directord_real_override', { virtual: 'tcp:192.0.2.1:80', real: '192.0.2.11:80', kind: 'disabled' }), 1);
    assert.equal(valueOf(samples, 'directord_virtual_connections_total', { virtual: 'tcp:192.0.2.1:80' }), 1510);
    assert.equal(valueOf(samples, 'directord_virtual_connect_failures_total', { virtual: 'tcp:192.0.2.1:80' }), 7);
    assert.equal(valueOf(samples, 'directord_virtual_quorum_up', { virtual: 'fwm:1' }), 0);
    assert.equal(valueOf(samples, 'directord_vrrp_state', { instance: 'VI_1', state: 'MASTER' }), 1);
    assert.equal(valueOf(samples, 'directord_vrrp_state', { instance: 'VI_1', state: 'BACKUP' }), 0);
    assert.equal(valueOf(samples, 'directord_vrrp_transitions_total', { instance: 'VI_1' }), 3);
    assert.equal(valueOf(samples, 'directord_vrrp_dropped_total', { instance: 'VI_1', reason: 'ttl' }), 1);
    assert.equal(valueOf(samples, 'directord_reloads_total', { result: 'failed' }), 1);
    assert.equal(types.get('directord_real_check_duration_seconds'), 'histogram');
    // The first sample at start observed each real's last check once.
    assert.equal(valueOf(samples, 'directord_real_check_duration_seconds_count', pair), 1);
    assert.equal(valueOf(samples, 'directord_real_check_duration_seconds_bucket', { ...pair, le: '0.005' }), 1);
    assert.equal(valueOf(samples, 'directord_real_check_duration_seconds_bucket', { ...pair, le: '0.0025' }), 0);
  });

  it('observes each new check once: the sampler runs on the clock, a repeated check time is not counted again', async () => {
    let at = sampleStatus().virtuals[0]?.reals[0]?.lastCheck?.at ?? 0;
    let durationMs = 3;
    api.status = (): DirectorStatus => {
      const s = sampleStatus();
      const v = s.virtuals[0];
      const r = v?.reals[0];
      if (!v || !r?.lastCheck) return s;
      return { ...s, virtuals: [{ ...v, reals: [{ ...r, lastCheck: { ...r.lastCheck, at, durationMs, ok: durationMs < 1000 } }, ...v.reals.slice(1)] }, ...s.virtuals.slice(1)] };
    };
    at += 10_000;
    durationMs = 700;
    clock.advance(1000);
    clock.advance(1000); // same check seen again: not observed twice
    at += 10_000;
    durationMs = 2000;
    await fetchText(port, '/metrics'); // a scrape also samples
    const { samples } = parseExposition((await fetchText(port, '/metrics')).body);
    const pair = { virtual: 'tcp:192.0.2.1:80', real: '192.0.2.10:80' };
    // The sampler's reads are async; the scrape path awaits its own sample, so count is exact here.
    assert.equal(valueOf(samples, 'directord_real_check_duration_seconds_count', pair), 3);
    assert.equal(valueOf(samples, 'directord_real_check_duration_seconds_bucket', { ...pair, le: '1' }), 2);
    assert.equal(valueOf(samples, 'directord_real_check_duration_seconds_bucket', { ...pair, le: '2.5' }), 3);
    const sum = valueOf(samples, 'directord_real_check_duration_seconds_sum', pair) ?? 0;
    assert.ok(Math.abs(sum - 2.703) < 1e-9, String(sum));
    assert.equal(valueOf(samples, 'directord_real_checks_total', { ...pair, result: 'failed' }), 1);
    assert.equal(valueOf(samples, 'directord_real_checks_total', { ...pair, result: 'ok' }), 2);
  });

  it('escapes label values (quote, backslash, newline) so the exposition stays parseable', async () => {
    const odd = 'tcp:"odd"\\id\nline';
    api.status = (): DirectorStatus => {
      const s = sampleStatus();
      return { ...s, virtuals: [{ ...(s.virtuals[1] as DirectorStatus['virtuals'][number]), id: odd }] };
    };
    const { samples } = parseExposition((await fetchText(port, '/metrics')).body);
    assert.equal(valueOf(samples, 'directord_virtual_quorum_up', { virtual: odd }), 0);
  });

  it('serves status.json with status, stats, version and rate series', async () => {
    clock.advance(1000);
    const reply = await fetchText(port, '/status.json');
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['content-type']), /^application\/json/);
    const data = JSON.parse(reply.body) as { status: DirectorStatus; stats: { services: unknown[] }; version: { version: string }; series: Record<string, { cps: number[] }> };
    assert.deepEqual(data.status, sampleStatus());
    assert.equal(data.stats.services.length, 2);
    assert.equal(data.version.version, '0.1.0-test');
    assert.ok((data.series['tcp:192.0.2.1:80']?.cps.length ?? 0) >= 1);
    assert.deepEqual(data.series['tcp:192.0.2.1:80/192.0.2.10:80']?.cps.slice(-1), [5.4]);
  });

  it('serves the page with a CSP that admits exactly its inline script; 404, 405 and HEAD behave', async () => {
    const page = await fetchText(port, '/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.doesNotMatch(page.body, /<link |(src|href|url)\s*[=(]\s*["']?(https?:)?\/\//, 'no external assets');
    const script = /<script>([\s\S]*?)<\/script>/.exec(page.body)?.[1] ?? '';
    const hash = createHash('sha256').update(script).digest('base64');
    assert.ok(String(page.headers['content-security-policy']).includes(`'sha256-${hash}'`));
    assert.equal(statusPage().html, page.body);
    assert.equal((await fetchText(port, '/nope')).status, 404);
    const post = await fetchText(port, '/metrics', 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    const head = await fetchText(port, '/metrics', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  it('a failing API answers 500 and the server keeps serving', async () => {
    const original = api.engineStats.bind(api);
    api.engineStats = () => {
      throw new Error('engine went away');
    };
    assert.equal((await fetchText(port, '/status.json')).status, 500);
    api.engineStats = original;
    assert.equal((await fetchText(port, '/status.json')).status, 200);
  });

  it('refuses an address it cannot bind with DIR_ERR_CONTROL_HTTP_LISTEN', async () => {
    const second = createStatusHttpServer({ listen: { host: '127.40.0.1', port }, api, logger: new MemoryLogger(), clock, sampleIntervalMs: 0 });
    await assert.rejects(second.start(), (e: Error & { code?: string }) => e.code === 'DIR_ERR_CONTROL_HTTP_LISTEN');
  });
});
