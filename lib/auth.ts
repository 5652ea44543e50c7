import 'server-only';
import NextAuth, { type NextAuthConfig } from 'next-auth';
import { DrizzleAdapter } from '@auth/drizzle-adapter';
import type { EmailConfig } from 'next-auth/providers/email';
import type { OIDCConfig } from 'next-auth/providers';
import { headers } from 'next/headers';
import { eq } from 'drizzle-orm';
import { getDb, type Db } from '@/db/client';
import { accounts, memberships, sessions, users, verificationTokens } from '@/db/schema';
import { getEnv } from '@/lib/env';
import { appendAuditToOrgs } from '@/lib/server/audit';
import { authSecret } from '@/lib/server/auth-secret';
import { noRequestMeta, type RequestMeta } from '@/lib/server/context';
import { BrokerError } from '@/lib/errors';
import { mayRequestSignInLink } from '@/lib/server/invitations';
import { sendMail } from '@/lib/server/mail';
import { consumeRateLimit, HOUR_MS } from '@/lib/server/rate-limit';
import { requestMetaFromHeaders } from '@/lib/server/session';

/** Sessions are short on purpose: this console administers encryption keys. */
export const SESSION_MAX_AGE_SECONDS = 12 * 60 * 60;
export const SIGN_IN_LINK_MAX_AGE_SECONDS = 15 * 60;

async function currentRequestMeta(): Promise<RequestMeta> {
  try {
    return requestMetaFromHeaders(await headers());
  } catch {
    return noRequestMeta;
  }
}

async function orgIdsOf(db: Db, userId: string): Promise<string[]> {
  const rows = await db.select({ orgId: memberships.orgId }).from(memberships).where(eq(memberships.userId, userId));
  return rows.map((row) => row.orgId);
}

function emailProvider(db: Db): EmailConfig {
  return {
    id: 'email',
    type: 'email',
    name: 'E-mail',
    maxAge: SIGN_IN_LINK_MAX_AGE_SECONDS,
    normalizeIdentifier: (identifier) => identifier.trim().toLowerCase(),
    // One transport for everything the broker mails: SMTP, or the dev/demo outbox (lib/server/mail.ts).
    // Also reached by POSTs straight to /api/auth/signin/email, so the allow-list and the rate limit are enforced here,
    // silently: the answer must not reveal whether an address is known.
    async sendVerificationRequest({ identifier, url }) {
      if (!(await mayRequestSignInLink(db, identifier))) return;
      try {
        await consumeRateLimit(db, `sign-in-mail:${identifier}`, getEnv().RATE_LIMIT_SIGN_IN_PER_HOUR, HOUR_MS);
      } catch (error) {
        if (error instanceof BrokerError) return;
        throw error;
      }
      await sendMail(db, {
        to: identifier,
        subject: 'Sign in to OpenCMK',
        text: `Sign in to the OpenCMK Configuration Broker: ${url}\n\nThe link works once and expires in 15 minutes. If you did not ask for it, ignore this e-mail.`,
        link: url,
      });
    },
    options: {},
  };
}

function oidcProvider(): OIDCConfig<Record<string, unknown>> | null {
  const env = getEnv();
  if (!env.oidcEnabled) return null;
  return {
    id: 'oidc',
    name: env.OIDC_NAME,
    type: 'oidc',
    issuer: env.OIDC_ISSUER,
    clientId: env.OIDC_CLIENT_ID,
    clientSecret: env.OIDC_CLIENT_SECRET,
    checks: ['pkce', 'state', 'nonce'],
    // The ID token is still verified; the e-mail comes from the userinfo endpoint (bound to the ID token's `sub`),
    // because many issuers leave it out of the ID token unless asked for claim by claim.
    idToken: false,
    authorization: { params: { scope: 'openid email profile' } },
    // Admins are created by e-mail (invitations, create-vendor) before they first sign in; the operator-configured
    // issuer is trusted to assert verified addresses (unverified ones are refused in the signIn callback).
    allowDangerousEmailAccountLinking: true,
    profile(profile) {
      return {
        id: String(profile.sub),
        email: typeof profile.email === 'string' ? profile.email.toLowerCase() : null,
        name: typeof profile.name === 'string' ? profile.name : null,
      };
    },
  };
}

export async function authConfig(): Promise<NextAuthConfig> {
  const env = getEnv();
  const db = await getDb();
  // Links in e-mails are built from AUTH_URL, never from the request's Host header, when BROKER_URL is configured.
  if (env.BROKER_URL && !process.env.AUTH_URL) process.env.AUTH_URL = env.BROKER_URL;
  const oidc = oidcProvider();
  return {
    adapter: DrizzleAdapter(db, {
      usersTable: users,
      accountsTable: accounts,
      sessionsTable: sessions,
      verificationTokensTable: verificationTokens,
    }),
    secret: authSecret(env),
    trustHost: true,
    session: { strategy: 'database', maxAge: SESSION_MAX_AGE_SECONDS, updateAge: 60 * 60 },
    pages: { signIn: '/sign-in', verifyRequest: '/sign-in/check-email', error: '/sign-in' },
    providers: [emailProvider(db), ...(oidc ? [oidc] : [])],
    callbacks: {
      signIn({ account, profile }) {
        if (account?.type === 'oidc') {
          // Membership is by e-mail address, so an identity without a verified one cannot be matched to an admin.
          if (!profile?.email || profile.email_verified === false) {
            console.warn(`OIDC sign-in refused: the issuer sent ${profile?.email ? 'an unverified' : 'no'} e-mail address`);
            return false;
          }
        }
        return true;
      },
    },
    events: {
      async signIn({ user, account }) {
        if (!user.id) return;
        await appendAuditToOrgs(db, await orgIdsOf(db, user.id), {
          actor: { type: 'user', id: user.id, label: user.email ?? null },
          action: 'auth.signed_in',
          targetType: 'user',
          targetId: user.id,
          details: { provider: account?.provider ?? 'unknown' },
          meta: await currentRequestMeta(),
        });
      },
      async signOut(message) {
        const session = 'session' in message ? message.session : null;
        if (!session?.userId) return;
        const [user] = await db.select({ email: users.email }).from(users).where(eq(users.id, session.userId));
        await appendAuditToOrgs(db, await orgIdsOf(db, session.userId), {
          actor: { type: 'user', id: session.userId, label: user?.email ?? null },
          action: 'auth.signed_out',
          targetType: 'user',
          targetId: session.userId,
          meta: await currentRequestMeta(),
        });
      },
    },
  };
}

export const { handlers, auth, signIn, signOut } = NextAuth(authConfig);
