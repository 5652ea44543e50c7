import 'server-only';
import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '@/db/client';
import { configChecks, proxyConfigs, proxyInstances, snapshotFetchRecords } from '@/db/schema';
import { appendAuditBatch } from './audit-batch';
import type { AuditInput } from './audit';
import type { RequestMeta } from './context';
import { parseInput } from './sealed-input';
import { bumpVendorSnapshots, nextNotification, notifyVendorChanged } from './snapshot-versions';
import { digestsEqual, sha256Hex } from './tokens';
import { readVendorSettings } from './vendor-settings';

/** The broker side of the proxy API (docs/contracts.md §3). */

export interface AuthenticatedProxy {
  id: string;
  orgId: string;
  name: string;
  keyId: string;
  snapshotVersion: number;
}

const TOKEN_PATTERN = /^ocmk_bt_[A-Za-z0-9_-]{43}$/;
/** Queued checks older than this are no longer offered (the tenant sees them as unanswered and can retry). */
const CHECK_OFFER_MS = 15 * 60_000;
const CONTACT_WRITE_INTERVAL_MS = 5_000;

type ProcessState = {
  lastContactWrite: Map<string, number>;
  snapshotCache: Map<string, { version: number; body: string; sections: TenantSection[] }>;
  auditedVersion: Map<string, number>;
  auditChain: Map<string, Promise<void>>;
  /** Per proxy configuration: the digest of each tenant section last recorded by this instance. */
  recordedDigests: Map<string, Map<string, string>>;
};
const state: ProcessState = ((globalThis as { __opencmkProxyApi?: ProcessState }).__opencmkProxyApi ??= {
  lastContactWrite: new Map(),
  snapshotCache: new Map(),
  auditedVersion: new Map(),
  auditChain: new Map(),
  recordedDigests: new Map(),
});

/**
 * `Authorization: Bearer <token>` -> the live proxy configuration, or null (401). Only SHA-256 of the token is
 * stored; the row is found by its digest and the digests are compared again in constant time.
 */
export async function authenticateProxy(db: Db, headers: Headers): Promise<AuthenticatedProxy | null> {
  const match = /^Bearer\s+(\S+)$/i.exec(headers.get('authorization') ?? '');
  const token = match?.[1];
  if (!token || !TOKEN_PATTERN.test(token)) return null;
  const digest = sha256Hex(token);
  const [row] = await db
    .select({ id: proxyConfigs.id, orgId: proxyConfigs.orgId, name: proxyConfigs.name, keyId: proxyConfigs.keyId, snapshotVersion: proxyConfigs.snapshotVersion, tokenHash: proxyConfigs.tokenHash, status: proxyConfigs.status })
    .from(proxyConfigs)
    .where(eq(proxyConfigs.tokenHash, digest));
  if (!row || row.status === 'revoked' || !row.tokenHash || !digestsEqual(row.tokenHash, digest)) return null;
  await touchContact(db, row.id);
  return { id: row.id, orgId: row.orgId, name: row.name, keyId: row.keyId, snapshotVersion: row.snapshotVersion };
}

async function touchContact(db: Db, id: string): Promise<void> {
  const now = Date.now();
  if (now - (state.lastContactWrite.get(id) ?? 0) < CONTACT_WRITE_INTERVAL_MS) return;
  state.lastContactWrite.set(id, now);
  await db.update(proxyConfigs).set({ lastContactAt: new Date(now) }).where(eq(proxyConfigs.id, id));
}

export interface SnapshotKmsConfig {
  id: number;
  provider: 'aws' | 'gcp' | 'azure';
  status: 'primary' | 'active' | 'disabled';
  leasingAllowed: boolean;
  version: number;
  sealed: string | null;
}
export interface SnapshotTenant {
  tenantId: string;
  kmsConfigs: SnapshotKmsConfig[];
  loggingConfig: { id: number; provider: 'splunk' | 'gcp-logging' | 'webhook'; version: number; sealed: string } | null;
}
interface TenantSection {
  tenantRowId: string;
  tenantOrgId: string | null;
  tenant: SnapshotTenant;
}

export interface Snapshot {
  version: number;
  proxyConfigId: string;
  vendorId: string;
  settings: { requireLeasing: boolean; requireLogging: boolean };
  tenants: SnapshotTenant[];
  checks: { id: string; kind: 'kms' | 'logging'; tenantId: string; configId: number }[];
}

type Rows<T> = { rows: T[] };

