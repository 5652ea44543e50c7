/**
 * The client: same constructor, method names, arguments and results as IronCore's `TenantSecurityClient`
 * (`@ironcorelabs/tenant-security-nodejs` 4.1.3), so switching is a change of import. Each method takes an optional
 * last argument `{ signal, timeoutMs }`. Keys come from the proxy; documents are encrypted here and never leave.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import {
  decryptDocumentFields,
  encryptDocumentFields,
  isCiphertext as isV3Ciphertext,
  toDekBytes,
  validatePlaintextDocument,
} from './document-format.js';
import {
  TenantSecurityErrorCode,
  TenantSecurityException,
  TscException,
  TspServiceException,
  exceptionFromCode,
} from './errors.js';
import {
  ProxyTransport,
  normaliseProxyUrl,
  parseCallOptions,
  parseClientOptions,
  type CallOptions,
  type TenantSecurityClientOptions,
} from './http.js';
import type { DocumentMetadata, EventMetadata, EventMetadataJson, MetadataJson } from './metadata.js';
import { setOwn } from './own-property.js';
import { SecurityEvent } from './security-events.js';
import { StreamDecryptor, StreamEncryptor, nodeTransform, webTransform, type StreamCore } from './streams.js';
import type {
  Base64String,
  BatchResult,
  EncryptedDocumentWithEdek,
  EncryptedDocumentWithEdekCollection,
  PlaintextDocument,
  PlaintextDocumentCollection,
  PlaintextDocumentWithEdek,
  PlaintextDocumentWithEdekCollection,
  StreamingResponse,
} from './types.js';

// Proxy answers (PROTOCOL.md §1.2). Extra keys are allowed, as IronCore's client allows them.
const wrapResponse = z.looseObject({ dek: z.string(), edek: z.string() });
const unwrapResponse = z.looseObject({ dek: z.string() });
const errorEntry = z.looseObject({ code: z.number(), message: z.string() });
const batchWrapResponse = z.looseObject({
  keys: z.record(z.string(), wrapResponse),
  failures: z.record(z.string(), errorEntry),
});
const batchUnwrapResponse = z.looseObject({
  keys: z.record(z.string(), unwrapResponse),
  failures: z.record(z.string(), errorEntry),
});
const anyResponse = z.unknown();

type InputStream = NodeJS.ReadableStream | ReadableStream<Uint8Array>;
type OutputStream = NodeJS.WritableStream | WritableStream<Uint8Array>;

function invalidRequest(message: string): TspServiceException {
  return new TspServiceException(TenantSecurityErrorCode.INVALID_REQUEST_BODY, message);
}

function requireMetadata<T extends { toJsonStructure(): MetadataJson }>(metadata: T, what: string): MetadataJson {
  if (metadata === null || typeof metadata !== 'object' || typeof metadata.toJsonStructure !== 'function') {
    throw invalidRequest(`metadata must be a ${what} instance.`);
  }
  return metadata.toJsonStructure();
}

function requireEdek(edek: unknown, what = 'edek'): string {
  if (typeof edek !== 'string' || edek.length === 0) throw invalidRequest(`${what} must be a non-empty base64 string.`);
  return edek;
}

function requireCollection(collection: unknown, what: string): Record<string, unknown> {
  if (collection === null || typeof collection !== 'object' || Array.isArray(collection)) {
    throw invalidRequest(`${what} must be an object keyed by document id.`);
  }
  return collection as Record<string, unknown>;
}

function requireEntryWithEdek<T extends { edek: string }>(entry: unknown, documentId: string, documentKey: string): T {
  if (entry === null || typeof entry !== 'object' || !(documentKey in entry)) {
    throw invalidRequest(`Document \`${documentId}\` must be an object with \`${documentKey}\` and \`edek\`.`);
  }
  requireEdek((entry as { edek?: unknown }).edek, `The edek of document \`${documentId}\``);
  return entry as T;
}

/** A DEK from the proxy, refused unless it is 32 bytes. */
function dekFromProxy(dek: string): Buffer {
  try {
    return toDekBytes(dek);
  } catch {
    throw new TspServiceException(
      TenantSecurityErrorCode.UNKNOWN_ERROR,
      'The Tenant Security Proxy returned a DEK that is not 32 bytes.',
    );
  }
}

