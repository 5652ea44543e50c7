import 'server-only';
import { lt, sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { rateLimits } from '@/db/schema';
import { BrokerError } from '@/lib/errors';

/**
 * Fixed-window counter kept in the database, so every broker instance shares it. One atomic upsert per attempt:
 * a new window starts when the stored one is older than `windowMs`.
 */
export async function consumeRateLimit(db: Db, key: string, limit: number, windowMs: number): Promise<void> {
  const now = new Date();
  const windowFloor = new Date(now.getTime() - windowMs);
  const [row] = await db
    .insert(rateLimits)
    .values({ key, windowStart: now, count: 1 })
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: {
        count: sql`case when ${rateLimits.windowStart} <= ${windowFloor} then 1 else ${rateLimits.count} + 1 end`,
        windowStart: sql`case when ${rateLimits.windowStart} <= ${windowFloor} then ${now} else ${rateLimits.windowStart} end`,
      },
    })
    .returning({ count: rateLimits.count, windowStart: rateLimits.windowStart });
  // Old windows are dead weight; any caller sweeps them now and then (all windows are at most a day).
  if (Math.random() < 0.01) await db.delete(rateLimits).where(lt(rateLimits.windowStart, new Date(now.getTime() - 24 * HOUR_MS)));
  if (row && row.count > limit) {
    const retryAfterSeconds = Math.max(1, Math.ceil((row.windowStart.getTime() + windowMs - now.getTime()) / 1000));
    throw new BrokerError('RATE_LIMITED', 'Too many attempts; try again later', undefined, retryAfterSeconds);
  }
}

export const HOUR_MS = 60 * 60 * 1000;
