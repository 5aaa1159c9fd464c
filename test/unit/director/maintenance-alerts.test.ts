import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, systemClock } from '../../../src/core/clock.js';
import { maintenanceNames, systemReverseLookup } from '../../../src/director/maintenance.js';
import { dotStuff, SendmailMailer, SmtpMailer } from '../../../src/director/mailer.js';
import { ctime, escapeMonitorMessage } from '../../../src/director/monitor-file.js';
import { alerts, cluster, fallbackAt, RecordingRunner, real, virtual } from './fakes.js';
import { startHarness } from './harness.js';

const V = '127.30.0.100:80';
const VID = `tcp:${V}`;
const R1 = '127.30.1.1:80';
const R2 = '127.30.1.2:80';
const k = (r: string, vid = VID): string => `${vid}/${r}`;

/** A tiny SMTP listener on 127.30.0.25 recording commands and message bodies. */
async function smtpListener(): Promise<{ port: number; commands: string[]; messages: string[]; close(): Promise<void> }> {
  const commands: string[] = [];
  const messages: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock: Socket) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    let inData = false;
    let buf = '';
    let data = '';
    sock.write('220 test ESMTP\r\n');
    sock.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            messages.push(data);
            data = '';
            sock.write('250 queued\r\n');
          } else data += `${line}\n`;
          continue;
        }
        commands.push(line);
        if (line.startsWith('EHLO')) sock.write('250-test\r\n250 8BITMIME\r\n');
        else if (line === 'DATA') {
          inData = true;
          sock.write('354 go ahead\r\n');
        } else if (line === 'QUIT') {
          sock.write('221 bye\r\n');
          sock.end();
        } else sock.write('250 ok\r\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.30.0.25', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    commands,
    messages,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('director: maintenancedir (ldirectord-spec 10.8)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'directord-maint-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names candidates in ldirectord order, short name only for lower-case FQDNs, brackets for IPv6', () => {
    assert.deepEqual(maintenanceNames('192.0.2.1', 4, 80, 'web1.example.com'), ['192.0.2.1:80', '192.0.2.1', 'web1.example.com:80', 'web1.example.com', 'web1:80', 'web1']);
    assert.deepEqual(maintenanceNames('192.0.2.1', 4, 80, 'Web1.example.com'), ['192.0.2.1:80', '192.0.2.1', 'Web1.example.com:80', 'Web1.example.com']);
    assert.deepEqual(maintenanceNames('2001:db8::1', 6, 443, undefined), ['[2001:db8::1]:443', '[2001:db8::1]']);
  });

  it('the default reverse lookup is getnameinfo: a name from /etc/hosts, none for an unnamed address', async () => {
    const hosts = await readFile('/etc/hosts', 'utf8').catch(() => '');
    const named = /^127\.0\.0\.1\s+(\S+)/m.exec(hosts)?.[1];
    if (named) assert.equal(await systemReverseLookup('127.0.0.1'), named);
    assert.equal(await systemReverseLookup('127.30.255.254'), undefined);
  });

  it('a marker present at start keeps a real that starts up out of service from the first apply', async () => {
    await writeFile(join(dir, '127.30.1.1'), '');
    const vs = virtual(V, [real(R1), real(R2)], { check: { ...virtual(V, []).check, initialState: 'up' } });
    const h = await startHarness(cluster([vs], { maintenanceDir: dir }), { maintenanceDir: undefined, reverseLookup: null });
    for (const s of h.engine.applied) assert.equal(s.services[0]?.reals.find((r) => r.key === R1)?.weight, 0);
    assert.equal(h.engine.weightOf(VID, R2), 1);
    assert.equal(h.director.status().virtuals[0]?.reals[0]?.maintenanceFile, '127.30.1.1');
    await h.director.close();
  });

  it('a marker file forces the real down (quiesced), polled through the clock; removing it brings it back', async () => {
    const lookups: string[] = [];
    const h = await startHarness(cluster([virtual(V, [real(R1), real(R2)])], { maintenanceDir: dir }), {
      maintenanceDir: undefined,
      tickMs: 1000,
      reverseLookup: async (a) => {
        lookups.push(a);
        return a === '127.30.1.2' ? 'web2.example.com' : undefined;
      },
    });
    h.health.set(k(R1), 'up');
    h.health.set(k(R2), 'up');
    await h.director.settled();
    await writeFile(join(dir, '127.30.1.1:80'), 'kernel upgrade');
    await h.step(1000);
    assert.equal(h.engine.weightOf(VID, R1), 0);
    assert.equal(h.director.status().virtuals[0]?.reals[0]?.maintenance, true);
    assert.equal(h.director.status().virtuals[0]?.reals[0]?.maintenanceFile, '127.30.1.1:80');
    assert.equal(lookups.length, 0, 'IP-named markers need no reverse lookup');
    await unlink(join(dir, '127.30.1.1:80'));
    await h.step(1000);
    assert.equal(h.engine.weightOf(VID, R1), 1);
    await writeFile(join(dir, 'web2'), '');
    await h.step(1000);
    assert.equal(h.engine.weightOf(VID, R2), 0, 'short host name marker');
    assert.equal(h.engine.weightOf(VID, R1), 1);
    assert.ok(lookups.includes('127.30.1.2'));
    await h.director.close();
  });
});

