/**
 * The real parts behind the Daemon: the forwarding engine, the health monitor, the Director, the
 * VRRP controller, the control socket and the HTTP status server (the config loader is in
 * ./config-loader.ts). This is the one place that knows which module implements each interface.
 * Only `embedded` is wired as an engine: the nftables and IPVS engines are not in this build.
 */
import { readFileSync } from 'node:fs';
import { DirectorError } from '../core/errors.js';
import type { ClusterConfig } from '../config/model.js';
import type { ControlApi } from '../control/api.js';
import { createControlServer } from '../control/server.js';
import { createStatusHttpServer } from '../control/http.js';
import { Director } from '../director/director.js';
import { createHealthMonitor } from '../health/monitor.js';
import { createEmbeddedEngine } from '../engine/embedded/index.js';
import { createVrrpController } from '../vrrp/controller.js';
import { DaemonControlApi } from './control-api.js';
import type { ForwardingEngine } from '../engine/model.js';
import type { VrrpController } from '../vrrp/types.js';
import type { Closable, ComponentContext, DaemonComponents, DirectorHandle } from './daemon.js';

export { configTest, loadConfig } from './config-loader.js';

/** The production component set. */
export function createComponents(): DaemonComponents {
  return {
    createEngine(config: ClusterConfig, ctx: ComponentContext): ForwardingEngine {
      if (config.daemon.engine !== 'embedded') {
        throw new DirectorError('DIR_ERR_DAEMON_UNAVAILABLE', { reason: `engine ${config.daemon.engine} is not available in this build (use engine = "embedded")` });
      }
      return createEmbeddedEngine({ clock: ctx.clock, logger: ctx.logger.child({ module: 'engine' }), relayThreads: config.daemon.engineThreads ?? 1 });
    },
    createHealth(_config, ctx) {
      return createHealthMonitor({ clock: ctx.clock, logger: ctx.logger.child({ module: 'health' }) });
    },
    createVrrp(config: ClusterConfig, ctx: ComponentContext): VrrpController | undefined {
      if (config.vrrp.instances.length === 0) return undefined;
      return createVrrpController({ settings: config.vrrp, clock: ctx.clock, logger: ctx.logger });
    },
    createDirector(deps, ctx): DirectorHandle {
      return new Director({
        config: deps.config,
        engine: deps.engine,
        health: deps.health,
        ...(deps.vrrp ? { vrrp: deps.vrrp } : {}),
        clock: ctx.clock,
        logger: ctx.logger.child({ module: 'director' }),
        runCommand: ctx.runCommand,
        stateFile: deps.config.daemon.stateFile,
        // The daemon sequences start and stop itself (engine drain deadline, VRRP first).
        manageLifecycle: false,
      });
    },
    createControlApi(daemon, director, ctx): ControlApi {
      return new DaemonControlApi({ director: director as Director, daemon, clock: ctx.clock, version: packageVersion() });
    },
    async startControlServer(opts, ctx): Promise<Closable> {
      const server = createControlServer({
        socketPath: opts.socketPath,
        api: opts.api,
        logger: ctx.logger.child({ module: 'control' }),
        audit: opts.audit,
        serverName: 'directord',
        wallNow: () => ctx.clock.wallNow(),
      });
      await server.start();
      return server;
    },
    async startHttpServer(opts, ctx): Promise<Closable> {
      const server = createStatusHttpServer({
        listen: { host: opts.listen.address.text, port: opts.listen.port },
        api: opts.api,
        logger: ctx.logger.child({ module: 'http' }),
        clock: ctx.clock,
      });
      await server.start();
      return server;
    },
  };
}

/** directord's package version. */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
