'use client';

import { useActionState } from 'react';
import { inviteAdminAction } from '@/app/orgs/[orgId]/actions';
import { idleState } from '@/lib/action-state';
import { Button, Notice, TextField } from '@/components/ui';

export function InviteAdminForm({ orgId }: { orgId: string }) {
  const [state, action, pending] = useActionState(inviteAdminAction, idleState);
  const fieldErrors = state.status === 'error' ? state.fieldErrors : undefined;
  const values = state.status === 'error' ? state.values : undefined;
  return (
    <form key={state.status === 'ok' ? state.message : 'form'} action={action} className="space-y-4" noValidate data-form="invite-admin">
      <input type="hidden" name="orgId" value={orgId} />
      {state.status === 'ok' && <Notice tone="ok">{state.message}</Notice>}
      {state.status === 'error' && !fieldErrors && <Notice tone="error">{state.message}</Notice>}
      <TextField label="E-mail" name="email" type="email" required defaultValue={values?.email} errors={fieldErrors?.email} />
      <Button type="submit" disabled={pending}>
        {pending ? 'Inviting…' : 'Invite admin'}
      </Button>
    </form>
  );
}
