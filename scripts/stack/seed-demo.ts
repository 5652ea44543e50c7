/**
 * The demo data, created through the code paths the browser uses: the lib/server functions the route handlers and
 * server actions call, fed with what the browser islands would send — keys generated, private keys protected under
 * a passphrase and configs sealed with @opencmk/crypto, here in Node instead of the browser. The broker gets the
 * same public keys, digests and sealed blobs it would get from a browser, and never a plaintext secret.
 *
 * Runs with the broker stopped (embedded PGlite belongs to one process at a time).
 */
import { randomBytes } from 'node:crypto';
import { base64UrlEncode, generateKeyPair, protectPrivateKey, seal } from '@opencmk/crypto';
import type { Db } from '@/db/client';
import {
  configFingerprint,
  generateProxyConfig,
  sealConfigToRecipients,
  tenantConfigContext,
  vendorGrantContext,
} from '@/lib/browser-sealing';
import {
  kmsConfigPayloadSchema,
  kmsKeyPath,
  loggingConfigPayloadSchema,
  loggingDestination,
} from '@/lib/config-schemas';
import { registerAdminKey, createVendorKey } from '@/lib/server/broker-keys';
import { noRequestMeta, type ScopedContext, type SignedInUser } from '@/lib/server/context';
import { acceptInvitation } from '@/lib/server/invitations';
import { listOutbox } from '@/lib/server/mail';
import { requireOrgAdmin } from '@/lib/server/org-scope';
import { createVendor } from '@/lib/server/organizations';
import { activateProxyConfig, createProxyConfig } from '@/lib/server/proxy-configs';
import { createTenantConfig, getRecipients, reserveConfigId } from '@/lib/server/tenant-configs';
import { inviteTenant } from '@/lib/server/tenants';
import { findOrCreateUserByEmail } from '@/lib/server/users';
import type { DemoWorld } from './emulated-world';

export const DEMO_VENDOR = { name: 'Acme SaaS', adminEmail: 'admin@acme-saas.example' } as const;
export const DEMO_TENANTS = [
  {
    provider: 'aws',
    tenantId: 'tenant-aws',
    displayName: 'Tenant on AWS',
    adminEmail: 'admin@tenant-aws.example',
    logging: 'splunk',
    leasing: true,
  },
  {
    provider: 'gcp',
    tenantId: 'tenant-gcp',
    displayName: 'Tenant on Google Cloud',
    adminEmail: 'admin@tenant-gcp.example',
    logging: 'webhook',
    leasing: true,
  },
  // No key leasing for this one: every unwrap reaches the vault, so what the tenant does in its KMS shows at once.
  {
    provider: 'azure',
    tenantId: 'tenant-azure',
    displayName: 'Tenant on Azure',
    adminEmail: 'admin@tenant-azure.example',
    logging: 'splunk',
    leasing: false,
  },
] as const;
export type DemoProvider = (typeof DEMO_TENANTS)[number]['provider'];

export interface SeededDemo {
  vendorId: string;
  vendorAdminEmail: string;
  /** Unlocks the vendor admin's key in the browser (separate from sign-in; demo only). */
  vendorPassphrase: string;
  proxyConfigId: string;
  apiKey: string;
  /** The `.env` text the vendor admin's browser would offer for download. */
  proxyEnv: string;
  tenants: Record<
    DemoProvider,
    { tenantId: string; orgId: string; adminEmail: string; kmsConfigId: number; loggingConfigId: number }
  >;
}

async function scopeFor(db: Db, user: SignedInUser, orgId: string, kind: 'vendor' | 'tenant'): Promise<ScopedContext> {
  return {
    db,
    scope: await requireOrgAdmin(db, user, orgId, kind),
    meta: { ip: '127.0.0.1', userAgent: 'opencmk-demo-seed' },
  };
}

async function signedInUser(db: Db, email: string): Promise<SignedInUser> {
  const user = await findOrCreateUserByEmail(db, email);
  return { id: user.id, email: user.email!, name: user.name ?? null };
}

function kmsPayload(provider: DemoProvider, world: DemoWorld) {
  switch (provider) {
    case 'aws':
      return {
        provider: 'aws',
        keyArn: world.aws.keyArn,
        region: world.aws.region,
        accessKeyId: world.aws.tenantUser.accessKeyId,
        secretAccessKey: world.aws.tenantUser.secretAccessKey,
        endpoint: world.aws.endpoint,
      };
    case 'gcp':
      return {
        provider: 'gcp',
        project: world.gcp.project,
        location: world.gcp.location,
        keyRing: world.gcp.keyRing,
        key: world.gcp.key,
        serviceAccountKey: world.gcp.serviceAccountKey,
        endpoint: world.gcp.endpoint,
      };
    case 'azure':
      return {
        provider: 'azure',
        vaultUrl: world.azure.vaultUrl,
        keyName: world.azure.keyName,
        tenantId: world.azure.tenantId,
        clientId: world.azure.clientId,
        clientSecret: world.azure.clientSecret,
        authorityHost: world.azure.authorityHost,
      };
  }
}

function loggingPayload(kind: 'splunk' | 'webhook', world: DemoWorld) {
  return kind === 'splunk'
    ? { provider: 'splunk', url: world.splunk.url, token: world.splunk.token, index: world.splunk.index }
    : { provider: 'webhook', url: world.webhook.url, hmacSecret: world.webhook.secret };
}

