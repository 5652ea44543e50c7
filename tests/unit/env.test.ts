import { readFileSync } from 'node:fs';
import path from 'node:path';
import { EnvError, envSchema, parseEnv } from '@/lib/env';

const problemsOf = (source: Record<string, string>) => {
  try {
    parseEnv(source);
    return [];
  } catch (error) {
    if (error instanceof EnvError) return error.problems;
    throw error;
  }
};

describe('parseEnv', () => {
  it('needs nothing in development: PGlite in .data, outbox mail, port 3000', () => {
    const env = parseEnv({});
    expect(env).toMatchObject({ NODE_ENV: 'development', PORT: 3000, DATA_DIR: '.data', mailMode: 'outbox', oidcEnabled: false });
    expect(env.publicUrl).toBe('http://localhost:3000');
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it('refuses the outbox in production unless OPENCMK_DEMO=1, and requires AUTH_SECRET and BROKER_URL', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    expect(problems.some((p) => p.startsWith('SMTP_URL is required in production'))).toBe(true);
    expect(problems).toContain('AUTH_SECRET is required in production');
    expect(problems.some((p) => p.startsWith('BROKER_URL is required in production'))).toBe(true);

    const secret = 'x'.repeat(32);
    expect(parseEnv({ NODE_ENV: 'production', OPENCMK_DEMO: '1', AUTH_SECRET: secret }).mailMode).toBe('outbox');
    const real = parseEnv({ NODE_ENV: 'production', SMTP_URL: 'smtps://u:p@mail.test:465', AUTH_SECRET: secret, BROKER_URL: 'https://cmk.example.com/' });
    expect(real.mailMode).toBe('smtp');
    expect(real.publicUrl).toBe('https://cmk.example.com');
  });

  it('rejects malformed values with the variable named', () => {
    expect(problemsOf({ PORT: 'eighty' })[0]).toMatch(/^PORT /);
    expect(problemsOf({ PORT: '70000' })[0]).toMatch(/^PORT /);
    expect(problemsOf({ DATABASE_URL: 'mysql://x' })[0]).toMatch(/^DATABASE_URL must be a postgres/);
    expect(problemsOf({ SMTP_URL: 'http://mail' })[0]).toMatch(/^SMTP_URL /);
    expect(problemsOf({ AUTH_SECRET: 'short' })[0]).toMatch(/^AUTH_SECRET must be at least 32/);
    expect(problemsOf({ OPENCMK_DEMO: 'yes' })[0]).toMatch(/^OPENCMK_DEMO /);
    expect(problemsOf({ BROKER_URL: 'http://127.0.0.1:3000' })[0]).toMatch(/use http:\/\/localhost/);
    expect(problemsOf({ RATE_LIMIT_SIGN_IN_PER_HOUR: '0' })[0]).toMatch(/^RATE_LIMIT_SIGN_IN_PER_HOUR /);
  });

  it('enables OIDC only with issuer, client id and secret together', () => {
    expect(problemsOf({ OIDC_ISSUER: 'https://idp.example.com' })[0]).toMatch(/must be set together/);
    const env = parseEnv({ OIDC_ISSUER: 'https://idp.example.com', OIDC_CLIENT_ID: 'id', OIDC_CLIENT_SECRET: 'secret' });
    expect(env).toMatchObject({ oidcEnabled: true, OIDC_NAME: 'Single sign-on' });
  });
});

describe('documentation of the environment', () => {
  const names = Object.keys(envSchema.shape).sort();
  const root = path.resolve(__dirname, '..', '..');

  it('.env.example lists every variable lib/env.ts reads, and no other', () => {
    const listed = readFileSync(path.join(root, '.env.example'), 'utf8')
      .split('\n')
      .filter((line) => /^(# )?[A-Z][A-Z0-9_]*=/.test(line))
      .map((line) => line.replace(/^# /, '').split('=')[0])
      .sort();
    expect(listed).toEqual(names);
  });

  it('the README table names every variable', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    for (const name of names) expect(readme).toContain(`| \`${name}\``);
  });
});
