import { Badge, Button, Card, Notice, PageTitle, formatTime } from '@/components/ui';
import { InviteTenantForm } from '@/components/islands/invite-tenant-form';
import { tenantStatuses } from '@/db/schema';
import { firstParam, pageScope, type SearchParams } from '@/lib/server/page-context';
import { listTenants, TENANT_LIST_LIMIT } from '@/lib/server/tenants';
import { tenantListFilterSchema } from '@/lib/validation';
import { tenantCommandAction } from '../actions';

export default async function TenantsPage({ params, searchParams }: { params: Promise<{ orgId: string }>; searchParams: SearchParams }) {
  const ctx = await pageScope((await params).orgId, 'vendor');
  const query = await searchParams;
  const filter = tenantListFilterSchema.safeParse({ q: firstParam(query.q), status: firstParam(query.status) });
  const effective = filter.success ? filter.data : { q: '', status: 'all' as const };
  const rows = await listTenants(ctx, effective);
  const notice = firstParam(query.notice);
  const error = firstParam(query.error);
  const orgId = ctx.scope.orgId;
  return (
    <>
      <PageTitle subtitle="Each tenant keeps its keys in its own KMS. Invite a tenant's first admin to set it up.">Tenants</PageTitle>
      <div className="grid gap-6 lg:grid-cols-[1fr_320px]">
        <Card
          title={`${rows.length === TENANT_LIST_LIMIT ? `${TENANT_LIST_LIMIT}+` : rows.length} tenant${rows.length === 1 ? '' : 's'}`}
          actions={
            <form className="flex gap-2" role="search">
              <input
                name="q"
                defaultValue={effective.q}
                placeholder="Search id, name or e-mail"
                aria-label="Search tenants"
                className="w-56 rounded-md border border-slate-300 px-2 py-1 text-sm"
              />
              <select name="status" defaultValue={effective.status} aria-label="Status" className="rounded-md border border-slate-300 px-2 py-1 text-sm">
                <option value="all">All statuses</option>
                {tenantStatuses.map((status) => (
                  <option key={status} value={status}>
                    {status}
                  </option>
                ))}
              </select>
              <Button kind="secondary" type="submit">
                Filter
              </Button>
            </form>
          }
        >
          <div className="space-y-3">
            {notice && <Notice tone="ok">{notice}</Notice>}
            {error && <Notice tone="error">{error}</Notice>}
            {!filter.success && <Notice tone="error">Invalid filter; showing all tenants.</Notice>}
            {rows.length === TENANT_LIST_LIMIT && (
              <Notice tone="warn">Showing the newest {TENANT_LIST_LIMIT} tenants; search to find others.</Notice>
            )}
            <table className="w-full text-left text-sm" data-table="tenants">
              <thead className="border-b border-slate-200 text-xs uppercase text-slate-500">
                <tr>
                  <th className="py-2">Tenant id</th>
                  <th>Name</th>
                  <th>Admin</th>
                  <th>Status</th>
                  <th>Updated</th>
                  <th className="sr-only">Actions</th>
                </tr>
              </thead>
              <tbody>
                {rows.length === 0 && (
                  <tr>
                    <td colSpan={6} className="py-6 text-center text-slate-500">
                      No tenants{effective.q || effective.status !== 'all' ? ' match the filter' : ' yet'}.
                    </td>
                  </tr>
                )}
                {rows.map((tenant) => (
                  <tr key={tenant.id} className="border-b border-slate-100 align-top" data-tenant={tenant.vendorTenantId}>
                    <td className="py-2 font-mono text-xs">{tenant.vendorTenantId}</td>
                    <td>{tenant.displayName}</td>
                    <td className="text-slate-600">{tenant.adminEmail}</td>
                    <td>
                      <Badge tone={tenant.status}>{tenant.status}</Badge>
                    </td>
                    <td className="whitespace-nowrap text-xs text-slate-500">{formatTime(tenant.updatedAt)}</td>
                    <td className="py-1">
                      <div className="flex justify-end gap-2">
                        {(tenant.status === 'invited' || tenant.status === 'revoked') && (
                          <form action={tenantCommandAction}>
                            <input type="hidden" name="orgId" value={orgId} />
                            <input type="hidden" name="tenantId" value={tenant.id} />
                            <Button kind="secondary" name="intent" value="resend" type="submit">
                              Resend
                            </Button>
                          </form>
                        )}
                        {tenant.status === 'invited' && (
                          <form action={tenantCommandAction}>
                            <input type="hidden" name="orgId" value={orgId} />
                            <input type="hidden" name="tenantId" value={tenant.id} />
                            <Button kind="secondary" name="intent" value="revoke" type="submit">
                              Revoke
                            </Button>
                          </form>
                        )}
                        {tenant.status !== 'archived' && (
                          <details className="relative">
                            <summary className="cursor-pointer list-none rounded-md px-2 py-1.5 text-sm text-red-700 ring-1 ring-red-200">Archive…</summary>
                            <form action={tenantCommandAction} className="absolute right-0 z-10 mt-1 w-64 rounded-md bg-white p-3 text-sm shadow-lg ring-1 ring-slate-200">
                              <input type="hidden" name="orgId" value={orgId} />
                              <input type="hidden" name="tenantId" value={tenant.id} />
                              <p className="mb-2">Archive {tenant.displayName}? Outstanding invitations stop working.</p>
                              <Button kind="danger" name="intent" value="archive" type="submit">
                                Archive tenant
                              </Button>
                            </form>
                          </details>
                        )}
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
        <Card title="Invite a tenant">
          <InviteTenantForm orgId={orgId} />
        </Card>
      </div>
    </>
  );
}
