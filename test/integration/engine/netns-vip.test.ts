import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { skipBecause } from '../../support/skip.js';

/** Root only: a namespace of our own, where the VIP can be absent and then appear. */
describe('engine/embedded VIP not present yet (network namespace)', function () {
  this.timeout(30_000);
  const ns = `dird-eng-${process.pid}`;

  before(function () {
    if (process.getuid?.() !== 0) skipBecause(this, 'needs root for ip netns');
  });
  after(() => {
    if (process.getuid?.() === 0) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  });

  it('Node path retries EADDRNOTAVAIL until the VIP is added; ip_nonlocal_bind=1 binds at once; the native path listens at once with IP_FREEBIND', async () => {
    execFileSync('ip', ['netns', 'add', ns]);
    const child = fileURLToPath(new URL('./fixtures/netns-vip-child.ts', import.meta.url));
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', child], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const guard = setTimeout(() => p.kill('SIGKILL'), 25_000);
      p.once('exit', (code) => {
        clearTimeout(guard);
        if (code === 0) resolve(stdout);
        else reject(new Error(`child exited ${code}: ${stderr}`));
      });
    });
    const r = JSON.parse(out.trim().split('\n').at(-1) as string) as Record<string, unknown>;
    assert.deepEqual(r, {
      applyFailures: 0,
      listeningBefore: false,
      warned: true,
      listeningAfter: true,
      servedAfter: 'rs-ns',
      nonlocalFailures: 0,
      nonlocalListening: true,
      nonlocalServed: 'rs-ns',
      freebindFailures: 0,
      freebindListening: true,
      freebindWarned: true,
      freebindServed: 'rs-ns',
      freebindRebinds: 0,
    });
  });
});
