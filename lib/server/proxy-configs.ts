import 'server-only';
import { and, asc, eq, gt, inArray, ne, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import {
  kmsConfigs,
  loggingConfigs,
  proxyConfigs,
  proxyInstances,
  sealedConfigCopies,
  snapshotSections,
  tenants,
  vendorKeys,
  type TenantConfigKind,
} from '@/db/schema';
import { BrokerError, notFound } from '@/lib/errors';
import { displayNameSchema, uuidSchema } from '@/lib/validation';
import type { Db } from '@/db/client';
import { appendAudit } from './audit';
import { requireVendor } from './broker-keys';
import { actorOf, type ScopedContext } from './context';
import { keyIdOfPublicKey, parseInput, publicKeySchema, requireBlobFor, sealedBlobSchema, sha256HexSchema } from './sealed-input';
import { notifyProxyChanged } from './snapshot-versions';

export type ProxyConfig = typeof proxyConfigs.$inferSelect;

/** How recently an instance must have reported to count as "reporting". */
export const INSTANCE_FRESH_MS = 10 * 60_000;

export interface ProxyConfigSummary {
  id: string;
  name: string;
  status: ProxyConfig['status'];
  keyId: string;
  publicKey: string;
  snapshotVersion: number;
  envVersion: number;
  lastContactAt: Date | null;
  createdAt: Date;
  revokedAt: Date | null;
  instances: { instanceId: string; snapshotVersion: number; uptimeSeconds: number; reportedAt: Date }[];
}

export async function listProxyConfigs(ctx: ScopedContext): Promise<ProxyConfigSummary[]> {
  requireVendor(ctx);
  const rows = await ctx.db.select().from(proxyConfigs).where(eq(proxyConfigs.orgId, ctx.scope.orgId)).orderBy(asc(proxyConfigs.createdAt));
  const ids = rows.map((row) => row.id);
  const instances = ids.length
    ? await ctx.db
        .select()
        .from(proxyInstances)
        .where(and(inArray(proxyInstances.proxyConfigId, ids), gt(proxyInstances.reportedAt, new Date(Date.now() - INSTANCE_FRESH_MS))))
        .orderBy(asc(proxyInstances.instanceId))
    : [];
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    status: row.status,
    keyId: row.keyId,
    publicKey: row.publicKey,
    snapshotVersion: row.snapshotVersion,
    envVersion: row.envVersion,
    lastContactAt: row.lastContactAt,
    createdAt: row.createdAt,
    revokedAt: row.revokedAt,
    instances: instances
      .filter((instance) => instance.proxyConfigId === row.id)
      .map(({ instanceId, snapshotVersion, uptimeSeconds, reportedAt }) => ({ instanceId, snapshotVersion, uptimeSeconds, reportedAt })),
  }));
}

async function ownProxyConfig(db: Db, ctx: ScopedContext, id: string, lock = false): Promise<ProxyConfig> {
  if (!uuidSchema.safeParse(id).success) throw notFound('Proxy configuration not found');
  const query = db
    .select()
    .from(proxyConfigs)
    .where(and(eq(proxyConfigs.id, id), eq(proxyConfigs.orgId, ctx.scope.orgId)));
  const [row] = lock ? await query.for('update') : await query;
  if (!row) throw notFound('Proxy configuration not found');
  return row;
}

export async function getProxyConfig(ctx: ScopedContext, id: string): Promise<ProxyConfig & { sealedEnv: string | null }> {
  requireVendor(ctx);
  return ownProxyConfig(ctx.db, ctx, id);
}

/** Locks the vendor key row: tenant config submissions and proxy configuration changes of one vendor line up. */
export async function lockVendorKey(db: Db, vendorOrgId: string): Promise<{ keyId: string; publicKey: string } | null> {
  const [row] = await db
    .select({ keyId: vendorKeys.keyId, publicKey: vendorKeys.publicKey })
    .from(vendorKeys)
    .where(eq(vendorKeys.orgId, vendorOrgId))
    .for('update');
  return row ?? null;
}

const createProxyConfigSchema = z.object({
  name: displayNameSchema,
  publicKey: publicKeySchema,
  tokenHash: sha256HexSchema,
  sealedEnv: sealedBlobSchema,
});

/**
 * The browser generated the key pair, the broker token and the API key; the broker gets the public key, SHA-256 of
 * the token and the `.env` sealed to the vendor key (purpose 'proxy-env', subjectId = the configuration id — so the
 * id is chosen by the browser too, as a random UUID).
 */
