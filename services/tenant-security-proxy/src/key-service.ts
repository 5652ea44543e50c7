import { decodeEdek, encodeKmsEdek, type ParsedEdek } from './edek.js';
import { TspError, toTspError, KmsError } from './errors.js';
import type { EventRecorder, SecurityEventRecord } from './events/types.js';
import { randomKey32, wrapExistingDek } from './leased-crypto.js';
import { newLeasedWrap, type LeaseManager } from './leases.js';
import type { KmsConfigEntry, TenantStore } from './tenant-store.js';

export interface RequestMetadata {
  tenantId: string;
  iclFields: Record<string, string | null | undefined>;
  customFields: Record<string, string>;
}

export interface WrapResult {
  dek: string;
  edek: string;
}

export interface BatchResult<T> {
  keys: Record<string, T>;
  failures: Record<string, { code: number; message: string }>;
}

type MaybePromise<T> = T | Promise<T>;

const BATCH_KMS_CONCURRENCY = 16;

/**
 * The key operations of PROTOCOL.md §1.2 over the tenant store, the leases and the KMS adapters. Leased operations
 * whose lease is in memory return synchronously (no promise on the hot path); everything else returns a promise.
 */
export class KeyService {
  constructor(
    private readonly store: TenantStore,
    private readonly leases: LeaseManager,
    private readonly events: EventRecorder,
  ) {}

  wrap(meta: RequestMetadata): MaybePromise<WrapResult> {
    let primary: KmsConfigEntry;
    try {
      primary = this.store.requirePrimary(meta.tenantId);
    } catch (error) {
      this.emit(meta, 'KMS_WRAP', undefined, undefined, (error as TspError).code);
      throw error;
    }
    if (primary.leasing) {
      const lease = this.leases.currentSync(primary.id);
      if (lease) {
        const wrapped = newLeasedWrap(lease);
        this.emit(meta, 'KMS_WRAP', primary.id, true, 0);
        return { dek: wrapped.dek.toString('base64'), edek: lease.encoder.encode(wrapped.sealed, wrapped.iv) };
      }
    }
    return this.wrapSlow(meta, primary, 'KMS_WRAP');
  }

  private async wrapSlow(
    meta: RequestMetadata,
    primary: KmsConfigEntry,
    eventName: string,
    objectId?: string,
  ): Promise<WrapResult> {
    try {
      const result = await this.wrapWith(primary, undefined);
      this.emit(meta, eventName, primary.id, primary.leasing, 0, objectId);
      return result;
    } catch (error) {
      const tspError = toTspError(error, 'wrap');
      this.emit(meta, eventName, primary.id, primary.leasing, tspError.code, objectId);
      throw tspError;
    }
  }

  /** Wraps a new DEK (or the given one, for rekey) under a config: leased when the config allows it. */
  private async wrapWith(config: KmsConfigEntry, existingDek: Uint8Array | undefined): Promise<WrapResult> {
    if (config.leasing) {
      const lease = await this.leases.currentLease(config);
      const wrapped = existingDek ? wrapExistingDek(lease.key, existingDek) : newLeasedWrap(lease);
      return { dek: wrapped.dek.toString('base64'), edek: lease.encoder.encode(wrapped.sealed, wrapped.iv) };
    }
    const dek = existingDek ? Buffer.from(existingDek) : randomKey32();
    const ciphertext = await (await config.adapter()).wrap(dek, { tenantId: config.tenantId, kmsConfigId: config.id });
    return { dek: dek.toString('base64'), edek: encodeKmsEdek(config.id, config.tenantId, ciphertext) };
  }

  unwrap(meta: RequestMetadata, edekBase64: string): MaybePromise<{ dek: string }> {
    let edek: ParsedEdek;
    let config: KmsConfigEntry;
    try {
      edek = decodeEdek(edekBase64);
      config = this.configFor(meta.tenantId, edek);
    } catch (error) {
      this.emit(meta, 'KMS_UNWRAP', undefined, undefined, (error as TspError).code);
      throw error;
    }
    if (edek.leasedKeyId !== 0) {
      const key = this.leases.lookupSync(config.id, edek.leasedKeyId, edek.wrappedLeasedKey);
      if (key) {
        const dek = this.leases.unwrapLocal(key, edek.encryptedDekData, edek.leasedKeyIv);
        if (!dek) {
          this.emit(meta, 'KMS_UNWRAP', config.id, true, 203);
          throw new TspError(203, 'Provided EDEK failed authentication with its leased key');
        }
        this.emit(meta, 'KMS_UNWRAP', config.id, true, 0);
        return { dek: dek.toString('base64') };
      }
    }
    return this.unwrapSlow(meta, edek, config);
  }

  private async unwrapSlow(
    meta: RequestMetadata,
    edek: ParsedEdek,
    config: KmsConfigEntry,
    eventName = 'KMS_UNWRAP',
    objectId?: string,
  ): Promise<{ dek: string }> {
    try {
      const dek = await this.unwrapWith(edek, config);
      this.emit(meta, eventName, config.id, edek.leasedKeyId !== 0, 0, objectId);
      return { dek: Buffer.from(dek).toString('base64') };
    } catch (error) {
      const tspError = toTspError(error, 'unwrap');
      this.emit(meta, eventName, config.id, edek.leasedKeyId !== 0, tspError.code, objectId);
      throw tspError;
    }
  }

