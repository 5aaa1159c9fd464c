/**
 * Golden-file tests of the ipvsadm formats. Each case builds the EngineStats that corresponds to a
 * table in test/fixtures/golden/ (most of them verbatim seed text, see the README there) and
 * compares the formatter's output byte for byte.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  formatConnections,
  formatExpire,
  formatLargeNumber,
  formatList,
  formatPersistentConn,
  formatRate,
  formatSave,
  formatStats,
  formatThresholds,
  formatTimeout,
} from '../../../src/cli/ipvsadm-format.js';
import type { IpvsadmFormatOptions, NameResolver } from '../../../src/cli/ipvsadm-format.js';
import { parseNameTables } from '../../../src/cli/names.js';
import type { ConnectionEntry, EngineStats } from '../../../src/engine/model.js';
import { counters, fwmService, rates, real, service } from './stats-builders.js';

const golden = (name: string): string => readFileSync(fileURLToPath(new URL(`../../fixtures/golden/${name}`, import.meta.url)), 'utf8');

/** Shows the first differing line, which is far easier to read than two whole tables. */
function assertSameText(actual: string, expected: string): void {
  if (actual === expected) return;
  const a = actual.split('\n');
  const e = expected.split('\n');
  for (let i = 0; i < Math.max(a.length, e.length); i++) {
    if (a[i] !== e[i]) assert.fail(`line ${i + 1} differs\n  actual:   ${JSON.stringify(a[i])}\n  expected: ${JSON.stringify(e[i])}`);
  }
  assert.equal(actual, expected);
}

function names(hosts: Record<string, string>, services: Record<number, string>): NameResolver {
  return { host: (a) => hosts[a], service: (p) => services[p] };
}

