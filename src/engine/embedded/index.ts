export { EmbeddedEngine, createEmbeddedEngine, type EmbeddedEngineOptions } from './engine.js';
export { defaultListenFactory, type ListenFactory, type ListenRequest } from './listen.js';
export { proxyV1Header, proxyV2Header, PROXY_V2_SIGNATURE } from './proxy-protocol.js';
