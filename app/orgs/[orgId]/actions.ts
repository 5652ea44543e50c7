'use server';

import { notFound, redirect } from 'next/navigation';
import { z } from 'zod';
import type { ActionState } from '@/lib/action-state';
import { BrokerError } from '@/lib/errors';
import { actionContext, formFields, runFormAction } from '@/lib/server/actions';
import { inviteAdmin, revokeAdminInvitation } from '@/lib/server/invitations';
import { requireOrgAdmin } from '@/lib/server/org-scope';
import { archiveTenant, inviteTenant, resendTenantInvitation, revokeTenantInvitation } from '@/lib/server/tenants';

// Thin server actions: parse the form, resolve the caller's organization scope, call one lib/ function. Errors are
// mapped by runFormAction / runCommand (NOT_FOUND -> 404 page, so another organization's ids look non-existent).

export async function inviteTenantAction(_previous: ActionState, formData: FormData): Promise<ActionState> {
  return runFormAction(formData, async (ctx, fields) => {
    const scope = await requireOrgAdmin(ctx.db, ctx.user, fields.orgId ?? '', 'vendor');
    const tenant = await inviteTenant({ db: ctx.db, scope, meta: ctx.meta }, fields);
    return `Invitation sent to ${tenant.adminEmail} for tenant "${tenant.vendorTenantId}".`;
  });
}

export async function inviteAdminAction(_previous: ActionState, formData: FormData): Promise<ActionState> {
  return runFormAction(formData, async (ctx, fields) => {
    const scope = await requireOrgAdmin(ctx.db, ctx.user, fields.orgId ?? '');
    await inviteAdmin({ db: ctx.db, scope, meta: ctx.meta }, { email: fields.email });
    return `Invitation sent to ${fields.email!.trim().toLowerCase()}.`;
  });
}

const tenantCommandSchema = z.object({
  orgId: z.string(),
  tenantId: z.string(),
  intent: z.enum(['resend', 'revoke', 'archive']),
});

const tenantCommands = { resend: resendTenantInvitation, revoke: revokeTenantInvitation, archive: archiveTenant };
const tenantNotices = { resend: 'Invitation sent again', revoke: 'Invitation revoked', archive: 'Tenant archived' };

/** Row buttons of the tenant list; the outcome is shown on the list page (?notice= / ?error=). */
export async function tenantCommandAction(formData: FormData): Promise<void> {
  const parsed = tenantCommandSchema.safeParse(formFields(formData));
  if (!parsed.success) notFound();
  const { orgId, tenantId, intent } = parsed.data;
  const back = await runCommand(async (ctx) => {
    const scope = await requireOrgAdmin(ctx.db, ctx.user, orgId, 'vendor');
    await tenantCommands[intent]({ db: ctx.db, scope, meta: ctx.meta }, tenantId);
    return `/orgs/${scope.orgId}/tenants?notice=${encodeURIComponent(tenantNotices[intent])}`;
  }, `/orgs/${encodeURIComponent(orgId)}/tenants`);
  redirect(back);
}

export async function revokeAdminInvitationAction(formData: FormData): Promise<void> {
  const { orgId = '', invitationId = '' } = formFields(formData);
  const back = await runCommand(async (ctx) => {
    const scope = await requireOrgAdmin(ctx.db, ctx.user, orgId);
    await revokeAdminInvitation({ db: ctx.db, scope, meta: ctx.meta }, invitationId);
    return `/orgs/${scope.orgId}/admins?notice=${encodeURIComponent('Invitation revoked')}`;
  }, `/orgs/${encodeURIComponent(orgId)}/admins`);
  redirect(back);
}

async function runCommand(
  body: (ctx: Awaited<ReturnType<typeof actionContext>>) => Promise<string>,
  errorPage: string,
): Promise<string> {
  const ctx = await actionContext();
  if (!ctx.user) redirect('/sign-in');
  try {
    return await body(ctx);
  } catch (error) {
    if (error instanceof BrokerError) {
      if (error.code === 'NOT_FOUND' || error.code === 'FEATURE_DISABLED') notFound();
      if (error.code === 'UNAUTHENTICATED') redirect('/sign-in');
      return `${errorPage}?error=${encodeURIComponent(error.message)}`;
    }
    throw error;
  }
}