function isWebReadable(stream: unknown): stream is ReadableStream<Uint8Array> {
  return typeof (stream as ReadableStream | undefined)?.getReader === 'function';
}

function isWebWritable(stream: unknown): stream is WritableStream<Uint8Array> {
  return typeof (stream as WritableStream | undefined)?.getWriter === 'function';
}

function isNodeReadable(stream: unknown): stream is NodeJS.ReadableStream {
  return (
    typeof (stream as NodeJS.ReadableStream | undefined)?.pipe === 'function' &&
    typeof (stream as NodeJS.ReadableStream).on === 'function'
  );
}

function isNodeWritable(stream: unknown): stream is NodeJS.WritableStream {
  return (
    typeof (stream as NodeJS.WritableStream | undefined)?.write === 'function' &&
    typeof (stream as NodeJS.WritableStream).on === 'function'
  );
}

function requireStreams(input: unknown, output: unknown): void {
  if (!isWebReadable(input) && !isNodeReadable(input))
    throw invalidRequest('The input must be a Node Readable or a Web ReadableStream.');
  if (!isWebWritable(output) && !isNodeWritable(output))
    throw invalidRequest('The output must be a Node Writable or a Web WritableStream.');
}

/** Pipes `input` through `core` into `output`, Web to Web natively, anything else through Node streams. */
async function runStream(
  core: StreamCore,
  input: InputStream,
  output: OutputStream,
  failureCode: TenantSecurityErrorCode,
  signal?: AbortSignal,
): Promise<void> {
  try {
    if (isWebReadable(input) && isWebWritable(output)) {
      await input.pipeThrough(webTransform(core)).pipeTo(output, signal ? { signal } : {});
      return;
    }
    const source = isWebReadable(input)
      ? Readable.fromWeb(input as import('node:stream/web').ReadableStream)
      : (input as NodeJS.ReadableStream);
    const sink = isWebWritable(output)
      ? Writable.fromWeb(output as import('node:stream/web').WritableStream)
      : (output as NodeJS.WritableStream);
    await pipeline(source, nodeTransform(core), sink, signal ? { signal } : {});
  } catch (error) {
    if (error instanceof TenantSecurityException) throw error;
    throw new TscException(failureCode, `Stream failed: ${(error as Error)?.message ?? String(error)}`);
  }
}

function toBatchResult<T>(entries: Record<string, T | TenantSecurityException>): BatchResult<T> {
  const result: BatchResult<T> = { successes: {}, failures: {}, hasSuccesses: false, hasFailures: false };
  for (const [documentId, entry] of Object.entries(entries)) {
    if (entry instanceof TenantSecurityException) {
      setOwn(result.failures, documentId, entry);
      result.hasFailures = true;
    } else {
      setOwn(result.successes, documentId, entry);
      result.hasSuccesses = true;
    }
  }
  return result;
}

type BatchKeys<K> = { keys: Record<string, K>; failures: Record<string, { code: number; message: string }> };

/**
 * Runs `work` for each document that got a key; proxy failures, missing answers and local failures become
 * failures of that document only. Batch failures carry no HTTP status (PROTOCOL.md §1.2).
 */
