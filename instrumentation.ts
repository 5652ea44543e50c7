// Next.js calls register() once when a server starts: open the database (applying migrations) before the first
// request, so a bad DATABASE_URL or environment fails the start-up instead of the first sign-in.
export async function register() {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { getEnv } = await import('@/lib/env');
  getEnv();
  const { getDb } = await import('@/db/client');
  await getDb();
}
