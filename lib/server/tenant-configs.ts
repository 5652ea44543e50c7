import 'server-only';
import { and, asc, desc, eq, ne, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '@/db/client';
import {
  configChecks,
  configIdReservations,
  kmsConfigs,
  kmsProviders,
  loggingConfigs,
  loggingProviders,
  sealedConfigCopies,
  tenants,
  vendorKeys,
  type TenantConfigKind,
} from '@/db/schema';
import { labelSchema } from '@/lib/config-schemas';
import { BrokerError, notFound } from '@/lib/errors';
import { appendAudit } from './audit';
import { actorOf, type ScopedContext } from './context';
import { liveProxyRecipients, lockVendorKey } from './proxy-configs';
import { keyIdSchema, parseInput, requireBlobFor, sealedBlobSchema } from './sealed-input';
import { bumpTenantRevs, bumpVendorSnapshots, notifyVendorChanged } from './snapshot-versions';
import { readVendorSettings } from './vendor-settings';

/**
 * A tenant's KMS and logging configs. The tenant admin's browser seals each config to the current recipients —
 * every live proxy configuration of the vendor and the vendor key — and the broker refuses (409) a submission whose
 * recipient set is not exactly that set, so no proxy misses a config. Only cleartext metadata is stored besides.
 */

export interface TenantLink {
  tenantRowId: string;
  vendorOrgId: string;
  /** The vendor's id for this tenant: part of every seal context. */
  vendorTenantId: string;
}

/** The caller's tenant organization as its vendor knows it; configs are a tenant-only collection. */
export async function tenantLink(ctx: ScopedContext): Promise<TenantLink> {
  if (ctx.scope.orgKind !== 'tenant' || !ctx.scope.vendorOrgId) throw notFound('Not found');
  const [row] = await ctx.db
    .select({ id: tenants.id, vendorTenantId: tenants.vendorTenantId, status: tenants.status })
    .from(tenants)
    .where(and(eq(tenants.orgId, ctx.scope.vendorOrgId), eq(tenants.tenantOrgId, ctx.scope.orgId)));
  if (!row) throw notFound('Not found');
  if (row.status === 'archived') throw new BrokerError('CONFLICT', 'Your vendor archived this tenant');
  return { tenantRowId: row.id, vendorOrgId: ctx.scope.vendorOrgId, vendorTenantId: row.vendorTenantId };
}

export interface Recipient {
  keyId: string;
  publicKey: string;
  kind: 'vendor' | 'proxy';
  name: string;
}

export interface RecipientSet {
  vendorId: string;
  tenantId: string;
  recipients: Recipient[];
}

async function recipientsOf(db: Db, vendorOrgId: string, vendorKey: { keyId: string; publicKey: string } | null): Promise<Recipient[]> {
  if (!vendorKey) throw new BrokerError('CONFLICT', 'Your vendor has not set up its keys yet: configs cannot be sealed until it has');
  const proxies = await liveProxyRecipients(db, vendorOrgId);
  return [
    { keyId: vendorKey.keyId, publicKey: vendorKey.publicKey, kind: 'vendor', name: 'Vendor key' },
    ...proxies.map((proxy) => ({ keyId: proxy.keyId, publicKey: proxy.publicKey, kind: 'proxy' as const, name: proxy.name })),
  ];
}

export async function getRecipients(ctx: ScopedContext): Promise<RecipientSet> {
  const link = await tenantLink(ctx);
  const [vendorKey] = await ctx.db.select({ keyId: vendorKeys.keyId, publicKey: vendorKeys.publicKey }).from(vendorKeys).where(eq(vendorKeys.orgId, link.vendorOrgId));
  return { vendorId: link.vendorOrgId, tenantId: link.vendorTenantId, recipients: await recipientsOf(ctx.db, link.vendorOrgId, vendorKey ?? null) };
}

const kindSchema = z.enum(['kms', 'logging']);
const tableOf = (kind: TenantConfigKind) => (kind === 'kms' ? kmsConfigs : loggingConfigs);

export function parseKind(raw: string | undefined): TenantConfigKind {
  const parsed = kindSchema.safeParse(raw);
  if (!parsed.success) throw notFound('Not found');
  return parsed.data;
}

/** A config id for the browser to seal with (the id is part of the seal context), valid for one submission. */
export async function reserveConfigId(ctx: ScopedContext, kind: TenantConfigKind): Promise<{ id: number }> {
  await tenantLink(ctx);
  const sequence = kind === 'kms' ? 'kms_configs' : 'logging_configs';
  const result = await ctx.db.execute<{ id: number }>(sql`select nextval(pg_get_serial_sequence(${sequence}, 'id'))::int as id`);
  const id = Number((result as unknown as { rows: { id: number }[] }).rows[0]!.id);
  await ctx.db.insert(configIdReservations).values({ kind, id, orgId: ctx.scope.orgId });
  return { id };
}

const copiesSchema = z
  .array(z.object({ recipientKeyId: keyIdSchema, blob: sealedBlobSchema }))
  .min(1, 'Seal to at least one recipient')
  .max(200);

const fingerprintSchema = z.string().regex(/^[0-9a-f]{32}$/, 'A 32-digit hex fingerprint');

const createSchemas = {
  kms: z.object({
    id: z.number().int().positive().max(2_147_483_647),
    provider: z.enum(kmsProviders),
    label: labelSchema,
    leasingAllowed: z.boolean(),
    primary: z.boolean().optional().default(false),
    fingerprint: fingerprintSchema,
    copies: copiesSchema,
  }),
  logging: z.object({
    id: z.number().int().positive().max(2_147_483_647),
    provider: z.enum(loggingProviders),
    label: labelSchema,
    fingerprint: fingerprintSchema,
    copies: copiesSchema,
  }),
};

/**
 * 409 unless the submitted recipient key ids are exactly the current set; each blob must be sealed to the key it is
 * filed under. Runs under the vendor key lock (lockVendorKey), so a proxy configuration created concurrently either
 * is in the set already or is provisioned with this config afterwards.
 */
async function requireCurrentRecipients(db: Db, link: TenantLink, copies: { recipientKeyId: string; blob: string }[]): Promise<void> {
  const vendorKey = await lockVendorKey(db, link.vendorOrgId);
  const current = await recipientsOf(db, link.vendorOrgId, vendorKey);
  const submitted = new Set(copies.map((copy) => copy.recipientKeyId));
  const expected = new Set(current.map((recipient) => recipient.keyId));
  const same = submitted.size === copies.length && submitted.size === expected.size && [...submitted].every((id) => expected.has(id));
  if (!same) {
    throw new BrokerError('CONFLICT', 'The recipients changed (a proxy configuration was added or revoked): seal again to the current recipients');
  }
  copies.forEach((copy, index) => requireBlobFor(copy.blob, copy.recipientKeyId, `copies.${index}.blob`));
}

export type KmsConfig = typeof kmsConfigs.$inferSelect;
export type LoggingConfig = typeof loggingConfigs.$inferSelect;

export async function createTenantConfig(ctx: ScopedContext, kind: TenantConfigKind, raw: unknown): Promise<KmsConfig | LoggingConfig> {
  const link = await tenantLink(ctx);
  const input = parseInput(createSchemas[kind], raw);
  const { scope, meta } = ctx;
  const row = await ctx.db.transaction(async (tx) => {
    await requireCurrentRecipients(tx, link, input.copies);
    const reserved = await tx
      .delete(configIdReservations)
      .where(and(eq(configIdReservations.kind, kind), eq(configIdReservations.id, input.id), eq(configIdReservations.orgId, scope.orgId)))
      .returning();
    if (!reserved.length) throw new BrokerError('INVALID_INPUT', 'Check the highlighted fields', { id: ['Not an id reserved for this organization (or already used)'] });
    let row: KmsConfig | LoggingConfig;
    const base = { id: input.id, orgId: scope.orgId, vendorOrgId: link.vendorOrgId, tenantId: link.tenantRowId, label: input.label, fingerprint: input.fingerprint, createdBy: scope.user.id };
    if (kind === 'kms') {
      const kmsInput = input as z.infer<(typeof createSchemas)['kms']>;
      if (!kmsInput.leasingAllowed && (await readVendorSettings(tx, link.vendorOrgId)).requireLeasing) {
        throw new BrokerError('INVALID_INPUT', 'Check the highlighted fields', { leasingAllowed: ['Your vendor requires key leasing'] });
      }
      const [existingPrimary] = await tx.select({ id: kmsConfigs.id }).from(kmsConfigs).where(and(eq(kmsConfigs.orgId, scope.orgId), eq(kmsConfigs.status, 'primary')));
      const primary = kmsInput.primary || !existingPrimary;
      if (primary && existingPrimary) await tx.update(kmsConfigs).set({ status: 'active', updatedAt: new Date() }).where(eq(kmsConfigs.id, existingPrimary.id));
      [row] = (await tx
        .insert(kmsConfigs)
        .values({ ...base, provider: kmsInput.provider, status: primary ? 'primary' : 'active', leasingAllowed: kmsInput.leasingAllowed })
        .returning()) as [KmsConfig];
    } else {
      const loggingInput = input as z.infer<(typeof createSchemas)['logging']>;
      // One active logging config per tenant: the new one takes over.
      await tx.update(loggingConfigs).set({ status: 'disabled', updatedAt: new Date() }).where(and(eq(loggingConfigs.orgId, scope.orgId), eq(loggingConfigs.status, 'active')));
      [row] = (await tx.insert(loggingConfigs).values({ ...base, provider: loggingInput.provider, status: 'active' }).returning()) as [LoggingConfig];
    }
    await tx.insert(sealedConfigCopies).values(
      input.copies.map((copy) => ({ kind, configId: row.id, recipientKeyId: copy.recipientKeyId, configVersion: 1, vendorOrgId: link.vendorOrgId, blob: copy.blob })),
    );
    await bumpTenantRevs(tx, [link.tenantRowId]);
    await bumpVendorSnapshots(tx, link.vendorOrgId);
    await appendAudit(tx, {
      orgId: scope.orgId,
      actor: actorOf(scope.user),
      action: `${kind}_config.created`,
      targetType: `${kind}_config`,
      targetId: String(row.id),
      details: { label: row.label, provider: row.provider, status: row.status, fingerprint: row.fingerprint, recipients: input.copies.length },
      meta,
    });
    return row;
  });
  notifyVendorChanged(link.vendorOrgId);
  return row;
}

async function ownConfig(db: Db, ctx: ScopedContext, kind: TenantConfigKind, rawId: string, lock = false) {
  const id = Number(rawId);
  if (!/^\d{1,10}$/.test(rawId) || !Number.isSafeInteger(id) || id < 1 || id > 2_147_483_647) throw notFound('Config not found');
  const table = tableOf(kind);
  const query = db.select().from(table).where(and(eq(table.id, id), eq(table.orgId, ctx.scope.orgId)));
  const [row] = lock ? await query.for('update') : await query;
  if (!row) throw notFound('Config not found');
  return row as KmsConfig | LoggingConfig;
}

export async function listTenantConfigs(ctx: ScopedContext, kind: TenantConfigKind) {
  await tenantLink(ctx);
  const table = tableOf(kind);
  const rows = (await ctx.db.select().from(table).where(eq(table.orgId, ctx.scope.orgId)).orderBy(asc(table.id))) as (KmsConfig | LoggingConfig)[];
  const checks = await ctx.db
    .select()
    .from(configChecks)
    .where(and(eq(configChecks.orgId, ctx.scope.orgId), eq(configChecks.kind, kind)))
    .orderBy(desc(configChecks.createdAt))
    .limit(200);
  return rows.map((row) => ({ ...row, lastCheck: checks.find((check) => check.configId === row.id) ?? null }));
}

const replaceSchema = z.object({ version: z.number().int().min(2), fingerprint: fingerprintSchema, copies: copiesSchema });

/** New credentials (a new sealed version); the key path cannot change, so the fingerprint must stay the same. */
export async function replaceTenantConfig(ctx: ScopedContext, kind: TenantConfigKind, rawId: string, raw: unknown) {
  const link = await tenantLink(ctx);
  // Another organization's config id is not found whatever the body says.
  await ownConfig(ctx.db, ctx, kind, rawId);
  const input = parseInput(replaceSchema, raw);
  const { scope, meta } = ctx;
  const row = await ctx.db.transaction(async (tx) => {
    await requireCurrentRecipients(tx, link, input.copies);
    const current = await ownConfig(tx, ctx, kind, rawId, true);
    if (input.version !== current.version + 1) throw new BrokerError('CONFLICT', 'The config changed meanwhile: reload and try again');
    if (input.fingerprint !== current.fingerprint) {
      throw new BrokerError('INVALID_INPUT', 'The key path cannot change: create a new config instead', { fingerprint: ['Differs from the existing key path'] });
    }
    const table = tableOf(kind);
    await tx.delete(sealedConfigCopies).where(and(eq(sealedConfigCopies.kind, kind), eq(sealedConfigCopies.configId, current.id)));
    await tx.insert(sealedConfigCopies).values(
      input.copies.map((copy) => ({ kind, configId: current.id, recipientKeyId: copy.recipientKeyId, configVersion: input.version, vendorOrgId: link.vendorOrgId, blob: copy.blob })),
    );
    const [row] = await tx.update(table).set({ version: input.version, updatedAt: new Date() }).where(eq(table.id, current.id)).returning();
    await bumpTenantRevs(tx, [link.tenantRowId]);
    await bumpVendorSnapshots(tx, link.vendorOrgId);
    await appendAudit(tx, {
      orgId: scope.orgId,
      actor: actorOf(scope.user),
      action: `${kind}_config.credentials_replaced`,
      targetType: `${kind}_config`,
      targetId: String(current.id),
      details: { label: current.label, version: input.version },
      meta,
    });
    return row as KmsConfig | LoggingConfig;
  });
  notifyVendorChanged(link.vendorOrgId);
  return row;
}

const statusSchemas = { kms: z.object({ status: z.enum(['primary', 'active', 'disabled']) }), logging: z.object({ status: z.enum(['active', 'disabled']) }) };

/** primary (wraps; the previous primary becomes active), active (unwraps), disabled (the kill switch). */
export async function setTenantConfigStatus(ctx: ScopedContext, kind: TenantConfigKind, rawId: string, raw: unknown) {
  const link = await tenantLink(ctx);
  await ownConfig(ctx.db, ctx, kind, rawId);
  const { status } = parseInput(statusSchemas[kind], raw);
  const { scope, meta } = ctx;
  const row = await ctx.db.transaction(async (tx) => {
    const current = await ownConfig(tx, ctx, kind, rawId, true);
    if (current.status === status) return current;
    const table = tableOf(kind);
    // Demote the other holder of the unique status first (the partial unique index allows one).
    const exclusive = kind === 'kms' ? 'primary' : 'active';
    if (status === exclusive) {
      await tx
        .update(table)
        .set({ status: kind === 'kms' ? 'active' : 'disabled', updatedAt: new Date() } as never)
        .where(and(eq(table.orgId, scope.orgId), eq(table.status, exclusive as never), ne(table.id, current.id)));
    }
    const [row] = await tx.update(table).set({ status, updatedAt: new Date() } as never).where(eq(table.id, current.id)).returning();
    await bumpTenantRevs(tx, [link.tenantRowId]);
    await bumpVendorSnapshots(tx, link.vendorOrgId);
    await appendAudit(tx, {
      orgId: scope.orgId,
      actor: actorOf(scope.user),
      action: `${kind}_config.status_changed`,
      targetType: `${kind}_config`,
      targetId: String(current.id),
      details: { label: current.label, from: current.status, to: status },
      meta,
    });
    return row as KmsConfig | LoggingConfig;
  });
  notifyVendorChanged(link.vendorOrgId);
  return row;
}

/** Queues a test for a proxy to pick up from its snapshot. */
export async function queueCheck(ctx: ScopedContext, kind: TenantConfigKind, rawId: string) {
  const link = await tenantLink(ctx);
  const { scope, meta } = ctx;
  const check = await ctx.db.transaction(async (tx) => {
    const config = await ownConfig(tx, ctx, kind, rawId);
    if (config.status === 'disabled') throw new BrokerError('CONFLICT', 'Enable the config before testing it');
    const [check] = await tx
      .insert(configChecks)
      .values({ orgId: scope.orgId, vendorOrgId: link.vendorOrgId, tenantId: link.tenantRowId, kind, configId: config.id, requestedBy: scope.user.id })
      .returning();
    await bumpVendorSnapshots(tx, link.vendorOrgId);
    await appendAudit(tx, { orgId: scope.orgId, actor: actorOf(scope.user), action: `${kind}_config.test_requested`, targetType: `${kind}_config`, targetId: String(config.id), details: { checkId: check!.id }, meta });
    return check!;
  });
  notifyVendorChanged(link.vendorOrgId);
  return check;
}

export async function listChecks(ctx: ScopedContext, kind: TenantConfigKind, rawId: string) {
  await tenantLink(ctx);
  const config = await ownConfig(ctx.db, ctx, kind, rawId);
  return ctx.db
    .select()
    .from(configChecks)
    .where(and(eq(configChecks.orgId, ctx.scope.orgId), eq(configChecks.kind, kind), eq(configChecks.configId, config.id)))
    .orderBy(desc(configChecks.createdAt))
    .limit(20);
}
