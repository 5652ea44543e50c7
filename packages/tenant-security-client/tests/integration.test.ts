/**
 * The client against the real OpenCMK proxy (its own process), the broker test server and the KMS emulators, using
 * the proxy's test support: every method per provider and credential mode, and interoperability with IronCore's
 * client through the proxy in both directions (documents, batches, streams).
 */
import { PassThrough, Readable } from 'node:stream';
import {
  DocumentMetadata as IronCoreDocumentMetadata,
  TenantSecurityClient as IronCoreClient,
} from '@ironcorelabs/tenant-security-nodejs';
import {
  CustomSecurityEvent,
  DataEvent,
  DocumentMetadata,
  EventMetadata,
  KmsException,
  TenantSecurityClient,
  TenantSecurityErrorCode,
  TenantSecurityException,
  TspServiceException,
  UserEvent,
} from '../src/index.js';
import {
  spawnProxy,
  waitForReady,
  waitUntil,
  type ProxyProcess,
} from '../../../services/tenant-security-proxy/tests/support/proxy-process.js';
import { startWorld, TENANTS, type World } from '../../../services/tenant-security-proxy/tests/support/world.js';

// Real KMS round trips through the emulators (some tenants without leasing) on a shared machine.
jest.setTimeout(30_000);

let world: World;
let proxy: ProxyProcess;
let ours: TenantSecurityClient;
let theirs: IronCoreClient;

beforeAll(async () => {
  world = await startWorld();
  // Generous start-up time: the proxy runs from source through tsx on a shared, busy machine.
  // LOG_LEVEL info: the harness waits for the proxy's 'started' log line (the world's env asks for warn).
  // KMS_TIMEOUT_MS: the world's 1.5 s is short for emulator round trips on a shared, busy machine.
  proxy = await spawnProxy({ ...world.proxyEnv, LOG_LEVEL: 'info', KMS_TIMEOUT_MS: '10000' }, 60_000);
  await waitForReady(proxy.healthUrl);
  ours = new TenantSecurityClient(proxy.url, world.proxyEnv.API_KEY!);
  theirs = new IronCoreClient(proxy.url, world.proxyEnv.API_KEY!);
}, 120_000);

afterAll(async () => {
  ours?.close();
  await proxy?.stop();
  await world?.close();
});

const meta = (tenantId: string) =>
  new DocumentMetadata(tenantId, 'svc-client-test', 'PII', '10.0.0.2', 'doc-7', 'req-7', { suite: 'tsc' });
const theirMeta = (tenantId: string) => new IronCoreDocumentMetadata(tenantId, 'svc-ironcore', 'PII');

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function webSource(bytes: Uint8Array, chunkSize = 7_000): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + chunkSize));
      offset += chunkSize;
    },
  });
}

function webSink(): { stream: WritableStream<Uint8Array>; bytes(): Buffer } {
  const chunks: Uint8Array[] = [];
  return {
    stream: new WritableStream({ write: (chunk) => void chunks.push(chunk) }),
    bytes: () => Buffer.concat(chunks),
  };
}

async function rejection(promise: Promise<unknown>): Promise<TenantSecurityException> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TenantSecurityException);
    return error as TenantSecurityException;
  }
  throw new Error('expected the call to fail');
}

