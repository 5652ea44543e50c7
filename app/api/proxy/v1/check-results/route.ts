import { jsonBody } from '@/lib/server/api';
import { recordCheckResults } from '@/lib/server/proxy-api';
import { proxyRoute } from '@/lib/server/proxy-route';

export const dynamic = 'force-dynamic';

/** POST {results: [{checkId, ok, latencyMs, error?}]} -> 204. */
export const POST = proxyRoute(async (request, { db, proxy, meta }) => {
  await recordCheckResults(db, proxy, await jsonBody(request), meta);
  return new Response(null, { status: 204 });
});
