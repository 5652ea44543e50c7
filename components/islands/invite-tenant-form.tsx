'use client';

import { useActionState } from 'react';
import { inviteTenantAction } from '@/app/orgs/[orgId]/actions';
import { idleState } from '@/lib/action-state';
import { Button, Notice, TextField } from '@/components/ui';

export function InviteTenantForm({ orgId }: { orgId: string }) {
  const [state, action, pending] = useActionState(inviteTenantAction, idleState);
  const fieldErrors = state.status === 'error' ? state.fieldErrors : undefined;
  const values = state.status === 'error' ? state.values : undefined;
  return (
    // key: a successful submission remounts the form so its fields are cleared.
    <form key={state.status === 'ok' ? state.message : 'form'} action={action} className="space-y-4" noValidate data-form="invite-tenant">
      <input type="hidden" name="orgId" value={orgId} />
      {state.status === 'ok' && <Notice tone="ok">{state.message}</Notice>}
      {state.status === 'error' && !fieldErrors && <Notice tone="error">{state.message}</Notice>}
      <TextField
        label="Tenant id"
        name="vendorTenantId"
        required
        maxLength={128}
        defaultValue={values?.vendorTenantId}
        errors={fieldErrors?.vendorTenantId}
        hint="The id your application passes in every client call (1–128 characters)."
      />
      <TextField label="Display name" name="displayName" required defaultValue={values?.displayName} errors={fieldErrors?.displayName} />
      <TextField
        label="Tenant admin e-mail"
        name="adminEmail"
        type="email"
        required
        defaultValue={values?.adminEmail}
        errors={fieldErrors?.adminEmail}
      />
      <Button type="submit" disabled={pending}>
        {pending ? 'Inviting…' : 'Invite tenant'}
      </Button>
    </form>
  );
}