function perDocument<K, T>(
  ids: string[],
  batch: BatchKeys<K>,
  work: (documentId: string, key: K) => T,
): BatchResult<T> {
  const entries: Record<string, T | TenantSecurityException> = {};
  for (const documentId of ids) {
    const failure = Object.hasOwn(batch.failures, documentId) ? batch.failures[documentId] : undefined;
    const key = Object.hasOwn(batch.keys, documentId) ? batch.keys[documentId] : undefined;
    if (failure) {
      setOwn(entries, documentId, exceptionFromCode(failure.code, failure.message));
    } else if (key === undefined) {
      setOwn(
        entries,
        documentId,
        new TspServiceException(
          TenantSecurityErrorCode.UNKNOWN_ERROR,
          'The Tenant Security Proxy returned neither a key nor a failure for this document.',
        ),
      );
    } else {
      try {
        setOwn(entries, documentId, work(documentId, key));
      } catch (error) {
        if (!(error instanceof TenantSecurityException)) throw error;
        setOwn(entries, documentId, error);
      }
    }
  }
  return toBatchResult(entries);
}

function emptyBatch<T>(): BatchResult<T> {
  return { successes: {}, failures: {}, hasSuccesses: false, hasFailures: false };
}

export class TenantSecurityClient {
  private readonly transport: ProxyTransport;

  /**
   * @param tspDomain base URL of the Tenant Security Proxy, e.g. `https://tsp.internal:7777` (a trailing slash or a
   *   path prefix is fine; plain http:// only to loopback unless `allowInsecureHttp`).
   * @param apiKey the proxy's API key, sent as `Authorization: cmk <apiKey>`.
   */
  constructor(tspDomain: string, apiKey: string, options?: TenantSecurityClientOptions) {
    const parsedOptions = parseClientOptions(options);
    const baseUrl = normaliseProxyUrl(tspDomain, parsedOptions.allowInsecureHttp);
    if (typeof apiKey !== 'string' || apiKey.length === 0) throw new Error('No value provided for TSP API Key');
    // The key goes into a header; a line break would let it forge other headers.
    if (/[\r\n]/.test(apiKey)) throw new Error('The TSP API Key must not contain line breaks.');
    this.transport = new ProxyTransport(baseUrl, apiKey, parsedOptions);
  }

  /** Closes idle kept-alive connections to the proxy. The client stays usable; new calls open new connections. */
  close = (): void => this.transport.close();

  /** True when `bytes` starts like a v3 document: longer than 7 bytes, 0x03, "IRON". */
  isCiphertext = (bytes: Uint8Array): boolean => bytes instanceof Uint8Array && isV3Ciphertext(bytes);

  encryptDocument = async (
    document: PlaintextDocument,
    metadata: DocumentMetadata,
    options?: CallOptions,
  ): Promise<EncryptedDocumentWithEdek> => {
    const body = requireMetadata(metadata, 'DocumentMetadata');
    const callOptions = parseCallOptions(options);
    // Refuse bad input before asking the proxy for a key (and logging a wrap event for nothing).
    validatePlaintextDocument(document);
    const { dek, edek } = await this.transport.post('document/wrap', body, wrapResponse, callOptions);
    return { edek, encryptedDocument: encryptDocumentFields(document, dekFromProxy(dek), body.tenantId, true) };
  };

  encryptDocumentWithExistingKey = async (
    document: PlaintextDocumentWithEdek,
    metadata: DocumentMetadata,
    options?: CallOptions,
  ): Promise<EncryptedDocumentWithEdek> => {
    const body = requireMetadata(metadata, 'DocumentMetadata');
    const callOptions = parseCallOptions(options);
    const entry = requireEntryWithEdek<PlaintextDocumentWithEdek>(document, 'document', 'plaintextDocument');
    validatePlaintextDocument(entry.plaintextDocument);
    const { dek } = await this.transport.post(
      'document/unwrap',
      { ...body, encryptedDocumentKey: entry.edek },
      unwrapResponse,
      callOptions,
    );
    return {
      edek: entry.edek,
      encryptedDocument: encryptDocumentFields(entry.plaintextDocument, dekFromProxy(dek), body.tenantId, true),
    };
  };

