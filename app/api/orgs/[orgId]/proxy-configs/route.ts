import { NextResponse } from 'next/server';
import { jsonBody, scopeFromRoute } from '@/lib/server/api';
import { route } from '@/lib/server/http';
import { createProxyConfig, listProxyConfigs } from '@/lib/server/proxy-configs';

export const GET = route(async (_request, ctx) => NextResponse.json({ proxyConfigs: await listProxyConfigs(await scopeFromRoute(ctx, 'vendor')) }));

/** POST {id, name, publicKey, tokenHash, sealedEnv}: 201 with the new configuration (status provisioning). */
export const POST = route(async (request, ctx) => {
  const scoped = await scopeFromRoute(ctx, 'vendor');
  const row = await createProxyConfig(scoped, await jsonBody(request));
  return NextResponse.json({ proxyConfig: { id: row.id, name: row.name, status: row.status, keyId: row.keyId } }, { status: 201 });
});