describe.each(TENANTS)('tenant %s', (tenantId) => {
  test('documents: encrypt, decrypt, encrypt with existing key, rekey; IronCore reads ours and we read IronCore’s', async () => {
    const document = { name: Buffer.from('Jim Bridger'), ssn: Buffer.from('123-45-6789'), empty: Buffer.alloc(0) };
    const encrypted = await ours.encryptDocument(document, meta(tenantId));
    expect(ours.isCiphertext(encrypted.encryptedDocument['name']!)).toBe(true);
    const decrypted = await ours.decryptDocument(encrypted, meta(tenantId));
    expect(decrypted.edek).toBe(encrypted.edek);
    expect(decrypted.plaintextDocument['name']!.toString()).toBe('Jim Bridger');
    expect(decrypted.plaintextDocument['empty']!.length).toBe(0);

    const again = await ours.encryptDocumentWithExistingKey(
      { plaintextDocument: { x: Buffer.from('more') }, edek: encrypted.edek },
      meta(tenantId),
    );
    expect(again.edek).toBe(encrypted.edek);

    const rekeyed = await ours.rekeyEdek(encrypted.edek, tenantId, meta(tenantId));
    expect(rekeyed).not.toBe(encrypted.edek);

    // OpenCMK → IronCore, including the re-encrypted document and the rekeyed EDEK.
    const byIronCore = await theirs.decryptDocument(
      { encryptedDocument: encrypted.encryptedDocument as Record<string, Buffer>, edek: rekeyed },
      theirMeta(tenantId),
    );
    expect(byIronCore.plaintextDocument['ssn']!.toString()).toBe('123-45-6789');
    expect(
      (
        await theirs.decryptDocument(
          { encryptedDocument: again.encryptedDocument as Record<string, Buffer>, edek: again.edek },
          theirMeta(tenantId),
        )
      ).plaintextDocument['x']!.toString(),
    ).toBe('more');

    // IronCore → OpenCMK.
    const fromIronCore = await theirs.encryptDocument(
      { note: Buffer.from('written by IronCore') },
      theirMeta(tenantId),
    );
    const readByUs = await ours.decryptDocument(fromIronCore, meta(tenantId));
    expect(readByUs.plaintextDocument['note']!.toString()).toBe('written by IronCore');
    // Same ciphertext overhead per field.
    const sameField = await ours.encryptDocumentWithExistingKey(
      { plaintextDocument: { note: Buffer.from('written by IronCore') }, edek: fromIronCore.edek },
      meta(tenantId),
    );
    expect(sameField.encryptedDocument['note']!.length).toBe(fromIronCore.encryptedDocument['note']!.length);
  });

  test('batches: all three, and across clients in both directions', async () => {
    const batch = await ours.encryptDocumentBatch(
      { a: { f: Buffer.from('A') }, b: { f: Buffer.from('B') }, c: { f: Buffer.from('C') } },
      meta(tenantId),
    );
    expect(batch.hasFailures).toBe(false);
    expect(Object.keys(batch.successes).sort()).toEqual(['a', 'b', 'c']);
    const existing = await ours.encryptDocumentBatchWithExistingKey(
      { a: { plaintextDocument: { f: Buffer.from('A2') }, edek: batch.successes['a']!.edek } },
      meta(tenantId),
    );
    expect(existing.successes['a']!.edek).toBe(batch.successes['a']!.edek);
    const decrypted = await ours.decryptDocumentBatch(
      { ...batch.successes, a2: existing.successes['a']! },
      meta(tenantId),
    );
    expect(decrypted.hasFailures).toBe(false);
    expect(decrypted.successes['b']!.plaintextDocument['f']!.toString()).toBe('B');
    expect(decrypted.successes['a2']!.plaintextDocument['f']!.toString()).toBe('A2');

    const theirDecrypt = await theirs.decryptDocumentBatch(batch.successes as never, theirMeta(tenantId));
    expect(theirDecrypt.hasFailures).toBe(false);
    expect(theirDecrypt.successes['c']!.plaintextDocument['f']!.toString()).toBe('C');

    const theirBatch = await theirs.encryptDocumentBatch(
      { x: { f: Buffer.from('X') }, y: { f: Buffer.from('Y') } },
      theirMeta(tenantId),
    );
    const ourDecrypt = await ours.decryptDocumentBatch(theirBatch.successes, meta(tenantId));
    expect(ourDecrypt.hasFailures).toBe(false);
    expect(ourDecrypt.successes['y']!.plaintextDocument['f']!.toString()).toBe('Y');
  });

  test('streams: Node and Web, across clients in both directions, short plaintexts', async () => {
    const plaintext = Buffer.alloc(150_000, 9);
    plaintext.write('start of stream', 0);

    // Ours (Node) → IronCore.
    const encryptedOut = new PassThrough();
    const encryptedBytes = collect(encryptedOut);
    const { edek } = await ours.encryptStream(
      Readable.from([plaintext.subarray(0, 70_000), plaintext.subarray(70_000)]),
      encryptedOut,
      meta(tenantId),
    );
    const encrypted = await encryptedBytes;
    const theirPlain = new PassThrough();
    const theirPlainBytes = collect(theirPlain);
    const theirInput = new PassThrough();
    theirInput.end(encrypted);
    await theirs.decryptStream(edek, theirInput, theirPlain, theirMeta(tenantId));
    expect((await theirPlainBytes).equals(plaintext)).toBe(true);

    // IronCore → ours (Web Streams).
    const theirEncrypted = new PassThrough();
    const theirEncryptedBytes = collect(theirEncrypted);
    const theirStream = await theirs.encryptStream(Readable.from([plaintext]), theirEncrypted, theirMeta(tenantId));
    const sink = webSink();
    await ours.decryptStream(theirStream.edek, webSource(await theirEncryptedBytes), sink.stream, meta(tenantId));
    expect(sink.bytes().equals(plaintext)).toBe(true);

    // A plaintext shorter than one AES block, which IronCore's decryptStream cannot read back.
    const shortOut = webSink();
    const shortStream = await ours.encryptStream(webSource(Buffer.from('tiny')), shortOut.stream, meta(tenantId));
    const shortPlain = webSink();
    await ours.decryptStream(shortStream.edek, webSource(shortOut.bytes(), 3), shortPlain.stream, meta(tenantId));
    expect(shortPlain.bytes().toString()).toBe('tiny');
  });
});

