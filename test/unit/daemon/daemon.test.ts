// Daemon lifecycle logic with recording stand-ins for the parts (the real parts are exercised
// end to end in test/integration/daemon/): start and stop order, reload refusal and
// serialisation, config change detection (mtime, then content hash) with callback, schedules.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../src/core/clock.js';
import { MemoryLogger } from '../../../src/core/logger.js';
import type { ClusterConfig } from '../../../src/config/model.js';
import type { ControlApi } from '../../../src/control/api.js';
import { loadConfig } from '../../../src/daemon/config-loader.js';
import { Daemon, type DaemonComponents, type DirectorHandle, type RunCommandFn } from '../../../src/daemon/daemon.js';
import type { ExecResult } from '../../../src/sys/exec.js';

const NET = '127.50.3';

function cf(extra: string, weight = 1): string {
  return `checkinterval=1\n${extra}\nvirtual=${NET}.1:80\n\treal=${NET}.2:80 masq ${weight}\n\tchecktype=connect\n`;
}

/** Records calls of every part, in order. */
function recordingComponents(calls: string[], options: { reloadDelay?: () => Promise<void> } = {}): DaemonComponents {
  const part = (name: string) => ({
    start: async () => void calls.push(`${name}.start`),
    close: async (arg?: unknown) => void calls.push(arg === undefined ? `${name}.close` : `${name}.close(${String(arg)})`),
    destroy: () => void calls.push(`${name}.destroy`),
  });
  const emptyStats = { services: [{ key: `tcp:${NET}.1:80`, counters: { conns: 7, inPackets: 0, outPackets: 0, inBytes: 10, outBytes: 20 }, reals: [] }] };
  return {
    createEngine: () => ({ kind: 'embedded', ...part('engine'), apply: async () => ({ added: 0, updated: 0, removed: 0, failures: [] }), stats: () => ({ services: [] }), connections: () => [] }),
    createHealth: () =>
      ({ ...part('health'), start: () => void calls.push('health.start'), setTargets: () => undefined, onTransition: () => () => undefined, snapshot: () => undefined, snapshots: () => [], checkNow: async () => ({ ok: true, detail: '', durationMs: 0 }) }) as never,
    createVrrp: () => ({ ...part('vrrp'), onStateChange: () => () => undefined, status: () => [], relinquish: async () => undefined }),
    createDirector: (): DirectorHandle => ({
      ...part('director'),
      reload: async (c: ClusterConfig) => {
        calls.push(`director.reload(w=${c.virtualServices[0]?.reals[0]?.weight})`);
        await options.reloadDelay?.();
      },
      recordReloadFailure: (e: Error) => void calls.push(`director.recordReloadFailure(${e.message})`),
      status: () => ({ startedAt: 0, configFiles: [], vrrp: [], virtuals: [], reloads: { ok: 0, failed: 0 } }),
      engineStats: () => emptyStats as never,
      connections: () => [],
    }),
    createControlApi: () => ({ engineStats: () => emptyStats }) as unknown as ControlApi,
    startControlServer: async () => {
      calls.push('control.start');
      return part('control');
    },
    startHttpServer: async (opts) => {
      calls.push(`http.start(${opts.listen.address.text}:${opts.listen.port})`);
      return part('http');
    },
  };
}

