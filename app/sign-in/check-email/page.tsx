import Link from 'next/link';
import { AuthFrame } from '@/components/auth-frame';
import { getEnv } from '@/lib/env';
import { firstParam, type SearchParams } from '@/lib/server/page-context';

export default async function CheckEmailPage({ searchParams }: { searchParams: SearchParams }) {
  const email = firstParam((await searchParams).email);
  return (
    <AuthFrame title="Check your e-mail">
      <div className="space-y-3 text-sm text-slate-700">
        <p>
          If {email ? <strong>{email}</strong> : 'that address'} belongs to an admin or has a pending invitation, a
          sign-in link is on its way. It works once and expires in 15 minutes.
        </p>
        {getEnv().mailMode === 'outbox' && (
          <p>
            Development/demo mode: open the <Link href="/dev/outbox">outbox</Link> to follow the link.
          </p>
        )}
        <p>
          <Link href="/sign-in">Back to sign-in</Link>
        </p>
      </div>
    </AuthFrame>
  );
}
