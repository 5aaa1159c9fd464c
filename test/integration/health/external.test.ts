/**
 * external / external-perl checks with real scripts (ldirectord's four-argument contract,
 * keepalived misc_dynamic exit codes, timeouts that kill the whole process group), and the shipped
 * scripts in checks/ run through the external checker against real servers.
 */
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { systemClock } from '../../../src/core/clock.js';
import { MemoryLogger } from '../../../src/core/logger.js';
import { createExternalChecker } from '../../../src/health/checks/external.js';
import { createHealthMonitor } from '../../../src/health/monitor.js';
import type { CheckResult, HealthTransition } from '../../../src/health/types.js';
import { makeTempDir, removeDir, type RunningServer, waitUntil } from '../../support/servers/process.js';
import { startUnbound } from '../../support/servers/unbound.js';
import { checkConfig, checkTarget, healthTarget } from '../../unit/health/fixtures.js';

const CHECKS = resolve('checks');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

describe('health/external checks with real scripts', function () {
  this.timeout(30_000);
  let dir: string;
  const external = createExternalChecker({ perl: false });
  const signal = new AbortController().signal;
  const script = (name: string, body: string, shebang = '#!/bin/sh'): string => {
    const p = join(dir, name);
    writeFileSync(p, `${shebang}\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  };

  before(() => {
    dir = makeTempDir('external');
  });
  after(() => removeDir(dir));

  it('passes VIP VPORT RIP RPORT (checkport wins) and the DIRECTORD_* environment', async () => {
    const s = script('args.sh', 'echo "$# [$1] [$2] [$3] [$4] $DIRECTORD_SERVICE $DIRECTORD_REQUEST pw=${DIRECTORD_PASSWORD:-none}"');
    const r = await external.run(
      checkTarget('10.1.0.5', 8080, { virtualAddress: '192.0.2.9', virtualPort: 80 }),
      checkConfig({ type: 'external', command: [s], checkPort: 8081, service: 'http', request: '/h', password: 'secret' }),
      signal,
    );
    assert.equal(r.ok, true, r.detail);
    assert.match(r.detail, /: 4 \[192\.0\.2\.9\] \[80\] \[10\.1\.0\.5\] \[8081\] http \/h pw=none$/);
  });

  it('fwmark virtual: VIP is the mark and VPORT 0; IPv6 addresses in brackets', async () => {
    const s = script('args6.sh', 'echo "[$1] [$2] [$3] [$4]"');
    const fw = await external.run(
      checkTarget('2001:db8::10', 443, { virtualAddress: undefined, virtualPort: 0, virtualProtocol: 'fwm', fwmark: 7 }),
      checkConfig({ type: 'external', command: [s] }),
      signal,
    );
    assert.match(fw.detail, /\[7\] \[0\] \[\[2001:db8::10\]\] \[443\]/);
    const v6 = await external.run(checkTarget('2001:db8::10', 443, { virtualAddress: '2001:db8::1', virtualPort: 443 }), checkConfig({ type: 'external', command: [s] }), signal);
    assert.match(v6.detail, /\[\[2001:db8::1\]\] \[443\] \[\[2001:db8::10\]\] \[443\]/);
  });

  it('exit 0 up, 1 down, 2..255 down (ldirectord) or weight = status - 2 (misc_dynamic)', async () => {
    const s = script('exit.sh', 'exit "$DIRECTORD_REQUEST"');
    const run = (code: number, dynamic: boolean): Promise<CheckResult> =>
      createExternalChecker({ perl: false, dynamic }).run(checkTarget('10.1.0.6', 80), checkConfig({ type: 'external', command: [s], request: String(code) }), signal);
    assert.equal((await run(0, false)).ok, true);
    assert.equal((await run(1, false)).ok, false);
    assert.equal((await run(52, false)).ok, false);
    assert.equal((await run(1, true)).ok, false);
    const w = await run(52, true);
    assert.deepEqual([w.ok, w.weight], [true, 50]);
    const zero = await run(2, true);
    assert.deepEqual([zero.ok, zero.weight], [true, 0]);
    // The config may ask for it per check, too.
    const perCheck = await external.run(checkTarget('10.1.0.6', 80), { ...checkConfig({ type: 'external', command: [s], request: '12' }), dynamic: true } as ReturnType<typeof checkConfig>, signal);
    assert.equal(perCheck.weight, 10);
  });

  it('a checkcommand with arguments fails as in ldirectord (no shell splits it)', async () => {
    const s = script('real.sh', 'exit 0');
    const r = await external.run(checkTarget('10.1.0.7', 80), checkConfig({ type: 'external', command: [`${s} --flag`] }), signal);
    assert.equal(r.ok, false);
    assert.match(r.detail, /ENOENT/);
  });

  it('external-perl: exit(n), normal return and die', async () => {
    const perl = createExternalChecker({ perl: true });
    const p = join(dir, 'check.pl');
    writeFileSync(p, 'my ($vip, $vport, $rip, $rport) = @ARGV;\nprint "perl saw $rip:$rport\\n";\nexit(0) if $rport == 80;\ndie "broken\\n" if $rport == 81;\nexit(3);\n');
    const ok = await perl.run(checkTarget('10.1.0.8', 80), checkConfig({ type: 'external-perl', command: [p] }), signal);
    assert.equal(ok.ok, true, ok.detail);
    assert.match(ok.detail, /perl saw 10\.1\.0\.8:80/);
    assert.equal((await perl.run(checkTarget('10.1.0.8', 81), checkConfig({ type: 'external-perl', command: [p] }), signal)).ok, false);
    assert.equal((await perl.run(checkTarget('10.1.0.8', 82), checkConfig({ type: 'external-perl', command: [p] }), signal)).ok, false);
  });

  it('a hung script (with a child) times out at checktimeout, its process group dies, and other checks keep their schedule', async () => {
    const pidFile = join(dir, 'child.pid');
    const hung = script('hung.sh', `sleep 1000 &\necho $! > ${pidFile}\nsleep 1000`);
    const quick = script('quick.sh', 'exit 0');
    const monitor = createHealthMonitor({ clock: systemClock, logger: new MemoryLogger() });
    const transitions: HealthTransition[] = [];
    monitor.onTransition((t) => transitions.push(t));
    const slow = healthTarget('v', '10.1.0.9', 80, checkConfig({ type: 'external', command: [hung], timeoutMs: 1200, intervalMs: 60_000, initialState: 'up' }));
    const fast = healthTarget('v', '10.1.0.10', 80, checkConfig({ type: 'external', command: [quick], intervalMs: 200 }));
    monitor.setTargets([slow, fast]);
    const t0 = performance.now();
    monitor.start();
    const fastTimes: number[] = [];
    let last: number | undefined;
    const poll = setInterval(() => {
      const at = monitor.snapshot(fast.key)?.lastCheckedAt;
      if (at !== undefined && at !== last) {
        last = at;
        fastTimes.push(at - t0);
      }
    }, 5);
    try {
      await waitUntil(() => transitions.some((t) => t.key === slow.key && t.to === 'down'), 5000, 'hung check to time out');
      const down = transitions.find((t) => t.key === slow.key);
      const tookMs = (down?.at ?? 0) - t0;
      assert.ok(tookMs >= 1150 && tookMs < 2500, `timed out after ${tookMs} ms`);
      assert.match(down?.result.detail ?? '', /timed out after 1200 ms \(process group killed\)/);
      const child = Number(readFileSync(pidFile, 'utf8').trim());
      await waitUntil(() => !alive(child), 3000, `grandchild ${child} to die`);
      // While the hung script ran (0..1.2 s), the fast check ran every ~200 ms.
      const during = fastTimes.filter((t) => t < 1200);
      assert.ok(during.length >= 4, `fast check ran ${during.length} times during the hang: ${fastTimes.map(Math.round).join(',')}`);
      const gaps = during.slice(1).map((t, i) => t - (during[i] ?? 0));
      assert.ok(Math.max(...gaps) < 500, `largest gap ${Math.max(...gaps)} ms`);
    } finally {
      clearInterval(poll);
      await monitor.close();
    }
  });

  describe('shipped scripts in checks/', () => {
    let web: http.Server;
    let webPort: number;
    let dns: RunningServer;
    before(async () => {
      web = http.createServer((req, res) => {
        if (req.url === '/health' && req.headers.host === 'shop.test') res.end('shop is fine\n');
        else if (req.url === '/health') res.end('fine\n');
        else {
          res.statusCode = 500;
          res.end('broken');
        }
      });
      await new Promise<void>((r) => web.listen(0, '127.20.10.1', r));
      webPort = (web.address() as AddressInfo).port;
      dns = await startUnbound('127.20.10.2', { 'app.test': '192.0.2.77' });
    });
    after(async () => {
      await new Promise((r) => web.close(r));
      await dns?.stop();
    });

    const runScript = (name: string, address: string, port: number, extra: Parameters<typeof checkConfig>[0] = {}) =>
      external.run(checkTarget(address, port), checkConfig({ type: 'external', command: [join(CHECKS, name)], ...extra }), signal);

    it('check_http.sh: 2xx + receive + virtualhost', async () => {
      assert.equal((await runScript('check_http.sh', '127.20.10.1', webPort, { request: '/health', receive: '^fine$' })).ok, true);
      assert.equal((await runScript('check_http.sh', '127.20.10.1', webPort, { request: '/health', receive: '^shop', virtualHost: 'shop.test' })).ok, true);
      assert.equal((await runScript('check_http.sh', '127.20.10.1', webPort, { request: '/health', receive: '^shop' })).ok, false);
      assert.equal((await runScript('check_http.sh', '127.20.10.1', webPort, { request: '/other' })).ok, false);
    });

    it('check_tcp.sh: open port up, closed port down', async () => {
      assert.equal((await runScript('check_tcp.sh', '127.20.10.1', webPort)).ok, true);
      assert.equal((await runScript('check_tcp.sh', '127.20.10.1', 1)).ok, false);
    });

    it('check_dns.sh against unbound', async () => {
      const up = await runScript('check_dns.sh', dns.host, dns.port, { request: '/app.test', receive: '^192\\.0\\.2\\.77$' });
      assert.equal(up.ok, true, up.detail);
      assert.equal((await runScript('check_dns.sh', dns.host, dns.port, { request: '/app.test', receive: '^10\\.' })).ok, false);
      assert.equal((await runScript('check_dns.sh', dns.host, dns.port, { request: '/missing.test' })).ok, false);
    });
  });
});
