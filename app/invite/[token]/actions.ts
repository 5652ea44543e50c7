'use server';

import { notFound, redirect } from 'next/navigation';
import { BrokerError } from '@/lib/errors';
import { actionContext, formFields } from '@/lib/server/actions';
import { acceptInvitation } from '@/lib/server/invitations';

export async function acceptInvitationAction(formData: FormData): Promise<void> {
  const { token } = formFields(formData);
  const ctx = await actionContext();
  if (!ctx.user) redirect(`/sign-in?callbackUrl=${encodeURIComponent(`/invite/${encodeURIComponent(token ?? '')}`)}`);
  let orgId: string;
  try {
    ({ orgId } = await acceptInvitation(ctx.db, ctx.user, token ?? '', ctx.meta));
  } catch (error) {
    if (error instanceof BrokerError && error.code === 'NOT_FOUND') notFound();
    if (error instanceof BrokerError) {
      redirect(`/invite/${encodeURIComponent(token ?? '')}?error=${encodeURIComponent(error.code)}`);
    }
    throw error;
  }
  redirect(`/orgs/${orgId}`);
}