describe('daemon/Daemon lifecycle', () => {
  let dir: string;
  let path: string;
  let logger: MemoryLogger;
  let calls: string[];
  let commands: (readonly string[])[];
  const runCommand: RunCommandFn = async (argv) => {
    commands.push(argv);
    return { exitCode: 0, signal: null, stdout: '', stderr: '', timedOut: false, truncated: false, durationMs: 1 } satisfies ExecResult;
  };
  const make = (components = recordingComponents(calls), clock = new ManualClock()): Daemon =>
    new Daemon({
      executeCommand: (name, action) => ['directord', name, action],
      configPath: path,
      clock,
      logger,
      loadConfig,
      components,
      runCommand,
      overrides: { controlSocket: join(dir, 'c.sock'), httpListen: '127.0.0.1:19999', drainDeadlineMs: 1234 },
    });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'directord-daemon-'));
    path = join(dir, 'd.cf');
    logger = new MemoryLogger();
    calls = [];
    commands = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('starts engine → director → checks → VRRP → control → HTTP, and stops VRRP first, then drains the engine', async () => {
    writeFileSync(path, cf(''));
    const d = make();
    await d.start();
    assert.deepEqual(calls, ['engine.start', 'director.start', 'health.start', 'vrrp.start', 'control.start', 'http.start(127.0.0.1:19999)']);
    assert.equal(d.phase, 'running');
    calls.length = 0;
    await Promise.all([d.close('SIGTERM'), d.close('SIGTERM')]);
    assert.deepEqual(calls, ['vrrp.close', 'director.close', 'health.close', 'engine.close(1234)', 'http.close', 'control.close']);
    assert.ok(logger.records.some((r) => r.message === 'directord terminated on signal: SIGTERM'));
    assert.equal(d.phase, 'stopped');
  });

  it('a failed start undoes what started and rethrows', async () => {
    writeFileSync(path, cf(''));
    const components = recordingComponents(calls);
    components.startControlServer = async () => {
      throw new Error('socket in use');
    };
    await assert.rejects(make(components).start(), /socket in use/);
    assert.ok(['vrrp.destroy', 'director.destroy', 'health.destroy', 'engine.destroy'].every((c) => calls.includes(c)), calls.join(' '));
  });

  it('a broken config at start is a coded error listing file:line:col', async () => {
    writeFileSync(path, cf('checktimeout=never'));
    await assert.rejects(make().start(), (e: { code?: string; message: string }) => e.code === 'DIR_ERR_DAEMON_CONFIG_INVALID' && /d\.cf:2:\d+: DIR_ERR_CONFIG_/.test(e.message));
    assert.deepEqual(calls, []);
  });

  it('reload: a good file goes to director.reload; a broken one is refused whole and the old config stays', async () => {
    writeFileSync(path, cf('', 1));
    const d = make();
    await d.start();
    const first = d.config;
    writeFileSync(path, cf('', 5));
    const ok = await d.reload('signal SIGHUP');
    assert.equal(ok.ok, true);
    assert.match(ok.summary, /1 virtual service\(s\): 0 added, 1 changed, 0 removed/);
    assert.notEqual(d.config, first);
    writeFileSync(path, cf('quiescent=perhaps', 9));
    const bad = await d.reload('signal SIGHUP');
    assert.equal(bad.ok, false);
    assert.equal(bad.errors?.[0]?.file, path);
    assert.equal(bad.errors?.[0]?.line, 2);
    assert.match(bad.errors?.[0]?.code ?? '', /^DIR_ERR_CONFIG_/);
    assert.equal(d.config?.virtualServices[0]?.reals[0]?.weight, 5, 'the old config is still in effect');
    assert.deepEqual(calls.filter((c) => c.startsWith('director.reload')), ['director.reload(w=5)']);
    const failures = calls.filter((c) => c.startsWith('director.recordReloadFailure('));
    assert.equal(failures.length, 1);
    assert.ok(failures[0]?.startsWith(`director.recordReloadFailure(${path}:2:`), failures[0]);
    assert.ok(logger.records.some((r) => r.level === 'error' && r.message.startsWith(`reload refused: ${path}:2:`)));
    await d.close();
  });

  it('reloads are serialised: requests during a reload share one more run afterwards', async () => {
    writeFileSync(path, cf('', 1));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const d = make(recordingComponents(calls, { reloadDelay: () => gate }));
    await d.start();
    writeFileSync(path, cf('', 2));
    const a = d.reload('one');
    // Wait (bounded) until the first reload has read the file and is held inside director.reload.
    for (const end = Date.now() + 3000; !calls.includes('director.reload(w=2)') && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
    assert.ok(calls.includes('director.reload(w=2)'));
    writeFileSync(path, cf('', 3));
    const b = d.reload('two');
    const c = d.reload('three');
    release();
    await Promise.all([a, b, c]);
    assert.deepEqual(calls.filter((x) => x.startsWith('director.reload')), ['director.reload(w=2)', 'director.reload(w=3)']);
    await d.close();
  });

  it('change detection: mtime alone is not a change; new content is logged, runs callback, and reloads only with autoreload', async () => {
    const callback = join(dir, 'cb.sh');
    writeFileSync(path, cf(`autoreload=no\ncallback="${callback}"`));
    const clock = new ManualClock();
    const d = make(recordingComponents(calls), clock);
    await d.start();
    await d.pollConfig();
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    await d.pollConfig();
    assert.equal(commands.length, 0, 'touch without a content change does nothing');
    writeFileSync(path, cf(`autoreload=no\ncallback="${callback}"`, 2));
    utimesSync(path, new Date(), new Date(Date.now() + 10_000));
    await d.pollConfig();
    assert.ok(logger.records.some((r) => r.message === `Configuration file '${path}' has changed on disk - ignore new configuration`));
    assert.deepEqual(commands, [[callback, path]]);
    assert.equal(calls.filter((c) => c.startsWith('director.reload')).length, 0);
    await d.close();

    // autoreload=yes: the same change reloads (found by the poll timer on the injected clock).
    calls.length = 0;
    writeFileSync(path, cf('autoreload=yes'));
    const clock2 = new ManualClock();
    const d2 = make(recordingComponents(calls), clock2);
    await d2.start();
    writeFileSync(path, cf('autoreload=yes', 7));
    utimesSync(path, new Date(), new Date(Date.now() + 20_000));
    clock2.advance(d2.config?.daemon.autoreloadIntervalMs ?? 0);
    const end = Date.now() + 3000;
    while (!calls.includes('director.reload(w=7)') && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.ok(calls.includes('director.reload(w=7)'), calls.join(' '));
    assert.ok(logger.records.some((r) => r.message.endsWith('has changed on disk - reread new configuration')));
    await d2.close();
  });

  it('runs cron schedules through node-cron (a stats snapshot to the log) and refuses a bad cron at reload', async function () {
    this.timeout(5000);
    const toml = join(dir, 'd.toml');
    path = toml;
    const body = (cron: string): string =>
      `[[daemon.schedule]]\nname = "snap"\ncron = "${cron}"\naction = "snapshot"\n\n[[virtual]]\naddress = "${NET}.1:80"\n  [virtual.check]\n  type = "connect"\n  [[virtual.real]]\n  address = "${NET}.2:80"\n`;
    writeFileSync(toml, body('* * * * * *'));
    const d = make();
    await d.start();
    const end = Date.now() + 2500;
    while (!logger.records.some((r) => r.message.startsWith(`stats tcp:${NET}.1:80: conns=7`)) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.ok(logger.records.some((r) => r.message.startsWith(`stats tcp:${NET}.1:80: conns=7 inbytes=10 outbytes=20`)), 'snapshot logged');
    assert.ok(logger.records.some((r) => r.message === 'audit: snapshot by schedule "snap"'));
    writeFileSync(toml, body('0 3 * * 8'));
    const r = await d.reload('test');
    assert.equal(r.ok, false);
    assert.equal(r.errors?.[0]?.code, 'DIR_ERR_DAEMON_SCHEDULE_CRON');
    assert.equal(r.errors?.[0]?.line, 1);
    await d.close();
  });

  it('runs execute= children like ldirectord: start after ours, reload/start/stop on reload, stop first on close', async () => {
    writeFileSync(path, cf('execute=web.cf\nexecute=mail.cf'));
    const d = make();
    await d.start();
    assert.deepEqual(commands, [['directord', 'web.cf', 'start'], ['directord', 'mail.cf', 'start']]);
    commands.length = 0;
    writeFileSync(path, cf('execute=mail.cf\nexecute=dns.cf'));
    assert.equal((await d.reload('test')).ok, true);
    assert.deepEqual(commands, [['directord', 'web.cf', 'stop'], ['directord', 'mail.cf', 'reload'], ['directord', 'dns.cf', 'start']]);
    commands.length = 0;
    calls.length = 0;
    await d.close();
    assert.deepEqual(commands, [['directord', 'mail.cf', 'stop'], ['directord', 'dns.cf', 'stop']]);
    assert.equal(calls[0], 'vrrp.close', 'children are stopped before our own parts');
  });
});
