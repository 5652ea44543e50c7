import { redirect } from 'next/navigation';
import { AuthFrame } from '@/components/auth-frame';
import { FirstRunForm } from '@/components/islands/first-run-form';
import { vendorExists } from '@/lib/server/organizations';
import { pageSession } from '@/lib/server/page-context';

/** Works only while no vendor organization exists; afterwards operators use `npm run broker -- create-vendor`. */
export default async function FirstRunPage() {
  const { db } = await pageSession();
  if (await vendorExists(db)) redirect('/sign-in');
  return (
    <AuthFrame title="Set up OpenCMK">
      <p className="mb-4 text-sm text-slate-600">
        Create the first vendor organization. You become its admin and receive a sign-in link by e-mail.
      </p>
      <FirstRunForm />
    </AuthFrame>
  );
}
