import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { DirectorError } from '../../../src/core/errors.js';
import { createHttpChecker } from '../../../src/health/checks/http.js';
import { createDefaultCheckers } from '../../../src/health/checks/index.js';
import { createLeanHttpChecker } from '../../../src/health/checks/lean-http.js';
import { createNativeHttpChecker } from '../../../src/health/checks/native-http.js';
import type { CheckResult, Checker } from '../../../src/health/types.js';
import { type ProbeSpec, Prober, proberAvailable, sharedProber } from '../../../src/sys/probe.js';
import { loadAddon } from '../../../src/sys/rawnet.js';
import { freePort, waitUntil } from '../../support/servers/process.js';
import { checkConfig, checkTarget } from '../../unit/health/fixtures.js';

const HOST = '127.27.1.1';
const SOURCE = '127.27.9.9';

/** A raw TCP server whose answer to each connection the test scripts; records requests and peers. */
class ScriptedServer {
  readonly requests: string[] = [];
  readonly peers: string[] = [];
  /** Sockets seen, so a test can wait for the checker's close. */
  readonly sockets = new Set<net.Socket>();
  private readonly server: net.Server;
  answer: (socket: net.Socket) => void = () => undefined;
  /** Called on connect, before any data (servers that must act without a request). */
  onConnect: (socket: net.Socket) => void = () => undefined;

