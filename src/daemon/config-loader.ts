/**
 * Loading a config file for the daemon and `directord -t` (kept apart from ./wiring.ts so the
 * quick verbs, status/stop/reload, do not load the engine, checkers and VRRP code).
 */
import { loadConfigFile } from '../config/load.js';
import type { ConfigLoader, LoadOutcome } from './daemon.js';
import { EXIT } from '../core/exit-status.js';
import { runConfigTest } from '../config/configtest.js';
import { validateSchedules } from './schedule.js';

/** Loads and validates a config file (ldirectord.cf or director.toml). */
export const loadConfig: ConfigLoader = (path: string): Promise<LoadOutcome> => loadConfigFile(path);

/**
 * `directord -t FILE`: the config module's configtest (every problem as file:line:column, a
 * summary, exit 0 / 65 syntax / 66 missing / 78 semantic), plus the daemon's own check of the
 * schedules' cron expressions with node-cron, which the daemon would refuse at start or reload.
 */
export async function configTest(path: string, json: boolean): Promise<{ exitCode: number; output: string }> {
  const base = await runConfigTest(path, { json });
  if (base.exitCode !== EXIT.OK) return base;
  const loaded = await loadConfigFile(path);
  if (!loaded.ok) return base;
  const problems = validateSchedules(loaded.config);
  if (problems.length === 0) return base;
  if (json) {
    const doc = JSON.parse(base.output) as Record<string, unknown>;
    const out = { ...doc, ok: false, exitCode: EXIT.CONFIG_SEMANTIC, errors: problems.map((p) => p.toJSON()) };
    return { exitCode: EXIT.CONFIG_SEMANTIC, output: `${JSON.stringify(out, null, 2)}\n` };
  }
  const lines = problems.map((p) => p.format());
  lines.push(`${path}: ${problems.length} error${problems.length === 1 ? '' : 's'}; configuration NOT valid`);
  return { exitCode: EXIT.CONFIG_SEMANTIC, output: `${lines.join('\n')}\n` };
}
