import assert from 'node:assert/strict';
import type { CheckConfig } from '../../../src/config/model.js';
import { createNativeHttpChecker } from '../../../src/health/checks/native-http.js';
import type { CheckResult, Checker } from '../../../src/health/types.js';
import { ProbeCompletion, type ProbeListener, type ProbeOutcome, type ProbeRunner, type ProbeSpec } from '../../../src/sys/probe.js';
import { checkConfig, checkTarget } from './fixtures.js';

/** A fake prober: records submissions; the test completes them by hand (pure judging logic). */
class FakeRunner implements ProbeRunner {
  readonly submitted: { spec: ProbeSpec; listener: ProbeListener }[] = [];
  readonly cancelled: number[] = [];
  failNext: Error | undefined;

  submit(spec: ProbeSpec, listener: ProbeListener): number {
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = undefined;
      throw err;
    }
    this.submitted.push({ spec, listener });
    return this.submitted.length - 1;
  }

  cancel(id: number): void {
    this.cancelled.push(id);
  }

  /** Completes probe `id` the way the native side would. */
  complete(id: number, outcome: ProbeOutcome, bytes: string, extra: Partial<ProbeCompletion> = {}): void {
    const c = new ProbeCompletion();
    Object.assign(c, { id, outcome, bytes: Buffer.from(bytes, 'latin1'), totalMs: 7, connected: outcome !== 'connect-error' && outcome !== 'connect-timeout', ...extra });
    this.submitted[id]?.listener.probeDone(c);
  }
}

const HOST = '192.0.2.10';
const WHAT = `http://${HOST}:8080/check`;

