// VRRP interop against Debian's keepalived 2.2.7 in network namespaces (keepalived-spec section 8).
// "KA" = keepalived in ns ka (10.9.0.1), "US" = directord's VrrpController in ns us (10.9.0.2),
// "CL" = a client (10.9.0.100) whose neighbour cache shows who owns the VIP 10.9.0.50.
// One topology for the whole file; scenarios that follow on from each other share processes
// within a describe (mocha runs them in order). Every wait is an event (log/JSON line, tcpdump
// line, bounded `ip -j addr` poll), never a bare sleep standing in for synchronisation.
import assert from 'node:assert/strict';
import type { NsProcess, Topology } from '../support/netns.js';
import { netnsSkipReason } from '../support/netns.js';
import {
  advertLines,
  capture,
  captureReady,
  crashKa,
  createInteropTopology,
  inject,
  IP,
  MAC,
  startKa,
  Us,
} from './harness.js';
import type { RunnerInstance } from './runner-config.js';
import { skipBecause } from '../support/skip.js';

const skipReason = netnsSkipReason(['keepalived', 'tcpdump']);

/** keepalived-spec 8.1 reference timings (v2, advert_int 1). */
const MDI = (prio: number, intervalS = 1) => 3 * intervalS * 1000 + ((256 - prio) * intervalS * 1000) / 256;
const SKEW = (prio: number, intervalS = 1) => ((256 - prio) * intervalS * 1000) / 256;
/** Scenarios not about VRRPv2 itself run as VRRPv3 with 0.5 s adverts: same logic, half the waiting. */
const FAST = { version: 3 as const, advertInt: 0.5 };
/** CI slack around protocol timings (keepalived-spec 8.1 allows ±50 ms; processes add startup noise). */
const SLACK = 250;

function usInstance(over: Partial<RunnerInstance> & { priority: number }): RunnerInstance {
  return { name: 'VI_1', interface: 'eth0', vrid: 51, vips: [`${IP.vip}/24`], ...over };
}

