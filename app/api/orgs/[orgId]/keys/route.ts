import { NextResponse } from 'next/server';
import { z } from 'zod';
import { jsonBody, scopeFromRoute } from '@/lib/server/api';
import { createVendorKey, getKeyState, grantVendorKey, registerAdminKey } from '@/lib/server/broker-keys';
import { route } from '@/lib/server/http';
import { parseInput } from '@/lib/server/sealed-input';

/** GET: the caller's protected key, the vendor key, the caller's grant and every admin's key status. */
export const GET = route(async (_request, ctx) => NextResponse.json(await getKeyState(await scopeFromRoute(ctx, 'vendor'))));

const actionSchema = z.object({ action: z.enum(['admin-key', 'vendor-key', 'grant']) });

/** POST {action: 'admin-key' | 'vendor-key' | 'grant', …}: key set-up, all made in the caller's browser. */
export const POST = route(async (request, ctx) => {
  const scoped = await scopeFromRoute(ctx, 'vendor');
  const body = await jsonBody(request);
  const { action } = parseInput(actionSchema, body);
  if (action === 'admin-key') return NextResponse.json(await registerAdminKey(scoped, body), { status: 201 });
  if (action === 'vendor-key') return NextResponse.json(await createVendorKey(scoped, body), { status: 201 });
  await grantVendorKey(scoped, body);
  return new Response(null, { status: 204 });
});
