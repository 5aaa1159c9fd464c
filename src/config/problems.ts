/**
 * Problems found in a config file: errors and lint warnings, both coded and located.
 *
 * Every reader collects problems into a ProblemSink instead of throwing, so one run reports every
 * mistake in a file (ldirectord stops at the first one; operators then fix errors one restart at a
 * time). Warnings use the same shape with severity "warning".
 */
import { ConfigError, ERROR_CODES, renderTemplate } from '../core/errors.js';
import type { ErrorCode, ErrorParams, SourceLocation } from '../core/errors.js';
import { EXIT } from '../core/exit-status.js';

export type ProblemSeverity = 'error' | 'warning';

/** A coded, located config problem. */
export class ConfigProblem extends ConfigError {
  readonly severity: ProblemSeverity;

  constructor(severity: ProblemSeverity, code: ErrorCode, location: SourceLocation, params: ErrorParams = {}, hint?: string) {
    // Hints in the registry may carry {placeholders} too; render them with the same params.
    super(code, location, params, { hint: hint ?? renderTemplate(ERROR_CODES[code].hint, params) });
    this.severity = severity;
  }

  override format(): string {
    const tag = this.severity === 'warning' ? 'warning: ' : '';
    return `${this.location.file}:${this.location.line}:${this.location.column}: ${tag}${this.code} ${this.message}\n  hint: ${this.hint}`;
  }

  override toJSON(): Record<string, unknown> {
    return { severity: this.severity, ...super.toJSON() };
  }
}

/** Collects problems in the order they are found. */
export class ProblemSink {
  readonly errors: ConfigProblem[] = [];
  readonly warnings: ConfigProblem[] = [];

  error(code: ErrorCode, location: SourceLocation, params: ErrorParams = {}, hint?: string): void {
    this.errors.push(new ConfigProblem('error', code, location, params, hint));
  }

  warn(code: ErrorCode, location: SourceLocation, params: ErrorParams = {}, hint?: string): void {
    this.warnings.push(new ConfigProblem('warning', code, location, params, hint));
  }

  get hasErrors(): boolean {
    return this.errors.length > 0;
  }

  /** Adds another sink's problems (used for included files). */
  absorb(other: ProblemSink): void {
    this.errors.push(...other.errors);
    this.warnings.push(...other.warnings);
  }
}

/** Orders problems by file, line, column so reports read top to bottom. */
export function sortProblems(list: readonly ConfigProblem[]): ConfigProblem[] {
  return [...list].sort(
    (a, b) =>
      (a.location.file < b.location.file ? -1 : a.location.file > b.location.file ? 1 : 0) ||
      a.location.line - b.location.line ||
      a.location.column - b.location.column,
  );
}

/**
 * The exit status a set of errors ends a command with: a missing file beats syntax, syntax beats
 * meaning (a file that cannot be read as the format may hide further semantic errors).
 */
export function exitStatusFor(errors: readonly ConfigProblem[]): number {
  if (errors.length === 0) return EXIT.OK;
  if (errors.some((e) => e.exitStatus === EXIT.NO_INPUT)) return EXIT.NO_INPUT;
  if (errors.some((e) => e.exitStatus === EXIT.CONFIG_SYNTAX)) return EXIT.CONFIG_SYNTAX;
  return EXIT.CONFIG_SEMANTIC;
}

/** Levenshtein distance, for did-you-mean hints. */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = prev[j] as number;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      prev[j] = Math.min(above + 1, (prev[j - 1] as number) + 1, diag + cost);
      diag = above;
    }
  }
  return prev[b.length] as number;
}

/** The closest candidate within a distance proportional to the word's length, if any. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = c === lower ? 0.5 : editDistance(lower, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = Math.max(1, Math.floor(word.length / 3));
  return best !== undefined && bestDistance <= limit ? best : undefined;
}
