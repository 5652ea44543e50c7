import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { LeasedWrap } from './leased-crypto.js';
import type { Logger } from './logger.js';

/** One pre-wrapped DEK as the worker lays it out: DEK (32) || IV (12) || ciphertext (32) || GCM tag (16). */
export const PREWRAPPED_ENTRY_BYTES = 92;
/**
 * A pool asks for this many DEKs at a time, doubling its request while it runs dry, up to the maximum. The maximum is
 * small on purpose: the worker's bursts of CPU then stay under a millisecond, and with every core busy the
 * request tail showed it. Interleaved at c=10 on 2 cores, p99 of a leased wrap: 1.4–1.8 ms with 1,024, 1.1–1.4 ms
 * with 256, 1.0–1.15 ms with 128 (the bare node:http server: 0.75–1.6 ms), at the same requests per second;
 * batch-wraps of 1,000 ran at the same rate either way.
 */
const MIN_REFILL = 32;
const MAX_REFILL = 128;
/** A worker that died is started again at most this often (a crash loop must not cost a thread per request). */
const RESTART_INTERVAL_MS = 1000;

/**
 * The worker thread, as source: jest runs this package's TypeScript as CommonJS while the build is ESM, and an
 * evaluated script is the one form both can start. It holds one KeyObject per pool and answers each `fill` with a
 * transferred buffer of entries.
 * - DEK and IV come from one randomFillSync over the whole batch (node:crypto's CSPRNG); the ciphertext half of
 *   each entry is then overwritten.
 * - AES-256-GCM with a random 96-bit IV per DEK: NIST SP 800-38D §8.2.2 (RBG-based IVs); leases rotate long before
 *   the 2^32 invocations per key that §8.3 allows for random IVs.
 */
