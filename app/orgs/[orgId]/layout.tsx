import type { ReactNode } from 'react';
import { OrgShell } from '@/components/org-shell';
import { listUserOrganizations } from '@/lib/server/org-scope';
import { pageScope } from '@/lib/server/page-context';

export default async function OrgLayout({ children, params }: { children: ReactNode; params: Promise<{ orgId: string }> }) {
  const { db, scope } = await pageScope((await params).orgId);
  return (
    <OrgShell scope={scope} orgs={await listUserOrganizations(db, scope.user.id)}>
      {children}
    </OrgShell>
  );
}
