import 'server-only';
import { NextResponse } from 'next/server';
import { getDb, type Db } from '@/db/client';
import type { RequestMeta } from './context';
import { errorResponse } from './http';
import { authenticateProxy, type AuthenticatedProxy } from './proxy-api';
import { requestMetaFromHeaders } from './session';

export const unauthorized = () => NextResponse.json({ error: 'unauthorized' }, { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } });

/** Proxy API handler wrapper: bearer token -> proxy configuration (401 otherwise), errors mapped in one place. */
export function proxyRoute(handler: (request: Request, ctx: { db: Db; proxy: AuthenticatedProxy; meta: RequestMeta }) => Promise<Response>) {
  return async (request: Request): Promise<Response> => {
    try {
      const db = await getDb();
      const proxy = await authenticateProxy(db, request.headers);
      if (!proxy) return unauthorized();
      return await handler(request, { db, proxy, meta: requestMetaFromHeaders(request.headers) });
    } catch (error) {
      return errorResponse(error);
    }
  };
}
