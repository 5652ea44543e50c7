import Link from 'next/link';
import { Notice, PageTitle } from '@/components/ui';
import { TenantConfigs } from '@/components/islands/tenant-configs';
import { pageScope } from '@/lib/server/page-context';
import { getVendorSettings } from '@/lib/server/vendor-settings';

export default async function KmsConfigsPage({ params }: { params: Promise<{ orgId: string }> }) {
  const ctx = await pageScope((await params).orgId, 'tenant');
  const settings = await getVendorSettings(ctx);
  return (
    <>
      <PageTitle subtitle="The keys that protect your data, in your own cloud KMS. Exactly one primary config wraps new keys; active ones still unwrap; disabling one is your kill switch.">
        KMS configs
      </PageTitle>
      <div className="mb-4 space-y-2">
        <p className="text-sm text-slate-600">
          To avoid storing credentials, grant your vendor&apos;s <Link href={`/orgs/${ctx.scope.orgId}/cloud-identities`}>cloud identities</Link> use of your key and leave the credential fields empty.
        </p>
        {settings.requireLeasing && <Notice tone="warn">Your vendor requires key leasing: keep “Allow key leasing” on.</Notice>}
      </div>
      <TenantConfigs orgId={ctx.scope.orgId} kind="kms" />
    </>
  );
}
