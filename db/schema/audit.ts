import { bigserial, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { organizations, tenants } from './organizations';

export const actorTypes = ['user', 'proxy', 'system'] as const;
export type ActorType = (typeof actorTypes)[number];

/**
 * Append-only, one hash chain per organization: `hash` = SHA-256 over the canonical entry including `prev_hash`
 * (lib/server/audit.ts), `seq` numbers the chain so a removed entry shows as a gap as well as a broken link.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    occurredAt: timestamp('occurred_at', { mode: 'date', withTimezone: true }).notNull(),
    actorType: text('actor_type', { enum: actorTypes }).notNull(),
    actorId: text('actor_id'),
    actorLabel: text('actor_label'),
    action: text('action').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    // Set when a vendor's entry concerns one of its tenants: that tenant's organization sees the entry too.
    tenantId: uuid('tenant_id').references(() => tenants.id, { onDelete: 'set null' }),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    ip: text('ip'),
    userAgent: text('user_agent'),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (row) => [
    uniqueIndex('audit_events_org_seq_idx').on(row.orgId, row.seq),
    index('audit_events_tenant_idx').on(row.tenantId),
  ],
);
