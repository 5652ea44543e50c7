import fc from 'fast-check';
import { LeaseManager, newLeasedWrap, type CurrentLease } from '../../src/leases.js';
import { leasedKeyObject, randomKey32, unwrapDek, type LeasedWrap } from '../../src/leased-crypto.js';
import { ProxyMetrics } from '../../src/metrics.js';
import { DekPrewrapper, PREWRAPPED_ENTRY_BYTES, type PrewrapPool } from '../../src/prewrap.js';
import type { KmsConfigEntry } from '../../src/tenant-store.js';

const prewrappers: DekPrewrapper[] = [];
function prewrapper(maxPooled = 65536): DekPrewrapper {
  const p = new DekPrewrapper(maxPooled);
  prewrappers.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(prewrappers.splice(0).map((p) => p.close()));
});

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

/** Waits (up to 10 s) until `condition` holds. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await tick();
  }
}

/** `count` wraps from the pool itself (waiting for the worker when it is empty), copied out. */
async function takePrewrapped(pool: PrewrapPool, count: number): Promise<LeasedWrap[]> {
  const out: LeasedWrap[] = [];
  while (out.length < count) {
    const wrap = pool.take();
    if (wrap) out.push({ dek: Buffer.from(wrap.dek), iv: Buffer.from(wrap.iv), sealed: Buffer.from(wrap.sealed) });
    else await tick();
  }
  return out;
}

function expectValid(key: ReturnType<typeof leasedKeyObject>, wraps: LeasedWrap[]): void {
  for (const w of wraps) expect(unwrapDek(key, w.sealed, w.iv)?.equals(w.dek)).toBe(true);
}

test('pre-wrapped DEKs unwrap under the lease key to themselves, and no DEK or IV repeats across refills', async () => {
  const key = leasedKeyObject(randomKey32());
  const p = prewrapper();
  const pool = p.open(key);
  const wraps = await takePrewrapped(pool, 5000);
  expectValid(key, wraps);
  expect(new Set(wraps.map((w) => w.dek.toString('hex'))).size).toBe(5000);
  expect(new Set(wraps.map((w) => w.iv.toString('hex'))).size).toBe(5000);
  expect(p.served.prewrapped).toBe(5000);
  // Another lease's pool uses its own key.
  const other = leasedKeyObject(randomKey32());
  const [fromOther] = await takePrewrapped(p.open(other), 1);
  expect(unwrapDek(key, fromOther!.sealed, fromOther!.iv)).toBeUndefined();
  expectValid(other, [fromOther!]);
});

test('an empty pool answers at once (the caller wraps inline), then refills, asking for more while it runs dry', async () => {
  const p = prewrapper();
  const pool = p.open(leasedKeyObject(randomKey32()));
  expect(pool.take()).toBeUndefined();
  expect(p.served.inline).toBe(1);
  await until(() => pool.size === 32, 'the first batch');
  const sizes: number[] = [];
  for (let round = 0; round < 6; round++) {
    while (pool.take()) {
      // drain
    }
    await until(() => pool.size > 0 && p.pooledCount === pool.size, 'a refill');
    sizes.push(pool.size);
  }
  // Each time the lease ran dry the next request doubled, up to 128 at a time.
  expect(sizes.every((size, i) => i === 0 || size >= sizes[i - 1]!)).toBe(true);
  expect(Math.max(...sizes)).toBe(128);
});

test('the budget bounds the DEKs prepared across all pools, and is reused as DEKs are handed out', async () => {
  const p = prewrapper(80);
  const pools = [0, 1, 2].map(() => p.open(leasedKeyObject(randomKey32())));
  for (const pool of pools) pool.take();
  // 32 + 32 + the 16 left.
  await until(() => pools.reduce((sum, pool) => sum + pool.size, 0) === 80, 'the budget to fill');
  expect(pools.map((pool) => pool.size)).toEqual([32, 32, 16]);
  expect(p.pooledCount).toBe(80);
  const taken = await takePrewrapped(pools[0]!, 150);
  expect(taken).toHaveLength(150);
  expect(p.pooledCount).toBeLessThanOrEqual(80);
  expect(pools.reduce((sum, pool) => sum + pool.size, 0)).toBeLessThanOrEqual(80);
});

test('closing a pool zeroes the DEKs it had not handed out, and batches still on their way', async () => {
  const p = prewrapper();
  const pool = p.open(leasedKeyObject(randomKey32()));
  pool.take();
  await until(() => pool.size === 32, 'the first batch');
  const first = pool.take()!;
  const batch = new Uint8Array(first.dek.buffer, first.dek.byteOffset, 32 * PREWRAPPED_ENTRY_BYTES);
  expect(batch.subarray(PREWRAPPED_ENTRY_BYTES).some((byte) => byte !== 0)).toBe(true);
  pool.close();
  expect(batch.subarray(PREWRAPPED_ENTRY_BYTES).every((byte) => byte === 0)).toBe(true);
  expect(pool.take()).toBeUndefined();
  expect(p.pooledCount).toBe(0);

  // A pool closed while its request is with the worker: the batch is zeroed on arrival and never counted.
  const late = p.open(leasedKeyObject(randomKey32()));
  late.take();
  late.close();
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(late.size).toBe(0);
  expect(p.pooledCount).toBe(0);
});

test('a sweep zeroes the DEKs of idle pools; used again, they refill', async () => {
  const p = prewrapper();
  const pool = p.open(leasedKeyObject(randomKey32()));
  pool.take();
  await until(() => pool.size === 32, 'the first batch');
  p.sweep(60_000);
  expect(pool.size).toBe(32);
  await new Promise((resolve) => setTimeout(resolve, 20));
  p.sweep(10);
  expect(pool.size).toBe(0);
  expect(p.pooledCount).toBe(0);
  expect(pool.take()).toBeUndefined();
  await until(() => pool.size > 0, 'a refill after the sweep');
});

