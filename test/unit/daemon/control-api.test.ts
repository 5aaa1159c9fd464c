import assert from 'node:assert/strict';
import type { ClusterConfig } from '../../../src/config/model.js';
import { ManualClock } from '../../../src/core/clock.js';
import { DirectorError } from '../../../src/core/errors.js';
import type { RealSelector } from '../../../src/control/api.js';
import { DaemonControlApi, describePeer, ipvsServiceId, type AdminDirector } from '../../../src/daemon/control-api.js';
import type { RealStatus } from '../../../src/director/status.js';

/** A director stand-in that records admin calls and reports one virtual with two reals. */
function fakeDirector(calls: string[], opts: { refuse?: number } = {}): AdminDirector {
  const real = (key: string, extra: Partial<RealStatus> = {}): RealStatus =>
    ({ virtualId: 'tcp:127.50.4.1:80', key, address: key.split(':')[0], port: 80, forward: 'masq', configuredWeight: 1, health: 'up', maintenance: false, history: [], ...extra }) as RealStatus;
  const sel = (s: RealSelector): string => `${s.virtualId ?? '*'}/${s.realKey}`;
  return {
    status: () => ({
      startedAt: 0,
      configFiles: [],
      vrrp: [],
      reloads: { ok: 0, failed: 0 },
      virtuals: [{ id: 'tcp:127.50.4.1:80', protocol: 'tcp', family: 4, port: 80, scheduler: 'rr', fallbackActive: false, quorumUp: true, reals: [real('127.50.4.2:80'), real('127.50.4.3:80')] }],
    }),
    engineStats: () => ({ services: [] }),
    connections: () => [],
    enable: (s, by) => void calls.push(`enable ${sel(s)} by ${by}`),
    disable: (s, by) => void calls.push(`disable ${sel(s)} by ${by}`),
    setWeight: (s, w, by) => void calls.push(`weight ${w} ${sel(s)} by ${by}`),
    drain: () => {
      throw new Error('not used');
    },
    checkNow: async () => [],
    failover: async () => [],
    runtimeEdit: async (commands, by) => {
      if (opts.refuse !== undefined) return { ok: false, index: opts.refuse, error: new DirectorError('DIR_ERR_CONTROL_SERVICE_EXISTS', { service: 'x' }) };
      calls.push(`edit ${commands.map((c) => c.op).join(',')} by ${by}`);
      return { ok: true, applied: commands.length };
    },
    currentConfig: () =>
      ({
        virtualServices: [{ id: 'tcp:127.50.4.1:80', l7Rules: [{ pattern: '^/api/', reals: ['127.50.4.2:80'], location: { file: 'x', line: 1, column: 1 } }], timeouts: { tcpMs: 60_000, tcpFinMs: 120_000, udpMs: 300_000 } }],
      }) as unknown as ClusterConfig, // only the fields the adapter reads
  };
}

const peer = { transport: 'unix' as const, uid: 0, user: 'root', pid: 42, pidVerified: true, connection: 1 };
const ctx = { peer, signal: new AbortController().signal };
const svc = { protocol: 'tcp' as const, address: '127.50.4.1', port: 80 };

describe('daemon/control-api', () => {
  it('names peers for the audit trail', () => {
    assert.equal(describePeer(peer), 'control(uid=0 user=root pid=42)');
    assert.equal(describePeer({ ...peer, pidVerified: false, user: undefined }), 'control(uid=0 pid=42?)');
    assert.equal(describePeer(undefined), 'in-process');
  });

  it('maps ipvsadm service references to config virtual ids', () => {
    assert.equal(ipvsServiceId(svc), 'tcp:127.50.4.1:80');
    assert.equal(ipvsServiceId({ protocol: 'udp', address: '2001:db8::1', port: 53 }), 'udp:[2001:db8::1]:53');
    assert.equal(ipvsServiceId({ protocol: 'fwm', fwmark: 7, family: 6 }), 'fwm6:7');
  });

  it('hands an ipvsadm batch to the director as one all-or-nothing edit, naming the peer', async () => {
    const calls: string[] = [];
    const api = new DaemonControlApi({ director: fakeDirector(calls), daemon: { reload: async () => ({ ok: true, summary: '' }), config: undefined }, clock: new ManualClock(), version: 't' });
    const commands = [
      { op: 'edit-real', service: svc, real: { address: '127.50.4.2', port: 80 }, options: { weight: 0 } },
      { op: 'delete-real', service: svc, real: { address: '127.50.4.3', port: 80 } },
    ] as const;
    const r = await api.ipvsadm(commands, ctx);
    assert.deepEqual(r, { applied: 2, ok: true, outcomes: [{ index: 0, ok: true }, { index: 1, ok: true }] });
    assert.deepEqual(calls, ['edit edit-real,delete-real by control(uid=0 user=root pid=42)']);
  });

  it('reports a refused batch with the refused index and applied 0 (nothing changed)', async () => {
    const calls: string[] = [];
    const api = new DaemonControlApi({ director: fakeDirector(calls, { refuse: 1 }), daemon: { reload: async () => ({ ok: true, summary: '' }), config: undefined }, clock: new ManualClock(), version: 't' });
    const r = await api.ipvsadm(
      [
        { op: 'add-service', service: { ...svc, port: 81 }, options: {} },
        { op: 'add-service', service: { ...svc, port: 81 }, options: {} },
      ],
      ctx,
    );
    assert.equal(r.ok, false);
    assert.equal(r.applied, 0);
    assert.deepEqual(r.outcomes.map((o) => [o.index, o.ok, o.error?.code]), [[1, false, 'DIR_ERR_CONTROL_SERVICE_EXISTS']]);
  });

  it('serves L7 rules and timeouts from the effective table', async () => {
    const api = new DaemonControlApi({ director: fakeDirector([]), daemon: { reload: async () => ({ ok: true, summary: '' }), config: undefined }, clock: new ManualClock(), version: 't' });
    assert.deepEqual(await api.l7Rules(), [{ virtualId: 'tcp:127.50.4.1:80', rules: [{ pattern: '^/api/', reals: ['127.50.4.2:80'] }] }]);
    assert.deepEqual(await api.timeouts(), { tcpMs: 60_000, tcpFinMs: 120_000, udpMs: 300_000 });
  });
});
