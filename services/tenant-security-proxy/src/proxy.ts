import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { BrokerClient } from './broker/broker-client.js';
import { runCheck } from './checks.js';
import type { ProxyConfig } from './config.js';
import { EventPipeline } from './events/pipeline.js';
import { ApiServer } from './http/api-server.js';
import { createHealthServer } from './http/health-server.js';
import { KeyService } from './key-service.js';
import { KmsAdapterRegistry } from './kms/registry.js';
import { LeaseManager } from './leases.js';
import { DekPrewrapper } from './prewrap.js';
import { exposeGc, IdleMemoryReducer } from './idle-memory.js';
import { createLogger, type Logger } from './logger.js';
import { ProxyMetrics } from './metrics.js';
import { sharedStdout } from './stdout-stream.js';
import { TenantStore } from './tenant-store.js';

export interface StartProxyOptions {
  logger?: Logger;
  /** Where stdout security events go (default: the shared non-blocking stdout); false means the text was dropped. */
  stdoutWrite?: (text: string) => boolean;
}

export interface RunningProxy {
  port: number;
  healthPort: number;
  metrics: ProxyMetrics;
  /** Resolves once the first snapshot is loaded. */
  ready(): Promise<void>;
  isReady(): boolean;
  /** Graceful: stop accepting, finish in-flight requests, flush events, stop following the broker. */
  stop(): Promise<void>;
}

/** Starts the proxy: API, health/metrics server, broker snapshot follower, KMS adapters, leases and events. */
export async function startProxy(config: ProxyConfig, options: StartProxyOptions = {}): Promise<RunningProxy> {
  const logger = options.logger ?? createLogger(config.logLevel);
  let pipeline: EventPipeline | undefined;
  let broker: BrokerClient | undefined;
  const metrics = new ProxyMetrics(
    () => broker?.snapshotAgeSeconds ?? 0,
    () => pipeline?.queueDepth ?? 0,
  );
  const registry = new KmsAdapterRegistry(
    {
      timeoutMs: config.kmsTimeoutMs,
      maxAttempts: config.tuning.kmsMaxAttempts,
      retryBaseMs: config.tuning.kmsRetryBaseMs,
      extraCa: config.kmsExtraCa,
    },
    (provider, operation, outcome, seconds) => metrics.recordKmsCall(provider, operation, outcome, seconds),
  );
  const store = new TenantStore({ privateKey: config.proxyPrivateKey, vendorId: config.vendorId }, registry, logger);
  const prewrapper = new DekPrewrapper(config.leasePrewrapKeys, logger);
  metrics.observePrewrap(() => ({ ...prewrapper.served, pooled: prewrapper.pooledCount }));
  const leases = new LeaseManager(
    config.leaseRotationSeconds * 1000,
    config.leaseCacheTtlSeconds * 1000,
    metrics,
    prewrapper,
  );
  pipeline = new EventPipeline(
    store,
    config.tuning,
    metrics,
    logger,
    config.kmsExtraCa,
    options.stdoutWrite ?? ((text) => sharedStdout().write(text)),
  );
  const keys = new KeyService(store, leases, pipeline);
  const api = new ApiServer({
    apiKeys: config.apiKeys,
    maxBodyBytes: config.tuning.maxBodyBytes,
    keys,
    events: pipeline,
    metrics,
    logger,
  });

  let stopping = false;
  let idleMemory: IdleMemoryReducer | undefined;
  let resolveReady!: () => void;
  const readyPromise = new Promise<void>((resolve) => (resolveReady = resolve));
  const isReady = () => !stopping && store.loaded && !(broker?.isRevoked ?? false);

  broker = new BrokerClient(
    config,
    {
      onSnapshot(snapshot) {
        const previous = store.version;
        const first = !store.loaded;
        const { droppedConfigIds } = store.apply(snapshot);
        // Synchronously, so /ready cannot answer before the parse's garbage is given back.
        if (first) idleMemory?.collectNow();
        for (const id of droppedConfigIds) leases.drop(id);
        metrics.snapshotVersion.set(snapshot.version);
        metrics.tenantsLoaded.set(store.size);
        if (snapshot.version !== previous) {
          logger.info(
            { version: snapshot.version, tenants: store.size, dropped: droppedConfigIds.length },
            'snapshot loaded',
          );
        }
        resolveReady();
      },
      onRevoked() {
        for (const id of store.clear()) leases.drop(id);
        metrics.snapshotVersion.set(0);
        metrics.tenantsLoaded.set(0);
      },
      runCheck: (check) => runCheck(check, store, pipeline!, metrics),
      counters: () => ({
        snapshotVersion: store.version,
        tenants: store.size,
        eventQueueDepth: pipeline!.queueDepth,
        leasesCached: leases.cachedCount,
      }),
    },
    metrics,
    logger,
  );

  const health: Server = createHealthServer(
    {
      live: () => !stopping,
      ready: isReady,
      details: () => ({
        snapshotVersion: store.version,
        snapshotAgeSeconds: Math.round(broker!.snapshotAgeSeconds),
        brokerReachable: broker!.isReachable,
        revoked: broker!.isRevoked,
        tenants: store.size,
        eventQueueDepth: pipeline!.queueDepth,
        instanceId: broker!.instanceId,
      }),
    },
    metrics,
  );

  const port = await api.listen(config.port, config.host);
  const healthPort = await new Promise<number>((resolve, reject) => {
    health.once('error', reject);
    health.listen(config.healthPort, config.host, () => resolve((health.address() as AddressInfo).port));
  });
  const sweeper = setInterval(() => leases.sweep(), 60_000);
  sweeper.unref();
  idleMemory = startIdleMemoryReducer(config.tuning.idleGcSeconds, metrics, logger);
  broker.start();
  logger.info(
    { port, healthPort, broker: config.brokerUrl, proxyConfigId: config.proxyConfigId },
    'tenant security proxy started',
  );

  let stopped: Promise<void> | undefined;
  return {
    port,
    healthPort,
    metrics,
    ready: () => readyPromise,
    isReady,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        logger.info('shutting down: finishing in-flight requests');
        await api.close(config.tuning.shutdownGraceMs);
        await pipeline!.drain(Math.min(5000, config.tuning.shutdownGraceMs));
        pipeline!.close();
        await broker!.stop();
        clearInterval(sweeper);
        await prewrapper.close();
        leases.close();
        idleMemory?.stop();
        await new Promise<void>((resolve) => health.close(() => resolve()));
        health.closeAllConnections();
        await registry.close();
        logger.info('stopped');
      })();
      return stopped;
    },
  };
}

/** IDLE_GC_SECONDS > 0: full GCs once the load stops (idle-memory.ts), counted in /metrics and logged at debug. */
function startIdleMemoryReducer(seconds: number, metrics: ProxyMetrics, logger: Logger): IdleMemoryReducer | undefined {
  if (seconds === 0) return undefined;
  const collect = exposeGc(logger);
  if (!collect) return undefined;
  let pauseSeconds = 0;
  const reducer = new IdleMemoryReducer({
    intervalMs: seconds * 1000,
    collect,
    onCollect({ reason, before, after, ms }) {
      pauseSeconds += ms / 1000;
      const mib = (bytes: number) => Math.round(bytes / 104857.6) / 10;
      logger.debug(
        { reason, heapMiB: { before: mib(before.totalBytes), after: mib(after.totalBytes) }, ms: Math.round(ms) },
        'memory given back',
      );
    },
  });
  metrics.observeIdleGc(() => ({ collections: reducer.collections, seconds: pauseSeconds }));
  reducer.start();
  return reducer;
}
