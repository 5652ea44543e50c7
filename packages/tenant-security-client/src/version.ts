/** Sent as `x-icl-tsc-version` so the proxy's metrics can tell this client from IronCore's. Kept equal to package.json by a test. */
export const CLIENT_VERSION = 'opencmk-0.1.0';
