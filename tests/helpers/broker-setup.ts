import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { base64UrlDecode, base64UrlEncode, generateKeyPair, open, seal, utf8Encode } from '@opencmk/crypto';
import type { Db } from '@/db/client';
import { acceptInvitation } from '@/lib/server/invitations';
import { createVendorKey, registerAdminKey } from '@/lib/server/broker-keys';
import { createProxyConfig, activateProxyConfig } from '@/lib/server/proxy-configs';
import { createTenantConfig, getRecipients, reserveConfigId } from '@/lib/server/tenant-configs';
import { inviteTenant } from '@/lib/server/tenants';
import { findOrCreateUserByEmail } from '@/lib/server/users';
import type { ScopedContext } from '@/lib/server/context';
import { configFingerprint, generateProxyConfig, sealConfigToRecipients, tenantConfigContext, vendorGrantContext } from '@/lib/browser-sealing';
import { lastLinkTo, scoped, sessionCookieFor, testMeta, tokenOf, type TestAdmin } from './fixtures';

/**
 * argon2id at the real parameters (64 MiB, t=3) takes ~40 s in jest's SWC-compiled module graph but ~1 s in plain
 * Node, so the protected key is made by @opencmk/crypto's build in a child process — same code, same format.
 */
export async function protectInChild(privateKey: Uint8Array, passphrase: string): Promise<string> {
  const entry = path.join(__dirname, '..', '..', 'packages', 'crypto', 'dist', 'index.js');
  const script = `import { protectPrivateKey, base64UrlDecode } from ${JSON.stringify(entry)};
process.stdout.write(await protectPrivateKey(base64UrlDecode(process.env.KEY), process.env.PASSPHRASE));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    env: { NODE_ENV: 'test', PATH: process.env.PATH, KEY: base64UrlEncode(privateKey), PASSPHRASE: passphrase },
  });
  return stdout;
}

/** Acts as the vendor admin's browser: admin key pair (argon2id-protected), vendor key and its own grant. */
export async function setupVendorKeys(ctx: ScopedContext, passphrase = 'correct horse battery staple 42') {
  const admin = generateKeyPair();
  const adminPublicKey = base64UrlEncode(admin.publicKey);
  await registerAdminKey(ctx, { publicKey: adminPublicKey, protectedPrivateKey: await protectInChild(admin.privateKey, passphrase) });
  const vendor = generateKeyPair();
  const sealedGrant = seal(vendor.privateKey, admin.publicKey, vendorGrantContext(ctx.scope.orgId, ctx.scope.user.id));
  await createVendorKey(ctx, { publicKey: base64UrlEncode(vendor.publicKey), sealedGrant });
  return { admin, vendor, vendorPublicKey: base64UrlEncode(vendor.publicKey) };
}

/** A tenant invited by the vendor and accepted by its first admin. */
export async function acceptedTenant(db: Db, vendorCtx: ScopedContext, vendorTenantId: string, email: string): Promise<TestAdmin> {
  await inviteTenant(vendorCtx, { vendorTenantId, displayName: `Tenant ${vendorTenantId}`, adminEmail: email });
  const invitee = await findOrCreateUserByEmail(db, email);
  const user = { id: invitee.id, email: invitee.email!, name: null };
  const { orgId } = await acceptInvitation(db, user, tokenOf(await lastLinkTo(db, email)), testMeta);
  return { user, orgId, cookie: await sessionCookieFor(db, user.id) };
}

export async function newProxy(ctx: ScopedContext, vendorPublicKey: string, name = 'eu-west pod', activate = true) {
  const generated = await generateProxyConfig({ name, brokerUrl: 'http://127.0.0.1:3000', vendorId: ctx.scope.orgId, vendorPublicKey });
  await createProxyConfig(ctx, { id: generated.id, name, publicKey: generated.publicKey, tokenHash: generated.tokenHash, sealedEnv: generated.sealedEnv });
  if (activate) await activateProxyConfig(ctx, generated.id);
  const privateKey = base64UrlDecode(/OPENCMK_PROXY_PRIVATE_KEY=(\S+)/.exec(generated.env)![1]!);
  return { ...generated, privateKey };
}

export const awsPayload = (marker = 'x') => ({
  provider: 'aws' as const,
  keyArn: 'arn:aws:kms:us-east-1:111122223333:key/12345678-1234-1234-1234-123456789012',
  region: 'us-east-1',
  accessKeyId: 'AKIAABCDEFGHIJKLMNOP',
  secretAccessKey: `secret-${marker}-0123456789`,
});

/** Acts as the tenant admin's browser: reserve an id, fetch the recipients, seal to all of them, submit. */
export async function sealAndCreate(
  ctx: ScopedContext,
  kind: 'kms' | 'logging',
  payload: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  const { id } = await reserveConfigId(ctx, kind);
  const { vendorId, tenantId, recipients } = await getRecipients(ctx);
  const copies = sealConfigToRecipients(payload, recipients, tenantConfigContext(kind, vendorId, tenantId, id, 1));
  const fingerprint = await configFingerprint(JSON.stringify(payload));
  const base = { id, provider: payload.provider, label: `${payload.provider} config ${id}`, fingerprint, copies, ...extra };
  return createTenantConfig(ctx, kind, kind === 'kms' ? { leasingAllowed: true, ...base } : base);
}

export function openCopy(blob: string, privateKey: Uint8Array, kind: 'kms' | 'logging', vendorId: string, tenantId: string, id: number, version: number) {
  return JSON.parse(new TextDecoder().decode(open(blob, privateKey, tenantConfigContext(kind, vendorId, tenantId, id, version)))) as Record<string, unknown>;
}

export { scoped, utf8Encode };
