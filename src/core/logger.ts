/**
 * The logging interface every module receives. Only src/daemon knows winston; tests pass a
 * MemoryLogger and assert on what was logged.
 */

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** Structured context attached to a log line (never secrets: passwords, secrets, keys). */
export type LogFields = Readonly<Record<string, unknown>>;

/** A leveled, structured logger. */
export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** A logger that adds these fields to every line (e.g. { module: 'vrrp', instance: 'VI_1' }). */
  child(fields: LogFields): Logger;
}

/** One captured log line. */
export interface LogRecord {
  readonly level: LogLevel;
  readonly message: string;
  readonly fields: LogFields;
}

/** A logger that keeps lines in memory, for tests. */
export class MemoryLogger implements Logger {
  constructor(
    readonly records: LogRecord[] = [],
    private readonly base: LogFields = {},
  ) {}

  error(message: string, fields: LogFields = {}): void {
    this.records.push({ level: 'error', message, fields: { ...this.base, ...fields } });
  }

  warn(message: string, fields: LogFields = {}): void {
    this.records.push({ level: 'warn', message, fields: { ...this.base, ...fields } });
  }

  info(message: string, fields: LogFields = {}): void {
    this.records.push({ level: 'info', message, fields: { ...this.base, ...fields } });
  }

  debug(message: string, fields: LogFields = {}): void {
    this.records.push({ level: 'debug', message, fields: { ...this.base, ...fields } });
  }

  child(fields: LogFields): Logger {
    return new MemoryLogger(this.records, { ...this.base, ...fields });
  }
}

/** A logger that discards everything. */
export const nullLogger: Logger = {
  error() {},
  warn() {},
  info() {},
  debug() {},
  child() {
    return nullLogger;
  },
};
