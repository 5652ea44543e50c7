import 'server-only';
import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '@/db/client';
import { configChecks, proxyConfigs, proxyInstances, snapshotFetchRecords, snapshotSections } from '@/db/schema';
import { appendAuditBatch } from './audit-batch';
import type { AuditInput } from './audit';
import type { RequestMeta } from './context';
import { parseInput } from './sealed-input';
import { bumpVendorSnapshots, notifyVendorChanged } from './snapshot-versions';
import { watchSnapshotVersion } from './snapshot-watch';
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
  /** Per proxy configuration: each tenant's section as last read, with the revision signature it was read at. */
  sectionCache: Map<string, Map<string, { signature: string; section: TenantSection | null }>>;
  /** Per proxy configuration: the digest of each tenant section last recorded by this instance. */
  recordedDigests: Map<string, Map<string, string>>;
};
const state: ProcessState = ((globalThis as { __opencmkProxyApi?: ProcessState }).__opencmkProxyApi ??= {
  lastContactWrite: new Map(),
  snapshotCache: new Map(),
  auditedVersion: new Map(),
  auditChain: new Map(),
  recordedDigests: new Map(),
  sectionCache: new Map(),
});
// A state object left on globalThis by an older build of this module (next dev reloads) lacks newer fields.
state.recordedDigests ??= new Map();
state.sectionCache ??= new Map();

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
    .select({
      id: proxyConfigs.id,
      orgId: proxyConfigs.orgId,
      name: proxyConfigs.name,
      keyId: proxyConfigs.keyId,
      snapshotVersion: proxyConfigs.snapshotVersion,
      tokenHash: proxyConfigs.tokenHash,
      status: proxyConfigs.status,
    })
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
  await db
    .update(proxyConfigs)
    .set({ lastContactAt: new Date(now) })
    .where(eq(proxyConfigs.id, id));
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
/** One tenant's part of a snapshot: its JSON text exactly as served, and who it belongs to (for the audit record). */
interface TenantSection {
  tenantRowId: string;
  tenantOrgId: string | null;
  json: string;
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
 *
 * PostgreSQL assembles each tenant's section as JSON and the sections come back as one text value: for 10,000
 * tenants that is one row instead of 10,000 (on PGlite the per-row cost, not the bytes, dominates), and the body is
 * concatenated without parsing.
 */
async function buildSnapshot(
  db: Db,
  proxy: AuthenticatedProxy,
): Promise<{ body: string; sections: TenantSection[]; reread: Set<string> }> {
  let cache = state.sectionCache.get(proxy.id);
  if (!cache) state.sectionCache.set(proxy.id, (cache = new Map()));
  // 1. Every live tenant's revision, as one text value (cheap even for 10,000 tenants). An instance with nothing
  // cached (just started) also takes the sections stored at those revisions by whichever instance built them.
  const cold = cache.size === 0;
  const stored = cold
    ? sql`|| E'\t' || case when s.rev is null then 'M' when s.section is null then 'E' else 'S' || s.section end`
    : sql``;
  const storedJoin = cold
    ? sql`left join snapshot_sections s on s.proxy_config_id = ${proxy.id} and s.tenant_id = t.id and s.rev = coalesce(r.rev, 0) and s.copies_rev = p.copies_rev`
    : sql``;
  // A section depends on its tenant's revision and on this configuration's copies revision (provisioning).
  const signatureRows = (await db.execute(sql`
    select max(p.copies_rev) as copies_rev,
      string_agg(t.id::text || ',' || coalesce(r.rev, 0)::text || ',' || t.tenant_org_id::text ${stored}, E'\n' order by t.vendor_tenant_id) as signatures
    from tenants t
    cross join (select copies_rev from proxy_configs where id = ${proxy.id}) p
    left join tenant_snapshot_revs r on r.tenant_id = t.id ${storedJoin}
    where t.org_id = ${proxy.orgId} and t.status = 'active' and t.tenant_org_id is not null`)) as unknown as Rows<{
    copies_rev: number | null;
    signatures: string | null;
  }>;
  const copiesRev = Number(signatureRows.rows[0]?.copies_rev ?? 0);
  const signatures = (signatureRows.rows[0]?.signatures ?? '')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const tab = line.indexOf('\t');
      const tenantSignature = tab < 0 ? line : line.slice(0, tab);
      const [tenantRowId, rev, tenantOrgId] = tenantSignature.split(',') as [string, string, string];
      const signature = `${copiesRev}:${tenantSignature}`;
      if (tab >= 0 && line[tab + 1] !== 'M') {
        const json = line.slice(tab + 2);
        cache.set(tenantRowId, {
          signature,
          section: line[tab + 1] === 'S' ? { tenantRowId, tenantOrgId, json } : null,
        });
      }
      return { tenantRowId, signature, rev: Number(rev) };
    });
  // 2. Sections only for tenants whose revision moved since this instance last built them. A section read after its
  // revision is at least that new; a change in between moves the revision again and is re-read next time.
  const stale = signatures.filter(({ tenantRowId, signature }) => cache.get(tenantRowId)?.signature !== signature);
  for (let i = 0; i < stale.length; i += 5000) {
    const chunk = stale.slice(i, i + 5000);
    const fresh = await readSections(
      db,
      proxy,
      chunk.length === signatures.length ? null : chunk.map((entry) => entry.tenantRowId),
    );
    for (const { tenantRowId, signature } of chunk)
      cache.set(tenantRowId, { signature, section: fresh.get(tenantRowId) ?? null });
  }
  if (stale.length)
    scheduleSectionStore(
      db,
      proxy,
      stale.map(({ tenantRowId, rev }) => ({ tenantRowId, rev, copiesRev, section: cache.get(tenantRowId)!.section })),
    );
  const live = new Set(signatures.map((entry) => entry.tenantRowId));
  for (const tenantRowId of cache.keys()) if (!live.has(tenantRowId)) cache.delete(tenantRowId);
  const sections = signatures
    .map(({ tenantRowId }) => cache.get(tenantRowId)!.section)
    .filter((section): section is TenantSection => section !== null);

  const checks = (await db.execute(sql`
    select c.id, c.kind, c.config_id, t.vendor_tenant_id
    from config_checks c join tenants t on t.id = c.tenant_id and t.status = 'active'
    where c.vendor_org_id = ${proxy.orgId} and c.status = 'queued' and c.created_at > ${new Date(Date.now() - CHECK_OFFER_MS).toISOString()}
    order by c.created_at limit 100`)) as unknown as Rows<{
    id: string;
    kind: 'kms' | 'logging';
    config_id: number;
    vendor_tenant_id: string;
  }>;
  const head = {
    version: proxy.snapshotVersion,
    proxyConfigId: proxy.id,
    vendorId: proxy.orgId,
    settings: await readVendorSettings(db, proxy.orgId),
  };
  const checkList = checks.rows.map((row) => ({
    id: row.id,
    kind: row.kind,
    tenantId: row.vendor_tenant_id,
    configId: Number(row.config_id),
  }));
  const body = `${JSON.stringify(head).slice(0, -1)},"tenants":[${sections.map((section) => section.json).join(',')}],"checks":${JSON.stringify(checkList)}}`;
  return { body, sections, reread: new Set(stale.map((entry) => entry.tenantRowId)) };
}

