import { z } from 'zod';
import { listAuditEvents, toCsv, toJsonLines } from '@/lib/server/audit';
import { parseQuery, scopeFromRoute } from '@/lib/server/api';
import { route } from '@/lib/server/http';
import { auditFilterSchema } from '@/lib/validation';

const exportQuerySchema = auditFilterSchema.omit({ limit: true, before: true }).extend({ format: z.enum(['jsonl', 'csv']) });
const EXPORT_LIMIT = 100_000;

/** GET ?format=jsonl|csv plus the list filters: a download of the whole (filtered) log. */
export const GET = route(async (request, ctx) => {
  const scoped = await scopeFromRoute(ctx);
  const { format, ...filter } = parseQuery(exportQuerySchema, request);
  const events = await listAuditEvents(scoped, { ...filter, limit: EXPORT_LIMIT, before: undefined });
  const stamp = new Date().toISOString().slice(0, 10);
  const body = format === 'csv' ? toCsv(events) : toJsonLines(events);
  return new Response(body, {
    headers: {
      'Content-Type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      'Content-Disposition': `attachment; filename="audit-${scoped.scope.orgId}-${stamp}.${format}"`,
      'Cache-Control': 'no-store',
    },
  });
});
