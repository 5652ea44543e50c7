import Link from 'next/link';
import { AuthFrame } from '@/components/auth-frame';
import { Button, Notice, formatTime } from '@/components/ui';
import { BrokerError } from '@/lib/errors';
import { previewInvitation, type InvitationPreview } from '@/lib/server/invitations';
import { firstParam, pageSession, type SearchParams } from '@/lib/server/page-context';
import { acceptInvitationAction } from './actions';

export default async function InvitationPage({ params, searchParams }: { params: Promise<{ token: string }>; searchParams: SearchParams }) {
  const { token: rawToken } = await params;
  const token = safeDecode(rawToken);
  const error = firstParam((await searchParams).error);
  const { db, user } = await pageSession();
  let invitation: InvitationPreview;
  try {
    invitation = await previewInvitation(db, token);
  } catch (failure) {
    if (!(failure instanceof BrokerError)) throw failure;
    return (
      <AuthFrame title="Invitation not valid">
        <p className="text-sm text-slate-700">{failure.message}. Ask the person who invited you to send a new one.</p>
      </AuthFrame>
    );
  }
  const here = `/invite/${encodeURIComponent(token)}`;
  const what =
    invitation.kind === 'tenant'
      ? `${invitation.organizationName} invites you to set up "${invitation.tenantName}" and manage its encryption keys.`
      : `You are invited to become an admin of ${invitation.organizationName}.`;
  return (
    <AuthFrame title="Accept invitation">
      <div className="space-y-4 text-sm text-slate-700">
        <p>{what}</p>
        <p className="text-xs text-slate-500">
          For {invitation.email} · expires {formatTime(invitation.expiresAt)}
        </p>
        {error === 'WRONG_ACCOUNT' && (
          <Notice tone="error">This invitation is for {invitation.email}. Sign out and sign in with that address.</Notice>
        )}
        {error === 'RATE_LIMITED' && <Notice tone="error">Too many attempts. Try again in an hour.</Notice>}
        {!user ? (
          <Link
            className="inline-block rounded-md bg-indigo-600 px-3 py-1.5 font-medium text-white hover:no-underline"
            href={`/sign-in?callbackUrl=${encodeURIComponent(here)}&email=${encodeURIComponent(invitation.email)}`}
          >
            Sign in as {invitation.email} to accept
          </Link>
        ) : (
          <form action={acceptInvitationAction}>
            <input type="hidden" name="token" value={token} />
            <p className="mb-3">
              Signed in as <strong>{user.email}</strong>.
            </p>
            <Button type="submit">Accept invitation</Button>
          </form>
        )}
      </div>
    </AuthFrame>
  );
}

/** Route params arrive percent-encoded or not depending on the character; a malformed escape is just a bad token. */
function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
