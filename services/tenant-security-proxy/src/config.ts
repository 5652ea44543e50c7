import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** Environment of the proxy: the `.env` the broker's browser UI generates (docs/contracts.md §2). */
const base64Url32 = z
  .string()
  .regex(/^[A-Za-z0-9_-]+={0,2}$/, 'must be base64url')
  .refine((value) => Buffer.from(value, 'base64url').length === 32, 'must decode to 32 bytes');

const port = z.coerce.number().int('must be an integer').min(0, 'must be 0–65535').max(65535, 'must be 0–65535');
const positiveSeconds = z.coerce.number().int('must be an integer').positive('must be positive');
const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

export const envSchema = z.object({
  OPENCMK_BROKER_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  OPENCMK_PROXY_CONFIG_ID: z.string().min(1, 'is required'),
  OPENCMK_VENDOR_ID: z.string().min(1, 'is required'),
  OPENCMK_PROXY_PRIVATE_KEY: base64Url32,
  OPENCMK_BROKER_TOKEN: z.string().min(16, 'must be at least 16 characters'),
  API_KEY: z.string().min(16, 'must be at least 16 characters'),
  API_KEY_2: optionalText.refine(
    (value) => value === undefined || value.length >= 16,
    'must be at least 16 characters when set',
  ),
  PORT: port.default(7777),
  HEALTH_PORT: port.default(9000),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LEASE_ROTATION_SECONDS: positiveSeconds.default(86400),
  LEASE_CACHE_TTL_SECONDS: positiveSeconds.default(3600),
  LEASE_PREWRAP_KEYS: z.coerce
    .number()
    .int('must be an integer')
    .min(0, 'must be 0–1000000 (0 turns pre-wrapping off)')
    .max(1_000_000, 'must be 0–1000000 (0 turns pre-wrapping off)')
    .default(65536),
  SNAPSHOT_WAIT_SECONDS: z.coerce
    .number()
    .int('must be an integer')
    .min(0, 'must be 0–30')
    .max(30, 'must be 0–30')
    .default(25),
  SNAPSHOT_REFRESH_SECONDS: positiveSeconds.default(300),
  KMS_TIMEOUT_MS: z.coerce
    .number()
    .int('must be an integer')
    .min(50, 'must be at least 50')
    .max(120000, 'must be at most 120000')
    .default(5000),
  KMS_EXTRA_CA_FILE: optionalText,
  // Optional tuning beyond the generated .env (README: "Configuration").
  EVENT_BATCH_SIZE: z.coerce
    .number()
    .int('must be an integer')
    .min(1, 'must be 1–1000')
    .max(1000, 'must be 1–1000')
    .optional(),
  EVENT_BATCH_MAX_AGE_MS: z.coerce
    .number()
    .int('must be an integer')
    .min(10, 'must be at least 10')
    .max(60000, 'must be at most 60000')
    .optional(),
  EVENT_QUEUE_LIMIT: z.coerce
    .number()
    .int('must be an integer')
    .min(1, 'must be positive')
    .max(1_000_000, 'must be at most 1000000')
    .optional(),
  EVENT_QUEUE_LIMIT_TOTAL: z.coerce
    .number()
    .int('must be an integer')
    .min(1, 'must be positive')
    .max(10_000_000, 'must be at most 10000000')
    .optional(),
  EVENT_MAX_ATTEMPTS: z.coerce
    .number()
    .int('must be an integer')
    .min(1, 'must be 1–20')
    .max(20, 'must be 1–20')
    .optional(),
  EVENT_RETRY_BASE_MS: z.coerce
    .number()
    .int('must be an integer')
    .min(1, 'must be positive')
    .max(60000, 'must be at most 60000')
    .optional(),
  KMS_MAX_ATTEMPTS: z.coerce
    .number()
    .int('must be an integer')
    .min(1, 'must be 1–10')
    .max(10, 'must be 1–10')
    .optional(),
  IDLE_GC_SECONDS: z.coerce
    .number()
    .int('must be an integer')
    .min(0, 'must be 0–3600 (0 turns it off)')
    .max(3600, 'must be 0–3600 (0 turns it off)')
    .optional(),
});

export type ProxyEnv = z.infer<typeof envSchema>;

/** Tunables that are not part of the `.env` contract; defaults suit production, tests shorten them. */
export interface ProxyTuning {
  /** Attempts per KMS call including the first (bounded retries with jitter). */
  kmsMaxAttempts: number;
  kmsRetryBaseMs: number;
  eventBatchSize: number;
  eventBatchMaxAgeMs: number;
  eventQueueLimitPerTenant: number;
  /** Events queued across all tenants: many tenants' sinks down at once must not grow the heap without bound. */
  eventQueueLimitTotal: number;
  eventMaxAttempts: number;
  eventRetryBaseMs: number;
  statusIntervalMs: number;
  brokerRetryBaseMs: number;
  shutdownGraceMs: number;
  maxBodyBytes: number;
  /** Idle window after which the proxy runs a full GC to give back what the load grew (idle-memory.ts); 0 = off. */
  idleGcSeconds: number;
}

