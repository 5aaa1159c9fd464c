// Our packets through Wireshark's dissectors (tshark 4.0, Debian 12): VRRPv2, VRRPv3/IPv4,
// VRRPv3/IPv6 adverts (normal and priority 0), gratuitous ARPs and unsolicited NAs must decode
// with no "Malformed", no warning-level expert info and no bad checksum.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NsProcess, Topology, netnsSkipReason } from '../support/netns.js';
import { capture, captureReady, Us } from './harness.js';
import { skipBecause } from '../support/skip.js';

const skipReason = netnsSkipReason(['tcpdump', 'tshark']);
const here = dirname(fileURLToPath(import.meta.url));

describe('netns: wire format of our adverts, GARPs and NAs under tshark -V', function () {
  this.timeout(30_000);
  let topo: Topology;
  let decoded = '';
  let summary = '';

  before(async function () {
    if (skipReason) return skipBecause(this, skipReason);
    topo = Topology.create({
      bridges: ['br0'],
      nodes: [
        { name: 'us', links: [{ bridge: 'br0', ifname: 'eth0', mac: '02:00:00:00:00:02', ipv4: ['10.9.0.2/24'], ipv6: ['fd00:9::2/64'] }] },
        { name: 'cl', links: [{ bridge: 'br0', ifname: 'eth0', mac: '02:00:00:00:00:03', ipv4: ['10.9.0.100/24'], ipv6: ['fd00:9::100/64'] }] },
      ],
    });
    const pcap = join(topo.tmp, 'wire.pcap');
    const filter = 'ip proto 112 or ip6 proto 112 or arp or icmp6';
    const cap: NsProcess = topo.spawn('cl', ['tcpdump', '--immediate-mode', '-U', '-i', 'eth0', '-w', pcap, filter], 'tcpdump');
    // A text twin of the capture tells us when the last packets (priority 0 on stop) have been seen.
    const text = capture(topo, 'cl', 'eth0', filter);
    await cap.waitForLine(/listening on/, 5000);
    await captureReady(text);
    const us = new Us(topo, 'us', {
      instances: [
        { name: 'V2', interface: 'eth0', vrid: 61, priority: 150, version: 2, vips: ['10.9.0.61/24'], authPass: 'secret12' },
        { name: 'V3', interface: 'eth0', vrid: 62, priority: 150, version: 3, advertInt: 0.5, vips: ['10.9.0.62/24', '10.9.0.63/24'] },
        { name: 'V6', interface: 'eth0', vrid: 63, priority: 150, version: 3, family: 6, advertInt: 0.5, vips: ['fe80::63/64', 'fd00:9::63/64'] },
      ],
    });
    await us.ready();
    for (const name of ['V2', 'V3', 'V6']) await us.state('MASTER', 6000, 0, name);
    const mark = text.lines.length;
    await us.stop(); // priority-0 adverts on the way out
    for (const vrid of [61, 62, 63]) await text.waitForLine(new RegExp(`vrid ${vrid}, prio 0,`), 3000, mark);
    cap.kill('SIGINT');
    await cap.exited(5000);
    decoded = topo.exec('cl', ['tshark', '-r', pcap, '-V', '-o', 'vrrp.v3_checksum_as_in_v2:FALSE']);
    summary = topo.exec('cl', ['tshark', '-r', pcap]);
    if (process.env.DIRECTORD_DUMP_TSHARK) writeFileSync(process.env.DIRECTORD_DUMP_TSHARK, `${summary}\n=====\n${decoded}`);
  });
  after(async () => {
    await topo?.teardown();
  });

  it('captured every kind of packet we send', () => {
    assert.match(summary, /10\.9\.0\.2 → 224\.0\.0\.18\s+VRRP \d+ Announcement \(v2\)/);
    assert.match(summary, /10\.9\.0\.2 → 224\.0\.0\.18\s+VRRP \d+ Announcement \(v3\)/);
    assert.match(summary, /fe80::ff:fe00:2 → ff02::12\s+VRRP \d+ Announcement \(v3\)/);
    // Our IPv6 adverts always leave from the interface's own link-local address, never a VIP.
    assert.doesNotMatch(summary, /fe80::63 → ff02::12/);
    assert.match(summary, /Gratuitous ARP for 10\.9\.0\.61/);
    assert.match(summary, /Neighbor Advertisement fd00:9::63 \(ovr\)/);
    assert.match(decoded, /Priority: 0 \(Current Master has stopped participating in VRRP\)/);
    assert.match(decoded, /Authentication String: secret12/);
  });

  it('IP_FREEBIND: a listener bound to a VIP before it exists answers as soon as the VIP is added', async () => {
    const probe = topo.spawn('us', [process.execPath, '--import', 'tsx', join(here, 'freebind-probe.ts'), '10.9.0.77', '8080'], 'freebind');
    await probe.waitForLine(/"listening":true/, 8000);
    assert.ok(!topo.addresses('us', 'eth0').includes('10.9.0.77'), 'the address is not configured yet');
    topo.exec('us', ['ip', 'addr', 'add', '10.9.0.77/24', 'dev', 'eth0']);
    const client = "const s=require('net').connect(8080,'10.9.0.77');let d='';s.on('data',c=>d+=c);s.on('end',()=>{console.log(d)});s.on('error',e=>{console.log('ERR',e.code)})";
    const out = topo.exec('cl', [process.execPath, '-e', client]).trim();
    assert.equal(out, 'freebind 10.9.0.77');
    probe.kill('SIGTERM');
    await probe.exited(3000);
  });

  it('decodes without Malformed packets, warning expert info or bad checksums', () => {
    const bad = decoded.split('\n').filter((l) => /Malformed|Expert Info \(Warning|\[incorrect|Checksum Status: Bad|Bad checksum/i.test(l));
    assert.deepEqual(bad, []);
    // Every VRRP checksum was verified (not merely unverified) and found correct.
    const vrrpChecks = decoded.split('\n').filter((l) => /^\s+Checksum: 0x[0-9a-f]{4} \[correct\]/.test(l));
    assert.ok(vrrpChecks.length >= 6, `verified VRRP checksums: ${vrrpChecks.length}`);
    assert.ok(decoded.includes('[Checksum Status: Good]'), 'ICMPv6 checksum verified');
  });
});
