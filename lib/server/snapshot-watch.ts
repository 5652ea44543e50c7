import 'server-only';
import { inArray } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { proxyConfigs } from '@/db/schema';
import { onAnyChange } from './snapshot-versions';

/**
 * One watcher per broker process for every waiting long-poll: a single query for all waiting proxy configurations
 * every POLL_INTERVAL_MS (changes committed by other broker instances), and at once after any change on this
 * instance. A thousand waiting proxies cost one indexed query per interval, not a thousand.
 */
export const POLL_INTERVAL_MS = 250;

export interface WatchedState {
  snapshotVersion: number;
  name: string;
}

interface Waiter {
  version: number;
  /** null: revoked or gone. */
  resolve: (state: WatchedState | null) => void;
}

type Watch = { db?: Db; waiters: Map<string, Set<Waiter>>; timer?: NodeJS.Timeout; unsubscribe?: () => void; polling: boolean; again: boolean };
const watch: Watch = ((globalThis as { __opencmkSnapshotWatch?: Watch }).__opencmkSnapshotWatch ??= { waiters: new Map(), polling: false, again: false });

async function pollOnce(): Promise<void> {
  if (watch.polling) {
    watch.again = true;
    return;
  }
  watch.polling = true;
  try {
    do {
      watch.again = false;
      const ids = [...watch.waiters.keys()];
      if (!ids.length || !watch.db) return;
      const rows = await watch.db
        .select({ id: proxyConfigs.id, snapshotVersion: proxyConfigs.snapshotVersion, status: proxyConfigs.status, tokenHash: proxyConfigs.tokenHash, name: proxyConfigs.name })
        .from(proxyConfigs)
        .where(inArray(proxyConfigs.id, ids));
      const byId = new Map(rows.map((row) => [row.id, row]));
      for (const id of ids) {
        const row = byId.get(id);
        const waiters = watch.waiters.get(id);
        if (!waiters) continue;
        for (const waiter of [...waiters]) {
          if (!row || row.status === 'revoked' || !row.tokenHash) waiter.resolve(null);
          else if (row.snapshotVersion !== waiter.version) waiter.resolve({ snapshotVersion: row.snapshotVersion, name: row.name });
        }
      }
    } while (watch.again);
  } catch (error) {
    console.error('snapshot watcher query failed', (error as Error).message);
  } finally {
    watch.polling = false;
  }
}

function start(db: Db): void {
  watch.db = db;
  if (!watch.timer) {
    watch.timer = setInterval(() => void pollOnce(), POLL_INTERVAL_MS);
    watch.timer.unref();
  }
  watch.unsubscribe ??= onAnyChange(() => void pollOnce());
}

function stopIfIdle(): void {
  if (watch.waiters.size) return;
  clearInterval(watch.timer);
  watch.timer = undefined;
  watch.unsubscribe?.();
  watch.unsubscribe = undefined;
}

/**
 * Resolves with the new state as soon as the configuration's snapshot version differs from `version`, null when it
 * is revoked, or 'timeout' after `waitMs` (or when `signal` aborts).
 */
export function watchSnapshotVersion(db: Db, proxyConfigId: string, version: number, waitMs: number, signal: AbortSignal): Promise<WatchedState | null | 'timeout'> {
  return new Promise((resolve) => {
    let set = watch.waiters.get(proxyConfigId);
    if (!set) watch.waiters.set(proxyConfigId, (set = new Set()));
    const finish = (outcome: WatchedState | null | 'timeout') => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      set.delete(waiter);
      if (!set.size) watch.waiters.delete(proxyConfigId);
      stopIfIdle();
      resolve(outcome);
    };
    const waiter: Waiter = { version, resolve: finish };
    const onAbort = () => finish('timeout');
    const timer = setTimeout(() => finish('timeout'), waitMs);
    signal.addEventListener('abort', onAbort);
    set.add(waiter);
    start(db);
    if (signal.aborted) return finish('timeout');
    // A change between the request's authentication and now is seen at once, not one interval later.
    void pollOnce();
  });
}
