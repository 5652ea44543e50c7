'use client';

import { useActionState } from 'react';
import { requestSignInLinkAction } from '@/app/sign-in/actions';
import { idleState } from '@/lib/action-state';
import { Button, Notice, TextField } from '@/components/ui';

export function SignInForm({ callbackUrl, defaultEmail }: { callbackUrl: string; defaultEmail?: string }) {
  const [state, action, pending] = useActionState(requestSignInLinkAction, idleState);
  const fieldErrors = state.status === 'error' ? state.fieldErrors : undefined;
  const values = state.status === 'error' ? state.values : undefined;
  return (
    <form action={action} className="space-y-4" noValidate>
      <input type="hidden" name="callbackUrl" value={callbackUrl} />
      {state.status === 'error' && !fieldErrors && <Notice tone="error">{state.message}</Notice>}
      <TextField
        label="Work e-mail"
        name="email"
        type="email"
        autoComplete="email"
        required
        defaultValue={values?.email ?? defaultEmail}
        errors={fieldErrors?.email}
      />
      <Button type="submit" disabled={pending} className="w-full">
        {pending ? 'Sending…' : 'E-mail me a sign-in link'}
      </Button>
    </form>
  );
}
