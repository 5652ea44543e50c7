import 'server-only';
import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { memberships, organizations } from '@/db/schema';
import { BrokerError, notFound } from '@/lib/errors';
import { uuidSchema } from '@/lib/validation';
import type { OrgScope, SignedInUser } from './context';

/**
 * The one entry point to an organization: the signed-in user must be an admin of it. A non-member, an unknown id
 * and a malformed id all get the same NOT_FOUND, so nobody learns which organizations exist.
 */
export async function requireOrgAdmin(
  db: Db,
  user: SignedInUser | null,
  orgId: string,
  kind?: 'vendor' | 'tenant',
): Promise<OrgScope> {
  if (!user) throw new BrokerError('UNAUTHENTICATED', 'Sign in first');
  if (!uuidSchema.safeParse(orgId).success) throw notFound('Organization not found');
  const [org] = await db
    .select({ id: organizations.id, kind: organizations.kind, name: organizations.name, vendorOrgId: organizations.vendorOrgId })
    .from(organizations)
    .innerJoin(memberships, eq(memberships.orgId, organizations.id))
    .where(and(eq(organizations.id, orgId), eq(memberships.userId, user.id)));
  // A page or action for the other kind of organization does not exist for this one either.
  if (!org || (kind && org.kind !== kind)) throw notFound('Organization not found');
  return { orgId: org.id, orgKind: org.kind, orgName: org.name, vendorOrgId: org.vendorOrgId, user };
}

export interface OrgSummary {
  id: string;
  kind: 'vendor' | 'tenant';
  name: string;
}

/** The organizations a user administers (for the organization switcher). */
export async function listUserOrganizations(db: Db, userId: string): Promise<OrgSummary[]> {
  return db
    .select({ id: organizations.id, kind: organizations.kind, name: organizations.name })
    .from(organizations)
    .innerJoin(memberships, eq(memberships.orgId, organizations.id))
    .where(eq(memberships.userId, userId))
    .orderBy(asc(organizations.kind), asc(organizations.name));
}
