import { NextResponse } from 'next/server';
import { scopeFromRoute } from '@/lib/server/api';
import { route } from '@/lib/server/http';
import { parseKind, reserveConfigId } from '@/lib/server/tenant-configs';

/** POST: a fresh config id to seal with (it is part of the seal context). */
export const POST = route(async (_request, ctx) => {
  const scoped = await scopeFromRoute(ctx, 'tenant');
  return NextResponse.json(await reserveConfigId(scoped, parseKind(ctx.params.kind)), { status: 201 });
});
