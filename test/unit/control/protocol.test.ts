import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { LineSplitter, encodeFrame, parseRequest, parseResponse } from '../../../src/control/protocol.js';
import { validateDrainOptions, validateIpvsCommands, validateSelector } from '../../../src/control/validate.js';
import { DirectorError } from '../../../src/core/errors.js';

describe('control protocol framing', () => {
  it('splits lines across arbitrary chunk boundaries', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !s.includes('\n') && s.trim() !== '' && !s.endsWith('\r')), { minLength: 1, maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 10 }), (lines, cuts) => {
        const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
        const splitter = new LineSplitter(1 << 20);
        const seen: string[] = [];
        let at = 0;
        let k = 0;
        while (at < bytes.length) {
          const n = cuts[k++ % cuts.length] as number;
          for (const e of splitter.push(bytes.subarray(at, at + n))) if (e.kind === 'line') seen.push(e.line);
          at += n;
        }
        assert.deepEqual(seen, lines);
      }),
    );
  });

  it('reports an oversize line once and then ignores the rest', () => {
    const splitter = new LineSplitter(10);
    assert.deepEqual(splitter.push(Buffer.from('short\n')), [{ kind: 'line', line: 'short' }]);
    const events = splitter.push(Buffer.from('0123456789ABC'));
    assert.equal(events.length, 1);
    assert.equal(events[0]?.kind, 'oversize');
    assert.deepEqual(splitter.push(Buffer.from('\nok\n')), []);
    // Exactly at the limit is fine.
    assert.deepEqual(new LineSplitter(4).push(Buffer.from('abcd\n')), [{ kind: 'line', line: 'abcd' }]);
  });

  it('parses requests and tells malformed from wrong-version frames', () => {
    assert.deepEqual(parseRequest('{"v":1,"id":3,"method":"status"}'), { ok: true, frame: { v: 1, id: 3, method: 'status', params: undefined } });
    assert.deepEqual(parseRequest('{"v":2,"id":3,"method":"status"}'), { ok: false, id: 3, code: 'version', reason: 'version 2', version: 2 });
    assert.equal((parseRequest('{"id":3,"method":"status"}') as { code: string }).code, 'version');
    assert.equal((parseRequest('nope') as { code: string }).code, 'malformed');
    assert.equal((parseRequest('{"v":1,"id":1.5,"method":"x"}') as { code: string }).code, 'malformed');
    assert.equal((parseRequest('{"v":1,"id":1,"method":"x","params":[1]}') as { code: string }).code, 'malformed');
    assert.equal((parseRequest('{"v":1,"id":1,"method":7}') as { code: string }).code, 'malformed');
  });

  it('round-trips response frames and rejects unusable ones', () => {
    const frame = { v: 1, id: 4, error: { code: 'DIR_ERR_X', message: 'm', hint: 'h' } };
    assert.deepEqual(parseResponse(encodeFrame(frame).trimEnd()), frame);
    assert.deepEqual(parseResponse('{"v":1,"id":2,"progress":{"n":1}}'), { v: 1, id: 2, progress: { n: 1 } });
    assert.throws(() => parseResponse('{"v":1,"id":2}'), /neither result, error nor progress/);
    assert.throws(() => parseResponse('{"v":3,"id":2,"result":1}'), /version 3/);
  });
});

describe('control request validation', () => {
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof DirectorError);
      return e.code;
    }
    return 'none';
  };

  it('selectors, drain options', () => {
    assert.deepEqual(validateSelector('m', { realKey: 'a', virtualId: 'b', extra: 1 }), { virtualId: 'b', realKey: 'a' });
    assert.equal(code(() => validateSelector('m', { realKey: '' })), 'DIR_ERR_CONTROL_INVALID_PARAMS');
    assert.equal(code(() => validateSelector('m', 'x')), 'DIR_ERR_CONTROL_INVALID_PARAMS');
    assert.deepEqual(validateDrainOptions('drain', { deadlineMs: 5000, then: 'keep' }), { deadlineMs: 5000, then: 'keep' });
    assert.equal(code(() => validateDrainOptions('drain', { deadlineMs: -1 })), 'DIR_ERR_CONTROL_INVALID_PARAMS');
    assert.equal(code(() => validateDrainOptions('drain', { deadlineMs: 2 * 86_400_000 })), 'DIR_ERR_CONTROL_INVALID_PARAMS');
    assert.equal(code(() => validateDrainOptions('drain', { then: 'explode' })), 'DIR_ERR_CONTROL_INVALID_PARAMS');
  });

  it('ipvsadm commands: canonical addresses, known ops only', () => {
    assert.deepEqual(
      validateIpvsCommands('ipvsadm', [{ op: 'add-real', service: { protocol: 'tcp', address: '2001:DB8:0::1', port: 80 }, real: { address: '2001:db8::0:10', port: 80 }, options: { weight: 2 } }]),
      [{ op: 'add-real', service: { protocol: 'tcp', address: '2001:db8::1', port: 80 }, real: { address: '2001:db8::10', port: 80 }, options: { weight: 2 } }],
    );
    assert.equal(code(() => validateIpvsCommands('ipvsadm', [{ op: 'add-service', service: { protocol: 'sctp', address: '192.0.2.1', port: 1 } }])), 'DIR_ERR_CONTROL_INVALID_PARAMS');
    assert.equal(code(() => validateIpvsCommands('ipvsadm', [{ op: 'add-real', service: { protocol: 'fwm', fwmark: 0 }, real: { address: '192.0.2.1', port: 1 } }])), 'DIR_ERR_CONTROL_INVALID_PARAMS');
    assert.equal(code(() => validateIpvsCommands('ipvsadm', [{ op: 'add-service', service: { protocol: 'tcp', address: '192.0.2.1', port: 1 }, options: { scheduler: 'random' } }])), 'DIR_ERR_CONTROL_INVALID_PARAMS');
    assert.equal(code(() => validateIpvsCommands('ipvsadm', {})), 'DIR_ERR_CONTROL_INVALID_PARAMS');
  });
});

describe('kernel peer lookup (ss output)', () => {
  it('finds the process whose socket has our inode as its peer', async () => {
    const { findPeerInSsOutput } = await import('../../../src/control/peer.js');
    const output = [
      'u_str ESTAB 0      0      /run/directord/directord.sock 7001 * 7002 users:(("node",pid=100,fd=21))',
      'u_str ESTAB 0      0      * 7002 * 7001 users:(("directorctl",pid=4242,fd=3))',
      'u_str ESTAB 0      0      * 130     * 131',
      '',
    ].join('\n');
    assert.deepEqual(findPeerInSsOutput(output, '7001'), { pid: 4242, command: 'directorctl' });
    assert.deepEqual(findPeerInSsOutput(output, '7002'), { pid: 100, command: 'node' });
    assert.equal(findPeerInSsOutput(output, '130'), undefined, 'no process column');
    assert.equal(findPeerInSsOutput(output, '999'), undefined);
  });
});
