import { z } from 'zod';

/** Sealed logging config payloads (docs/contracts.md §4). */
const serviceAccountKey = z.looseObject({ client_email: z.string().min(1), private_key: z.string().min(1) });

export const loggingConfigSchema = z.discriminatedUnion('provider', [
  z.object({
    provider: z.literal('splunk'),
    url: z.url({ protocol: /^https?$/ }),
    token: z.string().min(1),
    index: z.string().min(1).optional(),
    sourcetype: z.string().min(1).optional(),
  }),
  z.object({
    provider: z.literal('gcp-logging'),
    project: z.string().min(1),
    logName: z.string().min(1),
    serviceAccountKey,
    endpoint: z.url({ protocol: /^https?$/ }).optional(),
  }),
  z.object({ provider: z.literal('webhook'), url: z.url({ protocol: /^https?$/ }), hmacSecret: z.string().min(1) }),
]);

export type LoggingConfig = z.infer<typeof loggingConfigSchema>;
