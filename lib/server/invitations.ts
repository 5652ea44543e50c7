import 'server-only';
import { and, eq, gt, isNull, type SQL } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { invitations, memberships, organizations, tenants, users } from '@/db/schema';
import { BrokerError, notFound } from '@/lib/errors';
import { getEnv } from '@/lib/env';
import { fieldErrorsOf, inviteAdminSchema, uuidSchema } from '@/lib/validation';
import { actorOf, type RequestMeta, type ScopedContext, type SignedInUser } from './context';
import { appendAudit } from './audit';
import { sendMail } from './mail';
import { consumeRateLimit, HOUR_MS } from './rate-limit';
import { newSecretToken, sha256Hex } from './tokens';

export const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;
const TOKEN_PREFIX = 'ocmk_inv_';

export const invitationLink = (token: string) => `${getEnv().publicUrl}/invite/${encodeURIComponent(token)}`;

/** Stores a new invitation (only the token's SHA-256) and returns the token for the e-mail. */
export async function createInvitationRow(
  db: Db,
  values: { orgId: string; kind: 'org_admin' | 'tenant'; tenantId?: string; email: string; createdBy: string | null },
): Promise<{ id: string; token: string; expiresAt: Date }> {
  const token = newSecretToken(TOKEN_PREFIX);
  const expiresAt = new Date(Date.now() + INVITATION_TTL_MS);
  const [row] = await db
    .insert(invitations)
    .values({ ...values, tenantId: values.tenantId ?? null, tokenHash: sha256Hex(token), expiresAt })
    .returning({ id: invitations.id });
  return { id: row!.id, token, expiresAt };
}

/** Marks every outstanding invitation matching `where` revoked (used by resend, revoke and archive). */
export async function revokeOutstanding(db: Db, condition: SQL): Promise<number> {
  const rows = await db
    .update(invitations)
    .set({ revokedAt: new Date() })
    .where(and(condition, isNull(invitations.acceptedAt), isNull(invitations.revokedAt)))
    .returning({ id: invitations.id });
  return rows.length;
}

export async function inviteAdmin(ctx: ScopedContext, rawInput: unknown): Promise<{ invitationId: string }> {
  const parsed = inviteAdminSchema.safeParse(rawInput);
  if (!parsed.success) throw new BrokerError('INVALID_INPUT', 'Check the highlighted fields', fieldErrorsOf(parsed.error));
  const { db, scope, meta } = ctx;
  const { email } = parsed.data;
  const created = await db.transaction(async (tx) => {
    const [member] = await tx
      .select({ userId: memberships.userId })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(and(eq(memberships.orgId, scope.orgId), eq(users.email, email)));
    if (member) throw new BrokerError('INVALID_INPUT', 'Already an admin', { email: ['Already an admin of this organization'] });
    await revokeOutstanding(tx, and(eq(invitations.orgId, scope.orgId), eq(invitations.kind, 'org_admin'), eq(invitations.email, email))!);
    const invitation = await createInvitationRow(tx, { orgId: scope.orgId, kind: 'org_admin', email, createdBy: scope.user.id });
    await appendAudit(tx, {
      orgId: scope.orgId,
      actor: actorOf(scope.user),
      action: 'admin.invited',
      targetType: 'invitation',
      targetId: invitation.id,
      details: { email },
      meta,
    });
    return invitation;
  });
  await sendMail(db, {
    to: email,
    subject: `You are invited to administer ${scope.orgName} on OpenCMK`,
    text: `${scope.user.email} invited you to become an admin of ${scope.orgName}.\n\nAccept: ${invitationLink(created.token)}\n\nThe link works once and expires in 7 days.`,
    link: invitationLink(created.token),
  });
  return { invitationId: created.id };
}

export async function revokeAdminInvitation(ctx: ScopedContext, invitationId: string): Promise<void> {
  const { db, scope, meta } = ctx;
  if (!uuidSchema.safeParse(invitationId).success) throw notFound('Invitation not found');
  await db.transaction(async (tx) => {
    const [row] = await tx
      .update(invitations)
      .set({ revokedAt: new Date() })
      .where(
        and(
          eq(invitations.id, invitationId),
          eq(invitations.orgId, scope.orgId),
          eq(invitations.kind, 'org_admin'),
          isNull(invitations.acceptedAt),
          isNull(invitations.revokedAt),
        ),
      )
      .returning({ id: invitations.id, email: invitations.email });
    if (!row) throw notFound('Invitation not found');
    await appendAudit(tx, {
      orgId: scope.orgId,
      actor: actorOf(scope.user),
      action: 'admin.invitation_revoked',
      targetType: 'invitation',
      targetId: row.id,
      details: { email: row.email },
      meta,
    });
  });
}

export interface InvitationPreview {
  kind: 'org_admin' | 'tenant';
  email: string;
  organizationName: string;
  tenantName: string | null;
  expiresAt: Date;
}

const invalidInvitation = () => notFound('This invitation link is invalid, expired, revoked or already used');

