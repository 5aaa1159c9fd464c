import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createInterface } from 'node:readline';
import { createDaemonLogger, ctime, redactFields, redactText } from '../../../src/daemon/logger.js';

/** Collects what a logger writes to "stdout". */
function capture(): { stream: PassThrough; lines: () => string[] } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString('utf8')));
  return { stream, lines: () => text.split('\n').filter((l) => l !== '') };
}

/** Waits until `pred` holds, polling, bounded. */
async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('daemon/logger', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'directord-logger-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes plain lines without colours to stdout, honouring the level', async () => {
    const out = capture();
    const log = createDaemonLogger({ target: { kind: 'stdout' }, level: 'info', configName: 'web.cf', stdout: out.stream, env: {} });
    log.info('Added virtual server: 127.50.0.1:80', { virtual: 'tcp:127.50.0.1:80' });
    log.debug('not shown');
    log.child({ module: 'health' }).warn('check failed');
    await until(() => out.lines().length >= 2);
    const [a, b] = out.lines();
    assert.match(a ?? '', /^\d{4}-\d\d-\d\dT[\d:.]+Z info Added virtual server: 127\.50\.0\.1:80 virtual=tcp:127\.50\.0\.1:80$/);
    assert.match(b ?? '', / warn check failed module=health$/);
    assert.ok(!out.lines().some((l) => l.includes('not shown')));
    assert.ok(!out.lines().some((l) => l.includes('\u001b[')), 'no ANSI colours');
    log.setLevel('debug');
    log.debug('now shown');
    await until(() => out.lines().some((l) => l.includes('now shown')));
    await log.close();
  });

  it('uses <N> syslog priority prefixes when stdout is the journal (JOURNAL_STREAM)', async () => {
    const out = capture();
    const log = createDaemonLogger({ target: { kind: 'stdout' }, level: 'debug', configName: 'x', stdout: out.stream, env: { JOURNAL_STREAM: '8:1234' } });
    log.error('e');
    log.warn('w');
    log.info('i');
    log.debug('d');
    await until(() => out.lines().length === 4);
    assert.deepEqual(out.lines(), ['<3>e', '<4>w', '<6>i', '<7>d']);
    await log.close();
  });

  it('redacts passwords and secrets in fields and message text', async () => {
    assert.equal(redactText('login=admin passwd=hunter2 x'), 'login=admin passwd=*** x');
    assert.equal(redactText('auth_pass s3cr3t'), 'auth_pass ***');
    assert.equal(redactText('secret = "two words"'), 'secret = ***');
    assert.deepEqual(redactFields({ password: 'p', nested: { auth_pass: 'a', user: 'u' }, list: [{ secret: 's' }] }), {
      password: '***',
      nested: { auth_pass: '***', user: 'u' },
      list: [{ secret: '***' }],
    });
    const out = capture();
    const log = createDaemonLogger({ target: { kind: 'stdout' }, level: 'info', configName: 'x', stdout: out.stream, env: { JOURNAL_STREAM: '1:1' } });
    log.info('connecting with passwd=hunter2', { check: { login: 'bob', password: 'hunter2' }, secret: 'radius-key' });
    await until(() => out.lines().length === 1);
    const line = out.lines()[0] ?? '';
    assert.ok(!line.includes('hunter2'), line);
    assert.ok(!line.includes('radius-key'), line);
    assert.match(line, /login/);
    await log.close();
  });

  it('writes ldirectord-format file lines and reopens the file (logrotate, SIGUSR1)', async () => {
    const path = join(dir, 'directord.log');
    const wall = Date.UTC(2026, 10, 21, 11, 11, 25);
    const log = createDaemonLogger({ target: { kind: 'file', path }, level: 'info', configName: 'web.cf', wallNow: () => wall });
    log.info('Added real server: 127.50.0.2:80 (127.50.0.1:80) (Weight set to 1)');
    await until(() => readFileSync(path, 'utf8').includes('Added real'));
    const first = readFileSync(path, 'utf8').trim();
    assert.equal(first, `[${ctime(wall)}|web.cf|${process.pid}] Added real server: 127.50.0.2:80 (127.50.0.1:80) (Weight set to 1)`);
    assert.match(ctime(wall), /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) Nov 21 \d\d:11:25 2026$/);
    renameSync(path, `${path}.1`);
    log.info('after rotate (still old file)');
    await until(() => readFileSync(`${path}.1`, 'utf8').includes('after rotate'));
    log.reopen();
    log.info('in the new file');
    await until(() => {
      try {
        return readFileSync(path, 'utf8').includes('in the new file');
      } catch {
        return false;
      }
    });
    assert.ok(!readFileSync(`${path}.1`, 'utf8').includes('in the new file'));
    await log.close();
  });

  it('sends RFC 3164 lines with facility and severity to a unix datagram syslog socket', async function () {
    const sock = join(dir, 'log.sock');
    const receiver = spawn('python3', [new URL('../../integration/daemon/support/notify-socket.py', import.meta.url).pathname, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
    const received: string[] = [];
    createInterface({ input: receiver.stdout }).on('line', (l) => received.push(l));
    try {
      await until(() => received.includes('BOUND'));
      const log = createDaemonLogger({ target: { kind: 'syslog', facility: 'local0' }, level: 'info', configName: 'x', syslogSocket: sock });
      assert.match(log.description, /syslog local0/);
      log.warn('Quiescent real server: 127.50.0.2:80 (127.50.0.1:80) (Weight set to 0)');
      log.info('hello passwd=hunter2');
      await until(() => received.length >= 3, 5000);
      const texts = received.slice(1).map((l) => (JSON.parse(l) as { text: string }).text);
      // local0 (16) * 8 + warning (4) = 132; + info (6) = 134. RFC 3164: <PRI>Mmm dd hh:mm:ss host tag[pid]: msg
      assert.match(texts[0] ?? '', new RegExp(`^<132>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\S+ directord\\[${process.pid}\\]: Quiescent real server`));
      assert.match(texts[1] ?? '', /^<134>.* directord\[\d+\]: hello passwd=\*\*\*$/);
      await log.close();
    } finally {
      receiver.kill();
    }
  });

  it('falls back to stdout with a warning when the syslog socket is missing', async () => {
    const out = capture();
    const log = createDaemonLogger({ target: { kind: 'syslog', facility: 'daemon' }, level: 'info', configName: 'x', stdout: out.stream, env: {}, syslogSocket: join(dir, 'nope') });
    log.info('still logged');
    await until(() => out.lines().length >= 2);
    assert.match(out.lines()[0] ?? '', /warn syslog socket .* does not exist; logging to stdout/);
    assert.match(out.lines()[1] ?? '', /info still logged/);
    await log.close();
  });

  it('trusts JOURNAL_STREAM only when it names the real stdout (device:inode)', async function () {
    this.timeout(20_000);
    const out = join(dir, 'stdout.txt');
    writeFileSync(out, '');
    const { dev, ino } = statSync(out);
    // One child, two loggers on its real stdout (a file): one told the right stream, one a wrong one.
    const script = `import { createDaemonLogger } from ${JSON.stringify(new URL('../../../src/daemon/logger.ts', import.meta.url).pathname)};
for (const js of ['${dev}:${ino}', '${dev}:${ino + 1}']) {
  const log = createDaemonLogger({ target: { kind: 'stdout' }, level: 'info', configName: 'x', env: { JOURNAL_STREAM: js } });
  log.warn('w ' + js); await log.close();
}`;
    const fd = openSync(out, 'w');
    try {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', fd, 'inherit'] });
      assert.equal(r.status, 0);
    } finally {
      closeSync(fd);
    }
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines[0], `<4>w ${dev}:${ino}`);
    assert.match(lines[1] ?? '', new RegExp(`^\\d{4}-.* warn w ${dev}:${ino + 1}$`));
  });
});
