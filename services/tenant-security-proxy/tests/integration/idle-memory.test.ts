/**
 * IDLE_GC_SECONDS against the proxy as its own process: the heap a burst of KMS calls grew is given back within a
 * few idle windows, and never while requests keep coming.
 */
import { startEmulators, type Emulators } from '@opencmk/kms-emulator';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { demoAwsConfig } from '../support/demo-configs.js';
import { callProxy, spawnProxy, waitForReady, type ProxyProcess } from '../support/proxy-process.js';

let emulators: Emulators;
let broker: BrokerHandle;
let proxy: ProxyProcess;

beforeAll(async () => {
  emulators = await startEmulators({ seed: 'demo' });
  broker = await startBroker();
  broker.setTenant({
    tenantId: 'direct',
    kmsConfigs: [
      {
        id: 1,
        provider: 'aws',
        status: 'primary',
        leasingAllowed: false,
        payload: demoAwsConfig(emulators.demo!),
      },
    ],
  });
  proxy = await spawnProxy({ ...broker.proxyEnv, IDLE_GC_SECONDS: '1' });
  await waitForReady(proxy.healthUrl);
}, 30_000);

afterAll(async () => {
  await proxy?.stop();
  await broker?.close();
  await emulators?.close();
});

async function gauge(name: string): Promise<number> {
  const text = await (await fetch(`${proxy.healthUrl}/metrics`)).text();
  const match = new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text);
  if (!match) throw new Error(`${name} is not in /metrics`);
  return Number(match[1]);
}

test('a burst of non-leased wraps grows the heap; no collection while it lasts, the heap given back once it stops', async () => {
  const apiKey = broker.proxyEnv.API_KEY!;
  const body = { tenantId: 'direct', iclFields: { requestingId: 'idle-test' }, customFields: {} };
  // One collection when the first snapshot was loaded, before the proxy reported ready; none for later snapshots,
  // which arrive while requests are served.
  const version = await gauge('tsp_snapshot_version');
  broker.setTenant({
    tenantId: 'another',
    kmsConfigs: [
      { id: 2, provider: 'aws', status: 'primary', leasingAllowed: true, payload: demoAwsConfig(emulators.demo!) },
    ],
  });
  while ((await gauge('tsp_snapshot_version')) === version) await new Promise((resolve) => setTimeout(resolve, 50));
  const collectionsBefore = await gauge('tsp_idle_gc_total');
  expect(collectionsBefore).toBe(1);
  let wraps = 0;
  const end = Date.now() + 4000;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (Date.now() < end) {
        const { status } = await callProxy(proxy.url, 'document/wrap', body, apiKey);
        expect(status).toBe(200);
        wraps++;
      }
    }),
  );
  const heapAfterLoad = await gauge('tsp_nodejs_heap_size_total_bytes');
  expect(await gauge('tsp_idle_gc_total')).toBe(collectionsBefore);
  // Polled slowly, as Prometheus would: scraping every few ms would itself keep the event loop from looking idle, and
  // allocating for twice-a-second scrapes is already enough for V8 not to shrink the young generation.
  const deadline = Date.now() + 15_000;
  let heapSettled = heapAfterLoad;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    heapSettled = await gauge('tsp_nodejs_heap_size_total_bytes');
    if (heapSettled < heapAfterLoad - 16 * 1024 * 1024) break;
    if (Date.now() > deadline)
      throw new Error(`heap still ${heapSettled} bytes after ${wraps} wraps (${heapAfterLoad} then)`);
  }
  expect(await gauge('tsp_idle_gc_total')).toBeGreaterThan(collectionsBefore);
  expect(await gauge('tsp_idle_gc_seconds_total')).toBeGreaterThan(0);
  console.log(
    `idle GC: ${wraps} wraps; V8 heap ${(heapAfterLoad / 1048576).toFixed(0)} MiB after the burst, ${(heapSettled / 1048576).toFixed(0)} MiB idle`,
  );
}, 30_000);
