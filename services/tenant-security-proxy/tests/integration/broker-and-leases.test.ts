import { decodeEdek } from '../../src/edek.js';
import { callProxy, spawnProxy, waitForReady, waitUntil, type ProxyProcess } from '../support/proxy-process.js';
import { startWorld, type World } from '../support/world.js';

/**
 * The proxy process following the broker (long-poll, outage, revocation, checks, status) and leased keys
 * (one KMS call per cold lease under concurrency, replicas and restarts, rotation, drop on disable), plus graceful
 * shutdown.
 */
let world: World;
let proxy: ProxyProcess;
const ROTATION_SECONDS = 2;
const CACHE_TTL_SECONDS = 3;

beforeAll(async () => {
  world = await startWorld();
  proxy = await spawnProxy({
    ...world.proxyEnv,
    LEASE_ROTATION_SECONDS: String(ROTATION_SECONDS),
    LEASE_CACHE_TTL_SECONDS: String(CACHE_TTL_SECONDS),
    SNAPSHOT_WAIT_SECONDS: '20',
  });
  await waitForReady(proxy.healthUrl);
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await world?.close();
}, 30_000);

const call = (target: ProxyProcess, route: string, body: unknown) =>
  callProxy(target.url, route, body, world.proxyEnv.API_KEY!);
const meta = (tenantId: string) => ({ tenantId, iclFields: { requestingId: 'svc-broker' } });
const health = async (target: ProxyProcess) =>
  (await (await fetch(`${target.healthUrl}/health`)).json()) as Record<string, any>;
const awaitVersion = (target: ProxyProcess, version: number) =>
  waitUntil(async () => (await health(target)).snapshotVersion >= version, 5000, `snapshot ${version}`);
const kmsCalls = (operation: 'Encrypt' | 'Decrypt') => world.emulators.aws.log.count({ operation });

test('a cold lease under 50 concurrent wraps makes exactly one KMS call; another replica unwraps with one call for 50 concurrent unwraps', async () => {
  world.broker.setTenant({
    tenantId: 'cold',
    kmsConfigs: [{ ...world.configs['aws-direct']!, id: 701, leasingAllowed: true }],
  });
  await awaitVersion(proxy, world.broker.version);
  const encryptsBefore = kmsCalls('Encrypt');
  const wraps = await Promise.all(Array.from({ length: 50 }, () => call(proxy, 'document/wrap', meta('cold'))));
  expect(wraps.every((w) => w.status === 200)).toBe(true);
  expect(kmsCalls('Encrypt') - encryptsBefore).toBe(1);
  expect(new Set(wraps.map((w) => w.json.dek)).size).toBe(50);

  const replica = await spawnProxy(world.proxyEnv);
  try {
    await waitForReady(replica.healthUrl);
    const decryptsBefore = kmsCalls('Decrypt');
    const unwraps = await Promise.all(
      wraps.map((w) => call(replica, 'document/unwrap', { ...meta('cold'), encryptedDocumentKey: w.json.edek })),
    );
    expect(unwraps.map((u) => u.json.dek)).toEqual(wraps.map((w) => w.json.dek));
    expect(kmsCalls('Decrypt') - decryptsBefore).toBe(1);
  } finally {
    await replica.stop();
  }
}, 30_000);

test('leases rotate on schedule; EDEKs of the old lease still unwrap', async () => {
  const first = (await call(proxy, 'document/wrap', meta('gcp-leased'))).json;
  await new Promise((resolve) => setTimeout(resolve, ROTATION_SECONDS * 1000 + 100));
  const second = (await call(proxy, 'document/wrap', meta('gcp-leased'))).json;
  expect(decodeEdek(second.edek).leasedKeyId).not.toBe(decodeEdek(first.edek).leasedKeyId);
  expect(
    (await call(proxy, 'document/unwrap', { ...meta('gcp-leased'), encryptedDocumentKey: first.edek })).json.dek,
  ).toBe(first.dek);
  expect(
    (await call(proxy, 'document/unwrap', { ...meta('gcp-leased'), encryptedDocumentKey: second.edek })).json.dek,
  ).toBe(second.dek);
});

test('an unwrapped leased key leaves memory after LEASE_CACHE_TTL_SECONDS: the next unwrap asks the KMS once more', async () => {
  world.broker.setTenant({
    tenantId: 'ttl',
    kmsConfigs: [{ ...world.configs['aws-direct']!, id: 703, leasingAllowed: true }],
  });
  await awaitVersion(proxy, world.broker.version);
  const wrapped = (await call(proxy, 'document/wrap', meta('ttl'))).json;
  const decryptsBefore = kmsCalls('Decrypt');
  expect((await call(proxy, 'document/unwrap', { ...meta('ttl'), encryptedDocumentKey: wrapped.edek })).json.dek).toBe(
    wrapped.dek,
  );
  expect(kmsCalls('Decrypt')).toBe(decryptsBefore); // the lease this proxy created is cached
  await new Promise((resolve) => setTimeout(resolve, CACHE_TTL_SECONDS * 1000 + 200));
  expect((await call(proxy, 'document/unwrap', { ...meta('ttl'), encryptedDocumentKey: wrapped.edek })).json.dek).toBe(
    wrapped.dek,
  );
  expect(kmsCalls('Decrypt') - decryptsBefore).toBe(1);
  expect((await call(proxy, 'document/unwrap', { ...meta('ttl'), encryptedDocumentKey: wrapped.edek })).json.dek).toBe(
    wrapped.dek,
  );
  expect(kmsCalls('Decrypt') - decryptsBefore).toBe(1);
});

