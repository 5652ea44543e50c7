import { z } from 'zod';

/** Sealed KMS config payloads (docs/contracts.md §4), validated after opening. */
const endpoint = z.url({ protocol: /^https?$/ }).optional();

export const awsKmsConfigSchema = z
  .object({
    provider: z.literal('aws'),
    keyArn: z.string().min(1),
    region: z.string().min(1),
    roleArn: z.string().min(1).optional(),
    externalId: z.string().min(1).optional(),
    accessKeyId: z.string().min(1).optional(),
    secretAccessKey: z.string().min(1).optional(),
    sessionToken: z.string().min(1).optional(),
    endpoint,
  })
  .refine((c) => (c.accessKeyId === undefined) === (c.secretAccessKey === undefined), {
    message: 'accessKeyId and secretAccessKey go together',
  });

const serviceAccountKey = z.looseObject({ client_email: z.string().min(1), private_key: z.string().min(1) });

export const gcpKmsConfigSchema = z.object({
  provider: z.literal('gcp'),
  project: z.string().min(1),
  location: z.string().min(1),
  keyRing: z.string().min(1),
  key: z.string().min(1),
  serviceAccountKey: serviceAccountKey.optional(),
  endpoint,
});

export const azureKmsConfigSchema = z
  .object({
    provider: z.literal('azure'),
    vaultUrl: z.url({ protocol: /^https?$/ }),
    keyName: z.string().min(1),
    tenantId: z.string().min(1),
    clientId: z.string().min(1).optional(),
    clientSecret: z.string().min(1).optional(),
    authorityHost: z.url({ protocol: /^https$/ }).optional(),
  })
  .refine((c) => (c.clientId === undefined) === (c.clientSecret === undefined), {
    message: 'clientId and clientSecret go together',
  });

export const kmsConfigSchema = z.union([awsKmsConfigSchema, gcpKmsConfigSchema, azureKmsConfigSchema]);

export type AwsKmsConfig = z.infer<typeof awsKmsConfigSchema>;
export type GcpKmsConfig = z.infer<typeof gcpKmsConfigSchema>;
export type AzureKmsConfig = z.infer<typeof azureKmsConfigSchema>;
export type KmsConfig = z.infer<typeof kmsConfigSchema>;
export type KmsProvider = KmsConfig['provider'];

/** Binds a KMS ciphertext to its tenant and config (AWS EncryptionContext, GCP AAD; Azure RSA wrap has none). */
export interface KmsContext {
  tenantId: string;
  kmsConfigId: number;
}

export interface KmsAdapter {
  readonly provider: KmsProvider;
  wrap(plaintext: Uint8Array, context: KmsContext): Promise<Uint8Array>;
  unwrap(ciphertext: Uint8Array, context: KmsContext): Promise<Uint8Array>;
}

/** Settings shared by every adapter: the deadline, retry bounds and the extra CA for private endpoints. */
export interface KmsCallPolicy {
  timeoutMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  extraCa: string | undefined;
}

/** Observer for metrics; adapters report each SDK attempt's outcome. */
export type KmsCallObserver = (
  provider: KmsProvider,
  operation: 'wrap' | 'unwrap',
  outcome: string,
  seconds: number,
) => void;
