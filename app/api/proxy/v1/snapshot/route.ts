import { z } from 'zod';
import { parseQuery } from '@/lib/server/api';
import { etagOf, matchesEtag, snapshotBody, waitForSnapshotChange } from '@/lib/server/proxy-api';
import { proxyRoute, unauthorized } from '@/lib/server/proxy-route';

export const dynamic = 'force-dynamic';

const querySchema = z.object({ wait: z.coerce.number().int().min(0).max(30).optional().default(0) });

/**
 * GET ?wait=N (N ≤ 30): this proxy configuration's snapshot (docs/contracts.md §3). With If-None-Match equal to the
 * current ETag it waits up to N seconds for a change, then answers 304.
 */
export const GET = proxyRoute(async (request, { db, proxy, meta }) => {
  const { wait } = parseQuery(querySchema, request);
  let current = proxy;
  if (matchesEtag(request.headers.get('if-none-match'), current.snapshotVersion)) {
    const changed = wait > 0 ? await waitForSnapshotChange(db, current, wait * 1000, request.signal) : current;
    if (!changed) return unauthorized();
    if (changed.snapshotVersion === current.snapshotVersion) {
      return new Response(null, { status: 304, headers: { ETag: etagOf(current.snapshotVersion), 'Cache-Control': 'no-store' } });
    }
    current = changed;
  }
  const body = await snapshotBody(db, current, meta);
  return new Response(body, {
    status: 200,
    headers: { 'Content-Type': 'application/json', ETag: etagOf(current.snapshotVersion), 'Cache-Control': 'no-store' },
  });
});