describe('director: e-mail alerts (ldirectord-spec 10.9)', () => {
  it('mails every real/fallback event with the servicename prefix and ldirectord body; reminders every emailalertfreq until restored', async () => {
    const vs = virtual(V, [real(R1), real(R2)], {
      alerts: alerts({ emailTo: ['ops@example.com'], emailFrequencyMs: 60_000 }),
      serviceName: 'web',
      comment: 'front',
      fallback: fallbackAt('127.30.9.9:80'),
    });
    const h = await startHarness(cluster([vs], { emailAlertFrom: 'lb@example.com' }), { tickMs: 1000 });
    h.mailer.sent.length = 0;
    h.health.set(k(R1), 'up');
    await h.director.settled();
    // ldirectord-spec 10.5: restore the real, then turn the fallback off.
    assert.deepEqual(h.mailer.subjects(), [`[web] Restored real server: ${R1} (${V}) (Weight set to 1)`, `[web] Deleted fallback server: 127.30.9.9:80 (${V})`]);
    const m = h.mailer.sent[0];
    assert.equal(m?.from, 'lb@example.com');
    assert.deepEqual(m?.to, ['ops@example.com']);
    assert.match(m?.body ?? '', /^ldirectord host: .+\nLog-Message: Restored real server: 127\.30\.1\.1:80 \(127\.30\.0\.100:80\) \(Weight set to 1\)\nDaemon-Status: (starting|running)\nService name: web\nComment: front$/);
    h.health.set(k(R2), 'up');
    h.health.set(k(R1), 'down');
    await h.director.settled();
    h.mailer.sent.length = 0;
    await h.step(59_000);
    assert.deepEqual(h.mailer.subjects(), [], 'not before emailalertfreq');
    await h.step(1000);
    assert.deepEqual(h.mailer.subjects(), [`[web] Inaccessible real server: ${R1} (${V})`]);
    await h.step(60_000);
    assert.equal(h.mailer.sent.length, 2);
    h.health.set(k(R1), 'up');
    await h.director.settled();
    h.mailer.sent.length = 0;
    await h.step(180_000);
    assert.deepEqual(h.mailer.subjects(), [], 'restoring clears the reminder');
    await h.director.close();
  });

  it('emailalertstatus filters events and reminders; the global cap suppresses floods', async () => {
    const vs = virtual(V, [real(R1), real(R2)], { alerts: alerts({ emailTo: ['ops@example.com'], emailStatuses: ['running'], emailFrequencyMs: 0 }) });
    const h = await startHarness(cluster([vs]), { mailCap: { max: 3, windowMs: 60_000 }, tickMs: 1000 });
    assert.deepEqual(h.mailer.subjects(), [], 'start-up events are not mailed with emailalertstatus=running');
    h.health.set(k(R1), 'up');
    h.health.set(k(R2), 'up');
    await h.director.settled();
    await h.step(1000);
    assert.equal(h.director.status().phase, 'running');
    for (let i = 0; i < 4; i++) {
      h.health.set(k(R1), i % 2 === 0 ? 'down' : 'up');
      await h.director.settled();
    }
    assert.equal(h.mailer.sent.length, 3, 'cap of 3 per minute');
    assert.equal(h.director.status().alerts?.suppressed, 1);
    await h.step(60_000);
    h.health.set(k(R1), 'down');
    await h.director.settled();
    assert.equal(h.mailer.sent.length, 4, 'window slid');
    await h.director.close();
  });

  it('SmtpMailer speaks SMTP to a local listener: EHLO, MAIL FROM, one RCPT TO per recipient, dot-stuffed DATA', async () => {
    const smtp = await smtpListener();
    try {
      const mailer = new SmtpMailer({ server: `127.30.0.25:${smtp.port}`, clock: systemClock, heloName: 'lb1' });
      await mailer.send({ from: 'lb@example.com', to: ['a@example.com', 'b@example.com'], subject: 'Deleted real server: x', body: 'line1\n.dot line' });
      assert.deepEqual(smtp.commands, ['EHLO lb1', 'MAIL FROM:<lb@example.com>', 'RCPT TO:<a@example.com>', 'RCPT TO:<b@example.com>', 'DATA', 'QUIT']);
      assert.match(smtp.messages[0] ?? '', /^From: lb@example\.com\nTo: a@example\.com, b@example\.com\nSubject: Deleted real server: x\n/);
      assert.match(smtp.messages[0] ?? '', /\nline1\n\.\.dot line\n$/);
      await assert.rejects(new SmtpMailer({ server: '127.30.0.25:1', clock: systemClock }).send({ from: 'a@b', to: ['c@d'], subject: 's', body: 'b' }), (e: Error & { code?: string }) => e.code === 'DIR_ERR_DIRECTOR_MAIL');
    } finally {
      await smtp.close();
    }
    assert.equal(dotStuff('.a\r\nb\r\n.c'), '..a\r\nb\r\n..c');
  });

  it('the director mails through smtp= when no mailer is injected', async () => {
    const smtp = await smtpListener();
    try {
      const vs = virtual(V, [real(R1)], { alerts: alerts({ emailTo: ['ops@example.com'], smtpHost: `127.30.0.25:${smtp.port}` }) });
      const h = await startHarness(cluster([vs], { emailAlertFrom: 'lb@example.com' }), { mailer: undefined });
      h.health.set(k(R1), 'up');
      await h.director.settled();
      await h.director.close();
      const subjects = smtp.messages.map((m) => /^Subject: (.*)$/m.exec(m)?.[1]);
      assert.ok(subjects.includes(`Restored real server: ${R1} (${V}) (Weight set to 1)`), JSON.stringify(subjects));
      assert.ok(smtp.commands.includes('RCPT TO:<ops@example.com>'));
    } finally {
      await smtp.close();
    }
  });

  it('SendmailMailer runs sendmail -t with the message on stdin (argv, no shell)', async () => {
    const runner = new RecordingRunner();
    const mailer = new SendmailMailer({ runCommand: runner.run, clock: new ManualClock() });
    await mailer.send({ from: 'LB <lb@example.com>', to: ['ops@example.com'], subject: 'hi\r\nBcc: evil@example.com', body: 'x' });
    assert.deepEqual(runner.calls[0]?.argv, ['/usr/sbin/sendmail', '-t', '-oi', '-f', 'lb@example.com']);
    assert.match(runner.calls[0]?.options.input ?? '', /^From: LB <lb@example\.com>\nTo: ops@example\.com\nSubject: hi Bcc: evil@example\.com\n/);
    runner.exitCode = 75;
    await assert.rejects(mailer.send({ from: 'a@b', to: ['c@d'], subject: 's', body: 'b' }), /exit status 75/);
  });
});

