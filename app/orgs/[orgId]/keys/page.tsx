import { Card, PageTitle } from '@/components/ui';
import { VendorKeys } from '@/components/islands/vendor-keys';
import { pageScope } from '@/lib/server/page-context';

export default async function KeysPage({ params }: { params: Promise<{ orgId: string }> }) {
  const { scope } = await pageScope((await params).orgId, 'vendor');
  return (
    <>
      <PageTitle subtitle="Your key pair, protected by your encryption passphrase, and the vendor key that opens every tenant config for re-sealing. Both are used only in your browser.">
        Keys
      </PageTitle>
      <Card title="Encryption keys">
        <VendorKeys orgId={scope.orgId} />
      </Card>
    </>
  );
}