describe('across tenants and failures', () => {
  test('rekey to another tenant; the old tenant can no longer use the new EDEK', async () => {
    const encrypted = await ours.encryptDocument({ f: Buffer.from('moving') }, meta('aws-leased'));
    const moved = await ours.rekeyEdek(encrypted.edek, 'gcp-leased', meta('aws-leased'));
    const decrypted = await ours.decryptDocument(
      { encryptedDocument: encrypted.encryptedDocument, edek: moved },
      meta('gcp-leased'),
    );
    expect(decrypted.plaintextDocument['f']!.toString()).toBe('moving');
    const wrongTenant = await rejection(
      ours.decryptDocument({ encryptedDocument: encrypted.encryptedDocument, edek: moved }, meta('aws-leased')),
    );
    expect(wrongTenant).toBeInstanceOf(KmsException);
  });

  test('typed errors: bad API key, unknown tenant, no primary config, invalid EDEK', async () => {
    const badKey = new TenantSecurityClient(proxy.url, 'not-the-key');
    const unauthorized = await rejection(badKey.encryptDocument({ f: Buffer.from('x') }, meta('aws-leased')));
    expect(unauthorized).toBeInstanceOf(TspServiceException);
    expect(unauthorized).toMatchObject({
      errorCode: TenantSecurityErrorCode.UNAUTHORIZED_REQUEST,
      httpResponseCode: 401,
    });
    badKey.close();

    const unknown = await rejection(ours.encryptDocument({ f: Buffer.from('x') }, meta('no-such-tenant')));
    expect(unknown).toMatchObject({
      errorCode: TenantSecurityErrorCode.UNKNOWN_TENANT_OR_NO_ACTIVE_KMS_CONFIGURATIONS,
    });
    const noPrimary = await rejection(ours.encryptDocument({ f: Buffer.from('x') }, meta('no-primary')));
    expect(noPrimary).toMatchObject({ errorCode: TenantSecurityErrorCode.NO_PRIMARY_KMS_CONFIGURATION });
    const invalidEdek = await rejection(
      ours.decryptDocument(
        { encryptedDocument: {}, edek: Buffer.from('not an edek').toString('base64') },
        meta('aws-leased'),
      ),
    );
    expect(invalidEdek).toMatchObject({ errorCode: TenantSecurityErrorCode.INVALID_PROVIDED_EDEK });

    const batch = await ours.decryptDocumentBatch(
      { bad: { encryptedDocument: {}, edek: Buffer.from('junk').toString('base64') } },
      meta('aws-leased'),
    );
    expect(batch.failures['bad']).toMatchObject({ errorCode: TenantSecurityErrorCode.INVALID_PROVIDED_EDEK });
  });

  test('security events reach the proxy with their flat names', async () => {
    await ours.logSecurityEvent(
      UserEvent.LOGIN,
      new EventMetadata('aws-leased', 'user-77', undefined, undefined, '198.51.100.4'),
    );
    await ours.logSecurityEvent(DataEvent.EXPORT, new EventMetadata('gcp-leased', 'user-77'));
    await ours.logSecurityEvent(
      new CustomSecurityEvent('TSC_INTEGRATION'),
      new EventMetadata('azure-leased', 'user-77'),
    );
    const names = () => proxy.securityEvents().map((event) => JSON.stringify(event));
    await waitUntil(
      () =>
        ['USER_LOGIN', 'DATA_EXPORT', 'CUSTOM_TSC_INTEGRATION'].every((name) =>
          names().some((line) => line.includes(name) && line.includes('user-77')),
        ),
      10_000,
      'security events on stdout',
    );
  });
});