/**
 * Builds the snapshot: this configuration's own sealed copies at each config's current version, cleartext metadata,
 * queued checks. A disabled config is listed without `sealed`; a config without a copy for this configuration yet
 * (provisioning) is left out. The version is read before the rows, so the content is at least that version.
 */
async function buildSnapshot(db: Db, proxy: AuthenticatedProxy): Promise<{ body: string; sections: TenantSection[] }> {
  const kms = (await db.execute(sql`
    select k.id, k.provider, k.status, k.leasing_allowed, k.version, t.id as tenant_row_id, t.tenant_org_id, t.vendor_tenant_id, c.blob
    from kms_configs k
    join tenants t on t.id = k.tenant_id and t.status = 'active'
    left join sealed_config_copies c on c.kind = 'kms' and c.config_id = k.id and c.recipient_key_id = ${proxy.keyId} and c.config_version = k.version
    where k.vendor_org_id = ${proxy.orgId}
    order by t.vendor_tenant_id, k.id`)) as unknown as Rows<{
    id: number; provider: SnapshotKmsConfig['provider']; status: SnapshotKmsConfig['status']; leasing_allowed: boolean; version: number;
    tenant_row_id: string; tenant_org_id: string | null; vendor_tenant_id: string; blob: string | null;
  }>;
  const logging = (await db.execute(sql`
    select l.id, l.provider, l.version, t.id as tenant_row_id, t.tenant_org_id, t.vendor_tenant_id, c.blob
    from logging_configs l
    join tenants t on t.id = l.tenant_id and t.status = 'active'
    join sealed_config_copies c on c.kind = 'logging' and c.config_id = l.id and c.recipient_key_id = ${proxy.keyId} and c.config_version = l.version
    where l.vendor_org_id = ${proxy.orgId} and l.status = 'active'`)) as unknown as Rows<{
    id: number; provider: 'splunk' | 'gcp-logging' | 'webhook'; version: number; tenant_row_id: string; tenant_org_id: string | null; vendor_tenant_id: string; blob: string;
  }>;
  const checks = (await db.execute(sql`
    select c.id, c.kind, c.config_id, t.vendor_tenant_id
    from config_checks c join tenants t on t.id = c.tenant_id and t.status = 'active'
    where c.vendor_org_id = ${proxy.orgId} and c.status = 'queued' and c.created_at > ${new Date(Date.now() - CHECK_OFFER_MS).toISOString()}
    order by c.created_at limit 100`)) as unknown as Rows<{ id: string; kind: 'kms' | 'logging'; config_id: number; vendor_tenant_id: string }>;

  const sections = new Map<string, TenantSection>();
  const sectionOf = (row: { tenant_row_id: string; tenant_org_id: string | null; vendor_tenant_id: string }) => {
    let section = sections.get(row.tenant_row_id);
    if (!section) {
      section = { tenantRowId: row.tenant_row_id, tenantOrgId: row.tenant_org_id, tenant: { tenantId: row.vendor_tenant_id, kmsConfigs: [], loggingConfig: null } };
      sections.set(row.tenant_row_id, section);
    }
    return section;
  };
  for (const row of kms.rows) {
    const disabled = row.status === 'disabled';
    if (!disabled && !row.blob) continue;
    sectionOf(row).tenant.kmsConfigs.push({
      id: Number(row.id), provider: row.provider, status: row.status, leasingAllowed: row.leasing_allowed, version: Number(row.version), sealed: disabled ? null : row.blob,
    });
  }
  for (const row of logging.rows) {
    sectionOf(row).tenant.loggingConfig = { id: Number(row.id), provider: row.provider, version: Number(row.version), sealed: row.blob };
  }
  const snapshot: Snapshot = {
    version: proxy.snapshotVersion,
    proxyConfigId: proxy.id,
    vendorId: proxy.orgId,
    settings: await readVendorSettings(db, proxy.orgId),
    tenants: [...sections.values()].map((section) => section.tenant),
    checks: checks.rows.map((row) => ({ id: row.id, kind: row.kind, tenantId: row.vendor_tenant_id, configId: Number(row.config_id) })),
  };
  return { body: JSON.stringify(snapshot), sections: [...sections.values()] };
}

/** The snapshot body for the proxy's current version, built once per version per broker instance. */
export async function snapshotBody(db: Db, proxy: AuthenticatedProxy, meta: RequestMeta): Promise<string> {
  const cached = state.snapshotCache.get(proxy.id);
  if (cached && cached.version === proxy.snapshotVersion) return cached.body;
  const built = await buildSnapshot(db, proxy);
  state.snapshotCache.set(proxy.id, { version: proxy.snapshotVersion, ...built });
  scheduleFetchAudit(db, proxy, built.sections, meta);
  return built.body;
}

