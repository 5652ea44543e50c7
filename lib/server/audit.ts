import 'server-only';
import { and, asc, desc, eq, gte, ilike, inArray, lt, lte, or, type SQL } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { auditEvents, organizations, tenants } from '@/db/schema';
import type { AuditFilter } from '@/lib/validation';
import { notFound } from '@/lib/errors';
import type { Actor, RequestMeta, ScopedContext } from './context';
import { sha256Hex } from './tokens';

export const GENESIS_HASH = '0'.repeat(64);
const HASH_VERSION = 1;

export interface AuditInput {
  orgId: string;
  actor: Actor;
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  /** The vendor's tenant row this entry concerns: that tenant's organization sees it too. */
  tenantId?: string | null;
  details?: Record<string, unknown>;
  meta: RequestMeta;
}

export type AuditEvent = typeof auditEvents.$inferSelect;

/** JSON with object keys sorted at every depth: jsonb reorders keys, the hash must not depend on that. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

type HashedFields = Pick<
  AuditEvent,
  | 'orgId'
  | 'seq'
  | 'occurredAt'
  | 'actorType'
  | 'actorId'
  | 'actorLabel'
  | 'action'
  | 'targetType'
  | 'targetId'
  | 'tenantId'
  | 'details'
  | 'ip'
  | 'userAgent'
  | 'prevHash'
>;

/** SHA-256 over every recorded field and the previous entry's hash: altering or removing any entry breaks a link. */
export function hashAuditEntry(entry: HashedFields): string {
  return sha256Hex(
    canonicalJson([
      HASH_VERSION,
      entry.orgId,
      entry.seq,
      entry.occurredAt.toISOString(),
      entry.actorType,
      entry.actorId,
      entry.actorLabel,
      entry.action,
      entry.targetType,
      entry.targetId,
      entry.tenantId,
      entry.details,
      entry.ip,
      entry.userAgent,
      entry.prevHash,
    ]),
  );
}

/**
 * The hashed fields of the next entry in an organization's chain, after `head` (its last entry, if any). The one
 * place that decides what an entry stores, for single appends and batches alike, so their hashes cannot drift apart.
 */
export function auditEntryFields(
  input: AuditInput,
  head: { seq: number; hash: string } | undefined,
  occurredAt: Date,
): HashedFields {
  return {
    orgId: input.orgId,
    seq: (head?.seq ?? 0) + 1,
    occurredAt,
    actorType: input.actor.type,
    actorId: input.actor.id,
    actorLabel: input.actor.label,
    action: input.action,
    targetType: input.targetType ?? null,
    targetId: input.targetId ?? null,
    tenantId: input.tenantId ?? null,
    details: JSON.parse(canonicalJson(input.details ?? {})) as Record<string, unknown>,
    ip: input.meta.ip?.slice(0, 100) ?? null,
    userAgent: input.meta.userAgent?.slice(0, 500) ?? null,
    prevHash: head?.hash ?? GENESIS_HASH,
  };
}

/**
 * Appends one entry to an organization's chain. The organization row is locked for the transaction so concurrent
 * appends (other requests, other broker instances) line up one after another.
 */
export async function appendAudit(db: Db, input: AuditInput): Promise<AuditEvent> {
  return db.transaction(async (tx) => {
    const locked = await tx
      .select({ id: organizations.id })
      .from(organizations)
      .where(eq(organizations.id, input.orgId))
      .for('update');
    if (locked.length === 0) throw notFound('Organization not found');
    const [last] = await tx
      .select({ seq: auditEvents.seq, hash: auditEvents.hash })
      .from(auditEvents)
      .where(eq(auditEvents.orgId, input.orgId))
      .orderBy(desc(auditEvents.seq))
      .limit(1);
    // Millisecond precision survives the round trip through timestamptz exactly, so verification sees this value.
    const occurredAt = new Date();
    const fields = auditEntryFields(input, last, occurredAt);
    const [row] = await tx
      .insert(auditEvents)
      .values({ ...fields, hash: hashAuditEntry(fields) })
      .returning();
    return row!;
  });
}

export interface ChainVerification {
  ok: boolean;
  entries: number;
  firstBroken: { seq: number; reason: string } | null;
}

