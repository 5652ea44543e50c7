import { index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { users } from './auth';
import { organizations } from './organizations';

/**
 * A vendor admin's X25519 key pair (DESIGN §2). The private key is stored only as @opencmk/crypto's protected-key
 * blob (argon2id + XChaCha20-Poly1305 under the admin's encryption passphrase, which never leaves the browser).
 */
export const adminKeys = pgTable(
  'admin_keys',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    publicKey: text('public_key').notNull(),
    keyId: text('key_id').notNull(),
    protectedPrivateKey: text('protected_private_key').notNull(),
    createdAt: timestamp('created_at', { mode: 'date', withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { mode: 'date', withTimezone: true }).notNull().defaultNow(),
  },
  (row) => [primaryKey({ columns: [row.orgId, row.userId] })],
);

/** One vendor key per vendor organization: only its public half is stored in the clear. */
export const vendorKeys = pgTable('vendor_keys', {
  orgId: uuid('org_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  publicKey: text('public_key').notNull(),
  keyId: text('key_id').notNull().unique(),
  createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
  createdAt: timestamp('created_at', { mode: 'date', withTimezone: true }).notNull().defaultNow(),
});

/** The vendor private key sealed (purpose 'vendor-key') to one admin's public key, in a granting admin's browser. */
export const vendorKeyGrants = pgTable(
  'vendor_key_grants',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    sealedPrivateKey: text('sealed_private_key').notNull(),
    grantedBy: text('granted_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { mode: 'date', withTimezone: true }).notNull().defaultNow(),
  },
  (row) => [primaryKey({ columns: [row.orgId, row.userId] }), index('vendor_key_grants_user_idx').on(row.userId)],
);