describe('ipvsadm formats (golden files)', () => {
  it('-L -n: sh with a localnode real (seed 003 lines 4548-4554)', () => {
    const stats: EngineStats = {
      services: [
        service('tcp', '172.26.20.118', 80, 'sh', [real('172.26.20.72', 80, 'gate', 1, 2, 0), real('127.0.0.1', 80, 'gate', 1, 0, 858)]),
      ],
    };
    // The 1.0.2-era ipvsadm did not sort reals; --nosort keeps the engine's order.
    const out = formatList(stats, { numeric: true, sort: false, header: { version: '1.0.2', connTableSize: 4096 } });
    assertSameText(out, golden('list-localnode-sh.txt'));
  });

  it('-L: names from local tables, Local forwarding and persistent 360 (seed 003 lines 4604-4613)', () => {
    const stats: EngineStats = {
      services: [
        // Given out of order: the formatter sorts services (by port here) and reals (by address).
        service('tcp', '212.204.230.98', 443, 'sh', [real('212.204.230.99', 443, 'gate', 100, 0, 0), real('212.204.230.97', 443, 'gate', 100, 0, 0)], {
          persistence: { timeoutMs: 360_000, netmaskPrefixLength: 32 },
        }),
        service('tcp', '212.204.230.98', 80, 'sh', [real('212.204.230.99', 80, 'gate', 200, 12, 27), real('212.204.230.97', 80, 'gate', 200, 25, 44)]),
      ],
    };
    const options: IpvsadmFormatOptions = {
      numeric: false,
      names: names({ '212.204.230.97': 'tweety.sipo.nl', '212.204.230.99': 'daffy.sipo.nl' }, { 80: 'www', 443: 'https' }),
      isLocal: (a) => a === '212.204.230.97' || a === '212.204.230.98',
      header: { version: '1.0.10', connTableSize: 4096 },
    };
    assertSameText(formatList(stats, options), golden('list-names-persistent.txt'));
  });

  it('-L -n: DR reals quiesced to weight 0 (seed 003 lines 1129-1136, column restored)', () => {
    const stats: EngineStats = {
      services: [
        service('tcp', '192.168.1.10', 80, 'wlc', [
          real('192.168.1.13', 80, 'gate', 0, 0, 0),
          real('192.168.1.12', 80, 'gate', 0, 0, 0),
          real('192.168.1.11', 80, 'gate', 0, 0, 0),
        ]),
      ],
    };
    assertSameText(formatList(stats, { numeric: true, sort: false, header: { version: '1.0.2', connTableSize: 4096 } }), golden('list-dr-quiesced.txt'));
  });

  it('-L -n: flags, netmask, ops, IPv6 brackets, fwmark services, sorted like libipvs', () => {
    const stats: EngineStats = {
      services: [
        fwmService(2, 6, 'rr', [real('2001:db8::30', 0, 'gate', 1, 0, 0)]),
        service('tcp', '2001:db8::1', 443, 'sh', [real('2001:db8::10', 443, 'gate', 5, 1, 2, { upperThreshold: 10, lowerThreshold: 5 })], {
          schedulerFlags: ['sh-fallback', 'sh-port'],
          persistence: { timeoutMs: 600_000, netmaskPrefixLength: 64 },
        }),
        fwmService(1, 4, 'wlc', [real('192.0.2.30', 80, 'gate', 0, 0, 3)]),
        service('udp', '192.0.2.1', 53, 'rr', [real('192.0.2.20', 53, 'gate', 1, 0, 7)], { ops: true }),
        service('tcp', '192.0.2.1', 80, 'wlc', [real('192.0.2.11', 8080, 'ipip', 1, 0, 0), real('192.0.2.10', 80, 'masq', 3, 12, 40)], {
          persistence: { timeoutMs: 300_000, netmaskPrefixLength: 24 },
        }),
      ],
    };
    assertSameText(formatList(stats, { numeric: true }), golden('list-flags-fwmark-ipv6.txt'));
    assertSameText(formatSave(stats, { numeric: true }), golden('save-flags-fwmark-ipv6.txt'));
  });

  const seedStats = (): EngineStats => ({
    services: [
      service(
        'tcp',
        '192.0.2.80',
        80,
        'wlc',
        [
          real('192.0.2.2', 80, 'gate', 1, 0, 0, { counters: counters(3911835, 29405279, 26900679, 3_407_123_456, 24_292_654_321), rates: rates(35, 252, 216, 30416, 197101) }),
          real('192.0.2.3', 80, 'gate', 1, 0, 0, { counters: counters(3395953, 25407180, 23257431, 2_931_000_001, 20_957_999_999), rates: rates(10, 96, 98, 11323, 88497) }),
        ],
        // Service counters need not be the sum of the reals' (seed-features 3.4).
        { counters: counters(4239091, 31977546, 29470876, 3_692_500_000, 26_647_000_000), rates: rates(45, 348, 314, 41739, 285599) },
      ),
    ],
  });
  const seedNames: IpvsadmFormatOptions = {
    numeric: false,
    names: names({ '192.0.2.80': 'vip', '192.0.2.2': 'www02', '192.0.2.3': 'www01' }, { 80: 'http' }),
    header: { version: '1.0.10', connTableSize: 4096 },
  };

  it('--stats with K/M suffixes (seed 003 lines 7257-7261)', () => {
    assertSameText(formatStats(seedStats(), seedNames), golden('stats-names.txt'));
  });

  it('--rate (seed 003 lines 7264-7269)', () => {
    assertSameText(formatRate(seedStats(), seedNames), golden('rate-names.txt'));
  });

  const bigStats = (): EngineStats => ({
    services: [
      service(
        'tcp',
        '192.0.2.1',
        80,
        'wlc',
        [real('192.0.2.11', 80, 'gate', 1, 0, 0), real('192.0.2.10', 80, 'gate', 1, 0, 0, { counters: counters(100000000, 999999999, 1000000000, 99999999999, 100000000000000) })],
        { counters: counters(123456789, 99999999, 1234567890123, 123456789012345, 5) },
      ),
      fwmService(7, 4, 'rr', [], { counters: counters(1, 2, 3, 4, 0) }),
    ],
  });

  it('--stats: every suffix boundary (K, M, G, T)', () => {
    assertSameText(formatStats(bigStats(), { numeric: true }), golden('stats-large-numbers.txt'));
  });

  it('--stats --exact prints full numbers', () => {
    assertSameText(formatStats(bigStats(), { numeric: true, exact: true }), golden('stats-exact.txt'));
  });

  it('-S with names (the shape of seed 003 lines 10497-10502)', () => {
    const reals = (): ReturnType<typeof real>[] => [real('10.10.10.11', 80, 'masq', 800, 0, 0), real('10.10.10.10', 80, 'masq', 1000, 0, 0)];
    const stats: EngineStats = {
      services: [service('tcp', '198.51.100.2', 80, 'wlc', reals()), service('tcp', '198.51.100.1', 80, 'wlc', reals())],
    };
    const options: IpvsadmFormatOptions = { numeric: false, names: names({ '198.51.100.1': 'ISP1_VIP', '198.51.100.2': 'ISP2_VIP' }, {}) };
    assertSameText(formatSave(stats, options), golden('save-names.txt'));
  });

  it('-c: a persistence template (seed 003 line 11170)', () => {
    const entries: ConnectionEntry[] = [
      {
        protocol: 'TCP',
        state: 'NONE',
        expiresInMs: (27 * 60 + 2) * 1000 + 400,
        source: '213.248.204.8:0',
        virtual: '213.248.224.116:43',
        destination: '192.168.1.32:43',
        template: true,
        serviceKey: 'tcp:213.248.224.116:43',
      },
    ];
    assertSameText(formatConnections(entries, { numeric: true }), golden('connections-template.txt'));
  });

  it('-c: TCP, UDP, IPv6 and fwmark template entries', () => {
    const e = (protocol: ConnectionEntry['protocol'], state: string, seconds: number, source: string, virtual: string, destination: string): ConnectionEntry => ({
      protocol,
      state,
      expiresInMs: seconds * 1000,
      source,
      virtual,
      destination,
      template: state === 'NONE',
      serviceKey: 'x',
    });
    const entries = [
      e('TCP', 'ESTABLISHED', 899, '198.51.100.7:40312', '192.0.2.1:80', '192.0.2.10:80'),
      e('UDP', 'UDP', 270, '198.51.100.7:5353', '192.0.2.1:53', '192.0.2.20:53'),
      e('TCP', 'FIN_WAIT', 100, '[2001:db8:1::7]:40000', '[2001:db8::1]:443', '[2001:db8::10]:443'),
      e('IP', 'NONE', 7500, '198.51.100.0:0', '0.0.0.1:0', '192.0.2.30:0'),
    ];
    assertSameText(formatConnections(entries, { numeric: true }), golden('connections-mixed.txt'));
  });

  it('--timeout', () => {
    assertSameText(formatTimeout({ tcpMs: 900_000, tcpFinMs: 120_000, udpMs: 300_000 }), golden('timeout.txt'));
  });

  it('--thresholds and --persistent-conn', () => {
    const stats: EngineStats = {
      services: [
        service('tcp', '192.0.2.1', 80, 'wlc', [real('192.0.2.10', 80, 'masq', 3, 12, 40, { upperThreshold: 100, lowerThreshold: 80, persistentConns: 17 })], {
          persistence: { timeoutMs: 300_000, netmaskPrefixLength: 24 },
        }),
      ],
    };
    assertSameText(formatThresholds(stats, { numeric: true }), golden('thresholds.txt'));
    assertSameText(formatPersistentConn(stats, { numeric: true }), golden('persistent-conn.txt'));
  });
});

