import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderErrorDocs } from '../../../src/core/error-docs.js';
import { ConfigError, DirectorError, ERROR_CODE_TABLES, ERROR_CODES, isErrorCode, renderTemplate } from '../../../src/core/errors.js';

describe('core/errors: the DIR_ERR_* registry', () => {
  it('no code is defined by two modules', () => {
    const seen = new Map<string, string>();
    const dupes: string[] = [];
    for (const [mod, table] of Object.entries(ERROR_CODE_TABLES)) {
      for (const code of Object.keys(table)) {
        if (seen.has(code)) dupes.push(`${code} in ${seen.get(code)} and ${mod}`);
        seen.set(code, mod);
      }
    }
    assert.deepEqual(dupes, []);
    assert.equal(Object.keys(ERROR_CODES).length, seen.size);
  });

  it('every code is well formed and has message, hint and exit status', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      assert.match(code, /^DIR_ERR_[A-Z0-9_]+$/, code);
      assert.ok(spec.message.length > 0, `${code} message`);
      assert.ok(spec.hint.length > 0, `${code} hint`);
      assert.ok(Number.isInteger(spec.exitStatus) && spec.exitStatus > 0 && spec.exitStatus < 256, `${code} exit`);
    }
  });

  it('docs/errors.md documents every code (run `npm run docs:errors` after adding codes)', () => {
    const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    const missing = Object.keys(ERROR_CODES).filter((c) => !doc.includes(`\`${c}\``));
    assert.deepEqual(missing, []);
    assert.equal(doc, renderErrorDocs(), 'docs/errors.md is stale: run npm run docs:errors');
  });

  it('renders templates and keeps unknown placeholders visible', () => {
    assert.equal(renderTemplate('bad {input} at {where}', { input: 'x' }), 'bad x at {where}');
  });

  it('DirectorError carries code, hint and exit status', () => {
    const e = new DirectorError('DIR_ERR_INVALID_IP', { input: '1.2.3' });
    assert.equal(e.code, 'DIR_ERR_INVALID_IP');
    assert.equal(e.message, 'invalid IP address "1.2.3"');
    assert.ok(e.hint.length > 0);
    assert.equal(e.exitStatus, 78);
    assert.equal(e.name, 'DirectorError');
    assert.ok(isErrorCode('DIR_ERR_INVALID_IP'));
    assert.ok(!isErrorCode('DIR_ERR_NOPE'));
  });

  it('ConfigError formats file:line:column', () => {
    const e = new ConfigError('DIR_ERR_INVALID_PORT', { file: '/etc/ha.d/ldirectord.cf', line: 12, column: 7 }, { input: '99999' });
    assert.equal(e.format().split('\n')[0], '/etc/ha.d/ldirectord.cf:12:7: DIR_ERR_INVALID_PORT invalid port "99999"');
    assert.deepEqual(e.toJSON().line, 12);
    assert.equal(e.name, 'ConfigError');
  });
});
