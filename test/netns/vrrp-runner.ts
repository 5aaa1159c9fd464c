/**
 * "Us" in the netns interop tests: runs a VrrpController inside a namespace as its own process
 * (so kill -9 is a real crash) and reports on stdout as JSON lines:
 *   {"event":"ready","t":<wall ms>}
 *   {"event":"state","instance","from","to","reason","t"}
 *   {"event":"log","level","message",...fields}
 *   {"event":"status","instances":[...],"stats":{...},"timings":{...}}   (after "status" on stdin)
 *   {"event":"closed","t"}                                                (after SIGTERM/SIGINT)
 * stdin commands: "status", "relinquish <instance>".
 *
 * Usage: node --import tsx test/netns/vrrp-runner.ts '<RunnerConfig JSON>'
 */
import { createInterface } from 'node:readline';
import { systemClock } from '../../src/core/clock.js';
import type { LogFields, Logger } from '../../src/core/logger.js';
import { createVrrpController } from '../../src/vrrp/controller.js';
import { expandSettings, type RunnerConfig } from './runner-config.js';

function out(obj: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function jsonLogger(base: LogFields = {}): Logger {
  const line = (level: string) => (message: string, fields: LogFields = {}) => out({ event: 'log', level, message, ...base, ...fields, t: Date.now() });
  return { error: line('error'), warn: line('warn'), info: line('info'), debug: () => {}, child: (f) => jsonLogger({ ...base, ...f }) };
}

const config = JSON.parse(process.argv[2] ?? '{}') as RunnerConfig;
const controller = createVrrpController({ settings: expandSettings(config), clock: systemClock, logger: jsonLogger() });
controller.onStateChange((c) => out({ event: 'state', ...c, t: Date.now() }));

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  await controller.close();
  out({ event: 'closed', t: Date.now() });
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());

createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === 'status') out({ event: 'status', instances: controller.status(), stats: controller.stats(), timings: controller.takeoverTimings(), t: Date.now() });
  else if (cmd === 'relinquish' && arg) void controller.relinquish(arg).then(() => out({ event: 'relinquished', instance: arg, t: Date.now() }));
});

try {
  await controller.start();
  out({ event: 'ready', t: Date.now() });
} catch (e) {
  out({ event: 'error', message: (e as Error).message, code: (e as { code?: string }).code });
  controller.destroy();
  process.exit(1);
}
