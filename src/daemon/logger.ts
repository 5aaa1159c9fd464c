/**
 * The daemon's logger factory: the only file that imports winston.
 *
 * Targets (ldirectord `logfile=`, ldirectord-spec 10.9):
 *  - stdout (default, and what systemd's journal reads). No colours. When JOURNAL_STREAM names
 *    our stdout (systemd connected it to journald) each line starts with a syslog `<N>` priority so
 *    journald records the level (sd-daemon(3) "SD_ERR" prefixes); otherwise a plain
 *    `<ISO time> <level> <message>` line.
 *  - file (`logfile="/var/log/directord.log"`): ldirectord's own line format
 *    `[<ctime>|<CFGNAME>|<pid>] <message>`, appended synchronously so no line is lost on exit.
 *    ldirectord reopened the file for every line; we keep it open and reopen on SIGUSR1 (the
 *    logrotate `postrotate` hook), which is cheaper and loses nothing.
 *  - syslog (`logfile="local0"`): RFC 3164 to /dev/log. Node cannot send on a unix DATAGRAM socket
 *    (dgram supports udp4/udp6 only), so one long-lived util-linux `logger --rfc3164 --prio-prefix`
 *    child reads our lines on its stdin and writes each one to the socket with the facility and
 *    priority we put in front of it. If /dev/log or `logger` is missing, lines go to stdout and a
 *    warning says so.
 *
 * Every line goes through a redaction step: fields named like passwords or secrets, and
 * `passwd=...`/`secret=...`/`auth_pass ...` text inside messages, are replaced by `***`
 * (ldirectord passwd=/secret=, keepalived auth_pass).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, writeSync } from 'node:fs';
import { Writable } from 'node:stream';
import winston from 'winston';
import type { LogFields, Logger, LogLevel } from '../core/logger.js';
import type { LogTarget } from '../config/model.js';

/** syslog(3) severities for our levels (RFC 5424 6.2.1). */
const SYSLOG_SEVERITY: Readonly<Record<LogLevel, number>> = { error: 3, warn: 4, info: 6, debug: 7 };

/** RFC 5424 facility codes for the names ldirectord's logfile= accepts. */
const SYSLOG_FACILITY: Readonly<Record<string, number>> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9,
  authpriv: 10, ftp: 11, local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21,
  local6: 22, local7: 23,
};

/** Is this a syslog facility name ldirectord's logfile= would accept? */
export function isSyslogFacility(name: string): boolean {
  return Object.hasOwn(SYSLOG_FACILITY, name.toLowerCase());
}

const SECRET_KEY = /pass(?:wd|word)?$|secret|auth_?pass|private_?key|token|credential/i;
const SECRET_TEXT = /\b(passwd|password|secret|auth_pass|authpass|token)(\s*[=:]\s*|\s+)("[^"]*"|'[^']*'|\S+)/gi;

/** Replaces secret values in free text: `passwd=hunter2` → `passwd=***`. */
export function redactText(text: string): string {
  return text.replace(SECRET_TEXT, (_whole, key: string, sep: string) => `${key}${sep}***`);
}

/** Deep-copies fields with secret-looking keys replaced by `***`. */
export function redactFields(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') {
    return typeof value === 'string' ? redactText(value) : value;
  }
  if (value instanceof Error) return redactText(value.message);
  if (Array.isArray(value)) return value.map((v) => redactFields(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) && v !== undefined && v !== '' ? '***' : redactFields(v, depth + 1);
  }
  return out;
}

