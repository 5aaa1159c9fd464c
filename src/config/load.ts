/**
 * Loading a config file: format from the extension (.toml = native TOML, anything else =
 * ldirectord.cf), read, validate, freeze. Every problem in the file is reported, errors and lint
 * warnings alike; a missing file is a coded error whose exit status is EXIT.NO_INPUT.
 */
import { readFile } from 'node:fs/promises';
import type { SourceLocation } from '../core/errors.js';
import { readLdirectordConfig } from './ldirectord.js';
import type { ClusterConfig } from './model.js';
import { ConfigProblem, ProblemSink, sortProblems } from './problems.js';
import type { HostResolver } from './resolve.js';
import { systemResolver } from './resolve.js';
import { readTomlConfig } from './toml.js';
import { deepFreeze, validateConfig } from './validate.js';

export { ConfigProblem } from './problems.js';
export type { ProblemSeverity } from './problems.js';

export type ConfigLoadResult =
  | { readonly ok: true; readonly config: ClusterConfig; readonly warnings: readonly ConfigProblem[] }
  | { readonly ok: false; readonly errors: readonly ConfigProblem[]; readonly warnings: readonly ConfigProblem[] };

export interface ConfigLoadOptions {
  /** Resolves host names (default: dns.lookup with the family). Tests inject a table. */
  readonly resolveHost?: HostResolver;
  /** $HOSTNAME for ldirectord's ftp/sip login defaults. Default: os.hostname(). */
  readonly hostname?: string;
  /** Check log/monitor/maintenance paths on disk (never creates anything). Default true. */
  readonly checkPaths?: boolean;
}

export type ConfigFormat = 'ldirectord' | 'toml';

/** The format a path implies. */
export function formatForPath(path: string): ConfigFormat {
  return path.toLowerCase().endsWith('.toml') ? 'toml' : 'ldirectord';
}

/** Reads, parses and validates a config file. */
export async function loadConfigFile(path: string, options: ConfigLoadOptions = {}): Promise<ConfigLoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const loc: SourceLocation = { file: path, line: 1, column: 1 };
    const problem =
      err.code === 'ENOENT' || err.code === 'ENOTDIR'
        ? new ConfigProblem('error', 'DIR_ERR_CONFIG_FILE_NOT_FOUND', loc, { file: path })
        : new ConfigProblem('error', 'DIR_ERR_CONFIG_FILE_UNREADABLE', loc, { file: path, reason: err.code ?? err.message });
    return { ok: false, errors: [problem], warnings: [] };
  }
  return parseConfigText(text, path, formatForPath(path), options);
}

/** Parses and validates config text already in memory; fileName is used in locations and for includes. */
export async function parseConfigText(
  text: string,
  fileName: string,
  format: ConfigFormat,
  options: ConfigLoadOptions = {},
): Promise<ConfigLoadResult> {
  const sink = new ProblemSink();
  const readerOptions = {
    resolveHost: options.resolveHost ?? systemResolver,
    checkPaths: options.checkPaths ?? true,
    configPath: fileName,
    ...(options.hostname !== undefined ? { hostname: options.hostname } : {}),
  };
  let config: ClusterConfig | undefined;
  try {
    config =
      format === 'toml'
        ? await readTomlConfig(text, fileName, sink, readerOptions)
        : await readLdirectordConfig(text, fileName, sink, readerOptions);
    if (config) validateConfig(config, sink, { file: fileName, line: 1, column: 1 });
  } catch (e) {
    // A bug must still come out as a coded problem, never as an exception the caller has to guess at.
    sink.error('DIR_ERR_CONFIG_INTERNAL', { file: fileName, line: 1, column: 1 }, { reason: (e as Error)?.stack ?? String(e) });
  }
  const warnings = sortProblems(sink.warnings);
  if (sink.hasErrors || !config) return { ok: false, errors: sortProblems(sink.errors), warnings };
  return { ok: true, config: deepFreeze(config), warnings };
}
