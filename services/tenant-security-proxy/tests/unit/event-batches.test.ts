import fc from 'fast-check';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { defaultTuning, type ProxyTuning } from '../../src/config.js';
import { EventPipeline } from '../../src/events/pipeline.js';
import { eventJson, formatEvent, queuedBatchEvents, type SecurityEventRecord } from '../../src/events/types.js';
import { batchJson } from '../../src/http/batch-json.js';
import { createLogger } from '../../src/logger.js';
import { ProxyMetrics } from '../../src/metrics.js';
import type { TenantStore } from '../../src/tenant-store.js';

const recordArbitrary = fc.record({
  tenantId: fc.string(),
  event: fc.string(),
  // Up to the last time a Date can hold (ECMA-262 §21.4.1.1): six-digit years take another path in isoTime.
  timestampMillis: fc.oneof(fc.integer({ min: 0, max: 4e12 }), fc.integer({ min: 0, max: 8.64e15 })),
  source: fc.constantFrom('proxy' as const, 'application' as const),
  iclFields: fc.dictionary(fc.string(), fc.option(fc.string(), { nil: undefined })),
  customFields: fc.dictionary(fc.string(), fc.string()),
  kmsConfigId: fc.option(fc.integer({ min: 1 }), { nil: undefined }),
  leased: fc.option(fc.boolean(), { nil: undefined }),
  code: fc.option(fc.constantFrom(0, 201, 209), { nil: undefined }),
  objectId: fc.option(fc.string(), { nil: undefined }),
});

/** A successful leased batch-wrap's event, for the pipeline tests (each sets its tenant). */
const batchItemEvent: SecurityEventRecord = {
  tenantId: '',
  event: 'KMS_BATCH_WRAP',
  timestampMillis: Date.UTC(2026, 10, 22),
  source: 'proxy',
  iclFields: { requestingId: 'svc' },
  customFields: {},
  kmsConfigId: 4,
  leased: true,
  code: 0,
};

/** A pipeline over `store`, with its own metrics and a silent logger. */
function testPipeline(store: TenantStore, tuning: Partial<ProxyTuning>, stdoutWrite: (text: string) => boolean) {
  const metrics = new ProxyMetrics(
    () => 0,
    () => 0,
  );
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  const pipeline = new EventPipeline(
    store,
    { ...defaultTuning, ...tuning },
    metrics,
    createLogger('silent', quiet),
    undefined,
    stdoutWrite,
  );
  return { pipeline, metrics };
}

/** The event documents in what the pipeline wrote to stdout (one JSON line each). */
const stdoutEvents = (lines: string[]) =>
  lines
    .join('')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

test('the direct event serialisation equals JSON.stringify of the event document', () => {
  fc.assert(
    fc.property(recordArbitrary, (event) => {
      expect(eventJson(event)).toBe(JSON.stringify(formatEvent(event)));
    }),
    { numRuns: 300 },
  );
});

test('the events of a batch serialise exactly as one event per object id would', () => {
  fc.assert(
    fc.property(recordArbitrary, fc.array(fc.string(), { maxLength: 20 }), (base, ids) => {
      const queued = queuedBatchEvents(base, ids);
      expect(queued).toHaveLength(ids.length);
      queued.forEach((item, i) => {
        const single: SecurityEventRecord = { ...base, objectId: ids[i] };
        expect(`{${item.members}}`).toBe(JSON.stringify(formatEvent(single)));
        expect(item.failed).toBe(base.code !== undefined && base.code !== 0);
      });
    }),
    { numRuns: 200 },
  );
});

test('consecutive events that share some fields each serialise as their own document', () => {
  // Small domains, so that consecutive events often share tenant, name, source or outcome, and often do not.
  const event = fc.record({
    tenantId: fc.constantFrom('t-1', 't-2'),
    event: fc.constantFrom('KMS_WRAP', 'KMS_UNWRAP'),
    timestampMillis: fc.integer({ min: 1.7e12, max: 1.7e12 + 5000 }),
    source: fc.constantFrom('proxy' as const, 'application' as const),
    iclFields: fc.constantFrom<Record<string, string>>({ requestingId: 'a' }, { requestingId: 'b', dataLabel: 'PII' }),
    customFields: fc.constantFrom<Record<string, string>>({}, { k: 'v' }),
    kmsConfigId: fc.option(fc.constantFrom(1, 2), { nil: undefined }),
    leased: fc.option(fc.boolean(), { nil: undefined }),
    code: fc.option(fc.constantFrom(0, 203), { nil: undefined }),
    objectId: fc.option(fc.constantFrom('o-1', 'o-2'), { nil: undefined }),
  });
  fc.assert(
    fc.property(fc.array(event, { minLength: 2, maxLength: 30 }), (events) => {
      for (const e of events) expect(eventJson(e)).toBe(JSON.stringify(formatEvent(e)));
    }),
    { numRuns: 300 },
  );
});

