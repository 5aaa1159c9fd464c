/**
 * A fake of the daemon's ControlApi for testing the control/CLI rendering layer: fixed status and
 * stats, admin calls recorded, a drain whose connection count the test steps. The daemon's own
 * tests cover the real wiring end to end.
 */
import type {
  ChangeResult,
  CheckNowResult,
  ConnectionTimeouts,
  ControlApi,
  ControlCallContext,
  DrainOptions,
  DrainProgress,
  DrainResult,
  FailoverResult,
  IpvsBatchResult,
  IpvsCommand,
  L7ServiceRules,
  RealSelector,
  ReloadResult,
  VersionInfo,
} from '../../../src/control/api.js';
import { DirectorError } from '../../../src/core/errors.js';
import type { DirectorStatus } from '../../../src/director/status.js';
import type { ConnectionEntry, EngineStats } from '../../../src/engine/model.js';
import { counters, rates, real, service } from '../cli/stats-builders.js';

export const STARTED_AT = Date.UTC(2026, 10, 21, 12, 0, 0);

export function sampleStatus(): DirectorStatus {
  return {
    startedAt: STARTED_AT,
    configFiles: ['/etc/ha.d/ldirectord.cf'],
    role: 'MASTER',
    phase: 'running',
    vrrp: [
      {
        name: 'VI_1',
        state: 'MASTER',
        vrid: 51,
        interface: 'eth0',
        basePriority: 150,
        effectivePriority: 150,
        transitions: 3,
        dropped: { ttl: 1 },
        advertsSent: 1200,
        advertsReceived: 10,
      },
      {
        name: 'VI_2',
        state: 'BACKUP',
        vrid: 52,
        interface: 'eth0',
        basePriority: 100,
        effectivePriority: 90,
        masterAddress: '192.0.2.252',
        transitions: 1,
        dropped: {},
        advertsSent: 3,
        advertsReceived: 1500,
      },
    ],
    virtuals: [
      {
        id: 'tcp:192.0.2.1:80',
        protocol: 'tcp',
        family: 4,
        address: '192.0.2.1',
        port: 80,
        scheduler: 'wlc',
        fallbackActive: false,
        quorumUp: true,
        reals: [
          {
            virtualId: 'tcp:192.0.2.1:80',
            key: '192.0.2.10:80',
            address: '192.0.2.10',
            port: 80,
            forward: 'masq',
            configuredWeight: 3,
            engineWeight: 3,
            health: 'up',
            maintenance: false,
            lastCheck: { ok: true, detail: 'HTTP 200 in 3 ms', durationMs: 3, at: STARTED_AT + 50_000 },
            history: [
              { at: STARTED_AT + 1_000, status: 'down', detail: 'connect ECONNREFUSED' },
              { at: STARTED_AT + 20_000, status: 'up', detail: 'HTTP 200 in 4 ms' },
            ],
          },
          {
            virtualId: 'tcp:192.0.2.1:80',
            key: '192.0.2.11:80',
            address: '192.0.2.11',
            port: 80,
            forward: 'masq',
            configuredWeight: 1,
            engineWeight: 0,
            health: 'down',
            maintenance: false,
            override: { kind: 'disabled', since: STARTED_AT + 30_000, by: 'control(uid=0 user=root pid=4242)' },
            lastCheck: { ok: false, detail: 'timed out after 5000 ms', durationMs: 5000, at: STARTED_AT + 55_000 },
            history: [{ at: STARTED_AT + 2_000, status: 'down', detail: 'timed out after 5000 ms' }],
          },
        ],
      },
      {
        id: 'fwm:1',
        protocol: 'fwm',
        family: 4,
        port: 0,
        fwmark: 1,
        scheduler: 'rr',
        fallbackActive: true,
        quorumUp: false,
        reals: [],
      },
    ],
    reloads: { ok: 2, failed: 1, lastError: 'ldirectord.cf:12:3: DIR_ERR_CONFIG_SYNTAX ...' },
  };
}

