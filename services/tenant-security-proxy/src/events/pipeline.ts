import type { ProxyTuning } from '../config.js';
import type { Logger } from '../logger.js';
import type { ProxyMetrics } from '../metrics.js';
import type { LoggingConfigEntry, TenantStore } from '../tenant-store.js';
import { HttpPoster } from './http-post.js';
import { createSink, SinkError, StdoutSink, type EventSink } from './sinks.js';
import {
  queuedBatchEvents,
  queuedEvent,
  type EventRecorder,
  type QueuedEvent,
  type SecurityEventRecord,
} from './types.js';

interface TenantQueue {
  items: QueuedEvent[];
  oldestAt: number;
  sending: boolean;
}

/** Events of tenants the snapshot does not know share one queue, so unknown ids cannot grow memory. */
const UNKNOWN_TENANTS = '\u0000unknown';
/** Batches of one tenant being delivered at once (each with its own retries). */
const MAX_DELIVERIES_PER_TENANT = 8;
/**
 * A batch also stops at about 512 KiB of event JSON, whatever EVENT_BATCH_SIZE says: under the request limits of the
 * sinks (Splunk HEC's max_content_length defaults to 1 MB on older servers) even when callers send large metadata.
 */
const MAX_BATCH_CHARS = 512 * 1024;

/**
 * Security-event delivery. `record` only appends to a bounded per-tenant queue; a timer sends batches (size or age
 * limit) to the tenant's sink with retries and backoff, so a slow or failing sink never blocks a key request.
 * A full queue drops new events and counts them.
 */
