import 'server-only';
import { BrokerError } from '@/lib/errors';
import { fieldErrorsOf } from '@/lib/validation';
import type { z } from 'zod';
import type { RouteContext } from './http';
import type { ScopedContext } from './context';
import { requireOrgAdmin } from './org-scope';

/** The `[orgId]` route parameter resolved to the caller's scope (401 signed out, 404 not an admin of it). */
export async function scopeFromRoute(ctx: RouteContext, kind?: 'vendor' | 'tenant'): Promise<ScopedContext> {
  const scope = await requireOrgAdmin(ctx.db, ctx.user, ctx.params.orgId ?? '', kind);
  return { db: ctx.db, scope, meta: ctx.meta };
}

export function parseQuery<T extends z.ZodType>(schema: T, request: Request): z.infer<T> {
  const query = Object.fromEntries(new URL(request.url).searchParams.entries());
  const parsed = schema.safeParse(query);
  if (!parsed.success) throw new BrokerError('INVALID_INPUT', 'Invalid query parameters', fieldErrorsOf(parsed.error));
  return parsed.data;
}

/** JSON body or 400 (never a 500 for a malformed body). */
export async function jsonBody(request: Request): Promise<unknown> {
  if (!request.headers.get('content-type')?.toLowerCase().includes('application/json')) {
    throw new BrokerError('INVALID_INPUT', 'Send a JSON body (Content-Type: application/json)');
  }
  try {
    return await request.json();
  } catch {
    throw new BrokerError('INVALID_INPUT', 'The body is not valid JSON');
  }
}