export function sampleStats(): EngineStats {
  return {
    services: [
      service(
        'tcp',
        '192.0.2.1',
        80,
        'wlc',
        [
          real('192.0.2.10', 80, 'masq', 3, 12, 40, { counters: counters(1500, 20000, 18000, 2_000_000, 30_000_000), rates: rates(5.4, 80, 70, 9000, 120000) }),
          real('192.0.2.11', 80, 'masq', 0, 0, 2, { counters: counters(10, 100, 90, 10_000, 150_000), rates: rates(0, 0, 0, 0, 0) }),
        ],
        { counters: counters(1510, 20100, 18090, 2_010_000, 30_150_000), rates: rates(5.4, 80, 70, 9000, 120000), errors: { noRealAvailable: 2, connectFailures: 7 } },
      ),
      {
        ...service('udp', '2001:db8::1', 53, 'rr', [real('2001:db8::10', 53, 'gate', 1, 0, 4)]),
        ops: true,
      },
    ],
  };
}

export function sampleConnections(): ConnectionEntry[] {
  return [
    {
      protocol: 'TCP',
      state: 'ESTABLISHED',
      expiresInMs: 899_000,
      source: '198.51.100.7:40312',
      virtual: '192.0.2.1:80',
      destination: '192.0.2.10:80',
      template: false,
      serviceKey: 'tcp:192.0.2.1:80',
    },
  ];
}

export interface RecordedCall {
  readonly method: string;
  readonly args: unknown[];
  readonly ctx?: ControlCallContext;
}

/** A drain the test controls: `step(n)` reports n connections; `finish()` ends it. */
export interface DrainControl {
  readonly started: Promise<void>;
  step(conns: number): void;
  finish(outcome: DrainResult['outcome']): void;
}

export class FakeControlApi implements ControlApi {
  readonly calls: RecordedCall[] = [];
  status: () => DirectorStatus = sampleStatus;
  stats: () => EngineStats = sampleStats;
  failNext: Error | undefined;
  private drainControl: DrainControl | undefined;
  private drainHooks: { onProgress: (p: DrainProgress) => void; resolve: (r: DrainResult) => void; selector: RealSelector; deadlineMs: number } | undefined;
  private startedResolve: (() => void) | undefined;

  /** Prepares the next drain call to be stepped by the test. */
  controlNextDrain(): DrainControl {
    const started = new Promise<void>((resolve) => (this.startedResolve = resolve));
    this.drainControl = {
      started,
      step: (conns) => {
        const h = this.drainHooks;
        if (!h) throw new Error('drain not started');
        h.onProgress({ virtualId: 'tcp:192.0.2.1:80', realKey: h.selector.realKey, activeConns: conns, inactiveConns: 0, persistentConns: 0, remainingMs: h.deadlineMs });
      },
      finish: (outcome) => {
        const h = this.drainHooks;
        if (!h) throw new Error('drain not started');
        h.resolve({ outcome, affected: [{ virtualId: 'tcp:192.0.2.1:80', realKey: h.selector.realKey }], remainingConns: outcome === 'drained' ? 0 : 3, elapsedMs: 1234 });
      },
    };
    return this.drainControl;
  }

  private record(method: string, args: unknown[], ctx?: ControlCallContext): void {
    this.calls.push(ctx ? { method, args, ctx } : { method, args });
    const fail = this.failNext;
    if (fail) {
      this.failNext = undefined;
      throw fail;
    }
  }

