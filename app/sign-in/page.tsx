import Link from 'next/link';
import { redirect } from 'next/navigation';
import { AuthFrame } from '@/components/auth-frame';
import { SignInForm } from '@/components/islands/sign-in-form';
import { Button, Notice } from '@/components/ui';
import { getEnv } from '@/lib/env';
import { safeCallbackPath } from '@/lib/safe-redirect';
import { vendorExists } from '@/lib/server/organizations';
import { firstParam, pageSession, type SearchParams } from '@/lib/server/page-context';
import { signInWithOidcAction } from './actions';

const errorMessages: Record<string, string> = {
  Verification: 'That sign-in link is invalid, expired or was already used. Request a new one.',
  AccessDenied: 'Your identity provider did not confirm your e-mail address.',
  OAuthAccountNotLinked: 'This e-mail address is already linked to another sign-in method.',
};

export default async function SignInPage({ searchParams }: { searchParams: SearchParams }) {
  const params = await searchParams;
  const callbackUrl = safeCallbackPath(firstParam(params.callbackUrl));
  const { db, user } = await pageSession();
  if (user) redirect(callbackUrl);
  const env = getEnv();
  const error = firstParam(params.error);
  const noVendor = !(await vendorExists(db));
  return (
    <AuthFrame title="Sign in to the Configuration Broker">
      <div className="space-y-5">
        {error && <Notice tone="error">{errorMessages[error] ?? 'Sign-in failed. Try again.'}</Notice>}
        {noVendor && (
          <Notice tone="warn">
            No vendor organization exists yet. <Link href="/first-run">Set up the first one</Link>.
          </Notice>
        )}
        <SignInForm callbackUrl={callbackUrl} defaultEmail={firstParam(params.email)} />
        {env.oidcEnabled && (
          <form action={signInWithOidcAction} className="border-t border-slate-200 pt-5">
            <input type="hidden" name="callbackUrl" value={callbackUrl} />
            <Button type="submit" kind="secondary" className="w-full">
              Continue with {env.OIDC_NAME}
            </Button>
          </form>
        )}
        {env.mailMode === 'outbox' && (
          <p className="text-xs text-slate-500">
            Development/demo mode: e-mails are not sent; open the <Link href="/dev/outbox">outbox</Link>.
          </p>
        )}
      </div>
    </AuthFrame>
  );
}
