/**
 * Entry point of one embedded-engine worker process (node:cluster, SCHED_NONE): runs a
 * single-process EmbeddedEngine and answers the primary over IPC (see workers.ts).
 */
import cluster from 'node:cluster';
import { isDirectorError } from '../../core/errors.js';
import type { LogFields, Logger } from '../../core/logger.js';
import { EmbeddedEngine } from './engine.js';
import type { PrimaryMessage, WorkerMessage } from './workers.js';

/** Snapshot period: what the primary's synchronous stats()/connections() can lag by. */
export const SNAPSHOT_INTERVAL_MS = 500;
/** Connection entries shipped per snapshot at most. */
export const SNAPSHOT_MAX_CONNECTIONS = 20_000;

function send(msg: WorkerMessage): void {
  process.send?.(msg);
}

function ipcLogger(fields: LogFields = {}): Logger {
  const at =
    (level: 'error' | 'warn' | 'info' | 'debug') =>
    (message: string, f: LogFields = {}): void => {
      if (level !== 'debug') send({ t: 'log', level, message, fields: { ...fields, ...f, worker: cluster.worker?.id } });
    };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), child: (f) => ipcLogger({ ...fields, ...f }) };
}

if (cluster.isWorker) {
  // Node sockets: cluster shares a listening net.Server handle between workers, not a native fd.
  const engine = new EmbeddedEngine({ logger: ipcLogger(), dataPath: 'node' });
  const snapshot = (): void => {
    const connections = engine.connections();
    send({ t: 'snapshot', stats: engine.stats(), connections: connections.length > SNAPSHOT_MAX_CONNECTIONS ? connections.slice(0, SNAPSHOT_MAX_CONNECTIONS) : connections });
  };
  const timer = setInterval(snapshot, SNAPSHOT_INTERVAL_MS);
  timer.unref();
  process.on('message', (raw: PrimaryMessage) => {
    void (async () => {
      switch (raw.t) {
        case 'apply': {
          try {
            const r = await engine.apply(raw.desired);
            send({
              t: 'result',
              id: raw.id,
              result: {
                added: r.added,
                updated: r.updated,
                removed: r.removed,
                failures: r.failures.map((f) => ({ key: f.key, message: f.error.message, ...(isDirectorError(f.error) ? { code: f.error.code, params: f.error.params } : {}) })),
              },
            });
          } catch (err) {
            send({ t: 'result', id: raw.id, error: (err as Error).message });
          }
          snapshot();
          break;
        }
        case 'close':
          await engine.close(raw.deadlineMs);
          snapshot();
          clearInterval(timer);
          send({ t: 'closed', id: raw.id });
          break;
        case 'destroy':
          engine.destroy();
          clearInterval(timer);
          process.exit(0);
      }
    })();
  });
  process.on('disconnect', () => {
    engine.destroy();
    process.exit(0);
  });
  send({ t: 'ready' });
}
