import { NextResponse } from 'next/server';
import { jsonBody, scopeFromRoute } from '@/lib/server/api';
import { route } from '@/lib/server/http';
import { parseKind, replaceTenantConfig, setTenantConfigStatus } from '@/lib/server/tenant-configs';

/** PATCH {status}: primary / active / disabled (logging: active / disabled). */
export const PATCH = route(async (request, ctx) => {
  const scoped = await scopeFromRoute(ctx, 'tenant');
  const kind = parseKind(ctx.params.kind);
  return NextResponse.json({ config: await setTenantConfigStatus(scoped, kind, ctx.params.configId ?? '', await jsonBody(request)) });
});

/** PUT {version, fingerprint, copies}: new credentials, sealed again to the current recipients. */
export const PUT = route(async (request, ctx) => {
  const scoped = await scopeFromRoute(ctx, 'tenant');
  const kind = parseKind(ctx.params.kind);
  return NextResponse.json({ config: await replaceTenantConfig(scoped, kind, ctx.params.configId ?? '', await jsonBody(request)) });
});
