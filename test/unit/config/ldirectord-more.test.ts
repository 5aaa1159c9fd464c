/** More ldirectord.cf cases beyond spec section 14: every-problem reporting, lint, defaults, mapping. */
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/load.js';
import { cf, cfOk, err, noWarnings, ok, only, warned } from './helpers.js';

const BASE = 'virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n';

describe('config/ldirectord: more valid input', () => {
  it('daemon defaults for an ldirectord.cf', async () => {
    const c = await cfOk(BASE);
    assert.equal(c.daemon.engine, 'embedded');
    assert.equal(c.daemon.controlSocket, '/run/directord/directord.sock');
    assert.equal(c.daemon.stateFile, '/var/lib/directord/state.json');
    assert.equal(c.daemon.pidFile, '/run/directord/directord.test.cf.pid');
    assert.deepEqual(c.daemon.log, { kind: 'stdout' });
    assert.deepEqual(c.vrrp, { instances: [], syncGroups: [], scripts: [] });
    assert.deepEqual(c.files, ['test.cf']);
  });

  it('the loaded config is deep-frozen', async () => {
    const c = await cfOk(BASE);
    assert.ok(Object.isFrozen(c));
    assert.ok(Object.isFrozen(c.virtualServices[0]?.reals[0]));
    assert.ok(Object.isFrozen(c.virtualServices[0]?.check.command));
  });

  it('host names resolve through the injected resolver, in the block family', async () => {
    const v = only(await cfOk('virtual=www.example.com:80\n\treal=sql01:80 gate\n'));
    assert.equal(v.address?.text, '192.0.2.80');
    const v6 = only(await cfOk('virtual6=www.example.com:80\n\treal6=web6:80 gate\n'));
    assert.equal(v6.address?.text, '2001:db8::80');
    assert.equal(v6.reals[0]?.key, '[2001:db8::10]:80');
  });

  it('host-name ranges run between the resolved addresses (sql01->sql03)', async () => {
    const v = only(await cfOk('virtual=10.0.0.1:3306\n\treal=sql01->sql03:3306 gate\n'));
    assert.deepEqual(v.reals.map((r) => r.key), ['10.1.1.1:3306', '10.1.1.2:3306', '10.1.1.3:3306']);
  });

  it('service names on real ports (http-alt -> 8080) and the udp protocol from "domain"', async () => {
    const v = only(await cfOk('virtual=10.0.0.1:domain\n\treal=10.0.1.1:http-alt masq\n'));
    assert.equal(v.protocol, 'udp');
    assert.equal(v.port, 53);
    assert.equal(v.reals[0]?.port, 8080);
  });

  it('a real without a port takes the virtual port (as ipvsadm -r ADDR does)', async () => {
    assert.equal(only(await cfOk('virtual=10.0.0.1:443\n\treal=10.0.1.1 gate\n')).reals[0]?.key, '10.0.1.1:443');
  });

  it('CRLF works for numbers, keywords, quoted strings and real lines', async () => {
    const r = await cf('checktimeout=4\r\nvirtual=10.0.0.1:80\r\n\treal=10.0.1.1:80 gate 2\r\n\tchecktype=connect\r\n\trequest="x"\r\n');
    const v = only(ok(r));
    assert.equal(v.check.timeoutMs, 4000);
    assert.equal(v.check.type, 'connect');
    assert.equal(v.reals[0]?.weight, 2);
    assert.equal(v.check.request, '/x');
  });

  it('a request with a scheme is a complete URL (http_proxy, per-real URLs)', async () => {
    const v = only(await cfOk('virtual=10.0.0.1:3128\n\treal=10.0.1.1:3128 gate 1 "http://www.example.com/a", "OK"\n\trequest="http://www.example.com/"\n'));
    assert.equal(v.check.service, 'http_proxy');
    assert.equal(v.check.request, 'http://www.example.com/');
    assert.equal(v.reals[0]?.request, 'http://www.example.com/a');
  });

  it('tabs inside quoted strings become four spaces', async () => {
    assert.equal(only(await cfOk(`${BASE}\treceive="a\tb"\n`)).check.receive, 'a    b');
  });

  it('sip login default and an explicit login that wins over the ftp default', async () => {
    assert.equal(only(await cfOk(`${BASE}\tservice=sip\n`)).check.login, 'ldirectord@director1');
    const v = only(await cfOk(`${BASE}\tlogin="bob"\n\tservice=ftp\n`));
    assert.deepEqual([v.check.login, v.check.password], ['bob', 'ldirectord@director1']);
  });

  it('global fallback applies to every IPv4 tcp/udp virtual, with the virtual port when it has none', async () => {
    const c = await cfOk(`fallback=127.0.0.1\n${BASE}\nvirtual=10.0.0.2:443\n\treal=10.0.1.1:443 gate\n`);
    assert.deepEqual(c.virtualServices.map((v) => `${v.fallback?.address.text}:${v.fallback?.port}`), ['127.0.0.1:80', '127.0.0.1:443']);
  });

  it('global fallback on a fwmark service is applied and warned (ldirectord would break)', async () => {
    const r = await cf('fallback=127.0.0.1:80\nvirtual=9\n\treal=10.0.1.1 gate\n\tchecktype=connect\n\tcheckport=80\n');
    assert.equal(only(ok(r)).fallback?.port, 80);
    warned(r, 'DIR_ERR_CONFIG_LINT_SUSPICIOUS', 2);
  });

  it('emailalert lists, frequency, status filter and per-virtual override', async () => {
    const c = await cfOk(`emailalert="a@x, b@y"\nemailalertfreq=60\nemailalertstatus=starting, running\n${BASE}\nvirtual=10.0.0.2:80\n\treal=10.0.1.1:80 gate\n\temailalert=c@z\n`);
    const [a, b] = c.virtualServices;
    assert.deepEqual(a?.alerts.emailTo, ['a@x', 'b@y']);
    assert.equal(a?.alerts.emailFrequencyMs, 60_000);
    assert.deepEqual(a?.alerts.emailStatuses, ['starting', 'running']);
    assert.deepEqual(b?.alerts.emailTo, ['c@z']);
  });

  it('logfile with supervised=yes is ignored with a warning: logs go to stdout', async () => {
    const r = await cf('supervised=yes\nlogfile="daemon"\n');
    assert.deepEqual(ok(r).daemon.log, { kind: 'stdout' });
    warned(r, 'DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE', 2);
    assert.deepEqual(ok(await cf('logfile="/tmp/ld.log"\n')).daemon.log, { kind: 'file', path: '/tmp/ld.log' });
  });

  it('emailalertstatus=none disables every status', async () => {
    assert.deepEqual(only(await cfOk(`emailalertstatus=none\n${BASE}`)).alerts.emailStatuses, []);
  });

  it('global directives after a block apply to earlier blocks too (effective values come at the end)', async () => {
    const v = only(await cfOk(`${BASE}\nquiescent=yes\nfailurecount=3\n`));
    assert.equal(v.quiescent, true);
    assert.equal(v.check.failureCount, 3);
  });

  it('a global line directly after a block ends it and is read globally, raw', async () => {
    const v = only(await cfOk(`${BASE}checktimeout=9\n`));
    assert.equal(v.check.timeoutMs, 9000);
  });

  it('fork=yes honours a per-virtual checkinterval (and the fork itself is warned as not needed)', async () => {
    const r = await cf(`fork=yes\ncheckinterval=10\n${BASE}\tcheckinterval=3\n`);
    assert.equal(only(ok(r)).check.intervalMs, 3000);
    assert.equal(ok(r).daemon.autoreloadIntervalMs, 1000);
    warned(r, 'DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE', 1);
  });

  it('checkcommand with arguments becomes an argv, with a warning about ldirectord', async () => {
    const r = await cf(`${BASE}\tchecktype=external\n\tcheckcommand="/usr/lib/check --port 80 'a b'"\n`);
    assert.deepEqual(only(ok(r)).check.command, ['/usr/lib/check', '--port', '80', 'a b']);
    warned(r, 'DIR_ERR_CONFIG_LINT_COMMAND_ARGUMENTS', 4);
  });

  it('shell syntax in fallbackcommand is warned about and not interpreted', async () => {
    const r = await cf(`fallbackcommand=/usr/bin/logger down | mail ops\n${BASE}`);
    assert.deepEqual(only(ok(r)).fallbackCommand, ['/usr/bin/logger', 'down', '|', 'mail', 'ops']);
    warned(r, 'DIR_ERR_CONFIG_LINT_SHELL_SYNTAX', 1);
  });

  it('negotiate with service none checks nothing: warned', async () => {
    warned(await cf('virtual=10.0.0.1:8080\n\treal=10.0.1.1:8080 gate\n'), 'DIR_ERR_CONFIG_LINT_NO_CHECK', 1);
  });

  it('a duplicate real is dropped with a warning', async () => {
    const r = await cf(`${BASE}\treal=10.0.1.1:80 gate 5\n`);
    assert.deepEqual(only(ok(r)).reals.map((x) => x.weight), [1]);
    warned(r, 'DIR_ERR_CONFIG_LINT_DUPLICATE_REAL', 3);
  });

  it('Perl-only regex constructs in receive are warned', async () => {
    warned(await cf(`${BASE}\treceive="OK\\Z"\n`), 'DIR_ERR_CONFIG_LINT_REGEX', 3);
    warned(await cf(`${BASE}\treceive="a++"\n`), 'DIR_ERR_CONFIG_LINT_REGEX', 3);
  });

  it('trailing junk after the virtual address is ignored with a warning; a comment is not', async () => {
    warned(await cf('virtual=1.2.3.4:80 junk\n\treal=10.0.1.1:80 gate\n'), 'DIR_ERR_CONFIG_LINT_IGNORED_TEXT', 1);
    noWarnings(await cf('virtual=1.2.3.4:80 # web\n\treal=10.0.1.1:80 gate\n'));
  });

  it('load= is accepted and ignored with a warning; servicename and comment are kept raw', async () => {
    const r = await cf(`${BASE}\tload="x"\n\tservicename=web "front"\n\tcomment=team a\n`);
    const v = only(ok(r));
    assert.equal(v.serviceName, 'web "front"');
    assert.equal(v.comment, 'team a');
    warned(r, 'DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE', 3);
  });

  it('schedflags flag-1/flag-2 map to the scheduler family', async () => {
    assert.deepEqual(only(await cfOk(`${BASE}\tscheduler=mh\n\tschedflags=flag-1,flag-2\n`)).schedulerFlags, ['mh-fallback', 'mh-port']);
  });

  it('request/receive with a check that does not use them are warned', async () => {
    const r = await cf(`${BASE}\tchecktype=connect\n\trequest="x"\n\treceive="y"\n`);
    ok(r);
    warned(r, 'DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE', 4);
    warned(r, 'DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE', 5);
    noWarnings(await cf(`${BASE}\tchecktype=3\n\trequest="x"\n\treceive="y"\n`));
  });

  it('ops=yes on a tcp service has no effect (warned)', async () => {
    const r = await cf(`${BASE}\tops=yes\n`);
    assert.equal(only(ok(r)).ops, false);
    warned(r, 'DIR_ERR_CONFIG_LINT_IGNORED_DIRECTIVE', 3);
  });

  it('comment lines do not end a block, in column 0 or indented', async () => {
    const v = only(await cfOk('virtual=10.0.0.1:80\n#x\n\treal=10.0.1.1:80 gate\n  # indented comment\n\treal=10.0.1.2:80 gate\n'));
    assert.equal(v.reals.length, 2);
  });
});