export async function createProxyConfig(ctx: ScopedContext, raw: unknown): Promise<ProxyConfig> {
  requireVendor(ctx);
  const input = parseInput(createProxyConfigSchema.extend({ id: uuidSchema }), raw);
  const keyId = keyIdOfPublicKey(input.publicKey);
  const { scope, meta } = ctx;
  return ctx.db.transaction(async (tx) => {
    const vendorKey = await lockVendorKey(tx, scope.orgId);
    if (!vendorKey) throw new BrokerError('CONFLICT', 'Create the vendor key first');
    requireBlobFor(input.sealedEnv, vendorKey.keyId, 'sealedEnv');
    const clash = await tx
      .select({ id: proxyConfigs.id })
      .from(proxyConfigs)
      .where(or(eq(proxyConfigs.id, input.id), eq(proxyConfigs.keyId, keyId), eq(proxyConfigs.tokenHash, input.tokenHash)));
    if (clash.length) throw new BrokerError('CONFLICT', 'A proxy configuration with this id, key or token exists: generate a new one');
    const [row] = await tx
      .insert(proxyConfigs)
      .values({
        id: input.id,
        orgId: scope.orgId,
        name: input.name,
        publicKey: input.publicKey,
        keyId,
        tokenHash: input.tokenHash,
        sealedEnv: input.sealedEnv,
        createdBy: scope.user.id,
      })
      .returning();
    await appendAudit(tx, {
      orgId: scope.orgId,
      actor: actorOf(scope.user),
      action: 'proxy_config.created',
      targetType: 'proxy_config',
      targetId: row!.id,
      details: { name: input.name, keyId },
      meta,
    });
    return row!;
  });
}

const rotateEnvSchema = z.object({ sealedEnv: sealedBlobSchema, envVersion: z.number().int().min(2).max(1_000_000), step: z.enum(['add', 'promote']) });

/**
 * API key rotation (contracts §2): the browser opens the sealed `.env`, adds a new key as API_KEY_2 ('add'), later
 * moves it to API_KEY ('promote'), and stores the file sealed again (subjectVersion = envVersion).
 */
export async function updateProxyEnv(ctx: ScopedContext, id: string, raw: unknown): Promise<ProxyConfig> {
  requireVendor(ctx);
  const input = parseInput(rotateEnvSchema, raw);
  const { scope, meta } = ctx;
  return ctx.db.transaction(async (tx) => {
    const current = await ownProxyConfig(tx, ctx, id, true);
    if (current.status === 'revoked') throw new BrokerError('CONFLICT', 'This proxy configuration is revoked');
    if (input.envVersion !== current.envVersion + 1) throw new BrokerError('CONFLICT', 'The configuration changed meanwhile: reload and try again');
    const vendorKey = await lockVendorKey(tx, scope.orgId);
    requireBlobFor(input.sealedEnv, vendorKey!.keyId, 'sealedEnv');
    const [row] = await tx
      .update(proxyConfigs)
      .set({ sealedEnv: input.sealedEnv, envVersion: input.envVersion })
      .where(eq(proxyConfigs.id, current.id))
      .returning();
    await appendAudit(tx, {
      orgId: scope.orgId,
      actor: actorOf(scope.user),
      action: input.step === 'add' ? 'proxy_config.api_key_added' : 'proxy_config.api_key_promoted',
      targetType: 'proxy_config',
      targetId: current.id,
      details: { name: current.name, envVersion: input.envVersion },
      meta,
    });
    return row!;
  });
}

/** Immediate: the token hash, the sealed `.env` and every sealed copy for this configuration's key are deleted. */
export async function revokeProxyConfig(ctx: ScopedContext, id: string): Promise<ProxyConfig> {
  requireVendor(ctx);
  const { scope, meta } = ctx;
  const row = await ctx.db.transaction(async (tx) => {
    const current = await ownProxyConfig(tx, ctx, id, true);
    if (current.status === 'revoked') throw new BrokerError('CONFLICT', 'Already revoked');
    const deleted = await tx.delete(sealedConfigCopies).where(eq(sealedConfigCopies.recipientKeyId, current.keyId)).returning({ configId: sealedConfigCopies.configId });
    // Stored snapshot sections hold copies of the same blobs.
    await tx.delete(snapshotSections).where(eq(snapshotSections.proxyConfigId, current.id));
    const [row] = await tx
      .update(proxyConfigs)
      .set({ status: 'revoked', tokenHash: null, sealedEnv: null, revokedAt: new Date(), snapshotVersion: sql`${proxyConfigs.snapshotVersion} + 1` })
      .where(eq(proxyConfigs.id, current.id))
      .returning();
    await appendAudit(tx, {
      orgId: scope.orgId,
      actor: actorOf(scope.user),
      action: 'proxy_config.revoked',
      targetType: 'proxy_config',
      targetId: current.id,
      details: { name: current.name, sealedCopiesDeleted: deleted.length },
      meta,
    });
    return row!;
  });
  notifyProxyChanged(row.id);
  return row;
}

