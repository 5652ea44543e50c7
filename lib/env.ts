import { z } from 'zod';

/**
 * Every environment variable the broker reads, validated once. `.env.example` and the README table list the same
 * names; tests/unit/env.test.ts keeps the three in sync.
 */
const flag = z
  .enum(['0', '1', 'true', 'false', ''])
  .optional()
  .transform((value) => value === '1' || value === 'true');

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value && value.trim() !== '' ? value.trim() : undefined));

const positiveInt = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((value) => (value && value.trim() !== '' ? Number(value) : fallback))
    .pipe(z.number().int().positive());

export const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: positiveInt(3000).pipe(z.number().max(65535)),
    DATABASE_URL: optionalText.pipe(
      z
        .string()
        .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
        .optional(),
    ),
    DATA_DIR: optionalText.transform((value) => value ?? '.data'),
    BROKER_URL: optionalText.pipe(
      z
        .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
        // Next.js rewrites loopback IPs in request URLs to "localhost"; sign-in callbacks would then leave the origin.
        .refine((url) => !/^https?:\/\/(127\.\d+\.\d+\.\d+|\[::1\])(:|\/|$)/.test(url), 'use http://localhost:<port> for a loopback address')
        .optional(),
    ),
    AUTH_SECRET: optionalText.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
    OPENCMK_DEMO: flag,
    SMTP_URL: optionalText.pipe(
      z
        .string()
        .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
        .optional(),
    ),
    SMTP_FROM: optionalText.transform((value) => value ?? 'OpenCMK <no-reply@localhost>'),
    OIDC_ISSUER: optionalText.pipe(z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional()),
    OIDC_CLIENT_ID: optionalText,
    OIDC_CLIENT_SECRET: optionalText,
    OIDC_NAME: optionalText.transform((value) => value ?? 'Single sign-on'),
    RATE_LIMIT_SIGN_IN_PER_HOUR: positiveInt(5),
    RATE_LIMIT_INVITATION_ACCEPT_PER_HOUR: positiveInt(20),
  })
  .superRefine((env, ctx) => {
    const production = env.NODE_ENV === 'production';
    if (production && !env.SMTP_URL && !env.OPENCMK_DEMO) {
      ctx.addIssue({
        code: 'custom',
        path: ['SMTP_URL'],
        message:
          'is required in production: without it sign-in links would only be written to the log and /dev/outbox (set OPENCMK_DEMO=1 to run a demo that way on purpose)',
      });
    }
    if (production && !env.AUTH_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['AUTH_SECRET'], message: 'is required in production' });
    }
    if (production && !env.OPENCMK_DEMO && !env.BROKER_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['BROKER_URL'],
        message: 'is required in production: links in e-mails must not be built from the Host header',
      });
    }
    const oidc = [env.OIDC_ISSUER, env.OIDC_CLIENT_ID, env.OIDC_CLIENT_SECRET];
    if (oidc.some(Boolean) && !oidc.every(Boolean)) {
      ctx.addIssue({
        code: 'custom',
        path: ['OIDC_ISSUER'],
        message: 'OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET must be set together',
      });
    }
  });

export type BrokerEnv = z.infer<typeof envSchema> & {
  /** Where sign-in and invitation e-mails go: SMTP, or the dev/demo outbox (page + server log). */
  mailMode: 'smtp' | 'outbox';
  oidcEnabled: boolean;
  publicUrl: string;
};

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid environment:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'EnvError';
  }
}

export function parseEnv(source: Record<string, string | undefined>): BrokerEnv {
  const result = envSchema.safeParse(source);
  if (!result.success) {
    throw new EnvError(result.error.issues.map((issue) => `${issue.path.join('.') || 'env'} ${issue.message}`));
  }
  const env = result.data;
  return {
    ...env,
    mailMode: env.SMTP_URL ? 'smtp' : 'outbox',
    oidcEnabled: Boolean(env.OIDC_ISSUER),
    publicUrl: (env.BROKER_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, ''),
  };
}

let cached: BrokerEnv | undefined;

/** The validated environment of this process (parsed on first use, so a bad value fails start-up loudly). */
export function getEnv(): BrokerEnv {
  cached ??= parseEnv(process.env);
  return cached;
}

/** Tests change process.env between cases; this forgets the parsed copy. */
export function resetEnvForTests(): void {
  cached = undefined;
}