describe('health/native-http judging (fake prober)', () => {
  let runner: FakeRunner;
  let checker: Checker;
  const fallbackSeen: string[] = [];
  beforeEach(() => {
    runner = new FakeRunner();
    fallbackSeen.length = 0;
    checker = createNativeHttpChecker(
      {
        run: (_t, check) => {
          fallbackSeen.push(check.service);
          return Promise.resolve({ ok: true, detail: 'fallback', durationMs: 0 });
        },
      },
      runner,
    );
  });
  const start = (extra: Partial<CheckConfig> = {}, signal = new AbortController().signal): Promise<CheckResult> =>
    checker.run(checkTarget(HOST, 8080), checkConfig({ type: 'negotiate', service: 'http', request: '/check', negotiateTimeoutMs: 3000, ...extra }), signal);

  it('asks for the status line only when no body is needed, for headers + Content-Length when it is', () => {
    void start();
    void start({ receive: 'ok' });
    void start({ receive: 'ok', httpMethod: 'HEAD' });
    const [statusOnly, body, head] = runner.submitted.map((s) => s.spec);
    assert.deepEqual(
      { stop: statusOnly?.stop, maxBytes: statusOnly?.maxBytes, connect: statusOnly?.connectTimeoutMs, total: statusOnly?.timeoutMs, address: statusOnly?.address, port: statusOnly?.port },
      { stop: 'line', maxBytes: 8192, connect: 3000, total: 3000, address: HOST, port: 8080 },
    );
    assert.equal(body?.stop, 'http-content-length');
    assert.equal(body?.maxBytes, 1024 * 1024);
    assert.equal(head?.stop, 'line');
    assert.equal(statusOnly?.request.toString('latin1'), `GET /check HTTP/1.0\r\nHost: ${HOST}:8080\r\nUser-Agent: directord health check\r\nConnection: close\r\n\r\n`);
  });

  it('https and http_proxy go to the fallback; checkport, else the real port, else 80', async () => {
    assert.equal((await start({ service: 'https' })).detail, 'fallback');
    assert.equal((await start({ service: 'http_proxy' })).detail, 'fallback');
    assert.deepEqual(fallbackSeen, ['https', 'http_proxy']);
    assert.equal(runner.submitted.length, 0);
    void checker.run(checkTarget(HOST, 0), checkConfig({ type: 'negotiate', service: 'http' }), new AbortController().signal);
    void checker.run(checkTarget(HOST, 8080), checkConfig({ type: 'negotiate', service: 'http', checkPort: 8081 }), new AbortController().signal);
    assert.deepEqual(
      runner.submitted.map((s) => s.spec.port),
      [80, 8081],
    );
  });

  const cases: [string, Partial<CheckConfig>, ProbeOutcome, string, Partial<ProbeCompletion>, boolean, string | RegExp][] = [
    ['200 status only', {}, 'ok', 'HTTP/1.0 200 OK\r\n', { end: 'stop' }, true, `${WHAT}: HTTP 200 in 7 ms`],
    ['200 body match', { receive: '^ok$' }, 'ok', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\nEXTRA', { end: 'stop' }, true, /HTTP 200 in 7 ms$/],
    ['Content-Length cuts the body before matching', { receive: 'EXTRA' }, 'ok', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\nEXTRA', { end: 'stop' }, false, /does not match receive \/EXTRA\//],
    ['no Content-Length: body to EOF', { receive: 'EXTRA' }, 'ok', 'HTTP/1.0 200 OK\r\n\r\nok EXTRA', { end: 'eof' }, true, /HTTP 200/],
    ['headers never end at EOF: empty body', { receive: '^$' }, 'ok', 'HTTP/1.0 200 OK\r\nX: y', { end: 'eof' }, true, /HTTP 200/],
    ['headers never end at the cap', { receive: 'x' }, 'ok', 'HTTP/1.0 200 OK\r\nX: y', { end: 'cap' }, false, `${WHAT}: response headers too large`],
    ['expectStatus', { expectStatus: [418] }, 'ok', 'HTTP/1.0 418 Teapot\r\n', { end: 'stop' }, true, /HTTP 418/],
    ['404', {}, 'ok', 'HTTP/1.0 404 Not Found\r\n', { end: 'stop' }, false, `${WHAT}: HTTP 404 (expected 2xx)`],
    ['nothing at all', {}, 'ok', '', { end: 'eof' }, false, `${WHAT}: connection closed without a response`],
    ['a partial line at EOF', {}, 'ok', 'HTTP/1.0 2', { end: 'eof' }, false, `${WHAT}: malformed HTTP response`],
    ['8 KiB without a line end', {}, 'ok', 'A'.repeat(8192), { end: 'cap' }, false, /malformed status line "A{60}"$/],
    ['not HTTP', {}, 'ok', 'SSH-2.0-OpenSSH_9\r\n', { end: 'stop' }, false, `${WHAT}: malformed status line "SSH-2.0-OpenSSH_9"`],
    ['timeout, nothing came', {}, 'timeout', '', {}, false, 'timed out after 3000 ms'],
    ['connect timeout', {}, 'connect-timeout', '', {}, false, 'timed out after 3000 ms'],
    ['timeout after a failing status line (body mode)', { receive: 'ok' }, 'timeout', 'HTTP/1.0 503 Busy\r\nContent-Length: 9\r\n\r\npar', {}, false, `${WHAT}: HTTP 503 (expected 2xx)`],
    ['timeout after a good status line (body mode)', { receive: 'ok' }, 'timeout', 'HTTP/1.0 200 OK\r\nContent-Length: 9\r\n\r\npar', {}, false, 'timed out after 3000 ms'],
    ['reset before any answer', {}, 'error', '', { errno: 'ECONNRESET', syscall: 'recv' }, false, `${WHAT}: ECONNRESET`],
    ['reset after a failing status line', { receive: 'ok' }, 'error', 'HTTP/1.0 500 Oops\r\n', { errno: 'ECONNRESET' }, false, `${WHAT}: HTTP 500 (expected 2xx)`],
    ['refused', {}, 'connect-error', '', { errno: 'ECONNREFUSED', syscall: 'connect' }, false, `${WHAT}: ECONNREFUSED`],
    ['no file descriptors', {}, 'setup-error', '', { errno: 'EMFILE', syscall: 'socket' }, false, `${WHAT}: EMFILE`],
  ];
  for (const [name, extra, outcome, bytes, fields, ok, detail] of cases) {
    it(`${name}: ${ok ? 'up' : 'down'}`, async () => {
      const pending = start(extra);
      runner.complete(0, outcome, bytes, fields);
      const r = await pending;
      assert.equal(r.ok, ok, r.detail);
      if (typeof detail === 'string') assert.equal(r.detail, detail);
      else assert.match(r.detail, detail);
      assert.equal(r.durationMs, 7, 'the duration is the prober\'s');
    });
  }

  it('an abort cancels the probe and settles at once; a late completion changes nothing', async () => {
    const abort = new AbortController();
    const pending = start({}, abort.signal);
    abort.abort();
    const r = await pending;
    assert.equal(r.detail, 'aborted');
    assert.deepEqual(runner.cancelled, [0]);
    runner.complete(0, 'ok', 'HTTP/1.0 200 OK\r\n', { end: 'stop' }); // must be ignored
    assert.equal((await pending).detail, 'aborted');
    // A signal aborted before the run: no probe at all.
    assert.equal((await start({}, abort.signal)).detail, 'aborted');
    assert.equal(runner.submitted.length, 1);
  });

  it('a submission the prober refuses is a failed check, not a throw', async () => {
    runner.failNext = new Error('native probe submit failed: bad address');
    const r = await start();
    assert.equal(r.ok, false);
    assert.equal(r.detail, `${WHAT}: native probe submit failed: bad address`);
  });
});
