import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricValue } from 'prom-client';

const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

interface RequestCount {
  labels: { route: string; code: string; language: string; version: string };
  count: number;
}
interface RouteLatency {
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * Request counters and latency histograms kept as plain numbers and handed to prom-client only when /metrics is
 * scraped. prom-client hashes the label set on every inc/observe, even on a cached child, which cost several µs per
 * request on the hot path; this costs one Map lookup and a bucket scan.
 */
class RequestStats {
  readonly counts = new Map<string, RequestCount>();
  readonly latency = new Map<string, RouteLatency>();
  /** Consecutive requests mostly share their labels: the last ones are checked before building a key. */
  private last:
    | { route: string; code: number; language: string; version: string; entry: RequestCount; histogram: RouteLatency }
    | undefined;

  record(route: string, code: number, language: string, version: string, seconds: number): void {
    const last = this.last;
    let entry: RequestCount | undefined;
    let histogram: RouteLatency | undefined;
    if (
      last !== undefined &&
      last.code === code &&
      last.route === route &&
      last.language === language &&
      last.version === version
    ) {
      entry = last.entry;
      histogram = last.histogram;
    } else {
      const key = `${route}|${code}|${language}|${version}`;
      entry = this.counts.get(key);
      if (!entry) {
        if (this.counts.size >= 10_000) return; // bounded: label values come from clients
        entry = { labels: { route, code: String(code), language, version }, count: 0 };
        this.counts.set(key, entry);
      }
      histogram = this.latency.get(route);
      if (!histogram) {
        histogram = { buckets: new Float64Array(REQUEST_BUCKETS.length + 1), sum: 0, count: 0 };
        this.latency.set(route, histogram);
      }
      this.last = { route, code, language, version, entry, histogram };
    }
    entry.count++;
    let bucket = 0;
    while (bucket < REQUEST_BUCKETS.length && seconds > REQUEST_BUCKETS[bucket]!) bucket++;
    histogram.buckets[bucket]!++;
    histogram.sum += seconds;
    histogram.count++;
  }

  counterMetric(name: string, help: string) {
    const values = (): MetricValue<string>[] =>
      [...this.counts.values()].map((entry) => ({ labels: entry.labels, value: entry.count }));
    return {
      name,
      help,
      type: 'counter',
      aggregator: 'sum',
      get: async () => ({ name, help, type: 'counter', aggregator: 'sum', values: values() }),
      reset: () => this.counts.clear(),
    };
  }

  histogramMetric(name: string, help: string) {
    const values = (): MetricValue<string>[] => {
      const out: (MetricValue<string> & { metricName: string })[] = [];
      for (const [route, histogram] of this.latency) {
        let cumulative = 0;
        REQUEST_BUCKETS.forEach((bound, index) => {
          cumulative += histogram.buckets[index]!;
          out.push({ metricName: `${name}_bucket`, labels: { le: bound, route }, value: cumulative });
        });
        out.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', route }, value: histogram.count });
        out.push({ metricName: `${name}_sum`, labels: { route }, value: histogram.sum });
        out.push({ metricName: `${name}_count`, labels: { route }, value: histogram.count });
      }
      return out;
    };
    return {
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      get: async () => ({ name, help, type: 'histogram', aggregator: 'sum', values: values() }),
      reset: () => this.latency.clear(),
    };
  }
}

/** Every Prometheus series the proxy exports; one registry per proxy instance (tests run several). */
export class ProxyMetrics {
  readonly registry = new Registry();
  private readonly requestStats = new RequestStats();
  readonly kmsCalls: Counter<'provider' | 'operation' | 'outcome'>;
  readonly kmsDuration: Histogram<'provider' | 'operation'>;
  readonly leaseLookups: Counter<'result'>;
  readonly leaseKmsCalls: Counter<'operation'>;
  readonly snapshotVersion: Gauge;
  readonly snapshotAgeSeconds: Gauge;
  readonly brokerReachable: Gauge;
  readonly brokerRevoked: Gauge;
  readonly tenantsLoaded: Gauge;
  readonly eventQueueDepth: Gauge;
  readonly events: Counter<'outcome' | 'sink'>;
  readonly checks: Counter<'outcome'>;

