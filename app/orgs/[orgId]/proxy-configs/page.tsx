import { PageTitle } from '@/components/ui';
import { ProxyConfigs } from '@/components/islands/proxy-configs';
import { getEnv } from '@/lib/env';
import { pageScope } from '@/lib/server/page-context';

export default async function ProxyConfigsPage({ params }: { params: Promise<{ orgId: string }> }) {
  const { scope } = await pageScope((await params).orgId, 'vendor');
  return (
    <>
      <PageTitle subtitle="One configuration per pool of Tenant Security Proxy containers. Each receives only the tenant configs sealed to its own key.">
        Proxy configurations
      </PageTitle>
      <ProxyConfigs orgId={scope.orgId} brokerUrl={getEnv().BROKER_URL ?? null} />
    </>
  );
}