export const defaultTuning: ProxyTuning = {
  kmsMaxAttempts: 3,
  kmsRetryBaseMs: 50,
  eventBatchSize: 500,
  eventBatchMaxAgeMs: 1000,
  eventQueueLimitPerTenant: 10000,
  eventQueueLimitTotal: 100000,
  eventMaxAttempts: 5,
  eventRetryBaseMs: 200,
  statusIntervalMs: 30000,
  brokerRetryBaseMs: 500,
  shutdownGraceMs: 10000,
  maxBodyBytes: 4 * 1024 * 1024,
  idleGcSeconds: 10,
};

export interface ProxyConfig {
  brokerUrl: string;
  proxyConfigId: string;
  vendorId: string;
  proxyPrivateKey: Uint8Array;
  brokerToken: string;
  apiKeys: string[];
  port: number;
  healthPort: number;
  host: string;
  logLevel: string;
  leaseRotationSeconds: number;
  leaseCacheTtlSeconds: number;
  /** DEKs wrapped ahead of time on a worker thread, at most, across all leases; 0 = off (prewrap.ts). */
  leasePrewrapKeys: number;
  snapshotWaitSeconds: number;
  snapshotRefreshSeconds: number;
  kmsTimeoutMs: number;
  /** PEM text of KMS_EXTRA_CA_FILE, trusted in addition to the system CAs. */
  kmsExtraCa: string | undefined;
  tuning: ProxyTuning;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid proxy configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Validates every variable at once so an operator sees all problems in one start attempt. */
export function loadConfig(env: Record<string, string | undefined>, tuning: Partial<ProxyTuning> = {}): ProxyConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const variable = issue.path.join('.') || '(environment)';
        const message = issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message;
        return `${variable} ${message}`;
      }),
    );
  }
  const e = parsed.data;
  let kmsExtraCa: string | undefined;
  if (e.KMS_EXTRA_CA_FILE) {
    try {
      kmsExtraCa = readFileSync(e.KMS_EXTRA_CA_FILE, 'utf8');
    } catch (error) {
      throw new ConfigError([`KMS_EXTRA_CA_FILE cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`]);
    }
    if (!kmsExtraCa.includes('-----BEGIN CERTIFICATE-----')) {
      throw new ConfigError(['KMS_EXTRA_CA_FILE does not contain a PEM certificate']);
    }
  }
  return {
    brokerUrl: e.OPENCMK_BROKER_URL.replace(/\/+$/, ''),
    proxyConfigId: e.OPENCMK_PROXY_CONFIG_ID,
    vendorId: e.OPENCMK_VENDOR_ID,
    proxyPrivateKey: new Uint8Array(Buffer.from(e.OPENCMK_PROXY_PRIVATE_KEY, 'base64url')),
    brokerToken: e.OPENCMK_BROKER_TOKEN,
    apiKeys: e.API_KEY_2 ? [e.API_KEY, e.API_KEY_2] : [e.API_KEY],
    port: e.PORT,
    healthPort: e.HEALTH_PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    leaseRotationSeconds: e.LEASE_ROTATION_SECONDS,
    leaseCacheTtlSeconds: e.LEASE_CACHE_TTL_SECONDS,
    leasePrewrapKeys: e.LEASE_PREWRAP_KEYS,
    snapshotWaitSeconds: e.SNAPSHOT_WAIT_SECONDS,
    snapshotRefreshSeconds: e.SNAPSHOT_REFRESH_SECONDS,
    kmsTimeoutMs: e.KMS_TIMEOUT_MS,
    kmsExtraCa,
    tuning: {
      ...defaultTuning,
      ...(e.EVENT_BATCH_SIZE !== undefined ? { eventBatchSize: e.EVENT_BATCH_SIZE } : {}),
      ...(e.EVENT_BATCH_MAX_AGE_MS !== undefined ? { eventBatchMaxAgeMs: e.EVENT_BATCH_MAX_AGE_MS } : {}),
      ...(e.EVENT_QUEUE_LIMIT !== undefined ? { eventQueueLimitPerTenant: e.EVENT_QUEUE_LIMIT } : {}),
      ...(e.EVENT_QUEUE_LIMIT_TOTAL !== undefined ? { eventQueueLimitTotal: e.EVENT_QUEUE_LIMIT_TOTAL } : {}),
      ...(e.EVENT_MAX_ATTEMPTS !== undefined ? { eventMaxAttempts: e.EVENT_MAX_ATTEMPTS } : {}),
      ...(e.EVENT_RETRY_BASE_MS !== undefined ? { eventRetryBaseMs: e.EVENT_RETRY_BASE_MS } : {}),
      ...(e.KMS_MAX_ATTEMPTS !== undefined ? { kmsMaxAttempts: e.KMS_MAX_ATTEMPTS } : {}),
      ...(e.IDLE_GC_SECONDS !== undefined ? { idleGcSeconds: e.IDLE_GC_SECONDS } : {}),
      ...tuning,
    },
  };
}

/**
 * Reads a `.env` file (KEY=VALUE lines, `#` comments, optional single or double quotes). Values in the process
 * environment win, so a deployment can override one variable without editing the file.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    let value = match[2] ?? '';
    if ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'"))) {
      value = value.slice(1, -1);
    }
    result[match[1]!] = value;
  }
  return result;
}
