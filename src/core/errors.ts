/**
 * The single registry of `DIR_ERR_*` error codes and the error classes that carry them.
 *
 * Every error directord reports to an operator has a stable code (scripts match on it), a message
 * rendered from a template, a hint saying what to do, and the exit status a command ends with.
 * Modules own their codes in src/core/error-codes/<module>.ts; this file merges them.
 */
import { CLI_CODES } from './error-codes/cli.js';
import { CONFIG_CODES } from './error-codes/config.js';
import { CONTROL_CODES } from './error-codes/control.js';
import { CORE_CODES } from './error-codes/core.js';
import { DAEMON_CODES } from './error-codes/daemon.js';
import { DIRECTOR_CODES } from './error-codes/director.js';
import { ENGINE_CODES } from './error-codes/engine.js';
import { EXEC_CODES } from './error-codes/exec.js';
import { HEALTH_CODES } from './error-codes/health.js';
import type { ErrorCodeSpec } from './error-codes/spec.js';
import { SYS_CODES } from './error-codes/sys.js';
import { VRRP_CODES } from './error-codes/vrrp.js';

export type { ErrorCodeSpec } from './error-codes/spec.js';

/** Each module's code table, by module name; used by the uniqueness test and the docs generator. */
export const ERROR_CODE_TABLES: Readonly<Record<string, Readonly<Record<string, ErrorCodeSpec>>>> = Object.freeze({
  core: CORE_CODES,
  sys: SYS_CODES,
  exec: EXEC_CODES,
  config: CONFIG_CODES,
  health: HEALTH_CODES,
  vrrp: VRRP_CODES,
  engine: ENGINE_CODES,
  director: DIRECTOR_CODES,
  control: CONTROL_CODES,
  cli: CLI_CODES,
  daemon: DAEMON_CODES,
});

/** The merged registry. */
export const ERROR_CODES = Object.freeze({
  ...CORE_CODES,
  ...SYS_CODES,
  ...EXEC_CODES,
  ...CONFIG_CODES,
  ...HEALTH_CODES,
  ...VRRP_CODES,
  ...ENGINE_CODES,
  ...DIRECTOR_CODES,
  ...CONTROL_CODES,
  ...CLI_CODES,
  ...DAEMON_CODES,
});

/** A registered error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Values substituted into a message template. */
export type ErrorParams = Readonly<Record<string, string | number | boolean | bigint | undefined>>;

/** Renders a template: `{name}` becomes params.name; unknown names are left visible. */
export function renderTemplate(template: string, params: ErrorParams): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    return value === undefined ? whole : String(value);
  });
}

/** Is this string a registered code? */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/** Options common to every DirectorError. */
export interface DirectorErrorOptions {
  readonly cause?: unknown;
  /** Overrides the registry hint when the situation allows a more precise one (e.g. did-you-mean). */
  readonly hint?: string;
}

/**
 * The base class of every error directord raises on purpose.
 *
 * `code` is stable across releases; `message` is for humans and may be reworded.
 */
export class DirectorError extends Error {
  readonly code: ErrorCode;
  readonly params: ErrorParams;
  readonly hint: string;
  readonly exitStatus: number;

  constructor(code: ErrorCode, params: ErrorParams = {}, options: DirectorErrorOptions = {}) {
    const spec: ErrorCodeSpec = ERROR_CODES[code];
    super(renderTemplate(spec.message, params), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.params = params;
    this.hint = options.hint ?? spec.hint;
    this.exitStatus = spec.exitStatus;
  }

  /** A plain object for `--json` output and the control protocol. */
  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint };
  }
}

/** Where in a file something was found: 1-based line and column, as editors count them. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** Formats a location the way compilers do, so editors can jump to it: `file:line:column`. */
export function formatLocation(loc: SourceLocation): string {
  return `${loc.file}:${loc.line}:${loc.column}`;
}

/** An error tied to a place in a config file. */
export class ConfigError extends DirectorError {
  readonly location: SourceLocation;

  constructor(code: ErrorCode, location: SourceLocation, params: ErrorParams = {}, options: DirectorErrorOptions = {}) {
    super(code, params, options);
    this.location = location;
  }

  /** `file:line:col: CODE message (hint: ...)`: one line per problem, like a compiler. */
  format(): string {
    return `${formatLocation(this.location)}: ${this.code} ${this.message}\n  hint: ${this.hint}`;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), file: this.location.file, line: this.location.line, column: this.location.column };
  }
}

/** Type guard usable on `unknown` catch values. */
export function isDirectorError(value: unknown): value is DirectorError {
  return value instanceof DirectorError;
}