const WORKER_SOURCE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const { createCipheriv, createSecretKey, randomFillSync } = require('node:crypto');
const ENTRY = ${PREWRAPPED_ENTRY_BYTES};
const keys = new Map();
parentPort.on('message', (message) => {
  if (message.type === 'key') {
    const raw = new Uint8Array(message.raw);
    keys.set(message.pool, createSecretKey(raw));
    raw.fill(0);
    return;
  }
  if (message.type === 'forget') {
    keys.delete(message.pool);
    return;
  }
  const key = keys.get(message.pool);
  if (!key) return;
  const out = Buffer.from(new ArrayBuffer(message.count * ENTRY));
  randomFillSync(out);
  for (let o = 0; o < out.length; o += ENTRY) {
    const cipher = createCipheriv('aes-256-gcm', key, out.subarray(o + 32, o + 44));
    cipher.update(out.subarray(o, o + 32)).copy(out, o + 44);
    cipher.final();
    cipher.getAuthTag().copy(out, o + 76);
  }
  parentPort.postMessage({ pool: message.pool, buffer: out.buffer }, [out.buffer]);
});
`;

type WorkerReply = { pool: number; buffer: ArrayBuffer };

/**
 * Leased wraps computed ahead of time on a worker thread. A leased wrap needs no input from the request (a fresh
 * random DEK, encrypted under the lease's key), so the worker prepares batches of them and the event loop only hands
 * the next one out: the AES-GCM context that node:crypto sets up and tears down for every wrap (about 5 µs, and a
 * weak handle that every young-generation GC must process) leaves the thread that serves requests.
 *
 * Every pool is bounded: at most `maxPooled` prepared DEKs exist across all leases, a lease asks for more only while
 * it is being used, and the DEKs a lease has not handed out are zeroed when it rotates, is dropped or sits idle.
 * Nothing depends on the worker: an empty pool (a cold lease, a dead worker, the budget spent) means the caller wraps
 * inline, as it would without this class.
 */
export class DekPrewrapper {
  private worker: Worker | undefined;
  private workerGeneration = 0;
  private lastStart = -Infinity;
  private nextPoolId = 1;
  private readonly pools = new Map<number, PrewrapPool>();
  /** DEKs prepared or requested and not yet handed out or discarded. */
  private outstanding = 0;
  private closed = false;
  /** Wraps served from pools and inline (the caller's fallback); exported as a metric. */
  readonly served = { prewrapped: 0, inline: 0 };

  constructor(
    private readonly maxPooled: number,
    private readonly logger?: Logger,
  ) {}

  get enabled(): boolean {
    return this.maxPooled > 0 && !this.closed;
  }

  /** DEKs prepared or on their way, across all pools (bounded by `maxPooled`). */
  get pooledCount(): number {
    return this.outstanding;
  }

  /** A pool for one lease's key; empty until the worker's first batch arrives. Close it when the lease goes. */
  open(key: KeyObject): PrewrapPool {
    const pool = new PrewrapPool(this, this.nextPoolId++, key);
    if (this.enabled) this.pools.set(pool.id, pool);
    return pool;
  }

  /** @internal Reserves up to `wanted` DEKs of the budget and asks the worker for them; returns how many. */
  request(pool: PrewrapPool, wanted: number): number {
    if (!this.enabled || !this.pools.has(pool.id)) return 0;
    const count = Math.min(wanted, this.maxPooled - this.outstanding);
    if (count <= 0) return 0;
    const worker = this.ensureWorker();
    if (!worker) return 0;
    if (pool.keySentTo !== this.workerGeneration) {
      // The raw key crosses to the worker in a transferred buffer (moved, not copied), which the worker zeroes.
      const exported = pool.key.export();
      const raw = Uint8Array.from(exported);
      exported.fill(0);
      worker.postMessage({ type: 'key', pool: pool.id, raw: raw.buffer }, [raw.buffer]);
      pool.keySentTo = this.workerGeneration;
    }
    worker.postMessage({ type: 'fill', pool: pool.id, count });
    this.outstanding += count;
    return count;
  }

  /** @internal A pool handed out one DEK. */
  consumed(): void {
    this.outstanding--;
    this.served.prewrapped++;
  }

  /** @internal A pool discarded DEKs it had or was waiting for. */
  released(count: number): void {
    this.outstanding -= count;
  }

  /** @internal */
  forget(pool: PrewrapPool): void {
    if (!this.pools.delete(pool.id)) return;
    if (this.worker && pool.keySentTo === this.workerGeneration)
      this.worker.postMessage({ type: 'forget', pool: pool.id });
  }

  /** Discards the prepared DEKs of pools unused for `idleMs` (their leases keep wrapping inline until used again). */
  sweep(idleMs: number): void {
    const before = Date.now() - idleMs;
    for (const pool of this.pools.values()) if (pool.lastUsed < before) pool.discard();
  }

  /** Stops the worker and zeroes every prepared DEK. */
  async close(): Promise<void> {
    this.closed = true;
    for (const pool of [...this.pools.values()]) pool.close();
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  /** For tests: stops the worker as a crash would. */
  async killWorkerForTest(): Promise<void> {
    await this.worker?.terminate();
  }

  private ensureWorker(): Worker | undefined {
    if (this.worker) return this.worker;
    const now = Date.now();
    if (now - this.lastStart < RESTART_INTERVAL_MS) return undefined;
    this.lastStart = now;
    const generation = ++this.workerGeneration;
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SOURCE, {
        eval: true,
        name: 'opencmk-prewrap',
        // Its garbage is one cipher object per DEK and dies at once: a small young generation keeps the thread's
        // memory small (each V8 isolate otherwise reserves up to 32 MiB of it).
        resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 },
      });
    } catch (error) {
      // No threads to be had (a sandbox, a thread limit): the wrap that asked goes inline, like every other miss.
      this.logger?.warn({ err: error }, 'prewrap worker could not start; wrapping inline');
      return undefined;
    }
    // The worker must never keep a stopping proxy alive.
    worker.unref();
    worker.on('message', (reply: WorkerReply) => {
      const pool = this.worker === worker ? this.pools.get(reply.pool) : undefined;
      if (pool) pool.receive(Buffer.from(reply.buffer));
      else {
        // The lease went while its batch was being made (or the batch outlived its worker, whose budget is already
        // given back): nobody will ever hand these out.
        Buffer.from(reply.buffer).fill(0);
      }
    });
    worker.on('error', (error) => this.logger?.warn({ err: error }, 'prewrap worker failed; wrapping inline'));
    worker.on('exit', () => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      // Batches it had not sent are lost: give their budget back, so the pools ask the next worker.
      for (const pool of this.pools.values()) pool.workerLost(generation);
      if (!this.closed) this.logger?.warn('prewrap worker stopped; it is started again on demand');
    });
    this.worker = worker;
    return worker;
  }
}

/** The prepared DEKs of one lease. */
export class PrewrapPool {
  private readonly batches: Buffer[] = [];
  /** Bytes of batches[0] already handed out. */
  private offset = 0;
  private available = 0;
  private requested = 0;
  private refill = MIN_REFILL;
  private grewWhileDry = false;
  private closed = false;
  /** @internal The worker generation that holds this pool's key. */
  keySentTo = 0;
  lastUsed = Date.now();

  constructor(
    private readonly owner: DekPrewrapper,
    readonly id: number,
    readonly key: KeyObject,
  ) {}

  /** DEKs ready to hand out now. */
  get size(): number {
    return this.available;
  }

  /**
   * The next prepared wrap, or undefined when none is ready (the caller then wraps inline). Each entry is handed out
   * once: the offset only moves forward, and a batch is dropped once it has been read to the end.
   */
  take(): LeasedWrap | undefined {
    this.lastUsed = Date.now();
    if (this.available === 0) {
      if (!this.closed) {
        // Ran dry after an earlier batch: the lease is busier than its batches, so ask for more at a time (once per
        // dry spell, not once per inline wrap).
        if (!this.grewWhileDry && this.keySentTo !== 0) {
          this.refill = Math.min(MAX_REFILL, this.refill * 2);
          this.grewWhileDry = true;
        }
        this.topUp();
      }
      this.owner.served.inline++;
      return undefined;
    }
    let batch = this.batches[0]!;
    if (this.offset === batch.length) {
      this.batches.shift();
      this.offset = 0;
      batch = this.batches[0]!;
    }
    const o = this.offset;
    this.offset = o + PREWRAPPED_ENTRY_BYTES;
    this.available--;
    this.owner.consumed();
    if (this.available + this.requested < this.refill / 2) this.topUp();
    return {
      dek: batch.subarray(o, o + 32),
      iv: batch.subarray(o + 32, o + 44),
      sealed: batch.subarray(o + 44, o + PREWRAPPED_ENTRY_BYTES),
    };
  }

  /** @internal A batch from the worker. */
  receive(batch: Buffer): void {
    const count = batch.length / PREWRAPPED_ENTRY_BYTES;
    this.requested -= count;
    this.grewWhileDry = false;
    this.batches.push(batch);
    this.available += count;
  }

  /** @internal The worker died with `requested` DEKs of this pool unsent. */
  workerLost(generation: number): void {
    if (this.keySentTo !== generation) return;
    this.owner.released(this.requested);
    this.requested = 0;
  }

  /** Zeroes the DEKs not yet handed out and forgets them; the pool stays usable. */
  discard(): void {
    for (let i = 0; i < this.batches.length; i++) this.batches[i]!.fill(0, i === 0 ? this.offset : 0);
    this.owner.released(this.available);
    this.batches.length = 0;
    this.offset = 0;
    this.available = 0;
    this.refill = MIN_REFILL;
  }

  /** The lease rotated or was dropped: zero what is left and never refill. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.discard();
    // Batches still on their way are zeroed by the owner on arrival; their budget is free from now.
    this.owner.released(this.requested);
    this.requested = 0;
    this.owner.forget(this);
  }

  private topUp(): void {
    const wanted = this.refill - this.available - this.requested;
    if (wanted > 0) this.requested += this.owner.request(this, wanted);
  }
}
