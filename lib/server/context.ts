import 'server-only';
import type { Db } from '@/db/client';

/** Who is acting, as recorded in the audit log. */
export interface Actor {
  type: 'user' | 'proxy' | 'system';
  id: string | null;
  label: string | null;
}

export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
}

export const noRequestMeta: RequestMeta = { ip: null, userAgent: null };

export interface SignedInUser {
  id: string;
  email: string;
  name: string | null;
}

/**
 * The caller's authority inside one organization. Every data-access function that touches organization-owned rows
 * takes one, and filters by `orgId` in the query itself — so another organization's row is simply not found.
 */
export interface OrgScope {
  orgId: string;
  orgKind: 'vendor' | 'tenant';
  orgName: string;
  /** For a tenant organization: its vendor. */
  vendorOrgId: string | null;
  user: SignedInUser;
}

export interface ScopedContext {
  db: Db;
  scope: OrgScope;
  meta: RequestMeta;
}

export const actorOf = (user: SignedInUser): Actor => ({ type: 'user', id: user.id, label: user.email });
