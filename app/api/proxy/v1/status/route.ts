import { jsonBody } from '@/lib/server/api';
import { recordProxyStatus } from '@/lib/server/proxy-api';
import { proxyRoute } from '@/lib/server/proxy-route';

export const dynamic = 'force-dynamic';

/** POST {instanceId, snapshotVersion, uptimeSeconds, counters} -> 204. */
export const POST = proxyRoute(async (request, { db, proxy }) => {
  await recordProxyStatus(db, proxy, await jsonBody(request));
  return new Response(null, { status: 204 });
});