test("a large batch answer comes in pieces under 64 Ki characters (none in V8's large-object space)", () => {
  const keys = Object.create(null) as Record<string, { dek: string; edek: string }>;
  const failures = Object.create(null) as Record<string, { code: number; message: string }>;
  for (let i = 0; i < 3000; i++) keys[`doc-${i}`] = { dek: 'A'.repeat(44), edek: 'B'.repeat(350) };
  for (let i = 0; i < 2000; i++) failures[`bad-${i}`] = { code: 203, message: 'Invalid EDEK: '.padEnd(80, 'x') };
  const pieces = batchJson({ keys, failures });
  expect(pieces.length).toBeGreaterThan(20);
  for (const piece of pieces) expect(piece.length).toBeLessThan(64 * 1024);
  expect(JSON.parse(pieces.join(''))).toEqual({ keys: { ...keys }, failures: { ...failures } });
});

test('a batch answer is built exactly as JSON.stringify would write it, ids of every kind included', () => {
  const base64 = fc.uint8Array({ minLength: 0, maxLength: 60 }).map((b) => Buffer.from(b).toString('base64'));
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.oneof(fc.string(), fc.constantFrom('__proto__', '0', '10', '2', 'a"b\\c\n')),
          base64,
          fc.option(base64, { nil: undefined }),
        ),
      ),
      fc.dictionary(fc.string(), fc.record({ code: fc.integer({ min: 200, max: 210 }), message: fc.string() })),
      (entries, failures) => {
        const keys = Object.create(null) as Record<string, { dek: string; edek?: string }>;
        for (const [id, dek, edek] of entries) keys[id] = edek === undefined ? { dek } : { dek, edek };
        const nullFailures = Object.assign(Object.create(null), failures);
        const result = { keys, failures: nullFailures };
        expect(batchJson(result).join('')).toBe(JSON.stringify(result));
      },
    ),
    { numRuns: 300 },
  );
});

test('a batch larger than the room left in its queue keeps what fits and counts the rest as dropped', async () => {
  const lines: string[] = [];
  // A store that knows no tenant: the events share the stdout queue of unknown tenants.
  const { pipeline, metrics } = testPipeline(
    { get: () => undefined } as unknown as TenantStore,
    { eventQueueLimitPerTenant: 5 },
    (text) => (lines.push(text), true),
  );
  const base: SecurityEventRecord = { ...batchItemEvent, tenantId: 't-1' };
  pipeline.record({ ...base, event: 'KMS_WRAP' });
  pipeline.recordBatch(base, ['a', 'b', 'c', 'd', 'e', 'f']);
  pipeline.recordBatch(base, ['g']);
  expect(pipeline.queueDepth).toBe(5);
  await pipeline.drain(2000);
  pipeline.close();
  const events = stdoutEvents(lines);
  expect(events.map((e) => e.objectId)).toEqual([undefined, 'a', 'b', 'c', 'd']);
  expect(events[1]).toMatchObject({ type: 'security_event', tenantId: 't-1', event: 'KMS_BATCH_WRAP', kmsConfigId: 4 });
  const text = await metrics.registry.metrics();
  expect(text).toMatch(/^tsp_security_events_total\{outcome="dropped",sink="queue-full"\} 3$/m);
});

test('the total queue bounds all tenants together: events beyond it are dropped and counted apart', async () => {
  const lines: string[] = [];
  // Two known tenants without a logging config: a queue each, both written to stdout.
  const store = { get: (id: string) => ({ logging: undefined, id }) } as unknown as TenantStore;
  const { pipeline, metrics } = testPipeline(
    store,
    { eventQueueLimitPerTenant: 3, eventQueueLimitTotal: 4 },
    (text) => (lines.push(text), true),
  );
  pipeline.record({ ...batchItemEvent, tenantId: 't-1', event: 'KMS_WRAP' });
  pipeline.recordBatch({ ...batchItemEvent, tenantId: 't-1' }, ['a', 'b']);
  // t-2's own queue is empty, but only one event fits in the total.
  pipeline.recordBatch({ ...batchItemEvent, tenantId: 't-2' }, ['c', 'd', 'e']);
  pipeline.record({ ...batchItemEvent, tenantId: 't-2', event: 'KMS_UNWRAP' });
  // t-1's own limit is reached as well: counted as the tenant's.
  pipeline.recordBatch({ ...batchItemEvent, tenantId: 't-1' }, ['f']);
  expect(pipeline.queueDepth).toBe(4);
  await pipeline.drain(2000);
  // Delivered events make room again.
  pipeline.record({ ...batchItemEvent, tenantId: 't-2', event: 'KMS_UNWRAP' });
  expect(pipeline.queueDepth).toBe(1);
  await pipeline.drain(2000);
  pipeline.close();
  const events = stdoutEvents(lines);
  expect(events.map((e) => `${e.tenantId as string}:${(e.objectId ?? e.event) as string}`).sort()).toEqual(
    ['t-1:KMS_WRAP', 't-1:a', 't-1:b', 't-2:c', 't-2:KMS_UNWRAP'].sort(),
  );
  const text = await metrics.registry.metrics();
  expect(text).toMatch(/^tsp_security_events_total\{outcome="dropped",sink="total-queue-full"\} 3$/m);
  expect(text).toMatch(/^tsp_security_events_total\{outcome="dropped",sink="queue-full"\} 1$/m);
});

