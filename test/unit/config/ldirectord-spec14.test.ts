/**
 * ldirectord-spec section 14, cases 1-64, as tests of the ldirectord.cf reader.
 * Cases 51-64 describe runtime and CLI behaviour; here they are tested for the part the config
 * module owns (the values the director and CLI act on, diffs for reloads, configtest exit codes).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConfigTest } from '../../../src/config/configtest.js';
import { diffConfig } from '../../../src/config/diff.js';
import { loadConfigFile } from '../../../src/config/load.js';
import { EXIT } from '../../../src/core/exit-status.js';
import { cf, cfOk, err, noWarnings, ok, only, OPTIONS, warned } from './helpers.js';

const reals = (v: { reals: readonly { key: string; forward: string; weight: number }[] }) => v.reals.map((r) => `${r.key} ${r.forward} ${r.weight}`);

describe('config/ldirectord: spec section 14, valid input (cases 1-18)', () => {
  it('1. minimal HTTP service', async () => {
    const r = await cf('virtual=192.168.6.240:80\n\treal=192.168.6.2:80 gate\n\treal=192.168.6.3:80 gate 5\n\trequest="index.html"\n\treceive="Test Page"\n');
    const v = only(ok(r));
    assert.equal(v.id, 'tcp:192.168.6.240:80');
    assert.equal(v.protocol, 'tcp');
    assert.equal(v.scheduler, 'wrr');
    assert.equal(v.check.service, 'http');
    assert.equal(v.check.type, 'negotiate');
    assert.equal(v.check.request, '/index.html');
    assert.equal(v.check.receive, 'Test Page');
    assert.deepEqual(reals(v), ['192.168.6.2:80 gate 1', '192.168.6.3:80 gate 5']);
    assert.equal(v.check.timeoutMs, 5000);
    assert.equal(v.check.negotiateTimeoutMs, 30000);
    assert.equal(v.check.failureCount, 1);
    assert.equal(v.quiescent, false);
    noWarnings(r);
  });

  it('2. range a->b expands to one real per address', async () => {
    const v = only(await cfOk('virtual=10.0.0.1:80\n\treal=192.168.6.6->192.168.6.8:80 masq 3\n'));
    assert.deepEqual(reals(v), ['192.168.6.6:80 masq 3', '192.168.6.7:80 masq 3', '192.168.6.8:80 masq 3']);
  });

  it('3. port 53 defaults to UDP; a tcp block on the same address is not a duplicate', async () => {
    const c = await cfOk('virtual=10.0.0.1:53\n\treal=10.0.1.1:53 gate\n\nvirtual=10.0.0.1:53\n\treal=10.0.1.1:53 gate\n\tprotocol=tcp\n');
    assert.deepEqual(c.virtualServices.map((v) => v.id), ['udp:10.0.0.1:53', 'tcp:10.0.0.1:53']);
    assert.equal(c.virtualServices[0]?.check.service, 'dns');
  });

  it('4. fwmark service: protocol fwm, service none, real port 0, checkport', async () => {
    const r = await cf('virtual=7\n\treal=10.0.1.1 gate\n\tchecktype=connect\n\tcheckport=443\n');
    const v = only(ok(r));
    assert.equal(v.id, 'fwm:7');
    assert.equal(v.protocol, 'fwm');
    assert.equal(v.fwmark, 7);
    assert.equal(v.address, undefined);
    assert.equal(v.check.service, 'none');
    assert.equal(v.check.checkPort, 443);
    assert.equal(v.check.type, 'connect');
    assert.deepEqual(reals(v), ['10.0.1.1:0 gate 1']);
  });

  it('5. IPv6 with persistence and fallback6', async () => {
    const v = only(await cfOk('virtual6=[2001:db8::5]:119\n\treal6=[2001:db8:0:1::4]:119 masq\n\tfallback6=[::1]:119\n\tpersistent=300\n\tnetmask=64\n'));
    assert.equal(v.id, 'tcp:[2001:db8::5]:119');
    assert.equal(v.family, 6);
    assert.equal(v.check.service, 'nntp');
    assert.deepEqual(v.persistence, { timeoutMs: 300_000, netmaskPrefixLength: 64 });
    assert.deepEqual(reals(v), ['[2001:db8:0:1::4]:119 masq 1']);
    assert.equal(v.fallback?.address.text, '::1');
    assert.equal(v.fallback?.port, 119);
    assert.equal(v.fallback?.forward, 'gate');
  });

  it('6. service names in addresses and host names in reals', async () => {
    const v = only(await cfOk('virtual=10.0.0.1:http\n\treal=localhost:https gate\n'));
    assert.equal(v.port, 80);
    assert.equal(v.check.service, 'http');
    assert.deepEqual(reals(v), ['127.0.0.1:443 gate 1']);
  });

  it('7. UDP extras: ops, persistence with netmask, schedflags', async () => {
    const v = only(await cfOk('virtual=10.0.0.1:5000\n\treal=10.0.1.1:5000 gate\n\tprotocol=udp\n\tops=yes\n\tpersistent=60\n\tnetmask=255.255.255.0\n\tschedflags=sh-port,sh-fallback\n'));
    assert.equal(v.id, 'udp:10.0.0.1:5000');
    assert.equal(v.ops, true);
    assert.deepEqual(v.persistence, { timeoutMs: 60_000, netmaskPrefixLength: 24 });
    assert.deepEqual(v.schedulerFlags, ['sh-port', 'sh-fallback']);
  });

  it('8. per-real request/receive without a leading slash, with thresholds', async () => {
    const r = await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate 5 "a.html", "OK" l:10 u:20\n');
    const real = only(ok(r)).reals[0];
    assert.equal(real?.weight, 5);
    assert.equal(real?.request, '/a.html');
    assert.equal(real?.receive, 'OK');
    assert.equal(real?.lowerThreshold, 10);
    assert.equal(real?.upperThreshold, 20);
    noWarnings(r);
  });

  it('9. per-real request WITH a leading slash is ignored and the threshold lost (bug kept, warned)', async () => {
    const r = await cf('virtual=10.0.0.1:80\n\treal=10.0.1.2:80 gate "/b.html" "Fine" l:3\n\treceive="VirtualOK"\n');
    const real = only(ok(r)).reals[0];
    assert.equal(real?.request, undefined);
    assert.equal(real?.receive, undefined);
    assert.equal(real?.lowerThreshold, 0);
    warned(r, 'DIR_ERR_CONFIG_LINT_REAL_CHECK_IGNORED', 2);
  });

  it('10. unquoted thresholds; u: before l: drops u silently (warned)', async () => {
    const a = only(await cfOk('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate 2 l:10 u:20\n')).reals[0];
    assert.deepEqual([a?.weight, a?.lowerThreshold, a?.upperThreshold], [2, 10, 20]);
    const r = await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate 2 u:20 l:10\n');
    const b = only(ok(r)).reals[0];
    assert.deepEqual([b?.lowerThreshold, b?.upperThreshold], [10, 0]);
    warned(r, 'DIR_ERR_CONFIG_LINT_THRESHOLD_DROPPED', 2);
  });

  it('11. comments and indentation inside a block', async () => {
    const r = await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate # web1\n# column-0 comment inside block\n\tchecktype=connect   # tcp only\n\tscheduler=wlc # y\n');
    const v = only(ok(r));
    assert.deepEqual(reals(v), ['10.0.1.1:80 gate 1']);
    assert.equal(v.check.type, 'connect');
    assert.equal(v.scheduler, 'wlc');
  });

  it('12. timeout cross-over: per-virtual negotiatetimeout beats global checktimeout', async () => {
    const v = only(await cfOk('checktimeout=3\nvirtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\tnegotiatetimeout=20\n'));
    assert.equal(v.check.timeoutMs, 20_000);
    assert.equal(v.check.negotiateTimeoutMs, 20_000);
  });

  it('13. only a global negotiatetimeout sets both; neither gives 5 and 30', async () => {
    const a = only(await cfOk('negotiatetimeout=12\nvirtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n'));
    assert.deepEqual([a.check.timeoutMs, a.check.negotiateTimeoutMs], [12_000, 12_000]);
    const b = only(await cfOk('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n'));
    assert.deepEqual([b.check.timeoutMs, b.check.negotiateTimeoutMs], [5_000, 30_000]);
  });

  it('14. ftp login defaults come only from the service= line', async () => {
    const a = only(await cfOk('virtual=10.0.0.1:21\n\treal=10.0.1.1:21 gate\n\tservice=ftp\n'));
    assert.equal(a.check.login, 'anonymous');
    assert.equal(a.check.password, 'ldirectord@director1');
    const b = only(await cfOk('virtual=10.0.0.1:21\n\treal=10.0.1.1:21 gate\n'));
    assert.equal(b.check.service, 'ftp');
    assert.equal(b.check.login, '');
    assert.equal(b.check.password, '');
  });

  it('15. httpmethod is case-insensitive; virtualhost quotes are removed', async () => {
    const v = only(await cfOk('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\thttpmethod=head\n\tvirtualhost="www.example.com"\n'));
    assert.equal(v.check.httpMethod, 'HEAD');
    assert.equal(v.check.virtualHost, 'www.example.com');
  });

  it('16. a repeated directive: the last value wins', async () => {
    const v = only(await cfOk('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\tchecktype=negotiate\n\tchecktype=ping\n\trequest="a"\n\trequest="/b"\n'));
    assert.equal(v.check.type, 'ping');
    assert.equal(v.check.request, '/b');
  });

  it('17. global numbers take the first digit run; global strings keep trailing comments', async () => {
    const r = await cf('checktimeout = 7 # seconds\nemailalert="a@b.c" # ops\nvirtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n');
    const v = only(ok(r));
    assert.equal(v.check.timeoutMs, 7000);
    assert.deepEqual(v.alerts.emailTo, ['"a@b.c" # ops']);
    warned(r, 'DIR_ERR_CONFIG_LINT_SUSPICIOUS', 2);
  });

  it('18. numeric checktype is combined (checktype=http2 too, with a warning)', async () => {
    const a = only(await cfOk('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\tchecktype=5\n'));
    assert.equal(a.check.type, 'combined');
    assert.equal(a.check.negotiateEvery, 5);
    const r = await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\tchecktype=http2\n');
    const b = only(ok(r));
    assert.equal(b.check.type, 'combined');
    assert.equal(b.check.negotiateEvery, 2);
    warned(r, 'DIR_ERR_CONFIG_LINT_SUSPICIOUS', 3);
  });
});

describe('config/ldirectord: spec section 14, tricky or invalid input (cases 19-50)', () => {
  it('19. an address without a port is a firewall mark (warned)', async () => {
    const r = await cf('virtual=192.168.1.10\n\treal=10.0.1.1 gate\n');
    const v = only(ok(r));
    assert.equal(v.id, 'fwm:192');
    assert.equal(v.fwmark, 192);
    const w = warned(r, 'DIR_ERR_CONFIG_LINT_FWMARK_FROM_ADDRESS', 1);
    assert.equal(w.location.column, 9);
  });

  it('20. a bracketed octet range matches as host "80" (0.0.0.80, port 0), warned', async () => {
    const r = await cf('virtual=7\n\treal=192.168.1.[1-5]:80 gate\n');
    assert.deepEqual(reals(only(ok(r))), ['0.0.0.80:0 gate 1']);
    warned(r, 'DIR_ERR_CONFIG_LINT_MISPARSED_ADDRESS', 2);
  });

  it('21. a blank line ends the block: the next indented line is an error at its line', async () => {
    const r = await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\n\treal=10.0.1.2:80 gate\n');
    const e = err(r, 'DIR_ERR_CONFIG_OUTSIDE_BLOCK', 4);
    assert.equal(e.exitStatus, EXIT.CONFIG_SYNTAX);
    assert.match(e.hint, /blank line/);
  });

  it('22. a three-space indent ends the block', async () => {
    err(await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n   real=10.0.1.2:80 gate\n'), 'DIR_ERR_CONFIG_OUTSIDE_BLOCK', 3);
  });

  it('23. # inside quotes cuts the line', async () => {
    const e = err(await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\treceive="color #fff"\n'), 'DIR_ERR_CONFIG_QUOTES_REQUIRED', 3);
    assert.match(e.hint, /#/);
  });

  it('24. request needs quotes', async () => {
    err(await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\trequest=/index.html\n'), 'DIR_ERR_CONFIG_QUOTES_REQUIRED', 3);
  });

  it('25. an empty request is refused', async () => {
    const e = err(await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\trequest=""\n'), 'DIR_ERR_CONFIG_INVALID_VALUE', 3);
    assert.match(e.message, /no request string specified/);
  });

  it('26. yes/no at global level: trailing comment, trailing space and CRLF all fail', async () => {
    for (const line of ['quiescent=yes # comment', 'quiescent = yes ', 'quiescent=yes\r']) {
      const e = err(await cf(`${line}\nvirtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n`), 'DIR_ERR_CONFIG_INVALID_YES_NO', 1);
      assert.match(e.message, /quiescent must be 'yes' or 'no'/);
    }
  });

  it('27. yes/no inside a block: a trailing comment leaves a space and fails', async () => {
    err(await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\tquiescent=yes # drain\n'), 'DIR_ERR_CONFIG_INVALID_YES_NO', 3);
  });

  it('28. wrong case or an indent at top level is an error', async () => {
    const e = err(await cf('Checktimeout=5\n'), 'DIR_ERR_CONFIG_UNKNOWN_DIRECTIVE', 1);
    assert.match(e.hint, /case-sensitive: write checktimeout/);
    err(await cf('  checktimeout=5\n'), 'DIR_ERR_CONFIG_OUTSIDE_BLOCK', 1);
  });

  it('29. connecttimeout and global timeout are deprecated errors', async () => {
    const a = err(await cf('connecttimeout=5\n'), 'DIR_ERR_CONFIG_DEPRECATED_DIRECTIVE', 1);
    assert.match(a.message, /negotiatetimeout/);
    const b = err(await cf('timeout=5\n'), 'DIR_ERR_CONFIG_DEPRECATED_DIRECTIVE', 1);
    assert.match(b.message, /checktimeout and negotiatetimeout/);
  });

  it('30. a global-only directive inside a block is refused', async () => {
    err(await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\tautoreload=yes\n'), 'DIR_ERR_CONFIG_WRONG_CONTEXT', 3);
  });

  it('31. a real without method, or with Gate, is refused', async () => {
    err(await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80\n'), 'DIR_ERR_CONFIG_INVALID_REAL', 2);
    const e = err(await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 Gate\n'), 'DIR_ERR_CONFIG_FORWARD_METHOD', 2);
    assert.match(e.hint, /did you mean gate/);
  });

  it('32. a descending range is refused', async () => {
    const e = err(await cf('virtual=10.0.0.1:80\n\treal=192.168.1.5->192.168.1.1:80 gate\n'), 'DIR_ERR_CONFIG_INVALID_RANGE', 2);
    assert.match(e.message, /192\.168\.1\.5->192\.168\.1\.1: First value must be greater than or equal/);
  });

  it('33. a range across a digit boundary: ldirectord adds none; directord expands it and warns', async () => {
    const r = await cf('virtual=10.0.0.1:80\n\treal=59.154.201.254->59.154.202.2:80 gate\n');
    assert.equal(only(ok(r)).reals.length, 5);
    const w = warned(r, 'DIR_ERR_CONFIG_LINT_RANGE_BUG', 2);
    assert.match(w.message, /ldirectord would add 0/);
  });

  it('34. a number inside a receive string is taken as the weight, then the line fails', async () => {
    const e = err(await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate "a", "HTTP 200"\n'), 'DIR_ERR_CONFIG_INVALID_REAL', 2);
    assert.match(e.message, /around """/);
  });

  it('35. quoted thresholds are a request/receive pair', async () => {
    const r = await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate 2 "l:10" "u:20"\n');
    const real = only(ok(r)).reals[0];
    assert.deepEqual([real?.request, real?.receive, real?.lowerThreshold, real?.upperThreshold], ['/l:10', 'u:20', 0, 0]);
    warned(r, 'DIR_ERR_CONFIG_LINT_SUSPICIOUS', 2);
  });

  it('36. the weight is picked mid-line; the word before it is ignored (warned)', async () => {
    const r = await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate foo 3\n');
    assert.equal(only(ok(r)).reals[0]?.weight, 3);
    warned(r, 'DIR_ERR_CONFIG_LINT_WEIGHT_MIDLINE', 2);
  });

  it('37. port 70000 cannot be resolved', async () => {
    const e = err(await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:70000 masq\n'), 'DIR_ERR_CONFIG_UNKNOWN_PORT', 2);
    assert.match(e.message, /70000/);
    assert.equal(e.exitStatus, EXIT.CONFIG_SEMANTIC);
  });

  it('38. family mismatches and IPv6 ranges', async () => {
    err(await cf('virtual=10.0.0.1:80\n\treal6=[::1]:80 masq\n'), 'DIR_ERR_CONFIG_WRONG_FAMILY', 2);
    const e = err(await cf('virtual=[2001:db8::5]:119\n\treal=10.0.1.1:119 gate\n'), 'DIR_ERR_CONFIG_WRONG_FAMILY', 1);
    assert.match(e.message, /virtual6/);
    const r = err(await cf('virtual6=[2001:db8::5]:80\n\treal6=[::1]->[::2]:80 gate\n'), 'DIR_ERR_CONFIG_INVALID_RANGE', 2);
    assert.match(r.message, /IPv6 is not supported/);
  });

  it('39. duplicate virtual (80 and http) reported at the line that ended the second block', async () => {
    const e = err(await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\nvirtual=10.0.0.1:http\n\treal=10.0.1.2:80 gate\n\n'), 'DIR_ERR_CONFIG_DUPLICATE_VIRTUAL', 6);
    assert.match(e.message, /tcp:10\.0\.0\.1:80/);
  });

  it('40. case-sensitive keywords: checktype, service, protocol; fwm on an address virtual', async () => {
    const base = 'virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n';
    for (const line of ['checktype=Connect', 'checktype=negotiate_connect', 'service=HTTP', 'protocol=UDP', 'protocol=fwm']) {
      err(await cf(`${base}\t${line}\n`), 'DIR_ERR_CONFIG_INVALID_VALUE', 3);
    }
  });

  it('41. scheduler=Wlc is lc (warned); scheduler=123 is an error', async () => {
    const r = await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\tscheduler=Wlc\n');
    assert.equal(only(ok(r)).scheduler, 'lc');
    warned(r, 'DIR_ERR_CONFIG_LINT_SCHEDULER_MANGLED', 3);
    const e = err(await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\tscheduler=123\n'), 'DIR_ERR_CONFIG_INVALID_VALUE', 3);
    assert.match(e.message, /lowercase letters/);
  });

  it('42. checkport 0 and 65536 are refused', async () => {
    for (const p of ['0', '65536']) {
      err(await cf(`virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\tcheckport=${p}\n`), 'DIR_ERR_CONFIG_OUT_OF_RANGE', 3);
    }
  });

  it('43. netmask forms per family', async () => {
    err(await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\tnetmask=24\n'), 'DIR_ERR_CONFIG_INVALID_VALUE', 3);
    err(await cf('virtual6=[2001:db8::5]:80\n\treal6=[2001:db8::6]:80 gate\n\tnetmask=ffff::\n'), 'DIR_ERR_CONFIG_INVALID_VALUE', 3);
  });

  it('44. emailalertstatus: none mixed with others, and unknown words', async () => {
    const a = err(await cf('emailalertstatus=none,running\n'), 'DIR_ERR_CONFIG_INVALID_VALUE', 1);
    assert.match(a.message, /"running" specified with "none"/);
    const b = err(await cf('emailalertstatus=bogus\n'), 'DIR_ERR_CONFIG_INVALID_VALUE', 1);
    assert.match(b.message, /at: "bogus"/);
  });

  it('45. bare supervised warns and means yes; supervised=1 is an error', async () => {
    const r = await cf('supervised\n');
    assert.equal(ok(r).daemon.supervised, true);
    warned(r, 'DIR_ERR_CONFIG_LINT_DEPRECATED', 1);
    err(await cf('supervised=1\n'), 'DIR_ERR_CONFIG_INVALID_YES_NO', 1);
  });

  it('46. logfile needs quotes; "local0" is a syslog facility', async () => {
    err(await cf('logfile=local0\n'), 'DIR_ERR_CONFIG_QUOTES_REQUIRED', 1);
    assert.deepEqual(ok(await cf('logfile="local0"\n')).daemon.log, { kind: 'syslog', facility: 'local0' });
  });

  it('47. a per-virtual checkinterval with fork=no is ignored with a warning', async () => {
    const r = await cf('checkinterval=7\nvirtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\tcheckinterval=3\n');
    assert.equal(only(ok(r)).check.intervalMs, 7000);
    const w = warned(r, 'DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE', 4);
    assert.match(w.message, /checkinterval in virtual service tcp:10\.0\.0\.1:80 ignored when fork=no/);
  });

  it('48. fallback forward method check; a per-virtual fallback without port takes the virtual port', async () => {
    err(await cf('fallback=127.0.0.1:8080 route\n'), 'DIR_ERR_CONFIG_FORWARD_METHOD', 1);
    const v = only(await cfOk('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\tfallback=127.0.0.1\n'));
    assert.deepEqual([v.fallback?.address.text, v.fallback?.port, v.fallback?.forward, v.fallback?.weight], ['127.0.0.1', 80, 'gate', 1]);
  });

  it('49. monitorfile in a missing directory is refused; a valid one is not created at parse time', async () => {
    err(await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\tmonitorfile=/nonexistent/dir/m.log\n'), 'DIR_ERR_CONFIG_PATH_UNUSABLE', 3);
    const dir = mkdtempSync(join(tmpdir(), 'directord-cfg-'));
    try {
      const path = join(dir, 'm.log');
      const v = only(await cfOk(`virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\tmonitorfile=${path}\n`));
      assert.equal(v.monitorFile, path);
      assert.equal(existsSync(path), false, 'directord does not create files while reading a config');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('50. smtp keeps the host and drops a port (warned)', async () => {
    const r = await cf('smtp=mail.example.com:25\nvirtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n');
    assert.equal(only(ok(r)).alerts.smtpHost, 'mail.example.com');
    warned(r, 'DIR_ERR_CONFIG_LINT_IGNORED_TEXT', 1);
  });
});

describe('config/ldirectord: spec section 14, runtime cases 51-59 (the config side)', () => {
  it('51. failurecount and an external check', async () => {
    const v = only(await cfOk('failurecount=2\nquiescent=no\nvirtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\tchecktype=external\n\tcheckcommand=/usr/local/bin/check-web\n'));
    assert.equal(v.check.failureCount, 2);
    assert.equal(v.check.type, 'external');
    assert.deepEqual(v.check.command, ['/usr/local/bin/check-web']);
    assert.equal(v.quiescent, false);
  });

  it('52. fallback and fallbackcommand become a sorry server and an argv', async () => {
    const v = only(await cfOk('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\treal=10.0.1.2:80 gate\n\tfallback=127.0.0.1:80 gate\n\tfallbackcommand="/usr/local/bin/fb"\n'));
    assert.equal(v.fallback?.address.text, '127.0.0.1');
    assert.deepEqual(v.fallbackCommand, ['/usr/local/bin/fb']);
  });

  it('53. quiescent, readdquiescent, scheduler and persistence for the start-up sync', async () => {
    const c = await cfOk('quiescent=yes\nreaddquiescent=yes\nvirtual=10.0.0.1:80\n\treal=10.0.1.2:80 gate 1\n\treal=10.0.1.3:80 gate 2\n\tscheduler=wlc\n\tpersistent=300\n');
    const v = only(c);
    assert.equal(c.daemon.readdQuiescent, true);
    assert.equal(v.quiescent, true);
    assert.equal(v.scheduler, 'wlc');
    assert.equal(v.persistence?.timeoutMs, 300_000);
    assert.deepEqual(reals(v), ['10.0.1.2:80 gate 1', '10.0.1.3:80 gate 2']);
  });

  it('54. cleanstop=no (global and per virtual)', async () => {
    assert.equal(only(await cfOk('cleanstop=no\nvirtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n')).cleanStop, false);
    assert.equal(only(await cfOk('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\tcleanstop=no\n')).cleanStop, false);
    assert.equal(only(await cfOk('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n')).cleanStop, true);
  });

  it('55. default readdquiescent=no; reals start down (no start-up full-weight flap)', async () => {
    const c = await cfOk('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\treal=10.0.1.2:80 gate\n\tfallback=127.0.0.1:80\n');
    assert.equal(c.daemon.readdQuiescent, false);
    assert.equal(only(c).check.initialState, 'down');
  });

  it('56. a reload as a diff: real dropped and added, scheduler changed, virtual removed and added', async () => {
    const before = await cfOk('virtual=10.0.0.1:80\n\treal=10.0.1.2:80 gate\n\treal=10.0.1.3:80 gate\n\nvirtual=10.0.0.2:80\n\treal=10.0.2.1:80 gate\n');
    const after = await cfOk('virtual=10.0.0.1:80\n\treal=10.0.1.2:80 gate\n\treal=10.0.1.4:80 gate 3\n\tscheduler=rr\n\nvirtual=10.0.0.3:5000\n\treal=10.0.3.1:5000 gate\n\tprotocol=udp\n');
    const d = diffConfig(before, after);
    assert.equal(d.isEmpty, false);
    assert.deepEqual(d.virtualsRemoved.map((v) => v.id), ['tcp:10.0.0.2:80']);
    assert.deepEqual(d.virtualsAdded.map((v) => v.id), ['udp:10.0.0.3:5000']);
    const ch = d.virtualsChanged[0];
    assert.equal(ch?.id, 'tcp:10.0.0.1:80');
    assert.deepEqual(ch?.fields, ['scheduler']);
    assert.deepEqual(ch?.realsRemoved.map((r) => r.key), ['10.0.1.3:80']);
    assert.deepEqual(ch?.realsAdded.map((r) => `${r.key} ${r.weight}`), ['10.0.1.4:80 3']);
  });

  it('57. a config with an unknown directive does not load (the director keeps the old one)', async () => {
    const r = await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\tbogus=1\n');
    err(r, 'DIR_ERR_CONFIG_UNKNOWN_DIRECTIVE', 3);
  });

  it('58. autoreload and callback; appending a real shows as one added real', async () => {
    const a = await cfOk('autoreload=yes\ncallback="/path/cb"\nvirtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n');
    assert.equal(a.daemon.autoreload, true);
    assert.equal(a.daemon.callback, '/path/cb');
    assert.equal(a.daemon.autoreloadIntervalMs, 10_000);
    const b = await cfOk('autoreload=yes\ncallback="/path/cb"\nvirtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\treal=10.0.1.9:80 gate\n');
    const d = diffConfig(a, b);
    assert.deepEqual(d.virtualsChanged[0]?.realsAdded.map((r) => r.key), ['10.0.1.9:80']);
    assert.deepEqual(d.virtualsChanged[0]?.fields, []);
  });

  it('59. two virtuals sharing a real each carry it, with their own failure count', async () => {
    const c = await cfOk('failurecount=4\nvirtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate\n\tchecktype=external\n\nvirtual=10.0.0.5:80\n\treal=10.0.0.2:80 gate\n\tchecktype=external\n');
    assert.deepEqual(c.virtualServices.map((v) => [v.reals[0]?.key, v.check.failureCount]), [['10.0.0.2:80', 4], ['10.0.0.2:80', 4]]);
  });
});

describe('config/ldirectord: spec section 14, CLI cases 60-64 (the config side)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'directord-cfg-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('60. the pid file is named after the config as given', async () => {
    const path = join(dir, 'web.cf');
    writeFileSync(path, 'virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n');
    const r = await loadConfigFile(path, OPTIONS);
    assert.equal(ok(r).daemon.pidFile, '/run/directord/directord.web.cf.pid');
  });

  it('61. a valid config passes configtest with exit 0 and a summary', async () => {
    const path = join(dir, 'ok.cf');
    writeFileSync(path, 'virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate 3\n');
    const r = await runConfigTest(path, { json: false, ...OPTIONS });
    assert.equal(r.exitCode, 0);
    assert.match(r.output, /TCP {2}10\.0\.0\.1:80 wrr/);
    assert.match(r.output, /10\.0\.1\.1:80 +Route +weight 3/);
    assert.match(r.output, /configuration OK/);
  });

  it('62. reading a broken config touches no pid file', async () => {
    const path = join(dir, 'broken.cf');
    const pid = join(dir, 'directord.broken.cf.pid');
    writeFileSync(pid, '12345\n');
    writeFileSync(path, 'bogus=1\n');
    const r = await loadConfigFile(path, OPTIONS);
    err(r, 'DIR_ERR_CONFIG_UNKNOWN_DIRECTIVE', 1);
    assert.equal(existsSync(pid), true);
  });

  it('63. a broken config fails configtest with the syntax exit status and the location', async () => {
    const path = join(dir, 'broken.cf');
    writeFileSync(path, 'virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\tchecktype=bogus\n');
    const r = await runConfigTest(path, { json: false, ...OPTIONS });
    assert.equal(r.exitCode, EXIT.CONFIG_SYNTAX);
    assert.match(r.output, new RegExp(`${path.replace(/[.]/g, '\\.')}:3:12: DIR_ERR_CONFIG_INVALID_VALUE`));
    assert.match(r.output, /NOT valid/);
  });

  it('64. a missing config file: NO_INPUT', async () => {
    const path = join(dir, 'missing.cf');
    const r = await loadConfigFile(path, OPTIONS);
    const e = err(r, 'DIR_ERR_CONFIG_FILE_NOT_FOUND');
    assert.equal(e.exitStatus, EXIT.NO_INPUT);
    const t = await runConfigTest(path, { json: true, ...OPTIONS });
    assert.equal(t.exitCode, EXIT.NO_INPUT);
    assert.equal(JSON.parse(t.output).errors[0].code, 'DIR_ERR_CONFIG_FILE_NOT_FOUND');
  });
});
