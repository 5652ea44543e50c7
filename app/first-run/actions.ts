'use server';

import { redirect } from 'next/navigation';
import type { ActionState } from '@/lib/action-state';
import { BrokerError } from '@/lib/errors';
import { actionContext, formFields } from '@/lib/server/actions';
import { createVendor } from '@/lib/server/organizations';

/**
 * First run: creates the first vendor organization and its admin, only while no vendor exists (checked under a lock
 * inside createVendor), then sends that admin a sign-in link.
 */
export async function firstRunAction(_previous: ActionState, formData: FormData): Promise<ActionState> {
  const fields = formFields(formData);
  const ctx = await actionContext();
  let adminEmail: string;
  try {
    await createVendor(
      ctx.db,
      { name: fields.name, adminEmail: fields.adminEmail },
      { type: 'system', id: null, label: 'first-run' },
      ctx.meta,
      { onlyIfNoVendor: true },
    );
    adminEmail = fields.adminEmail!.trim().toLowerCase();
  } catch (error) {
    if (error instanceof BrokerError && error.code === 'CONFLICT') redirect('/sign-in');
    if (error instanceof BrokerError) {
      return { status: 'error', message: error.message, fieldErrors: error.fieldErrors, values: fields };
    }
    throw error;
  }
  const { signIn } = await import('@/lib/auth');
  await signIn('email', { email: adminEmail, redirectTo: '/', redirect: false });
  redirect(`/sign-in/check-email?email=${encodeURIComponent(adminEmail)}`);
}
