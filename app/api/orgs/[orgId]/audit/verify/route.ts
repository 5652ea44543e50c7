import { NextResponse } from 'next/server';
import { verifyAuditChain } from '@/lib/server/audit';
import { scopeFromRoute } from '@/lib/server/api';
import { route } from '@/lib/server/http';

/** GET: recomputes the organization's hash chain; `firstBroken` names the first entry that does not verify. */
export const GET = route(async (_request, ctx) => {
  const scoped = await scopeFromRoute(ctx);
  return NextResponse.json(await verifyAuditChain(scoped.db, scoped.scope.orgId));
});
