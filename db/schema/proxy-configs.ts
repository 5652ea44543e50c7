import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from './auth';
import { organizations } from './organizations';

export const proxyConfigStatuses = ['provisioning', 'active', 'revoked'] as const;
export type ProxyConfigStatus = (typeof proxyConfigStatuses)[number];

/**
 * A proxy configuration (one pool of proxy containers). The broker keeps its public key, the SHA-256 of its broker
 * token and its `.env` sealed to the vendor key; revocation clears the token hash and the sealed env at once.
 * `snapshot_version` is bumped by every change that alters this configuration's snapshot (it is the ETag).
 */
export const proxyConfigs = pgTable(
  'proxy_configs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    publicKey: text('public_key').notNull(),
    keyId: text('key_id').notNull().unique(),
    tokenHash: text('token_hash'),
    status: text('status', { enum: proxyConfigStatuses }).notNull().default('provisioning'),
    sealedEnv: text('sealed_env'),
    envVersion: integer('env_version').notNull().default(1),
    // Bumped when copies are sealed to this configuration (provisioning): its own snapshot sections change, nobody
    // else's.
    copiesRev: integer('copies_rev').notNull().default(0),
    snapshotVersion: bigint('snapshot_version', { mode: 'number' }).notNull().default(1),
    lastContactAt: timestamp('last_contact_at', { mode: 'date', withTimezone: true }),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { mode: 'date', withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { mode: 'date', withTimezone: true }),
  },
  (row) => [
    index('proxy_configs_org_idx').on(row.orgId),
    uniqueIndex('proxy_configs_token_hash_idx').on(row.tokenHash).where(sql`${row.tokenHash} is not null`),
  ],
);

/** What each proxy instance last reported (POST /api/proxy/v1/status). */
export const proxyInstances = pgTable(
  'proxy_instances',
  {
    proxyConfigId: uuid('proxy_config_id')
      .notNull()
      .references(() => proxyConfigs.id, { onDelete: 'cascade' }),
    instanceId: text('instance_id').notNull(),
    snapshotVersion: bigint('snapshot_version', { mode: 'number' }).notNull(),
    uptimeSeconds: integer('uptime_seconds').notNull(),
    counters: jsonb('counters').$type<Record<string, unknown>>().notNull().default({}),
    reportedAt: timestamp('reported_at', { mode: 'date', withTimezone: true }).notNull().defaultNow(),
  },
  (row) => [primaryKey({ columns: [row.proxyConfigId, row.instanceId] })],
);

/**
 * Which tenant sections of a proxy configuration's snapshot were last recorded in the tenant's audit log, by digest:
 * each changed tenant section is recorded once, not once per fetch.
 */
export const snapshotFetchRecords = pgTable(
  'snapshot_fetch_records',
  {
    proxyConfigId: uuid('proxy_config_id')
      .notNull()
      .references(() => proxyConfigs.id, { onDelete: 'cascade' }),
    tenantId: uuid('tenant_id').notNull(),
    digest: text('digest').notNull(),
    snapshotVersion: bigint('snapshot_version', { mode: 'number' }).notNull(),
  },
  (row) => [primaryKey({ columns: [row.proxyConfigId, row.tenantId] })],
);

export const cloudProviders = ['aws', 'gcp', 'azure'] as const;
export type CloudProvider = (typeof cloudProviders)[number];

/** The identities the vendor's proxies run as (no secret: an ARN, a service-account e-mail, a client id). */
export const cloudIdentities = pgTable(
  'cloud_identities',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    provider: text('provider', { enum: cloudProviders }).notNull(),
    identity: text('identity').notNull(),
    label: text('label').notNull().default(''),
    createdAt: timestamp('created_at', { mode: 'date', withTimezone: true }).notNull().defaultNow(),
  },
  (row) => [uniqueIndex('cloud_identities_org_identity_idx').on(row.orgId, row.provider, row.identity)],
);

export const vendorSettings = pgTable('vendor_settings', {
  orgId: uuid('org_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  requireLeasing: boolean('require_leasing').notNull().default(false),
  requireLogging: boolean('require_logging').notNull().default(false),
  updatedAt: timestamp('updated_at', { mode: 'date', withTimezone: true }).notNull().defaultNow(),
});

/**
 * A revision per tenant, bumped with every change to what that tenant contributes to snapshots (its configs, their
 * sealed copies). The snapshot builder compares revisions and re-reads only the tenants that changed.
 */
export const tenantSnapshotRevs = pgTable('tenant_snapshot_revs', {
  tenantId: uuid('tenant_id').primaryKey(),
  rev: bigint('rev', { mode: 'number' }).notNull().default(1),
});

/**
 * Each tenant's snapshot section for a proxy configuration as last built, with the tenant revision it was read at,
 * so a broker instance that starts (or another instance) serves it without assembling it again. It holds only what
 * the snapshot holds (metadata and blobs sealed to that configuration), and revocation deletes it with the copies.
 */
export const snapshotSections = pgTable(
  'snapshot_sections',
  {
    proxyConfigId: uuid('proxy_config_id')
      .notNull()
      .references(() => proxyConfigs.id, { onDelete: 'cascade' }),
    tenantId: uuid('tenant_id').notNull(),
    rev: bigint('rev', { mode: 'number' }).notNull(),
    copiesRev: integer('copies_rev').notNull().default(0),
    // null: the tenant has nothing for this configuration at that revision.
    section: text('section'),
  },
  (row) => [primaryKey({ columns: [row.proxyConfigId, row.tenantId] })],
);