  engineStats(): EngineStats {
    return this.stats();
  }
  connections(): readonly ConnectionEntry[] {
    return sampleConnections();
  }
  timeouts(): ConnectionTimeouts {
    return { tcpMs: 900_000, tcpFinMs: 120_000, udpMs: 300_000 };
  }
  version(): VersionInfo {
    return { version: '0.1.0-test', protocol: 1, engine: 'embedded', ipvsVersion: '1.2.1', connTableSize: 4096 };
  }
  l7Rules(): readonly L7ServiceRules[] {
    return [{ virtualId: 'tcp:192.0.2.1:80', rules: [{ pattern: '/images/.*', reals: ['192.0.2.10:80'] }, { pattern: '.*', reals: ['192.0.2.11:80'] }] }];
  }
  async reload(ctx?: ControlCallContext): Promise<ReloadResult> {
    this.record('reload', [], ctx);
    return { ok: true, summary: '1 virtual changed' };
  }
  private change(method: string, selector: RealSelector, extra: unknown[], ctx?: ControlCallContext): ChangeResult {
    this.record(method, [selector, ...extra], ctx);
    if (selector.realKey === '203.0.113.99:80') {
      throw new DirectorError('DIR_ERR_CONTROL_NO_SUCH_REAL', { real: selector.realKey, where: '' });
    }
    return { affected: [{ virtualId: selector.virtualId ?? 'tcp:192.0.2.1:80', realKey: selector.realKey }], summary: `${method} ${selector.realKey}` };
  }
  async enable(selector: RealSelector, ctx?: ControlCallContext): Promise<ChangeResult> {
    return this.change('enable', selector, [], ctx);
  }
  async disable(selector: RealSelector, ctx?: ControlCallContext): Promise<ChangeResult> {
    return this.change('disable', selector, [], ctx);
  }
  async setWeight(selector: RealSelector, weight: number, ctx?: ControlCallContext): Promise<ChangeResult> {
    return this.change('setWeight', selector, [weight], ctx);
  }
  drain(selector: RealSelector, options: DrainOptions, onProgress: (p: DrainProgress) => void, ctx?: ControlCallContext): Promise<DrainResult> {
    this.record('drain', [selector, options], ctx);
    return new Promise((resolve) => {
      this.drainHooks = { onProgress, resolve, selector, deadlineMs: options.deadlineMs ?? 30_000 };
      ctx?.signal.addEventListener('abort', () => resolve({ outcome: 'cancelled', affected: [], remainingConns: 1, elapsedMs: 0 }));
      this.startedResolve?.();
      if (!this.drainControl) {
        // Uncontrolled: drains at once.
        onProgress({ virtualId: 'tcp:192.0.2.1:80', realKey: selector.realKey, activeConns: 0, inactiveConns: 0, persistentConns: 0, remainingMs: 0 });
        resolve({ outcome: 'drained', affected: [{ virtualId: 'tcp:192.0.2.1:80', realKey: selector.realKey }], remainingConns: 0, elapsedMs: 5 });
      }
      this.drainControl = undefined;
    });
  }
  async checkNow(selector: RealSelector, ctx?: ControlCallContext): Promise<readonly CheckNowResult[]> {
    this.record('checkNow', [selector], ctx);
    return [{ virtualId: 'tcp:192.0.2.1:80', realKey: selector.realKey, result: { ok: selector.realKey !== '192.0.2.11:80', detail: 'HTTP 200 in 2 ms', durationMs: 2 } }];
  }
  async failover(instance: string | undefined, ctx?: ControlCallContext): Promise<FailoverResult> {
    this.record('failover', [instance], ctx);
    return { instances: [instance ?? 'VI_1'], summary: `gave up mastership of ${instance ?? 'VI_1'}` };
  }
  async ipvsadm(commands: readonly IpvsCommand[], ctx?: ControlCallContext): Promise<IpvsBatchResult> {
    this.record('ipvsadm', [commands], ctx);
    const failAt = commands.findIndex((c) => c.op === 'delete-service' && c.service.protocol === 'tcp' && c.service.address === '10.200.8.100');
    if (failAt >= 0) {
      const e = new DirectorError('DIR_ERR_CONTROL_NO_SUCH_SERVICE', { service: 'tcp 10.200.8.100:25' });
      return {
        ok: false,
        applied: failAt,
        outcomes: commands.slice(0, failAt + 1).map((_, index) => (index === failAt ? { index, ok: false, error: { code: e.code, message: e.message, hint: e.hint } } : { index, ok: true })),
      };
    }
    return { ok: true, applied: commands.length, outcomes: commands.map((_, index) => ({ index, ok: true })) };
  }
}
