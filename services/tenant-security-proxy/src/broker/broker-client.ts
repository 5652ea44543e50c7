import { randomUUID } from 'node:crypto';
import type { ProxyConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { ProxyMetrics } from '../metrics.js';
import { snapshotSchema, type Snapshot, type SnapshotCheck } from './snapshot-schema.js';
import { readBodyText } from './read-body-text.js';

export interface BrokerClientHooks {
  /** A new snapshot version arrived (already validated). */
  onSnapshot(snapshot: Snapshot): void;
  /** The broker answered 401: the proxy configuration was revoked. */
  onRevoked(): void;
  /** Runs one queued check; resolves with its result. */
  runCheck(check: SnapshotCheck): Promise<CheckResult>;
  /** Counters reported in each status post. */
  counters(): Record<string, number>;
}

export type CheckResult =
  | { checkId: string; ok: true; latencyMs: number }
  | { checkId: string; ok: false; latencyMs: number; error: { code: number; message: string } };

class BrokerHttpError extends Error {
  constructor(readonly status: number) {
    super(`broker answered HTTP ${status}`);
  }
}

/**
 * Follows the broker's snapshot (docs/contracts.md §3): a first fetch, then long-polls with If-None-Match so a
 * change (above all a disable) arrives within seconds, and a full fetch every SNAPSHOT_REFRESH_SECONDS in case a
 * change was missed. While the broker is unreachable the last snapshot stays in use; a 401 means revoked.
 */
export class BrokerClient {
  readonly instanceId = randomUUID();
  private etag: string | undefined;
  private stopped = false;
  private revoked = false;
  private reachable = false;
  private lastConfirmedAt = 0;
  private lastFullRefreshAt = 0;
  private readonly startedAt = Date.now();
  private loop: Promise<void> | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private readonly checksDone = new Set<string>();
  private readonly checksRunning = new Set<string>();

  constructor(
    private readonly config: ProxyConfig,
    private readonly hooks: BrokerClientHooks,
    private readonly metrics: ProxyMetrics,
    private readonly logger: Logger,
  ) {}

  get isRevoked(): boolean {
    return this.revoked;
  }
  get isReachable(): boolean {
    return this.reachable;
  }
  /** Seconds since the broker last confirmed our snapshot (0 before the first one). */
  get snapshotAgeSeconds(): number {
    return this.lastConfirmedAt === 0 ? 0 : (Date.now() - this.lastConfirmedAt) / 1000;
  }

  start(): void {
    this.loop = this.run();
    this.statusTimer = setInterval(() => void this.postStatus(), this.config.tuning.statusIntervalMs);
    this.statusTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    if (this.statusTimer) clearInterval(this.statusTimer);
    await this.loop?.catch(() => undefined);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      // After a failure the next request is a full fetch: it confirms recovery at once (a long-poll would only
      // answer at the end of its wait) and picks up anything missed during the outage.
      const full =
        failures > 0 ||
        this.etag === undefined ||
        Date.now() - this.lastFullRefreshAt >= this.config.snapshotRefreshSeconds * 1000;
      try {
        await this.fetchSnapshot(full);
        failures = 0;
      } catch (error) {
        if (this.stopped) return;
        if (error instanceof BrokerHttpError && error.status === 401) {
          this.handleRevoked();
        } else {
          if (this.reachable || failures === 0) {
            this.logger.warn({ reason: (error as Error).message }, 'broker unreachable; serving the last snapshot');
          }
          this.setReachable(false);
        }
        failures++;
        // Exponential backoff with jitter: capped at 5 s while the broker is unreachable (recovery is noticed
        // quickly), 30 s once revoked (such a proxy only keeps asking in case the revocation was a mistake).
        const cap = this.revoked ? 30_000 : 5_000;
        const delay =
          Math.min(cap, this.config.tuning.brokerRetryBaseMs * 2 ** Math.min(failures - 1, 6)) *
          (0.5 + Math.random() / 2);
        await this.sleep(delay);
      }
    }
  }

  private async fetchSnapshot(full: boolean): Promise<void> {
    const wait = full ? 0 : this.config.snapshotWaitSeconds;
    const url = `${this.config.brokerUrl}/api/proxy/v1/snapshot${wait > 0 ? `?wait=${wait}` : ''}`;
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.config.brokerToken}`,
      accept: 'application/json',
    };
    if (!full && this.etag) headers['if-none-match'] = this.etag;
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout((wait + 15) * 1000)]);
    const response = await fetch(url, { headers, signal });
    if (response.status === 304) {
      await response.body?.cancel();
      this.confirmed();
      return;
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new BrokerHttpError(response.status);
    }
    const json = JSON.parse(await readBodyText(response)) as unknown;
    const parsed = snapshotSchema.safeParse(json);
    if (!parsed.success) {
      throw new Error(
        `broker snapshot is malformed: ${parsed.error.issues
          .slice(0, 3)
          .map((i) => `${i.path.join('.')} ${i.message}`)
          .join('; ')}`,
      );
    }
    const snapshot = parsed.data;
    if (snapshot.proxyConfigId !== this.config.proxyConfigId || snapshot.vendorId !== this.config.vendorId) {
      throw new Error('broker snapshot is for another proxy configuration or vendor');
    }
    this.etag = response.headers.get('etag') ?? `"${snapshot.version}"`;
    if (full) this.lastFullRefreshAt = Date.now();
    const wasRevoked = this.revoked;
    this.revoked = false;
    this.metrics.brokerRevoked.set(0);
    this.confirmed();
    this.hooks.onSnapshot(snapshot);
    if (wasRevoked) this.logger.info('broker accepts the token again');
    this.runChecks(snapshot.checks);
  }

  private confirmed(): void {
    this.lastConfirmedAt = Date.now();
    if (!this.reachable) {
      this.setReachable(true);
      void this.postStatus();
    }
  }

  private setReachable(value: boolean): void {
    this.reachable = value;
    this.metrics.brokerReachable.set(value ? 1 : 0);
  }

  private handleRevoked(): void {
    this.setReachable(true);
    if (!this.revoked) {
      this.logger.error('broker answered 401: this proxy configuration is revoked; dropping every tenant config');
      this.revoked = true;
      this.metrics.brokerRevoked.set(1);
      this.etag = undefined;
      this.hooks.onRevoked();
    }
  }

  /** Runs each queued check once per proxy instance, in the background, and posts the results together. */
  private runChecks(checks: SnapshotCheck[]): void {
    const fresh = checks.filter((c) => !this.checksDone.has(c.id) && !this.checksRunning.has(c.id));
    if (fresh.length === 0) return;
    for (const check of fresh) this.checksRunning.add(check.id);
    void (async () => {
      const results = await Promise.all(fresh.map((check) => this.hooks.runCheck(check)));
      for (const check of fresh) {
        this.checksRunning.delete(check.id);
        this.checksDone.add(check.id);
      }
      try {
        await this.post('/api/proxy/v1/check-results', { results });
      } catch (error) {
        // A lost result is re-run: the broker keeps the check queued until it gets an answer.
        for (const check of fresh) this.checksDone.delete(check.id);
        this.logger.warn({ reason: (error as Error).message }, 'cannot post check results');
      }
    })();
  }

  async postStatus(): Promise<void> {
    if (this.revoked || this.stopped) return;
    try {
      await this.post('/api/proxy/v1/status', {
        instanceId: this.instanceId,
        snapshotVersion: this.metricsVersion(),
        uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
        counters: this.hooks.counters(),
      });
    } catch (error) {
      this.logger.debug({ reason: (error as Error).message }, 'cannot post status');
    }
  }

  private metricsVersion(): number {
    return this.hooks.counters().snapshotVersion ?? 0;
  }

  private async post(path: string, body: unknown): Promise<void> {
    const response = await fetch(`${this.config.brokerUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.config.brokerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(10_000)]),
    });
    await response.body?.cancel();
    if (response.status === 401) {
      this.handleRevoked();
      throw new BrokerHttpError(401);
    }
    if (response.status >= 300) throw new BrokerHttpError(response.status);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.abort.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }
}
