/**
 * The web status page in headless Chromium (Debian's /usr/bin/chromium): after the page's script
 * has fetched status.json and rendered, the DOM holds the virtual services, real rows with their
 * health, VRRP rows and SVG sparklines; a screenshot is written to test/bench/out/status-page.png.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createStatusHttpServer } from '../../../src/control/http.js';
import type { StatusHttpServer } from '../../../src/control/http.js';
import { nullLogger } from '../../../src/core/logger.js';
import { FakeControlApi, sampleStats } from '../../unit/control/fake-api.js';
import { ManualClock } from '../../../src/core/clock.js';
import type { EngineStats } from '../../../src/engine/model.js';
import { skipBecause } from '../../support/skip.js';

const CHROMIUM = '/usr/bin/chromium';
const outDir = fileURLToPath(new URL('../../bench/out/', import.meta.url));

function runChromium(args: readonly string[], profile: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        ...args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

describe('web status page (headless Chromium)', function () {
  this.timeout(60_000);
  let server: StatusHttpServer;
  let url: string;
  let profile: string;

  before(async function () {
    if (!existsSync(CHROMIUM)) skipBecause(this, 'the chromium Debian package is not installed here');
    // Rates that move, sampled 60 times by stepping the clock, so the sparklines have a shape.
    const api = new FakeControlApi();
    let tick = 0;
    api.stats = (): EngineStats => {
      tick += 1;
      const wave = (k: number): number => Math.round(50 + 40 * Math.sin(tick / 5 + k));
      const base = sampleStats();
      return {
        services: base.services.map((svc) => ({
          ...svc,
          rates: { ...svc.rates, cps: wave(0), inBps: wave(1) * 1000, outBps: wave(2) * 9000 },
          reals: svc.reals.map((r, i) => ({ ...r, activeConns: wave(i), rates: { ...r.rates, cps: wave(i + 3) } })),
        })),
      };
    };
    const clock = new ManualClock(0, Date.now() - 60_000);
    server = createStatusHttpServer({ listen: { host: '127.40.0.1', port: 0 }, api, logger: nullLogger, clock, sampleIntervalMs: 1000 });
    await server.start();
    for (let i = 0; i < 60; i++) clock.advance(1000);
    url = `http://127.40.0.1:${server.address()?.port ?? 0}/`;
  });

  beforeEach(() => {
    profile = mkdtempSync(join(tmpdir(), 'directord-chromium-'));
  });

  afterEach(() => {
    rmSync(profile, { recursive: true, force: true });
  });

  after(async () => {
    await server?.close();
  });

  it('renders services, real rows with health, VRRP instances and sparklines after its script ran', async () => {
    const r = await runChromium(['--virtual-time-budget=5000', '--dump-dom', url], profile);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    const dom = r.stdout;
    assert.match(dom, /<body data-rendered="\d+">/, 'the script rendered at least once');
    assert.match(dom, /<section class="card virtual" data-virtual="tcp:192\.0\.2\.1:80">/);
    assert.match(dom, /<section class="card virtual" data-virtual="fwm:1">/);
    assert.match(dom, /<tr class="real-row" data-real="192\.0\.2\.10:80" data-health="up">/);
    assert.match(dom, /<tr class="real-row" data-real="192\.0\.2\.11:80" data-health="down">/);
    assert.match(dom, /<tr class="vrrp-row" data-instance="VI_1"><td>VI_1<\/td><td><span class="badge MASTER">MASTER<\/span>/);
    assert.match(dom, /<tr class="vrrp-row" data-instance="VI_2">/);
    assert.match(dom, /ok: HTTP 200 in 3 ms/);
    assert.match(dom, /FAILED: timed out after 5000 ms/);
    assert.match(dom, /fallback active/);
    assert.match(dom, /<svg class="spark"[^>]*><title>connections per second<\/title><polyline points="[\d., ]+"/);
    assert.match(dom, /id="summary">role MASTER · up \d/);
    assert.match(dom, /id="error" style="display: none;"/, 'no fetch error shown');
  });

  it('takes a screenshot of plausible size', async () => {
    mkdirSync(outDir, { recursive: true });
    const png = join(outDir, 'status-page.png');
    rmSync(png, { force: true });
    const r = await runChromium(['--virtual-time-budget=5000', `--screenshot=${png}`, '--window-size=1280,900', url], profile);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.ok(existsSync(png), 'screenshot written');
    const size = statSync(png).size;
    assert.ok(size > 20_000 && size < 5_000_000, `PNG of ${size} bytes`);
    const header = readFileSync(png).subarray(0, 24);
    assert.equal(header.subarray(1, 4).toString('latin1'), 'PNG');
    assert.equal(header.readUInt32BE(16), 1280, 'width');
    assert.equal(header.readUInt32BE(20), 900, 'height');
  });
});