export interface ProvisioningItem {
  kind: TenantConfigKind;
  configId: number;
  version: number;
  /** The vendor's tenant id: part of the seal context. */
  tenantId: string;
  /** The copy sealed to the vendor key, for the admin's browser to open and seal again to the new configuration. */
  vendorCopy: string;
}

export interface ProvisioningState {
  status: ProxyConfig['status'];
  total: number;
  remaining: number;
  items: ProvisioningItem[];
}

/** Tenant configs of this vendor with no current copy for the given recipient key. */
function uncoveredQuery(db: Db, kind: TenantConfigKind, vendorOrgId: string, recipientKeyId: string, vendorKeyId: string) {
  const table = kind === 'kms' ? kmsConfigs : loggingConfigs;
  const own = sql`${sealedConfigCopies.kind} = ${kind} and ${sealedConfigCopies.configId} = ${table.id} and ${sealedConfigCopies.recipientKeyId} = ${recipientKeyId} and ${sealedConfigCopies.configVersion} = ${table.version}`;
  const vendorCopies = sql`vc`;
  return db
    .select({
      configId: table.id,
      version: table.version,
      tenantId: tenants.vendorTenantId,
      vendorCopy: sql<string | null>`(select ${vendorCopies}.blob from sealed_config_copies ${vendorCopies} where ${vendorCopies}.kind = ${kind} and ${vendorCopies}.config_id = ${table.id} and ${vendorCopies}.recipient_key_id = ${vendorKeyId} and ${vendorCopies}.config_version = ${table.version})`,
    })
    .from(table)
    .innerJoin(tenants, eq(tenants.id, table.tenantId))
    .where(and(eq(table.vendorOrgId, vendorOrgId), sql`not exists (select 1 from sealed_config_copies where ${own})`))
    .orderBy(asc(table.id));
}

async function countConfigs(db: Db, vendorOrgId: string): Promise<number> {
  const [kms] = await db.select({ n: sql<number>`count(*)::int` }).from(kmsConfigs).where(eq(kmsConfigs.vendorOrgId, vendorOrgId));
  const [logging] = await db.select({ n: sql<number>`count(*)::int` }).from(loggingConfigs).where(eq(loggingConfigs.vendorOrgId, vendorOrgId));
  return (kms?.n ?? 0) + (logging?.n ?? 0);
}

async function countUncovered(db: Db, vendorOrgId: string, recipientKeyId: string, vendorKeyId: string): Promise<number> {
  let remaining = 0;
  for (const kind of ['kms', 'logging'] as const) {
    const rows = await db.select({ n: sql<number>`count(*)::int` }).from(uncoveredQuery(db, kind, vendorOrgId, recipientKeyId, vendorKeyId).as('u'));
    remaining += rows[0]?.n ?? 0;
  }
  return remaining;
}

const batchQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(1000).optional().default(200) });

/** The next batch of tenant configs still to seal to a new proxy configuration (resumable: state is in the database). */
export async function provisioningBatch(ctx: ScopedContext, id: string, rawQuery: unknown): Promise<ProvisioningState> {
  requireVendor(ctx);
  const { limit } = parseInput(batchQuerySchema, rawQuery, 'Invalid query parameters');
  const config = await ownProxyConfig(ctx.db, ctx, id);
  if (config.status === 'revoked') throw new BrokerError('CONFLICT', 'This proxy configuration is revoked');
  const [vendorKey] = await ctx.db.select().from(vendorKeys).where(eq(vendorKeys.orgId, ctx.scope.orgId));
  const items: ProvisioningItem[] = [];
  for (const kind of ['kms', 'logging'] as const) {
    if (items.length >= limit) break;
    const rows = await uncoveredQuery(ctx.db, kind, ctx.scope.orgId, config.keyId, vendorKey!.keyId).limit(limit - items.length);
    for (const row of rows) {
      // A config without a vendor copy cannot be re-sealed by anyone but its tenant; it would never be covered.
      if (row.vendorCopy) items.push({ kind, configId: row.configId, version: row.version, tenantId: row.tenantId, vendorCopy: row.vendorCopy });
    }
  }
  return {
    status: config.status,
    total: await countConfigs(ctx.db, ctx.scope.orgId),
    remaining: await countUncovered(ctx.db, ctx.scope.orgId, config.keyId, vendorKey!.keyId),
    items,
  };
}

const copiesSchema = z.object({
  copies: z
    .array(
      z.object({
        kind: z.enum(['kms', 'logging']),
        configId: z.number().int().positive().max(2_147_483_647),
        version: z.number().int().positive(),
        blob: sealedBlobSchema,
      }),
    )
    .min(1)
    .max(1000),
});

