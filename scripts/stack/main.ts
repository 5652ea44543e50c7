/**
 * `npm start` → scripts/start.mjs → this file (through tsx, with the react-server condition the broker code needs).
 *
 *   PORT=3000 PROXY_PORT=7777 PROXY_HEALTH_PORT=9000 EMULATOR_PORT_BASE=4590 DATA_DIR=.data DEMO_DIR=.demo npm start
 *
 * Emulators take six consecutive ports from EMULATOR_PORT_BASE (AWS, Google http, Google https, Azure, sinks http,
 * sinks https) on the first run; later runs keep the ports saved in DEMO_DIR, since the demo configs name them.
 */
import path from 'node:path';
import { z } from 'zod';
import { describeStack, repoRoot, startStack, type RunningStack } from './stack';

const port = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((value) => (value && value.trim() !== '' ? Number(value) : fallback))
    .pipe(z.number().int('must be a port number').min(0, 'must be 0–65535').max(65535, 'must be 0–65535'));

const envSchema = z.object({
  PORT: port(3000),
  HOST: z.string().optional().default('0.0.0.0'),
  PROXY_PORT: port(7777),
  PROXY_HEALTH_PORT: port(9000),
  EMULATOR_PORT_BASE: port(4590).pipe(z.number().max(65530, 'must leave room for six ports')),
  DATA_DIR: z.string().optional().default(path.join(repoRoot, '.data')),
  DEMO_DIR: z.string().optional().default(path.join(repoRoot, '.demo')),
  DATABASE_URL: z.string().optional(),
  AUTH_SECRET: z.string().optional(),
});

const log = (line: string) => console.log(`[opencmk] ${line}`);

async function main(): Promise<void> {
  const parsed = envSchema.safeParse(process.env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) console.error(`[opencmk] ${issue.path.join('.')}: ${issue.message}`);
    process.exit(2);
  }
  const env = parsed.data;
  const base = env.EMULATOR_PORT_BASE;
  const started = Date.now();
  const running: { stack?: RunningStack } = {};
  let stopping = false;
  const aborter = new AbortController();
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    aborter.abort();
    // Still starting: startStack stops what it started and rejects, and main() exits then.
    if (!running.stack) return;
    running.stack.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  const stack = (running.stack = await startStack({
    brokerPort: env.PORT,
    brokerHost: env.HOST,
    proxyPort: env.PROXY_PORT,
    proxyHealthPort: env.PROXY_HEALTH_PORT,
    emulatorPorts:
      base === 0
        ? { aws: 0, gcpHttp: 0, gcpHttps: 0, azure: 0, sinksHttp: 0, sinksHttps: 0 }
        : {
            aws: base,
            gcpHttp: base + 1,
            gcpHttps: base + 2,
            azure: base + 3,
            sinksHttp: base + 4,
            sinksHttps: base + 5,
          },
    dataDir: path.resolve(env.DATA_DIR),
    demoDir: path.resolve(env.DEMO_DIR),
    databaseUrl: env.DATABASE_URL?.trim() || undefined,
    authSecret: env.AUTH_SECRET?.trim() || undefined,
    output: 'inherit',
    log,
    signal: aborter.signal,
  }).catch((error: unknown) => {
    if (stopping) return undefined;
    throw error;
  }));
  if (!stack) process.exit(0);
  if (stopping) return;
  console.log(describeStack(stack, path.resolve(env.DEMO_DIR)));
  log(
    `ready in ${((Date.now() - started) / 1000).toFixed(1)} s; wrote ${path.join(path.resolve(env.DEMO_DIR), 'stack.json')}`,
  );
  const { name, code } = await stack.exited;
  if (stopping) return;
  log(`${name} exited (${code}); stopping the stack`);
  await stack.stop();
  process.exit(1);
}

main().catch((error: unknown) => {
  console.error(`[opencmk] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
