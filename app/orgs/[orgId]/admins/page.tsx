import { Button, Card, Notice, PageTitle, formatTime } from '@/components/ui';
import { InviteAdminForm } from '@/components/islands/invite-admin-form';
import { listAdmins } from '@/lib/server/organizations';
import { firstParam, pageScope, type SearchParams } from '@/lib/server/page-context';
import { revokeAdminInvitationAction } from '../actions';

export default async function AdminsPage({ params, searchParams }: { params: Promise<{ orgId: string }>; searchParams: SearchParams }) {
  const ctx = await pageScope((await params).orgId);
  const query = await searchParams;
  const { admins, pending } = await listAdmins(ctx);
  const notice = firstParam(query.notice);
  const error = firstParam(query.error);
  return (
    <>
      <PageTitle subtitle="All admins are equal. Keep at least three so that nobody is locked out.">Admins of {ctx.scope.orgName}</PageTitle>
      <div className="grid gap-6 lg:grid-cols-[1fr_320px]">
        <div className="space-y-6">
          {notice && <Notice tone="ok">{notice}</Notice>}
          {error && <Notice tone="error">{error}</Notice>}
          {admins.length < 3 && (
            <Notice tone="warn">
              Only {admins.length} admin{admins.length === 1 ? '' : 's'}. With fewer than three, losing one person&apos;s access can
              lock the organization out.
            </Notice>
          )}
          <Card title="Admins">
            <ul className="divide-y divide-slate-100 text-sm" data-list="admins">
              {admins.map((admin) => (
                <li key={admin.userId} className="flex justify-between py-2">
                  <span>{admin.email}</span>
                  <span className="text-xs text-slate-500">since {formatTime(admin.since)}</span>
                </li>
              ))}
            </ul>
          </Card>
          <Card title="Pending invitations">
            {pending.length === 0 ? (
              <p className="text-sm text-slate-500">None.</p>
            ) : (
              <ul className="divide-y divide-slate-100 text-sm" data-list="pending-admins">
                {pending.map((invitation) => (
                  <li key={invitation.id} className="flex items-center justify-between py-2">
                    <span>
                      {invitation.email} <span className="text-xs text-slate-500">· expires {formatTime(invitation.expiresAt)}</span>
                    </span>
                    <form action={revokeAdminInvitationAction}>
                      <input type="hidden" name="orgId" value={ctx.scope.orgId} />
                      <input type="hidden" name="invitationId" value={invitation.id} />
                      <Button kind="danger" type="submit">
                        Revoke
                      </Button>
                    </form>
                  </li>
                ))}
              </ul>
            )}
          </Card>
        </div>
        <Card title="Invite an admin">
          <InviteAdminForm orgId={ctx.scope.orgId} />
        </Card>
      </div>
    </>
  );
}
