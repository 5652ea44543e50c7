import { spawnProxy, waitForReady, waitUntil, type ProxyProcess } from '../support/proxy-process.js';
import { startWorld, type World } from '../support/world.js';

/** Security events delivered to Splunk HEC, Google Cloud Logging and a signed webhook (the emulated sinks). */
let world: World;
let proxy: ProxyProcess;

beforeAll(async () => {
  world = await startWorld();
  const demo = world.emulators.demo!;
  const aws = world.configs['aws-leased']!;
  world.broker.setTenant({
    tenantId: 'ev-splunk',
    kmsConfigs: [{ ...aws, id: 801 }],
    loggingConfig: {
      id: 1,
      provider: 'splunk',
      payload: { provider: 'splunk', url: demo.splunk.url, token: demo.splunk.token, index: demo.splunk.index },
    },
  });
  world.broker.setTenant({
    tenantId: 'ev-gcp',
    kmsConfigs: [{ ...aws, id: 802 }],
    loggingConfig: { id: 2, provider: 'gcp-logging', payload: { provider: 'gcp-logging', ...demo.gcp.logging } },
  });
  world.broker.setTenant({
    tenantId: 'ev-webhook',
    kmsConfigs: [{ ...aws, id: 803 }],
    loggingConfig: {
      id: 3,
      provider: 'webhook',
      payload: { provider: 'webhook', url: demo.webhook.url, hmacSecret: demo.webhook.secret },
    },
  });
  proxy = await spawnProxy({
    ...world.proxyEnv,
    EVENT_BATCH_MAX_AGE_MS: '100',
    EVENT_MAX_ATTEMPTS: '3',
    EVENT_RETRY_BASE_MS: '20',
    EVENT_BATCH_SIZE: '50',
  });
  await waitForReady(proxy.healthUrl);
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await world?.close();
}, 30_000);

afterEach(() => {
  world.emulators.resetFaults();
  world.emulators.sinks.clearEvents();
});

