import { Writable } from 'node:stream';
import { startEmulators, type Emulators } from '@opencmk/kms-emulator';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startProxy, type RunningProxy } from '../../src/proxy.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { demoAwsConfig } from '../support/demo-configs.js';

/**
 * 10,000 tenants: the proxy is ready within 5 s of starting because sealed configs are opened on first use, and a
 * tenant deep in the list works at once. In-process (startProxy), so the time measured is the proxy's own.
 */
let emulators: Emulators;
let broker: BrokerHandle;
let proxy: RunningProxy | undefined;

beforeAll(async () => {
  emulators = await startEmulators({ seed: 'demo' });
  broker = await startBroker();
}, 30_000);

afterAll(async () => {
  await proxy?.stop();
  await broker?.close();
  await emulators?.close();
}, 30_000);

test('ready within 5 s with 10,000 tenants; lazily opened configs serve at once', async () => {
  const demo = emulators.demo!;
  broker.addBulkTenants(
    'bulk-',
    10_000,
    {
      provider: 'aws',
      status: 'primary',
      leasingAllowed: true,
      payload: demoAwsConfig(demo),
    },
    10,
  );
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  const started = performance.now();
  proxy = await startProxy(loadConfig(broker.proxyEnv), {
    logger: createLogger('warn', quiet),
    stdoutWrite: () => true,
  });
  await proxy.ready();
  const readyMs = performance.now() - started;
  expect(readyMs).toBeLessThan(5000);
  const health = (await (await fetch(`http://127.0.0.1:${proxy.healthPort}/health`)).json()) as { tenants: number };
  expect(health.tenants).toBe(10_000);
  const response = await fetch(`http://127.0.0.1:${proxy.port}/api/1/document/wrap`, {
    method: 'POST',
    headers: { authorization: `cmk ${broker.proxyEnv.API_KEY}` },
    body: JSON.stringify({ tenantId: 'bulk-7', iclFields: { requestingId: 'scale' } }),
  });
  expect(response.status).toBe(200);
  expect(((await response.json()) as { dek: string }).dek).toHaveLength(44);
});
