import 'server-only';
import { desc } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { outboxMessages } from '@/db/schema';
import { getEnv } from '@/lib/env';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** The one action link in the message (shown as a button in the outbox). */
  link?: string;
}

type Transport = { sendMail(message: Record<string, unknown>): Promise<{ rejected?: unknown[]; pending?: unknown[] }> };
let transport: Transport | undefined;

/**
 * SMTP when SMTP_URL is set; otherwise (development and OPENCMK_DEMO only — lib/env.ts refuses it in production)
 * the message goes to the /dev/outbox page and the server log.
 */
export async function sendMail(db: Db, message: MailMessage): Promise<void> {
  const env = getEnv();
  if (env.mailMode === 'smtp') {
    if (!transport) {
      const nodemailer = await import('nodemailer');
      transport = nodemailer.createTransport(env.SMTP_URL!) as unknown as Transport;
    }
    const result = await transport.sendMail({ from: env.SMTP_FROM, to: message.to, subject: message.subject, text: message.text });
    const failed = [...(result.rejected ?? []), ...(result.pending ?? [])];
    if (failed.length) throw new Error(`e-mail to ${message.to} was not accepted by the SMTP server`);
    return;
  }
  await db.insert(outboxMessages).values(message);
  // The outbox exists precisely so a developer can follow the link without SMTP; it is the log line they look for.
  if (env.NODE_ENV !== 'test') console.info(`[outbox] to=${message.to} subject=${JSON.stringify(message.subject)}${message.link ? ` link=${message.link}` : ''}`);
}

export async function listOutbox(db: Db, limit = 50) {
  return db.select().from(outboxMessages).orderBy(desc(outboxMessages.createdAt)).limit(limit);
}
