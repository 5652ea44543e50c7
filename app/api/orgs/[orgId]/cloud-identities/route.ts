import { NextResponse } from 'next/server';
import { jsonBody, scopeFromRoute } from '@/lib/server/api';
import { route } from '@/lib/server/http';
import { addCloudIdentity, listCloudIdentities } from '@/lib/server/vendor-settings';

/** GET: the vendor's proxy identities (a tenant organization sees its vendor's). */
export const GET = route(async (_request, ctx) => NextResponse.json({ cloudIdentities: await listCloudIdentities(await scopeFromRoute(ctx)) }));

/** POST {provider, identity, label?} (vendor only). */
export const POST = route(async (request, ctx) => {
  const scoped = await scopeFromRoute(ctx, 'vendor');
  return NextResponse.json({ cloudIdentity: await addCloudIdentity(scoped, await jsonBody(request)) }, { status: 201 });
});
