import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { outboxMessages, sessions, users } from '@/db/schema';
import { createVendor } from '@/lib/server/organizations';
import { requireOrgAdmin } from '@/lib/server/org-scope';
import type { RequestMeta, ScopedContext, SignedInUser } from '@/lib/server/context';

export const testMeta: RequestMeta = { ip: '203.0.113.7', userAgent: 'jest' };

export interface TestAdmin {
  user: SignedInUser;
  orgId: string;
  /** Cookie header of a real Auth.js-style database session for this user. */
  cookie: string;
}

export async function userByEmail(db: Db, email: string): Promise<SignedInUser> {
  const [row] = await db.select().from(users).where(eq(users.email, email));
  if (!row?.email) throw new Error(`no user ${email}`);
  return { id: row.id, email: row.email, name: row.name };
}

/** A session row exactly as the Auth.js drizzle adapter writes it, and the cookie a browser would send. */
export async function sessionCookieFor(db: Db, userId: string): Promise<string> {
  const token = randomBytes(32).toString('hex');
  await db.insert(sessions).values({ sessionToken: token, userId, expires: new Date(Date.now() + 3600_000) });
  return `authjs.session-token=${token}`;
}

export async function newVendor(db: Db, name: string, adminEmail: string): Promise<TestAdmin> {
  const { orgId } = await createVendor(db, { name, adminEmail }, { type: 'system', id: null, label: 'test' }, testMeta);
  const user = await userByEmail(db, adminEmail);
  return { user, orgId, cookie: await sessionCookieFor(db, user.id) };
}

export async function scoped(db: Db, admin: { user: SignedInUser; orgId: string }): Promise<ScopedContext> {
  return { db, scope: await requireOrgAdmin(db, admin.user, admin.orgId), meta: testMeta };
}

/** The last link e-mailed to an address (the outbox is the mail transport in tests). */
export async function lastLinkTo(db: Db, email: string): Promise<string> {
  const rows = await db.select().from(outboxMessages).where(eq(outboxMessages.to, email));
  const last = rows.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()).at(-1);
  if (!last?.link) throw new Error(`no e-mail to ${email}`);
  return last.link;
}

export const tokenOf = (link: string) => decodeURIComponent(link.split('/invite/')[1]!);
