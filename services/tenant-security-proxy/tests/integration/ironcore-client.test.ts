import { PassThrough } from 'node:stream';
import {
  DocumentMetadata,
  EventMetadata,
  TenantSecurityClient,
  TenantSecurityErrorCode,
  TenantSecurityException,
  UserEvent,
} from '@ironcorelabs/tenant-security-nodejs';
import { spawnProxy, waitForReady, type ProxyProcess } from '../support/proxy-process.js';
import { startWorld, TENANTS, type World } from '../support/world.js';

/**
 * IronCore's official Node client, unchanged, against the proxy running as its own process: every method of
 * TenantSecurityClient, for every provider, leased and not.
 */
let world: World;
let proxy: ProxyProcess;
let client: TenantSecurityClient;

beforeAll(async () => {
  world = await startWorld();
  proxy = await spawnProxy(world.proxyEnv);
  await waitForReady(proxy.healthUrl);
  // A trailing slash makes the client request `//api/1/...`, which must work.
  client = new TenantSecurityClient(`${proxy.url}/`, world.proxyEnv.API_KEY!);
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await world?.close();
}, 30_000);

const meta = (tenantId: string) =>
  new DocumentMetadata(tenantId, 'svc-test', 'PII', '10.0.0.1', 'doc-1', 'req-1', { region: 'eu' });

async function collect(stream: PassThrough): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe.each(TENANTS)('IronCore client with tenant %s', (tenantId) => {
  test('encrypt, decrypt, encrypt with existing key, rekey to the same tenant', async () => {
    const document = { name: Buffer.from('Jim Bridger'), ssn: Buffer.from('123-45-6789') };
    const encrypted = await client.encryptDocument(document, meta(tenantId));
    expect(client.isCiphertext(encrypted.encryptedDocument.name!)).toBe(true);
    const decrypted = await client.decryptDocument(encrypted, meta(tenantId));
    expect(decrypted.plaintextDocument.name!.toString()).toBe('Jim Bridger');
    expect(decrypted.edek).toBe(encrypted.edek);

    const again = await client.encryptDocumentWithExistingKey(
      { plaintextDocument: { x: Buffer.from('more') }, edek: encrypted.edek },
      meta(tenantId),
    );
    expect(again.edek).toBe(encrypted.edek);
    expect((await client.decryptDocument(again, meta(tenantId))).plaintextDocument.x!.toString()).toBe('more');

    const rekeyed = await client.rekeyEdek(encrypted.edek, tenantId, meta(tenantId));
    expect(rekeyed).not.toBe(encrypted.edek);
    const viaRekeyed = await client.decryptDocument(
      { encryptedDocument: encrypted.encryptedDocument, edek: rekeyed },
      meta(tenantId),
    );
    expect(viaRekeyed.plaintextDocument.ssn!.toString()).toBe('123-45-6789');
  });

  test('batch encrypt, batch with existing keys, batch decrypt', async () => {
    const batch = await client.encryptDocumentBatch(
      { a: { f: Buffer.from('A') }, b: { f: Buffer.from('B') }, c: { f: Buffer.from('C') } },
      meta(tenantId),
    );
    expect(Object.keys(batch.successes).sort()).toEqual(['a', 'b', 'c']);
    expect(batch.failures).toEqual({});
    const existing = await client.encryptDocumentBatchWithExistingKey(
      { a: { plaintextDocument: { f: Buffer.from('A2') }, edek: batch.successes.a!.edek } },
      meta(tenantId),
    );
    expect(existing.successes.a!.edek).toBe(batch.successes.a!.edek);
    const decrypted = await client.decryptDocumentBatch(
      { ...batch.successes, a2: existing.successes.a! },
      meta(tenantId),
    );
    expect(decrypted.failures).toEqual({});
    expect(decrypted.successes.b!.plaintextDocument.f!.toString()).toBe('B');
    expect(decrypted.successes.a2!.plaintextDocument.f!.toString()).toBe('A2');
  });

  test('streams', async () => {
    const plaintext = Buffer.alloc(200_000, 7);
    const encryptedOut = new PassThrough();
    const encryptedBytes = collect(encryptedOut);
    // Byte streams, as from fs.createReadStream (the client reads its header with read(n)).
    const input = new PassThrough();
    input.write(plaintext.subarray(0, 100_000));
    input.end(plaintext.subarray(100_000));
    const { edek } = await client.encryptStream(input, encryptedOut, meta(tenantId));
    const ciphertext = await encryptedBytes;
    const decryptedOut = new PassThrough();
    const decryptedBytes = collect(decryptedOut);
    const encryptedIn = new PassThrough();
    encryptedIn.end(ciphertext);
    await client.decryptStream(edek, encryptedIn, decryptedOut, meta(tenantId));
    expect(Buffer.compare(await decryptedBytes, plaintext)).toBe(0);
  });
});

