/**
 * The ping check through the addon's ICMP sockets (src/sys/icmp.ts), against the kernel's own echo
 * replies on loopback, with an nftables rule to make one address silent.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPingChecker } from '../../../src/health/checks/ping.js';
import { IcmpEchoer } from '../../../src/sys/icmp.js';
import { checkConfig, checkTarget } from '../../unit/health/fixtures.js';
import { skipBecause } from '../../support/skip.js';

const SILENT = '127.20.13.13';
const NFT_TABLE = 'directord_ping_test';

function nft(args: string[]): { ok: boolean; stderr: string } {
  const r = spawnSync('nft', args, { encoding: 'utf8', timeout: 10_000 });
  return { ok: r.status === 0, stderr: r.stderr ?? String(r.error) };
}

describe('health/ping through the addon (ICMP echo on loopback)', function () {
  this.timeout(20_000);
  let echoer: IcmpEchoer;

  before(function () {
    try {
      echoer = new IcmpEchoer();
      // Opens the IPv4 socket (ping socket or raw) or says why not.
      void echoer.echo('127.0.0.1', 1000).then(() => undefined);
    } catch (err) {
      skipBecause(this, `no ICMP socket here (${(err as Error).message}); CI runs as root, where a raw socket opens`);
    }
  });
  after(() => echoer?.close());

  it('IPv4 and IPv6 loopback answer; the detail gives the round-trip time', async () => {
    const checker = createPingChecker('addon');
    const ctl = new AbortController();
    const v4 = await checker.run(checkTarget('127.20.12.1', 0), checkConfig({ type: 'ping', timeoutMs: 1000, checkCount: 1 }), ctl.signal);
    assert.equal(v4.ok, true, v4.detail);
    assert.match(v4.detail, /^ICMP echo reply from 127\.20\.12\.1 in \d+\.\d\d ms \(attempt 1\/1\)$/);
    const v6 = await checker.run(checkTarget('::1', 0), checkConfig({ type: 'ping', timeoutMs: 1000, checkCount: 1 }), ctl.signal);
    assert.equal(v6.ok, true, v6.detail);
  });

  it('300 echoes in flight over one socket are each matched to their own target', async () => {
    const targets = Array.from({ length: 300 }, (_, i) => `127.20.${14 + Math.floor(i / 250)}.${(i % 250) + 1}`);
    const results = await Promise.all(targets.map((t) => echoer.echo(t, 2000)));
    assert.equal(results.filter((r) => r.ok).length, 300, JSON.stringify(results.find((r) => !r.ok)));
  });

  it('a silent target fails after checkcount attempts of checktimeout each, and its timeouts do not hold up another ping', async function () {
    if (process.getuid?.() !== 0) skipBecause(this, 'needs root to add an nftables rule that drops echo requests to one address');
    nft(['delete', 'table', 'ip', NFT_TABLE]);
    const setup = [
      ['add', 'table', 'ip', NFT_TABLE],
      // On input: a drop on output would fail the send itself (EPERM), not leave it unanswered.
      ['add', 'chain', 'ip', NFT_TABLE, 'in', '{ type filter hook input priority 0 ; }'],
      ['add', 'rule', 'ip', NFT_TABLE, 'in', 'ip', 'daddr', SILENT, 'icmp', 'type', 'echo-request', 'drop'],
    ];
    for (const args of setup) {
      const r = nft(args);
      if (!r.ok) skipBecause(this, `nft unavailable: ${r.stderr.trim()}`);
    }
    try {
      const checker = createPingChecker('addon');
      const ctl = new AbortController();
      const started = Date.now();
      const silent = checker.run(checkTarget(SILENT, 0), checkConfig({ type: 'ping', timeoutMs: 300, checkCount: 2 }), ctl.signal);
      const other = await checker.run(checkTarget('127.20.12.2', 0), checkConfig({ type: 'ping', timeoutMs: 1000, checkCount: 1 }), ctl.signal);
      assert.equal(other.ok, true, other.detail);
      assert.ok(Date.now() - started < 250, 'the answering target did not wait for the silent one');
      const r = await silent;
      const took = Date.now() - started;
      assert.equal(r.ok, false);
      assert.equal(r.detail, `ping ${SILENT}: no echo reply within 300 ms after 2 attempt(s)`);
      assert.ok(took >= 590 && took < 1500, `two 300 ms attempts took ${took} ms`);
    } finally {
      nft(['delete', 'table', 'ip', NFT_TABLE]);
    }
  });

  it('an abort ends the ping at once', async () => {
    const ctl = new AbortController();
    const p = echoer.echo('127.20.13.14', 10_000, ctl.signal);
    ctl.abort();
    const r = await p;
    assert.deepEqual(r, { ok: false, reason: 'aborted', detail: 'aborted' });
  });
});