async function wrap(tenantId: string, requestingId = 'svc-events'): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${proxy.url}/api/1/document/wrap`, {
    method: 'POST',
    headers: { authorization: `cmk ${world.proxyEnv.API_KEY}` },
    body: JSON.stringify({ tenantId, iclFields: { requestingId, dataLabel: 'PII' }, customFields: { team: 'a' } }),
  });
  expect(response.status).toBe(200);
  await response.text();
  return performance.now() - started;
}
const metric = async (pattern: RegExp) => {
  const text = await (await fetch(`${proxy.healthUrl}/metrics`)).text();
  return Number(pattern.exec(text)?.[1] ?? 0);
};

test('Splunk HEC gets one event per wrap, in batches, with the caller metadata', async () => {
  await Promise.all(Array.from({ length: 120 }, () => wrap('ev-splunk')));
  const events = await world.emulators.sinks.waitForEvents('splunk', 120);
  expect(events).toHaveLength(120);
  expect(events[0]).toMatchObject({
    index: 'opencmk',
    event: {
      tenantId: 'ev-splunk',
      event: 'KMS_WRAP',
      iclFields: { requestingId: 'svc-events', dataLabel: 'PII' },
      customFields: { team: 'a' },
      kmsConfigId: 801,
      leased: true,
    },
  });
  // 120 events with batches of at most 50: at least three deliveries.
  expect(world.emulators.sinks.log.count({ operation: 'splunk' })).toBeGreaterThanOrEqual(3);
});

test('a batch-wrap emits one event per distinct document id, each with its objectId', async () => {
  const ids = ['doc-1', 'doc "2"', 'doc-1', '__proto__'];
  const response = await fetch(`${proxy.url}/api/1/document/batch-wrap`, {
    method: 'POST',
    headers: { authorization: `cmk ${world.proxyEnv.API_KEY}` },
    body: JSON.stringify({ tenantId: 'ev-splunk', iclFields: { requestingId: 'svc-batch' }, documentIds: ids }),
  });
  expect(response.status).toBe(200);
  const answer = (await response.json()) as { keys: Record<string, unknown>; failures: Record<string, unknown> };
  expect(Object.keys(answer.keys).sort()).toEqual(['__proto__', 'doc "2"', 'doc-1']);
  const events = await world.emulators.sinks.waitForEvents('splunk', 3);
  expect(events.map((e) => (e.event as { objectId: string }).objectId).sort()).toEqual([
    '__proto__',
    'doc "2"',
    'doc-1',
  ]);
  for (const e of events) {
    expect(e.event).toMatchObject({
      tenantId: 'ev-splunk',
      event: 'KMS_BATCH_WRAP',
      iclFields: { requestingId: 'svc-batch' },
      kmsConfigId: 801,
      leased: true,
      outcome: 'success',
    });
  }
});

test('a batch-unwrap emits one event per EDEK: successes and a tampered one with its code', async () => {
  const post = async (route: string, body: unknown) => {
    const response = await fetch(`${proxy.url}/api/1/document/${route}`, {
      method: 'POST',
      headers: { authorization: `cmk ${world.proxyEnv.API_KEY}` },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as {
      keys: Record<string, { dek: string; edek: string }>;
      failures: Record<string, { code: number }>;
    };
  };
  const iclFields = { requestingId: 'svc-batch-unwrap' };
  const wrapped = await post('batch-wrap', { tenantId: 'ev-splunk', iclFields, documentIds: ['a', 'b', 'c'] });
  await world.emulators.sinks.waitForEvents('splunk', 3);
  world.emulators.sinks.clearEvents();
  const tampered = Buffer.from(wrapped.keys.c!.edek, 'base64');
  tampered[8]! ^= 1; // inside the leased DEK ciphertext
  const unwrapped = await post('batch-unwrap', {
    tenantId: 'ev-splunk',
    iclFields,
    edeks: { a: wrapped.keys.a!.edek, b: wrapped.keys.b!.edek, c: tampered.toString('base64') },
  });
  expect(unwrapped.keys.a!.dek).toBe(wrapped.keys.a!.dek);
  expect(unwrapped.keys.b!.dek).toBe(wrapped.keys.b!.dek);
  expect(unwrapped.failures.c!.code).toBe(203);
  const events = (await world.emulators.sinks.waitForEvents('splunk', 3)).map(
    (e) => e.event as { objectId: string; event: string; outcome: unknown; kmsConfigId: number },
  );
  expect(events.every((e) => e.event === 'KMS_BATCH_UNWRAP' && e.kmsConfigId === 801)).toBe(true);
  expect(Object.fromEntries(events.map((e) => [e.objectId, e.outcome]))).toEqual({
    a: 'success',
    b: 'success',
    c: { code: 203 },
  });
});

test('Google Cloud Logging and the HMAC-signed webhook receive the events', async () => {
  await wrap('ev-gcp');
  await wrap('ev-webhook');
  const [entry] = await world.emulators.sinks.waitForEvents('gcp-logging', 1);
  expect(entry).toMatchObject({
    logName: expect.stringMatching(/^projects\/.+\/logs\//),
    jsonPayload: { tenantId: 'ev-gcp', event: 'KMS_WRAP' },
  });
  const [delivery] = await world.emulators.sinks.waitForEvents('webhook', 1);
  expect(delivery!.body).toMatchObject({
    events: [expect.objectContaining({ tenantId: 'ev-webhook', event: 'KMS_WRAP' })],
  });
  // The emulator records a delivery only after checking X-OpenCMK-Signature; a wrong secret is refused.
  expect(world.emulators.sinks.log.count({ operation: 'webhook', status: 401 })).toBe(0);
});

test('a failing sink is retried with backoff and the events arrive', async () => {
  const retriedBefore = await metric(/^tsp_security_events_total\{outcome="retried",sink="splunk"\} (\d+)/m);
  world.emulators.sinks.faults.failNext(2, 'unavailable');
  await wrap('ev-splunk', 'svc-retry');
  const events = await world.emulators.sinks.waitForEvents('splunk', 1);
  expect((events[0]!.event as { iclFields: { requestingId: string } }).iclFields.requestingId).toBe('svc-retry');
  expect(await metric(/^tsp_security_events_total\{outcome="retried",sink="splunk"\} (\d+)/m)).toBeGreaterThanOrEqual(
    retriedBefore + 2,
  );
});

test('a logging check delivers a test event to the tenant sink and reports the outcome', async () => {
  const ok = world.broker.queueCheck('ev-webhook', 3, 'logging');
  const [delivery] = await world.emulators.sinks.waitForEvents('webhook', 1);
  expect(delivery!.body).toMatchObject({
    events: [expect.objectContaining({ tenantId: 'ev-webhook', event: 'OPENCMK_LOGGING_TEST' })],
  });
  await waitUntil(
    () => world.broker.checkResults.some((r) => (r as { checkId: string }).checkId === ok),
    5000,
    'check result',
  );
  expect(world.broker.checkResults).toContainEqual(expect.objectContaining({ checkId: ok, ok: true }));
  world.emulators.sinks.faults.failAlways('unavailable');
  const failed = world.broker.queueCheck('ev-splunk', 1, 'logging');
  await waitUntil(
    () => world.broker.checkResults.some((r) => (r as { checkId: string }).checkId === failed),
    5000,
    'failed check result',
  );
  expect(world.broker.checkResults).toContainEqual(
    expect.objectContaining({
      checkId: failed,
      ok: false,
      error: expect.objectContaining({ code: 301, message: expect.stringContaining('503') }),
    }),
  );
});

test('a hanging or dead sink never slows key requests; undeliverable events are dropped and counted', async () => {
  world.emulators.sinks.faults.failAlways('unavailable');
  const droppedBefore = await metric(/^tsp_security_events_total\{outcome="dropped",sink="webhook"\} (\d+)/m);
  const latencies = [];
  for (let i = 0; i < 20; i++) latencies.push(await wrap('ev-webhook'));
  expect(Math.max(...latencies)).toBeLessThan(250);
  await waitUntil(
    async () =>
      (await metric(/^tsp_security_events_total\{outcome="dropped",sink="webhook"\} (\d+)/m)) >= droppedBefore + 20,
    8000,
    'dropped events',
  );
  world.emulators.resetFaults();
  world.emulators.sinks.faults.hang();
  const hung = [];
  for (let i = 0; i < 20; i++) hung.push(await wrap('ev-webhook'));
  expect(Math.max(...hung)).toBeLessThan(250);
  await waitUntil(
    async () => (await metric(/^tsp_event_queue_depth (\d+)/m)) >= 1,
    3000,
    'events waiting behind the hung sink',
  );
});
