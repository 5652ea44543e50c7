import 'server-only';
import { and, desc, eq, ilike, or, type SQL } from 'drizzle-orm';
import { invitations, tenants, type TenantStatus } from '@/db/schema';
import { BrokerError, notFound } from '@/lib/errors';
import { fieldErrorsOf, inviteTenantSchema, tenantListFilterSchema, uuidSchema } from '@/lib/validation';
import { appendAudit } from './audit';
import { actorOf, type ScopedContext } from './context';
import { createInvitationRow, invitationLink, revokeOutstanding } from './invitations';
import { sendMail } from './mail';
import { bumpTenantRevs, bumpVendorSnapshots, notifyVendorChanged } from './snapshot-versions';

export type Tenant = typeof tenants.$inferSelect;

/** The list page shows at most this many rows; search narrows it down. */
export const TENANT_LIST_LIMIT = 1000;

function requireVendor(ctx: ScopedContext): void {
  // Tenants are a vendor's rows; to a tenant organization the whole collection does not exist.
  if (ctx.scope.orgKind !== 'vendor') throw notFound('Not found');
}

export async function listTenants(ctx: ScopedContext, rawFilter: unknown = {}): Promise<Tenant[]> {
  requireVendor(ctx);
  const parsed = tenantListFilterSchema.safeParse(rawFilter);
  if (!parsed.success) throw new BrokerError('INVALID_INPUT', 'Invalid filter', fieldErrorsOf(parsed.error));
  const { q, status } = parsed.data;
  const conditions: SQL[] = [eq(tenants.orgId, ctx.scope.orgId)];
  if (status !== 'all') conditions.push(eq(tenants.status, status));
  if (q) {
    const pattern = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    conditions.push(
      or(ilike(tenants.vendorTenantId, pattern), ilike(tenants.displayName, pattern), ilike(tenants.adminEmail, pattern))!,
    );
  }
  return ctx.db.select().from(tenants).where(and(...conditions)).orderBy(desc(tenants.createdAt)).limit(TENANT_LIST_LIMIT);
}

/** Loads one of the caller's own tenants, locked for update; any other id is NOT_FOUND. */
async function lockOwnTenant(db: ScopedContext['db'], ctx: ScopedContext, tenantId: string): Promise<Tenant> {
  if (!uuidSchema.safeParse(tenantId).success) throw notFound('Tenant not found');
  const [tenant] = await db
    .select()
    .from(tenants)
    .where(and(eq(tenants.id, tenantId), eq(tenants.orgId, ctx.scope.orgId)))
    .for('update');
  if (!tenant) throw notFound('Tenant not found');
  return tenant;
}

export async function getTenant(ctx: ScopedContext, tenantId: string): Promise<Tenant> {
  requireVendor(ctx);
  if (!uuidSchema.safeParse(tenantId).success) throw notFound('Tenant not found');
  const [tenant] = await ctx.db
    .select()
    .from(tenants)
    .where(and(eq(tenants.id, tenantId), eq(tenants.orgId, ctx.scope.orgId)));
  if (!tenant) throw notFound('Tenant not found');
  return tenant;
}

async function mailTenantInvitation(ctx: ScopedContext, tenant: Tenant, token: string): Promise<void> {
  await sendMail(ctx.db, {
    to: tenant.adminEmail,
    subject: `${ctx.scope.orgName} invites you to manage your encryption keys`,
    text:
      `${ctx.scope.orgName} uses OpenCMK so that you keep the keys that protect your data in your own cloud KMS.\n\n` +
      `Accept the invitation to set up "${tenant.displayName}": ${invitationLink(token)}\n\n` +
      `The link works once and expires in 7 days.`,
    link: invitationLink(token),
  });
}

