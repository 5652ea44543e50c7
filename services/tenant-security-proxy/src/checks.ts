import type { CheckResult } from './broker/broker-client.js';
import type { SnapshotCheck } from './broker/snapshot-schema.js';
import { toTspError } from './errors.js';
import type { ProxyMetrics } from './metrics.js';
import type { TenantStore } from './tenant-store.js';
import { randomKey32 } from './leased-crypto.js';
import type { EventPipeline } from './events/pipeline.js';

/** Runs one queued check by its kind (docs/contracts.md §3: `kms` or `logging`). */
export function runCheck(
  check: SnapshotCheck,
  store: TenantStore,
  pipeline: EventPipeline,
  metrics: ProxyMetrics,
): Promise<CheckResult> {
  return check.kind === 'logging'
    ? runLoggingCheck(check, store, pipeline, metrics)
    : runKmsCheck(check, store, metrics);
}

/**
 * A tenant's logging "test": one test event delivered to the tenant's sink (Splunk HEC, Cloud Logging, webhook).
 * Failures use code 301 (security event rejected) with the sink's answer in the message.
 */
export async function runLoggingCheck(
  check: SnapshotCheck,
  store: TenantStore,
  pipeline: EventPipeline,
  metrics: ProxyMetrics,
): Promise<CheckResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const logging = store.get(check.tenantId)?.logging;
  if (!logging || (check.configId !== undefined && logging.meta.id !== check.configId)) {
    return fail(
      check,
      elapsed(),
      301,
      `logging config ${check.configId ?? ''} is not the active logging config of tenant '${check.tenantId}'`,
      metrics,
    );
  }
  try {
    await pipeline.deliverTest(check.tenantId, logging);
    metrics.checks.labels('ok').inc();
    return { checkId: check.id, ok: true, latencyMs: elapsed() };
  } catch (error) {
    return fail(check, elapsed(), 301, `test event not delivered: ${(error as Error).message.slice(0, 300)}`, metrics);
  }
}

/**
 * A tenant's "test" button (DESIGN.md §3): a KMS wrap/unwrap round trip with the named config, reporting the
 * latency or the KMS error in the protocol's words. The test key is random and discarded.
 */
export async function runKmsCheck(
  check: SnapshotCheck,
  store: TenantStore,
  metrics: ProxyMetrics,
): Promise<CheckResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let operation: 'wrap' | 'unwrap' = 'wrap';
  try {
    const tenant = store.requireTenant(check.tenantId);
    const config = check.configId !== undefined ? tenant.configs.get(check.configId) : tenant.primary;
    if (!config)
      return fail(
        check,
        elapsed(),
        201,
        `KMS config ${check.configId ?? '(primary)'} is not assigned to tenant '${check.tenantId}'`,
        metrics,
      );
    const adapter = await config.adapter();
    const probe = randomKey32();
    const context = { tenantId: config.tenantId, kmsConfigId: config.id };
    const wrapped = await adapter.wrap(probe, context);
    operation = 'unwrap';
    const unwrapped = await adapter.unwrap(wrapped, context);
    if (Buffer.compare(Buffer.from(unwrapped), probe) !== 0)
      return fail(check, elapsed(), 205, 'KMS returned a different key on unwrap', metrics);
    metrics.checks.labels('ok').inc();
    return { checkId: check.id, ok: true, latencyMs: elapsed() };
  } catch (error) {
    const tspError = toTspError(error, operation);
    return fail(check, elapsed(), tspError.code, tspError.message, metrics);
  }
}

function fail(
  check: SnapshotCheck,
  latencyMs: number,
  code: number,
  message: string,
  metrics: ProxyMetrics,
): CheckResult {
  metrics.checks.labels('failed').inc();
  return { checkId: check.id, ok: false, latencyMs, error: { code, message } };
}