/**
 * A tenant admin's browser: check the fields, reserve an id (it is part of the seal context), seal to every current
 * recipient and submit — the same sequence as the tenant config page.
 */
async function submitTenantConfig(
  ctx: ScopedContext,
  kind: 'kms' | 'logging',
  raw: unknown,
  label: string,
  leasingAllowed = true,
): Promise<number> {
  const recipients = await getRecipients(ctx);
  const { id } = await reserveConfigId(ctx, kind);
  const context = tenantConfigContext(kind, recipients.vendorId, recipients.tenantId, id, 1);
  if (kind === 'kms') {
    const payload = kmsConfigPayloadSchema.parse(raw);
    const copies = sealConfigToRecipients(payload, recipients.recipients, context);
    await createTenantConfig(ctx, 'kms', {
      id,
      provider: payload.provider,
      label,
      leasingAllowed,
      primary: true,
      fingerprint: await configFingerprint(kmsKeyPath(payload)),
      copies,
    });
  } else {
    const payload = loggingConfigPayloadSchema.parse(raw);
    const copies = sealConfigToRecipients(payload, recipients.recipients, context);
    await createTenantConfig(ctx, 'logging', {
      id,
      provider: payload.provider,
      label,
      fingerprint: await configFingerprint(loggingDestination(payload)),
      copies,
    });
  }
  return id;
}

export async function seedDemo(
  db: Db,
  world: DemoWorld,
  brokerUrl: string,
  log: (line: string) => void,
): Promise<SeededDemo> {
  const system = { type: 'system' as const, id: null, label: 'opencmk-demo-seed' };
  const { orgId: vendorId } = await createVendor(
    db,
    { name: DEMO_VENDOR.name, adminEmail: DEMO_VENDOR.adminEmail },
    system,
    noRequestMeta,
    { onlyIfNoVendor: true },
  );
  const vendorAdmin = await signedInUser(db, DEMO_VENDOR.adminEmail);
  const vendorCtx = await scopeFor(db, vendorAdmin, vendorId, 'vendor');

  // Vendor admin's first key work: an admin key pair under a passphrase, then the vendor key sealed to it.
  log('vendor keys (argon2id, a few seconds)');
  const vendorPassphrase = `demo-${randomBytes(9).toString('base64url')}`;
  const adminKey = generateKeyPair();
  await registerAdminKey(vendorCtx, {
    publicKey: base64UrlEncode(adminKey.publicKey),
    protectedPrivateKey: await protectPrivateKey(adminKey.privateKey, vendorPassphrase),
  });
  const vendorKey = generateKeyPair();
  await createVendorKey(vendorCtx, {
    publicKey: base64UrlEncode(vendorKey.publicKey),
    sealedGrant: seal(vendorKey.privateKey, adminKey.publicKey, vendorGrantContext(vendorId, vendorAdmin.id)),
  });

  // A proxy configuration before any tenant config: tenants seal to it directly, nothing to provision later. Its
  // `.env` carries the documented defaults; the stack overrides ports, bind address and CA file when it starts it.
  log('proxy configuration');
  const generated = await generateProxyConfig({
    name: 'demo pod',
    brokerUrl,
    vendorId,
    vendorPublicKey: base64UrlEncode(vendorKey.publicKey),
  });
  const proxyConfigId = generated.id;
  await createProxyConfig(vendorCtx, {
    id: generated.id,
    name: 'demo pod',
    publicKey: generated.publicKey,
    tokenHash: generated.tokenHash,
    sealedEnv: generated.sealedEnv,
  });
  await activateProxyConfig(vendorCtx, proxyConfigId);

  const tenants = {} as SeededDemo['tenants'];
  for (const tenant of DEMO_TENANTS) {
    log(`tenant ${tenant.tenantId}`);
    await inviteTenant(vendorCtx, {
      vendorTenantId: tenant.tenantId,
      displayName: tenant.displayName,
      adminEmail: tenant.adminEmail,
    });
    // The invitee follows the link from the e-mail (the dev outbox here) after signing in as the invited address.
    const mail = (await listOutbox(db, 200)).find(
      (message) => message.to === tenant.adminEmail && message.link?.includes('/invite/'),
    );
    if (!mail?.link) throw new Error(`no invitation e-mail for ${tenant.adminEmail} in the outbox`);
    const token = decodeURIComponent(new URL(mail.link).pathname.split('/').pop()!);
    const tenantAdmin = await signedInUser(db, tenant.adminEmail);
    const { orgId } = await acceptInvitation(db, tenantAdmin, token, noRequestMeta);
    const tenantCtx = await scopeFor(db, tenantAdmin, orgId, 'tenant');
    const kmsConfigId = await submitTenantConfig(
      tenantCtx,
      'kms',
      kmsPayload(tenant.provider, world),
      `${tenant.provider.toUpperCase()} key (emulated)`,
      tenant.leasing,
    );
    const loggingConfigId = await submitTenantConfig(
      tenantCtx,
      'logging',
      loggingPayload(tenant.logging, world),
      `${tenant.logging} (emulated)`,
    );
    tenants[tenant.provider] = {
      tenantId: tenant.tenantId,
      orgId,
      adminEmail: tenant.adminEmail,
      kmsConfigId,
      loggingConfigId,
    };
  }
  return {
    vendorId,
    vendorAdminEmail: DEMO_VENDOR.adminEmail,
    vendorPassphrase,
    proxyConfigId,
    apiKey: generated.apiKey,
    proxyEnv: generated.env,
    tenants,
  };
}
