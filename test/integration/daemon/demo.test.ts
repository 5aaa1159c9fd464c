// `npm run demo -- --self-test`: the demo runs, serves through the embedded engine, quiesces a
// killed server, shows it in the real directorctl table, and exits 0.
import assert from 'node:assert/strict';
import { ROOT, runNode } from './support/helpers.js';

describe('npm run demo -- --self-test', function () {
  this.timeout(60_000);

  it('passes: round robin over three servers, a killed one quiesced at weight 0', async () => {
    const r = await runNode(`${ROOT}src/daemon/demo.ts`, ['--self-test'], { timeoutMs: 55_000, env: { NODE_OPTIONS: '--import tsx' } });
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 0, out);
    assert.match(out, /self-test: 9 requests through http:\/\/127\.0\.0\.1:\d+\/: 3x "hello from demo server \d/);
    assert.match(out, /self-test: quiesced after [\d.]+ s/);
    assert.match(out, /-> 127\.0\.0\.1:\d+ +\w+ +0 +\d+ +\d+/);
    assert.match(out, /status page http:\/\/127\.0\.0\.1:\d+\/ answered HTTP 200, \/status\.json HTTP 200/);
    assert.match(out, /self-test passed/);
  });
});