test('tenant checks run and their results are posted; status is posted', async () => {
  const ok = world.broker.queueCheck('azure-direct', 302);
  const bad = world.broker.queueCheck('multi', 403);
  await waitUntil(() => world.broker.checkResults.length >= 2, 8000, 'check results');
  expect(world.broker.checkResults).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ checkId: ok, ok: true, latencyMs: expect.any(Number) }),
      expect.objectContaining({ checkId: bad, ok: false, error: expect.objectContaining({ code: 202 }) }),
    ]),
  );
  expect(world.broker.statusPosts[0]).toMatchObject({
    instanceId: expect.any(String),
    snapshotVersion: expect.any(Number),
    uptimeSeconds: expect.any(Number),
  });
});

test('a disable reaches the proxy by long-poll within a second and drops the leases at once', async () => {
  world.broker.setTenant({
    tenantId: 'to-disable',
    kmsConfigs: [{ ...world.configs['aws-direct']!, id: 702, leasingAllowed: true }],
  });
  await awaitVersion(proxy, world.broker.version);
  const wrapped = (await call(proxy, 'document/wrap', meta('to-disable'))).json;
  expect(
    (await call(proxy, 'document/unwrap', { ...meta('to-disable'), encryptedDocumentKey: wrapped.edek })).status,
  ).toBe(200);
  const started = Date.now();
  world.broker.setStatus('to-disable', 702, 'disabled');
  await waitUntil(
    async () =>
      (await call(proxy, 'document/unwrap', { ...meta('to-disable'), encryptedDocumentKey: wrapped.edek })).json
        .code === 202,
    3000,
    'disable',
  );
  expect(Date.now() - started).toBeLessThan(1500);
  expect((await call(proxy, 'document/wrap', meta('to-disable'))).json.code).toBe(201);
  // Re-enabling needs the KMS again: the dropped lease is not served from memory.
  const decryptsBefore = kmsCalls('Decrypt');
  world.broker.setStatus('to-disable', 702, 'primary');
  await awaitVersion(proxy, world.broker.version);
  expect(
    (await call(proxy, 'document/unwrap', { ...meta('to-disable'), encryptedDocumentKey: wrapped.edek })).json.dek,
  ).toBe(wrapped.dek);
  expect(kmsCalls('Decrypt') - decryptsBefore).toBe(1);
});

test('broker down: the last snapshot keeps serving, health and metrics say so, and recovery is noticed', async () => {
  await world.broker.down();
  try {
    await waitUntil(async () => (await health(proxy)).brokerReachable === false, 30_000, 'broker unreachable');
    expect((await call(proxy, 'document/wrap', meta('aws-leased'))).status).toBe(200);
    expect((await call(proxy, 'document/wrap', meta('azure-direct'))).status).toBe(200);
    expect((await fetch(`${proxy.healthUrl}/ready`)).status).toBe(200);
    const metrics = await (await fetch(`${proxy.healthUrl}/metrics`)).text();
    expect(metrics).toMatch(/^tsp_broker_reachable 0$/m);
    expect(metrics).toMatch(/^tsp_snapshot_age_seconds \d/m);
  } finally {
    await world.broker.up();
  }
  const upAt = Date.now();
  await waitUntil(async () => (await health(proxy)).brokerReachable === true, 10_000, 'broker reachable again');
  expect(Date.now() - upAt).toBeLessThan(6000);
}, 30_000);

test('graceful shutdown: an in-flight request finishes, then the process exits 0', async () => {
  const replica = await spawnProxy(world.proxyEnv);
  await waitForReady(replica.healthUrl);
  world.emulators.aws.faults.latency(800, { count: 1 });
  const inFlight = call(replica, 'document/wrap', meta('aws-direct'));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const exit = replica.stop('SIGTERM');
  const result = await inFlight;
  expect(result.status).toBe(200);
  expect(await exit).toBe(0);
  await expect(fetch(`${replica.url}/api/1/document/wrap`, { method: 'POST' })).rejects.toThrow();
  world.emulators.resetFaults();
}, 30_000);

test('revoked configuration: 401 from the broker drops every config and the proxy reports not ready', async () => {
  world.broker.revoke();
  await waitUntil(async () => (await fetch(`${proxy.healthUrl}/ready`)).status === 503, 5000, 'not ready');
  expect((await call(proxy, 'document/wrap', meta('aws-leased'))).json.code).toBe(201);
  const metrics = await (await fetch(`${proxy.healthUrl}/metrics`)).text();
  expect(metrics).toMatch(/^tsp_broker_revoked 1$/m);
  expect(metrics).toMatch(/^tsp_snapshot_version 0$/m);
});
