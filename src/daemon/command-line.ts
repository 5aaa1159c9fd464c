/**
 * The `directord` command line (./main.ts runs it; bin/directord.js imports main.ts).
 *
 *   directord [-d] [options] [--] [configfile] start|stop|restart|try-restart|reload|force-reload|status
 *   directord [options] -f|--foreground CONFIG      stay in the foreground (systemd Type=notify)
 *   directord -t|--configtest CONFIG [--json]      check a config and exit
 *   directord -h|--help | -v|--version
 *
 * The verbs keep ldirectord's meaning and exit codes (ldirectord-spec 1.1-1.4): usage → 255 on
 * stdout; config file not found → 1; configuration error → 2; status → 0 running, 1 stale pid
 * file ("dead with a pid file", LSB), 3 stopped; reload of a stopped instance → 1. Options come
 * before positionals (Getopt::Long require_order).
 *
 * Fixed ldirectord bugs (ldirectord-spec 1.3): a broken config never deletes a running
 * instance's pid file (status and stop still find the daemon; reload with a broken config exits
 * 2 without signalling, so the daemon keeps its config); stop waits until the daemon has exited
 * (ldirectord returned at once, so `restart` raced the old process), and stopping a stopped
 * instance is a clean exit 0.
 *
 * `start` daemonises by spawning `directord -f CONFIG --ready-fd 3` detached (setsid, cwd /,
 * stdio to /dev/null) and waits on the pipe until the child reports READY (after the engine,
 * director and control socket are up) or an error, so its exit code tells the truth;
 * ldirectord exited 0 at the first fork, before anything was programmed.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { systemClock } from '../core/clock.js';
import { DirectorError, isDirectorError } from '../core/errors.js';
import { runCommand } from '../sys/exec.js';
import { defaultPidFile } from '../config/defaults.js';
import { configName, parseArgs, resolveConfigPath, USAGE, UsageError, VERB_EXIT, type ParsedArgs, type Verb } from './args.js';
import { Daemon, formatProblem, toReloadProblem } from './daemon.js';
import { createDaemonLogger, isSyslogFacility } from './logger.js';
import { instanceState, removePidFile, removeStalePidFile, writePidFile } from './pidfile.js';
import { SdNotifier } from './sd-notify.js';
import { configTest, loadConfig } from './config-loader.js';

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

function err(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : text + '\n');
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Loads a config for a verb; prints every error (file:line:col) on failure. */
async function loadForVerb(
  path: string,
): Promise<{ ok: true; pidFile: string; drainMs: number; supervised: boolean; execute: readonly string[] } | { ok: false }> {
  const loaded = await loadConfig(path);
  if (!loaded.ok) {
    for (const e of loaded.errors) err(formatProblem(toReloadProblem(e)));
    return { ok: false };
  }
  return { ok: true, pidFile: loaded.config.daemon.pidFile, drainMs: loaded.config.daemon.drainDeadlineMs, supervised: loaded.config.daemon.supervised, execute: loaded.config.daemon.execute };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Sends SIGTERM and waits for the process to go away (bounded). */
async function stopInstance(pid: number, waitMs: number): Promise<boolean> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return true;
  }
  const until = Date.now() + waitMs;
  while (Date.now() < until) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await sleep(50);
  }
  return false;
}

/** argv that runs this program again (node, its loader flags, the script) with `args`. */
function selfCommand(args: readonly string[]): string[] {
  const script = process.argv[1] ?? new URL('./main.ts', import.meta.url).pathname;
  return [process.execPath, ...process.execArgv, script, ...args];
}

/**
 * argv for an execute= child: `directord <name> <action>`. A child gets its own control socket
 * and state file next to ours (named after the child, as directord@.service does), since two
 * instances must never share them and an ldirectord.cf cannot name them.
 */
function executeCommand(name: string, action: string, config: { controlSocket: string; stateFile: string }): string[] {
  const tag = basename(name);
  const paths = action === 'start' ? ['-s', join(dirname(config.controlSocket), `directord.${tag}.sock`), '--state-file', join(dirname(config.stateFile), `${tag}.state.json`)] : [];
  return selfCommand([...paths, name, action]);
}