  decryptDocument = async (
    encryptedDoc: EncryptedDocumentWithEdek,
    metadata: DocumentMetadata,
    options?: CallOptions,
  ): Promise<PlaintextDocumentWithEdek> => {
    const body = requireMetadata(metadata, 'DocumentMetadata');
    const callOptions = parseCallOptions(options);
    const entry = requireEntryWithEdek<EncryptedDocumentWithEdek>(encryptedDoc, 'document', 'encryptedDocument');
    const { dek } = await this.transport.post(
      'document/unwrap',
      { ...body, encryptedDocumentKey: entry.edek },
      unwrapResponse,
      callOptions,
    );
    return { edek: entry.edek, plaintextDocument: decryptDocumentFields(entry.encryptedDocument, dekFromProxy(dek)) };
  };

  encryptDocumentBatch = async (
    documentList: PlaintextDocumentCollection,
    metadata: DocumentMetadata,
    options?: CallOptions,
  ): Promise<BatchResult<EncryptedDocumentWithEdek>> => {
    const body = requireMetadata(metadata, 'DocumentMetadata');
    const callOptions = parseCallOptions(options);
    const documents = requireCollection(documentList, 'documentList') as PlaintextDocumentCollection;
    const documentIds = Object.keys(documents);
    if (documentIds.length === 0) return emptyBatch();
    const batch = await this.transport.post(
      'document/batch-wrap',
      { ...body, documentIds },
      batchWrapResponse,
      callOptions,
    );
    return perDocument(documentIds, batch, (documentId, key) => ({
      edek: key.edek,
      encryptedDocument: encryptDocumentFields(documents[documentId]!, dekFromProxy(key.dek), body.tenantId),
    }));
  };

  encryptDocumentBatchWithExistingKey = async (
    documentList: PlaintextDocumentWithEdekCollection,
    metadata: DocumentMetadata,
    options?: CallOptions,
  ): Promise<BatchResult<EncryptedDocumentWithEdek>> =>
    this.withBatchUnwrappedKeys<PlaintextDocumentWithEdek, EncryptedDocumentWithEdek>(
      documentList,
      metadata,
      options,
      'plaintextDocument',
      (document, dek, tenantId) => ({
        edek: document.edek,
        encryptedDocument: encryptDocumentFields(document.plaintextDocument, dek, tenantId),
      }),
    );

  decryptDocumentBatch = async (
    documentList: EncryptedDocumentWithEdekCollection,
    metadata: DocumentMetadata,
    options?: CallOptions,
  ): Promise<BatchResult<PlaintextDocumentWithEdek>> =>
    this.withBatchUnwrappedKeys<EncryptedDocumentWithEdek, PlaintextDocumentWithEdek>(
      documentList,
      metadata,
      options,
      'encryptedDocument',
      (document, dek) => ({
        edek: document.edek,
        plaintextDocument: decryptDocumentFields(document.encryptedDocument, dek),
      }),
    );

  /** One batch-unwrap call for every document's EDEK; `work` runs per document whose key came back. */
  private async withBatchUnwrappedKeys<In extends { edek: string }, Out>(
    documentList: unknown,
    metadata: DocumentMetadata,
    options: CallOptions | undefined,
    documentKey: string,
    work: (document: In, dek: Buffer, tenantId: string) => Out,
  ): Promise<BatchResult<Out>> {
    const body = requireMetadata(metadata, 'DocumentMetadata');
    const callOptions = parseCallOptions(options);
    const documents = requireCollection(documentList, 'documentList');
    const documentIds = Object.keys(documents);
    if (documentIds.length === 0) return emptyBatch();
    const entries: Record<string, In> = {};
    const edeks: Record<string, string> = {};
    for (const documentId of documentIds) {
      const entry = requireEntryWithEdek<In>(documents[documentId], documentId, documentKey);
      setOwn(entries, documentId, entry);
      setOwn(edeks, documentId, entry.edek);
    }
    const batch = await this.transport.post(
      'document/batch-unwrap',
      { ...body, edeks },
      batchUnwrapResponse,
      callOptions,
    );
    return perDocument(documentIds, batch, (documentId, key) =>
      work(entries[documentId]!, dekFromProxy(key.dek), body.tenantId),
    );
  }