/**
 * Tenant sections (all live tenants, or the given ones): PostgreSQL assembles each section as JSON and all of them
 * come back as one text value — one row instead of thousands (on PGlite the per-row cost, not the bytes, dominates),
 * concatenated into the body without parsing.
 */
async function readSections(
  db: Db,
  proxy: AuthenticatedProxy,
  tenantRowIds: string[] | null,
): Promise<Map<string, TenantSection>> {
  const only = tenantRowIds
    ? sql`and t.id in (${sql.join(
        tenantRowIds.map((id) => sql`${id}`),
        sql`, `,
      )})`
    : sql``;
  // A tenant with nothing for this configuration yet (provisioning) is left out rather than listed empty.
  const aggregated = (await db.execute(sql`
    select string_agg(
      t.id::text || E'\t' || t.tenant_org_id::text || E'\t' ||
        json_build_object('tenantId', t.vendor_tenant_id, 'kmsConfigs', coalesce(k.configs, '[]'::json), 'loggingConfig', l.config)::text,
      E'\n') as lines
    from tenants t
    left join lateral (
      select json_agg(json_build_object(
        'id', k.id, 'provider', k.provider, 'status', k.status, 'leasingAllowed', k.leasing_allowed, 'version', k.version,
        'sealed', case when k.status = 'disabled' then null else c.blob end) order by k.id) as configs
      from kms_configs k
      left join sealed_config_copies c
        on c.kind = 'kms' and c.config_id = k.id and c.recipient_key_id = ${proxy.keyId} and c.config_version = k.version
      where k.org_id = t.tenant_org_id and k.tenant_id = t.id and (k.status = 'disabled' or c.blob is not null)
    ) k on true
    left join lateral (
      select json_build_object('id', l.id, 'provider', l.provider, 'version', l.version, 'sealed', c.blob) as config
      from logging_configs l
      join sealed_config_copies c
        on c.kind = 'logging' and c.config_id = l.id and c.recipient_key_id = ${proxy.keyId} and c.config_version = l.version
      where l.org_id = t.tenant_org_id and l.tenant_id = t.id and l.status = 'active'
      limit 1
    ) l on true
    where t.org_id = ${proxy.orgId} and t.status = 'active' and t.tenant_org_id is not null ${only}
      and (k.configs is not null or l.config is not null)`)) as unknown as Rows<{ lines: string | null }>;
  const sections = new Map<string, TenantSection>();
  const lines = aggregated.rows[0]?.lines;
  if (!lines) return sections;
  for (const line of lines.split('\n')) {
    // uuid, tab, uuid, tab, JSON (PostgreSQL escapes tabs and newlines inside JSON strings).
    const first = line.indexOf('\t');
    const second = line.indexOf('\t', first + 1);
    const tenantRowId = line.slice(0, first);
    sections.set(tenantRowId, {
      tenantRowId,
      tenantOrgId: line.slice(first + 1, second),
      json: line.slice(second + 1),
    });
  }
  return sections;
}

