import { z } from 'zod';

/**
 * Rules for the plaintext of sealed tenant configs (docs/contracts.md §4) and for the broker's cleartext metadata.
 * The plaintext schemas run only in the browser, before sealing (the broker never sees those fields); the metadata
 * schemas run on both sides. Client-safe: zod only.
 */

const optionalText = (schema: z.ZodType<string, string>) =>
  z
    .string()
    .trim()
    .optional()
    .transform((value) => (value ? value : undefined))
    .pipe(schema.optional());

const httpUrl = (message: string) =>
  z
    .string()
    .trim()
    .min(1, message)
    .max(2048, 'At most 2048 characters')
    .refine((value) => {
      try {
        const url = new URL(value);
        return (url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password && url.hostname !== '';
      } catch {
        return false;
      }
    }, message);

const httpsUrl = (message: string) =>
  httpUrl(message).refine((value) => value.startsWith('https://') || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/.test(value), 'Use https:// (http:// only for a local endpoint)');

export const awsRegionSchema = z
  .string()
  .trim()
  .regex(/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/, 'An AWS region such as us-east-1');
export const awsKeyArnSchema = z
  .string()
  .trim()
  .regex(
    /^arn:aws(-cn|-us-gov|-iso|-iso-b)?:kms:[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d:\d{12}:(key\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|key\/mrk-[0-9a-f]{32}|alias\/[A-Za-z0-9/_-]{1,250})$/,
    'A KMS key ARN: arn:aws:kms:<region>:<12-digit account>:key/<key id>',
  );
export const awsRoleArnSchema = z
  .string()
  .trim()
  .regex(/^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'An IAM role ARN: arn:aws:iam::<12-digit account>:role/<name>');
const awsAccessKeyIdSchema = z.string().regex(/^(AKIA|ASIA)[A-Z0-9]{16}$/, 'An access key id: AKIA followed by 16 letters or digits');
const awsSecretSchema = z.string().min(16, 'At least 16 characters').max(128, 'At most 128 characters');
const externalIdSchema = z.string().regex(/^[\w+=,.@:/-]{2,1224}$/, '2–1224 characters: letters, digits and +=,.@:/-');

export const awsKmsConfigSchema = z
  .object({
    provider: z.literal('aws'),
    keyArn: awsKeyArnSchema,
    region: awsRegionSchema,
    roleArn: optionalText(awsRoleArnSchema),
    externalId: optionalText(externalIdSchema),
    accessKeyId: optionalText(awsAccessKeyIdSchema),
    secretAccessKey: optionalText(awsSecretSchema),
    endpoint: optionalText(httpUrl('An http(s) URL')),
  })
  .superRefine((config, ctx) => {
    const arnRegion = config.keyArn.split(':')[3];
    if (arnRegion && arnRegion !== config.region) ctx.addIssue({ code: 'custom', path: ['region'], message: `The key ARN is in ${arnRegion}` });
    if (Boolean(config.accessKeyId) !== Boolean(config.secretAccessKey)) {
      ctx.addIssue({ code: 'custom', path: [config.accessKeyId ? 'secretAccessKey' : 'accessKeyId'], message: 'Enter both the access key id and the secret, or neither' });
    }
    if (config.externalId && !config.roleArn) ctx.addIssue({ code: 'custom', path: ['externalId'], message: 'An external id needs a role ARN' });
  });

const gcpIdPart = (what: string) => z.string().trim().regex(/^[a-zA-Z0-9_-]{1,63}$/, `${what}: 1–63 letters, digits, - or _`);

export const gcpServiceAccountKeySchema = z
  .object({
    type: z.literal('service_account').optional(),
    client_email: z.string().regex(/^[^@\s]+@[^@\s]+\.(iam\.)?gserviceaccount\.com$|^[^@\s]+@[^@\s]+$/, 'client_email must be an e-mail address'),
    private_key: z.string().includes('PRIVATE KEY', { message: 'private_key must be a PEM private key' }),
  })
  .passthrough();

/** The text of a service-account key file -> its parsed JSON, with a plain-words error for each way it can be wrong. */
export const serviceAccountKeyTextSchema = z
  .string()
  .trim()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'Paste the whole key file: it is not valid JSON' });
      return z.NEVER;
    }
  })
  .pipe(gcpServiceAccountKeySchema);

export const gcpKmsConfigSchema = z.object({
  provider: z.literal('gcp'),
  project: z.string().trim().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'A project id: 6–30 lower-case letters, digits or -'),
  location: z.string().trim().regex(/^[a-z0-9-]{1,63}$/, 'A location such as global or europe-west1'),
  keyRing: gcpIdPart('Key ring'),
  key: gcpIdPart('Key'),
  serviceAccountKey: gcpServiceAccountKeySchema.optional(),
  endpoint: optionalText(httpUrl('An http(s) URL')),
});