describe('ipvsadm format details', () => {
  it('print_largenum boundaries', () => {
    assert.equal(formatLargeNumber(99_999_999, false), ' 99999999');
    assert.equal(formatLargeNumber(100_000_000, false), '  100000K');
    assert.equal(formatLargeNumber(999_999_999, false), '  999999K');
    assert.equal(formatLargeNumber(1_000_000_000, false), '    1000M');
    assert.equal(formatLargeNumber(99_999_999_999, false), '   99999M');
    assert.equal(formatLargeNumber(100_000_000_000, false), '     100G');
    assert.equal(formatLargeNumber(100_000_000_000_000, false), '     100T');
    assert.equal(formatLargeNumber(123_456_789, true), ' 123456789');
    assert.equal(formatLargeNumber(7, true), '        7');
  });

  it('expiry is mm:ss with minutes past 59 kept', () => {
    assert.equal(formatExpire(0), '00:00');
    assert.equal(formatExpire(59_999), '00:59');
    assert.equal(formatExpire(3_600_000), '60:00');
  });

  it('IPv4 names longer than the column are cut as ipvsadm cuts them (28 for reals, 33 for services)', () => {
    const long = 'a-very-long-host-name.example.org';
    const stats: EngineStats = { services: [service('tcp', '192.0.2.1', 80, 'rr', [real('192.0.2.10', 80, 'gate', 1, 0, 0)])] };
    const out = formatList(stats, { numeric: false, names: names({ '192.0.2.1': long, '192.0.2.10': long }, {}) });
    const rows = out.split('\n');
    assert.equal(rows[3], `TCP  ${long}:80`.slice(0, 33) + ' rr');
    assert.ok(rows[4]?.startsWith(`  -> ${`${long}:80`.slice(0, 28)} Route`), rows[4]);
  });

  it('-n wins over names; names come from hosts/services text', () => {
    const tables = parseNameTables('127.0.0.1 localhost\n192.0.2.10 web1 web1.example\n# 192.0.2.11 commented\n', 'http 80/tcp www\ndomain 53/udp\n');
    assert.equal(tables.host('192.0.2.10'), 'web1');
    assert.equal(tables.host('192.0.2.11'), undefined);
    assert.equal(tables.address('web1.example'), '192.0.2.10');
    assert.equal(tables.service(80, 'tcp'), 'http');
    assert.equal(tables.port('www', 'tcp'), 80);
    assert.equal(tables.port('domain', 'tcp'), undefined);
    const stats: EngineStats = { services: [service('tcp', '192.0.2.1', 80, 'rr', [real('192.0.2.10', 80, 'gate', 1, 0, 0)])] };
    assert.match(formatList(stats, { numeric: false, names: tables }), /-> web1:http +Route/);
    assert.match(formatList(stats, { numeric: true, names: tables }), /-> 192\.0\.2\.10:80 +Route/);
  });
});
