import 'server-only';
import { EventEmitter } from 'node:events';
import { and, eq, ne, sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { proxyConfigs, tenantSnapshotRevs } from '@/db/schema';

/**
 * Snapshot versions: every change that alters what a proxy configuration's snapshot contains bumps its
 * `snapshot_version` in the same transaction as the change. Waiting long-polls learn of it two ways: an in-process
 * event (immediate, same broker instance) and a cheap poll of that one column (other broker instances sharing the
 * database), see waitForSnapshotChange.
 */

type Holder = { emitter?: EventEmitter };
// On globalThis so route handlers and server actions bundled into different chunks share one emitter.
const holder: Holder = ((globalThis as { __opencmkSnapshotEvents?: Holder }).__opencmkSnapshotEvents ??= {});
function emitter(): EventEmitter {
  if (!holder.emitter) {
    holder.emitter = new EventEmitter();
    // One listener per waiting long-poll; thousands of proxies may wait at once.
    holder.emitter.setMaxListeners(0);
  }
  return holder.emitter;
}

/** Bumps every live proxy configuration of a vendor (tenant configs, settings and checks concern them all). */
export async function bumpVendorSnapshots(db: Db, vendorOrgId: string): Promise<void> {
  await db
    .update(proxyConfigs)
    .set({ snapshotVersion: sql`${proxyConfigs.snapshotVersion} + 1` })
    .where(and(eq(proxyConfigs.orgId, vendorOrgId), ne(proxyConfigs.status, 'revoked')));
}

/** Marks tenants whose snapshot sections changed (the builder re-reads only those); same transaction as the change. */
export async function bumpTenantRevs(db: Db, tenantRowIds: string[]): Promise<void> {
  const unique = [...new Set(tenantRowIds)];
  for (let i = 0; i < unique.length; i += 1000) {
    await db
      .insert(tenantSnapshotRevs)
      .values(unique.slice(i, i + 1000).map((tenantId) => ({ tenantId, rev: 1 })))
      .onConflictDoUpdate({ target: tenantSnapshotRevs.tenantId, set: { rev: sql`${tenantSnapshotRevs.rev} + 1` } });
  }
}

/** Call after the bumping transaction committed: wakes this instance's long-polls for the vendor at once. */
export function notifyVendorChanged(vendorOrgId: string): void {
  emitter().emit(`vendor:${vendorOrgId}`);
  emitter().emit('change');
}

export function notifyProxyChanged(proxyConfigId: string): void {
  emitter().emit(`proxy:${proxyConfigId}`);
  emitter().emit('change');
}

/** Any change on this instance (the shared long-poll watcher re-reads at once). Returns the unsubscribe function. */
export function onAnyChange(listener: () => void): () => void {
  emitter().on('change', listener);
  return () => emitter().off('change', listener);
}
