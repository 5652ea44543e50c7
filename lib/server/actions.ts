import 'server-only';
import { headers } from 'next/headers';
import { notFound, redirect } from 'next/navigation';
import { getDb } from '@/db/client';
import type { ActionState } from '@/lib/action-state';
import { BrokerError } from '@/lib/errors';
import type { RequestMeta, SignedInUser } from './context';
import { requestMetaFromHeaders, userFromHeaders } from './session';

export interface ActionContext {
  db: Awaited<ReturnType<typeof getDb>>;
  user: SignedInUser | null;
  meta: RequestMeta;
}

export async function actionContext(): Promise<ActionContext> {
  const db = await getDb();
  const requestHeaders = await headers();
  return { db, user: await userFromHeaders(db, requestHeaders), meta: requestMetaFromHeaders(requestHeaders) };
}

/** FormData -> plain object of its string fields (files are not accepted by any broker form). */
export function formFields(formData: FormData): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(formData instanceof FormData)) return out;
  for (const [key, value] of formData.entries()) if (typeof value === 'string' && !key.startsWith('$')) out[key] = value;
  return out;
}

/**
 * Maps a server action's outcome in one place: NOT_FOUND -> the 404 page (another organization's rows look
 * exactly like missing ones), UNAUTHENTICATED -> sign-in, other broker errors -> a form state with field errors.
 */
export async function runFormAction(
  formData: FormData,
  body: (ctx: ActionContext, fields: Record<string, string>) => Promise<string>,
): Promise<ActionState> {
  const fields = formFields(formData);
  try {
    const ctx = await actionContext();
    return { status: 'ok', message: await body(ctx, fields) };
  } catch (error) {
    if (error instanceof BrokerError) {
      if (error.code === 'NOT_FOUND' || error.code === 'FEATURE_DISABLED') notFound();
      if (error.code === 'UNAUTHENTICATED') redirect('/sign-in');
      return { status: 'error', message: error.message, fieldErrors: error.fieldErrors, values: fields };
    }
    throw error;
  }
}