describe('netns: VRRP interop with keepalived 2.2.7', function () {
  this.timeout(30_000);
  let topo: Topology;
  let wire: NsProcess;
  const procs: { kill(): void }[] = [];
  const track = <T extends NsProcess | Us>(p: T): T => {
    procs.push({ kill: () => (p instanceof Us ? p.crash() : p.kill('SIGKILL')) });
    return p;
  };
  const killAll = async () => {
    if (!topo) return; // skipped (not root): nothing was started
    for (const p of procs.splice(0)) p.kill();
    // keepalived forks its VRRP child: kill everything left in the nodes' namespaces, by PID.
    await topo.killNamespaceProcesses(['ka', 'us']);
    // Both sides remove their VIPs at start, but a crashed process leaves them: clean between scenarios.
    for (const node of ['ka', 'us']) {
      for (const [dev, vip] of [['eth0', IP.vip], ['eth1', IP.backVip], ['eth0', 'fd00:9::50']] as const) {
        topo.tryExec(node, ['ip', 'addr', 'del', `${vip}/${vip.includes(':') ? 64 : 24}`, 'dev', dev]);
      }
    }
  };

  before(async function () {
    if (skipReason) return skipBecause(this, skipReason);
    topo = createInteropTopology();
    wire = capture(topo, 'cl', 'eth0', 'ip proto 112 or arp');
    await captureReady(wire);
  });
  after(async () => {
    await topo?.teardown();
  });

  /** Pings the VIP once so the client has a neighbour entry a GARP can update (arp_accept=0, spike 2). */
  const primeClient = (vip = IP.vip) => topo.tryExec('cl', ['ping', '-c', '1', '-W', '1', vip]);

  describe('election and failover (keepalived-spec 8.2)', () => {
    afterEach(killAll);

    it('8.2#1 US joins a keepalived master as lower priority and stays BACKUP without the VIP', async () => {
      const ka = track(startKa(topo, [{ priority: 150 }]));
      await ka.waitForLine(/Entering MASTER STATE/, MDI(150) + 2000);
      const us = track(new Us(topo, 'us', { instances: [usInstance({ priority: 100 })] }));
      await us.ready();
      await us.state('BACKUP', 2000);
      // Watch past our own Master_Down_Interval: we must never take over from a live higher master.
      const mark = wire.lines.length;
      const deadline = Date.now() + MDI(100) + 600;
      while (Date.now() < deadline) {
        await wire.waitForLine(/prio 150/, 2500, wire.lines.length).catch(() => undefined);
      }
      assert.deepEqual(us.stateEvents().map((e) => e.to), ['BACKUP']);
      assert.ok(!topo.addresses('us', 'eth0').includes(IP.vip), 'US must not hold the VIP');
      const ours = advertLines(wire, mark).filter((a) => a.src === IP.us);
      assert.equal(ours.length, 0, 'US sent no advert while BACKUP');
      const status = await us.status();
      assert.ok((status.instances[0]?.advertsReceived ?? 0) >= 3, 'KA adverts were received and accepted');
    });

    it('8.2#2 US preempts a lower-priority keepalived master; client flips to US MAC', async () => {
      const ka = track(startKa(topo, [{ priority: 100 }]));
      await ka.waitForLine(/Entering MASTER STATE/, MDI(100) + 2000);
      primeClient();
      assert.equal(topo.neighbour('cl', IP.vip)?.mac, MAC.ka);
      const us = track(new Us(topo, 'us', { instances: [usInstance({ priority: 150 })] }));
      const t0 = await us.ready();
      const m = await us.state('MASTER', MDI(150) + 2000);
      // Discards KA's lower-priority adverts and takes over after its own MDI from start.
      assert.ok(Math.abs(m.t - t0 - MDI(150)) < SLACK, `took over after ${m.t - t0} ms, expected ~${MDI(150)}`);
      await ka.waitForLine(/Master received advert from 10\.9\.0\.2 with higher priority 150, ours 100/, 2000);
      await ka.waitForLine(/Entering BACKUP STATE/, 2000);
      await topo.waitForAddress('ka', 'eth0', IP.vip, false, 2000);
      assert.ok(topo.addresses('us', 'eth0').includes(IP.vip));
      // Client neighbour entry now points at US (GARP burst).
      const deadline = Date.now() + 2000;
      while (topo.neighbour('cl', IP.vip)?.mac !== MAC.us && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(topo.neighbour('cl', IP.vip)?.mac, MAC.us);
      // No priority-0 from KA when yielding (1.7).
      assert.equal(advertLines(wire).filter((a) => a.src === IP.ka && a.prio === 0 && a.t >= m.t - 50).length, 0);
      // 8.4#26: our advert first, then 5 gratuitous ARPs exactly as keepalived's (2.1): broadcast,
      // 42 bytes, REQUEST with sender = target = VIP and target MAC ff:ff:ff:ff:ff:ff.
      const ourAdvert = advertLines(wire).find((a) => a.src === IP.us && a.prio === 150);
      assert.ok(ourAdvert);
      const garpText = `${MAC.us} > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Ethernet (len 6), IPv4 (len 4), Request who-has ${IP.vip} (ff:ff:ff:ff:ff:ff) tell ${IP.vip}, length 28`;
      const ourGarps = () => wire.lines.filter((l) => l.includes(garpText));
      const until = Date.now() + 2000; // tcpdump's output may trail the kernel's neighbour update slightly
      while (ourGarps().length < 5 && Date.now() < until) await wire.waitForLine(/ARP/, Math.max(1, until - Date.now()), wire.lines.length).catch(() => undefined);
      const garps = ourGarps();
      assert.ok(garps.length >= 5, `${garps.length} GARPs:\n${wire.lines.filter((l) => l.includes('ARP')).slice(-12).join('\n')}`);
      const firstGarpT = Number((garps[0] as string).split(' ')[0]) * 1000;
      assert.ok(firstGarpT >= ourAdvert.t && firstGarpT - ourAdvert.t < 20, 'GARPs follow our first advert within milliseconds');
    });

    it('8.2#13 keepalived as address owner (255) is master at once; US (100) never preempts it', async () => {
      const ka = track(startKa(topo, [{ priority: 255, state: 'MASTER', ...FAST }]));
      await ka.waitForLine(/Entering MASTER STATE/, 1500);
      assert.equal(ka.matching(/Entering BACKUP STATE/).length, 0, 'no Master_Down wait for the owner');
      const us = track(new Us(topo, 'us', { instances: [usInstance({ priority: 100, ...FAST })] }));
      await us.ready();
      await us.state('BACKUP', 2000);
      const watch = Date.now() + MDI(100, 0.5) + 600;
      while (Date.now() < watch) await wire.waitForLine(/prio 255/, 1000, wire.lines.length).catch(() => undefined);
      assert.deepEqual(us.stateEvents().map((e) => e.to), ['BACKUP']);
      assert.ok(((await us.status()).instances[0]?.advertsReceived ?? 0) >= 2);
    });

    it('8.2#8 equal priorities, cold start: one master, the other accepts equal-priority adverts and stays BACKUP', async () => {
      const ka = track(startKa(topo, [{ priority: 100, ...FAST }]));
      const us = track(new Us(topo, 'us', { instances: [usInstance({ priority: 100, ...FAST })] }));
      await us.ready();
      await ka.waitForLine(/Entering MASTER STATE/, MDI(100, 0.5) + 2000);
      // keepalived started first, so it timed out first; we must not fight it (equal priority is accepted in BACKUP).
      const watch = Date.now() + 2 * MDI(100, 0.5);
      while (Date.now() < watch) await wire.waitForLine(/10\.9\.0\.1 > 224\.0\.0\.18: VRRPv3/, 1000, wire.lines.length).catch(() => undefined);
      assert.deepEqual(us.stateEvents().map((e) => e.to), ['BACKUP']);
      assert.equal(ka.matching(/Entering BACKUP STATE(?! \(init\))/).length, 0, 'keepalived never yielded: no flapping');
    });


    it('8.2#3 keepalived preempts a lower-priority US master; US yields on its first advert, no priority 0', async () => {
      const us = track(new Us(topo, 'us', { instances: [usInstance({ priority: 100 })] }));
      await us.ready();
      await us.state('MASTER', MDI(100) + 2000);
      const mark = wire.lines.length;
      const usMark = us.mark();
      const ka = track(startKa(topo, [{ priority: 150 }]));
      await ka.waitForLine(/Entering MASTER STATE/, MDI(150) + 3000);
      const b = await us.state('BACKUP', 2000, usMark);
      assert.match(b.reason, /higher priority|150/);
      await topo.waitForAddress('us', 'eth0', IP.vip, false, 1000);
      assert.ok(ka.matching(/received lower priority \(100\) advert from 10\.9\.0\.2 - discarding/).length >= 2);
      assert.equal(advertLines(wire, mark).filter((a) => a.src === IP.us && a.prio === 0).length, 0, 'no priority 0 from US when yielding');
    });

    it('8.2#4 graceful stop of keepalived master: US takes over Skew_Time after the priority-0 advert', async () => {
      const ka = track(startKa(topo, [{ priority: 150 }]));
      await ka.waitForLine(/Entering MASTER STATE/, MDI(150) + 2000);
      const us = track(new Us(topo, 'us', { instances: [usInstance({ priority: 100 })] }));
      await us.ready();
      await us.state('BACKUP', 2000);
      await wire.waitForLine(/10\.9\.0\.1 > 224\.0\.0\.18: VRRPv2, Advertisement, vrid 51, prio 150/, 2000, wire.lines.length);
      const mark = wire.lines.length;
      ka.kill('SIGTERM');
      await wire.waitForLine(/10\.9\.0\.1 > 224\.0\.0\.18: VRRPv2, Advertisement, vrid 51, prio 0,/, 3000, mark);
      const zero = advertLines(wire, mark).find((a) => a.src === IP.ka && a.prio === 0);
      assert.ok(zero);
      const m = await us.state('MASTER', 3000);
      const delay = m.t - zero.t;
      assert.ok(Math.abs(delay - SKEW(100)) < SLACK, `US master ${delay} ms after priority 0, expected ~${SKEW(100)}`);
      await topo.waitForAddress('us', 'eth0', IP.vip, true, 1000);
    });

    it('8.2#5 graceful stop of US master: exactly one priority-0 advert, then keepalived takes over', async () => {
      const us = track(new Us(topo, 'us', { instances: [usInstance({ priority: 150 })] }));
      await us.ready();
      await us.state('MASTER', MDI(150) + 2000);
      const ka = track(startKa(topo, [{ priority: 100 }]));
      await ka.waitForLine(/Entering BACKUP STATE/, 3000);
      await wire.waitForLine(/10\.9\.0\.2 > 224\.0\.0\.18: VRRPv2, Advertisement, vrid 51, prio 150/, 2500, wire.lines.length);
      const mark = wire.lines.length;
      await us.stop();
      await ka.waitForLine(/Backup received priority 0 advertisement/, 2000);
      await ka.waitForLine(/Entering MASTER STATE/, 2000);
      const zeros = advertLines(wire, mark).filter((a) => a.src === IP.us && a.prio === 0);
      assert.equal(zeros.length, 1, 'exactly one priority-0 advert');
      assert.ok(!topo.addresses('us', 'eth0').includes(IP.vip), 'US removed the VIP on stop');
      await topo.waitForAddress('ka', 'eth0', IP.vip, true, 1000);
    });

    it('8.2#6a crash (kill -9) of keepalived master: US takes over after MDI from the last advert', async () => {
      const ka = track(startKa(topo, [{ priority: 150 }]));
      await ka.waitForLine(/Entering MASTER STATE/, MDI(150) + 2000);
      const us = track(new Us(topo, 'us', { instances: [usInstance({ priority: 100 })] }));
      await us.ready();
      await us.state('BACKUP', 2000);
      // Kill right after an advert so the takeover time is MDI measured from that advert.
      const mark = wire.lines.length;
      await wire.waitForLine(/10\.9\.0\.1 > 224\.0\.0\.18: VRRPv2, Advertisement, vrid 51, prio 150/, 2500, mark);
      crashKa(topo, ka);
      const last = advertLines(wire, mark).filter((a) => a.src === IP.ka).pop();
      assert.ok(last);
      const m = await us.state('MASTER', MDI(100) + 2000);
      const took = m.t - last.t;
      assert.ok(took >= MDI(100) - 30 && took < MDI(100) + SLACK, `took over ${took} ms after the last advert, expected ~${MDI(100)}`);
    });

    it('8.2#6b crash (kill -9) of US master: keepalived takes over after its MDI, no priority 0 on the wire', async () => {
      const us = track(new Us(topo, 'us', { instances: [usInstance({ priority: 150 })] }));
      await us.ready();
      await us.state('MASTER', MDI(150) + 2000);
      const ka = track(startKa(topo, [{ priority: 100 }]));
      await ka.waitForLine(/Entering BACKUP STATE/, 3000);
      const mark = wire.lines.length;
      await wire.waitForLine(/10\.9\.0\.2 > 224\.0\.0\.18: VRRPv2, Advertisement, vrid 51, prio 150/, 2500, mark);
      us.crash();
      await ka.waitForLine(/Entering MASTER STATE/, MDI(100) + 2000);
      await wire.waitForLine(/10\.9\.0\.1 > 224\.0\.0\.18: VRRPv2, Advertisement, vrid 51, prio 100/, 2000, mark);
      assert.equal(advertLines(wire, mark).filter((a) => a.src === IP.us && a.prio === 0).length, 0);
      const kaAdverts = advertLines(wire, mark).filter((a) => a.src === IP.ka && a.prio === 100);
      const lastUs = advertLines(wire, mark).filter((a) => a.src === IP.us).pop();
      assert.ok(lastUs && kaAdverts[0]);
      const took = kaAdverts[0].t - lastUs.t;
      assert.ok(Math.abs(took - MDI(100)) < SLACK, `keepalived took over ${took} ms after our last advert`);
    });
  });

  describe('modes and features (keepalived-spec 8.2, 8.4)', () => {
    afterEach(killAll);

    it('8.2#11 nopreempt on US: a higher-priority US stays BACKUP under a live keepalived master, takes over on its priority 0', async () => {
      const ka = track(startKa(topo, [{ priority: 100, ...FAST }]));
      await ka.waitForLine(/Entering MASTER STATE/, MDI(100, 0.5) + 2000);
      const us = track(new Us(topo, 'us', { instances: [usInstance({ priority: 150, ...FAST, nopreempt: true })] }));
      await us.ready();
      await us.state('BACKUP', 2000);
      // Past our MDI plus one advert: still BACKUP.
      const watchUntil = Date.now() + MDI(150, 0.5) + 1200;
      while (Date.now() < watchUntil) await wire.waitForLine(/prio 100/, 2000, wire.lines.length).catch(() => undefined);
      assert.deepEqual(us.stateEvents().map((e) => e.to), ['BACKUP']);
      const mark = wire.lines.length;
      ka.kill('SIGTERM');
      await wire.waitForLine(/10\.9\.0\.1 > 224\.0\.0\.18: VRRPv3, Advertisement, vrid 51, prio 0,/, 3000, mark);
      const zero = advertLines(wire, mark).find((a) => a.src === IP.ka && a.prio === 0);
      const m = await us.state('MASTER', 2000);
      assert.ok(zero && Math.abs(m.t - zero.t - SKEW(150, 0.5)) < SLACK, `master ${zero ? m.t - zero.t : NaN} ms after priority 0`);
    });

    it('8.2#12 preempt_delay on US: keeps accepting a lower master for preempt_delay, then preempts', async () => {
      const ka = track(startKa(topo, [{ priority: 100, ...FAST }]));
      await ka.waitForLine(/Entering MASTER STATE/, MDI(100, 0.5) + 2000);
      const us = track(new Us(topo, 'us', { instances: [usInstance({ priority: 150, ...FAST, preemptDelay: 2 })] }));
      const t0 = await us.ready();
      const m = await us.state('MASTER', 2000 + MDI(150, 0.5) + 3000);
      const took = m.t - t0;
      // Without the delay it would be MDI(150) after start. With it, adverts are accepted until
      // first advert + 2 s, and we take over MDI after the last accepted one: first + [2 s - 1 interval, 2 s] + MDI,
      // the first advert arriving within one interval of our start.
      assert.ok(took > 2000 - 500 + MDI(150, 0.5) - SLACK, `preempted after ${took} ms`);
      assert.ok(took < 2000 + 500 + MDI(150, 0.5) + SLACK, `preempted after ${took} ms`);
      await ka.waitForLine(/Entering BACKUP STATE/, 2000);
    });

    it('8.4#22 unicast peers both sides: unicast destinations, TTL 255, no multicast membership, election works', async () => {
      // Unicast frames are not flooded to the client: capture at keepalived's end.
      const kaWire = track(capture(topo, 'ka', 'eth0', 'ip proto 112'));
      await captureReady(kaWire);
      const ka = track(startKa(topo, [{ priority: 100, ...FAST, unicastSrc: IP.ka, unicastPeers: [IP.us] }]));
      await ka.waitForLine(/Entering MASTER STATE/, MDI(100, 0.5) + 2000);
      const mark = kaWire.lines.length;
      const us = track(new Us(topo, 'us', { instances: [usInstance({ priority: 150, ...FAST, unicastSrc: IP.us, unicastPeers: [IP.ka] })] }));
      await us.ready();
      await us.state('MASTER', MDI(150, 0.5) + 2000);
      await ka.waitForLine(/Master received advert from 10\.9\.0\.2 with higher priority 150/, 2000);
      await kaWire.waitForLine(/10\.9\.0\.2 > 10\.9\.0\.1: VRRPv3, Advertisement, vrid 51, prio 150/, 2500, mark);
      const ours = advertLines(kaWire, mark).filter((a) => a.src === IP.us);
      assert.ok(ours.length > 0 && ours.every((a) => a.dst === IP.ka && a.ttl === 255), 'unicast to the peer with TTL 255');
      const maddr = topo.exec('us', ['ip', 'maddr', 'show', 'dev', 'eth0']);
      assert.ok(!maddr.includes('224.0.0.18'), 'US did not join 224.0.0.18 in unicast mode');
      const st = await us.status();
      assert.ok((st.instances[0]?.advertsReceived ?? 0) >= 1, 'unicast adverts from keepalived were accepted');
    });

    it('8.3#14 VIP list mismatch: both sides drop each other\'s adverts (two masters, as keepalived 2.2.7), US counts and logs it', async () => {
      const ka = track(startKa(topo, [{ priority: 100, ...FAST }]));
      await ka.waitForLine(/Entering MASTER STATE/, MDI(100, 0.5) + 2000);
      const us = track(new Us(topo, 'us', { instances: [usInstance({ priority: 150, ...FAST, vips: [`${IP.vip}/24`, '10.9.0.51/24'] })] }));
      await us.ready();
      await us.state('MASTER', MDI(150, 0.5) + 2000);
      await ka.waitForLine(/received an unexpected ip number count 2, expected 1!/, 2000);
      await us.proc.waitForLine(/received an unexpected ip number count 1, expected 2!/, 2000);
      const st = await us.status();
      assert.ok((st.instances[0]?.dropped.addresses ?? 0) >= 2);
      assert.equal(ka.matching(/Entering BACKUP STATE(?! \(init\))/).length, 0, 'keepalived ignores us: split brain, which is why VIP lists must match');
    });

    it('8.4#24 PASS authentication interoperates (same password): US preempts a PASS keepalived', async () => {
      const ka = track(startKa(topo, [{ priority: 100, authPass: 'secret12' }]));
      await ka.waitForLine(/Entering MASTER STATE/, MDI(100) + 2000);
      const us = track(new Us(topo, 'us', { instances: [usInstance({ priority: 150, authPass: 'secret12' })] }));
      await us.ready();
      await us.state('MASTER', MDI(150) + 2000);
      await ka.waitForLine(/Master received advert from 10\.9\.0\.2 with higher priority 150/, 2000);
      const st = await us.status();
      assert.equal(st.instances[0]?.dropped.auth ?? 0, 0, 'keepalived PASS adverts accepted');
      assert.ok((st.instances[0]?.advertsReceived ?? 0) >= 2);
      assert.equal(ka.matching(/invalid passwd|auth, expecting/).length, 0);
    });

    it('8.3#17a VRRPv3 over IPv4: keepalived accepts our pseudo-header checksum and we accept its adverts', async () => {
      const ka = track(startKa(topo, [{ priority: 100, ...FAST }]));
      await ka.waitForLine(/Entering MASTER STATE/, MDI(100, 0.5) + 2000);
      const us = track(new Us(topo, 'us', { instances: [usInstance({ priority: 150, ...FAST })] }));
      await us.ready();
      await us.state('MASTER', MDI(150, 0.5) + 2000);
      await ka.waitForLine(/Master received advert from 10\.9\.0\.2 with higher priority 150/, 2000);
      assert.equal(ka.matching(/Invalid VRRPv3 checksum/).length, 0);
      const st = await us.status();
      assert.equal(st.instances[0]?.dropped.checksum ?? 0, 0);
      assert.ok((st.instances[0]?.advertsReceived ?? 0) >= 2, 'keepalived v3 adverts accepted');
    });

    it('8.4#25 VRRPv3 over IPv6: link-local source to ff02::12, hop limit 255, unsolicited NA moves the client, VIPs nodad', async () => {
      const vips = ['fe80::50/64', 'fd00:9::50/64'];
      const cap6 = track(capture(topo, 'cl', 'eth0', 'ip6 proto 112 or (icmp6 and ip6[40] == 136)'));
      await captureReady(cap6);
      const ka = track(startKa(topo, [{ priority: 100, ...FAST, vips }]));
      await ka.waitForLine(/Entering MASTER STATE/, MDI(100, 0.5) + 2000);
      topo.tryExec('cl', ['ping', '-6', '-c', '1', '-W', '1', 'fd00:9::50']);
      assert.equal(topo.neighbour('cl', 'fd00:9::50')?.mac, MAC.ka);
      const us = track(new Us(topo, 'us', { instances: [usInstance({ priority: 150, ...FAST, family: 6, vips })] }));
      await us.ready();
      await us.state('MASTER', MDI(150, 0.5) + 2000);
      await ka.waitForLine(/Master received advert from fe80::ff:fe00:2 with higher priority 150/, 2000);
      await cap6.waitForLine(/fe80::ff:fe00:2 > ff02::12: VRRPv3, Advertisement, vrid 51, prio 150/, 2000);
      const ours = advertLines(cap6).filter((a) => a.src === 'fe80::ff:fe00:2');
      assert.ok(ours.length > 0 && ours.every((a) => a.ttl === 255 && a.dst === 'ff02::12'));
      await cap6.waitForLine(/fd00:9::50 > ff02::1: .*neighbor advertisement.*tgt is fd00:9::50/, 2000);
      const deadline = Date.now() + 2000;
      while (topo.neighbour('cl', 'fd00:9::50')?.mac !== MAC.us && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(topo.neighbour('cl', 'fd00:9::50')?.mac, MAC.us);
      const addr = JSON.parse(topo.exec('us', ['ip', '-j', '-6', 'addr', 'show', 'dev', 'eth0'])) as { addr_info: { local: string; nodad?: boolean }[] }[];
      const vip = addr[0]?.addr_info.find((a) => a.local === 'fd00:9::50');
      assert.ok(vip && vip.nodad === true, 'IPv6 VIP added with nodad');
    });
  });

  describe('trackers, sync groups, operator actions (keepalived-spec 8.4, 8.5)', () => {
    afterEach(async () => {
      topo.tryExec('sw', ['ip', 'link', 'set', topo.switchPort('us', 1), 'up']);
      await killAll();
    });

    it('8.4#30 sync group: US loses eth1 carrier, front and back VIPs move to keepalived together, and come back together', async () => {
      const group = ['vrrp_sync_group G1 {', '  group {', '    VI_1', '    VI_2', '  }', '}'];
      const ka = track(
        startKa(
          topo,
          [
            { name: 'VI_1', priority: 100, ...FAST },
            { name: 'VI_2', iface: 'eth1', vrid: 52, priority: 100, ...FAST, vips: [`${IP.backVip}/24`] },
          ],
          group,
        ),
      );
      await ka.waitForLine(/\(VI_2\) Entering MASTER STATE/, MDI(100, 0.5) + 3000);
      const us = track(
        new Us(topo, 'us', {
          instances: [
            usInstance({ name: 'VI_1', priority: 150, ...FAST }),
            usInstance({ name: 'VI_2', interface: 'eth1', vrid: 52, priority: 150, ...FAST, vips: [`${IP.backVip}/24`] }),
          ],
          syncGroups: [{ name: 'G1', instances: ['VI_1', 'VI_2'] }],
        }),
      );
      await us.ready();
      await us.state('MASTER', MDI(150, 0.5) + 3000, 0, 'VI_1');
      await us.state('MASTER', 3000, 0, 'VI_2');
      await topo.waitForAddress('ka', 'eth1', IP.backVip, false, 2000);
      assert.ok(topo.addresses('us', 'eth0').includes(IP.vip) && topo.addresses('us', 'eth1').includes(IP.backVip));
      // Cut our back link: VI_2 faults, the group drags VI_1 along (priority 0 on eth0), keepalived takes both.
      const mark = us.mark();
      topo.exec('sw', ['ip', 'link', 'set', topo.switchPort('us', 1), 'down']);
      await us.state('FAULT', 3000, mark, 'VI_2');
      await us.state('FAULT', 3000, mark, 'VI_1');
      await topo.waitForAddress('ka', 'eth0', IP.vip, true, MDI(100, 0.5) + 2000);
      await topo.waitForAddress('ka', 'eth1', IP.backVip, true, MDI(100, 0.5) + 2000);
      assert.deepEqual(topo.addresses('us', 'eth0').filter((a) => a === IP.vip), []);
      assert.deepEqual(topo.addresses('us', 'eth1').filter((a) => a === IP.backVip), []);
      // Link back: both leave FAULT together and US (150) preempts both again.
      const mark2 = us.mark();
      topo.exec('sw', ['ip', 'link', 'set', topo.switchPort('us', 1), 'up']);
      await us.state('MASTER', MDI(150, 0.5) + 3000, mark2, 'VI_1');
      await us.state('MASTER', 3000, mark2, 'VI_2');
      await topo.waitForAddress('ka', 'eth0', IP.vip, false, 2000);
      await topo.waitForAddress('ka', 'eth1', IP.backVip, false, 2000);
    });

    it('8.4#28 track_script demotes the US master: priority 150-60=90 lets keepalived (100) take over', async () => {
      const flag = topo.file('chk-fail', '');
      topo.tryExec('us', ['rm', '-f', flag]);
      const us = track(
        new Us(topo, 'us', {
          instances: [usInstance({ priority: 150, ...FAST, trackScripts: [{ name: 'chk' }] })],
          scripts: [{ name: 'chk', command: ['test', '!', '-e', flag], interval: 0.5, weight: -60 }],
        }),
      );
      await us.ready();
      await us.state('MASTER', MDI(150, 0.5) + 2000);
      const ka = track(startKa(topo, [{ priority: 100, ...FAST }]));
      await ka.waitForLine(/Entering BACKUP STATE/, 3000);
      const mark = us.mark();
      topo.file('chk-fail', 'fail');
      const b = await us.state('BACKUP', MDI(100, 0.5) + 3000, mark);
      assert.match(b.reason, /higher priority|100/);
      await ka.waitForLine(/Entering MASTER STATE/, 2000);
      const st = await us.status();
      assert.equal(st.instances[0]?.effectivePriority, 90);
      await topo.waitForAddress('ka', 'eth0', IP.vip, true, 1000);
      assert.ok(!topo.addresses('us', 'eth0').includes(IP.vip));
    });

    it('directorctl failover (relinquish): US sends priority 0, keepalived takes over after its skew, US holds back', async () => {
      const us = track(new Us(topo, 'us', { instances: [usInstance({ priority: 150, ...FAST })] }));
      await us.ready();
      await us.state('MASTER', MDI(150, 0.5) + 2000);
      const ka = track(startKa(topo, [{ priority: 100, ...FAST }]));
      await ka.waitForLine(/Entering BACKUP STATE/, 3000);
      const mark = wire.lines.length;
      us.proc.writeLine('relinquish VI_1');
      await wire.waitForLine(/10\.9\.0\.2 > 224\.0\.0\.18: VRRPv3, Advertisement, vrid 51, prio 0,/, 2000, mark);
      await ka.waitForLine(/Backup received priority 0 advertisement/, 2000);
      await ka.waitForLine(/Entering MASTER STATE/, 2000);
      const usMark = us.mark();
      // Longer than our own MDI: we must not preempt back while relinquished.
      await ka.waitForLine(/never-printed/, MDI(150, 0.5) + 800).catch(() => undefined);
      assert.equal(us.stateEvents(usMark).length, 0);
      assert.ok(!topo.addresses('us', 'eth0').includes(IP.vip));
    });
  });

  describe('hostile packets from a third namespace (keepalived-spec 8.3 #19-21)', () => {
    let us: Us;
    let ka: NsProcess;
    before(async function () {
      if (skipReason) return skipBecause(this, skipReason);
      us = track(new Us(topo, 'us', { instances: [usInstance({ priority: 150 })] }));
      await us.ready();
      await us.state('MASTER', MDI(150) + 2000);
      ka = track(startKa(topo, [{ priority: 100 }]));
      await ka.waitForLine(/Entering BACKUP STATE/, 3000);
    });
    after(killAll);

    const base = { iface: 'eth0', src: IP.cl, prio: 254, count: 3 };
    async function expectDropped(spec: Record<string, unknown>, reason: string, kaLog?: RegExp): Promise<void> {
      const before = (await us.status()).instances[0]?.dropped[reason] ?? 0;
      const mark = us.mark();
      const kaMark = ka.lines.length;
      const out = JSON.parse(inject(topo, 'cl', { ...base, ...spec })) as { sent: number };
      assert.equal(out.sent, 3);
      // The counter is the event: poll status (bounded) until all three are counted.
      let after = before;
      const deadline = Date.now() + 2000;
      while (after < before + 3 && Date.now() < deadline) after = (await us.status()).instances[0]?.dropped[reason] ?? 0;
      assert.equal(after, before + 3, `dropped.${reason}`);
      if (kaLog) await ka.waitForLine(kaLog, 2000, kaMark);
      assert.deepEqual(us.stateEvents(mark), [], 'no state change');
      assert.ok(topo.addresses('us', 'eth0').includes(IP.vip), 'still holding the VIP');
    }

    it('8.3#19 TTL 64 is dropped (ttl counter), keepalived agrees', async () => {
      await expectDropped({ ttl: 64 }, 'ttl', /invalid TTL\/HL\. Received 64 and expect 255/);
    });

    it('8.3#20 bad checksum is dropped (checksum counter), keepalived agrees', async () => {
      await expectDropped({ badChecksum: true }, 'checksum', /Invalid VRRPv2 checksum/);
    });

    it('8.4#24 wrong authentication (PASS where none is configured) is dropped (auth counter)', async () => {
      await expectDropped({ authType: 1, authPass: 'intruder' }, 'auth', /received a 1 auth, expecting 0!/);
    });

    it('8.3#21 unknown VRID is ignored (vrid counter)', async () => {
      await expectDropped({ vrid: 52 }, 'vrid');
    });

    it('8.3#15 advert interval mismatch (2 s vs 1 s) is dropped (interval counter), keepalived agrees', async () => {
      await expectDropped({ interval: 2 }, 'interval', /advertisement interval mismatch mine=1 sec rcv'd=2 sec/);
    });

    it('8.3#16 version mismatch (v3 advert to a v2 instance) is dropped (version counter), keepalived agrees', async () => {
      await expectDropped({ version: 3 }, 'version', /wrong version\. Received 3 and expect 2/);
    });

    it('control: the same injector with a valid higher-priority advert does move US to BACKUP', async () => {
      const mark = us.mark();
      inject(topo, 'cl', { ...base, count: 1 });
      const b = await us.state('BACKUP', 2000, mark);
      assert.match(b.reason, /254|higher/);
    });
  });
});