async function findUsableInvitation(db: Db, token: string) {
  if (typeof token !== 'string' || !token.startsWith(TOKEN_PREFIX) || token.length > 200) throw invalidInvitation();
  const [row] = await db
    .select({ invitation: invitations, orgName: organizations.name, tenantName: tenants.displayName })
    .from(invitations)
    .innerJoin(organizations, eq(organizations.id, invitations.orgId))
    .leftJoin(tenants, eq(tenants.id, invitations.tenantId))
    // Looked up by digest: the database never compares the secret itself.
    .where(
      and(
        eq(invitations.tokenHash, sha256Hex(token)),
        isNull(invitations.acceptedAt),
        isNull(invitations.revokedAt),
        gt(invitations.expiresAt, new Date()),
      ),
    );
  if (!row) throw invalidInvitation();
  return row;
}

/** What the invitation page shows before the invitee accepts. */
export async function previewInvitation(db: Db, token: string): Promise<InvitationPreview> {
  const row = await findUsableInvitation(db, token);
  return {
    kind: row.invitation.kind,
    email: row.invitation.email,
    organizationName: row.orgName,
    tenantName: row.tenantName,
    expiresAt: row.invitation.expiresAt,
  };
}

/**
 * Accepts an invitation for the signed-in user, whose e-mail must be the invited one (holding the link alone is not
 * enough: sign-in proves control of the address). Single use is enforced by a conditional update inside the
 * transaction. Returns the organization the user now administers.
 */
export async function acceptInvitation(
  db: Db,
  user: SignedInUser,
  token: string,
  meta: RequestMeta,
): Promise<{ orgId: string }> {
  const env = getEnv();
  await consumeRateLimit(db, `invite-accept:user:${user.id}`, env.RATE_LIMIT_INVITATION_ACCEPT_PER_HOUR, HOUR_MS);
  if (meta.ip) await consumeRateLimit(db, `invite-accept:ip:${meta.ip}`, env.RATE_LIMIT_INVITATION_ACCEPT_PER_HOUR, HOUR_MS);
  const { invitation } = await findUsableInvitation(db, token);
  if (invitation.email !== user.email.toLowerCase()) {
    throw new BrokerError('WRONG_ACCOUNT', `This invitation is for ${invitation.email}; sign in with that address to accept it`);
  }
  const actor = actorOf(user);
  return db.transaction(async (tx) => {
    const [claimed] = await tx
      .update(invitations)
      .set({ acceptedAt: new Date(), acceptedBy: user.id })
      .where(and(eq(invitations.id, invitation.id), isNull(invitations.acceptedAt), isNull(invitations.revokedAt)))
      .returning({ id: invitations.id });
    if (!claimed) throw invalidInvitation();

    if (invitation.kind === 'org_admin') {
      await tx.insert(memberships).values({ orgId: invitation.orgId, userId: user.id }).onConflictDoNothing();
      await appendAudit(tx, {
        orgId: invitation.orgId,
        actor,
        action: 'admin.added',
        targetType: 'user',
        targetId: user.id,
        details: { email: user.email, invitationId: invitation.id },
        meta,
      });
      return { orgId: invitation.orgId };
    }

    const [tenant] = await tx.select().from(tenants).where(eq(tenants.id, invitation.tenantId!)).for('update');
    if (!tenant || tenant.status !== 'invited') throw invalidInvitation();
    const [tenantOrg] = await tx
      .insert(organizations)
      .values({ kind: 'tenant', name: tenant.displayName, vendorOrgId: tenant.orgId })
      .returning({ id: organizations.id });
    await tx.insert(memberships).values({ orgId: tenantOrg!.id, userId: user.id });
    await tx
      .update(tenants)
      .set({ status: 'active', tenantOrgId: tenantOrg!.id, updatedAt: new Date() })
      .where(eq(tenants.id, tenant.id));
    await appendAudit(tx, {
      orgId: tenantOrg!.id,
      actor,
      action: 'organization.created',
      targetType: 'organization',
      targetId: tenantOrg!.id,
      details: { name: tenant.displayName, kind: 'tenant', vendorTenantId: tenant.vendorTenantId, firstAdmin: user.email },
      meta,
    });
    await appendAudit(tx, {
      orgId: tenant.orgId,
      actor,
      action: 'tenant.invitation_accepted',
      targetType: 'tenant',
      targetId: tenant.id,
      tenantId: tenant.id,
      details: { vendorTenantId: tenant.vendorTenantId, email: user.email },
      meta,
    });
    return { orgId: tenantOrg!.id };
  });
}

/** Whether a magic link may be sent to this address: known admins and people with a pending invitation only. */
export async function mayRequestSignInLink(db: Db, email: string): Promise<boolean> {
  const [member] = await db
    .select({ userId: memberships.userId })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(users.email, email))
    .limit(1);
  if (member) return true;
  const [pending] = await db
    .select({ id: invitations.id })
    .from(invitations)
    .where(
      and(eq(invitations.email, email), isNull(invitations.acceptedAt), isNull(invitations.revokedAt), gt(invitations.expiresAt, new Date())),
    )
    .limit(1);
  return Boolean(pending);
}
