/**
 * The client's request/response handling against a stand-in proxy over real HTTP (the real proxy is in
 * integration.test.ts): request shapes, error mapping, batches, options, validation.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import {
  AdminEvent,
  CustomSecurityEvent,
  DataEvent,
  DocumentMetadata,
  EventMetadata,
  KmsException,
  PeriodicEvent,
  SecurityEventException,
  TenantSecurityClient,
  TenantSecurityErrorCode,
  TenantSecurityException,
  TscException,
  TspServiceException,
  UserEvent,
} from '../src/index.js';
import { createCertificateAuthority } from '@opencmk/kms-emulator';
import { CLIENT_VERSION } from '../src/version.js';
import { startStandInProxy, type StandInProxy } from './support/stand-in-proxy.js';

let proxy: StandInProxy;
let client: TenantSecurityClient;
const metadata = new DocumentMetadata('tenant-aws', 'user-1', 'PII', undefined, 'object-9', undefined, {
  region: 'eu',
});

beforeAll(async () => {
  proxy = await startStandInProxy();
  client = new TenantSecurityClient(proxy.url, proxy.apiKey);
});

afterAll(async () => {
  client.close();
  await proxy.close();
});

beforeEach(() => {
  proxy.requests.length = 0;
  proxy.override = undefined;
});

async function rejection(promise: Promise<unknown>): Promise<TenantSecurityException> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TenantSecurityException);
    return error as TenantSecurityException;
  }
  throw new Error('expected the call to fail');
}

describe('requests', () => {
  it('POSTs JSON to {base}/api/1/{route} with the cmk API key and client headers, optional fields omitted', async () => {
    await client.encryptDocument({ a: Buffer.from('x') }, metadata);
    const [request] = proxy.requests;
    expect(request).toMatchObject({ method: 'POST', url: '/api/1/document/wrap' });
    expect(request!.headers).toMatchObject({
      authorization: `cmk ${proxy.apiKey}`,
      'content-type': 'application/json',
      'x-icl-tsc-language': 'node',
      'x-icl-tsc-version': CLIENT_VERSION,
    });
    expect(request!.body).toEqual({
      tenantId: 'tenant-aws',
      iclFields: { requestingId: 'user-1', dataLabel: 'PII', objectId: 'object-9' },
      customFields: { region: 'eu' },
    });
  });

  it('normalises the base URL: trailing slashes dropped, a path prefix kept', async () => {
    const slashed = new TenantSecurityClient(`${proxy.url}///`, proxy.apiKey);
    const prefixed = new TenantSecurityClient(`${proxy.url}/prefix/`, proxy.apiKey);
    await slashed.encryptDocument({ a: Buffer.from('x') }, metadata);
    await prefixed.encryptDocument({ a: Buffer.from('x') }, metadata);
    expect(proxy.requests.map((request) => request.url)).toEqual([
      '/api/1/document/wrap',
      '/prefix/api/1/document/wrap',
    ]);
    slashed.close();
    prefixed.close();
  });

  it('reuses one kept-alive connection across calls, and opens one per call without keep-alive', async () => {
    const before = proxy.connections;
    const reusing = new TenantSecurityClient(proxy.url, proxy.apiKey);
    for (let call = 0; call < 20; call += 1) await reusing.encryptDocument({ a: Buffer.from('x') }, metadata);
    // The pool may open a second connection while the first is finishing a response; never one per call.
    expect(proxy.connections - before).toBeLessThanOrEqual(2);
    reusing.close();
    const fresh = new TenantSecurityClient(proxy.url, proxy.apiKey, { keepAlive: false });
    const middle = proxy.connections;
    for (let call = 0; call < 5; call += 1) await fresh.encryptDocument({ a: Buffer.from('x') }, metadata);
    expect(proxy.connections - middle).toBe(5);
  });

  it('applies the deadline and the caller’s signal to an injected fetch too', async () => {
    const fetching = new TenantSecurityClient(proxy.url, proxy.apiKey, {
      fetch: (url, init) => fetch(url, init),
      timeoutMs: 50,
    });
    proxy.override = () => ({ status: 200, body: '{}', delayMs: 1_000 });
    const timeout = await rejection(fetching.encryptDocument({ a: Buffer.from('x') }, metadata));
    expect(timeout).toMatchObject({
      errorCode: 0,
      message: 'The call to the Tenant Security Proxy timed out after 50 ms.',
    });
    const controller = new AbortController();
    controller.abort(new Error('before the call'));
    const aborted = await rejection(
      fetching.encryptDocument({ a: Buffer.from('x') }, metadata, { signal: controller.signal, timeoutMs: 5_000 }),
    );
    expect(aborted).toMatchObject({ errorCode: 0, message: 'The call to the Tenant Security Proxy was aborted.' });
  });

  it('speaks https, trusting a private CA only when given it', async () => {
    const authority = createCertificateAuthority();
    const certificate = authority.issueServerCertificate(['127.0.0.1', 'localhost']);
    const tlsProxy = await startStandInProxy('tls-key', { key: certificate.keyPem, cert: certificate.certPem });
    const trusting = new TenantSecurityClient(tlsProxy.url, 'tls-key', { ca: authority.certPem });
    const untrusting = new TenantSecurityClient(tlsProxy.url, 'tls-key');
    try {
      expect(tlsProxy.url).toMatch(/^https:/);
      const encrypted = await trusting.encryptDocument({ a: Buffer.from('over TLS') }, metadata);
      expect((await trusting.decryptDocument(encrypted, metadata)).plaintextDocument['a']!.toString()).toBe('over TLS');
      const refused = await rejection(untrusting.encryptDocument({ a: Buffer.from('x') }, metadata));
      expect(refused).toMatchObject({ errorCode: TenantSecurityErrorCode.UNABLE_TO_MAKE_REQUEST });
      expect(refused.message).toMatch(/certificate/i);
      expect(() => new TenantSecurityClient(tlsProxy.url, 'k', { ca: 'not a certificate' })).toThrow(/PEM/);
    } finally {
      trusting.close();
      untrusting.close();
      await tlsProxy.close();
    }
  });

  it('uses an injected fetch instead of its own transport', async () => {
    const seen: string[] = [];
    const fetching = new TenantSecurityClient(proxy.url, proxy.apiKey, {
      fetch: async (url, init) => {
        seen.push(`${init.method} ${url}`);
        return fetch(url, init);
      },
    });
    const encrypted = await fetching.encryptDocument({ a: Buffer.from('via fetch') }, metadata);
    const decrypted = await fetching.decryptDocument(encrypted, metadata);
    expect(decrypted.plaintextDocument['a']!.toString()).toBe('via fetch');
    expect(seen).toEqual([`POST ${proxy.url}/api/1/document/wrap`, `POST ${proxy.url}/api/1/document/unwrap`]);
  });
});

describe('every method against the stand-in', () => {
  it('encrypts and decrypts a document; re-encrypts with the existing key', async () => {
    const document = { ssn: Buffer.from('123-45-6789'), note: new TextEncoder().encode('Uint8Array accepted') };
    const encrypted = await client.encryptDocument(document, metadata);
    expect(client.isCiphertext(encrypted.encryptedDocument['ssn']!)).toBe(true);
    expect(client.isCiphertext(document.ssn)).toBe(false);
    const decrypted = await client.decryptDocument(encrypted, metadata);
    expect(decrypted.edek).toBe(encrypted.edek);
    expect(decrypted.plaintextDocument['ssn']!.toString()).toBe('123-45-6789');
    expect(Buffer.from(decrypted.plaintextDocument['note']!).toString()).toBe('Uint8Array accepted');
    const again = await client.encryptDocumentWithExistingKey(
      { plaintextDocument: { ssn: Buffer.from('new') }, edek: encrypted.edek },
      metadata,
    );
    expect(again.edek).toBe(encrypted.edek);
    expect((await client.decryptDocument(again, metadata)).plaintextDocument['ssn']!.toString()).toBe('new');
  });

  it('refuses already-encrypted fields with 901 before calling the proxy', async () => {
    const encrypted = await client.encryptDocument({ a: Buffer.from('x') }, metadata);
    proxy.requests.length = 0;
    const error = await rejection(
      client.encryptDocument({ a: encrypted.encryptedDocument['a']!, b: Buffer.from('y') }, metadata),
    );
    expect(error).toBeInstanceOf(TscException);
    expect(error.errorCode).toBe(TenantSecurityErrorCode.DOCUMENT_ENCRYPT_FAILED);
    expect(error.message).toContain('`a`');
    expect(proxy.requests).toHaveLength(0);
  });

  it('batches: per-document successes and failures (proxy failure, missing answer, bad DEK, local refusal)', async () => {
    const encryptedAlready = (await client.encryptDocument({ f: Buffer.from('x') }, metadata)).encryptedDocument['f']!;
    const result = await client.encryptDocumentBatch(
      {
        good: { f: Buffer.from('one') },
        fail1: { f: Buffer.from('two') },
        omitted: { f: Buffer.from('three') },
        shortdek: { f: Buffer.from('four') },
        again: { f: encryptedAlready },
      },
      metadata,
    );
    expect(result.hasSuccesses).toBe(true);
    expect(result.hasFailures).toBe(true);
    expect(Object.keys(result.successes)).toEqual(['good']);
    expect(result.failures['fail1']).toBeInstanceOf(KmsException);
    expect(result.failures['fail1']).toMatchObject({ errorCode: 204, httpResponseCode: undefined });
    expect(result.failures['omitted']).toMatchObject({ errorCode: 100 });
    expect(result.failures['shortdek']).toMatchObject({ errorCode: 100 });
    expect(result.failures['again']).toMatchObject({ errorCode: 901 });

    const decrypted = await client.decryptDocumentBatch(
      {
        good: result.successes['good']!,
        bad: { edek: Buffer.from('garbage').toString('base64'), encryptedDocument: {} },
      },
      metadata,
    );
    expect(decrypted.successes['good']!.plaintextDocument['f']!.toString()).toBe('one');
    expect(decrypted.failures['bad']).toMatchObject({ errorCode: 203 });

    const reEncrypted = await client.encryptDocumentBatchWithExistingKey(
      { good: { edek: result.successes['good']!.edek, plaintextDocument: { f: Buffer.from('updated') } } },
      metadata,
    );
    expect(reEncrypted.hasFailures).toBe(false);
    const roundTrip = await client.decryptDocumentBatch(reEncrypted.successes, metadata);
    expect(roundTrip.successes['good']!.plaintextDocument['f']!.toString()).toBe('updated');

    const empty = await client.encryptDocumentBatch({}, metadata);
    expect(empty).toEqual({ successes: {}, failures: {}, hasSuccesses: false, hasFailures: false });
  });

  it('rekeys an EDEK to another tenant', async () => {
    const encrypted = await client.encryptDocument({ a: Buffer.from('move me') }, metadata);
    const newEdek = await client.rekeyEdek(encrypted.edek, 'tenant-gcp', metadata);
    expect(proxy.requests.at(-1)!.body).toMatchObject({
      encryptedDocumentKey: encrypted.edek,
      newTenantId: 'tenant-gcp',
    });
    const moved = await client.decryptDocument(
      { edek: newEdek, encryptedDocument: encrypted.encryptedDocument },
      new DocumentMetadata('tenant-gcp', 'user-1'),
    );
    expect(moved.plaintextDocument['a']!.toString()).toBe('move me');
  });

  it('encrypts and decrypts Node streams and Web Streams', async () => {
    const plaintext = Buffer.alloc(70_000, 7);
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    });
    const { edek } = await client.encryptStream(
      Readable.from([plaintext.subarray(0, 5), plaintext.subarray(5)]),
      sink,
      metadata,
    );
    const encrypted = Buffer.concat(chunks);
    const output: Uint8Array[] = [];
    await client.decryptStream(
      edek,
      new ReadableStream({
        start(controller) {
          controller.enqueue(encrypted);
          controller.close();
        },
      }),
      new WritableStream({ write: (chunk) => void output.push(chunk) }),
      metadata,
    );
    expect(Buffer.concat(output).equals(plaintext)).toBe(true);
  });

  it('mixes Node and Web streams (Web in, Node out and the other way round)', async () => {
    const plaintext = Buffer.alloc(40_000, 3);
    const nodeOut: Buffer[] = [];
    const { edek } = await client.encryptStream(
      new ReadableStream({
        start(controller) {
          controller.enqueue(plaintext.subarray(0, 10));
          controller.enqueue(plaintext.subarray(10));
          controller.close();
        },
      }),
      new Writable({ write: (chunk, _e, cb) => (nodeOut.push(chunk), cb()) }),
      metadata,
    );
    const webOut: Uint8Array[] = [];
    await client.decryptStream(
      edek,
      Readable.from([Buffer.concat(nodeOut)]),
      new WritableStream({ write: (chunk) => void webOut.push(chunk) }),
      metadata,
    );
    expect(Buffer.concat(webOut).equals(plaintext)).toBe(true);
  });

  it('refuses a stream whose tag fails with 902', async () => {
    const chunks: Buffer[] = [];
    const { edek } = await client.encryptStream(
      Readable.from([Buffer.from('tiny')]),
      new Writable({ write: (chunk, _e, cb) => (chunks.push(chunk), cb()) }),
      metadata,
    );
    const tampered = Buffer.concat(chunks);
    tampered[tampered.length - 1]! ^= 1;
    const error = await rejection(
      client.decryptStream(edek, Readable.from([tampered]), new Writable({ write: (_c, _e, cb) => cb() }), metadata),
    );
    expect(error.errorCode).toBe(TenantSecurityErrorCode.DOCUMENT_DECRYPT_FAILED);
  });

  it('logs security events with the flat event name and timestamp', async () => {
    const eventMetadata = new EventMetadata('tenant-aws', 'admin-2', undefined, 1_700_000_000_000, '10.0.0.1');
    for (const event of [
      UserEvent.LOGIN,
      DataEvent.EXPORT,
      AdminEvent.CHANGE_SETTING,
      PeriodicEvent.CREATE_BACKUP,
      new CustomSecurityEvent('GAVE_ACCESS'),
    ]) {
      await expect(client.logSecurityEvent(event, eventMetadata)).resolves.toBeUndefined();
    }
    expect(proxy.requests.map((request) => (request.body['iclFields'] as { event: string }).event)).toEqual([
      'USER_LOGIN',
      'DATA_EXPORT',
      'ADMIN_CHANGE_SETTING',
      'PERIODIC_CREATE_BACKUP',
      'CUSTOM_GAVE_ACCESS',
    ]);
    expect(proxy.requests[0]!.body).toEqual({
      tenantId: 'tenant-aws',
      timestampMillis: 1_700_000_000_000,
      iclFields: { requestingId: 'admin-2', sourceIp: '10.0.0.1', event: 'USER_LOGIN' },
      customFields: {},
    });
  });
});

describe('errors', () => {
  it('maps a 401 to 101 with the HTTP status', async () => {
    const unauthorized = new TenantSecurityClient(proxy.url, 'wrong-key');
    const error = await rejection(unauthorized.encryptDocument({ a: Buffer.from('x') }, metadata));
    expect(error).toBeInstanceOf(TspServiceException);
    expect(error).toMatchObject({ errorCode: 101, httpResponseCode: 401 });
  });

  it('maps KMS codes to KmsException and 301 to SecurityEventException', async () => {
    const error = await rejection(
      client.encryptDocument({ a: Buffer.from('x') }, new DocumentMetadata('unknown-tenant', 'u')),
    );
    expect(error).toBeInstanceOf(KmsException);
    expect(error).toMatchObject({
      errorCode: TenantSecurityErrorCode.UNKNOWN_TENANT_OR_NO_ACTIVE_KMS_CONFIGURATIONS,
      httpResponseCode: 404,
    });
    proxy.override = () => ({ status: 400, body: JSON.stringify({ code: 301, message: 'rejected', extra: true }) });
    const eventError = await rejection(client.logSecurityEvent(UserEvent.ADD, new EventMetadata('t', 'u')));
    expect(eventError).toBeInstanceOf(SecurityEventException);
    expect(eventError).toMatchObject({ errorCode: 301, httpResponseCode: 400, message: 'rejected' });
  });

  it('treats a string code, a non-JSON body, an unknown code or a malformed success as unknown error 100', async () => {
    for (const [status, body] of [
      [500, JSON.stringify({ code: '204', message: 'string code' })],
      [502, '<html>Bad gateway</html>'],
      [500, JSON.stringify({ code: 555, message: 'no such code' })],
      [200, JSON.stringify({ dek: 42 })],
      [200, 'not json'],
    ] as const) {
      proxy.override = () => ({ status, body });
      const error = await rejection(client.encryptDocument({ a: Buffer.from('x') }, metadata));
      expect(error).toBeInstanceOf(TspServiceException);
      expect(error).toMatchObject({ errorCode: 100, httpResponseCode: status });
    }
  });

  it('fails with code 0 when the proxy cannot be reached, times out, or the call is aborted', async () => {
    const unreachable = new TenantSecurityClient('http://127.0.0.1:1', 'k');
    expect(await rejection(unreachable.encryptDocument({ a: Buffer.from('x') }, metadata))).toMatchObject({
      errorCode: 0,
    });

    proxy.override = () => ({
      status: 200,
      body: JSON.stringify({ dek: Buffer.alloc(32).toString('base64'), edek: 'e' }),
      delayMs: 2_000,
    });
    const timeout = await rejection(client.encryptDocument({ a: Buffer.from('x') }, metadata, { timeoutMs: 50 }));
    expect(timeout).toMatchObject({ errorCode: 0 });
    expect(timeout.message).toContain('timed out after 50 ms');

    const controller = new AbortController();
    const pending = client.encryptDocument({ a: Buffer.from('x') }, metadata, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user went away')), 20);
    const aborted = await rejection(pending);
    expect(aborted).toMatchObject({ errorCode: 0, message: 'The call to the Tenant Security Proxy was aborted.' });
    expect((aborted as Error & { cause?: Error }).cause?.message).toBe('user went away');
  });
});

describe('validation', () => {
  it('accepts https and loopback http; refuses other http unless allowed, other schemes, credentials', () => {
    expect(() => new TenantSecurityClient('https://tsp.example.com', 'k')).not.toThrow();
    expect(() => new TenantSecurityClient('http://localhost:7777', 'k')).not.toThrow();
    expect(() => new TenantSecurityClient('http://127.0.0.2:7777', 'k')).not.toThrow();
    expect(() => new TenantSecurityClient('http://[::1]:7777', 'k')).not.toThrow();
    expect(() => new TenantSecurityClient('http://tsp.internal:7777', 'k')).toThrow(/Refusing plain http/);
    expect(() => new TenantSecurityClient('http://tsp.internal:7777', 'k', { allowInsecureHttp: true })).not.toThrow();
    expect(() => new TenantSecurityClient('ftp://tsp.internal', 'k')).toThrow(/https/);
    expect(() => new TenantSecurityClient('https://user:pw@tsp.internal', 'k')).toThrow(/credentials/);
    expect(() => new TenantSecurityClient('tsp.internal:7777', 'k')).toThrow();
    expect(() => new TenantSecurityClient('', 'k')).toThrow('No value provided for TSP Domain');
    expect(() => new TenantSecurityClient('https://tsp', '')).toThrow('No value provided for TSP API Key');
    expect(() => new TenantSecurityClient('https://tsp', 'k\r\nX-Evil: 1')).toThrow(/line breaks/);
    expect(() => new TenantSecurityClient('https://tsp', 'k', { timeoutMs: -1 })).toThrow(TypeError);
    expect(() => new TenantSecurityClient('https://tsp', 'k', { unknownOption: 1 } as never)).toThrow(TypeError);
  });

  it('validates metadata and events where they are made', () => {
    expect(() => new DocumentMetadata('', 'u')).toThrow(/tenantId/);
    expect(() => new DocumentMetadata('t', '')).toThrow(/requestingUserOrServiceId/);
    expect(
      () => new DocumentMetadata('t', 'u', undefined, undefined, undefined, undefined, { n: 1 as unknown as string }),
    ).toThrow(/otherData/);
    expect(() => new EventMetadata('t', 'u', undefined, -5)).toThrow(/timestampMillis/);
    expect(new EventMetadata('t', 'u').timestampMillis).toBeGreaterThan(1_600_000_000_000);
    expect(() => new CustomSecurityEvent('lower_case')).toThrow(/SCREAMING_SNAKE_CASE/);
    expect(() => new CustomSecurityEvent('_LEADING')).toThrow(/SCREAMING_SNAKE_CASE/);
    expect(() => new CustomSecurityEvent('')).toThrow(/SCREAMING_SNAKE_CASE/);
  });

  it('answers malformed arguments with typed errors, not crashes', async () => {
    expect(await rejection(client.encryptDocument('text' as never, metadata))).toMatchObject({ errorCode: 901 });
    expect(await rejection(client.encryptDocument({ a: 'text' } as never, metadata))).toMatchObject({ errorCode: 901 });
    expect(await rejection(client.encryptDocument({}, {} as never))).toMatchObject({ errorCode: 102 });
    expect(await rejection(client.decryptDocument({ encryptedDocument: {} } as never, metadata))).toMatchObject({
      errorCode: 102,
    });
    expect(await rejection(client.rekeyEdek('edek', '', metadata))).toMatchObject({ errorCode: 102 });
    expect(await rejection(client.encryptDocumentBatch(null as never, metadata))).toMatchObject({ errorCode: 102 });
    expect(await rejection(client.encryptStream('in' as never, 'out' as never, metadata))).toMatchObject({
      errorCode: 102,
    });
    expect(await rejection(client.logSecurityEvent('USER_LOGIN' as never, new EventMetadata('t', 'u')))).toMatchObject({
      errorCode: 102,
    });
    expect(await rejection(client.encryptDocument({}, metadata, { signal: 'no' } as never))).toMatchObject({
      errorCode: 102,
    });
  });
});

describe('API parity with IronCore', () => {
  it('exports every name IronCore exports except the deterministic client and its internal helpers', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ironcore = Object.keys(require('@ironcorelabs/tenant-security-nodejs') as object);
    const ours = Object.keys(await import('../src/index.js'));
    const internalHelpers = [
      'makeJsonRequest',
      'validateJsonResponse',
      'clearUndefinedProperties',
      'mapBatchOperationToResult',
    ];
    expect(ironcore.filter((name) => !ours.includes(name) && !internalHelpers.includes(name))).toEqual([]);
  });

  it('has every method of IronCore’s client', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { TenantSecurityClient: IronCoreClient } = require('@ironcorelabs/tenant-security-nodejs') as {
      TenantSecurityClient: new (d: string, k: string) => object;
    };
    const theirs = Object.keys(new IronCoreClient('https://tsp', 'k')).filter(
      (name) => typeof (new IronCoreClient('https://tsp', 'k') as Record<string, unknown>)[name] === 'function',
    );
    const ours = new TenantSecurityClient('https://tsp', 'k') as unknown as Record<string, unknown>;
    expect(theirs.filter((name) => typeof ours[name] !== 'function')).toEqual([]);
    expect(theirs.length).toBeGreaterThanOrEqual(11);
  });

  it('keeps CLIENT_VERSION in step with package.json', () => {
    const packageJson = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(CLIENT_VERSION).toBe(`opencmk-${packageJson.version}`);
  });
});
