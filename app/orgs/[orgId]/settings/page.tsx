import { Card, PageTitle } from '@/components/ui';
import { VendorSettingsForm } from '@/components/islands/vendor-settings-form';
import { pageScope } from '@/lib/server/page-context';
import { getVendorSettings } from '@/lib/server/vendor-settings';

export default async function SettingsPage({ params }: { params: Promise<{ orgId: string }> }) {
  const ctx = await pageScope((await params).orgId, 'vendor');
  return (
    <>
      <PageTitle subtitle="Requirements your proxies enforce for every tenant.">Settings</PageTitle>
      <Card>
        <VendorSettingsForm orgId={ctx.scope.orgId} initial={await getVendorSettings(ctx)} />
      </Card>
    </>
  );
}
