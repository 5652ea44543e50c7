import 'server-only';
import { asc, desc, inArray } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { auditEvents, organizations } from '@/db/schema';
import { auditEntryFields, hashAuditEntry, type AuditInput } from './audit';

/**
 * Appends entries to many organizations' chains in one transaction (a proxy fetching a snapshot concerns thousands of
 * tenants at once). Same chain rules as appendAudit: the organizations are locked (in id order, so two batches
 * cannot deadlock), each entry links to its organization's previous one.
 */
export async function appendAuditBatch(db: Db, inputs: AuditInput[]): Promise<number> {
  if (!inputs.length) return 0;
  const orgIds = [...new Set(inputs.map((input) => input.orgId))].sort();
  return db.transaction(async (tx) => {
    for (let i = 0; i < orgIds.length; i += 5000) {
      await tx.select({ id: organizations.id }).from(organizations).where(inArray(organizations.id, orgIds.slice(i, i + 5000))).orderBy(asc(organizations.id)).for('update');
    }
    const heads = new Map<string, { seq: number; hash: string }>();
    for (let i = 0; i < orgIds.length; i += 5000) {
      const rows = await tx
        .selectDistinctOn([auditEvents.orgId], { orgId: auditEvents.orgId, seq: auditEvents.seq, hash: auditEvents.hash })
        .from(auditEvents)
        .where(inArray(auditEvents.orgId, orgIds.slice(i, i + 5000)))
        .orderBy(auditEvents.orgId, desc(auditEvents.seq));
      for (const row of rows) heads.set(row.orgId, { seq: row.seq, hash: row.hash });
    }
    const occurredAt = new Date();
    const values = inputs.map((input) => {
      const head = heads.get(input.orgId);
      const fields = auditEntryFields(input, head, occurredAt);
      const hash = hashAuditEntry(fields);
      heads.set(input.orgId, { seq: fields.seq, hash });
      return { ...fields, hash };
    });
    for (let i = 0; i < values.length; i += 1000) await tx.insert(auditEvents).values(values.slice(i, i + 1000));
    return values.length;
  });
}
