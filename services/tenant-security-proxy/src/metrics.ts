import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every Prometheus series the proxy exports; one registry per proxy instance (tests run several). */
export class ProxyMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'code' | 'language' | 'version'>;
  readonly requestDuration: Histogram<'route'>;
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
  private readonly requestChildren = new Map<string, { inc: () => void }>();
  private readonly durationChildren = new Map<string, { observe: (value: number) => void }>();

  constructor(snapshotAge: () => number, eventDepth: () => number) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'tsp_' });
    this.requests = new Counter({
      name: 'tsp_requests_total',
      help: 'API requests by route, protocol code (0 = success) and client language/version',
      labelNames: ['route', 'code', 'language', 'version'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'tsp_request_duration_seconds',
      help: 'API request latency by route',
      labelNames: ['route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
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
    this.leaseLookups = new Counter({ name: 'tsp_lease_lookups_total', help: 'Leased key cache hits and misses', labelNames: ['result'], registers });
    this.leaseKmsCalls = new Counter({
      name: 'tsp_lease_kms_calls_total',
      help: 'KMS calls made for leased keys (create = new lease wrapped, unwrap = cache miss)',
      labelNames: ['operation'],
      registers,
    });
    this.snapshotVersion = new Gauge({ name: 'tsp_snapshot_version', help: 'Version of the broker snapshot in use (0 = none)', registers });
    this.snapshotAgeSeconds = new Gauge({
      name: 'tsp_snapshot_age_seconds',
      help: 'Seconds since the broker last confirmed the snapshot (grows while the broker is unreachable)',
      registers,
      collect() {
        this.set(snapshotAge());
      },
    });
    this.brokerReachable = new Gauge({ name: 'tsp_broker_reachable', help: '1 when the last broker request succeeded', registers });
    this.brokerRevoked = new Gauge({ name: 'tsp_broker_revoked', help: '1 when the broker answered 401 (configuration revoked)', registers });
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
    this.checks = new Counter({ name: 'tsp_checks_total', help: 'Tenant-requested KMS checks run', labelNames: ['outcome'], registers });
  }

  /** Request accounting on the hot path: children are cached so no label hashing happens per request. */
  recordRequest(route: string, code: number, language: string, version: string, seconds: number): void {
    const key = `${route}|${code}|${language}|${version}`;
    let child = this.requestChildren.get(key);
    if (!child) {
      child = this.requests.labels(route, String(code), language, version);
      if (this.requestChildren.size < 10000) this.requestChildren.set(key, child);
    }
    child.inc();
    let duration = this.durationChildren.get(route);
    if (!duration) {
      duration = this.requestDuration.labels(route);
      this.durationChildren.set(route, duration);
    }
    duration.observe(seconds);
  }

  recordKmsCall(provider: string, operation: string, outcome: string, seconds: number): void {
    this.kmsCalls.labels(provider, operation, outcome).inc();
    this.kmsDuration.labels(provider, operation).observe(seconds);
  }
}
