import { NextResponse } from 'next/server';
import { jsonBody, scopeFromRoute } from '@/lib/server/api';
import { route } from '@/lib/server/http';
import { provisioningBatch, storeProvisionedCopies } from '@/lib/server/proxy-configs';

/** GET ?limit=N: the next tenant configs still to seal to this configuration, with their vendor-key copies. */
export const GET = route(async (request, ctx) => {
  const scoped = await scopeFromRoute(ctx, 'vendor');
  const query = Object.fromEntries(new URL(request.url).searchParams.entries());
  return NextResponse.json(await provisioningBatch(scoped, ctx.params.proxyConfigId ?? '', query));
});

/** POST {copies: [{kind, configId, version, blob}]}: a batch sealed to this configuration's key. */
export const POST = route(async (request, ctx) => {
  const scoped = await scopeFromRoute(ctx, 'vendor');
  return NextResponse.json(await storeProvisionedCopies(scoped, ctx.params.proxyConfigId ?? '', await jsonBody(request)));
});
