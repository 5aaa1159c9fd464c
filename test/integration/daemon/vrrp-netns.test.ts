// The whole daemon as a VRRP master in a network namespace, against Debian's keepalived as the
// backup: directord -f takes the VIP, and on SIGTERM sends priority 0 first (keepalived takes
// over at once instead of after its master-down interval), removes the VIP and exits 0.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { NsProcess, Topology } from '../../support/netns.js';
import { netnsSkipReason } from '../../support/netns.js';
import { advertLines, capture, captureReady, createInteropTopology, IP, startKa } from '../../netns/harness.js';
import { DIRECTORD, waitFor } from './support/helpers.js';
import { skipBecause } from '../../support/skip.js';

describe('directord -f with VRRP in a namespace (keepalived as the peer)', function () {
  this.timeout(60_000);
  let topo: Topology | undefined;

  before(function () {
    const reason = netnsSkipReason(['keepalived', 'tcpdump']);
    if (reason) skipBecause(this, reason);
  });
  after(async () => {
    await topo?.teardown();
  });

  it('becomes MASTER, and on SIGTERM hands over with a priority-0 advert, drops the VIP and exits 0', async () => {
    topo = createInteropTopology();
    const t = topo;
    const ka = startKa(t, [{ priority: 100, vips: [`${IP.vip}/24`] }]);
    await ka.waitForLine(/Entering BACKUP STATE/, 10_000);
    const wire = capture(t, 'cl', 'eth0', 'ip proto 112');
    await captureReady(wire);
    const config = t.file(
      'us.toml',
      `[daemon]
log = "stdout"

[[vrrp.instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
priority = 150
state = "BACKUP"
advert_int = 1
virtual_ipaddress = ["${IP.vip}/24"]
`,
    );
    const us: NsProcess = t.spawn(
      'us',
      [process.execPath, DIRECTORD, '-p', join(t.tmp, 'us.pid'), '-s', join(t.tmp, 'us.sock'), '--state-file', join(t.tmp, 'us.json'), '-f', config],
      'directord@us',
    );
    await us.waitForLine(/directord started/, 20_000);
    await ka.waitForLine(/Master received advert from 10\.9\.0\.2 with higher priority 150|Entering BACKUP STATE/, 10_000);
    await waitFor(() => t.addresses('us', 'eth0').includes(IP.vip), 10_000, 'the VIP on directord\'s interface');

    const kaFrom = ka.lines.length;
    const wireFrom = wire.lines.length;
    const killedAt = Date.now();
    us.kill('SIGTERM');
    await ka.waitForLine(/Backup received priority 0 advertisement/, 3000, kaFrom);
    await ka.waitForLine(/Entering MASTER STATE/, 3000, kaFrom);
    const takeoverMs = Date.now() - killedAt;
    await us.exited(15_000);
    assert.equal(us.exitCode, 0, us.lines.slice(-20).join('\n'));
    assert.ok(!t.addresses('us', 'eth0').includes(IP.vip), 'directord removed the VIP');
    await waitFor(() => advertLines(wire, wireFrom).some((a) => a.src === IP.us && a.prio === 0), 3000, 'the priority-0 advert on the wire');
    // Master-down interval for priority 100 is 3 s + skew; a priority-0 handover is ~skew only.
    assert.ok(takeoverMs < 2500, `keepalived took over after ${takeoverMs} ms`);
    assert.ok(us.lines.some((l) => /directord terminated on signal: SIGTERM/.test(l)));
    console.log(`      keepalived MASTER ${takeoverMs} ms after SIGTERM to directord (priority 0 seen on the wire)`);
  });
});
