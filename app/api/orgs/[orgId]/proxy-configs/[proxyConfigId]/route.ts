import { NextResponse } from 'next/server';
import { z } from 'zod';
import { jsonBody, scopeFromRoute } from '@/lib/server/api';
import { route } from '@/lib/server/http';
import { activateProxyConfig, getProxyConfig, revokeProxyConfig, updateProxyEnv } from '@/lib/server/proxy-configs';
import { parseInput } from '@/lib/server/sealed-input';

/** GET: one configuration with its `.env` sealed to the vendor key (for download again or API key rotation). */
export const GET = route(async (_request, ctx) => {
  const row = await getProxyConfig(await scopeFromRoute(ctx, 'vendor'), ctx.params.proxyConfigId ?? '');
  const { tokenHash: _tokenHash, ...visible } = row;
  return NextResponse.json({ proxyConfig: visible });
});

const actionSchema = z.object({ action: z.enum(['revoke', 'activate', 'rotate-env']) });

/** POST {action: 'revoke' | 'activate' | 'rotate-env', …}. */
export const POST = route(async (request, ctx) => {
  const scoped = await scopeFromRoute(ctx, 'vendor');
  const body = await jsonBody(request);
  const { action } = parseInput(actionSchema, body);
  const id = ctx.params.proxyConfigId ?? '';
  const row =
    action === 'revoke' ? await revokeProxyConfig(scoped, id) : action === 'activate' ? await activateProxyConfig(scoped, id) : await updateProxyEnv(scoped, id, body);
  return NextResponse.json({ proxyConfig: { id: row.id, status: row.status, envVersion: row.envVersion } });
});