  private async unwrapWith(edek: ParsedEdek, config: KmsConfigEntry): Promise<Uint8Array> {
    const context = { tenantId: config.tenantId, kmsConfigId: config.id };
    if (edek.leasedKeyId === 0) {
      try {
        return await (await config.adapter()).unwrap(edek.encryptedDekData, context);
      } catch (error) {
        throw rejectedCiphertext(error, 'ciphertext');
      }
    }
    let key;
    try {
      key = await this.leases.unwrapLease(config, edek.leasedKeyId, edek.wrappedLeasedKey);
    } catch (error) {
      throw rejectedCiphertext(error, 'leased key');
    }
    const dek = this.leases.unwrapLocal(key, edek.encryptedDekData, edek.leasedKeyIv);
    if (!dek) throw new TspError(203, 'Provided EDEK failed authentication with its leased key');
    return dek;
  }

  /**
   * The config an EDEK names, if it belongs to the tenant and is usable for unwrap. A disabled config answers 202
   * even when it was the tenant's last one: the caller learns the kill switch is on, not that the tenant vanished.
   */
  private configFor(tenantId: string, edek: ParsedEdek): KmsConfigEntry {
    const tenant = this.store.get(tenantId);
    if (!tenant) throw new TspError(201, `No configurations available for the provided tenant '${tenantId}'`);
    const config = tenant.configs.get(edek.kmsConfigId);
    const foreign = edek.tenantId !== '' && edek.tenantId !== tenantId;
    if (config && !foreign && config.disabled) {
      throw new TspError(202, `KMS config ${edek.kmsConfigId} of tenant '${tenantId}' is disabled`);
    }
    if (tenant.activeCount === 0)
      throw new TspError(201, `No configurations available for the provided tenant '${tenantId}'`);
    if (!config || foreign)
      throw new TspError(203, `KMS config ${edek.kmsConfigId} is not assigned to tenant '${tenantId}'`);
    return config;
  }

  async batchWrap(meta: RequestMetadata, documentIds: string[]): Promise<BatchResult<WrapResult>> {
    const primary = this.store.requirePrimary(meta.tenantId);
    const result: BatchResult<WrapResult> = emptyBatchResult();
    const ids = [...new Set(documentIds)];
    if (primary.leasing) {
      let lease;
      try {
        lease = this.leases.currentSync(primary.id) ?? (await this.leases.currentLease(primary));
      } catch (error) {
        const tspError = toTspError(error, 'wrap');
        for (const id of ids) result.failures[id] = { code: tspError.code, message: tspError.message };
        this.emitBatch(meta, 'KMS_BATCH_WRAP', primary.id, true, tspError.code, ids);
        return result;
      }
      for (const id of ids) {
        const wrapped = newLeasedWrap(lease);
        result.keys[id] = {
          dek: wrapped.dek.toString('base64'),
          edek: lease.encoder.encode(wrapped.sealed, wrapped.iv),
        };
      }
      this.emitBatch(meta, 'KMS_BATCH_WRAP', primary.id, true, 0, ids);
      return result;
    }
    await forEachLimited(ids, BATCH_KMS_CONCURRENCY, async (id) => {
      try {
        result.keys[id] = await this.wrapSlow(meta, primary, 'KMS_BATCH_WRAP', id);
      } catch (error) {
        const tspError = toTspError(error, 'wrap');
        result.failures[id] = { code: tspError.code, message: tspError.message };
      }
    });
    return result;
  }

