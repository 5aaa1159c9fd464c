/** director.toml: schema, defaults, locations, includes, VRRP. */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../../../src/config/load.js';
import { EXIT } from '../../../src/core/exit-status.js';
import { err, ok, OPTIONS, tomlText, warned } from './helpers.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/config/', import.meta.url));

const VRRP_PAIR = `
[[vrrp.script]]
name = "chk"
script = "/usr/bin/true"
weight = -20

[[vrrp.instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
priority = 150
advert_int = "1s"
virtual_ipaddress = ["192.0.2.100/24 dev eth0 label eth0:1", "192.0.2.101"]
unicast_src_ip = "192.0.2.2"
unicast_peer = ["192.0.2.3"]
authentication = { auth_type = "PASS", auth_pass = "secret" }
track_interface = ["eth1", { name = "eth2", weight = -10 }]
track_script = ["chk"]
track_file = [{ path = "/run/prio", weight = 5 }]
notify_master = "/usr/local/bin/notify master"

[[vrrp.instance]]
name = "VI_2"
interface = "eth1"
virtual_router_id = 52
virtual_ipaddress = ["10.0.0.1/24"]

[[vrrp.sync_group]]
name = "G"
group = ["VI_1", "VI_2"]
`;

describe('config/toml: valid documents', () => {
  it('engine_threads sets the relay threads (1..8) and is unset by default', async () => {
    const base = '[[virtual]]\naddress = "192.0.2.1:80"\n[[virtual.real]]\naddress = "10.0.0.1:80"\n';
    assert.equal(ok(await tomlText(base)).daemon.engineThreads, undefined);
    assert.equal(ok(await tomlText(`[daemon]\nengine_threads = 2\n${base}`)).daemon.engineThreads, 2);
    err(await tomlText(`[daemon]\nengine_threads = 9\n${base}`), 'DIR_ERR_CONFIG_OUT_OF_RANGE', 2);
  });

  it('a minimal virtual gets every default', async () => {
    const c = ok(await tomlText('[[virtual]]\naddress = "192.0.2.1:80"\n[[virtual.real]]\naddress = "10.0.0.1:80"\n'));
    const v = c.virtualServices[0];
    assert.equal(v?.id, 'tcp:192.0.2.1:80');
    assert.equal(v?.scheduler, 'wrr');
    assert.equal(v?.check.type, 'negotiate');
    assert.equal(v?.check.service, 'http');
    assert.equal(v?.check.timeoutMs, 5000);
    assert.equal(v?.check.negotiateTimeoutMs, 30000);
    assert.equal(v?.check.tlsVerify, true);
    assert.deepEqual(v?.reals.map((r) => `${r.key} ${r.forward} ${r.weight}`), ['10.0.0.1:80 gate 1']);
    assert.equal(c.daemon.pidFile, '/run/directord/directord.test.toml.pid');
    assert.ok(Object.isFrozen(v));
  });

  it('VRRP instances, scripts and sync groups in keepalived vocabulary', async () => {
    const c = ok(await tomlText(VRRP_PAIR));
    const [a, b] = c.vrrp.instances;
    assert.equal(a?.vrid, 51);
    assert.equal(a?.priority, 150);
    assert.equal(a?.version, 2);
    assert.equal(a?.family, 4);
    assert.equal(a?.advertIntervalMs, 1000);
    assert.equal(a?.initialState, 'BACKUP');
    assert.equal(a?.preempt, true);
    assert.deepEqual(a?.virtualAddresses.map((x) => [x.address.text, x.prefixLength, x.device, x.label, x.cidr.address.text]), [
      ['192.0.2.100', 24, 'eth0', 'eth0:1', '192.0.2.0'],
      ['192.0.2.101', 32, undefined, undefined, '192.0.2.101'],
    ]);
    assert.equal(a?.unicastSource?.text, '192.0.2.2');
    assert.deepEqual(a?.unicastPeers.map((p) => p.text), ['192.0.2.3']);
    assert.equal(a?.authPass, 'secret');
    assert.deepEqual(a?.trackInterfaces, [{ name: 'eth1', weight: 0 }, { name: 'eth2', weight: -10 }]);
    assert.deepEqual(a?.trackScripts, [{ name: 'chk' }]);
    assert.deepEqual(a?.trackFiles, [{ path: '/run/prio', weight: 5 }]);
    assert.deepEqual(a?.notify.master, ['/usr/local/bin/notify', 'master']);
    assert.deepEqual(a?.garp, { masterDelayMs: 5000, masterRepeat: 5, masterRefreshMs: 0, masterRefreshRepeat: 1, intervalMs: 0 });
    assert.equal(b?.priority, 100);
    assert.deepEqual(c.vrrp.syncGroups[0]?.instances, ['VI_1', 'VI_2']);
    assert.deepEqual(c.vrrp.scripts[0], {
      name: 'chk', command: ['/usr/bin/true'], intervalMs: 1000, timeoutMs: 1000, rise: 1, fall: 1, weight: -20, location: c.vrrp.scripts[0]?.location,
    });
  });

  it('an IPv6 VIP makes a VRRPv3 instance; fractional advert_int is allowed in v3', async () => {
    const c = ok(await tomlText('[[vrrp.instance]]\nname = "V6"\ninterface = "eth0"\nvirtual_router_id = 7\nadvert_int = 0.5\nvirtual_ipaddress = ["fe80::50/64", "2001:db8::50/64"]\n'));
    const i = c.vrrp.instances[0];
    assert.equal(i?.family, 6);
    assert.equal(i?.version, 3);
    assert.equal(i?.advertIntervalMs, 500);
  });

  it('[defaults] apply to every virtual, and a virtual overrides them', async () => {
    const c = ok(await tomlText(`
[defaults]
quiescent = true
scheduler = "wlc"
[defaults.check]
interval = "3s"
failure_count = 4
[[virtual]]
address = "192.0.2.1:80"
[[virtual]]
address = "192.0.2.1:443"
scheduler = "sh"
  [virtual.check]
  type = "connect"
  interval = 7
`));
    const [a, b] = c.virtualServices;
    assert.deepEqual([a?.quiescent, a?.scheduler, a?.check.intervalMs, a?.check.failureCount], [true, 'wlc', 3000, 4]);
    assert.deepEqual([b?.quiescent, b?.scheduler, b?.check.intervalMs, b?.check.failureCount, b?.check.type], [true, 'sh', 7000, 4, 'connect']);
  });

  it('fwmark, IPv6 and udp services; port 53 defaults to udp', async () => {
    const c = ok(await tomlText(`
[[virtual]]
fwmark = 7
family = 6
  [virtual.check]
  type = "connect"
  port = 443
  [[virtual.real]]
  address = "[2001:db8::10]:0"
[[virtual]]
address = "[2001:db8::1]:53"
[[virtual]]
address = "192.0.2.9:5000"
protocol = "udp"
ops = true
`));
    assert.deepEqual(c.virtualServices.map((v) => v.id), ['fwm6:7', 'udp:[2001:db8::1]:53', 'udp:192.0.2.9:5000']);
    assert.equal(c.virtualServices[2]?.ops, true);
  });

  it('fallback, quorum, slow start, proxy protocol, timeouts, alerts, l7 rules', async () => {
    const c = ok(await tomlText(`
[[virtual]]
address = "192.0.2.1:80"
fallback = "127.0.0.1:8080"
fallback_command = ["/bin/sorry", "on"]
quorum = { quorum = 2, hysteresis = 1, up_command = "/bin/up" }
slow_start = "30s"
proxy_protocol = "v1"
persistent = 300
persistence_netmask = 24
timeouts = { tcp = "1h", udp = 30 }
alerts = { email_to = ["a@x"], frequency = "10m", statuses = ["running"] }
  [[virtual.real]]
  address = "10.0.0.1"
  [[virtual.real]]
  address = "10.0.0.2:80"
  request = "health"
  receive = "OK"
  [[virtual.l7_rule]]
  pattern = "^/api/"
  reals = ["10.0.0.2:80"]
`));
    const v = c.virtualServices[0];
    assert.deepEqual([v?.fallback?.address.text, v?.fallback?.port, v?.fallback?.forward], ['127.0.0.1', 8080, 'gate']);
    assert.deepEqual(v?.fallbackCommand, ['/bin/sorry', 'on']);
    assert.deepEqual(v?.quorum, { quorum: 2, hysteresis: 1, upCommand: ['/bin/up'] });
    assert.equal(v?.slowStartMs, 30_000);
    assert.equal(v?.proxyProtocol, 'v1');
    assert.deepEqual(v?.persistence, { timeoutMs: 300_000, netmaskPrefixLength: 24 });
    assert.deepEqual(v?.timeouts, { tcpMs: 3_600_000, tcpFinMs: 120_000, udpMs: 30_000 });
    assert.deepEqual(v?.alerts.emailStatuses, ['running']);
    assert.equal(v?.alerts.emailFrequencyMs, 600_000);
    assert.equal(v?.reals[0]?.key, '10.0.0.1:80');
    assert.equal(v?.reals[1]?.request, '/health');
    assert.deepEqual(v?.l7Rules.map((r) => [r.pattern, r.reals]), [['^/api/', ['10.0.0.2:80']]]);
  });

  it('daemon settings and schedules', async () => {
    const c = ok(await tomlText(`
[daemon]
engine = "nftables"
log = "syslog:local3"
log_level = "debug"
http_listen = "127.0.0.1:9180"
drain_deadline = "2m"
[[daemon.schedule]]
name = "weekly"
cron = "0 3 * * 0"
action = "drain"
target = "10.0.0.1:80"
`));
    assert.equal(c.daemon.engine, 'nftables');
    assert.deepEqual(c.daemon.log, { kind: 'syslog', facility: 'local3' });
    assert.equal(c.daemon.logLevel, 'debug');
    assert.equal(c.daemon.httpListen?.port, 9180);
    assert.equal(c.daemon.drainDeadlineMs, 120_000);
    assert.deepEqual(c.daemon.schedules.map((s) => [s.name, s.cron, s.action, s.target, s.location.line]), [['weekly', '0 3 * * 0', 'drain', '10.0.0.1:80', 8]]);
  });

  it('include pulls ldirectord.cf files relative to the TOML file, with their globals', async () => {
    const r = await loadConfigFile(`${FIXTURES}with-include.toml`, OPTIONS);
    const c = ok(r);
    assert.deepEqual(c.virtualServices.map((v) => v.id), ['tcp:192.0.2.61:80', 'tcp:192.0.2.62:443']);
    assert.equal(c.virtualServices[0]?.quiescent, true);
    assert.equal(c.daemon.readdQuiescent, true);
    assert.equal(c.files.length, 2);
    assert.match(c.files[1] as string, /legacy\/web\.cf$/);
  });

  it('host names in TOML addresses use the resolver', async () => {
    const c = ok(await tomlText('[[virtual]]\naddress = "www.example.com:https"\n[[virtual.real]]\naddress = "sql02:443"\n'));
    assert.equal(c.virtualServices[0]?.id, 'tcp:192.0.2.80:443');
    assert.equal(c.virtualServices[0]?.reals[0]?.key, '10.1.1.2:443');
  });
});

