'use server';

import { redirect } from 'next/navigation';
import type { ActionState } from '@/lib/action-state';
import { BrokerError } from '@/lib/errors';
import { getEnv } from '@/lib/env';
import { safeCallbackPath } from '@/lib/safe-redirect';
import { actionContext, formFields } from '@/lib/server/actions';
import { mayRequestSignInLink } from '@/lib/server/invitations';
import { consumeRateLimit, HOUR_MS } from '@/lib/server/rate-limit';
import { emailSchema, fieldErrorsOf } from '@/lib/validation';
import { z } from 'zod';

/**
 * E-mail sign-in: validates, rate-limits per address and per client IP, and asks Auth.js to send the magic link.
 * Unknown addresses get the same "check your e-mail" answer without an e-mail, so the form reveals nothing.
 */
export async function requestSignInLinkAction(_previous: ActionState, formData: FormData): Promise<ActionState> {
  const fields = formFields(formData);
  const parsed = z.object({ email: emailSchema }).safeParse(fields);
  if (!parsed.success) {
    return { status: 'error', message: 'Check the e-mail address', fieldErrors: fieldErrorsOf(parsed.error), values: fields };
  }
  const { email } = parsed.data;
  const ctx = await actionContext();
  const limit = getEnv().RATE_LIMIT_SIGN_IN_PER_HOUR;
  try {
    await consumeRateLimit(ctx.db, `sign-in:email:${email}`, limit, HOUR_MS);
    if (ctx.meta.ip) await consumeRateLimit(ctx.db, `sign-in:ip:${ctx.meta.ip}`, limit * 4, HOUR_MS);
  } catch (error) {
    if (error instanceof BrokerError && error.code === 'RATE_LIMITED') {
      return { status: 'error', message: 'Too many sign-in e-mails requested. Try again in an hour.', values: fields };
    }
    throw error;
  }
  if (await mayRequestSignInLink(ctx.db, email)) {
    // Loaded here so that validation and rate limiting do not need Auth.js initialised.
    const { signIn } = await import('@/lib/auth');
    await signIn('email', { email, redirectTo: safeCallbackPath(fields.callbackUrl), redirect: false });
  }
  redirect(`/sign-in/check-email?email=${encodeURIComponent(email)}`);
}

export async function signInWithOidcAction(formData: FormData): Promise<void> {
  if (!getEnv().oidcEnabled) redirect('/sign-in');
  const { signIn } = await import('@/lib/auth');
  await signIn('oidc', { redirectTo: safeCallbackPath(formFields(formData).callbackUrl) });
}

export async function signOutAction(): Promise<void> {
  const { signOut } = await import('@/lib/auth');
  await signOut({ redirectTo: '/sign-in' });
}