  /**
   * Leased EDEKs whose lease is in memory are unwrapped in one synchronous pass (their events recorded together, per
   * config); the rest (KMS EDEKs, leases to fetch) go to the KMS at most BATCH_KMS_CONCURRENCY at a time.
   */
  async batchUnwrap(meta: RequestMetadata, edeks: Record<string, string>): Promise<BatchResult<{ dek: string }>> {
    if (!this.store.get(meta.tenantId))
      throw new TspError(201, `No configurations available for the provided tenant '${meta.tenantId}'`);
    const result: BatchResult<{ dek: string }> = emptyBatchResult();
    const viaKms: [string, ParsedEdek, KmsConfigEntry][] = [];
    let unwrapped: string[] = [];
    let unwrappedConfig = 0;
    const recordUnwrapped = () => {
      if (unwrapped.length > 0) this.emitBatch(meta, 'KMS_BATCH_UNWRAP', unwrappedConfig, true, 0, unwrapped);
      unwrapped = [];
    };
    for (const [id, edekBase64] of Object.entries(edeks)) {
      let edek: ParsedEdek;
      let config: KmsConfigEntry;
      try {
        edek = decodeEdek(edekBase64);
        config = this.configFor(meta.tenantId, edek);
      } catch (error) {
        const tspError = toTspError(error, 'unwrap');
        result.failures[id] = { code: tspError.code, message: tspError.message };
        this.emit(meta, 'KMS_BATCH_UNWRAP', undefined, undefined, tspError.code, id);
        continue;
      }
      const key =
        edek.leasedKeyId === 0 ? undefined : this.leases.lookupSync(config.id, edek.leasedKeyId, edek.wrappedLeasedKey);
      if (!key) {
        viaKms.push([id, edek, config]);
        continue;
      }
      const dek = this.leases.unwrapLocal(key, edek.encryptedDekData, edek.leasedKeyIv);
      if (!dek) {
        result.failures[id] = { code: 203, message: 'Provided EDEK failed authentication with its leased key' };
        this.emit(meta, 'KMS_BATCH_UNWRAP', config.id, true, 203, id);
        continue;
      }
      result.keys[id] = { dek: dek.toString('base64') };
      if (config.id !== unwrappedConfig) {
        recordUnwrapped();
        unwrappedConfig = config.id;
      }
      unwrapped.push(id);
    }
    recordUnwrapped();
    await forEachLimited(viaKms, BATCH_KMS_CONCURRENCY, async ([id, edek, config]) => {
      try {
        result.keys[id] = await this.unwrapSlow(meta, edek, config, 'KMS_BATCH_UNWRAP', id);
      } catch (error) {
        const tspError = toTspError(error, 'unwrap');
        result.failures[id] = { code: tspError.code, message: tspError.message };
      }
    });
    return result;
  }

  /** Unwrap under `tenantId`, re-wrap the same DEK under the primary config of `newTenantId` (PROTOCOL.md §1.2). */
  async rekey(meta: RequestMetadata, edekBase64: string, newTenantId: string): Promise<WrapResult> {
    let configId: number | undefined;
    let leased: boolean | undefined;
    try {
      const edek = decodeEdek(edekBase64);
      const source = this.configFor(meta.tenantId, edek);
      configId = source.id;
      leased = edek.leasedKeyId !== 0;
      const dek = await this.unwrapWith(edek, source).catch((error: unknown) => {
        throw toTspError(error, 'unwrap');
      });
      const target = this.store.requirePrimary(newTenantId);
      configId = target.id;
      leased = target.leasing;
      const result = await this.wrapWith(target, dek).catch((error: unknown) => {
        throw toTspError(error, 'wrap');
      });
      this.emit(meta, 'KMS_REKEY', configId, leased, 0);
      return result;
    } catch (error) {
      const tspError = toTspError(error, 'wrap');
      this.emit(meta, 'KMS_REKEY', configId, leased, tspError.code);
      throw tspError;
    }
  }

  /** One event per item of a batch whose items share their outcome (see EventRecorder#recordBatch). */
  private emitBatch(
    meta: RequestMetadata,
    event: string,
    kmsConfigId: number,
    leased: boolean,
    code: number,
    objectIds: readonly string[],
  ): void {
    this.events.recordBatch(proxyEvent(meta, event, kmsConfigId, leased, code, undefined), objectIds);
  }

  private emit(
    meta: RequestMetadata,
    event: string,
    kmsConfigId: number | undefined,
    leased: boolean | undefined,
    code: number,
    objectId?: string,
  ): void {
    this.events.record(proxyEvent(meta, event, kmsConfigId, leased, code, objectId));
  }
}

/** A key operation's security event. One fixed object shape (absent fields are undefined) keeps it cheap. */
function proxyEvent(
  meta: RequestMetadata,
  event: string,
  kmsConfigId: number | undefined,
  leased: boolean | undefined,
  code: number,
  objectId: string | undefined,
): SecurityEventRecord {
  return {
    tenantId: meta.tenantId,
    event,
    timestampMillis: Date.now(),
    source: 'proxy',
    iclFields: meta.iclFields,
    customFields: meta.customFields,
    kmsConfigId,
    leased,
    code,
    objectId,
  };
}

/**
 * Unwrap failures that concern the ciphertext the EDEK carries are the caller's (HTTP 400, code 205): the KMS
 * rejected it, or does not know the key it names. A key that vanished also lands here on unwrap (wraps report it as
 * 207); the KMS's answers cannot tell a deleted key from a tampered blob.
 */
function rejectedCiphertext(error: unknown, part: string): unknown {
  if (error instanceof KmsError && (error.kind === 'InvalidCiphertext' || error.kind === 'KeyNotFound')) {
    return new TspError(
      205,
      `KMS unwrap failed: the KMS rejected the EDEK's ${part} (${error.message.slice(0, 120)})`,
      400,
    );
  }
  return error;
}

/** Null-prototype maps: a document id such as "__proto__" stays an ordinary key of the answer. */
function emptyBatchResult<T>(): BatchResult<T> {
  return {
    keys: Object.create(null) as Record<string, T>,
    failures: Object.create(null) as BatchResult<T>['failures'],
  };
}

async function forEachLimited<T>(items: T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await run(item);
    }
  });
  await Promise.all(workers);
}
