import 'server-only';
import { and, eq, gt } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { sessions, users } from '@/db/schema';
import type { RequestMeta, SignedInUser } from './context';

// Auth.js database sessions: the cookie holds the session token that is the primary key of `sessions`.
export const SESSION_COOKIE_NAMES = ['__Secure-authjs.session-token', 'authjs.session-token'] as const;

export function readCookie(headers: Headers, name: string): string | undefined {
  const cookieHeader = headers.get('cookie');
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
    const index = part.indexOf('=');
    if (index < 0) continue;
    if (part.slice(0, index).trim() === name) {
      try {
        return decodeURIComponent(part.slice(index + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/**
 * The signed-in user of a request, from the Auth.js session cookie and the `sessions` table. One function for route
 * handlers (given the Request's headers) and server components/actions (given next/headers).
 */
export async function userFromHeaders(db: Db, headers: Headers): Promise<SignedInUser | null> {
  for (const name of SESSION_COOKIE_NAMES) {
    const token = readCookie(headers, name);
    if (!token || token.length > 512) continue;
    const [row] = await db
      .select({ id: users.id, email: users.email, name: users.name })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(and(eq(sessions.sessionToken, token), gt(sessions.expires, new Date())));
    if (row?.email) return { id: row.id, email: row.email, name: row.name };
  }
  return null;
}

/** Client IP (first X-Forwarded-For hop, set by the reverse proxy in front of the broker) and user agent. */
export function requestMetaFromHeaders(headers: Headers): RequestMeta {
  const forwarded = headers.get('x-forwarded-for')?.split(',')[0]?.trim();
  const ip = forwarded || headers.get('x-real-ip')?.trim() || null;
  return { ip: ip ? ip.slice(0, 100) : null, userAgent: headers.get('user-agent')?.slice(0, 500) ?? null };
}
