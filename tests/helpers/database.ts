import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { openDatabase, setDatabaseForTests, type DatabaseHandle } from '@/db/client';

/**
 * A fresh, migrated database for one test file: an in-memory PGlite by default, or — when DATABASE_URL is set (CI's
 * second run) — a new database created on that PostgreSQL server and dropped afterwards, so test files never share
 * rows.
 */
export async function createTestDatabase(): Promise<DatabaseHandle & { url?: string }> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const handle = await openDatabase({ dataDir: 'memory://' });
    setDatabaseForTests(handle);
    return handle;
  }
  const name = `opencmk_t_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const handle = await openDatabase({ databaseUrl: url.toString() });
  setDatabaseForTests(handle);
  return {
    ...handle,
    url: url.toString(),
    async close() {
      setDatabaseForTests(undefined);
      await handle.close();
      const dropper = new Client({ connectionString: serverUrl });
      await dropper.connect();
      await dropper.query(`drop database if exists ${name}`);
      await dropper.end();
    },
  };
}
