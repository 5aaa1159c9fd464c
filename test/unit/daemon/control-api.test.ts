import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/core/clock.js';
import type { RealSelector } from '../../../src/control/api.js';
import { DaemonControlApi, describePeer, ipvsServiceId, type AdminDirector } from '../../../src/daemon/control-api.js';
import type { RealStatus } from '../../../src/director/status.js';

/** A director stand-in that records admin calls and reports one virtual with two reals. */
function fakeDirector(calls: string[], disabled = false): AdminDirector {
  const real = (key: string, extra: Partial<RealStatus> = {}): RealStatus =>
    ({ virtualId: 'tcp:127.50.4.1:80', key, address: key.split(':')[0], port: 80, forward: 'masq', configuredWeight: 1, health: 'up', maintenance: false, history: [], ...extra }) as RealStatus;
  const sel = (s: RealSelector): string => `${s.virtualId ?? '*'}/${s.realKey}`;
  return {
    status: () => ({
      startedAt: 0,
      configFiles: [],
      vrrp: [],
      reloads: { ok: 0, failed: 0 },
      virtuals: [{ id: 'tcp:127.50.4.1:80', protocol: 'tcp', family: 4, port: 80, scheduler: 'rr', fallbackActive: false, quorumUp: true, reals: [real('127.50.4.2:80', disabled ? { override: { kind: 'disabled', since: 0, by: 'x' } } : {}), real('127.50.4.3:80')] }],
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

  it('turns -e -w into a weight override, -d into disable, and stops a batch at the first failure (ipvsadm -R)', async () => {
    const calls: string[] = [];
    const api = new DaemonControlApi({ director: fakeDirector(calls), daemon: { reload: async () => ({ ok: true, summary: '' }), config: undefined }, clock: new ManualClock(), version: 't' });
    const r = await api.ipvsadm(
      [
        { op: 'edit-real', service: svc, real: { address: '127.50.4.2', port: 80 }, options: { weight: 0 } },
        { op: 'delete-real', service: svc, real: { address: '127.50.4.3', port: 80 } },
        { op: 'add-service', service: { ...svc, port: 81 }, options: {} },
        { op: 'delete-real', service: svc, real: { address: '127.50.4.2', port: 80 } },
      ],
      ctx,
    );
    assert.equal(r.ok, false);
    assert.equal(r.applied, 2);
    assert.deepEqual(r.outcomes.map((o) => [o.index, o.ok, o.error?.code]), [[0, true, undefined], [1, true, undefined], [2, false, 'DIR_ERR_DAEMON_NOT_SUPPORTED']]);
    assert.deepEqual(calls, ['weight 0 tcp:127.50.4.1:80/127.50.4.2:80 by control(uid=0 user=root pid=42)', 'disable tcp:127.50.4.1:80/127.50.4.3:80 by control(uid=0 user=root pid=42)']);
  });

  it('refuses unknown services and reals with the control codes, and -a of a live real as ipvsadm does', async () => {
    const calls: string[] = [];
    const api = new DaemonControlApi({ director: fakeDirector(calls), daemon: { reload: async () => ({ ok: true, summary: '' }), config: undefined }, clock: new ManualClock(), version: 't' });
    const codes = async (cmd: Parameters<typeof api.ipvsadm>[0][number]) => (await api.ipvsadm([cmd], ctx)).outcomes[0]?.error?.code;
    assert.equal(await codes({ op: 'delete-real', service: { ...svc, port: 99 }, real: { address: '127.50.4.2', port: 80 } }), 'DIR_ERR_CONTROL_NO_SUCH_SERVICE');
    assert.equal(await codes({ op: 'edit-real', service: svc, real: { address: '127.50.4.9', port: 80 }, options: { weight: 2 } }), 'DIR_ERR_CONTROL_NO_SUCH_REAL');
    assert.equal(await codes({ op: 'add-real', service: svc, real: { address: '127.50.4.2', port: 80 }, options: { weight: 1 } }), 'DIR_ERR_CONTROL_REAL_EXISTS');
    assert.equal(await codes({ op: 'edit-real', service: svc, real: { address: '127.50.4.2', port: 80 }, options: { forward: 'gate' } }), 'DIR_ERR_DAEMON_NOT_SUPPORTED');
    assert.deepEqual(calls, []);
    // -a of a real taken out with -d brings it back; the default weight 1 equals the config's, so nothing is pinned.
    const back: string[] = [];
    const api2 = new DaemonControlApi({ director: fakeDirector(back, true), daemon: { reload: async () => ({ ok: true, summary: '' }), config: undefined }, clock: new ManualClock(), version: 't' });
    assert.equal((await api2.ipvsadm([{ op: 'add-real', service: svc, real: { address: '127.50.4.2', port: 80 }, options: { weight: 1 } }], ctx)).ok, true);
    assert.deepEqual(back, ['enable tcp:127.50.4.1:80/127.50.4.2:80 by control(uid=0 user=root pid=42)']);
  });
});
