import { NextResponse } from 'next/server';
import { listAuditEvents } from '@/lib/server/audit';
import { parseQuery, scopeFromRoute } from '@/lib/server/api';
import { route } from '@/lib/server/http';
import { auditFilterSchema } from '@/lib/validation';

/** GET: the organization's audit log (a tenant's includes its vendor's entries about it), newest first. */
export const GET = route(async (request, ctx) => {
  const scoped = await scopeFromRoute(ctx);
  const events = await listAuditEvents(scoped, parseQuery(auditFilterSchema, request));
  return NextResponse.json({ events });
});