describe('config/ldirectord: more invalid input', () => {
  it('every problem in the file is reported, not just the first', async () => {
    const r = await cf('bogus=1\nquiescent=maybe\nvirtual=10.0.0.1:80\n\treal=10.0.1.1:80 Gate\n\tchecktype=nope\n\tscheduler=xyz\n');
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.deepEqual(r.errors.map((e) => `${e.location.line}:${e.code}`), [
      '1:DIR_ERR_CONFIG_UNKNOWN_DIRECTIVE',
      '2:DIR_ERR_CONFIG_INVALID_YES_NO',
      '4:DIR_ERR_CONFIG_FORWARD_METHOD',
      '5:DIR_ERR_CONFIG_INVALID_VALUE',
      '6:DIR_ERR_CONFIG_UNKNOWN_SCHEDULER',
    ]);
  });

  it('an unknown directive gets a did-you-mean', async () => {
    const e = err(await cf('checktimout=5\n'), 'DIR_ERR_CONFIG_UNKNOWN_DIRECTIVE', 1);
    assert.match(e.hint, /did you mean checktimeout\?/);
    const f = err(await cf(`${BASE}\tschedular=wlc\n`), 'DIR_ERR_CONFIG_UNKNOWN_DIRECTIVE', 3);
    assert.match(f.hint, /did you mean scheduler\?/);
  });

  it('a virtual-only directive at top level is a context error', async () => {
    const e = err(await cf('real=10.0.0.1:80 gate\n'), 'DIR_ERR_CONFIG_WRONG_CONTEXT', 1);
    assert.match(e.message, /outside a virtual block/);
  });

  it('an unresolvable host is a semantic error at the line, with the family', async () => {
    const e = err(await cf('virtual=10.0.0.1:80\n\treal=nosuchhost:80 gate\n'), 'DIR_ERR_CONFIG_UNRESOLVABLE_HOST', 2);
    assert.match(e.message, /"nosuchhost" as an IPv4/);
    err(await cf('virtual=999.1.1.1:80\n\treal=10.0.1.1:80 gate\n'), 'DIR_ERR_CONFIG_UNRESOLVABLE_HOST', 1);
  });

  it('a bare IPv6 virtual6 address is read as host:port and fails resolution with a hint', async () => {
    const r = await cf('virtual6=2001:db8::5:119\n\treal6=[2001:db8::6]:119 gate\n');
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.ok(r.errors.some((e) => e.location.line === 1 && /brackets/.test(e.hint)));
  });

  it('an invalid bracketed IPv6 virtual is refused at the header', async () => {
    const e = err(await cf('virtual6=[2001:::1]:80\n\treal6=[2001:db8::6]:80 gate\n'), 'DIR_ERR_CONFIG_INVALID_VIRTUAL', 1);
    assert.match(e.message, /invalid ipv6 address/);
  });

  it('a resolver that throws means "could not resolve", not an internal error', async () => {
    const r = await parseConfigText('virtual=www.example.com:80\n\treal=10.0.1.1:80 gate\n', 't.cf', 'ldirectord', {
      resolveHost: async () => {
        throw new Error('SERVFAIL');
      },
    });
    err(r, 'DIR_ERR_CONFIG_UNRESOLVABLE_HOST', 1);
  });

  it('weights above 65535 are refused', async () => {
    err(await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate 70000\n'), 'DIR_ERR_CONFIG_OUT_OF_RANGE', 2);
  });

  it('a huge range is refused instead of allocating millions of reals', async () => {
    err(await cf('virtual=10.0.0.1:80\n\treal=10.0.0.0->10.255.255.255:80 gate\n'), 'DIR_ERR_CONFIG_OUT_OF_RANGE', 2);
  });

  it('a non-contiguous netmask is refused when persistence uses it', async () => {
    err(await cf(`${BASE}\tpersistent=60\n\tnetmask=255.0.255.0\n`), 'DIR_ERR_CONFIG_INVALID_VALUE', 4);
  });

  it('zero is not a valid timeout or count', async () => {
    err(await cf('checktimeout=0\n'), 'DIR_ERR_CONFIG_INVALID_VALUE', 1);
    err(await cf(`${BASE}\tfailurecount=0\n`), 'DIR_ERR_CONFIG_INVALID_VALUE', 3);
  });

  it('an invalid virtual header still lets the block be checked', async () => {
    const r = await cf('virtual=@@@\n\treal=10.0.1.1:80 gate\n\tchecktype=bad\n');
    err(r, 'DIR_ERR_CONFIG_INVALID_VIRTUAL', 1);
    err(r, 'DIR_ERR_CONFIG_INVALID_VALUE', 3);
  });

  it('a logfile in a missing directory or with an unknown facility is refused', async () => {
    err(await cf('logfile="/nonexistent/dir/x.log"\n'), 'DIR_ERR_CONFIG_PATH_UNUSABLE', 1);
    err(await cf('logfile="local9"\n'), 'DIR_ERR_CONFIG_INVALID_VALUE', 1);
  });

  it('a missing maintenancedir is only a warning', async () => {
    warned(await cf('maintenancedir=/nonexistent/maint\n'), 'DIR_ERR_CONFIG_LINT_PATH_MISSING', 1);
  });

  it('absurdly long lines are refused instead of being matched (the real= pattern backtracks)', async () => {
    const e = err(await cf(`virtual=10.0.0.1:80\n\treal=${'1.'.repeat(5000)} gate\n`), 'DIR_ERR_CONFIG_INVALID_VALUE', 2);
    assert.match(e.message, /longer than 4096/);
  });

  it('an unresolvable global fallback is reported once, at its line, even with several virtuals', async () => {
    const r = await cf(`fallback=nosuch:80\n${BASE}\nvirtual=10.0.0.2:80\n\treal=10.0.1.1:80 gate\n`);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.deepEqual(r.errors.map((e) => `${e.location.line}:${e.code}`), ['1:DIR_ERR_CONFIG_UNRESOLVABLE_HOST']);
    err(await cf('fallback6=nosuch\n'), 'DIR_ERR_CONFIG_UNRESOLVABLE_HOST', 1);
  });

  it('an indented virtual= and a line of five spaces inside a block are errors', async () => {
    err(await cf(`${BASE}    virtual=10.0.0.2:80\n`), 'DIR_ERR_CONFIG_WRONG_CONTEXT', 3);
    err(await cf(`${BASE}     \n`), 'DIR_ERR_CONFIG_INVALID_VALUE', 3);
  });

  it('errors carry the column of the value', async () => {
    const e = err(await cf('virtual=10.0.0.1:80\n\treal=10.0.1.1:80 gate\n\tchecktype = bogus\n'), 'DIR_ERR_CONFIG_INVALID_VALUE', 3);
    assert.equal(e.location.column, 14);
  });
});