test('stdout events are written at the next tick, without waiting for a full batch or the age limit', async () => {
  const lines: string[] = [];
  const { pipeline } = testPipeline(
    { get: () => undefined } as unknown as TenantStore,
    // Limits that would hold an HTTP sink's events for a minute.
    { eventBatchSize: 10_000, eventBatchMaxAgeMs: 60_000 },
    (text) => (lines.push(text), true),
  );
  pipeline.record({ ...batchItemEvent, tenantId: 't-out', event: 'KMS_WRAP' });
  const deadline = Date.now() + 2000;
  while (lines.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  pipeline.close();
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0]!)).toMatchObject({ type: 'security_event', tenantId: 't-out', event: 'KMS_WRAP' });
  expect(pipeline.queueDepth).toBe(0);
});

describe('delivery to an HTTP sink', () => {
  /** A webhook receiver that answers after `delayMs`, and what it saw. */
  async function slowWebhook(delayMs: number) {
    const seen = { events: 0, requests: 0, inFlight: 0, maxInFlight: 0, maxBodyBytes: 0 };
    const server = createServer((req, res) => {
      seen.requests++;
      seen.inFlight++;
      seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        seen.maxBodyBytes = Math.max(seen.maxBodyBytes, body.length);
        seen.events += (JSON.parse(body.toString('utf8')) as { events: unknown[] }).events.length;
        setTimeout(() => {
          seen.inFlight--;
          res.writeHead(204).end();
        }, delayMs);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
    return { seen, url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  function pipelineFor(url: string, tuning: Partial<ProxyTuning> = {}) {
    const logging = { config: () => ({ provider: 'webhook' as const, url, hmacSecret: 'test-secret-test-secret' }) };
    const store = { get: (id: string) => (id === 't-hook' ? { logging } : undefined) } as unknown as TenantStore;
    return testPipeline(store, { eventBatchSize: 500, eventBatchMaxAgeMs: 50, ...tuning }, () => true);
  }

  const base: SecurityEventRecord = { ...batchItemEvent, tenantId: 't-hook' };

  test('a slow sink gets several batches at once, so a deep queue drains and nothing is dropped', async () => {
    const hook = await slowWebhook(150);
    const { pipeline, metrics } = pipelineFor(hook.url);
    const ids = Array.from({ length: 4000 }, (_, i) => `doc-${i}`);
    pipeline.recordBatch(base, ids);
    await pipeline.drain(10_000);
    pipeline.close();
    await hook.close();
    expect(hook.seen.events).toBe(4000);
    expect(hook.seen.requests).toBe(8);
    // One at a time, eight 150 ms round trips; in parallel, the eight overlap.
    expect(hook.seen.maxInFlight).toBeGreaterThan(1);
    expect(await metrics.registry.metrics()).toMatch(
      /^tsp_security_events_total\{outcome="delivered",sink="webhook"\} 4000$/m,
    );
  });

  test('batches full by size go at once, without waiting for the age limit', async () => {
    const hook = await slowWebhook(0);
    const { pipeline } = pipelineFor(hook.url, { eventBatchMaxAgeMs: 60_000 });
    // 400 events of about 4 KiB: fewer than EVENT_BATCH_SIZE, but several batches by size.
    pipeline.recordBatch(
      { ...base, customFields: { note: 'n'.repeat(4000) } },
      Array.from({ length: 400 }, (_, i) => `doc-${i}`),
    );
    const deadline = Date.now() + 3000;
    while (hook.seen.events < 250 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    pipeline.close();
    await hook.close();
    expect(hook.seen.events).toBeGreaterThanOrEqual(250);
  });

  test('a batch stops at about 512 KiB of events, however many EVENT_BATCH_SIZE allows', async () => {
    const hook = await slowWebhook(0);
    const { pipeline, metrics } = pipelineFor(hook.url);
    // 400 events of about 4 KiB each: 1.6 MiB, which EVENT_BATCH_SIZE (500) alone would send in one request.
    pipeline.recordBatch(
      { ...base, customFields: { note: 'n'.repeat(4000) } },
      Array.from({ length: 400 }, (_, i) => `doc-${i}`),
    );
    await pipeline.drain(10_000);
    pipeline.close();
    await hook.close();
    expect(hook.seen.events).toBe(400);
    expect(hook.seen.requests).toBeGreaterThanOrEqual(4);
    expect(hook.seen.maxBodyBytes).toBeLessThan(540 * 1024);
  });
});
