/**
 * An ldirectord.cf read by the real parser drives the director, the real embedded engine and the
 * real health monitor: negotiate http checks with request/receive, quiescent, maintenancedir and
 * a fallback, all on loopback (127.30.4.0/24).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../../src/config/load.js';
import { systemClock } from '../../../src/core/clock.js';
import { MemoryLogger } from '../../../src/core/logger.js';
import { Director } from '../../../src/director/director.js';
import { EmbeddedEngine } from '../../../src/engine/embedded/index.js';
import { createHealthMonitor } from '../../../src/health/monitor.js';
import { fetchVia, freePort, waitFor } from './helpers.js';

async function httpServer(host: string, handler: (path: string) => string): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    res.setHeader('connection', 'close');
    res.end(handler(req.url ?? '/'));
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return { server, port: (server.address() as { port: number }).port };
}

describe('director integration: an ldirectord.cf through the real parser, engine and checks', function () {
  this.timeout(30_000);
  let dir: string;
  const servers: Server[] = [];
  let director: Director | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'directord-cf-'));
  });
  after(async () => {
    await director?.close();
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('negotiate receive mismatch quiesces, a maintenance marker takes the last real out, the fallback answers, removal restores', async () => {
    let r1Healthy = true;
    const r1 = await httpServer('127.30.4.1', (path) => (path === '/health' ? (r1Healthy ? 'alive' : 'dying') : 'r1'));
    const r2 = await httpServer('127.30.4.2', (path) => (path === '/health' ? 'alive' : 'r2'));
    const fb = await httpServer('127.30.4.9', () => 'sorry');
    servers.push(r1.server, r2.server, fb.server);
    const vport = await freePort('127.30.4.100');
    const maint = join(dir, 'maint');
    await mkdir(maint);
    const cf = join(dir, 'ldirectord.cf');
    const text = [
      'checktimeout=1',
      'checkinterval=1',
      'quiescent=yes',
      `maintenancedir=${maint}`,
      `virtual=127.30.4.100:${vport}`,
      `\treal=127.30.4.1:${r1.port} masq`,
      `\treal=127.30.4.2:${r2.port} masq`,
      `\tfallback=127.30.4.9:${fb.port} masq`,
      '\tservice=http',
      '\tchecktype=negotiate',
      '\trequest="health"',
      '\treceive="alive"',
      '\tscheduler=rr',
      '',
    ].join('\n');
    await writeFile(cf, text);
    const loaded = await parseConfigText(text, cf, 'ldirectord');
    assert.ok(loaded.ok, JSON.stringify(!loaded.ok ? loaded.errors.map((e) => e.message) : []));
    const config = loaded.config;
    const logger = new MemoryLogger();
    const engine = new EmbeddedEngine({ clock: systemClock, logger });
    const health = createHealthMonitor({ clock: systemClock, logger, random: () => 0 });
    const d = new Director({ config, engine, health, clock: systemClock, logger, stateFile: join(dir, 'state.json'), tickMs: 200 });
    director = d;
    await d.start();
    const reals = () => d.status().virtuals[0]?.reals ?? [];
    await waitFor('both reals up', 5000, () => reals().every((r) => r.engineWeight === 1));
    const seen = new Set([await fetchVia('127.30.4.100', vport), await fetchVia('127.30.4.100', vport)]);
    assert.deepEqual([...seen].sort(), ['r1', 'r2']);

    r1Healthy = false; // the page answers 200 but without "alive": receive mismatch
    await waitFor('r1 quiesced', 4000, () => reals()[0]?.engineWeight === 0 && reals()[0]?.health === 'down');
    for (let i = 0; i < 3; i++) assert.equal(await fetchVia('127.30.4.100', vport), 'r2');

    await writeFile(join(maint, `127.30.4.2:${r2.port}`), 'disk swap');
    await waitFor('r2 in maintenance, fallback in', 3000, () => reals()[1]?.maintenance === true && d.status().virtuals[0]?.fallbackActive === true);
    assert.equal(reals()[1]?.engineWeight, 0, 'quiescent: kept at weight 0');
    assert.equal(await fetchVia('127.30.4.100', vport), 'sorry');

    await unlink(join(maint, `127.30.4.2:${r2.port}`));
    await waitFor('r2 back, fallback out', 3000, () => reals()[1]?.engineWeight === 1 && d.status().virtuals[0]?.fallbackActive === false);
    assert.equal(await fetchVia('127.30.4.100', vport), 'r2');
    await d.close();
    director = undefined;
  });
});
