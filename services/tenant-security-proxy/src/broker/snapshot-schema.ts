import { z } from 'zod';

/** The broker's snapshot (docs/contracts.md §3), validated before anything in it is used. */
const int32Id = z.number().int().positive().max(2147483647);

export const snapshotKmsConfigSchema = z.object({
  id: int32Id,
  provider: z.enum(['aws', 'gcp', 'azure']),
  status: z.enum(['primary', 'active', 'disabled']),
  leasingAllowed: z.boolean(),
  version: z.number().int().nonnegative(),
  sealed: z.string().min(1).nullable(),
});

export const snapshotLoggingConfigSchema = z.object({
  id: int32Id,
  provider: z.enum(['splunk', 'gcp-logging', 'webhook']),
  version: z.number().int().nonnegative(),
  sealed: z.string().min(1),
});

export const snapshotSchema = z.object({
  version: z.number().int().nonnegative(),
  proxyConfigId: z.string(),
  vendorId: z.string(),
  settings: z.object({ requireLeasing: z.boolean(), requireLogging: z.boolean() }).partial().default({}),
  tenants: z.array(
    z.object({
      tenantId: z.string().min(1),
      kmsConfigs: z.array(snapshotKmsConfigSchema),
      loggingConfig: snapshotLoggingConfigSchema.nullable().optional(),
    }),
  ),
  checks: z
    .array(
      z.object({
        id: z.string().min(1),
        kind: z.string(),
        tenantId: z.string(),
        configId: z.number().int().optional(),
      }),
    )
    .default([]),
});

export type Snapshot = z.infer<typeof snapshotSchema>;
export type SnapshotKmsConfig = z.infer<typeof snapshotKmsConfigSchema>;
export type SnapshotLoggingConfig = z.infer<typeof snapshotLoggingConfigSchema>;
export type SnapshotCheck = Snapshot['checks'][number];