export const etagOf = (version: number) => `"${version}"`;

export function matchesEtag(ifNoneMatch: string | null, version: number): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etagOf(version));
}

const POLL_INTERVAL_MS = 250;

/**
 * Long-poll: resolves with the proxy's new state as soon as its snapshot version differs from `version` (an
 * in-process notification, or the version column polled every 250 ms for changes made by other broker instances),
 * null when revoked, or the unchanged proxy when `waitMs` ran out or the request was aborted.
 */
export async function waitForSnapshotChange(db: Db, proxy: AuthenticatedProxy, waitMs: number, signal: AbortSignal): Promise<AuthenticatedProxy | null> {
  const deadline = Date.now() + waitMs;
  while (!signal.aborted) {
    const [row] = await db
      .select({ snapshotVersion: proxyConfigs.snapshotVersion, status: proxyConfigs.status, tokenHash: proxyConfigs.tokenHash, name: proxyConfigs.name })
      .from(proxyConfigs)
      .where(eq(proxyConfigs.id, proxy.id));
    if (!row || row.status === 'revoked' || !row.tokenHash) return null;
    if (row.snapshotVersion !== proxy.snapshotVersion) return { ...proxy, name: row.name, snapshotVersion: row.snapshotVersion };
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal.addEventListener('abort', onAbort);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      nextNotification(proxy.orgId, proxy.id, stop.signal),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.min(POLL_INTERVAL_MS, remaining));
      }),
    ]);
    clearTimeout(timer);
    stop.abort();
    signal.removeEventListener('abort', onAbort);
  }
  return proxy;
}

/**
 * Every snapshot version fetched is recorded in the audit log of each tenant whose section changed since this
 * configuration last fetched it (so each tenant sees each version of its configs delivered, once). Runs after the
 * response, serialised per configuration; the digest upsert makes it once-only across broker instances too.
 */
function scheduleFetchAudit(db: Db, proxy: AuthenticatedProxy, sections: TenantSection[], meta: RequestMeta): void {
  if ((state.auditedVersion.get(proxy.id) ?? 0) >= proxy.snapshotVersion) return;
  state.auditedVersion.set(proxy.id, proxy.snapshotVersion);
  const previous = state.auditChain.get(proxy.id) ?? Promise.resolve();
  const next = previous
    .then(() => recordFetch(db, proxy, sections, meta))
    .catch((error: unknown) => console.error('cannot record snapshot fetch in tenant audit logs', (error as Error).message));
  state.auditChain.set(proxy.id, next);
}

async function recordFetch(db: Db, proxy: AuthenticatedProxy, sections: TenantSection[], meta: RequestMeta): Promise<void> {
  const changed = new Set<string>();
  // Only sections that differ from what this instance recorded last go to the database (10,000 tenants, one changed:
  // one row); the conditional upsert below still decides, across instances, who records a change.
  let known = state.recordedDigests.get(proxy.id);
  if (!known) state.recordedDigests.set(proxy.id, (known = new Map()));
  const candidates = sections
    .map((section) => ({ section, digest: sha256Hex(JSON.stringify(section.tenant)) }))
    .filter(({ section, digest }) => known.get(section.tenantRowId) !== digest);
  for (let i = 0; i < candidates.length; i += 2000) {
    const chunk = candidates.slice(i, i + 2000).map(({ section, digest }) => ({
      proxyConfigId: proxy.id,
      tenantId: section.tenantRowId,
      digest,
      snapshotVersion: proxy.snapshotVersion,
    }));
    const rows = await db
      .insert(snapshotFetchRecords)
      .values(chunk)
      .onConflictDoUpdate({
        target: [snapshotFetchRecords.proxyConfigId, snapshotFetchRecords.tenantId],
        set: { digest: sql`excluded.digest`, snapshotVersion: sql`excluded.snapshot_version` },
        setWhere: sql`${snapshotFetchRecords.digest} <> excluded.digest and ${snapshotFetchRecords.snapshotVersion} < excluded.snapshot_version`,
      })
      .returning({ tenantId: snapshotFetchRecords.tenantId });
    for (const row of rows) changed.add(row.tenantId);
    for (const row of chunk) known.set(row.tenantId, row.digest);
  }
  const entries: AuditInput[] = sections
    .filter((section) => changed.has(section.tenantRowId) && section.tenantOrgId)
    .map((section) => ({
      orgId: section.tenantOrgId!,
      actor: { type: 'proxy', id: proxy.id, label: proxy.name },
      action: 'proxy.snapshot_fetched',
      targetType: 'proxy_config',
      targetId: proxy.id,
      tenantId: section.tenantRowId,
      details: {
        snapshotVersion: proxy.snapshotVersion,
        kmsConfigs: section.tenant.kmsConfigs.map((config) => ({ id: config.id, version: config.version, status: config.status })),
        loggingConfig: section.tenant.loggingConfig ? { id: section.tenant.loggingConfig.id, version: section.tenant.loggingConfig.version } : null,
      },
      meta,
    }));
  await appendAuditBatch(db, entries);
}

