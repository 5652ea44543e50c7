'use client';

import { useActionState } from 'react';
import { firstRunAction } from '@/app/first-run/actions';
import { idleState } from '@/lib/action-state';
import { Button, Notice, TextField } from '@/components/ui';

export function FirstRunForm() {
  const [state, action, pending] = useActionState(firstRunAction, idleState);
  const fieldErrors = state.status === 'error' ? state.fieldErrors : undefined;
  const values = state.status === 'error' ? state.values : undefined;
  return (
    <form action={action} className="space-y-4" noValidate>
      {state.status === 'error' && !fieldErrors && <Notice tone="error">{state.message}</Notice>}
      <TextField label="Vendor organization name" name="name" required defaultValue={values?.name} errors={fieldErrors?.name} />
      <TextField
        label="Your e-mail (first admin)"
        name="adminEmail"
        type="email"
        required
        defaultValue={values?.adminEmail}
        errors={fieldErrors?.adminEmail}
      />
      <Button type="submit" disabled={pending} className="w-full">
        {pending ? 'Creating…' : 'Create vendor organization'}
      </Button>
    </form>
  );
}
