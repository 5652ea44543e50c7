import { NextResponse } from 'next/server';
import { jsonBody, scopeFromRoute } from '@/lib/server/api';
import { route } from '@/lib/server/http';
import { getVendorSettings, updateVendorSettings } from '@/lib/server/vendor-settings';

/** GET: the vendor's settings (a tenant organization sees its vendor's requirements). */
export const GET = route(async (_request, ctx) => NextResponse.json({ settings: await getVendorSettings(await scopeFromRoute(ctx)) }));

/** PUT {requireLeasing, requireLogging} (vendor only). */
export const PUT = route(async (request, ctx) => {
  const scoped = await scopeFromRoute(ctx, 'vendor');
  return NextResponse.json({ settings: await updateVendorSettings(scoped, await jsonBody(request)) });
});