  /** Re-wraps a document's key for `newTenantId` (which may be the same tenant: re-wrap under its current primary KMS). */
  rekeyEdek = async (
    edek: Base64String,
    newTenantId: string,
    metadata: DocumentMetadata,
    options?: CallOptions,
  ): Promise<Base64String> => {
    const body = requireMetadata(metadata, 'DocumentMetadata');
    const callOptions = parseCallOptions(options);
    requireEdek(edek);
    if (typeof newTenantId !== 'string' || newTenantId.length === 0)
      throw invalidRequest('newTenantId must be a non-empty string.');
    const response = await this.transport.post(
      'document/rekey',
      { ...body, encryptedDocumentKey: edek, newTenantId },
      wrapResponse,
      callOptions,
    );
    return response.edek;
  };

  /**
   * Encrypts a stream (Node Readable or Web ReadableStream) into another (Node Writable or Web WritableStream) in
   * constant memory, in the same layout as a document field.
   */
  encryptStream = async (
    inputStream: InputStream,
    outputStream: OutputStream,
    metadata: DocumentMetadata,
    options?: CallOptions,
  ): Promise<StreamingResponse> => {
    const body = requireMetadata(metadata, 'DocumentMetadata');
    const callOptions = parseCallOptions(options);
    requireStreams(inputStream, outputStream);
    const { dek, edek } = await this.transport.post('document/wrap', body, wrapResponse, callOptions);
    const core = new StreamEncryptor(dekFromProxy(dek), body.tenantId);
    await runStream(
      core,
      inputStream,
      outputStream,
      TenantSecurityErrorCode.DOCUMENT_ENCRYPT_FAILED,
      callOptions.signal,
    );
    return { edek };
  };

  /**
   * Decrypts a stream written by `encryptStream` (of either client). Plaintext is written before the final tag is
   * checked; when this rejects, discard what was written.
   */
  decryptStream = async (
    edek: Base64String,
    inputStream: InputStream,
    outputStream: OutputStream,
    metadata: DocumentMetadata,
    options?: CallOptions,
  ): Promise<StreamingResponse> => {
    const body = requireMetadata(metadata, 'DocumentMetadata');
    const callOptions = parseCallOptions(options);
    requireEdek(edek);
    requireStreams(inputStream, outputStream);
    const { dek } = await this.transport.post(
      'document/unwrap',
      { ...body, encryptedDocumentKey: edek },
      unwrapResponse,
      callOptions,
    );
    await runStream(
      new StreamDecryptor(dekFromProxy(dek)),
      inputStream,
      outputStream,
      TenantSecurityErrorCode.DOCUMENT_DECRYPT_FAILED,
      callOptions.signal,
    );
    return { edek };
  };

  /** Sends a security event to the tenant's logging (the proxy accepts it asynchronously). */
  logSecurityEvent = async (event: SecurityEvent, metadata: EventMetadata, options?: CallOptions): Promise<void> => {
    if (!(event instanceof SecurityEvent) && typeof (event as SecurityEvent | undefined)?.getFlatEvent !== 'function') {
      throw invalidRequest(
        'event must be a SecurityEvent (UserEvent.LOGIN, DataEvent.EXPORT, new CustomSecurityEvent("NAME"), …).',
      );
    }
    const body = requireMetadata(metadata, 'EventMetadata') as EventMetadataJson;
    const callOptions = parseCallOptions(options);
    await this.transport.post(
      'event/security-event',
      { ...body, iclFields: { ...body.iclFields, event: event.getFlatEvent() } },
      anyResponse,
      callOptions,
    );
  };
}
