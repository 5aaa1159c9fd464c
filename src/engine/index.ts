/** The forwarding engine module: the contract (model.ts) and the embedded userspace engine. */
export type * from './model.js';
export { EmbeddedEngine, createEmbeddedEngine, defaultListenFactory, type EmbeddedEngineOptions, type ListenFactory, type ListenRequest } from './embedded/index.js';
export { createScheduler } from './schedulers/index.js';