  constructor(snapshotAge: () => number, eventDepth: () => number) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'tsp_' });
    this.registry.registerMetric(
      this.requestStats.counterMetric(
        'tsp_requests_total',
        'API requests by route, protocol code (0 = success) and client language/version',
      ) as never,
    );
    this.registry.registerMetric(
      this.requestStats.histogramMetric('tsp_request_duration_seconds', 'API request latency by route') as never,
    );
    this.kmsCalls = new Counter({
      name: 'tsp_kms_calls_total',
      help: 'KMS call attempts by provider, operation and outcome (ok or the normalised error)',
      labelNames: ['provider', 'operation', 'outcome'],
      registers,
    });
    this.kmsDuration = new Histogram({
      name: 'tsp_kms_call_duration_seconds',
      help: 'KMS call attempt latency',
      labelNames: ['provider', 'operation'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.leaseLookups = new Counter({
      name: 'tsp_lease_lookups_total',
      help: 'Leased key cache hits and misses',
      labelNames: ['result'],
      registers,
    });
    this.leaseKmsCalls = new Counter({
      name: 'tsp_lease_kms_calls_total',
      help: 'KMS calls made for leased keys (create = new lease wrapped, unwrap = cache miss)',
      labelNames: ['operation'],
      registers,
    });
    this.snapshotVersion = new Gauge({
      name: 'tsp_snapshot_version',
      help: 'Version of the broker snapshot in use (0 = none)',
      registers,
    });
    this.snapshotAgeSeconds = new Gauge({
      name: 'tsp_snapshot_age_seconds',
      help: 'Seconds since the broker last confirmed the snapshot (grows while the broker is unreachable)',
      registers,
      collect() {
        this.set(snapshotAge());
      },
    });
    this.brokerReachable = new Gauge({
      name: 'tsp_broker_reachable',
      help: '1 when the last broker request succeeded',
      registers,
    });
    this.brokerRevoked = new Gauge({
      name: 'tsp_broker_revoked',
      help: '1 when the broker answered 401 (configuration revoked)',
      registers,
    });
    this.tenantsLoaded = new Gauge({ name: 'tsp_tenants_loaded', help: 'Tenants in the current snapshot', registers });
    this.eventQueueDepth = new Gauge({
      name: 'tsp_event_queue_depth',
      help: 'Security events waiting for delivery',
      registers,
      collect() {
        this.set(eventDepth());
      },
    });
    this.events = new Counter({
      name: 'tsp_security_events_total',
      help: 'Security events by outcome (delivered, retried, dropped) and sink',
      labelNames: ['outcome', 'sink'],
      registers,
    });
    this.checks = new Counter({
      name: 'tsp_checks_total',
      help: 'Tenant-requested KMS checks run',
      labelNames: ['outcome'],
      registers,
    });
  }

  /** Request accounting on the hot path: children are cached so no label hashing happens per request. */
  recordRequest(route: string, code: number, language: string, version: string, seconds: number): void {
    this.requestStats.record(route, code, language, version, seconds);
  }

  /**
   * Leased wraps by where the wrapped DEK came from (prewrap.ts: the worker's pool or inline), and the DEKs prepared
   * ahead. Read from the prewrapper's own counters at scrape time: nothing is added to the wrap path.
   */
  observePrewrap(read: () => { prewrapped: number; inline: number; pooled: number }): void {
    const registers = [this.registry];
    new Counter({
      name: 'tsp_lease_wraps_total',
      help: 'Leased wraps by source: prewrapped (prepared on the worker thread) or inline (pool empty or disabled)',
      labelNames: ['source'],
      registers,
      collect() {
        const { prewrapped, inline } = read();
        this.reset();
        this.labels('prewrapped').inc(prewrapped);
        this.labels('inline').inc(inline);
      },
    });
    new Gauge({
      name: 'tsp_lease_prewrapped_keys',
      help: 'DEKs wrapped ahead of time (or being wrapped) and not yet handed out, across all leases',
      registers,
      collect() {
        this.set(read().pooled);
      },
    });
  }

  /** Full GCs the proxy ran itself once the load stopped (idle-memory.ts), and their pauses. */
  observeIdleGc(read: () => { collections: number; seconds: number }): void {
    const registers = [this.registry];
    new Counter({
      name: 'tsp_idle_gc_total',
      help: 'Full garbage collections run after the load stopped, to give memory back (IDLE_GC_SECONDS)',
      registers,
      collect() {
        this.reset();
        this.inc(read().collections);
      },
    });
    new Counter({
      name: 'tsp_idle_gc_seconds_total',
      help: 'Time spent in those collections',
      registers,
      collect() {
        this.reset();
        this.inc(read().seconds);
      },
    });
  }

  recordKmsCall(provider: string, operation: string, outcome: string, seconds: number): void {
    this.kmsCalls.labels(provider, operation, outcome).inc();
    this.kmsDuration.labels(provider, operation).observe(seconds);
  }
}