export class EventPipeline implements EventRecorder {
  private readonly queues = new Map<string, TenantQueue>();
  private readonly sinks = new WeakMap<LoggingConfigEntry, EventSink>();
  private readonly stdoutSink: StdoutSink;
  private readonly poster: HttpPoster;
  private readonly timer: NodeJS.Timeout;
  private depth = 0;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly store: TenantStore,
    private readonly tuning: ProxyTuning,
    private readonly metrics: ProxyMetrics,
    private readonly logger: Logger,
    extraCa: string | undefined,
    stdoutWrite: (text: string) => boolean,
  ) {
    this.stdoutSink = new StdoutSink(stdoutWrite);
    this.poster = new HttpPoster(extraCa, 10_000);
    // Frequent ticks keep full batches moving (events then die young) and each tick's synchronous serialisation
    // short (at 15,000 requests/s a 50 ms tick serialised some 750 events at once, between two requests); the age
    // limit still bounds small batches.
    this.timer = setInterval(() => this.tick(), Math.max(5, Math.min(10, tuning.eventBatchMaxAgeMs / 2)));
    this.timer.unref();
  }

  get queueDepth(): number {
    return this.depth;
  }

  record(event: SecurityEventRecord): void {
    const queue = this.queueFor(event.tenantId);
    if (queue.items.length >= this.tuning.eventQueueLimitPerTenant) {
      this.metrics.events.labels('dropped', 'queue-full').inc();
      return;
    }
    if (this.depth >= this.tuning.eventQueueLimitTotal) {
      this.metrics.events.labels('dropped', 'total-queue-full').inc();
      return;
    }
    if (queue.items.length === 0) queue.oldestAt = Date.now();
    queue.items.push(queuedEvent(event));
    this.depth++;
  }

  recordBatch(base: SecurityEventRecord, objectIds: readonly string[]): void {
    if (objectIds.length === 0) return;
    const queue = this.queueFor(base.tenantId);
    const tenantRoom = Math.max(0, this.tuning.eventQueueLimitPerTenant - queue.items.length);
    const totalRoom = Math.max(0, this.tuning.eventQueueLimitTotal - this.depth);
    const room = Math.min(tenantRoom, totalRoom);
    const kept = room >= objectIds.length ? objectIds : objectIds.slice(0, room);
    if (kept.length < objectIds.length)
      this.metrics.events
        .labels('dropped', tenantRoom <= totalRoom ? 'queue-full' : 'total-queue-full')
        .inc(objectIds.length - kept.length);
    if (kept.length === 0) return;
    if (queue.items.length === 0) queue.oldestAt = Date.now();
    for (const item of queuedBatchEvents(base, kept)) queue.items.push(item);
    this.depth += kept.length;
  }

  private queueFor(tenantId: string): TenantQueue {
    const key = this.store.get(tenantId) ? tenantId : UNKNOWN_TENANTS;
    let queue = this.queues.get(key);
    if (!queue) {
      queue = { items: [], oldestAt: 0, sending: false };
      this.queues.set(key, queue);
    }
    return queue;
  }

  private tick(): void {
    const now = Date.now();
    for (const [key, queue] of this.queues) {
      if (queue.sending) continue;
      if (queue.items.length === 0) {
        this.queues.delete(key);
        continue;
      }
      if (this.batchDue(key, queue, now)) {
        this.track(this.flush(key, queue));
      }
    }
  }

  private track(promise: Promise<void>): void {
    this.inFlight.add(promise);
    void promise.finally(() => this.inFlight.delete(promise));
  }

  private sinkFor(tenantKey: string): EventSink {
    if (tenantKey === UNKNOWN_TENANTS) return this.stdoutSink;
    const logging = this.store.get(tenantKey)?.logging;
    if (!logging) return this.stdoutSink;
    let sink = this.sinks.get(logging);
    if (!sink) {
      const config = logging.config();
      sink = config ? createSink(config, this.poster) : this.stdoutSink;
      this.sinks.set(logging, sink);
    }
    return sink;
  }

  /**
   * Sends a tenant's queued events, a batch at a time, with up to MAX_DELIVERIES_PER_TENANT batches in flight: one
   * at a time, a sink's round trip (a turn of a busy event loop) capped a tenant at a batch per turn, while one
   * 1,000-key batch-wrap queues ten. The first batch always goes (shutdown drains partial batches); later ones when
   * full or old enough.
   */
  private async flush(key: string, queue: TenantQueue): Promise<void> {
    queue.sending = true;
    const inFlight = new Set<Promise<void>>();
    let first = true;
    try {
      for (;;) {
        while (
          inFlight.size < MAX_DELIVERIES_PER_TENANT &&
          queue.items.length > 0 &&
          (first || this.batchDue(key, queue, Date.now()))
        ) {
          first = false;
          const batch = queue.items.splice(0, this.batchLength(queue.items));
          queue.oldestAt = queue.items.length > 0 ? Date.now() : 0;
          this.depth -= batch.length;
          const delivery: Promise<void> = this.deliver(key, batch).finally(() => inFlight.delete(delivery));
          inFlight.add(delivery);
        }
        if (inFlight.size === 0) return;
        await Promise.race(inFlight);
      }
    } finally {
      queue.sending = false;
    }
  }

  /** Events in the next batch: at most eventBatchSize, and about MAX_BATCH_CHARS of JSON (at least one event). */
  private batchLength(items: QueuedEvent[]): number {
    const limit = Math.min(items.length, this.tuning.eventBatchSize);
    let chars = 0;
    for (let i = 0; i < limit; i++) {
      chars += items[i]!.members.length;
      if (chars > MAX_BATCH_CHARS && i > 0) return i;
    }
    return limit;
  }

  /**
   * A batch is due when it is full (by count or by size) or its oldest event has waited long enough. Stdout events
   * are due at every tick: a write there costs the same for 10 events as for 500, and events kept waiting for a full
   * batch outlive young-generation GCs, which then copy them to the old generation (longer pauses, a growing heap).
   */
  private batchDue(key: string, queue: TenantQueue, now: number): boolean {
    const queued = queue.items.length;
    if (queued === 0) return false;
    return (
      queued >= this.tuning.eventBatchSize ||
      now - queue.oldestAt >= this.tuning.eventBatchMaxAgeMs ||
      this.sinkFor(key) === this.stdoutSink ||
      this.batchLength(queue.items) < queued
    );
  }

  private async deliver(key: string, batch: QueuedEvent[]): Promise<void> {
    const sink = this.sinkFor(key);
    for (let attempt = 1; ; attempt++) {
      try {
        await sink.deliver(batch);
        this.metrics.events.labels('delivered', sink.kind).inc(batch.length);
        return;
      } catch (error) {
        const retryable = !(error instanceof SinkError) || error.retryable;
        if (!retryable || attempt >= this.tuning.eventMaxAttempts) {
          this.metrics.events.labels('dropped', sink.kind).inc(batch.length);
          this.logger.warn(
            {
              tenantId: key === UNKNOWN_TENANTS ? undefined : key,
              sink: sink.kind,
              events: batch.length,
              attempts: attempt,
              reason: (error as Error).message,
            },
            'security events dropped',
          );
          return;
        }
        this.metrics.events.labels('retried', sink.kind).inc(batch.length);
        const backoff = Math.random() * this.tuning.eventRetryBaseMs * 2 ** (attempt - 1);
        const hint = error instanceof SinkError && error.retryAfterMs ? Math.min(error.retryAfterMs, 30_000) : 0;
        await new Promise((resolve) => setTimeout(resolve, Math.max(backoff, hint)));
      }
    }
  }

  /**
   * A tenant's logging "test" (check kind `logging`): one OPENCMK_LOGGING_TEST event delivered straight to the sink,
   * without queueing or retries, so the answer reflects the sink as it is now.
   */
  async deliverTest(tenantId: string, logging: LoggingConfigEntry): Promise<void> {
    const config = logging.config();
    if (!config) throw new SinkError('the sealed logging config cannot be opened by this proxy', false);
    let sink = this.sinks.get(logging);
    if (!sink || sink === this.stdoutSink) {
      sink = createSink(config, this.poster);
      this.sinks.set(logging, sink);
    }
    await sink.deliver([
      queuedEvent({
        tenantId,
        event: 'OPENCMK_LOGGING_TEST',
        timestampMillis: Date.now(),
        source: 'proxy',
        iclFields: { requestingId: 'opencmk-tenant-security-proxy' },
        customFields: {},
        code: 0,
      }),
    ]);
  }

  /** Shutdown: send what is queued, waiting at most `deadlineMs`. */
  async drain(deadlineMs: number): Promise<void> {
    const end = Date.now() + deadlineMs;
    while (Date.now() < end) {
      for (const [key, queue] of this.queues)
        if (!queue.sending && queue.items.length > 0) this.track(this.flush(key, queue));
      if (this.inFlight.size === 0 && this.depth === 0) break;
      await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((resolve) => setTimeout(resolve, 50))]);
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.poster.close();
  }
}
