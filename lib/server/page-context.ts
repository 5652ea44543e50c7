import 'server-only';
import { headers } from 'next/headers';
import { notFound, redirect } from 'next/navigation';
import { getDb, type Db } from '@/db/client';
import { BrokerError } from '@/lib/errors';
import type { ScopedContext, SignedInUser } from './context';
import { requireOrgAdmin } from './org-scope';
import { requestMetaFromHeaders, userFromHeaders } from './session';

/** The database and the signed-in user (or null) for a server component. */
export async function pageSession(): Promise<{ db: Db; user: SignedInUser | null }> {
  const db = await getDb();
  return { db, user: await userFromHeaders(db, await headers()) };
}

/** A page inside an organization: signed out -> sign-in; not an admin of it (or wrong kind) -> 404. */
export async function pageScope(orgId: string, kind?: 'vendor' | 'tenant'): Promise<ScopedContext> {
  const db = await getDb();
  const requestHeaders = await headers();
  const user = await userFromHeaders(db, requestHeaders);
  if (!user) redirect('/sign-in');
  try {
    return { db, scope: await requireOrgAdmin(db, user, orgId, kind), meta: requestMetaFromHeaders(requestHeaders) };
  } catch (error) {
    if (error instanceof BrokerError && error.code === 'NOT_FOUND') notFound();
    throw error;
  }
}

export type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export const firstParam = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value;