/** Spawns the foreground daemon detached and waits for its READY/ERROR line. */
async function daemonise(args: ParsedArgs, configPath: string, pidFile: string): Promise<number> {
  const childArgs = selfCommand(['-f', configPath, '--ready-fd', '3', '-p', pidFile]).slice(1);
  const o = args.overrides;
  if (o.controlSocket !== undefined) childArgs.push('-s', o.controlSocket);
  if (o.stateFile !== undefined) childArgs.push('--state-file', o.stateFile);
  if (o.httpListen !== undefined) childArgs.push(`--http=${o.httpListen}`);
  if (o.drainDeadlineMs !== undefined) childArgs.push('--drain-deadline', String(o.drainDeadlineMs));
  if (args.logLevel !== undefined) childArgs.push('--log-level', args.logLevel);
  const child = spawn(process.execPath, childArgs, {
    detached: true,
    cwd: '/',
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    env: { ...process.env, DIRECTORD_DAEMONISED: '1' },
  });
  const pipe = child.stdio[3] as NodeJS.ReadableStream | null;
  const line = await new Promise<string>((resolveLine) => {
    let buf = '';
    const timer = setTimeout(() => resolveLine('ERROR timed out after 60 s waiting for the daemon to become ready'), 60_000);
    pipe?.setEncoding('utf8');
    pipe?.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolveLine(buf.slice(0, nl));
      }
    });
    pipe?.on('error', () => undefined);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      resolveLine(buf.includes('\n') ? buf.slice(0, buf.indexOf('\n')) : `ERROR daemon exited (${code ?? sig}) before it was ready`);
    });
  });
  (pipe as unknown as { destroy?: () => void } | null)?.destroy?.();
  child.unref();
  if (line.startsWith('READY')) return VERB_EXIT.OK;
  const message = line.replace(/^ERROR\s*/, '');
  const m = /^(\d+)\s+(.*)$/s.exec(message);
  err(`directord: ${m ? m[2] : message}`);
  return m ? Number(m[1]) : VERB_EXIT.FAILURE;
}

/** Runs one ldirectord verb. */
async function runVerb(args: ParsedArgs): Promise<number> {
  const verb = args.verb as Verb;
  let configPath: string;
  try {
    configPath = resolveConfigPath(args.config);
  } catch (e) {
    err((e as Error).message);
    return VERB_EXIT.FAILURE;
  }
  if (args.debug && verb === 'start') return runForeground({ ...args, mode: 'foreground', config: configPath }, configPath);

  const loaded = await loadForVerb(configPath);
  const fallbackPid = args.pidFile ?? defaultPidFile(args.config ?? configPath);
  const pidFile = args.pidFile ?? (loaded.ok ? loaded.pidFile : fallbackPid);
  const drainMs = args.overrides.drainDeadlineMs ?? (loaded.ok ? loaded.drainMs : 300_000);
  const needsConfig = verb === 'start' || verb === 'restart' || verb === 'try-restart' || verb === 'reload' || verb === 'force-reload';
  if (!loaded.ok) {
    if (needsConfig) {
      err(`directord: configuration ${configPath} has errors; nothing was changed`);
      return VERB_EXIT.CONFIG_ERROR;
    }
    err(`directord: warning: configuration ${configPath} has errors (the running instance is not affected)`);
  }
  // ldirectord supervised=yes: `start` stays in the foreground (a supervisor runs us) and writes
  // no pid file (ldirectord-spec 1.4).
  if (verb === 'start' && loaded.ok && loaded.supervised) return runForeground({ ...args, mode: 'foreground', config: args.config }, configPath, { pidFile: false });
  const state = instanceState(pidFile);
  const stopWait = drainMs + 30_000;
  const doStart = async (): Promise<number> => {
    const now = instanceState(pidFile);
    if (now.state === 'running') {
      err(`directord for ${configPath} is already running with pid: ${now.pid}`);
      return VERB_EXIT.OK;
    }
    if (now.state === 'stale') removeStalePidFile(pidFile);
    return daemonise(args, configPath, pidFile);
  };
  const doStop = async (): Promise<number> => {
    const now = instanceState(pidFile);
    if (now.state === 'stale') {
      removeStalePidFile(pidFile);
      return VERB_EXIT.OK;
    }
    if (now.state !== 'running') return VERB_EXIT.OK;
    if (await stopInstance(now.pid, stopWait)) return VERB_EXIT.OK;
    err(new DirectorError('DIR_ERR_DAEMON_STOP_TIMEOUT', { pid: now.pid, seconds: Math.round(stopWait / 1000) }).message);
    return VERB_EXIT.FAILURE;
  };
  switch (verb) {
    case 'start':
      return doStart();
    case 'stop':
      return doStop();
    case 'restart': {
      const s = await doStop();
      return s === VERB_EXIT.OK ? doStart() : s;
    }
    case 'try-restart': {
      if (state.state !== 'running') return VERB_EXIT.OK;
      const s = await doStop();
      return s === VERB_EXIT.OK ? doStart() : s;
    }
    case 'reload':
    case 'force-reload': {
      if (state.state !== 'running') {
        out(`directord is stopped for ${configPath}`);
        return VERB_EXIT.FAILURE;
      }
      process.kill(state.pid, 'SIGHUP');
      return VERB_EXIT.OK;
    }
    case 'status': {
      if (state.state === 'running') {
        err(`directord for ${configPath} is running with pid: ${state.pid}`);
        // ldirectord also reports every execute= child (its exit status does not change ours).
        for (const name of loaded.ok ? loaded.execute : []) {
          const r = await runCommand(selfCommand([name, 'status']), { timeoutMs: 60_000 });
          if (r.stdout) process.stdout.write(r.stdout);
          if (r.stderr) process.stderr.write(r.stderr);
        }
        return VERB_EXIT.OK;
      }
      if (state.state === 'stale') {
        err(`directord stale pid file ${pidFile} for ${configPath}`);
        out(`directord is stopped for ${configPath}`);
        return VERB_EXIT.FAILURE;
      }
      out(`directord is stopped for ${configPath}`);
      return VERB_EXIT.NOT_RUNNING;
    }
  }
}

