import { NextResponse } from 'next/server';
import { scopeFromRoute } from '@/lib/server/api';
import { route } from '@/lib/server/http';
import { getRecipients } from '@/lib/server/tenant-configs';

/** GET: the seal context ids and the public keys a tenant config must be sealed to right now. */
export const GET = route(async (_request, ctx) => NextResponse.json(await getRecipients(await scopeFromRoute(ctx, 'tenant'))));