/** The snapshot body for the proxy's current version, built once per version per broker instance. */
export async function snapshotBody(db: Db, proxy: AuthenticatedProxy, meta: RequestMeta): Promise<string> {
  const cached = state.snapshotCache.get(proxy.id);
  if (cached && cached.version === proxy.snapshotVersion) return cached.body;
  const built = await buildSnapshot(db, proxy);
  state.snapshotCache.set(proxy.id, { version: proxy.snapshotVersion, body: built.body, sections: built.sections });
  // Sections not re-read are unchanged since the last build, whose changes were recorded then: no need to hash them.
  scheduleFetchAudit(
    db,
    proxy,
    built.sections.filter((section) => built.reread.has(section.tenantRowId)),
    meta,
  );
  return built.body;
}

export const etagOf = (version: number) => `"${version}"`;

export function matchesEtag(ifNoneMatch: string | null, version: number): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etagOf(version));
}

/**
 * Long-poll: resolves with the proxy's new state as soon as its snapshot version differs (see snapshot-watch.ts),
 * null when revoked, or the unchanged proxy when `waitMs` ran out or the request was aborted.
 */
export async function waitForSnapshotChange(
  db: Db,
  proxy: AuthenticatedProxy,
  waitMs: number,
  signal: AbortSignal,
): Promise<AuthenticatedProxy | null> {
  const outcome = await watchSnapshotVersion(db, proxy.id, proxy.snapshotVersion, waitMs, signal);
  if (outcome === 'timeout') return proxy;
  if (outcome === null) return null;
  return { ...proxy, name: outcome.name, snapshotVersion: outcome.snapshotVersion };
}

/**
 * Stores re-read sections at the revision they were read at (after the response, on the configuration's background
 * chain), for instances that start later. An older revision never overwrites a newer one.
 */
function scheduleSectionStore(
  db: Db,
  proxy: AuthenticatedProxy,
  rows: { tenantRowId: string; rev: number; copiesRev: number; section: TenantSection | null }[],
): void {
  const previous = state.auditChain.get(proxy.id) ?? Promise.resolve();
  const next = previous
    .then(() =>
      db.transaction(async (tx) => {
        // Revocation holds this row's lock while it deletes the stored sections: lock it too, and store nothing for a
        // revoked configuration.
        const [live] = await tx
          .select({ status: proxyConfigs.status })
          .from(proxyConfigs)
          .where(eq(proxyConfigs.id, proxy.id))
          .for('share');
        if (!live || live.status === 'revoked') return;
        await storeSections(tx, proxy, rows);
      }),
    )
    .catch((error: unknown) => console.error('cannot store snapshot sections', (error as Error).message));
  state.auditChain.set(proxy.id, next);
}

