import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` diffs db/schema against the committed snapshots and writes a new SQL migration.
// The same migrations run on PostgreSQL and on embedded PGlite (db/client.ts applies them at start-up).
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema/index.ts',
  out: './db/migrations',
  strict: true,
  verbose: true,
});
