import { redirect } from 'next/navigation';
import { pageScope } from '@/lib/server/page-context';

export default async function OrgHome({ params }: { params: Promise<{ orgId: string }> }) {
  const { scope } = await pageScope((await params).orgId);
  redirect(`/orgs/${scope.orgId}/${scope.orgKind === 'vendor' ? 'tenants' : 'audit'}`);
}
