import type { KeyObject } from 'node:crypto';
import { encodeLeasedKeyEnvelope, LeasedEdekEncoder } from './edek.js';
import { GcmOpeners } from './gcm-opener.js';
import { leasedKeyObject, randomKey32, unwrapDek, wrapNewDek, type LeasedWrap } from './leased-crypto.js';
import type { DekPrewrapper, PrewrapPool } from './prewrap.js';
import type { KmsConfigEntry } from './tenant-store.js';
import type { ProxyMetrics } from './metrics.js';

/** The lease used for new wraps of one config. */
export interface CurrentLease {
  leasedKeyId: number;
  key: KeyObject;
  /** The KMS-wrapped leased key, to recognise this lease in EDEKs. */
  wrapped: Uint8Array;
  encoder: LeasedEdekEncoder;
  rotateAt: number;
  /** DEKs wrapped ahead of time under this lease (prewrap.ts); closed when the lease rotates or is dropped. */
  pool: PrewrapPool | undefined;
}

/** A fresh DEK wrapped under the lease: prepared by the worker when one is ready, else wrapped here and now. */
export function newLeasedWrap(lease: CurrentLease): LeasedWrap {
  return lease.pool?.take() ?? wrapNewDek(lease.key);
}

interface CachedLease {
  wrapped: Uint8Array;
  key: KeyObject;
  expiresAt: number;
}

/**
 * Leased keys (DESIGN.md §4): a random 256-bit key per config, wrapped once by the tenant's KMS; the wrapped copy
 * rides in every EDEK so any replica can unwrap it with one KMS call and then serve locally.
 * - current leases rotate after LEASE_ROTATION_SECONDS (old EDEKs still unwrap through the cache or the KMS);
 * - unwrapped leases stay in memory for LEASE_CACHE_TTL_SECONDS;
 * - a disabled or changed config drops all its leases at once, and a generation counter keeps a KMS call that was
 *   already in flight from re-inserting them;
 * - concurrent misses for one lease share one KMS call (single flight).
 */
export class LeaseManager {
  private readonly current = new Map<number, CurrentLease>();
  private readonly creating = new Map<number, Promise<CurrentLease>>();
  private readonly cache = new Map<string, CachedLease[]>();
  private readonly unwrapping = new Map<string, Promise<KeyObject>>();
  private readonly generation = new Map<number, number>();
  /** Reusable AES-GCM decryption for the leased keys that unwrap locally (gcm-opener.ts). */
  private readonly openers: GcmOpeners;

  constructor(
    private readonly rotationMs: number,
    private readonly ttlMs: number,
    private readonly metrics: ProxyMetrics,
    private readonly prewrapper?: DekPrewrapper,
    openerLimit?: number,
  ) {
    this.openers = new GcmOpeners(openerLimit);
  }

  /**
   * The DEK of a leased EDEK (ciphertext(32) || tag(16), IV) under a lease key from this manager, or undefined when
   * it does not authenticate: through the key's reusable opener when it has or can get one, else a per-call decipher.
   */
  unwrapLocal(key: KeyObject, sealed: Uint8Array, iv: Uint8Array): Buffer | undefined {
    if (sealed.length !== 48 || iv.length !== 12) return undefined;
    const opener = this.openers.get(key);
    if (!opener) return unwrapDek(key, sealed, iv);
    return opener.open(sealed.subarray(0, 32), sealed.subarray(32, 48), iv);
  }

  /** The current lease when it is fresh; the synchronous fast path of every leased wrap. */
  currentSync(configId: number): CurrentLease | undefined {
    const lease = this.current.get(configId);
    if (lease && lease.rotateAt > Date.now()) return lease;
    return undefined;
  }

  async currentLease(config: KmsConfigEntry): Promise<CurrentLease> {
    const fresh = this.currentSync(config.id);
    if (fresh) {
      this.metrics.leaseLookups.labels('hit').inc();
      return fresh;
    }
    this.metrics.leaseLookups.labels('miss').inc();
    let pending = this.creating.get(config.id);
    if (!pending) {
      const generation = this.generation.get(config.id) ?? 0;
      pending = this.createLease(config, generation).finally(() => this.creating.delete(config.id));
      this.creating.set(config.id, pending);
    }
    return pending;
  }

  private async createLease(config: KmsConfigEntry, generation: number): Promise<CurrentLease> {
    const raw = randomKey32();
    try {
      this.metrics.leaseKmsCalls.labels('create').inc();
      const wrapped = await (await config.adapter()).wrap(raw, { tenantId: config.tenantId, kmsConfigId: config.id });
      // A positive int32 (the EDEK field is int32); random so replicas rarely pick the same id, and the cache
      // compares the wrapped bytes anyway.
      const leasedKeyId = 1 + Math.floor(Math.random() * 0x7ffffffe);
      const key = leasedKeyObject(raw);
      const lease: CurrentLease = {
        leasedKeyId,
        key,
        wrapped: Uint8Array.from(wrapped),
        encoder: new LeasedEdekEncoder(
          config.id,
          config.tenantId,
          leasedKeyId,
          encodeLeasedKeyEnvelope(config.id, wrapped),
        ),
        rotateAt: Date.now() + this.rotationMs,
        pool: undefined,
      };
      if ((this.generation.get(config.id) ?? 0) === generation) {
        // Only a lease that becomes current gets a pool: one returned after a drop serves its waiting callers inline.
        lease.pool = this.prewrapper?.open(key);
        this.current.get(config.id)?.pool?.close();
        this.current.set(config.id, lease);
        this.remember(config.id, leasedKeyId, wrapped, key);
      }
      return lease;
    } finally {
      raw.fill(0);
    }
  }