test('a worker that dies: its unsent batches are given back, wraps go inline, and a new worker takes over', async () => {
  const key = leasedKeyObject(randomKey32());
  const p = prewrapper();
  const pool = p.open(key);
  pool.take();
  await until(() => pool.size === 32, 'the first batch');
  await p.killWorkerForTest();
  // What had arrived is still handed out; then the pool asks a new worker (started at most once a second).
  const wraps = await takePrewrapped(pool, 200);
  expectValid(key, wraps);
  // No budget is left behind with the dead worker.
  await until(() => p.pooledCount === pool.size, 'the accounting to settle');
});

test('LEASE_PREWRAP_KEYS=0: nothing is prepared and every wrap is inline', async () => {
  const p = prewrapper(0);
  const pool = p.open(leasedKeyObject(randomKey32()));
  expect(pool.take()).toBeUndefined();
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(pool.take()).toBeUndefined();
  expect(p.pooledCount).toBe(0);
  expect(p.served).toEqual({ prewrapped: 0, inline: 2 });
});

test('property: whatever the order of takes, rotations and sweeps, no DEK is handed out twice and each unwraps', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.oneof(
          fc.record({ op: fc.constant('take' as const), count: fc.integer({ min: 1, max: 300 }) }),
          fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 15 }) }),
          fc.constant({ op: 'rotate' as const }),
          fc.constant({ op: 'sweep' as const }),
        ),
        { minLength: 1, maxLength: 25 },
      ),
      fc.integer({ min: 1, max: 400 }),
      async (ops, budget) => {
        const p = prewrapper(budget);
        let key = leasedKeyObject(randomKey32());
        let pool = p.open(key);
        const seen = new Set<string>();
        // The worker starts in some tens of ms: let it answer once, so the steps below find batches to take.
        pool.take();
        await until(() => pool.size > 0, 'the first batch');
        for (const step of ops) {
          if (step.op === 'take') {
            for (let i = 0; i < step.count; i++) {
              const wrap = pool.take();
              if (!wrap) continue;
              const hex = wrap.dek.toString('hex');
              expect(seen.has(hex)).toBe(false);
              seen.add(hex);
              expect(unwrapDek(key, wrap.sealed, wrap.iv)?.equals(wrap.dek)).toBe(true);
            }
          } else if (step.op === 'wait') {
            const deadline = Date.now() + step.ms * 4;
            while (pool.size === 0 && Date.now() < deadline) await tick();
            await new Promise((resolve) => setTimeout(resolve, step.ms));
          } else if (step.op === 'rotate') {
            pool.close();
            key = leasedKeyObject(randomKey32());
            pool = p.open(key);
          } else {
            p.sweep(0);
          }
          expect(p.pooledCount).toBeLessThanOrEqual(budget);
          expect(pool.size).toBeLessThanOrEqual(p.pooledCount);
        }
        await p.close();
        expect(p.pooledCount).toBe(0);
      },
    ),
    { numRuns: 30 },
  );
});

describe('leases and their pools', () => {
  /** A config whose "KMS" returns the key unchanged: enough for the lease lifecycle. */
  const config = {
    id: 7,
    tenantId: 'tenant-a',
    adapter: async () => ({
      provider: 'aws',
      wrap: async (plaintext: Uint8Array) => Uint8Array.from(plaintext),
      unwrap: async (ciphertext: Uint8Array) => Uint8Array.from(ciphertext),
    }),
  } as unknown as KmsConfigEntry;

  async function prewrappedWrap(lease: CurrentLease): Promise<LeasedWrap> {
    for (;;) {
      const before = lease.pool!.size;
      const wrap = newLeasedWrap(lease);
      if (before > 0) return wrap;
      await tick();
    }
  }

  test('a rotated or dropped lease closes its pool; the new lease gets its own', async () => {
    const p = prewrapper();
    const leases = new LeaseManager(
      100,
      60_000,
      new ProxyMetrics(
        () => 0,
        () => 0,
      ),
      p,
    );
    const first = await leases.currentLease(config);
    const wrap = await prewrappedWrap(first);
    // The EDEK path unwraps it with the lease's cached key.
    const key = leases.lookupSync(config.id, first.leasedKeyId, first.wrapped)!;
    expect(unwrapDek(key, wrap.sealed, wrap.iv)?.equals(wrap.dek)).toBe(true);
    expect(first.pool!.size).toBeGreaterThan(0);

    await new Promise((resolve) => setTimeout(resolve, 120));
    const second = await leases.currentLease(config);
    expect(second).not.toBe(first);
    expect(first.pool!.size).toBe(0);
    expect(first.pool!.take()).toBeUndefined();
    await prewrappedWrap(second);

    leases.drop(config.id);
    expect(second.pool!.size).toBe(0);
    expect(p.pooledCount).toBe(0);
  });

  test('without a prewrapper every leased wrap is inline and still unwraps', async () => {
    const leases = new LeaseManager(
      60_000,
      60_000,
      new ProxyMetrics(
        () => 0,
        () => 0,
      ),
    );
    const lease = await leases.currentLease(config);
    expect(lease.pool).toBeUndefined();
    const wrap = newLeasedWrap(lease);
    expect(unwrapDek(lease.key, wrap.sealed, wrap.iv)?.equals(wrap.dek)).toBe(true);
  });
});
