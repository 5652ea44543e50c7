import { Card, PageTitle } from '@/components/ui';
import { CloudIdentitiesEditor } from '@/components/islands/cloud-identities-editor';
import { CopyButton } from '@/components/islands/copy-button';
import { grantCommand } from '@/lib/grant-commands';
import { pageScope } from '@/lib/server/page-context';
import { listCloudIdentities } from '@/lib/server/vendor-settings';

const providerNames: Record<string, string> = { aws: 'AWS KMS', gcp: 'Google Cloud KMS', azure: 'Azure Key Vault' };

export default async function CloudIdentitiesPage({ params }: { params: Promise<{ orgId: string }> }) {
  const ctx = await pageScope((await params).orgId);
  const identities = await listCloudIdentities(ctx);
  const vendor = ctx.scope.orgKind === 'vendor';
  return (
    <>
      <PageTitle
        subtitle={
          vendor
            ? 'The identities your proxies run as. Tenants see them with the commands that grant them use of their keys, so they need not hand you any credential.'
            : 'Your vendor’s proxies run as these identities. Grant one use of your key in your own cloud and leave the credentials of your KMS config empty.'
        }
      >
        Cloud identities
      </PageTitle>
      <div className="grid gap-6 lg:grid-cols-[1fr_360px]">
        <Card title="Grant commands">
          {identities.length === 0 && <p className="text-sm text-slate-500">No cloud identities listed yet.</p>}
          <ul className="space-y-4" data-list="grant-commands">
            {identities.map((row) => (
              <li key={row.id} className="space-y-1">
                <p className="text-sm">
                  <strong>{providerNames[row.provider]}</strong>: <code className="font-mono text-xs">{row.identity}</code> {row.label && <span className="text-slate-500">({row.label})</span>}
                </p>
                <div className="flex items-start gap-2">
                  <pre className="flex-1 overflow-x-auto rounded bg-slate-900 p-2 text-xs text-slate-100" data-grant-command={row.provider}>
                    {grantCommand(row.provider, row.identity)}
                  </pre>
                  <CopyButton text={grantCommand(row.provider, row.identity)} />
                </div>
              </li>
            ))}
          </ul>
        </Card>
        {vendor && (
          <Card title="Your proxies' identities">
            <CloudIdentitiesEditor orgId={ctx.scope.orgId} identities={identities.map(({ id, provider, identity, label }) => ({ id, provider, identity, label }))} />
          </Card>
        )}
      </div>
    </>
  );
}