  /** A cached unwrapped lease, or undefined; checks the wrapped bytes so two replicas' equal ids cannot mix. */
  lookupSync(configId: number, leasedKeyId: number, wrapped: Uint8Array): KeyObject | undefined {
    const entries = this.cache.get(cacheKey(configId, leasedKeyId));
    const now = Date.now();
    if (entries) {
      for (const entry of entries) {
        if (entry.expiresAt > now && Buffer.compare(entry.wrapped, wrapped) === 0) return entry.key;
      }
    }
    // The lease this replica wraps with is in memory anyway, even when its cache entry has expired.
    const current = this.current.get(configId);
    if (
      current &&
      current.leasedKeyId === leasedKeyId &&
      current.rotateAt > now &&
      Buffer.compare(current.wrapped, wrapped) === 0
    )
      return current.key;
    return undefined;
  }

  async unwrapLease(config: KmsConfigEntry, leasedKeyId: number, wrapped: Uint8Array): Promise<KeyObject> {
    const cached = this.lookupSync(config.id, leasedKeyId, wrapped);
    if (cached) {
      this.metrics.leaseLookups.labels('hit').inc();
      return cached;
    }
    this.metrics.leaseLookups.labels('miss').inc();
    const flightKey = `${config.id}:${leasedKeyId}:${Buffer.from(wrapped).toString('base64')}`;
    let pending = this.unwrapping.get(flightKey);
    if (!pending) {
      const generation = this.generation.get(config.id) ?? 0;
      pending = (async () => {
        this.metrics.leaseKmsCalls.labels('unwrap').inc();
        const raw = await (
          await config.adapter()
        ).unwrap(wrapped, { tenantId: config.tenantId, kmsConfigId: config.id });
        try {
          const key = leasedKeyObject(raw);
          if ((this.generation.get(config.id) ?? 0) === generation) this.remember(config.id, leasedKeyId, wrapped, key);
          return key;
        } finally {
          Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).fill(0);
        }
      })().finally(() => this.unwrapping.delete(flightKey));
      this.unwrapping.set(flightKey, pending);
    }
    return pending;
  }

  private remember(configId: number, leasedKeyId: number, wrapped: Uint8Array, key: KeyObject): void {
    const k = cacheKey(configId, leasedKeyId);
    const now = Date.now();
    const entries = (this.cache.get(k) ?? []).filter(
      (e) => e.expiresAt > now && Buffer.compare(e.wrapped, wrapped) !== 0,
    );
    entries.push({ wrapped: Uint8Array.from(wrapped), key, expiresAt: now + this.ttlMs });
    this.cache.set(k, entries);
  }

  /** Disabled, changed, removed or revoked: forget every lease of the config now. */
  drop(configId: number): void {
    this.generation.set(configId, (this.generation.get(configId) ?? 0) + 1);
    const current = this.current.get(configId);
    if (current) {
      current.pool?.close();
      this.openers.release(current.key);
    }
    this.current.delete(configId);
    const prefix = `${configId}:`;
    for (const [key, entries] of this.cache) {
      if (!key.startsWith(prefix)) continue;
      for (const entry of entries) this.openers.release(entry.key);
      this.cache.delete(key);
    }
  }

  /** Removes expired cache entries (called periodically, so memory does not grow with old leases). */
  sweep(idleMs = 60_000): void {
    // Prepared DEKs of leases that stopped wrapping: zeroed rather than kept for traffic that may not come.
    this.prewrapper?.sweep(idleMs);
    const now = Date.now();
    for (const [key, entries] of this.cache) {
      const live = entries.filter((e) => e.expiresAt > now);
      if (live.length === 0) this.cache.delete(key);
      else if (live.length !== entries.length) this.cache.set(key, live);
    }
    // An opener lives no longer than its key is reachable here (cached or current), nor a minute unused.
    const reachable = new Set<KeyObject>();
    for (const entries of this.cache.values()) for (const entry of entries) reachable.add(entry.key);
    for (const lease of this.current.values()) if (lease.rotateAt > now) reachable.add(lease.key);
    this.openers.sweep(idleMs, (key) => reachable.has(key), now);
  }

  /** Releases every opener (shutdown). */
  close(): void {
    this.openers.close();
  }

  get openerCount(): number {
    return this.openers.size;
  }

  get cachedCount(): number {
    return this.cache.size;
  }
}

function cacheKey(configId: number, leasedKeyId: number): string {
  return `${configId}:${leasedKeyId}`;
}
