import { integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** Fixed-window counters shared by every broker instance (sign-in e-mails, invitation acceptance). */
export const rateLimits = pgTable('rate_limits', {
  key: text('key').primaryKey(),
  windowStart: timestamp('window_start', { mode: 'date', withTimezone: true }).notNull(),
  count: integer('count').notNull(),
});

/** Development/demo outbox: e-mails that would have gone over SMTP (never used when SMTP_URL is set). */
export const outboxMessages = pgTable('outbox_messages', {
  id: uuid('id').primaryKey().defaultRandom(),
  to: text('to').notNull(),
  subject: text('subject').notNull(),
  text: text('text').notNull(),
  link: text('link'),
  createdAt: timestamp('created_at', { mode: 'date', withTimezone: true }).notNull().defaultNow(),
});