const uuidish = (what: string) =>
  z
    .string()
    .trim()
    .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, `${what}: a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`);

export const azureKmsConfigSchema = z
  .object({
    provider: z.literal('azure'),
    vaultUrl: httpsUrl('A vault URL such as https://my-vault.vault.azure.net'),
    keyName: z.string().trim().regex(/^[a-zA-Z0-9-]{1,127}$/, 'A key name: 1–127 letters, digits or -'),
    tenantId: uuidish('Entra tenant id'),
    clientId: optionalText(uuidish('Client id')),
    clientSecret: optionalText(z.string().min(8, 'At least 8 characters').max(1024)),
    authorityHost: optionalText(httpsUrl('An https URL')),
  })
  .superRefine((config, ctx) => {
    if (config.clientSecret && !config.clientId) ctx.addIssue({ code: 'custom', path: ['clientId'], message: 'A client secret needs its client id' });
  });

export const kmsConfigPayloadSchema = z.discriminatedUnion('provider', [awsKmsConfigSchema, gcpKmsConfigSchema, azureKmsConfigSchema]);
export type KmsConfigPayload = z.infer<typeof kmsConfigPayloadSchema>;

export const splunkLoggingSchema = z.object({
  provider: z.literal('splunk'),
  url: httpsUrl('The HEC URL, e.g. https://splunk.example.com:8088'),
  token: z.string().trim().min(8, 'The HEC token (at least 8 characters)').max(256),
  index: optionalText(z.string().regex(/^[a-z0-9_][a-z0-9_-]{0,79}$/, 'Lower-case letters, digits, _ and -')),
  sourcetype: optionalText(z.string().max(100, 'At most 100 characters')),
});
export const gcpLoggingSchema = z.object({
  provider: z.literal('gcp-logging'),
  project: z.string().trim().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'A project id: 6–30 lower-case letters, digits or -'),
  logName: z.string().trim().regex(/^[A-Za-z0-9_.\/-]{1,512}$/, 'A log name: letters, digits, _ . / -'),
  serviceAccountKey: gcpServiceAccountKeySchema,
  endpoint: optionalText(httpUrl('An http(s) URL')),
});
export const webhookLoggingSchema = z.object({
  provider: z.literal('webhook'),
  url: httpsUrl('An https URL'),
  hmacSecret: z.string().min(16, 'At least 16 characters').max(512),
});
export const loggingConfigPayloadSchema = z.discriminatedUnion('provider', [splunkLoggingSchema, gcpLoggingSchema, webhookLoggingSchema]);
export type LoggingConfigPayload = z.infer<typeof loggingConfigPayloadSchema>;

/** The part of a KMS config that names the key: it cannot change for a config (credentials can). */
export function kmsKeyPath(config: KmsConfigPayload): string {
  switch (config.provider) {
    case 'aws':
      return `aws:${config.keyArn}`;
    case 'gcp':
      return `gcp:projects/${config.project}/locations/${config.location}/keyRings/${config.keyRing}/cryptoKeys/${config.key}`;
    case 'azure':
      return `azure:${config.vaultUrl.replace(/\/+$/, '')}/keys/${config.keyName}`;
  }
}

export function loggingDestination(config: LoggingConfigPayload): string {
  return config.provider === 'gcp-logging' ? `gcp-logging:${config.project}/${config.logName}` : `${config.provider}:${config.url}`;
}

// ---- cleartext metadata (server and browser) ----

export const labelSchema = z
  .string({ error: 'Enter a label' })
  .trim()
  .min(1, 'Enter a label')
  .max(100, 'At most 100 characters')
  .refine((value) => !/[\p{Cc}]/u.test(value), 'Only printable characters');

export const cloudIdentitySchema = z.discriminatedUnion('provider', [
  z.object({ provider: z.literal('aws'), identity: awsRoleArnSchema, label: z.string().trim().max(100).optional().default('') }),
  z.object({
    provider: z.literal('gcp'),
    identity: z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^[a-z0-9][a-z0-9._-]{0,99}@[a-z0-9][a-z0-9.-]{0,99}\.gserviceaccount\.com$/, 'A service-account e-mail ending in .gserviceaccount.com'),
    label: z.string().trim().max(100).optional().default(''),
  }),
  z.object({ provider: z.literal('azure'), identity: uuidish('Application (client) id'), label: z.string().trim().max(100).optional().default('') }),
]);
