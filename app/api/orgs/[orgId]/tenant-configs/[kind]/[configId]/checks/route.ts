import { NextResponse } from 'next/server';
import { scopeFromRoute } from '@/lib/server/api';
import { route } from '@/lib/server/http';
import { listChecks, parseKind, queueCheck } from '@/lib/server/tenant-configs';

export const GET = route(async (_request, ctx) => {
  const scoped = await scopeFromRoute(ctx, 'tenant');
  return NextResponse.json({ checks: await listChecks(scoped, parseKind(ctx.params.kind), ctx.params.configId ?? '') });
});

/** POST: queue a test; a proxy picks it up from its snapshot and posts the result. */
export const POST = route(async (_request, ctx) => {
  const scoped = await scopeFromRoute(ctx, 'tenant');
  return NextResponse.json({ check: await queueCheck(scoped, parseKind(ctx.params.kind), ctx.params.configId ?? '') }, { status: 201 });
});
