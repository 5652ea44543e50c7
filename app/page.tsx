import Link from 'next/link';
import { redirect } from 'next/navigation';
import { AuthFrame } from '@/components/auth-frame';
import { Button } from '@/components/ui';
import { listUserOrganizations } from '@/lib/server/org-scope';
import { vendorExists } from '@/lib/server/organizations';
import { pageSession } from '@/lib/server/page-context';
import { signOutAction } from './sign-in/actions';

export default async function HomePage() {
  const { db, user } = await pageSession();
  if (!user) redirect((await vendorExists(db)) ? '/sign-in' : '/first-run');
  const orgs = await listUserOrganizations(db, user.id);
  if (orgs[0]) redirect(`/orgs/${orgs[0].id}`);
  return (
    <AuthFrame title="No organization yet">
      <div className="space-y-4 text-sm text-slate-700">
        <p>
          You are signed in as <strong>{user.email}</strong>, but you are not an admin of any organization. Ask an admin
          to invite you, then open the link in the invitation e-mail.
        </p>
        <form action={signOutAction}>
          <Button kind="secondary" type="submit">
            Sign out
          </Button>
        </form>
        <p>
          <Link href="/sign-in">Sign-in page</Link>
        </p>
      </div>
    </AuthFrame>
  );
}
