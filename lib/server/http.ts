import 'server-only';
import { NextResponse } from 'next/server';
import { getDb, type Db } from '@/db/client';
import { BrokerError, httpStatusOf } from '@/lib/errors';
import type { RequestMeta, SignedInUser } from './context';
import { requestMetaFromHeaders, userFromHeaders } from './session';

export interface RouteContext {
  db: Db;
  user: SignedInUser | null;
  meta: RequestMeta;
  params: Record<string, string>;
}

/**
 * Route handler wrapper: resolves the database, the signed-in user and request metadata, runs the handler and maps
 * errors in one place (BrokerError -> its status; anything else -> logged, generic 500 without details).
 */
export function route(
  handler: (request: Request, ctx: RouteContext) => Promise<Response>,
): (request: Request, context: { params: Promise<Record<string, string>> }) => Promise<Response> {
  return async (request, context) => {
    try {
      const db = await getDb();
      const user = await userFromHeaders(db, request.headers);
      const params = (await context?.params) ?? {};
      return await handler(request, { db, user, meta: requestMetaFromHeaders(request.headers), params });
    } catch (error) {
      return errorResponse(error);
    }
  };
}

export function errorResponse(error: unknown): Response {
  if (error instanceof BrokerError) {
    const headers: Record<string, string> = {};
    if (error.retryAfterSeconds) headers['Retry-After'] = String(error.retryAfterSeconds);
    return NextResponse.json(
      { error: error.code.toLowerCase(), message: error.message, ...(error.fieldErrors ? { fieldErrors: error.fieldErrors } : {}) },
      { status: httpStatusOf[error.code], headers },
    );
  }
  console.error('unexpected error in route handler', error);
  return NextResponse.json({ error: 'internal', message: 'Something went wrong' }, { status: 500 });
}