/** For tests and benchmarks: resolves when the audit records of fetches so far are written. */
export async function settleSnapshotAudits(): Promise<void> {
  await Promise.all([...state.auditChain.values()]);
}

/** Forget per-process caches (tests that swap databases). */
export function resetProxyApiState(): void {
  state.lastContactWrite.clear();
  state.snapshotCache.clear();
  state.auditedVersion.clear();
  state.auditChain.clear();
  state.recordedDigests.clear();
}

const printable = z
  .string()
  .min(1)
  .max(200)
  .refine((value) => !/[\p{Cc}]/u.test(value), 'Only printable characters');

const statusSchema = z.object({
  instanceId: printable,
  snapshotVersion: z.number().int().nonnegative(),
  uptimeSeconds: z.number().nonnegative().max(10 * 365 * 86400),
  counters: z
    .record(z.string().max(100), z.union([z.number(), z.string().max(200), z.boolean(), z.null()]))
    .optional()
    .default({})
    .refine((counters) => Object.keys(counters).length <= 100, 'At most 100 counters'),
});

export async function recordProxyStatus(db: Db, proxy: AuthenticatedProxy, raw: unknown): Promise<void> {
  const input = parseInput(statusSchema, raw);
  const values = {
    proxyConfigId: proxy.id,
    instanceId: input.instanceId,
    snapshotVersion: input.snapshotVersion,
    uptimeSeconds: Math.floor(input.uptimeSeconds),
    counters: input.counters,
    reportedAt: new Date(),
  };
  await db
    .insert(proxyInstances)
    .values(values)
    .onConflictDoUpdate({ target: [proxyInstances.proxyConfigId, proxyInstances.instanceId], set: values });
}

const checkResultsSchema = z.object({
  results: z
    .array(
      z.object({
        checkId: z.uuid(),
        ok: z.boolean(),
        latencyMs: z.number().nonnegative().max(3_600_000),
        error: z.object({ code: z.number().int(), message: z.string().max(2000) }).optional(),
      }),
    )
    .min(1)
    .max(100),
});

/** Results of queued checks of this vendor; each answered check leaves the snapshots and is recorded for its tenant. */
export async function recordCheckResults(db: Db, proxy: AuthenticatedProxy, raw: unknown, meta: RequestMeta): Promise<{ accepted: number }> {
  const input = parseInput(checkResultsSchema, raw);
  const updated = await db.transaction(async (tx) => {
    const done: (typeof configChecks.$inferSelect & { tenantOrgId: string | null })[] = [];
    for (const result of input.results) {
      const [row] = await tx
        .update(configChecks)
        .set({
          status: result.ok ? 'succeeded' : 'failed',
          ok: result.ok,
          latencyMs: Math.round(result.latencyMs),
          errorCode: result.ok ? null : (result.error?.code ?? null),
          errorMessage: result.ok ? null : (result.error?.message ?? 'The proxy reported a failure without details'),
          completedAt: new Date(),
          answeredBy: proxy.id,
        })
        .where(and(eq(configChecks.id, result.checkId), eq(configChecks.vendorOrgId, proxy.orgId), eq(configChecks.status, 'queued')))
        .returning();
      if (row) done.push({ ...row, tenantOrgId: row.orgId });
    }
    if (done.length) await bumpVendorSnapshots(tx, proxy.orgId);
    return done;
  });
  if (updated.length) {
    notifyVendorChanged(proxy.orgId);
    await appendAuditBatch(
      db,
      updated.map((check) => ({
        orgId: check.orgId,
        actor: { type: 'proxy' as const, id: proxy.id, label: proxy.name },
        action: `${check.kind}_config.test_completed`,
        targetType: `${check.kind}_config`,
        targetId: String(check.configId),
        tenantId: check.tenantId,
        details: { checkId: check.id, ok: check.ok, latencyMs: check.latencyMs, errorCode: check.errorCode },
        meta,
      })),
    );
  }
  return { accepted: updated.length };
}

