import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../../src/sys/exec.js';

/** Is this pid a live (non-zombie) process? */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3 (after the parenthesised comm) is the state; Z = zombie, X = dead.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

async function waitFor(pred: () => boolean, boundMs: number): Promise<boolean> {
  const end = Date.now() + boundMs;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return pred();
}

describe('sys/exec runCommand', () => {
  let dir: string;
  const script = (name: string, body: string): string => {
    const p = join(dir, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'directord-exec-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs argv without a shell: metacharacters arrive as literal arguments', async () => {
    const s = script('args.sh', 'for a in "$@"; do printf "[%s]\\n" "$a"; done; exit 3');
    const r = await runCommand([s, '$(touch pwned)', 'a b', ';', '*'], { timeoutMs: 5000, cwd: dir });
    assert.equal(r.exitCode, 3);
    assert.equal(r.signal, null);
    assert.equal(r.stdout, '[$(touch pwned)]\n[a b]\n[;]\n[*]\n');
    assert.equal(existsSync(join(dir, 'pwned')), false);
    assert.equal(r.timedOut, false);
    assert.equal(r.error, undefined);
  });

  it('passes env, cwd and stdin, and captures stderr', async () => {
    const s = script('env.sh', 'echo "$FOO:$(pwd)"; cat; echo err >&2');
    const r = await runCommand([s], { timeoutMs: 5000, env: { FOO: 'bar', PATH: process.env.PATH }, cwd: dir, input: 'from-stdin' });
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout, `bar:${dir}\nfrom-stdin`);
    assert.equal(r.stderr, 'err\n');
  });

  it('resolves ENOENT and EACCES as DIR_ERR_EXEC_SPAWN without rejecting', async () => {
    const missing = await runCommand([join(dir, 'nope')], { timeoutMs: 1000 });
    assert.equal(missing.exitCode, null);
    assert.equal(missing.error?.code, 'DIR_ERR_EXEC_SPAWN');
    assert.match(missing.error?.message ?? '', /ENOENT/);
    const p = join(dir, 'noexec.sh');
    writeFileSync(p, '#!/bin/sh\nexit 0\n');
    chmodSync(p, 0o644);
    const denied = await runCommand([p], { timeoutMs: 1000 });
    assert.equal(denied.error?.code, 'DIR_ERR_EXEC_SPAWN');
    assert.match(denied.error?.message ?? '', /EACCES/);
    const empty = await runCommand([], { timeoutMs: 1000 });
    assert.equal(empty.error?.code, 'DIR_ERR_EXEC_SPAWN');
  });

  it('caps output per stream and says so', async () => {
    const r = await runCommand(['head', '-c', '200000', '/dev/zero'], { timeoutMs: 5000, maxOutputBytes: 1000 });
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout.length, 1000);
    assert.equal(r.truncated, true);
    const small = await runCommand(['printf', 'abc'], { timeoutMs: 5000, maxOutputBytes: 1000 });
    assert.equal(small.truncated, false);
    assert.equal(small.stdout, 'abc');
  });

  it('on timeout kills the whole process group, grandchild included', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    // The script forks a sleeping grandchild, records its pid, then hangs itself.
    const s = script('hang.sh', `sleep 1000 &\necho $! > ${pidFile}\nsleep 1000`);
    const t0 = Date.now();
    const r = await runCommand([s], { timeoutMs: 300, killGraceMs: 500 });
    const took = Date.now() - t0;
    assert.equal(r.timedOut, true);
    assert.equal(r.exitCode, null);
    assert.equal(r.signal, 'SIGTERM');
    assert.ok(took >= 290 && took < 3000, `took ${took} ms`);
    const grandchild = Number(readFileSync(pidFile, 'utf8').trim());
    assert.ok(grandchild > 0);
    assert.ok(await waitFor(() => !alive(grandchild), 2000), `grandchild ${grandchild} still alive`);
  });

  it('escalates to SIGKILL when SIGTERM is ignored', async () => {
    const pidFile = join(dir, 'stubborn.pid');
    const s = script('stubborn.sh', `trap '' TERM\n(trap '' TERM; sleep 1000) &\necho $! > ${pidFile}\nwhile :; do sleep 1; done`);
    const t0 = Date.now();
    const r = await runCommand([s], { timeoutMs: 200, killGraceMs: 300 });
    const took = Date.now() - t0;
    assert.equal(r.timedOut, true);
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(took >= 480 && took < 3000, `took ${took} ms`);
    const sub = Number(readFileSync(pidFile, 'utf8').trim());
    assert.ok(await waitFor(() => !alive(sub), 2000), `subshell ${sub} still alive`);
  });

  it('settles when the program exits but a grandchild keeps stdout open, and reaps it', async () => {
    const pidFile = join(dir, 'left.pid');
    const s = script('leave.sh', `sleep 1000 &\necho $! > ${pidFile}\necho done\nexit 0`);
    const t0 = Date.now();
    const r = await runCommand([s], { timeoutMs: 5000 });
    assert.equal(r.exitCode, 0);
    assert.equal(r.timedOut, false);
    assert.equal(r.stdout, 'done\n');
    assert.ok(Date.now() - t0 < 2000);
    const left = Number(readFileSync(pidFile, 'utf8').trim());
    assert.ok(await waitFor(() => !alive(left), 2000), `leftover ${left} still alive`);
  });

  it('abort signal kills the group without marking a timeout', async () => {
    const ac = new AbortController();
    const p = runCommand(['sleep', '1000'], { timeoutMs: 10_000, signal: ac.signal, killGraceMs: 200 });
    setTimeout(() => ac.abort(), 100);
    const r = await p;
    assert.equal(r.timedOut, false);
    assert.equal(r.signal, 'SIGTERM');
  });
});
