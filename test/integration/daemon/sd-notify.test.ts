import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../src/core/clock.js';
import { MemoryLogger } from '../../../src/core/logger.js';
import { SdNotifier } from '../../../src/daemon/sd-notify.js';
import { startNotifySocket, waitFor, type NotifySocket } from './support/helpers.js';
import { skipBecause } from '../../support/skip.js';

describe('daemon/sd-notify over a real AF_UNIX datagram socket (systemd-notify helper)', function () {
  this.timeout(20_000);
  let dir: string;
  let sock: NotifySocket | undefined;

  before(function () {
    if (!(process.env.PATH ?? '').split(':').some((d) => existsSync(`${d}/systemd-notify`))) {
      skipBecause(this, 'systemd-notify(1) is not installed (Debian package "systemd")');
    }
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'directord-notify-'));
    sock = await startNotifySocket(join(dir, 'notify.sock'));
  });
  afterEach(() => {
    sock?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends READY, RELOADING with MONOTONIC_USEC, READY, STOPPING in order, naming our pid as MAINPID', async () => {
    const logger = new MemoryLogger();
    const n = new SdNotifier({ clock: new ManualClock(), logger, env: { NOTIFY_SOCKET: sock!.path, PATH: process.env.PATH }, pid: 4242 });
    assert.equal(n.enabled, true);
    await n.ready('running: 1 virtual service(s)');
    const before = process.hrtime.bigint() / 1000n;
    await n.reloading();
    await n.reloaded('running: reloaded');
    await n.stopping();
    await n.close();
    await waitFor(() => sock!.messages.filter((m) => !m.text.startsWith('BARRIER')).length >= 4, 5000, 'four notifications');
    const texts = sock!.messages.map((m) => m.text).filter((t) => !t.startsWith('BARRIER'));
    assert.deepEqual(texts[0]?.split('\n'), ['MAINPID=4242', 'READY=1', 'STATUS=running: 1 virtual service(s)']);
    const reloading = texts[1]?.split('\n') ?? [];
    assert.ok(reloading.includes('RELOADING=1'), texts[1]);
    const usec = BigInt((reloading.find((l) => l.startsWith('MONOTONIC_USEC=')) ?? 'MONOTONIC_USEC=0').slice('MONOTONIC_USEC='.length));
    // CLOCK_MONOTONIC in microseconds: the same clock as hrtime, taken around the call.
    assert.ok(usec >= before && usec <= process.hrtime.bigint() / 1000n, `MONOTONIC_USEC ${usec} vs ${before}`);
    assert.ok(texts[2]?.split('\n').includes('READY=1'));
    assert.ok(texts[3]?.split('\n').includes('STOPPING=1'));
    assert.equal(logger.records.filter((r) => r.level === 'warn').length, 0);
  });

  it('pings WATCHDOG=1 at half of WATCHDOG_USEC, only for our pid', async () => {
    const clock = new ManualClock();
    const n = new SdNotifier({ clock, logger: new MemoryLogger(), env: { NOTIFY_SOCKET: sock!.path, WATCHDOG_USEC: '4000000', WATCHDOG_PID: '4242', PATH: process.env.PATH }, pid: 4242 });
    assert.equal(n.watchdogIntervalMs, 2000);
    await n.ready('up');
    clock.advance(1999);
    clock.advance(1);
    clock.advance(2000);
    await waitFor(() => sock!.messages.filter((m) => m.text === 'MAINPID=4242\nWATCHDOG=1').length === 2, 5000, 'two watchdog pings');
    await n.close();
    const other = new SdNotifier({ clock, logger: new MemoryLogger(), env: { NOTIFY_SOCKET: sock!.path, WATCHDOG_USEC: '4000000', WATCHDOG_PID: '1' }, pid: 4242 });
    assert.equal(other.watchdogIntervalMs, undefined);
  });

  it('does nothing without NOTIFY_SOCKET, and warns once when the helper fails', async () => {
    const off = new SdNotifier({ clock: new ManualClock(), logger: new MemoryLogger(), env: {} });
    assert.equal(off.enabled, false);
    await off.ready('x');
    const logger = new MemoryLogger();
    const broken = new SdNotifier({ clock: new ManualClock(), logger, env: { NOTIFY_SOCKET: join(dir, 'nobody-listens') }, helper: 'systemd-notify' });
    await broken.ready('x');
    await broken.stopping();
    assert.equal(logger.records.filter((r) => r.level === 'warn' && r.message.startsWith('sd_notify via systemd-notify failed')).length, 1);
    assert.equal(sock!.messages.length, 0);
  });
});
