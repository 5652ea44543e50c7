import { sql } from 'drizzle-orm';
import { check, index, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid, type AnyPgColumn } from 'drizzle-orm/pg-core';
import { users } from './auth';

/**
 * Every organization-owned table carries `org_id` (the owning organization) so lib/server/org-scope.ts can scope
 * each query to the caller's organization; tables added later (proxy configurations, KMS configs, …) follow suit.
 */
export const organizations = pgTable(
  'organizations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: text('kind', { enum: ['vendor', 'tenant'] }).notNull(),
    name: text('name').notNull(),
    // A tenant organization belongs to exactly one vendor (the same company as a tenant of two vendors has two).
    vendorOrgId: uuid('vendor_org_id').references((): AnyPgColumn => organizations.id, { onDelete: 'restrict' }),
    createdAt: timestamp('created_at', { mode: 'date', withTimezone: true }).notNull().defaultNow(),
  },
  (org) => [
    check(
      'organizations_vendor_link',
      sql`(${org.kind} = 'vendor' and ${org.vendorOrgId} is null) or (${org.kind} = 'tenant' and ${org.vendorOrgId} is not null)`,
    ),
  ],
);

export const memberships = pgTable(
  'memberships',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    // Admins are equals (DESIGN §3); the column leaves room for read-only roles later.
    role: text('role', { enum: ['admin'] })
      .notNull()
      .default('admin'),
    createdAt: timestamp('created_at', { mode: 'date', withTimezone: true }).notNull().defaultNow(),
  },
  (row) => [primaryKey({ columns: [row.orgId, row.userId] }), index('memberships_user_idx').on(row.userId)],
);

export const tenantStatuses = ['invited', 'revoked', 'active', 'archived'] as const;
export type TenantStatus = (typeof tenantStatuses)[number];

/** A vendor's tenant: owned by the vendor organization (`org_id`), linked to its tenant organization once accepted. */
export const tenants = pgTable(
  'tenants',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    // The id the vendor's application passes in every client call.
    vendorTenantId: text('vendor_tenant_id').notNull(),
    displayName: text('display_name').notNull(),
    adminEmail: text('admin_email').notNull(),
    status: text('status', { enum: tenantStatuses }).notNull().default('invited'),
    tenantOrgId: uuid('tenant_org_id').references(() => organizations.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { mode: 'date', withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { mode: 'date', withTimezone: true }).notNull().defaultNow(),
  },
  (row) => [
    uniqueIndex('tenants_vendor_tenant_id_idx').on(row.orgId, row.vendorTenantId),
    uniqueIndex('tenants_tenant_org_idx').on(row.tenantOrgId),
  ],
);

export const invitationKinds = ['org_admin', 'tenant'] as const;

/**
 * An e-mailed, single-use, expiring invitation. `org_id` is the inviting organization (the vendor for a tenant
 * invitation); only SHA-256 of the token is stored.
 */
export const invitations = pgTable(
  'invitations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: invitationKinds }).notNull(),
    tenantId: uuid('tenant_id').references(() => tenants.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    expiresAt: timestamp('expires_at', { mode: 'date', withTimezone: true }).notNull(),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { mode: 'date', withTimezone: true }).notNull().defaultNow(),
    acceptedAt: timestamp('accepted_at', { mode: 'date', withTimezone: true }),
    acceptedBy: text('accepted_by').references(() => users.id, { onDelete: 'set null' }),
    revokedAt: timestamp('revoked_at', { mode: 'date', withTimezone: true }),
  },
  (row) => [
    index('invitations_org_idx').on(row.orgId),
    index('invitations_tenant_idx').on(row.tenantId),
    check(
      'invitations_tenant_link',
      sql`(${row.kind} = 'tenant') = (${row.tenantId} is not null)`,
    ),
  ],
);