async function storeSections(
  db: Db,
  proxy: AuthenticatedProxy,
  rows: { tenantRowId: string; rev: number; copiesRev: number; section: TenantSection | null }[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += 1000) {
    await db
      .insert(snapshotSections)
      .values(
        rows
          .slice(i, i + 1000)
          .map((row) => ({
            proxyConfigId: proxy.id,
            tenantId: row.tenantRowId,
            rev: row.rev,
            copiesRev: row.copiesRev,
            section: row.section?.json ?? null,
          })),
      )
      .onConflictDoUpdate({
        target: [snapshotSections.proxyConfigId, snapshotSections.tenantId],
        set: { rev: sql`excluded.rev`, copiesRev: sql`excluded.copies_rev`, section: sql`excluded.section` },
        setWhere: sql`(${snapshotSections.copiesRev}, ${snapshotSections.rev}) <= (excluded.copies_rev, excluded.rev)`,
      });
  }
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
    .catch((error: unknown) =>
      console.error('cannot record snapshot fetch in tenant audit logs', (error as Error).message),
    );
  state.auditChain.set(proxy.id, next);
}

async function recordFetch(
  db: Db,
  proxy: AuthenticatedProxy,
  sections: TenantSection[],
  meta: RequestMeta,
): Promise<void> {
  const changed = new Set<string>();
  // Only sections that differ from what this instance recorded last go to the database (10,000 tenants, one changed:
  // one row); the conditional upsert below still decides, across instances, who records a change.
  let known = state.recordedDigests.get(proxy.id);
  if (!known) state.recordedDigests.set(proxy.id, (known = new Map()));
  const candidates = sections
    .map((section) => ({ section, digest: sha256Hex(section.json) }))
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
    .map((section) => ({ section, tenant: JSON.parse(section.json) as SnapshotTenant }))
    .map(({ section, tenant }) => ({
      orgId: section.tenantOrgId!,
      actor: { type: 'proxy', id: proxy.id, label: proxy.name },
      action: 'proxy.snapshot_fetched',
      targetType: 'proxy_config',
      targetId: proxy.id,
      tenantId: section.tenantRowId,
      details: {
        snapshotVersion: proxy.snapshotVersion,
        kmsConfigs: tenant.kmsConfigs.map((config) => ({
          id: config.id,
          version: config.version,
          status: config.status,
        })),
        loggingConfig: tenant.loggingConfig
          ? { id: tenant.loggingConfig.id, version: tenant.loggingConfig.version }
          : null,
      },
      meta,
    }));
  await appendAuditBatch(db, entries);
}

/** For tests and benchmarks: resolves when the audit records of fetches so far are written. */
export async function settleSnapshotAudits(): Promise<void> {
  await Promise.all([...state.auditChain.values()]);
}

/** What a freshly started broker instance has: no built snapshots (benchmarks measure full builds with it). */
export function forgetBuiltSnapshots(): void {
  state.snapshotCache.clear();
  state.sectionCache.clear();
}

/** Forget per-process caches (tests that swap databases). */
export function resetProxyApiState(): void {
  state.lastContactWrite.clear();
  state.snapshotCache.clear();
  state.auditedVersion.clear();
  state.auditChain.clear();
  state.recordedDigests.clear();
  state.sectionCache.clear();
}

const printable = z
  .string()
  .min(1)
  .max(200)
  .refine((value) => !/[\p{Cc}]/u.test(value), 'Only printable characters');

const statusSchema = z.object({
  instanceId: printable,
  snapshotVersion: z.number().int().nonnegative(),
  uptimeSeconds: z
    .number()
    .nonnegative()
    .max(10 * 365 * 86400),
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
export async function recordCheckResults(
  db: Db,
  proxy: AuthenticatedProxy,
  raw: unknown,
  meta: RequestMeta,
): Promise<{ accepted: number }> {
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
        .where(
          and(
            eq(configChecks.id, result.checkId),
            eq(configChecks.vendorOrgId, proxy.orgId),
            eq(configChecks.status, 'queued'),
          ),
        )
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