describe('director: monitorfile (ldirectord-spec 10.9)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'directord-monitor-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one line per check outcome in ldirectord format, escaping %, |, CR, LF', async () => {
    const monitorFile = join(dir, 'monitor.log');
    const h = await startHarness(cluster([virtual(V, [real(R1)], { monitorFile })]), { tickMs: 1000 });
    h.health.set(k(R1), 'up', { detail: 'HTTP/1.1 200 OK' });
    await h.step(1000);
    h.health.set(k(R1), 'down', { detail: 'body|50%\nmismatch' });
    await h.step(1000);
    await h.step(1000); // no new check: no new line
    const lines = (await readFile(monitorFile, 'utf8')).split('\n').filter(Boolean);
    assert.equal(lines.length, 2);
    assert.match(lines[0] ?? '', new RegExp(`^\\[\\w{3} \\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\d{4}\\] \\[${process.pid}\\] connect http tcp 127\\.30\\.1\\.1 80 1 masq / +\\[up\\] HTTP/1\\.1 200 OK$`));
    assert.match(lines[1] ?? '', /\[down\] body%7C50%25%0Amismatch$/);
    assert.equal(escapeMonitorMessage('a\r'), 'a%0D');
    // Two results between two ticks (a fast re-check): both are logged, as they arrive.
    h.health.set(k(R1), 'down', { detail: 'refused' });
    h.health.set(k(R1), 'up', { detail: 'HTTP/1.1 200 OK again' });
    await h.step(1);
    const more = (await readFile(monitorFile, 'utf8')).split('\n').filter(Boolean);
    assert.deepEqual(more.slice(2).map((l) => l.replace(/^.*\[(up|down)\] /, '$1 ')), ['down refused', 'up HTTP/1.1 200 OK again']);
    assert.match(ctime(new Date(2026, 10, 1, 3, 4, 5)), /^Sun Nov  1 03:04:05 2026$/);
    await h.director.close();
  });
});
