export { startProxy, type RunningProxy, type StartProxyOptions } from './proxy.js';
export { loadConfig, parseEnvFile, defaultTuning, ConfigError, type ProxyConfig, type ProxyTuning } from './config.js';
export { decodeEdek, encodeKmsEdek } from './edek.js';
export type { TspErrorCode } from './errors.js';