/** Stores a batch of copies sealed to the new configuration's key; answers how many configs remain uncovered. */
export async function storeProvisionedCopies(ctx: ScopedContext, id: string, raw: unknown): Promise<{ stored: number; remaining: number }> {
  requireVendor(ctx);
  await ownProxyConfig(ctx.db, ctx, id);
  const input = parseInput(copiesSchema, raw);
  const { scope } = ctx;
  const result = await ctx.db.transaction(async (tx) => {
    const config = await ownProxyConfig(tx, ctx, id, true);
    if (config.status === 'revoked') throw new BrokerError('CONFLICT', 'This proxy configuration is revoked');
    const vendorKey = await lockVendorKey(tx, scope.orgId);
    input.copies.forEach((copy, index) => requireBlobFor(copy.blob, config.keyId, `copies.${index}.blob`));
    let stored = 0;
    for (const kind of ['kms', 'logging'] as const) {
      const copies = input.copies.filter((copy) => copy.kind === kind);
      if (!copies.length) continue;
      const table = kind === 'kms' ? kmsConfigs : loggingConfigs;
      // Only this vendor's configs at their current version: anything else is stale or foreign and is skipped.
      const current = await tx
        .select({ id: table.id, version: table.version })
        .from(table)
        .where(and(eq(table.vendorOrgId, scope.orgId), inArray(table.id, copies.map((copy) => copy.configId))));
      const versionOf = new Map(current.map((row) => [row.id, row.version]));
      const valid = copies.filter((copy) => versionOf.get(copy.configId) === copy.version);
      if (!valid.length) continue;
      await tx
        .insert(sealedConfigCopies)
        .values(valid.map((copy) => ({ kind, configId: copy.configId, recipientKeyId: config.keyId, configVersion: copy.version, vendorOrgId: scope.orgId, blob: copy.blob })))
        .onConflictDoUpdate({
          target: [sealedConfigCopies.kind, sealedConfigCopies.configId, sealedConfigCopies.recipientKeyId],
          set: { blob: sql`excluded.blob`, configVersion: sql`excluded.config_version` },
        });
      stored += valid.length;
    }
    // Only this configuration's sections changed: its copies revision moves, other configurations rebuild nothing.
    if (stored) {
      await tx
        .update(proxyConfigs)
        .set({ copiesRev: sql`${proxyConfigs.copiesRev} + 1`, snapshotVersion: sql`${proxyConfigs.snapshotVersion} + 1` })
        .where(eq(proxyConfigs.id, config.id));
    }
    return { stored, remaining: await countUncovered(tx, scope.orgId, config.keyId, vendorKey!.keyId) };
  });
  notifyProxyChanged(id);
  return result;
}

/** provisioning -> active, only once every tenant config of the vendor has a copy for this configuration. */
export async function activateProxyConfig(ctx: ScopedContext, id: string): Promise<ProxyConfig> {
  requireVendor(ctx);
  const { scope, meta } = ctx;
  const row = await ctx.db.transaction(async (tx) => {
    const config = await ownProxyConfig(tx, ctx, id, true);
    if (config.status !== 'provisioning') throw new BrokerError('CONFLICT', `The configuration is ${config.status}`);
    const vendorKey = await lockVendorKey(tx, scope.orgId);
    const remaining = await countUncovered(tx, scope.orgId, config.keyId, vendorKey!.keyId);
    if (remaining > 0) throw new BrokerError('CONFLICT', `${remaining} tenant config${remaining === 1 ? '' : 's'} still to seal to this configuration`);
    const [row] = await tx
      .update(proxyConfigs)
      .set({ status: 'active', snapshotVersion: sql`${proxyConfigs.snapshotVersion} + 1` })
      .where(eq(proxyConfigs.id, config.id))
      .returning();
    await appendAudit(tx, { orgId: scope.orgId, actor: actorOf(scope.user), action: 'proxy_config.activated', targetType: 'proxy_config', targetId: config.id, details: { name: config.name }, meta });
    return row!;
  });
  notifyProxyChanged(row.id);
  return row;
}

/** Key ids every new tenant config must be sealed to: live proxy configurations (active or provisioning). */
export async function liveProxyRecipients(db: Db, vendorOrgId: string): Promise<{ keyId: string; publicKey: string; name: string; id: string }[]> {
  return db
    .select({ keyId: proxyConfigs.keyId, publicKey: proxyConfigs.publicKey, name: proxyConfigs.name, id: proxyConfigs.id })
    .from(proxyConfigs)
    .where(and(eq(proxyConfigs.orgId, vendorOrgId), ne(proxyConfigs.status, 'revoked')))
    .orderBy(asc(proxyConfigs.createdAt));
}

