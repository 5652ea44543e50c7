import 'server-only';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BrokerEnv } from '@/lib/env';

/**
 * AUTH_SECRET when set (required in production, lib/env.ts); in development a random secret kept in DATA_DIR so
 * sessions survive restarts of `next dev` without anyone committing a shared default.
 */
export function authSecret(env: BrokerEnv): string {
  if (env.AUTH_SECRET) return env.AUTH_SECRET;
  const file = path.resolve(/*turbopackIgnore: true*/ env.DATA_DIR, 'auth-secret');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(path.dirname(file), { recursive: true });
    const secret = randomBytes(32).toString('base64url');
    writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
    return secret;
  }
}