  constructor() {
    this.server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined); // the checker closes with RST
      this.peers.push(socket.remoteAddress ?? '');
      this.onConnect(socket);
      let request = '';
      socket.on('data', (chunk: Buffer) => {
        const first = request === '';
        request += chunk.toString('latin1');
        if (first) {
          this.requests.push(request);
          this.answer(socket);
        }
      });
    });
  }

  async listen(host: string, backlog = 511): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen({ port: 0, host, backlog }, resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** Durations differ between runs; everything else in a detail must be the same. */
function normalised(r: CheckResult): string {
  return `${r.ok} ${r.detail.replace(/ in \d+ ms$/, ' in N ms')}`;
}

/** Established TCP connections to host:port (ss, iproute2). */
function established(host: string, port: number): number {
  const out = execFileSync('ss', ['-Htn', 'state', 'established', `( dst ${host}:${port} )`], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.trim() !== '').length;
}

function timeWaitCount(host: string, port: number): number {
  const out = execFileSync('ss', ['-Htan', 'state', 'time-wait', `( src ${host}:${port} or dst ${host}:${port} )`], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.trim() !== '').length;
}

describe('health/native-http (plain HTTP checks on the native prober)', function () {
  this.timeout(30_000);
  before(function () {
    if (!proberAvailable()) this.skip(); // reason: the addon is not built (npm test builds it first)
  });

  const native: Checker = createNativeHttpChecker(createHttpChecker(), sharedProber() as Prober);
  const node: Checker = createLeanHttpChecker(createHttpChecker());
  const server = new ScriptedServer();
  let port: number;
  before(async () => {
    port = await server.listen(HOST);
  });
  after(async () => {
    await server.close();
  });
  const run = (checker: Checker, extra: Parameters<typeof checkConfig>[0] = {}, signal = new AbortController().signal, p = port): Promise<CheckResult> =>
    checker.run(checkTarget(HOST, p), checkConfig({ type: 'negotiate', service: 'http', request: '/check', negotiateTimeoutMs: 2000, ...extra }), signal);

  it('is the default plain-HTTP path when the addon loads, and false for nativeHttp keeps Node sockets', async () => {
    server.answer = (s) => s.end('HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n');
    const prober = sharedProber() as Prober;
    const checks = createDefaultCheckers().negotiate;
    const pending = checks.run(checkTarget(HOST, port), checkConfig({ type: 'negotiate', service: 'http', receive: '^ok$' }), new AbortController().signal);
    assert.equal(prober.inFlight, 1, 'the default checker submitted to the shared prober');
    assert.equal((await pending).ok, true);
    const viaNode = createDefaultCheckers({ nativeHttp: false }).negotiate.run(checkTarget(HOST, port), checkConfig({ type: 'negotiate', service: 'http' }), new AbortController().signal);
    assert.equal(prober.inFlight, 0, 'nativeHttp: false does not use the prober');
    assert.equal((await viaNode).ok, true);
  });

  it('success, wrong status, receive miss, expectStatus, HEAD: the same verdicts and details as the Node path', async () => {
    const cases: [string, (s: net.Socket) => void, Parameters<typeof checkConfig>[0]][] = [
      ['200 + receive match', (s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nall is well\n'), { receive: '^all is well$' }],
      ['200, status only', (s) => s.end('HTTP/1.0 200 OK\r\n\r\n'), {}],
      ['404', (s) => s.end('HTTP/1.0 404 Not Found\r\nContent-Length: 4\r\n\r\nnope'), { receive: 'nope' }],
      ['receive miss', (s) => s.end('HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello'), { receive: '^bye$' }],
      ['302 expected', (s) => s.end('HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n'), { expectStatus: [302] }],
      ['302 not expected', (s) => s.end('HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n'), {}],
      ['HEAD skips the body', (s) => s.end('HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\n'), { httpMethod: 'HEAD', receive: 'never' }],
      ['no Content-Length: body to close', (s) => s.end('HTTP/1.0 200 OK\r\n\r\nfirst second'), { receive: 'first second' }],
      ['204 has no body', (s) => s.end('HTTP/1.0 204 No Content\r\nContent-Length: 9\r\n\r\n'), { receive: '^$' }],
      ['malformed status line', (s) => s.end('SSH-2.0-OpenSSH\r\n'), {}],
      ['closed without an answer', (s) => s.end(), {}],
      ['partial line then close', (s) => s.end('HTTP/1.0 2'), {}],
    ];
    for (const [name, answer, extra] of cases) {
      server.answer = answer;
      const viaNative = await run(native, extra);
      const viaNode = await run(node, extra);
      assert.equal(normalised(viaNative), normalised(viaNode), name);
    }
    // And the verdicts themselves (not only agreement between the paths).
    server.answer = (s) => s.end('HTTP/1.0 404 Not Found\r\n\r\n');
    assert.match((await run(native)).detail, new RegExp(`^http://127\\.27\\.1\\.1:${port}/check: HTTP 404 \\(expected 2xx\\)$`));
    server.answer = (s) => s.end('HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello');
    const miss = await run(native, { receive: '^bye$' });
    assert.equal(miss.ok, false);
    assert.match(miss.detail, /HTTP 200 but body does not match receive \/\^bye\$\//);
    const hit = await run(native, { receive: '^hel+o$' });
    assert.equal(hit.ok, true, hit.detail);
    assert.match(hit.detail, /: HTTP 200 in \d+ ms$/);
  });

  it('sends the same request bytes as the Node path (virtualhost as Host)', async () => {
    server.answer = (s) => s.end('HTTP/1.0 200 OK\r\n\r\n');
    server.requests.length = 0;
    await run(native, { virtualHost: 'v.test', request: 'status' });
    await run(node, { virtualHost: 'v.test', request: 'status' });
    assert.equal(server.requests.length, 2);
    assert.equal(server.requests[0], 'GET /status HTTP/1.0\r\nHost: v.test\r\nUser-Agent: directord health check\r\nConnection: close\r\n\r\n');
    assert.equal(server.requests[0], server.requests[1]);
  });

  it('a response in pieces is put together; Content-Length ends it without a close', async () => {
    server.answer = (s) => {
      s.write('HT');
      setTimeout(() => s.write('TP/1.1 200 OK\r\nContent-Le'), 20);
      setTimeout(() => s.write('ngth: 11\r\n\r\nhello '), 40);
      setTimeout(() => s.write('world'), 60);
    };
    const r = await run(native, { receive: '^hello world$' });
    assert.equal(r.ok, true, r.detail);
  });

  it('connection refused is down with the errno', async () => {
    const refused = await native.run(checkTarget(HOST, 1), checkConfig({ type: 'negotiate', service: 'http' }), new AbortController().signal);
    assert.equal(refused.ok, false);
    assert.equal(refused.detail, `http://${HOST}:1/: ECONNREFUSED`);
  });

  it('a hung server times out at its timeout while fast checks keep their pace', async () => {
    const hung = new ScriptedServer(); // accepts, reads, never answers
    const hungPort = await hung.listen('127.27.1.2');
    server.answer = (s) => s.end('HTTP/1.0 200 OK\r\n\r\n');
    try {
      const t0 = performance.now();
      let hungDone = 0;
      const slow = native
        .run(checkTarget('127.27.1.2', hungPort), checkConfig({ type: 'negotiate', service: 'http', negotiateTimeoutMs: 600 }), new AbortController().signal)
        .then((r) => {
          hungDone = performance.now();
          return r;
        });
      const fastTimes: number[] = [];
      while (hungDone === 0) {
        const s = performance.now();
        const r = await run(native);
        assert.equal(r.ok, true, r.detail);
        fastTimes.push(performance.now() - s);
      }
      const r = await slow;
      const took = hungDone - t0;
      assert.equal(r.ok, false);
      assert.equal(r.detail, 'timed out after 600 ms');
      assert.ok(took >= 595 && took < 1100, `the hung check took ${took.toFixed(0)} ms`);
      assert.ok(fastTimes.length >= 20, `only ${fastTimes.length} fast checks ran while the hung one waited`);
      const worst = Math.max(...fastTimes);
      assert.ok(worst < 300, `a fast check took ${worst.toFixed(0)} ms while the hung one waited`);
    } finally {
      await hung.close();
    }
  });

  it('a failing status from a server that then hangs is judged at the timeout with the status detail', async () => {
    server.answer = (s) => s.write('HTTP/1.0 503 Busy\r\nContent-Length: 100\r\n\r\npartial');
    const r = await run(native, { receive: 'ok', negotiateTimeoutMs: 300 });
    assert.equal(r.ok, false);
    assert.match(r.detail, /HTTP 503 \(expected 2xx\)$/);
  });

  it('a big body is cut at the cap (1 MiB) and still judged', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 'x');
    server.answer = (s) => {
      s.write('HTTP/1.0 200 OK\r\n\r\nSTART');
      s.end(big);
    };
    const r = await run(native, { receive: '^STARTx+$' });
    assert.equal(r.ok, true, r.detail);
    // At the prober level: exactly maxBytes kept, end 'cap'.
    const prober = sharedProber() as Prober;
    const res = await prober.probe({ address: HOST, port, request: Buffer.from('GET / HTTP/1.0\r\n\r\n'), maxBytes: 100_000, stop: 'close', connectTimeoutMs: 2000, timeoutMs: 2000 });
    assert.equal(res.outcome, 'ok');
    assert.equal(res.end, 'cap');
    assert.equal(res.bytes.length, 100_000);
    assert.equal(res.bytes.toString('latin1', 0, 24), 'HTTP/1.0 200 OK\r\n\r\nSTART');
  });

  it('several 1 MiB answers at once are all delivered whole (more than one drain)', async () => {
    const body = Buffer.alloc(1024 * 1024, 'y');
    server.answer = (s) => s.end(Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\n\r\n'), body]));
    const prober = sharedProber() as Prober;
    const spec: ProbeSpec = { address: HOST, port, request: Buffer.from('GET / HTTP/1.0\r\n\r\n'), maxBytes: 1024 * 1024, stop: 'close', connectTimeoutMs: 5000, timeoutMs: 10_000 };
    const results = await Promise.all(Array.from({ length: 6 }, () => prober.probe(spec)));
    for (const res of results) {
      assert.equal(res.outcome, 'ok');
      assert.equal(res.bytes.length, 1024 * 1024);
      assert.equal(res.bytes.toString('latin1', 0, 17), 'HTTP/1.0 200 OK\r\n');
      assert.equal(res.bytes[res.bytes.length - 1], 0x79);
    }
  });

  it('an IPv6 real (::1): brackets in the Host header and the detail', async () => {
    const v6 = new ScriptedServer();
    v6.answer = (s) => s.end('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nv6');
    const v6port = await v6.listen('::1');
    try {
      const r = await native.run(checkTarget('::1', v6port), checkConfig({ type: 'negotiate', service: 'http', request: '/v6', receive: '^v6$' }), new AbortController().signal);
      assert.equal(r.ok, true, r.detail);
      assert.match(r.detail, new RegExp(`^http://\\[::1\\]:${v6port}/v6: HTTP 200 in \\d+ ms$`));
      assert.match(v6.requests[0] ?? '', new RegExp(`\r\nHost: \\[::1\\]:${v6port}\r\n`));
    } finally {
      await v6.close();
    }
  });

  it('an abort ends the check at once and resets the connection', async () => {
    server.answer = () => undefined; // never answers
    await waitUntil(() => server.sockets.size === 0, 5000, 'earlier connections to be closed');
    const before = server.peers.length;
    const abort = new AbortController();
    const pending = run(native, { negotiateTimeoutMs: 10_000 }, abort.signal);
    await waitUntil(() => server.peers.length > before, 5000, 'the probe to connect');
    const t0 = performance.now();
    abort.abort();
    const r = await pending;
    assert.equal(r.ok, false);
    assert.equal(r.detail, 'aborted');
    assert.ok(performance.now() - t0 < 200, 'the abort was not immediate');
    // The prober closes the socket when it sees the cancel: the server side ends.
    await waitUntil(() => server.sockets.size === 0, 5000, 'the server to see the connection closed');
  });

  it('one signal reused run after run (as the monitor does) and shared by concurrent checks aborts the ones in flight', async () => {
    server.answer = (s) => s.end('HTTP/1.0 200 OK\r\n\r\n');
    const abort = new AbortController();
    for (let i = 0; i < 3; i++) assert.equal((await run(native, {}, abort.signal)).ok, true, 'earlier runs on the same signal');
    server.answer = () => undefined; // the next ones hang
    const before = server.peers.length;
    const pending = [run(native, { negotiateTimeoutMs: 10_000 }, abort.signal), run(native, { negotiateTimeoutMs: 10_000 }, abort.signal)];
    await waitUntil(() => server.peers.length >= before + 2, 5000, 'both probes to connect');
    abort.abort();
    const results = await Promise.all(pending);
    assert.deepEqual(
      results.map((r) => r.detail),
      ['aborted', 'aborted'],
    );
    // An already-aborted signal ends a new check before any I/O.
    assert.equal((await run(native, {}, abort.signal)).detail, 'aborted');
  });

  it('closes with RST: no TIME_WAIT socket is left on either side', async () => {
    server.answer = (s) => s.end('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok');
    const before = timeWaitCount(HOST, port);
    for (let i = 0; i < 20; i++) assert.equal((await run(native)).ok, true);
    for (let i = 0; i < 20; i++) assert.equal((await run(native, { receive: '^ok$' })).ok, true);
    const after = timeWaitCount(HOST, port);
    assert.ok(after <= before, `TIME_WAIT sockets went from ${before} to ${after}`);
  });

  it('2,000 probes in flight at once all complete', async () => {
    const servers = Array.from({ length: 8 }, () => new ScriptedServer());
    const ports: number[] = [];
    try {
      for (const [i, s] of servers.entries()) {
        s.answer = (socket) => socket.end('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok');
        ports.push(await s.listen(`127.27.2.${i + 1}`, 4096));
      }
      const prober = sharedProber() as Prober;
      const pending = Array.from({ length: 2000 }, (_, i) =>
        native.run(checkTarget(`127.27.2.${(i % 8) + 1}`, ports[i % 8] as number), checkConfig({ type: 'negotiate', service: 'http', receive: '^ok$', negotiateTimeoutMs: 15_000 }), new AbortController().signal),
      );
      assert.equal(prober.inFlight, 2000);
      const results = await Promise.all(pending);
      const failed = results.filter((r) => !r.ok);
      assert.equal(failed.length, 0, `${failed.length} failed, e.g. ${failed[0]?.detail}`);
      assert.equal(prober.inFlight, 0);
    } finally {
      for (const s of servers) await s.close();
    }
  });

  describe('the prober (src/sys/probe.ts) itself', () => {
    it('binds to a source address when asked', async () => {
      server.answer = (s) => s.end('HTTP/1.0 200 OK\r\n\r\n');
      server.peers.length = 0;
      const res = await (sharedProber() as Prober).probe({ address: HOST, port, source: SOURCE, request: Buffer.from('GET / HTTP/1.0\r\n\r\n'), maxBytes: 100, stop: 'line', connectTimeoutMs: 2000, timeoutMs: 2000 });
      assert.equal(res.outcome, 'ok');
      assert.equal(res.end, 'stop');
      // Reading stops after the read that brought the LF (what else that read brought is kept).
      assert.match(res.bytes.toString(), /^HTTP\/1\.0 200 OK\r\n/);
      assert.deepEqual(server.peers, [SOURCE]);
    });

    it('an empty request reads what the server says first (a banner), up to the first line', async () => {
      const banner = new ScriptedServer();
      banner.onConnect = (s) => s.write('220 ready\r\nmore later\r\n');
      const bannerPort = await banner.listen('127.27.1.6');
      try {
        const res = await (sharedProber() as Prober).probe({ address: '127.27.1.6', port: bannerPort, request: Buffer.alloc(0), maxBytes: 512, stop: 'line', connectTimeoutMs: 2000, timeoutMs: 2000 });
        assert.equal(res.outcome, 'ok');
        assert.equal(res.connected, true);
        assert.ok(res.connectMs >= 0 && res.connectMs <= res.totalMs, `connect ${res.connectMs} ms of ${res.totalMs} ms`);
        assert.match(res.bytes.toString('latin1'), /^220 ready\r\n/);
        assert.deepEqual(banner.requests, [], 'nothing was sent');
      } finally {
        await banner.close();
      }
    });

    it('a connect that never completes ends as connect-timeout at its connect timeout', async () => {
      // A listener that never accepts, with a backlog of 0 (the addon's raw socket calls): once
      // its accept queue holds one connection, the kernel drops further SYNs (listen overflow),
      // so the next connect stays pending.
      const addon = loadAddon();
      const c = addon.constants;
      const mutePort = await freePort('127.27.1.3');
      const fd = addon.socket(c.AF_INET as number, c.SOCK_STREAM as number, 0);
      try {
        addon.bind(fd, '127.27.1.3', mutePort);
        addon.listen(fd, 0);
        const prober = sharedProber() as Prober;
        const spec: ProbeSpec = { address: '127.27.1.3', port: mutePort, request: Buffer.from('x'), maxBytes: 10, stop: 'line', connectTimeoutMs: 300, timeoutMs: 5000 };
        const filler = prober.probe({ ...spec, connectTimeoutMs: 5000, timeoutMs: 5000 });
        await waitUntil(() => established('127.27.1.3', mutePort) >= 1, 5000, 'the first connection to fill the accept queue');
        const t0 = performance.now();
        const res = await prober.probe(spec);
        const took = performance.now() - t0;
        assert.equal(res.outcome, 'connect-timeout');
        assert.equal(res.connected, false);
        assert.ok(took >= 295 && took < 1000, `took ${took.toFixed(0)} ms`);
        // The filler connected: it times out as 'timeout' (connected, no answer), not at connect.
        const filled = await prober.probe({ ...spec, address: '127.27.1.3', connectTimeoutMs: 5000, timeoutMs: 200 });
        assert.equal(filled.outcome, 'connect-timeout', 'the queue is still full: this one cannot connect either');
        addon.close(fd);
        const first = await filler;
        assert.equal(first.connected, true);
        assert.notEqual(first.outcome, 'connect-timeout');
      } finally {
        try {
          addon.close(fd);
        } catch {
          // closed above already
        }
      }
    });

    it('a server that resets is an error with the errno; invalid input is a DirectorError', async () => {
      server.answer = (s) => s.resetAndDestroy();
      const prober = sharedProber() as Prober;
      const res = await prober.probe({ address: HOST, port, request: Buffer.from('GET / HTTP/1.0\r\n\r\n'), maxBytes: 100, stop: 'line', connectTimeoutMs: 2000, timeoutMs: 2000 });
      assert.equal(res.outcome, 'error');
      assert.equal(res.errno, 'ECONNRESET');
      assert.equal(res.syscall, 'recv');
      assert.throws(
        () => prober.submit({ address: 'not-an-ip', port: 80, request: Buffer.alloc(0), maxBytes: 1, stop: 'line', connectTimeoutMs: 1, timeoutMs: 1 }, { probeDone: () => undefined }),
        (err: unknown) => err instanceof DirectorError && err.code === 'DIR_ERR_SYS_PROBE',
      );
      assert.equal(prober.inFlight, 0, 'a rejected submission is not in flight');
    });

    it('a cancel in the same event-loop turn as its submit stalls nothing after it', async () => {
      // Regression: the cancel handed the not-yet-flushed probe over without a wake-up, after
      // which every later flush found the queue non-empty and skipped its wake-up too.
      server.answer = (s) => s.end('HTTP/1.0 200 OK\r\n\r\n');
      const prober = new Prober(); // its own, so its queues start empty
      const spec: ProbeSpec = { address: HOST, port, request: Buffer.from('GET / HTTP/1.0\r\n\r\n'), maxBytes: 100, stop: 'line', connectTimeoutMs: 2000, timeoutMs: 2000 };
      try {
        for (let round = 0; round < 3; round++) {
          let cancelledCalled = false;
          const id = prober.submit(spec, { probeDone: () => (cancelledCalled = true) });
          prober.cancel(id);
          let timer: NodeJS.Timeout | undefined;
          const bound = new Promise<'stalled'>((resolve) => (timer = setTimeout(() => resolve('stalled'), 5000)));
          const res = await Promise.race([prober.probe(spec), bound]);
          clearTimeout(timer);
          assert.notEqual(res, 'stalled', `round ${round}: the probe after the cancel never completed`);
          assert.equal(res === 'stalled' ? undefined : res.outcome, 'ok');
          assert.equal(cancelledCalled, false);
        }
        await waitUntil(() => prober.inFlight === 0, 5000, 'the cancelled probes to come back');
      } finally {
        prober.close();
      }
    });

    it('a private prober closes with probes in flight; close is idempotent; submit after close throws', async () => {
      const hung = new ScriptedServer();
      const hungPort = await hung.listen('127.27.1.4');
      const prober = new Prober();
      try {
        let called = false;
        prober.submit({ address: '127.27.1.4', port: hungPort, request: Buffer.from('x'), maxBytes: 10, stop: 'line', connectTimeoutMs: 5000, timeoutMs: 5000 }, { probeDone: () => (called = true) });
        await waitUntil(() => hung.sockets.size === 1, 5000, 'the probe to connect');
        prober.close();
        prober.close();
        assert.equal(prober.inFlight, 0);
        // The thread closed the socket on its way out.
        await waitUntil(() => hung.sockets.size === 0, 5000, 'the socket to be closed');
        assert.equal(called, false);
        assert.throws(() => prober.submit({ address: HOST, port, request: Buffer.alloc(0), maxBytes: 1, stop: 'line', connectTimeoutMs: 1, timeoutMs: 1 }, { probeDone: () => undefined }), DirectorError);
      } finally {
        prober.close();
        await hung.close();
      }
    });

    it('an idle prober does not keep the process alive', async () => {
      // A child runs one probe and then has nothing left to do: it must exit by itself.
      const script = `
        import net from 'node:net';
        import { sharedProber } from ${JSON.stringify(fileURLToPath(new URL('../../../src/sys/probe.ts', import.meta.url)))};
        const srv = net.createServer((s) => { s.on('error', () => {}); s.once('data', () => s.end('HTTP/1.0 200 OK\\r\\n\\r\\n')); });
        srv.listen(0, '127.27.1.5', async () => {
          const res = await sharedProber().probe({ address: '127.27.1.5', port: srv.address().port, request: Buffer.from('GET / HTTP/1.0\\r\\n\\r\\n'), maxBytes: 100, stop: 'line', connectTimeoutMs: 2000, timeoutMs: 2000 });
          console.log(res.outcome);
          srv.close();
        });
      `;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve(-1);
        }, 15_000);
        child.on('exit', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      assert.equal(out.trim(), 'ok');
      assert.equal(code, 0, 'the child did not exit by itself within 15 s');
    });
  });
});
