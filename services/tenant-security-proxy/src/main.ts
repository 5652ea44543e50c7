import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, parseEnvFile } from './config.js';
import { createLogger } from './logger.js';
import { startProxy } from './proxy.js';
import { sharedStdout } from './stdout-stream.js';

/**
 * `node dist/main.js [--env-file <path>]`: configuration from the environment, optionally merged over a `.env`
 * file (the process environment wins). SIGTERM/SIGINT shut down gracefully.
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let env: Record<string, string | undefined> = process.env;
  const fileArg = args.findIndex((a) => a === '--env-file' || a.startsWith('--env-file='));
  if (fileArg !== -1) {
    const path = args[fileArg]!.includes('=') ? args[fileArg]!.split('=').slice(1).join('=') : args[fileArg + 1];
    if (!path) throw new ConfigError(['--env-file needs a path']);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      throw new ConfigError([`--env-file ${path} cannot be read`]);
    }
    env = { ...parseEnvFile(text), ...process.env };
  }
  const config = loadConfig(env);
  const logger = createLogger(config.logLevel);
  // Node prints process warnings (a deprecation, an SDK's notice about the Node version) as multi-line text on
  // stderr, which a pipeline reading JSON lines splits or drops. Here they are log entries like any other. Node's
  // own printer is absent under --no-warnings or NODE_NO_WARNINGS=1, and then they stay silent.
  if (process.listenerCount('warning') > 0) {
    process.removeAllListeners('warning');
    process.on('warning', (warning: Error & { code?: string }) => {
      if (warning.name === 'DeprecationWarning' && process.noDeprecation) return;
      logger.warn({ warning: { name: warning.name, code: warning.code, message: warning.message } }, 'process warning');
    });
  }
  const proxy = await startProxy(config, { logger });
  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, 'signal received');
    // stdout is written asynchronously: what is still buffered (logs, stdout events) goes out before exit.
    proxy
      .stop()
      .then(
        () => 0,
        (error: unknown) => {
          logger.error({ reason: (error as Error).message }, 'shutdown failed');
          return 1;
        },
      )
      .then(async (code) => {
        await sharedStdout().drain(2000);
        process.exit(code);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  sharedStdout().flushSync();
  process.stderr.write(`tenant security proxy failed to start: ${(error as Error).message}\n`);
  process.exit(1);
});