/** Writes one line to the readiness pipe (if any) and closes it. */
function reportReady(fd: number | undefined, line: string): void {
  if (fd === undefined) return;
  try {
    const s = createWriteStream('', { fd, autoClose: true });
    s.on('error', () => undefined);
    s.end(line + '\n');
  } catch {
    // The parent went away; nothing to tell.
  }
}

/** `-f CONFIG` (and `-d start`): the daemon itself. Resolves the exit status. */
async function runForeground(args: ParsedArgs, configPath: string, opts: { pidFile?: boolean } = {}): Promise<number> {
  process.title = 'directord';
  const name = configName(args.config);
  const loaded = await loadConfig(configPath);
  if (!loaded.ok) {
    const problems = loaded.errors.map(toReloadProblem);
    for (const p of problems) err(formatProblem(p));
    reportReady(args.readyFd, `ERROR ${VERB_EXIT.CONFIG_ERROR} configuration ${configPath} has ${problems.length} error(s); first: ${problems[0] ? formatProblem(problems[0]) : '?'}`);
    return VERB_EXIT.CONFIG_ERROR;
  }
  const config = loaded.config;
  let target = config.daemon.log;
  // Daemonised with stdio on /dev/null, stdout logging would vanish: use syslog (facility
  // daemon) when there is one, else ldirectord's habit of a log file under /var/log.
  if (target.kind === 'stdout' && args.readyFd !== undefined) {
    target = existsSync('/dev/log') ? { kind: 'syslog', facility: 'daemon' } : { kind: 'file', path: `/var/log/directord/${name}.log` };
    if (target.kind === 'file') {
      try {
        mkdirSync(dirname(target.path), { recursive: true, mode: 0o750 });
      } catch {
        target = { kind: 'stdout' };
      }
    }
  }
  if (args.debug) target = { kind: 'stdout' };
  const logger = createDaemonLogger({
    target: target.kind === 'syslog' && !isSyslogFacility(target.facility) ? { kind: 'stdout' } : target,
    level: args.debug ? 'debug' : (args.logLevel ?? config.daemon.logLevel),
    configName: name,
    stdout: args.debug ? process.stderr : process.stdout,
  });
  const wantedPidFile = args.debug || opts.pidFile === false ? undefined : (args.pidFile ?? config.daemon.pidFile);
  const notifier = new SdNotifier({ clock: systemClock, logger });
  logger.info(`Starting directord ${version()} with pid: ${process.pid}`, { config: configPath, log: logger.description });

  let pidFile = wantedPidFile;
  if (pidFile !== undefined) {
    try {
      writePidFile(pidFile);
    } catch (e) {
      const alreadyRunning = instanceState(pidFile).state === 'running';
      if (args.readyFd === undefined && !alreadyRunning) {
        // In the foreground (systemd, a terminal) the pid file is a convenience for the
        // ldirectord verbs; an unwritable /run/directord must not stop a non-root user.
        logger.warn(`${(e as Error).message}; running without a pid file (the status/stop/reload verbs will not find this instance)`);
        pidFile = undefined;
      } else {
        logger.error((e as Error).message);
        reportReady(args.readyFd, `ERROR ${VERB_EXIT.FAILURE} ${(e as Error).message}`);
        await logger.close();
        return VERB_EXIT.FAILURE;
      }
    }
  }
  const daemon = new Daemon({
    configPath,
    clock: systemClock,
    logger,
    loadConfig,
    // The engine, checkers and VRRP code load only here, not for the quick verbs.
    components: (await import('./wiring.js')).createComponents(),
    runCommand,
    notifier,
    overrides: args.overrides,
    initialConfig: config,
    executeCommand: (name, action) =>
      executeCommand(name, action, {
        controlSocket: args.overrides.controlSocket ?? config.daemon.controlSocket,
        stateFile: args.overrides.stateFile ?? config.daemon.stateFile,
      }),
    setLogLevel: args.debug || args.logLevel ? undefined : (level) => logger.setLevel(level),
  });

  let stopping = false;
  const finished = new Promise<void>((resolveFinished) => {
    const onTerm = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn(`second ${signal} while stopping: exiting now without draining`);
        daemon.destroy();
        if (pidFile !== undefined) removePidFile(pidFile);
        process.exit(VERB_EXIT.FAILURE);
      }
      stopping = true;
      void daemon.close(signal).finally(resolveFinished);
    };
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onTerm);
    process.on('SIGQUIT', onTerm);
    process.on('SIGHUP', () => void daemon.reload('signal SIGHUP'));
    process.on('SIGUSR1', () => logger.reopen());
    process.on('SIGPIPE', () => undefined);
  });
  // A bug must not kill the daemon silently (daemonised, stderr is /dev/null): log it, give the
  // pid file back, and exit 70 (EX_SOFTWARE) so systemd's Restart=on-failure brings us back.
  const crash = (what: string, error: unknown): void => {
    logger.error(`${what}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    if (pidFile !== undefined) removePidFile(pidFile);
    daemon.destroy();
    setTimeout(() => process.exit(70), 100).unref();
  };
  process.on('uncaughtException', (error) => crash('internal error (uncaught exception)', error));
  process.on('unhandledRejection', (error) => crash('internal error (unhandled rejection)', error));

  try {
    await daemon.start();
  } catch (e) {
    const code = isDirectorError(e) && e.code === 'DIR_ERR_DAEMON_CONFIG_INVALID' ? VERB_EXIT.CONFIG_ERROR : VERB_EXIT.FAILURE;
    logger.error(`directord failed to start: ${(e as Error).message}`, { code: (e as { code?: string }).code });
    reportReady(args.readyFd, `ERROR ${code} ${(e as Error).message}`);
    if (pidFile !== undefined) removePidFile(pidFile);
    await notifier.status(`failed: ${(e as Error).message}`);
    await notifier.close();
    await logger.close();
    return code;
  }
  reportReady(args.readyFd, `READY ${process.pid}`);
  await finished;
  if (pidFile !== undefined) removePidFile(pidFile);
  await notifier.close();
  await logger.close();
  return VERB_EXIT.OK;
}

/** The entry point: returns the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      out(`directord: ${e.message}\n\n${USAGE}`);
      return VERB_EXIT.USAGE;
    }
    throw e;
  }
  switch (args.mode) {
    case 'help':
      out(USAGE);
      return VERB_EXIT.OK;
    case 'version':
      out(`directord ${version()}`);
      return VERB_EXIT.OK;
    case 'configtest': {
      let path: string;
      try {
        path = resolveConfigPath(args.config);
      } catch (e) {
        err((e as Error).message);
        return VERB_EXIT.FAILURE;
      }
      const r = await configTest(path, args.json);
      if (r.output) (r.exitCode === 0 ? out : err)(r.output);
      return r.exitCode;
    }
    case 'foreground': {
      let path: string;
      try {
        path = resolveConfigPath(args.config);
      } catch (e) {
        err((e as Error).message);
        reportReady(args.readyFd, `ERROR ${VERB_EXIT.FAILURE} ${(e as Error).message}`);
        return VERB_EXIT.FAILURE;
      }
      return runForeground(args, path);
    }
    case 'verb':
      return runVerb(args);
  }
}
