import { boolean, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { users } from './auth';
import { organizations } from './organizations';
import { proxyConfigs } from './proxy-configs';
import { tenantConfigKinds } from './tenant-configs';

export const checkStatuses = ['queued', 'succeeded', 'failed'] as const;
export type CheckStatus = (typeof checkStatuses)[number];

/** A "test" request for one tenant config: listed in snapshots until a proxy posts its result. */
export const configChecks = pgTable(
  'config_checks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    vendorOrgId: uuid('vendor_org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    tenantId: uuid('tenant_id').notNull(),
    kind: text('kind', { enum: tenantConfigKinds }).notNull(),
    configId: integer('config_id').notNull(),
    status: text('status', { enum: checkStatuses }).notNull().default('queued'),
    requestedBy: text('requested_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { mode: 'date', withTimezone: true }).notNull().defaultNow(),
    completedAt: timestamp('completed_at', { mode: 'date', withTimezone: true }),
    ok: boolean('ok'),
    latencyMs: integer('latency_ms'),
    errorCode: integer('error_code'),
    errorMessage: text('error_message'),
    answeredBy: uuid('answered_by').references(() => proxyConfigs.id, { onDelete: 'set null' }),
  },
  (row) => [index('config_checks_vendor_status_idx').on(row.vendorOrgId, row.status), index('config_checks_config_idx').on(row.kind, row.configId)],
);
