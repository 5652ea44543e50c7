import 'server-only';
import { and, asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { cloudIdentities, vendorSettings } from '@/db/schema';
import { cloudIdentitySchema } from '@/lib/config-schemas';
import { BrokerError, notFound } from '@/lib/errors';
import { uuidSchema } from '@/lib/validation';
import type { Db } from '@/db/client';
import { appendAudit } from './audit';
import { requireVendor } from './broker-keys';
import { actorOf, type ScopedContext } from './context';
import { parseInput } from './sealed-input';
import { bumpVendorSnapshots, notifyVendorChanged } from './snapshot-versions';

export type CloudIdentity = typeof cloudIdentities.$inferSelect;

/** The vendor's own list, or — for a tenant organization — its vendor's, to grant in the tenant's cloud. */
export async function listCloudIdentities(ctx: ScopedContext): Promise<CloudIdentity[]> {
  const vendorOrgId = ctx.scope.orgKind === 'vendor' ? ctx.scope.orgId : ctx.scope.vendorOrgId;
  if (!vendorOrgId) throw notFound('Not found');
  return ctx.db.select().from(cloudIdentities).where(eq(cloudIdentities.orgId, vendorOrgId)).orderBy(asc(cloudIdentities.provider), asc(cloudIdentities.createdAt));
}

export async function addCloudIdentity(ctx: ScopedContext, raw: unknown): Promise<CloudIdentity> {
  requireVendor(ctx);
  const input = parseInput(cloudIdentitySchema, raw);
  const { scope, meta } = ctx;
  return ctx.db.transaction(async (tx) => {
    const inserted = await tx
      .insert(cloudIdentities)
      .values({ orgId: scope.orgId, provider: input.provider, identity: input.identity, label: input.label })
      .onConflictDoNothing()
      .returning();
    if (!inserted.length) throw new BrokerError('INVALID_INPUT', 'Check the highlighted fields', { identity: ['Already listed'] });
    await appendAudit(tx, { orgId: scope.orgId, actor: actorOf(scope.user), action: 'cloud_identity.added', targetType: 'cloud_identity', targetId: inserted[0]!.id, details: { provider: input.provider, identity: input.identity }, meta });
    return inserted[0]!;
  });
}

export async function removeCloudIdentity(ctx: ScopedContext, id: string): Promise<void> {
  requireVendor(ctx);
  if (!uuidSchema.safeParse(id).success) throw notFound('Cloud identity not found');
  const { scope, meta } = ctx;
  await ctx.db.transaction(async (tx) => {
    const deleted = await tx.delete(cloudIdentities).where(and(eq(cloudIdentities.id, id), eq(cloudIdentities.orgId, scope.orgId))).returning();
    if (!deleted.length) throw notFound('Cloud identity not found');
    await appendAudit(tx, { orgId: scope.orgId, actor: actorOf(scope.user), action: 'cloud_identity.removed', targetType: 'cloud_identity', targetId: id, details: { provider: deleted[0]!.provider, identity: deleted[0]!.identity }, meta });
  });
}

export interface VendorSettings {
  requireLeasing: boolean;
  requireLogging: boolean;
}

export async function readVendorSettings(db: Db, vendorOrgId: string): Promise<VendorSettings> {
  const [row] = await db.select().from(vendorSettings).where(eq(vendorSettings.orgId, vendorOrgId));
  return { requireLeasing: row?.requireLeasing ?? false, requireLogging: row?.requireLogging ?? false };
}

export async function getVendorSettings(ctx: ScopedContext): Promise<VendorSettings> {
  const vendorOrgId = ctx.scope.orgKind === 'vendor' ? ctx.scope.orgId : ctx.scope.vendorOrgId;
  if (!vendorOrgId) throw notFound('Not found');
  return readVendorSettings(ctx.db, vendorOrgId);
}

const settingsSchema = z.object({ requireLeasing: z.boolean(), requireLogging: z.boolean() }).strict();

export async function updateVendorSettings(ctx: ScopedContext, raw: unknown): Promise<VendorSettings> {
  requireVendor(ctx);
  const input = parseInput(settingsSchema, raw);
  const { scope, meta } = ctx;
  await ctx.db.transaction(async (tx) => {
    const before = await readVendorSettings(tx, scope.orgId);
    await tx
      .insert(vendorSettings)
      .values({ orgId: scope.orgId, ...input })
      .onConflictDoUpdate({ target: vendorSettings.orgId, set: { ...input, updatedAt: new Date() } });
    await bumpVendorSnapshots(tx, scope.orgId);
    await appendAudit(tx, { orgId: scope.orgId, actor: actorOf(scope.user), action: 'vendor_settings.updated', targetType: 'vendor_settings', targetId: scope.orgId, details: { before, after: input }, meta });
  });
  notifyVendorChanged(scope.orgId);
  return input;
}