test('rekey moves a document key to another tenant, and the old tenant can no longer use the new EDEK', async () => {
  const encrypted = await client.encryptDocument({ f: Buffer.from('moving') }, meta('aws-leased'));
  const rekeyed = await client.rekeyEdek(encrypted.edek, 'gcp-direct', meta('aws-leased'));
  const decrypted = await client.decryptDocument(
    { encryptedDocument: encrypted.encryptedDocument, edek: rekeyed },
    meta('gcp-direct'),
  );
  expect(decrypted.plaintextDocument.f!.toString()).toBe('moving');
  const error = await client
    .decryptDocument({ encryptedDocument: encrypted.encryptedDocument, edek: rekeyed }, meta('aws-leased'))
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TenantSecurityException);
  expect((error as TenantSecurityException).errorCode).toBe(TenantSecurityErrorCode.INVALID_PROVIDED_EDEK);
  expect((error as Error).message).toContain('is not assigned to tenant');
});

test('logSecurityEvent is accepted and appears as a stdout JSON line with the metadata', async () => {
  await client.logSecurityEvent(
    UserEvent.LOGIN,
    new EventMetadata('aws-direct', 'svc-test', 'PII', 1700000000000, '10.0.0.9', 'obj-7', 'req-7', { k: 'v' }),
  );
  const line = await proxy.waitForLine((l) => l.type === 'security_event' && l.event === 'USER_LOGIN');
  expect(line).toMatchObject({
    tenantId: 'aws-direct',
    source: 'application',
    timestampMillis: 1700000000000,
    iclFields: {
      requestingId: 'svc-test',
      sourceIp: '10.0.0.9',
      objectId: 'obj-7',
      requestId: 'req-7',
      dataLabel: 'PII',
    },
    customFields: { k: 'v' },
  });
});

test('key operations emit one security event each, with the caller metadata', async () => {
  await client.encryptDocument(
    { f: Buffer.from('x') },
    new DocumentMetadata('azure-leased', 'svc-events', undefined, undefined, 'obj-events'),
  );
  const line = await proxy.waitForLine(
    (l) =>
      l.type === 'security_event' &&
      l.event === 'KMS_WRAP' &&
      (l.iclFields as { requestingId?: string }).requestingId === 'svc-events',
  );
  expect(line).toMatchObject({
    tenantId: 'azure-leased',
    source: 'proxy',
    kmsConfigId: 301,
    leased: true,
    outcome: 'success',
  });
});

test('metrics count requests by route, code and client language/version', async () => {
  const text = await (await fetch(`${proxy.healthUrl}/metrics`)).text();
  const wraps = /^tsp_requests_total\{route="document\/wrap",code="0",language="node",version="4\.1\.3"\} (\d+)$/m.exec(
    text,
  );
  expect(Number(wraps?.[1])).toBeGreaterThan(0);
  expect(text).toMatch(/^tsp_request_duration_seconds_count\{route="document\/unwrap"\} [1-9]\d*$/m);
  expect(text).toMatch(/^tsp_kms_calls_total\{provider="azure",operation="wrap",outcome="ok"\} [1-9]\d*$/m);
  expect(text).toMatch(/^tsp_lease_lookups_total\{result="hit"\} [1-9]\d*$/m);
});

test('multi-config tenant: wraps with the primary and unwraps its EDEKs', async () => {
  const encrypted = await client.encryptDocument({ f: Buffer.from('multi') }, meta('multi'));
  const decrypted = await client.decryptDocument(encrypted, meta('multi'));
  expect(decrypted.plaintextDocument.f!.toString()).toBe('multi');
});

test('GCP over https to an endpoint that only KMS_EXTRA_CA_FILE trusts (no NODE_EXTRA_CA_CERTS)', async () => {
  expect(world.proxyEnv.KMS_EXTRA_CA_FILE).toBeDefined();
  expect(world.proxyEnv.NODE_EXTRA_CA_CERTS).toBeUndefined();
  const calls = world.emulators.gcp.log.count({ operation: 'encrypt' });
  const encrypted = await client.encryptDocument({ f: Buffer.from('private endpoint') }, meta('gcp-https'));
  const decrypted = await client.decryptDocument(encrypted, meta('gcp-https'));
  expect(decrypted.plaintextDocument.f!.toString()).toBe('private endpoint');
  expect(world.emulators.gcp.log.count({ operation: 'encrypt' })).toBe(calls + 1);
});
