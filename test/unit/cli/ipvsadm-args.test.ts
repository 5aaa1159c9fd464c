import { strict as assert } from 'node:assert';
import { DirectorError } from '../../../src/core/errors.js';
import { isIpvsadmCommandArg, parseIpvsadmArgs, parseRestore } from '../../../src/cli/ipvsadm-args.js';
import type { AddressLookup } from '../../../src/cli/ipvsadm-args.js';

const lookup: AddressLookup = {
  address: (name) => new Map([['ISP1_VIP', '198.51.100.1'], ['rs1', '10.1.1.2']]).get(name),
  port: (name, protocol) => new Map(protocol === 'tcp' ? [['http', 80], ['telnet', 23]] : [['domain', 53]]).get(name),
};

function usageReason(args: readonly string[]): string {
  try {
    parseIpvsadmArgs(args, lookup);
  } catch (error) {
    assert.ok(error instanceof DirectorError);
    assert.equal(error.code, 'DIR_ERR_CLI_USAGE');
    return error.message;
  }
  assert.fail(`expected a usage error for ${args.join(' ')}`);
}

describe('ipvsadm command line', () => {
  it('lists with bundled short options and long forms', () => {
    for (const args of [['-L', '-n'], ['-Ln'], ['-ln'], ['--list', '--numeric'], ['-l', '-n']]) {
      assert.deepEqual(parseIpvsadmArgs(args), { kind: 'list', format: 'list', numeric: true, exact: false, sort: true }, args.join(' '));
    }
    assert.equal((parseIpvsadmArgs(['-lnc']) as { format: string }).format, 'connections');
    assert.equal((parseIpvsadmArgs(['-Lcn']) as { format: string }).format, 'connections');
    assert.deepEqual(parseIpvsadmArgs(['-L', '--stats', '--exact', '--nosort']), { kind: 'list', format: 'stats', numeric: false, exact: true, sort: false });
    assert.equal((parseIpvsadmArgs(['-L', '--timeout']) as { format: string }).format, 'timeout');
    assert.deepEqual(parseIpvsadmArgs(['-L', '-n', '-t', '192.0.2.1:80']), {
      kind: 'list',
      format: 'list',
      numeric: true,
      exact: false,
      sort: true,
      service: { protocol: 'tcp', address: '192.0.2.1', port: 80 },
    });
    assert.match(usageReason(['-L', '--stats', '--rate']), /choose one listing format/);
  });

  it('-A with ipvsadm defaults, names from local tables, -p with and without a timeout', () => {
    assert.deepEqual(parseIpvsadmArgs(['-A', '-t', 'ISP1_VIP:http'], lookup), {
      kind: 'command',
      command: { op: 'add-service', service: { protocol: 'tcp', address: '198.51.100.1', port: 80 }, options: { scheduler: 'wlc' } },
    });
    assert.deepEqual(parseIpvsadmArgs(['-A', '-u', '[2001:DB8::1]:domain', '-s', 'sh', '-b', 'sh-port', '-p', '-o'], lookup), {
      kind: 'command',
      command: {
        op: 'add-service',
        service: { protocol: 'udp', address: '2001:db8::1', port: 53 },
        options: { scheduler: 'sh', schedulerFlags: ['sh-port'], persistence: { timeoutMs: 300_000, netmaskPrefixLength: 128 }, ops: true },
      },
    });
    assert.deepEqual(parseIpvsadmArgs(['-A', '-f', '1', '-s', 'rr', '-p', '600', '-M', '255.255.0.0']), {
      kind: 'command',
      command: { op: 'add-service', service: { protocol: 'fwm', fwmark: 1, family: 4 }, options: { scheduler: 'rr', persistence: { timeoutMs: 600_000, netmaskPrefixLength: 16 } } },
    });
    assert.deepEqual(parseIpvsadmArgs(['-E', '-f', '1', '-6', '-s', 'wrr']), {
      kind: 'command',
      command: { op: 'edit-service', service: { protocol: 'fwm', fwmark: 1, family: 6 }, options: { scheduler: 'wrr' } },
    });
  });

  it('-a/-e/-d reals: forwarding, weight, thresholds, port defaulting to the service port', () => {
    assert.deepEqual(parseIpvsadmArgs(['-a', '-t', '10.0.0.110:telnet', '-r', 'rs1', '-m', '-w', '2', '-x', '100', '-y', '80'], lookup), {
      kind: 'command',
      command: {
        op: 'add-real',
        service: { protocol: 'tcp', address: '10.0.0.110', port: 23 },
        real: { address: '10.1.1.2', port: 23 },
        options: { forward: 'masq', weight: 2, upperThreshold: 100, lowerThreshold: 80 },
      },
    });
    assert.deepEqual(parseIpvsadmArgs(['-e', '-t', '10.0.0.110:23', '-r', '10.1.1.3:8080', '-w', '0']), {
      kind: 'command',
      command: { op: 'edit-real', service: { protocol: 'tcp', address: '10.0.0.110', port: 23 }, real: { address: '10.1.1.3', port: 8080 }, options: { weight: 0 } },
    });
    assert.deepEqual(parseIpvsadmArgs(['-d', '-t', '10.200.8.1:25', '-r', '10.200.8.100']), {
      kind: 'command',
      command: { op: 'delete-real', service: { protocol: 'tcp', address: '10.200.8.1', port: 25 }, real: { address: '10.200.8.100', port: 25 } },
    });
    assert.deepEqual(parseIpvsadmArgs(['--set', '900', '120', '300']), {
      kind: 'command',
      command: { op: 'set-timeouts', timeouts: { tcpMs: 900_000, tcpFinMs: 120_000, udpMs: 300_000 } },
    });
    assert.deepEqual(parseIpvsadmArgs(['-Z', '-t', '192.0.2.1:80']), { kind: 'command', command: { op: 'zero', service: { protocol: 'tcp', address: '192.0.2.1', port: 80 } } });
    assert.deepEqual(parseIpvsadmArgs(['-C']), { kind: 'command', command: { op: 'clear' } });
  });

  it('refuses what ipvsadm refuses, with a reason', () => {
    assert.match(usageReason(['-A', '-t', '192.0.2.1:80', '-s', 'fastest']), /unknown scheduler "fastest"/);
    assert.match(usageReason(['-a', '-t', '192.0.2.1:80']), /a real server is required/);
    assert.match(usageReason(['-a', '-r', '10.0.0.1']), /a service is required/);
    assert.match(usageReason(['-A', '-t', 'nosuchhost:80']), /neither an IP address nor a name in \/etc\/hosts/);
    assert.match(usageReason(['-A', '-t', '192.0.2.1:gopherz']), /port "gopherz"/);
    assert.match(usageReason(['-A', '-t', '192.0.2.1:80', '-M', '255.255.255.0']), /needs -p/);
    assert.match(usageReason(['-A', '-t', '192.0.2.1:80', '-p', '60', '-M', '255.0.255.0']), /not a contiguous mask/);
    assert.match(usageReason(['-A', '-t', '192.0.2.1:80', '-o']), /UDP and fwmark/);
    assert.match(usageReason(['-a', '-t', '192.0.2.1:80', '-r', '10.0.0.1', '-g', '-m']), /only one of -g, -m and -i/);
    assert.match(usageReason(['-a', '-t', '192.0.2.1:80', '-r', '10.0.0.1', '-w', '65536']), /weight must be an integer 0\.\.65535/);
    assert.match(usageReason(['-A', '-D', '-t', '192.0.2.1:80']), /only one command/);
    assert.match(usageReason(['-A', '-t', '192.0.2.1:80', '-u', '192.0.2.1:80']), /only one of -t, -u and -f/);
    assert.match(usageReason(['-Q']), /unknown option -Q/);
    assert.deepEqual(parseIpvsadmArgs(['-n']), { kind: 'list', format: 'list', numeric: true, exact: false, sort: true }, 'no command lists, as ipvsadm does');
  });

  it('tells ipvsadm commands from directorctl words', () => {
    assert.ok(isIpvsadmCommandArg('-Ln'));
    assert.ok(isIpvsadmCommandArg('-A'));
    assert.ok(isIpvsadmCommandArg('--save'));
    assert.ok(!isIpvsadmCommandArg('-n'));
    assert.ok(!isIpvsadmCommandArg('status'));
  });

  it('reads restore input: the seed\'s rule file, comments, blank lines, a leading ipvsadm word', () => {
    const text = [
      '# multi-ISP (seed 003 lines 10497-10502)',
      '  -A -t ISP1_VIP:80 -s wlc',
      '  -a -t ISP1_VIP:80 -r 10.10.10.10:80 -m -w 1000',
      '',
      'ipvsadm -a -t ISP1_VIP:80 -r 10.10.10.11:80 -m -w 800   # trailing comment',
    ].join('\n');
    const parsed = parseRestore(text, lookup);
    assert.deepEqual(
      parsed.map((p) => p.line),
      [2, 3, 5],
    );
    assert.deepEqual(parsed[2]?.command, {
      op: 'add-real',
      service: { protocol: 'tcp', address: '198.51.100.1', port: 80 },
      real: { address: '10.10.10.11', port: 80 },
      options: { forward: 'masq', weight: 800 },
    });
    assert.throws(
      () => parseRestore('-A -t 192.0.2.1:80\n-L -n\n'),
      (e: DirectorError) => e.code === 'DIR_ERR_CLI_RESTORE_SYNTAX' && /line 2: only table commands/.test(e.message),
    );
  });
});
