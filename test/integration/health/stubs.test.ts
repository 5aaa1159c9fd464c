/**
 * Checks for protocols without a Debian server in our set, each against a PROTOCOL STUB written
 * here (sip, radius, nntp, agent, oracle TNS, simpletcp), plus connect / ping / combined / on / off
 * against real loopback sockets.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { CheckConfig } from '../../../src/config/model.js';
import { agentChecker, parseAgentReply } from '../../../src/health/checks/agent.js';
import { createCombinedChecker } from '../../../src/health/checks/combined.js';
import { connectChecker } from '../../../src/health/checks/connect.js';
import { negotiateChecker } from '../../../src/health/checks/negotiate.js';
import { createPingChecker } from '../../../src/health/checks/ping.js';
import { offChecker, onChecker } from '../../../src/health/checks/static.js';
import type { CheckResult, CheckTarget, Checker } from '../../../src/health/types.js';
import { checkConfig, checkTarget } from '../../unit/health/fixtures.js';
import { skipBecause } from '../../support/skip.js';

const signal = new AbortController().signal;
const run = (checker: Checker, target: CheckTarget, check: Partial<CheckConfig>): Promise<CheckResult> =>
  checker.run(target, checkConfig({ negotiateTimeoutMs: 2000, timeoutMs: 2000, ...check }), signal);

/** A TCP stub server; handler gets each socket. */
async function tcpStub(host: string, handler: (socket: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    handler(s);
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

async function udpStub(host: string, handler: (msg: Buffer, reply: (b: Buffer) => void) => void): Promise<{ port: number; close(): Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => handler(msg, (b) => socket.send(b, rinfo.port, rinfo.address)));
  await new Promise<void>((r) => socket.bind(0, host, r));
  return { port: socket.address().port, close: () => new Promise((r) => socket.close(() => r())) };
}

describe('health checks against protocol stubs and loopback sockets', function () {
  this.timeout(20_000);
  const HOST = '127.20.11.1';

  it('connect: open port up, closed port down with ECONNREFUSED', async () => {
    const stub = await tcpStub(HOST, (s) => s.end());
    try {
      const up = await run(connectChecker, checkTarget(HOST, stub.port), { type: 'connect' });
      assert.equal(up.ok, true, up.detail);
      const viaCheckport = await run(connectChecker, checkTarget(HOST, 1), { type: 'connect', checkPort: stub.port });
      assert.equal(viaCheckport.ok, true, viaCheckport.detail);
    } finally {
      await stub.close();
    }
    const down = await run(connectChecker, checkTarget(HOST, 1), { type: 'connect' });
    assert.equal(down.ok, false);
    assert.match(down.detail, /ECONNREFUSED/);
  });

  it('IPv6 (::1): connect and the lean http path, brackets where a URL needs them', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => res.end('six\n'));
    await new Promise<void>((r) => server.listen(0, '::1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const t = checkTarget('::1', port);
      assert.equal((await run(connectChecker, t, { type: 'connect' })).ok, true);
      const r = await run(negotiateChecker, t, { type: 'negotiate', service: 'http', receive: '^six$' });
      assert.equal(r.ok, true, r.detail);
      assert.match(r.detail, /http:\/\/\[::1\]:\d+\//);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('ping: loopback answers (iputils ping, the fallback: argv, -c 1 per attempt)', async function () {
    const r = await run(createPingChecker('iputils'), checkTarget('127.20.11.2', 0), { type: 'ping', timeoutMs: 1000, checkCount: 2 });
    if (!r.ok && /Operation not permitted|socket/i.test(r.detail)) skipBecause(this, 'no ICMP socket permission here');
    assert.equal(r.ok, true, r.detail);
    assert.match(r.detail, /attempt 1\/2/);
  });

  it('combined (checktype=N): negotiate first, then N connects, then negotiate again', async () => {
    const calls: string[] = [];
    const negotiate: Checker = {
      run: async () => {
        calls.push('negotiate');
        return { ok: true, detail: 'n', durationMs: 0 };
      },
    };
    const stub = await tcpStub(HOST, (s) => s.end());
    try {
      const combined = createCombinedChecker(negotiate);
      const target = checkTarget(HOST, stub.port);
      for (let i = 0; i < 6; i++) {
        const r = await run(combined, target, { type: 'combined', negotiateEvery: 2 });
        if (r.detail.startsWith('connect')) calls.push('connect');
      }
      assert.deepEqual(calls, ['negotiate', 'connect', 'connect', 'negotiate', 'connect', 'connect']);
    } finally {
      await stub.close();
    }
  });

  it('on is always up, off always down', async () => {
    assert.equal((await run(onChecker, checkTarget(HOST, 1), { type: 'on' })).ok, true);
    assert.equal((await run(offChecker, checkTarget(HOST, 1), { type: 'off' })).ok, false);
  });

  it('service=none negotiate is up without I/O (ldirectord)', async () => {
    assert.equal((await run(negotiateChecker, checkTarget(HOST, 1), { type: 'negotiate', service: 'none' })).ok, true);
  });

  it('agent (HAProxy agent-check STUB): up / down / drain / weight% / maint', async () => {
    let reply = 'up\n';
    const stub = await tcpStub(HOST, (s) => s.end(reply));
    try {
      const t = checkTarget(HOST, 80);
      const check = { type: 'agent' as const, agentPort: stub.port };
      assert.equal((await run(agentChecker, t, check)).ok, true);
      reply = '75%\n';
      const w = await run(agentChecker, t, check);
      assert.deepEqual([w.ok, w.weightPercent, w.weight], [true, 75, undefined]);
      reply = 'drain 50% # deploying\r\n';
      const d = await run(agentChecker, t, check);
      assert.deepEqual([d.ok, d.drain, d.weightPercent], [true, true, 50]);
      assert.match(d.detail, /deploying/);
      reply = 'down';
      assert.equal((await run(agentChecker, t, check)).ok, false);
      reply = 'maint\n';
      assert.equal((await run(agentChecker, t, check)).ok, false);
      reply = 'gibberish\n';
      assert.equal((await run(agentChecker, t, check)).ok, false);
    } finally {
      await stub.close();
    }
    assert.deepEqual(parseAgentReply('ready,100%'), { state: 'up', drain: false, weightPercent: 100, comment: undefined });
  });

  it('simpletcp (STUB echo-ish server): request sent with \\n expanded, write side shut, a line matches receive', async () => {
    const stub = await tcpStub(HOST, (s) => {
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('end', () => s.end(`first line\nyou said: ${JSON.stringify(got)}\n`));
    });
    try {
      const t = checkTarget(HOST, stub.port);
      const up = await run(negotiateChecker, t, { type: 'negotiate', service: 'simpletcp', request: '/PING\\n', receive: '^you said: "PING\\\\n"$' });
      assert.equal(up.ok, true, up.detail);
      const down = await run(negotiateChecker, t, { type: 'negotiate', service: 'simpletcp', request: '/PING', receive: 'PONG' });
      assert.equal(down.ok, false);
    } finally {
      await stub.close();
    }
  });

  it('nntp (STUB): greeting starting with 2 is up, 400 is down', async () => {
    let greeting = '200 news.test ready\r\n';
    const stub = await tcpStub(HOST, (s) => s.write(greeting));
    try {
      const t = checkTarget(HOST, stub.port);
      assert.equal((await run(negotiateChecker, t, { type: 'negotiate', service: 'nntp' })).ok, true);
      greeting = '400 service temporarily unavailable\r\n';
      assert.equal((await run(negotiateChecker, t, { type: 'negotiate', service: 'nntp' })).ok, false);
    } finally {
      await stub.close();
    }
  });

  it('sip (STUB over udp and tcp): OPTIONS answered 200 OK is up, 503 down', async () => {
    let status = 'SIP/2.0 200 OK';
    const answer = (msg: Buffer): Buffer => {
      const text = msg.toString();
      const callId = /Call-ID: (\S+)/.exec(text)?.[1] ?? '';
      assert.match(text, /^OPTIONS sip:monitor@sip\.test SIP\/2\.0\r\n/);
      return Buffer.from(`${status}\r\nCall-ID: ${callId}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`);
    };
    const udp = await udpStub(HOST, (msg, reply) => reply(answer(msg)));
    const tcp = await tcpStub(HOST, (s) => s.once('data', (d) => s.end(answer(d))));
    try {
      const check = { type: 'negotiate' as const, service: 'sip' as const, login: 'monitor@sip.test' };
      assert.equal((await run(negotiateChecker, checkTarget(HOST, udp.port, { virtualProtocol: 'udp' }), check)).ok, true);
      assert.equal((await run(negotiateChecker, checkTarget(HOST, tcp.port, { virtualProtocol: 'tcp' }), check)).ok, true);
      status = 'SIP/2.0 503 Service Unavailable';
      const down = await run(negotiateChecker, checkTarget(HOST, udp.port, { virtualProtocol: 'udp' }), check);
      assert.equal(down.ok, false);
      assert.match(down.detail, /503/);
    } finally {
      await udp.close();
      await tcp.close();
    }
  });

  it('radius (STUB): Access-Accept for the right password, Reject otherwise, bad authenticator down', async () => {
    const secret = 's3cret';
    let signWith = secret;
    const udp = await udpStub(HOST, (msg, reply) => {
      const id = msg[1] ?? 0;
      const auth = msg.subarray(4, 20);
      // Find User-Password (type 2) and decode it with the secret.
      let pos = 20;
      let password = '';
      while (pos < msg.length) {
        const type = msg[pos] ?? 0;
        const len = msg[pos + 1] ?? 2;
        if (type === 2) {
          const hidden = msg.subarray(pos + 2, pos + len);
          // RFC 2865 5.2: one 16-byte block, p = c XOR MD5(secret + authenticator).
          const mask = createHash('md5').update(secret).update(auth).digest();
          password = Buffer.from(hidden.subarray(0, 16).map((c, i) => c ^ (mask[i] ?? 0))).toString('utf8').replace(/\0+$/, '');
        }
        pos += len;
      }
      const code = password === 'right' ? 2 : 3;
      const header = Buffer.from([code, id, 0, 20]);
      const respAuth = createHash('md5').update(header).update(auth).update(signWith).digest();
      reply(Buffer.concat([header, respAuth]));
    });
    try {
      const t = checkTarget(HOST, udp.port, { virtualProtocol: 'udp' });
      const check = { type: 'negotiate' as const, service: 'radius' as const, login: 'probe', secret };
      const ok = await run(negotiateChecker, t, { ...check, password: 'right' });
      assert.equal(ok.ok, true, ok.detail);
      const rejected = await run(negotiateChecker, t, { ...check, password: 'wrong' });
      assert.equal(rejected.ok, false);
      assert.match(rejected.detail, /Access-Reject/);
      signWith = 'other';
      const forged = await run(negotiateChecker, t, { ...check, password: 'right' });
      assert.equal(forged.ok, false);
      assert.match(forged.detail, /authenticator/);
    } finally {
      await udp.close();
    }
  });

  it('oracle (TNS listener STUB): ACCEPT is up, REFUSE with ERR=12505 is down', async () => {
    let type = 2;
    const stub = await tcpStub(HOST, (s) =>
      s.once('data', (d) => {
        assert.equal(d[4], 1); // CONNECT
        assert.match(d.toString('latin1'), /\(SID=ORCL\)/);
        const body = type === 4 ? Buffer.from('\0\0\0\0(DESCRIPTION=(ERR=12505))', 'latin1') : Buffer.alloc(24);
        const head = Buffer.alloc(8);
        head.writeUInt16BE(8 + body.length, 0);
        head[4] = type;
        s.end(Buffer.concat([head, body]));
      }),
    );
    try {
      const t = checkTarget(HOST, stub.port);
      const check = { type: 'negotiate' as const, service: 'oracle' as const, database: 'ORCL' };
      assert.equal((await run(negotiateChecker, t, check)).ok, true);
      type = 4;
      const refused = await run(negotiateChecker, t, check);
      assert.equal(refused.ok, false);
      assert.match(refused.detail, /ORA-12505/);
    } finally {
      await stub.close();
    }
  });

  it('a silent server times out at negotiatetimeout (smtp against a mute STUB)', async () => {
    const stub = await tcpStub(HOST, () => undefined);
    try {
      const t0 = Date.now();
      const r = await run(negotiateChecker, checkTarget(HOST, stub.port), { type: 'negotiate', service: 'smtp', negotiateTimeoutMs: 300 });
      assert.equal(r.ok, false);
      assert.match(r.detail, /timed out after 300 ms/);
      assert.ok(Date.now() - t0 < 1500);
    } finally {
      await stub.close();
    }
  });
});
