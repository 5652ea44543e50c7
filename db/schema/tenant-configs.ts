import { sql } from 'drizzle-orm';
import { boolean, index, integer, pgTable, primaryKey, serial, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from './auth';
import { organizations, tenants } from './organizations';

export const kmsProviders = ['aws', 'gcp', 'azure'] as const;
export type KmsProvider = (typeof kmsProviders)[number];
export const kmsConfigStatuses = ['primary', 'active', 'disabled'] as const;
export type KmsConfigStatus = (typeof kmsConfigStatuses)[number];
export const loggingProviders = ['splunk', 'gcp-logging', 'webhook'] as const;
export type LoggingProvider = (typeof loggingProviders)[number];
export const loggingConfigStatuses = ['active', 'disabled'] as const;
export type LoggingConfigStatus = (typeof loggingConfigStatuses)[number];
export const tenantConfigKinds = ['kms', 'logging'] as const;
export type TenantConfigKind = (typeof tenantConfigKinds)[number];

/**
 * A tenant's KMS config: cleartext metadata only. The key path and credentials exist only as sealed copies
 * (sealed_config_copies). `id` is a serial int4 (always a positive int32) because proxies put it in every EDEK.
 * Owned by the tenant organization (`org_id`); `vendor_org_id`/`tenant_id` tie it to the vendor's tenant row.
 */
export const kmsConfigs = pgTable(
  'kms_configs',
  {
    id: serial('id').primaryKey(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    vendorOrgId: uuid('vendor_org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    provider: text('provider', { enum: kmsProviders }).notNull(),
    label: text('label').notNull(),
    status: text('status', { enum: kmsConfigStatuses }).notNull(),
    leasingAllowed: boolean('leasing_allowed').notNull().default(true),
    version: integer('version').notNull().default(1),
    fingerprint: text('fingerprint').notNull(),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { mode: 'date', withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { mode: 'date', withTimezone: true }).notNull().defaultNow(),
  },
  (row) => [
    index('kms_configs_org_idx').on(row.orgId),
    index('kms_configs_vendor_idx').on(row.vendorOrgId),
    // Exactly one config wraps new keys (DESIGN §3); the database enforces "at most one".
    uniqueIndex('kms_configs_one_primary_idx').on(row.orgId).where(sql`${row.status} = 'primary'`),
  ],
);

/** A tenant's logging config; one active per tenant. */
export const loggingConfigs = pgTable(
  'logging_configs',
  {
    id: serial('id').primaryKey(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    vendorOrgId: uuid('vendor_org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    provider: text('provider', { enum: loggingProviders }).notNull(),
    label: text('label').notNull(),
    status: text('status', { enum: loggingConfigStatuses }).notNull(),
    version: integer('version').notNull().default(1),
    fingerprint: text('fingerprint').notNull(),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { mode: 'date', withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { mode: 'date', withTimezone: true }).notNull().defaultNow(),
  },
  (row) => [
    index('logging_configs_org_idx').on(row.orgId),
    index('logging_configs_vendor_idx').on(row.vendorOrgId),
    uniqueIndex('logging_configs_one_active_idx').on(row.orgId).where(sql`${row.status} = 'active'`),
  ],
);

/**
 * One sealed copy of a tenant config for one recipient (a proxy configuration's key or the vendor key), for the
 * config's current version. Sealed in a browser; the broker cannot open any of them.
 */
export const sealedConfigCopies = pgTable(
  'sealed_config_copies',
  {
    kind: text('kind', { enum: tenantConfigKinds }).notNull(),
    configId: integer('config_id').notNull(),
    recipientKeyId: text('recipient_key_id').notNull(),
    configVersion: integer('config_version').notNull(),
    vendorOrgId: uuid('vendor_org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    blob: text('blob').notNull(),
  },
  (row) => [
    primaryKey({ columns: [row.kind, row.configId, row.recipientKeyId] }),
    index('sealed_config_copies_recipient_idx').on(row.recipientKeyId),
  ],
);

/**
 * A config id handed to a tenant admin's browser before it seals (the id is part of every seal context), used once
 * by the submission that creates the config.
 */
export const configIdReservations = pgTable(
  'config_id_reservations',
  {
    kind: text('kind', { enum: tenantConfigKinds }).notNull(),
    id: integer('id').notNull(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { mode: 'date', withTimezone: true }).notNull().defaultNow(),
  },
  (row) => [primaryKey({ columns: [row.kind, row.id] })],
);
