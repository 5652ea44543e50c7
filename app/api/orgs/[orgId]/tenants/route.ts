import { NextResponse } from 'next/server';
import { jsonBody, parseQuery, scopeFromRoute } from '@/lib/server/api';
import { route } from '@/lib/server/http';
import { inviteTenant, listTenants } from '@/lib/server/tenants';
import { tenantListFilterSchema } from '@/lib/validation';

/** GET ?q=&status=: the vendor's tenants. */
export const GET = route(async (request, ctx) => {
  const scoped = await scopeFromRoute(ctx, 'vendor');
  return NextResponse.json({ tenants: await listTenants(scoped, parseQuery(tenantListFilterSchema, request)) });
});

/** POST {vendorTenantId, displayName, adminEmail}: invites a tenant (201). */
export const POST = route(async (request, ctx) => {
  const scoped = await scopeFromRoute(ctx, 'vendor');
  const tenant = await inviteTenant(scoped, await jsonBody(request));
  return NextResponse.json({ tenant }, { status: 201 });
});
