import 'server-only';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import * as schema from './schema';

/** One type for both drivers (and for transactions, which extend it): lib/ never knows which one runs. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface DatabaseHandle {
  db: Db;
  driver: 'pg' | 'pglite';
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** postgres:// URL; without it the embedded PGlite is used. */
  databaseUrl?: string;
  /** PGlite data directory, or 'memory://' for a throw-away database. */
  dataDir?: string;
  migrationsFolder?: string;
}

export const defaultMigrationsFolder = () => path.join(process.cwd(), 'db', 'migrations');

// Any constant works; it only has to be the same for every broker instance sharing one PostgreSQL.
const MIGRATION_LOCK_ID = 73_615_001;

/** Opens the database and applies the committed drizzle-kit migrations (idempotent; serialised across instances). */
export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  const migrationsFolder = options.migrationsFolder ?? defaultMigrationsFolder();
  if (options.databaseUrl) {
    const { Pool } = await import('pg');
    const { drizzle } = await import('drizzle-orm/node-postgres');
    const { migrate } = await import('drizzle-orm/node-postgres/migrator');
    const pool = new Pool({ connectionString: options.databaseUrl, max: 10 });
    const db = drizzle(pool, { schema }) as unknown as Db;
    // Several stateless instances may start together: one migrates, the others wait on the advisory lock.
    const lockClient = await pool.connect();
    try {
      await lockClient.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
      await migrate(drizzle(pool, { schema }), { migrationsFolder });
    } finally {
      await lockClient.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
      lockClient.release();
    }
    return { db, driver: 'pg', close: () => pool.end() };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  const dataDir = options.dataDir ?? 'memory://';
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
  const client = new PGlite(dataDir.startsWith('memory://') ? undefined : path.resolve(/*turbopackIgnore: true*/ dataDir));
  const pgliteDb = drizzle(client, { schema });
  await migrate(pgliteDb, { migrationsFolder });
  return { db: pgliteDb as unknown as Db, driver: 'pglite', close: () => client.close() };
}

type Holder = { handle?: Promise<DatabaseHandle> };
// Kept on globalThis so `next dev` module reloads do not open a second PGlite on the same directory.
const holder: Holder = ((globalThis as { __opencmkDb?: Holder }).__opencmkDb ??= {});

/** The process-wide database, configured from the environment (DATABASE_URL, else PGlite in DATA_DIR). */
export async function getDb(): Promise<Db> {
  if (!holder.handle) {
    const { getEnv } = await import('@/lib/env');
    const env = getEnv();
    holder.handle = openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR });
    holder.handle.catch(() => {
      holder.handle = undefined;
    });
  }
  return (await holder.handle).db;
}

/** Integration tests run the real route handlers and server actions against their own fresh database. */
export function setDatabaseForTests(handle: DatabaseHandle | undefined): void {
  holder.handle = handle ? Promise.resolve(handle) : undefined;
}

export async function closeDb(): Promise<void> {
  const handle = holder.handle;
  holder.handle = undefined;
  if (handle) await (await handle).close();
}

/** Cheap liveness probe for health checks. */
export async function pingDb(db: Db): Promise<void> {
  await db.execute(sql`select 1`);
}
