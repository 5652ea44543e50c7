// `npm run db:migrate`: applies the committed migrations to DATABASE_URL (or the PGlite database in DATA_DIR).
// The broker also does this at start-up; this command is for operators who migrate before rolling out.
import { openDatabase } from '@/db/client';
import { getEnv } from '@/lib/env';

async function main() {
  const env = getEnv();
  const handle = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR });
  await handle.close();
  console.log(`migrations applied (${handle.driver === 'pg' ? 'PostgreSQL' : `PGlite in ${env.DATA_DIR}`})`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
