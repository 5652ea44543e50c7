import type { FieldErrors } from './errors';

/** What a form's server action returns to its `useActionState` island (shared by server and client code). */
export type ActionState =
  | { status: 'idle' }
  | { status: 'ok'; message: string }
  | { status: 'error'; message: string; fieldErrors?: FieldErrors; values?: Record<string, string> };

export const idleState: ActionState = { status: 'idle' };