export async function inviteTenant(ctx: ScopedContext, rawInput: unknown): Promise<Tenant> {
  requireVendor(ctx);
  const parsed = inviteTenantSchema.safeParse(rawInput);
  if (!parsed.success) throw new BrokerError('INVALID_INPUT', 'Check the highlighted fields', fieldErrorsOf(parsed.error));
  const input = parsed.data;
  const { scope, meta } = ctx;
  const { tenant, token } = await ctx.db.transaction(async (tx) => {
    const [existing] = await tx
      .select({ id: tenants.id })
      .from(tenants)
      .where(and(eq(tenants.orgId, scope.orgId), eq(tenants.vendorTenantId, input.vendorTenantId)));
    if (existing) {
      throw new BrokerError('INVALID_INPUT', 'Check the highlighted fields', {
        vendorTenantId: ['This tenant id is already used by another tenant'],
      });
    }
    const [tenant] = await tx
      .insert(tenants)
      .values({ orgId: scope.orgId, vendorTenantId: input.vendorTenantId, displayName: input.displayName, adminEmail: input.adminEmail })
      .returning();
    const invitation = await createInvitationRow(tx, {
      orgId: scope.orgId,
      kind: 'tenant',
      tenantId: tenant!.id,
      email: input.adminEmail,
      createdBy: scope.user.id,
    });
    await appendAudit(tx, {
      orgId: scope.orgId,
      actor: actorOf(scope.user),
      action: 'tenant.invited',
      targetType: 'tenant',
      targetId: tenant!.id,
      tenantId: tenant!.id,
      details: { vendorTenantId: input.vendorTenantId, displayName: input.displayName, adminEmail: input.adminEmail },
      meta,
    });
    return { tenant: tenant!, token: invitation.token };
  });
  await mailTenantInvitation(ctx, tenant, token);
  return tenant;
}

async function changeTenant(
  ctx: ScopedContext,
  tenantId: string,
  allowedFrom: TenantStatus[],
  next: TenantStatus,
  action: string,
  reissue: boolean,
): Promise<Tenant> {
  requireVendor(ctx);
  const { scope, meta } = ctx;
  const { tenant, token, leftSnapshots } = await ctx.db.transaction(async (tx) => {
    const current = await lockOwnTenant(tx, ctx, tenantId);
    if (!allowedFrom.includes(current.status)) {
      throw new BrokerError('CONFLICT', `Not possible while the tenant is ${current.status}`);
    }
    await revokeOutstanding(tx, eq(invitations.tenantId, current.id));
    const invitation = reissue
      ? await createInvitationRow(tx, {
          orgId: scope.orgId,
          kind: 'tenant',
          tenantId: current.id,
          email: current.adminEmail,
          createdBy: scope.user.id,
        })
      : null;
    const [updated] = await tx
      .update(tenants)
      .set({ status: next, updatedAt: new Date() })
      .where(eq(tenants.id, current.id))
      .returning();
    await appendAudit(tx, {
      orgId: scope.orgId,
      actor: actorOf(scope.user),
      action,
      targetType: 'tenant',
      targetId: current.id,
      tenantId: current.id,
      details: { vendorTenantId: current.vendorTenantId, from: current.status, to: next },
      meta,
    });
    // Only active tenants are in proxy snapshots: leaving that state must reach the proxies within seconds.
    const leftSnapshots = current.status === 'active' && next !== 'active';
    if (leftSnapshots) {
      await bumpTenantRevs(tx, [current.id]);
      await bumpVendorSnapshots(tx, scope.orgId);
    }
    return { tenant: updated!, token: invitation?.token, leftSnapshots };
  });
  if (leftSnapshots) notifyVendorChanged(scope.orgId);
  if (token) await mailTenantInvitation(ctx, tenant, token);
  return tenant;
}

/** A fresh link (the old one stops working); also re-invites a tenant whose invitation was revoked. */
export const resendTenantInvitation = (ctx: ScopedContext, tenantId: string) =>
  changeTenant(ctx, tenantId, ['invited', 'revoked'], 'invited', 'tenant.invitation_resent', true);

export const revokeTenantInvitation = (ctx: ScopedContext, tenantId: string) =>
  changeTenant(ctx, tenantId, ['invited'], 'revoked', 'tenant.invitation_revoked', false);

export const archiveTenant = (ctx: ScopedContext, tenantId: string) =>
  changeTenant(ctx, tenantId, ['invited', 'revoked', 'active'], 'archived', 'tenant.archived', false);
