import Link from 'next/link';
import { Button, Card, Notice, PageTitle, formatTime } from '@/components/ui';
import { listAuditEvents, verifyAuditChain } from '@/lib/server/audit';
import { firstParam, pageScope, type SearchParams } from '@/lib/server/page-context';
import { auditFilterSchema } from '@/lib/validation';

export default async function AuditPage({ params, searchParams }: { params: Promise<{ orgId: string }>; searchParams: SearchParams }) {
  const ctx = await pageScope((await params).orgId);
  const query = await searchParams;
  const raw = {
    action: firstParam(query.action),
    actor: firstParam(query.actor),
    from: firstParam(query.from),
    to: firstParam(query.to),
    before: firstParam(query.before),
  };
  const parsed = auditFilterSchema.safeParse(raw);
  const filter = parsed.success ? parsed.data : auditFilterSchema.parse({});
  const events = await listAuditEvents(ctx, filter);
  const verification = firstParam(query.verify) ? await verifyAuditChain(ctx.db, ctx.scope.orgId) : null;
  const base = `/orgs/${ctx.scope.orgId}/audit`;
  const exportQuery = new URLSearchParams(
    Object.entries({ action: raw.action, actor: raw.actor, from: raw.from, to: raw.to }).filter((entry): entry is [string, string] => Boolean(entry[1])),
  );
  const apiBase = `/api/orgs/${ctx.scope.orgId}/audit/export`;
  const older = events.length === filter.limit ? events.at(-1)?.id : undefined;
  const olderQuery = new URLSearchParams(exportQuery);
  if (older) olderQuery.set('before', String(older));
  return (
    <>
      <PageTitle
        subtitle={
          ctx.scope.orgKind === 'tenant'
            ? 'Everything done in this organization, and every action of your vendor that concerns you. Each entry is chained to the previous one by its hash.'
            : 'Everything done in this organization. Each entry is chained to the previous one by its hash.'
        }
      >
        Audit log
      </PageTitle>
      <div className="space-y-4">
        {!parsed.success && <Notice tone="error">Invalid filter: {parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}</Notice>}
        {verification &&
          (verification.ok ? (
            <Notice tone="ok">Hash chain intact: {verification.entries} entries verified.</Notice>
          ) : (
            <Notice tone="error">
              Hash chain broken at entry {verification.firstBroken!.seq}: {verification.firstBroken!.reason}.
            </Notice>
          ))}
        <Card>
          <form className="flex flex-wrap items-end gap-3 text-sm" role="search">
            <label className="space-y-1">
              <span className="block text-xs text-slate-600">Action starts with</span>
              <input name="action" defaultValue={raw.action} placeholder="tenant." className="rounded-md border border-slate-300 px-2 py-1" />
            </label>
            <label className="space-y-1">
              <span className="block text-xs text-slate-600">Actor contains</span>
              <input name="actor" defaultValue={raw.actor} placeholder="e-mail" className="rounded-md border border-slate-300 px-2 py-1" />
            </label>
            <label className="space-y-1">
              <span className="block text-xs text-slate-600">From</span>
              <input type="datetime-local" name="from" defaultValue={raw.from} className="rounded-md border border-slate-300 px-2 py-1" />
            </label>
            <label className="space-y-1">
              <span className="block text-xs text-slate-600">To</span>
              <input type="datetime-local" name="to" defaultValue={raw.to} className="rounded-md border border-slate-300 px-2 py-1" />
            </label>
            <Button kind="secondary" type="submit">
              Filter
            </Button>
            <div className="ml-auto flex gap-3">
              <a href={`${apiBase}?format=jsonl&${exportQuery}`}>Export JSON lines</a>
              <a href={`${apiBase}?format=csv&${exportQuery}`}>Export CSV</a>
              <Link href={`${base}?verify=1`}>Verify chain</Link>
            </div>
          </form>
        </Card>
        <Card>
          <table className="w-full text-left text-sm" data-table="audit">
            <thead className="border-b border-slate-200 text-xs uppercase text-slate-500">
              <tr>
                <th className="py-2">Time</th>
                <th>Organization</th>
                <th>Actor</th>
                <th>Action</th>
                <th>Target</th>
                <th>IP</th>
                <th>#</th>
              </tr>
            </thead>
            <tbody>
              {events.length === 0 && (
                <tr>
                  <td colSpan={7} className="py-6 text-center text-slate-500">
                    No entries.
                  </td>
                </tr>
              )}
              {events.map((event) => (
                <tr key={event.id} className="border-b border-slate-100 align-top" data-audit-action={event.action}>
                  <td className="whitespace-nowrap py-2 text-xs text-slate-500">{formatTime(event.occurredAt)}</td>
                  <td className="text-xs">{event.orgName}</td>
                  <td className="text-xs">
                    {event.actorLabel ?? event.actorType}
                    {event.actorType !== 'user' && <span className="text-slate-400"> ({event.actorType})</span>}
                  </td>
                  <td className="font-mono text-xs">{event.action}</td>
                  <td className="max-w-sm text-xs text-slate-600">
                    {event.targetType && <span className="font-medium">{event.targetType}</span>}
                    <dl className="mt-0.5 flex flex-wrap gap-x-3 text-slate-500">
                      {Object.entries(event.details).map(([key, value]) => (
                        <div key={key} className="flex gap-1">
                          <dt>{key}:</dt>
                          <dd className="break-all text-slate-700">{typeof value === 'string' ? value : JSON.stringify(value)}</dd>
                        </div>
                      ))}
                    </dl>
                  </td>
                  <td className="text-xs text-slate-500">{event.ip ?? ''}</td>
                  <td className="text-xs text-slate-400" title={`hash ${event.hash}`}>
                    {event.seq}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {older && (
            <p className="mt-3 text-sm">
              <Link href={`${base}?${olderQuery}`}>Older entries →</Link>
            </p>
          )}
        </Card>
      </div>
    </>
  );
}