/** Recomputes an organization's chain from the first entry and reports the first broken link. */
export async function verifyAuditChain(db: Db, orgId: string): Promise<ChainVerification> {
  const rows = await db.select().from(auditEvents).where(eq(auditEvents.orgId, orgId)).orderBy(asc(auditEvents.seq));
  let expectedPrev = GENESIS_HASH;
  let expectedSeq = 1;
  for (const row of rows) {
    const broken = (reason: string): ChainVerification => ({
      ok: false,
      entries: rows.length,
      firstBroken: { seq: row.seq, reason },
    });
    if (row.seq !== expectedSeq) return broken(`entry ${expectedSeq} is missing`);
    if (row.prevHash !== expectedPrev) return broken('previous-hash link does not match the preceding entry');
    if (hashAuditEntry(row) !== row.hash) return broken('entry content does not match its hash');
    expectedPrev = row.hash;
    expectedSeq += 1;
  }
  return { ok: true, entries: rows.length, firstBroken: null };
}

export interface AuditRow extends AuditEvent {
  /** Which organization's chain the entry belongs to (a tenant also sees its vendor's entries about it). */
  orgName: string;
}

/**
 * The caller's organization's log, filtered; for a tenant organization also the vendor's entries that concern it.
 * Ordered newest first; `before` pages by event id.
 */
export async function listAuditEvents(ctx: ScopedContext, filter: AuditFilter): Promise<AuditRow[]> {
  const { db, scope } = ctx;
  const visibility: SQL[] = [eq(auditEvents.orgId, scope.orgId)];
  if (scope.orgKind === 'tenant' && scope.vendorOrgId) {
    const ownTenantRows = db
      .select({ id: tenants.id })
      .from(tenants)
      .where(and(eq(tenants.orgId, scope.vendorOrgId), eq(tenants.tenantOrgId, scope.orgId)));
    visibility.push(and(eq(auditEvents.orgId, scope.vendorOrgId), inArray(auditEvents.tenantId, ownTenantRows))!);
  }
  const conditions: SQL[] = [or(...visibility)!];
  if (filter.action) conditions.push(ilike(auditEvents.action, `${escapeLike(filter.action)}%`));
  if (filter.actor) conditions.push(ilike(auditEvents.actorLabel, `%${escapeLike(filter.actor)}%`));
  if (filter.from) conditions.push(gte(auditEvents.occurredAt, filter.from));
  if (filter.to) conditions.push(lte(auditEvents.occurredAt, filter.to));
  if (filter.before) conditions.push(lt(auditEvents.id, filter.before));
  const rows = await db
    .select({ event: auditEvents, orgName: organizations.name })
    .from(auditEvents)
    .innerJoin(organizations, eq(organizations.id, auditEvents.orgId))
    .where(and(...conditions))
    .orderBy(desc(auditEvents.id))
    .limit(filter.limit);
  return rows.map((row) => ({ ...row.event, orgName: row.orgName }));
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export const auditExportColumns = [
  'id',
  'organization',
  'seq',
  'occurredAt',
  'actorType',
  'actorId',
  'actorLabel',
  'action',
  'targetType',
  'targetId',
  'tenantId',
  'ip',
  'userAgent',
  'details',
  'prevHash',
  'hash',
] as const;

function exportRecord(row: AuditRow): Record<(typeof auditExportColumns)[number], unknown> {
  return {
    id: row.id,
    organization: row.orgName,
    seq: row.seq,
    occurredAt: row.occurredAt.toISOString(),
    actorType: row.actorType,
    actorId: row.actorId,
    actorLabel: row.actorLabel,
    action: row.action,
    targetType: row.targetType,
    targetId: row.targetId,
    tenantId: row.tenantId,
    ip: row.ip,
    userAgent: row.userAgent,
    details: row.details,
    prevHash: row.prevHash,
    hash: row.hash,
  };
}

export function toJsonLines(rows: AuditRow[]): string {
  return rows.map((row) => JSON.stringify(exportRecord(row))).join('\n') + (rows.length ? '\n' : '');
}

/** RFC 4180 CSV; cells starting with = + - @ are prefixed with ' so spreadsheets do not evaluate them. */
export function toCsv(rows: AuditRow[]): string {
  const cell = (value: unknown): string => {
    let text = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const lines = [auditExportColumns.join(',')];
  for (const row of rows) {
    const record = exportRecord(row);
    lines.push(auditExportColumns.map((column) => cell(record[column])).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

/** Used by sign-in events: every organization the user administers records the sign-in. */
export async function appendAuditToOrgs(
  db: Db,
  orgIds: string[],
  input: Omit<AuditInput, 'orgId'>,
): Promise<void> {
  for (const orgId of orgIds) await appendAudit(db, { ...input, orgId });
}
