import 'server-only';
import { eq } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { users } from '@/db/schema';

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

export async function findUserByEmail(db: Db, email: string) {
  const [user] = await db.select().from(users).where(eq(users.email, normalizeEmail(email)));
  return user ?? null;
}

/** Membership rows need a user row; the person signs in later with the same e-mail (magic link or OIDC). */
export async function findOrCreateUserByEmail(db: Db, email: string) {
  const normalized = normalizeEmail(email);
  await db.insert(users).values({ email: normalized }).onConflictDoNothing({ target: users.email });
  const user = await findUserByEmail(db, normalized);
  if (!user) throw new Error('user row vanished after insert');
  return user;
}
