import 'server-only';
import { and, asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { adminKeys, memberships, users, vendorKeyGrants, vendorKeys } from '@/db/schema';
import { BrokerError, notFound } from '@/lib/errors';
import { appendAudit } from './audit';
import { actorOf, type ScopedContext } from './context';
import { keyIdOfPublicKey, parseInput, publicKeySchema, requireBlobFor, requireProtectedKeyFor, sealedBlobSchema } from './sealed-input';

/**
 * Vendor admin keys and the vendor key (DESIGN §2). Everything here is public keys and blobs made in a browser:
 * protected private keys (argon2id under a passphrase the broker never sees) and the vendor private key sealed to
 * each admin. The broker checks that each blob is for the key it claims to be for.
 */

export function requireVendor(ctx: ScopedContext): void {
  if (ctx.scope.orgKind !== 'vendor') throw notFound('Not found');
}

export interface AdminKeyInfo {
  userId: string;
  email: string | null;
  publicKey: string | null;
  keyId: string | null;
  hasGrant: boolean;
}

export interface KeyState {
  vendorId: string;
  userId: string;
  /** The caller's protected private key, to unlock in the browser. */
  myKey: { publicKey: string; keyId: string; protectedPrivateKey: string } | null;
  vendorKey: { publicKey: string; keyId: string } | null;
  /** The vendor private key sealed to the caller (purpose 'vendor-key', subjectId = caller's user id). */
  myGrant: string | null;
  admins: AdminKeyInfo[];
}

export async function getKeyState(ctx: ScopedContext): Promise<KeyState> {
  requireVendor(ctx);
  const { db, scope } = ctx;
  const [mine] = await db.select().from(adminKeys).where(and(eq(adminKeys.orgId, scope.orgId), eq(adminKeys.userId, scope.user.id)));
  const [vendorKey] = await db.select().from(vendorKeys).where(eq(vendorKeys.orgId, scope.orgId));
  const [grant] = await db
    .select({ sealed: vendorKeyGrants.sealedPrivateKey })
    .from(vendorKeyGrants)
    .where(and(eq(vendorKeyGrants.orgId, scope.orgId), eq(vendorKeyGrants.userId, scope.user.id)));
  const adminRows = await db
    .select({ userId: memberships.userId, email: users.email, publicKey: adminKeys.publicKey, keyId: adminKeys.keyId, grantUser: vendorKeyGrants.userId })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .leftJoin(adminKeys, and(eq(adminKeys.orgId, memberships.orgId), eq(adminKeys.userId, memberships.userId)))
    .leftJoin(vendorKeyGrants, and(eq(vendorKeyGrants.orgId, memberships.orgId), eq(vendorKeyGrants.userId, memberships.userId)))
    .where(eq(memberships.orgId, scope.orgId))
    .orderBy(asc(users.email));
  return {
    vendorId: scope.orgId,
    userId: scope.user.id,
    myKey: mine ? { publicKey: mine.publicKey, keyId: mine.keyId, protectedPrivateKey: mine.protectedPrivateKey } : null,
    vendorKey: vendorKey ? { publicKey: vendorKey.publicKey, keyId: vendorKey.keyId } : null,
    myGrant: grant?.sealed ?? null,
    admins: adminRows.map((row) => ({
      userId: row.userId,
      email: row.email,
      publicKey: row.publicKey,
      keyId: row.keyId,
      hasGrant: row.grantUser !== null,
    })),
  };
}

const adminKeyInputSchema = z.object({ publicKey: publicKeySchema, protectedPrivateKey: z.string().min(40).max(4096) });

/**
 * Registers (or replaces, after a lost passphrase) the caller's key pair. Replacing drops the caller's vendor-key
 * grant: it was sealed to the old key, so another admin has to grant again.
 */
export async function registerAdminKey(ctx: ScopedContext, raw: unknown): Promise<{ keyId: string }> {
  requireVendor(ctx);
  const input = parseInput(adminKeyInputSchema, raw);
  requireProtectedKeyFor(input.protectedPrivateKey, input.publicKey, 'protectedPrivateKey');
  const keyId = keyIdOfPublicKey(input.publicKey);
  const { db, scope, meta } = ctx;
  await db.transaction(async (tx) => {
    const [existing] = await tx
      .select({ keyId: adminKeys.keyId })
      .from(adminKeys)
      .where(and(eq(adminKeys.orgId, scope.orgId), eq(adminKeys.userId, scope.user.id)))
      .for('update');
    if (existing) {
      await tx.delete(vendorKeyGrants).where(and(eq(vendorKeyGrants.orgId, scope.orgId), eq(vendorKeyGrants.userId, scope.user.id)));
      await tx
        .update(adminKeys)
        .set({ publicKey: input.publicKey, keyId, protectedPrivateKey: input.protectedPrivateKey, updatedAt: new Date() })
        .where(and(eq(adminKeys.orgId, scope.orgId), eq(adminKeys.userId, scope.user.id)));
    } else {
      await tx.insert(adminKeys).values({ orgId: scope.orgId, userId: scope.user.id, publicKey: input.publicKey, keyId, protectedPrivateKey: input.protectedPrivateKey });
    }
    await appendAudit(tx, {
      orgId: scope.orgId,
      actor: actorOf(scope.user),
      action: existing ? 'admin_key.replaced' : 'admin_key.created',
      targetType: 'admin_key',
      targetId: keyId,
      details: { keyId },
      meta,
    });
  });
  return { keyId };
}

const vendorKeyInputSchema = z.object({ publicKey: publicKeySchema, sealedGrant: sealedBlobSchema });

/** The first admin's browser creates the vendor key and seals its private key to that admin's own key. */
export async function createVendorKey(ctx: ScopedContext, raw: unknown): Promise<{ keyId: string }> {
  requireVendor(ctx);
  const input = parseInput(vendorKeyInputSchema, raw);
  const keyId = keyIdOfPublicKey(input.publicKey);
  const { db, scope, meta } = ctx;
  await db.transaction(async (tx) => {
    const [mine] = await tx.select().from(adminKeys).where(and(eq(adminKeys.orgId, scope.orgId), eq(adminKeys.userId, scope.user.id)));
    if (!mine) throw new BrokerError('CONFLICT', 'Set up your encryption passphrase first');
    requireBlobFor(input.sealedGrant, mine.keyId, 'sealedGrant');
    const inserted = await tx
      .insert(vendorKeys)
      .values({ orgId: scope.orgId, publicKey: input.publicKey, keyId, createdBy: scope.user.id })
      .onConflictDoNothing()
      .returning({ orgId: vendorKeys.orgId });
    if (inserted.length === 0) throw new BrokerError('CONFLICT', 'This vendor already has a vendor key: ask an admin who holds it for a grant');
    await tx.insert(vendorKeyGrants).values({ orgId: scope.orgId, userId: scope.user.id, sealedPrivateKey: input.sealedGrant, grantedBy: scope.user.id });
    await appendAudit(tx, { orgId: scope.orgId, actor: actorOf(scope.user), action: 'vendor_key.created', targetType: 'vendor_key', targetId: keyId, details: { keyId }, meta });
  });
  return { keyId };
}

const grantInputSchema = z.object({ userId: z.string().min(1).max(200), sealedPrivateKey: sealedBlobSchema });

/** An admin who holds the vendor key seals it to another admin of the same organization who has a key pair. */
export async function grantVendorKey(ctx: ScopedContext, raw: unknown): Promise<void> {
  requireVendor(ctx);
  const input = parseInput(grantInputSchema, raw);
  const { db, scope, meta } = ctx;
  await db.transaction(async (tx) => {
    const [own] = await tx
      .select({ userId: vendorKeyGrants.userId })
      .from(vendorKeyGrants)
      .where(and(eq(vendorKeyGrants.orgId, scope.orgId), eq(vendorKeyGrants.userId, scope.user.id)));
    if (!own) throw new BrokerError('CONFLICT', 'You do not hold the vendor key yet');
    // Another organization's user, or a user without a key pair here, is simply not a grantee.
    const [grantee] = await tx
      .select({ keyId: adminKeys.keyId, email: users.email })
      .from(adminKeys)
      .innerJoin(memberships, and(eq(memberships.orgId, adminKeys.orgId), eq(memberships.userId, adminKeys.userId)))
      .innerJoin(users, eq(users.id, adminKeys.userId))
      .where(and(eq(adminKeys.orgId, scope.orgId), eq(adminKeys.userId, input.userId)));
    if (!grantee) throw notFound('Admin not found');
    requireBlobFor(input.sealedPrivateKey, grantee.keyId, 'sealedPrivateKey');
    await tx
      .insert(vendorKeyGrants)
      .values({ orgId: scope.orgId, userId: input.userId, sealedPrivateKey: input.sealedPrivateKey, grantedBy: scope.user.id })
      .onConflictDoUpdate({
        target: [vendorKeyGrants.orgId, vendorKeyGrants.userId],
        set: { sealedPrivateKey: input.sealedPrivateKey, grantedBy: scope.user.id, createdAt: new Date() },
      });
    await appendAudit(tx, {
      orgId: scope.orgId,
      actor: actorOf(scope.user),
      action: 'vendor_key.granted',
      targetType: 'user',
      targetId: input.userId,
      details: { grantee: grantee.email, granteeKeyId: grantee.keyId },
      meta,
    });
  });
}
