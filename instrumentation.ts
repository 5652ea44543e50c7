// Next.js calls register() once when a server starts: validate the environment and open the database (applying
// migrations) before the first request. A bad environment stops the process — e.g. production without SMTP_URL —
// rather than leaving a server that answers every request with an error.
export async function register() {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { EnvError, getEnv } = await import('@/lib/env');
  try {
    getEnv();
  } catch (error) {
    if (error instanceof EnvError) {
      console.error(`[opencmk] refusing to start. ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const { getDb } = await import('@/db/client');
  await getDb();
}