describe('config/load: format detection and unreadable files', () => {
  it('.toml is read as TOML and anything else as ldirectord.cf', async () => {
    const a = await loadConfigFile(`${FIXTURES}with-include.toml`, OPTIONS);
    assert.ok(a.ok);
    const b = await loadConfigFile(`${FIXTURES}legacy/web.cf`, OPTIONS);
    assert.ok(b.ok && b.config.virtualServices[0]?.id === 'tcp:192.0.2.61:80');
  });

  it('a directory is an unreadable file (NO_INPUT)', async () => {
    const e = err(await loadConfigFile(FIXTURES, OPTIONS), 'DIR_ERR_CONFIG_FILE_UNREADABLE', 1);
    assert.equal(e.exitStatus, EXIT.NO_INPUT);
  });
});

describe('config/toml: invalid documents', () => {
  it('a syntax error carries line and column', async () => {
    const e = err(await tomlText('a = 1\n[daemon\nengine = "x"\n'), 'DIR_ERR_CONFIG_TOML_SYNTAX', 2);
    assert.equal(e.exitStatus, EXIT.CONFIG_SYNTAX);
    assert.ok(e.location.column >= 1);
  });

  it('a redefined key is located at its second definition', async () => {
    err(await tomlText('[daemon]\nengine = "embedded"\n\nengine = "ipvs"\n'), 'DIR_ERR_CONFIG_TOML_SYNTAX', 4);
  });

  it('unknown keys are errors with did-you-mean, at the key line', async () => {
    const e = err(await tomlText('[[virtual]]\naddress = "192.0.2.1:80"\nschedular = "wlc"\n'), 'DIR_ERR_CONFIG_UNKNOWN_KEY', 3);
    assert.match(e.hint, /did you mean scheduler/);
  });

  it('wrong types are reported at the key line', async () => {
    const r = await tomlText('[[virtual]]\naddress = "192.0.2.1:80"\n  [[virtual.real]]\n  address = "10.0.0.1:80"\n  weight = "ten"\n');
    const e = err(r, 'DIR_ERR_CONFIG_WRONG_TYPE', 5);
    assert.match(e.message, /weight must be an integer/);
  });

  it('errors in the second virtual point into the second virtual', async () => {
    const r = await tomlText('[[virtual]]\naddress = "192.0.2.1:80"\nscheduler = "wlc"\n\n[[virtual]]\naddress = "192.0.2.2:80"\nscheduler = "bogus"\n');
    err(r, 'DIR_ERR_CONFIG_INVALID_VALUE', 7);
  });

  it('out-of-range weights and VRIDs', async () => {
    err(await tomlText('[[virtual]]\naddress = "192.0.2.1:80"\n[[virtual.real]]\naddress = "10.0.0.1:80"\nweight = 70000\n'), 'DIR_ERR_CONFIG_OUT_OF_RANGE', 5);
    err(await tomlText('[[vrrp.instance]]\nname = "A"\ninterface = "eth0"\nvirtual_router_id = 256\nvirtual_ipaddress = ["192.0.2.1"]\n'), 'DIR_ERR_CONFIG_OUT_OF_RANGE', 4);
  });

  it('a real of the other family, and a fallback of the other family', async () => {
    err(await tomlText('[[virtual]]\naddress = "192.0.2.1:80"\n[[virtual.real]]\naddress = "[2001:db8::1]:80"\n'), 'DIR_ERR_CONFIG_WRONG_FAMILY', 3);
    err(await tomlText('[[virtual]]\naddress = "192.0.2.1:80"\nfallback = "[::1]:80"\n'), 'DIR_ERR_CONFIG_WRONG_FAMILY', 3);
  });

  it('family must agree with the address', async () => {
    err(await tomlText('[[virtual]]\naddress = "192.0.2.1:80"\nfamily = 6\n'), 'DIR_ERR_CONFIG_WRONG_FAMILY', 3);
  });

  it('duplicate virtual ids (80 and http are the same)', async () => {
    err(await tomlText('[[virtual]]\naddress = "192.0.2.1:80"\n[[virtual]]\naddress = "192.0.2.1:http"\n'), 'DIR_ERR_CONFIG_DUPLICATE_VIRTUAL', 3);
  });

  it('duplicate VRID on one interface and family; allowed on another interface', async () => {
    const inst = (n: string, dev: string, vrid: number, vip: string) =>
      `[[vrrp.instance]]\nname = "${n}"\ninterface = "${dev}"\nvirtual_router_id = ${vrid}\nvirtual_ipaddress = ["${vip}"]\n`;
    err(await tomlText(inst('A', 'eth0', 5, '192.0.2.1') + inst('B', 'eth0', 5, '192.0.2.2')), 'DIR_ERR_CONFIG_DUPLICATE_VRID', 6);
    ok(await tomlText(inst('A', 'eth0', 5, '192.0.2.1') + inst('B', 'eth1', 5, '192.0.2.2')));
    ok(await tomlText(inst('A', 'eth0', 5, '192.0.2.1') + inst('B', 'eth0', 5, '2001:db8::2')));
  });

  it('references: sync group members, track scripts, l7 rule reals', async () => {
    err(await tomlText('[[vrrp.sync_group]]\nname = "G"\ngroup = ["NOPE"]\n'), 'DIR_ERR_CONFIG_UNKNOWN_REFERENCE', 1);
    err(await tomlText('[[vrrp.instance]]\nname = "A"\ninterface = "eth0"\nvirtual_router_id = 1\nvirtual_ipaddress = ["192.0.2.1"]\ntrack_script = ["missing"]\n'), 'DIR_ERR_CONFIG_UNKNOWN_REFERENCE', 1);
    err(await tomlText('[[virtual]]\naddress = "192.0.2.1:80"\n[[virtual.l7_rule]]\npattern = "^/"\nreals = ["10.9.9.9:80"]\n'), 'DIR_ERR_CONFIG_UNKNOWN_REFERENCE', 3);
  });

  it('VRRP semantic rules: v2 advert in whole seconds, auth only in v2, missing VIPs, nopreempt+MASTER', async () => {
    const base = '[[vrrp.instance]]\nname = "A"\ninterface = "eth0"\nvirtual_router_id = 1\n';
    err(await tomlText(`${base}virtual_ipaddress = ["192.0.2.1"]\nadvert_int = 0.5\n`), 'DIR_ERR_CONFIG_INVALID_VALUE', 1);
    err(await tomlText(`${base}version = 3\nvirtual_ipaddress = ["192.0.2.1"]\nauthentication = { auth_type = "PASS", auth_pass = "x" }\n`), 'DIR_ERR_CONFIG_CONFLICT', 1);
    err(await tomlText(base), 'DIR_ERR_CONFIG_MISSING_KEY', 1);
    warned(await tomlText(`${base}virtual_ipaddress = ["192.0.2.1"]\nstate = "MASTER"\nnopreempt = true\n`), 'DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE', 1);
  });

  it('missing required keys', async () => {
    err(await tomlText('[[virtual]]\nscheduler = "rr"\n'), 'DIR_ERR_CONFIG_MISSING_KEY', 1);
    err(await tomlText('[[vrrp.instance]]\ninterface = "eth0"\nvirtual_router_id = 1\nvirtual_ipaddress = ["192.0.2.1"]\n'), 'DIR_ERR_CONFIG_MISSING_KEY', 1);
    err(await tomlText('[[virtual]]\naddress = "192.0.2.1:80"\n  [virtual.check]\n  type = "combined"\n'), 'DIR_ERR_CONFIG_MISSING_KEY', 3);
  });

  it('a shell pipeline in a TOML command string is warned about and split literally', async () => {
    const r = await tomlText('[[vrrp.script]]\nname = "s"\nscript = "pidof x || exit 1"\n');
    assert.deepEqual(ok(r).vrrp.scripts[0]?.command, ['pidof', 'x', '||', 'exit', '1']);
    warned(r, 'DIR_ERR_CONFIG_LINT_SHELL_SYNTAX', 3);
  });

  it('a missing include is NO_INPUT; errors inside an include point into that file', async () => {
    const a = err(await loadConfigFile(`${FIXTURES}missing-include.toml`, OPTIONS), 'DIR_ERR_CONFIG_INCLUDE_NOT_FOUND', 1);
    assert.equal(a.exitStatus, EXIT.NO_INPUT);
    const b = err(await loadConfigFile(`${FIXTURES}broken-include.toml`, OPTIONS), 'DIR_ERR_CONFIG_INVALID_VALUE', 3);
    assert.match(b.location.file, /legacy\/broken\.cf$/);
  });

  it('bad durations, addresses and cron expressions', async () => {
    err(await tomlText('[[virtual]]\naddress = "192.0.2.1:80"\nslow_start = "soon"\n'), 'DIR_ERR_CONFIG_WRONG_TYPE', 3);
    err(await tomlText('[[virtual]]\naddress = "192.0.2.1"\n'), 'DIR_ERR_CONFIG_INVALID_VALUE', 2);
    err(await tomlText('[[virtual]]\naddress = "nosuch.example:80"\n'), 'DIR_ERR_CONFIG_UNRESOLVABLE_HOST', 2);
    err(await tomlText('[[schedule]]\nname = "x"\ncron = "every day"\naction = "reload"\n'), 'DIR_ERR_CONFIG_INVALID_VALUE', 1);
  });
});
