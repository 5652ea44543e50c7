import { NextResponse } from 'next/server';
import { jsonBody, scopeFromRoute } from '@/lib/server/api';
import { route } from '@/lib/server/http';
import { createTenantConfig, listTenantConfigs, parseKind } from '@/lib/server/tenant-configs';

/** GET: the tenant's KMS (`kms`) or logging (`logging`) configs, metadata only, with each one's last test. */
export const GET = route(async (_request, ctx) => {
  const scoped = await scopeFromRoute(ctx, 'tenant');
  return NextResponse.json({ configs: await listTenantConfigs(scoped, parseKind(ctx.params.kind)) });
});

/** POST {id, provider, label, …metadata, copies: [{recipientKeyId, blob}]}: 201, or 409 when the recipients changed. */
export const POST = route(async (request, ctx) => {
  const scoped = await scopeFromRoute(ctx, 'tenant');
  const kind = parseKind(ctx.params.kind);
  return NextResponse.json({ config: await createTenantConfig(scoped, kind, await jsonBody(request)) }, { status: 201 });
});
