import { Notice, PageTitle } from '@/components/ui';
import { TenantConfigs } from '@/components/islands/tenant-configs';
import { pageScope } from '@/lib/server/page-context';
import { getVendorSettings } from '@/lib/server/vendor-settings';

export default async function LoggingConfigsPage({ params }: { params: Promise<{ orgId: string }> }) {
  const ctx = await pageScope((await params).orgId, 'tenant');
  const settings = await getVendorSettings(ctx);
  return (
    <>
      <PageTitle subtitle="Where the proxies send a security event for every use of your keys. One config is active at a time; without one, events go to the proxies’ standard output.">
        Logging configs
      </PageTitle>
      {settings.requireLogging && (
        <div className="mb-4">
          <Notice tone="warn">Your vendor requires a logging config.</Notice>
        </div>
      )}
      <TenantConfigs orgId={ctx.scope.orgId} kind="logging" />
    </>
  );
}
