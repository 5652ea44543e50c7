import 'server-only';
import { and, asc, count, eq, gt, isNull } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { invitations, memberships, organizations, users } from '@/db/schema';
import { BrokerError } from '@/lib/errors';
import { createVendorSchema, fieldErrorsOf, type CreateVendorInput } from '@/lib/validation';
import { appendAudit } from './audit';
import type { Actor, RequestMeta, ScopedContext } from './context';
import { findOrCreateUserByEmail } from './users';

// Serialises first-run submissions so two browsers cannot both create "the first" vendor.
const FIRST_RUN_LOCK_ID = 73_615_002;

export async function vendorExists(db: Db): Promise<boolean> {
  const [row] = await db.select({ n: count() }).from(organizations).where(eq(organizations.kind, 'vendor'));
  return (row?.n ?? 0) > 0;
}

export interface CreatedVendor {
  orgId: string;
  adminUserId: string;
}

/** Operator command (`npm run broker -- create-vendor`): a vendor organization with its first admin. */
export async function createVendor(
  db: Db,
  rawInput: unknown,
  actor: Actor,
  meta: RequestMeta,
  options: { onlyIfNoVendor?: boolean } = {},
): Promise<CreatedVendor> {
  const parsed = createVendorSchema.safeParse(rawInput);
  if (!parsed.success) throw new BrokerError('INVALID_INPUT', 'Check the highlighted fields', fieldErrorsOf(parsed.error));
  const input: CreateVendorInput = parsed.data;
  return db.transaction(async (tx) => {
    if (options.onlyIfNoVendor) {
      await tx.execute(sql`select pg_advisory_xact_lock(${FIRST_RUN_LOCK_ID})`);
      if (await vendorExists(tx)) throw new BrokerError('CONFLICT', 'A vendor organization already exists');
    }
    const [org] = await tx.insert(organizations).values({ kind: 'vendor', name: input.name }).returning();
    const admin = await findOrCreateUserByEmail(tx, input.adminEmail);
    await tx.insert(memberships).values({ orgId: org!.id, userId: admin.id });
    await appendAudit(tx, {
      orgId: org!.id,
      actor,
      action: 'organization.created',
      targetType: 'organization',
      targetId: org!.id,
      details: { name: input.name, kind: 'vendor', firstAdmin: input.adminEmail },
      meta,
    });
    await appendAudit(tx, {
      orgId: org!.id,
      actor,
      action: 'admin.added',
      targetType: 'user',
      targetId: admin.id,
      details: { email: input.adminEmail },
      meta,
    });
    return { orgId: org!.id, adminUserId: admin.id };
  });
}

export interface AdminList {
  admins: { userId: string; email: string | null; name: string | null; since: Date }[];
  pending: { id: string; email: string; expiresAt: Date; createdAt: Date }[];
}

export async function listAdmins(ctx: ScopedContext): Promise<AdminList> {
  const { db, scope } = ctx;
  const admins = await db
    .select({ userId: users.id, email: users.email, name: users.name, since: memberships.createdAt })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.orgId, scope.orgId))
    .orderBy(asc(users.email));
  const pending = await db
    .select({ id: invitations.id, email: invitations.email, expiresAt: invitations.expiresAt, createdAt: invitations.createdAt })
    .from(invitations)
    .where(
      and(
        eq(invitations.orgId, scope.orgId),
        eq(invitations.kind, 'org_admin'),
        isNull(invitations.acceptedAt),
        isNull(invitations.revokedAt),
        gt(invitations.expiresAt, new Date()),
      ),
    )
    .orderBy(asc(invitations.email));
  return { admins, pending };
}