/** `key=value key2="two words"` for the structured fields of a line. */
function formatFields(fields: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    let text = typeof v === 'string' ? v : v instanceof Error ? v.message : JSON.stringify(v);
    if (text === undefined) continue;
    if (text === '' || /[\s"=]/.test(text)) text = JSON.stringify(text);
    parts.push(`${k}=${text}`);
  }
  return parts.join(' ');
}

/** ctime(3) text as Perl's localtime prints it: `Sat Nov 21 11:11:25 2026`. */
export function ctime(ms: number): string {
  const d = new Date(ms);
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getDay()] as string;
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()] as string;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${day} ${mon} ${String(d.getDate()).padStart(2, ' ')} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${d.getFullYear()}`;
}

/** A synchronous line sink on a file descriptor, reopenable (logrotate). */
class FileSink extends Writable {
  private fd: number | undefined;

  constructor(readonly path: string) {
    super({ objectMode: true });
    this.fd = openSync(path, 'a', 0o640);
  }

  reopen(): void {
    const old = this.fd;
    this.fd = openSync(this.path, 'a', 0o640);
    if (old !== undefined) closeSync(old);
  }

  override _write(chunk: { line: string }, _enc: BufferEncoding, done: (err?: Error) => void): void {
    try {
      if (this.fd !== undefined) writeSync(this.fd, chunk.line + '\n');
      done();
    } catch (err) {
      // ldirectord: "If writing to the file fails, the message goes to stderr."
      process.stderr.write(chunk.line + '\n');
      done(err instanceof Error ? undefined : undefined);
    }
  }

  closeFile(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** A sink writing lines to a Node stream (stdout, or a test's capture). */
class StreamSink extends Writable {
  constructor(private readonly out: NodeJS.WritableStream) {
    super({ objectMode: true });
  }

  override _write(chunk: { line: string }, _enc: BufferEncoding, done: (err?: Error) => void): void {
    this.out.write(chunk.line + '\n');
    done();
  }
}

/** The util-linux `logger` child that relays our lines to the syslog unix datagram socket. */
class SyslogSink extends Writable {
  private child: ChildProcess | undefined;

  constructor(socketPath: string, tag: string) {
    super({ objectMode: true });
    this.child = spawn(
      'logger',
      ['--rfc3164', '--prio-prefix', '--socket-errors=off', '-t', tag, `--id=${process.pid}`, '-u', socketPath],
      { stdio: ['pipe', 'ignore', 'ignore'] },
    );
    this.child.on('error', (err) => {
      // `logger` (util-linux) missing or not runnable: say so once where someone may see it.
      this.child = undefined;
      process.stderr.write(`directord: syslog relay (logger) failed: ${err.message}; log lines are dropped\n`);
    });
    this.child.stdin?.on('error', () => {
      // EPIPE after the relay died; lines are then dropped (and the relay is restarted on reopen).
    });
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null;
  }

  override _write(chunk: { line: string }, _enc: BufferEncoding, done: (err?: Error) => void): void {
    this.child?.stdin?.write(chunk.line + '\n');
    done();
  }

  stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, 1000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.stdin?.end();
    });
  }
}

/** Options of createDaemonLogger. */
export interface DaemonLoggerOptions {
  readonly target: LogTarget;
  readonly level: LogLevel;
  /** ldirectord's CFGNAME (basename of the config as typed), shown in file lines. */
  readonly configName: string;
  /** Where stdout lines go (tests pass a capture stream). Default process.stdout. */
  readonly stdout?: NodeJS.WritableStream;
  /** Environment consulted for JOURNAL_STREAM. Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** The syslog socket (default /dev/log). */
  readonly syslogSocket?: string;
  /** syslog tag (default "directord"). */
  readonly tag?: string;
  /** Wall clock for file-line timestamps (tests). */
  readonly wallNow?: () => number;
}

/** A Logger with the daemon's extra controls. */
export interface DaemonLogger extends Logger {
  /** SIGUSR1: reopen the log file (logrotate) or restart the syslog relay. */
  reopen(): void;
  setLevel(level: LogLevel): void;
  /** What the logger actually writes to, in words (for the startup line). */
  readonly description: string;
  /** Flushes and releases the file or relay. */
  close(): Promise<void>;
}

interface LineInfo {
  level: LogLevel;
  message: string;
  fields: Record<string, unknown>;
}

/** Creates the daemon logger for a config's log target. */
export function createDaemonLogger(options: DaemonLoggerOptions): DaemonLogger {
  const env = options.env ?? process.env;
  const wallNow = options.wallNow ?? Date.now;
  const stdout = options.stdout ?? process.stdout;
  const tag = options.tag ?? 'directord';
  let description: string;
  let formatLine: (info: LineInfo) => string;
  let sink: Writable;
  let fileSink: FileSink | undefined;
  let syslogSink: SyslogSink | undefined;
  const warnings: string[] = [];

  const withFields = (info: LineInfo): string => {
    const f = formatFields(info.fields);
    return f ? `${info.message} ${f}` : info.message;
  };

  // systemd.exec(5): JOURNAL_STREAM is "device:inode" of the stream systemd connected; it counts
  // only if our stdout is still that stream (not redirected by a wrapper script).
  const toJournal = (): boolean => {
    const js = env.JOURNAL_STREAM;
    if (!js) return false;
    if (options.stdout !== undefined) return true;
    try {
      const st = fstatSync(1);
      return js === `${st.dev}:${st.ino}`;
    } catch {
      return false;
    }
  };
  const stdoutFormat = (): ((info: LineInfo) => string) => {
    if (toJournal()) {
      // sd-daemon(3): "<3>" etc. at the start of a line set the journal priority.
      return (info) => `<${SYSLOG_SEVERITY[info.level]}>${withFields(info)}`;
    }
    return (info) => `${new Date(wallNow()).toISOString()} ${info.level} ${withFields(info)}`;
  };

  switch (options.target.kind) {
    case 'file': {
      fileSink = new FileSink(options.target.path);
      sink = fileSink;
      const prefix = (): string => `[${ctime(wallNow())}|${options.configName}|${process.pid}]`;
      formatLine = (info) => {
        const lvl = info.level === 'error' ? 'ERROR: ' : info.level === 'warn' ? 'WARNING: ' : info.level === 'debug' ? 'DEBUG: ' : '';
        return `${prefix()} ${lvl}${withFields(info)}`;
      };
      description = `file ${options.target.path}`;
      break;
    }
    case 'syslog': {
      const socketPath = options.syslogSocket ?? '/dev/log';
      const facility = SYSLOG_FACILITY[options.target.facility.toLowerCase()];
      if (facility === undefined) {
        warnings.push(`unknown syslog facility "${options.target.facility}"; logging to stdout`);
      } else if (!existsSync(socketPath)) {
        warnings.push(`syslog socket ${socketPath} does not exist; logging to stdout`);
      } else {
        syslogSink = new SyslogSink(socketPath, tag);
        sink = syslogSink;
        formatLine = (info) => `<${facility * 8 + SYSLOG_SEVERITY[info.level]}>${withFields(info)}`;
        description = `syslog ${options.target.facility} via ${socketPath} (RFC 3164, util-linux logger relay)`;
        break;
      }
      sink = new StreamSink(stdout);
      formatLine = stdoutFormat();
      description = 'stdout';
      break;
    }
    default:
      sink = new StreamSink(stdout);
      formatLine = stdoutFormat();
      description = toJournal() ? 'stdout (journald priorities)' : 'stdout';
  }

  const redact = winston.format((info) => {
    info.message = redactText(String(info.message));
    const fields = (info as Record<string | symbol, unknown>)['fields'];
    (info as Record<string, unknown>)['fields'] = redactFields(fields ?? {});
    return info;
  });
  const render = winston.format((info) => {
    const line = formatLine({
      level: info.level as LogLevel,
      message: String(info.message),
      fields: ((info as Record<string, unknown>)['fields'] ?? {}) as Record<string, unknown>,
    });
    (info as Record<string, unknown>)['line'] = line;
    return info;
  });

  // The transport hands winston's info object (with our rendered `line`) to the sink.
  const transport = new winston.transports.Stream({ stream: sink });
  const logger = winston.createLogger({
    levels: { error: 0, warn: 1, info: 2, debug: 3 },
    level: options.level,
    format: winston.format.combine(redact(), render()),
    transports: [transport],
    exitOnError: false,
  });

  const make = (base: LogFields): Logger => {
    const emit = (level: LogLevel, message: string, fields?: LogFields): void => {
      logger.log({ level, message, fields: { ...base, ...fields } });
    };
    return {
      error: (m, f) => emit('error', m, f),
      warn: (m, f) => emit('warn', m, f),
      info: (m, f) => emit('info', m, f),
      debug: (m, f) => emit('debug', m, f),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  const root = make({});
  for (const w of warnings) root.warn(w);

  let closed = false;
  return {
    ...root,
    get description() {
      return description;
    },
    reopen() {
      if (fileSink) {
        try {
          fileSink.reopen();
          root.info(`reopened log file ${fileSink.path}`);
        } catch (err) {
          process.stderr.write(`directord: cannot reopen log file ${fileSink.path}: ${(err as Error).message}\n`);
        }
      } else if (syslogSink && !syslogSink.alive && options.target.kind === 'syslog') {
        // The relay died (e.g. journald restarted): start a new one.
        const next = new SyslogSink(options.syslogSocket ?? '/dev/log', tag);
        logger.remove(transport);
        syslogSink = next;
        logger.add(new winston.transports.Stream({ stream: next }));
      }
    },
    setLevel(level) {
      logger.level = level;
    },
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        logger.on('finish', () => resolve());
        logger.end();
        setTimeout(resolve, 200).unref();
      });
      fileSink?.closeFile();
      await syslogSink?.stop();
    },
  };
}
