import { eq } from 'drizzle-orm';
import { DocumentMetadata, TenantSecurityClient } from '@ironcorelabs/tenant-security-nodejs';
import { startEmulators, type Emulators } from '@opencmk/kms-emulator';
import type { DatabaseHandle } from '@/db/client';
import { configChecks } from '@/db/schema';
import { GET as snapshotRoute } from '@/app/api/proxy/v1/snapshot/route';
import { POST as statusRoute } from '@/app/api/proxy/v1/status/route';
import { POST as checkResultsRoute } from '@/app/api/proxy/v1/check-results/route';
import { resetProxyApiState, settleSnapshotAudits } from '@/lib/server/proxy-api';
import { revokeProxyConfig } from '@/lib/server/proxy-configs';
import { queueCheck, setTenantConfigStatus } from '@/lib/server/tenant-configs';
import type { ScopedContext } from '@/lib/server/context';
import {
  callProxy,
  spawnProxy,
  waitForReady,
  waitUntil,
  type ProxyProcess,
} from '../../services/tenant-security-proxy/tests/support/proxy-process';
import { createTestDatabase } from '../helpers/database';
import { newVendor, scoped } from '../helpers/fixtures';
import { acceptedTenant, newProxy, sealAndCreate, setupVendorKeys } from '../helpers/broker-setup';
import { startRouteServer } from '../helpers/route-server';

/**
 * The Tenant Security Proxy, as its own process, against the broker's own proxy API: the route handlers Next.js
 * runs, over real HTTP, on PGlite (or PostgreSQL in CI's second pass), with tenants and sealed configs created
 * the way the tenant admin's browser creates them. KMS calls go to the emulators through the official SDKs.
 */
let handle: DatabaseHandle;
let emulators: Emulators;
let broker: { url: string; close(): Promise<void> };
let proxy: ProxyProcess;
let vendorCtx: ScopedContext;
let proxyConfigId: string;
let apiKey: string;
const tenants: Record<'aws' | 'gcp' | 'azure', { ctx: ScopedContext; configId: number }> = {} as never;

beforeAll(async () => {
  resetProxyApiState();
  handle = await createTestDatabase();
  emulators = await startEmulators({ seed: 'demo' });
  const demo = emulators.demo!;
  broker = await startRouteServer([
    { method: 'GET', pattern: /^\/api\/proxy\/v1\/snapshot$/, handler: snapshotRoute as never },
    { method: 'POST', pattern: /^\/api\/proxy\/v1\/status$/, handler: statusRoute as never },
    { method: 'POST', pattern: /^\/api\/proxy\/v1\/check-results$/, handler: checkResultsRoute as never },
  ]);

  const acme = await newVendor(handle.db, 'Acme', 'admin@acme.test');
  vendorCtx = await scoped(handle.db, acme);
  const keys = await setupVendorKeys(vendorCtx);
  const generated = await newProxy(vendorCtx, keys.vendorPublicKey, 'integration pod');
  proxyConfigId = generated.id;
  apiKey = generated.apiKey;

  const payloads = {
    // The tenant's own access key; leased.
    aws: {
      provider: 'aws',
      keyArn: demo.aws.keyArn,
      region: demo.aws.region,
      endpoint: demo.aws.endpoint,
      accessKeyId: demo.aws.tenantUser.accessKeyId,
      secretAccessKey: demo.aws.tenantUser.secretAccessKey,
    },
    // The tenant's service-account key; leased.
    gcp: {
      provider: 'gcp',
      project: demo.gcp.project,
      location: demo.gcp.location,
      keyRing: demo.gcp.keyRing,
      key: demo.gcp.key,
      endpoint: demo.gcp.httpEndpoint,
      serviceAccountKey: demo.gcp.serviceAccountKey,
    },
    // The tenant's app registration; not leased, so every unwrap reaches the vault.
    azure: {
      provider: 'azure',
      vaultUrl: demo.azure.vaultUrl,
      keyName: demo.azure.keyName,
      tenantId: demo.azure.tenantId,
      authorityHost: demo.azure.authorityHost,
      clientId: demo.azure.clientId,
      clientSecret: demo.azure.clientSecret,
    },
  };
  for (const provider of ['aws', 'gcp', 'azure'] as const) {
    const tenant = await acceptedTenant(handle.db, vendorCtx, `tenant-${provider}`, `admin@${provider}.test`);
    const ctx = await scoped(handle.db, tenant);
    const config = await sealAndCreate(ctx, 'kms', payloads[provider], { leasingAllowed: provider !== 'azure' });
    tenants[provider] = { ctx, configId: config.id };
  }

  const env = Object.fromEntries(
    generated.env
      .split('\n')
      .filter((line) => /^[A-Z0-9_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  proxy = await spawnProxy({
    ...env,
    OPENCMK_BROKER_URL: broker.url,
    PORT: '0',
    HEALTH_PORT: '0',
    HOST: '127.0.0.1',
    SNAPSHOT_WAIT_SECONDS: '2',
    KMS_EXTRA_CA_FILE: emulators.ca.path,
  });
  await waitForReady(proxy.healthUrl, 20_000);
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await broker?.close();
  await emulators?.close();
  await settleSnapshotAudits();
  await handle?.close();
}, 60_000);

const call = (route: string, body: unknown) => callProxy(proxy.url, route, body, apiKey);
const meta = (tenantId: string) => ({ tenantId, iclFields: { requestingId: 'integration' }, customFields: {} });

describe('the proxy against the broker', () => {
  it.each(['aws', 'gcp', 'azure'] as const)(
    'opens the %s tenant’s sealed config from the broker’s snapshot and wraps and unwraps with its KMS',
    async (provider) => {
      const wrapped = await call('document/wrap', meta(`tenant-${provider}`));
      expect(wrapped.status).toBe(200);
      expect(Buffer.from(wrapped.json.dek as string, 'base64')).toHaveLength(32);
      const unwrapped = await call('document/unwrap', {
        ...meta(`tenant-${provider}`),
        encryptedDocumentKey: wrapped.json.edek,
      });
      expect(unwrapped).toEqual({ status: 200, json: { dek: wrapped.json.dek } });
      // The EDEK names the broker's config id, so the tenant's other configs can never be confused with it.
      const other = await call('document/unwrap', {
        ...meta(provider === 'aws' ? 'tenant-gcp' : 'tenant-aws'),
        encryptedDocumentKey: wrapped.json.edek,
      });
      expect(other.status).toBeGreaterThanOrEqual(400);
      expect(other.status).toBeLessThan(500);
    },
  );

  it('works unchanged with IronCore’s Node client', async () => {
    const client = new TenantSecurityClient(proxy.url, apiKey);
    const metadata = new DocumentMetadata('tenant-aws', 'svc-test', 'PII');
    const document = { title: Buffer.from('quarterly numbers'), body: Buffer.from('{"revenue": 42}') };
    const encrypted = await client.encryptDocument(document, metadata);
    const decrypted = await client.decryptDocument(encrypted, metadata);
    expect(Buffer.from(decrypted.plaintextDocument.body!).toString()).toBe('{"revenue": 42}');
  });

  it('runs a check the tenant queued in the broker and posts the result back', async () => {
    const check = await queueCheck(tenants.gcp.ctx, 'kms', String(tenants.gcp.configId));
    let row: typeof configChecks.$inferSelect | undefined;
    await waitUntil(
      async () => {
        [row] = await handle.db.select().from(configChecks).where(eq(configChecks.id, check.id));
        return row?.status !== 'queued';
      },
      20_000,
      'the check result',
    );
    expect(row).toMatchObject({ status: 'succeeded', ok: true, answeredBy: proxyConfigId });
    expect(row!.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('a tenant’s kill switch in the broker reaches the proxy by long-poll and stops its keys at once', async () => {
    const wrapped = await call('document/wrap', meta('tenant-azure'));
    expect(wrapped.status).toBe(200);
    const changedAt = Date.now();
    await setTenantConfigStatus(tenants.azure.ctx, 'kms', String(tenants.azure.configId), { status: 'disabled' });
    let answer = await call('document/unwrap', { ...meta('tenant-azure'), encryptedDocumentKey: wrapped.json.edek });
    while (answer.status === 200 && Date.now() - changedAt < 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      answer = await call('document/unwrap', { ...meta('tenant-azure'), encryptedDocumentKey: wrapped.json.edek });
    }
    expect(answer.json.code).toBe(202);
    // The long-poll wakes on the change; the periodic refresh (minutes) plays no part.
    expect(Date.now() - changedAt).toBeLessThan(5_000);
    // The other tenants are untouched.
    expect((await call('document/wrap', meta('tenant-aws'))).status).toBe(200);
  });

  it('revoking the proxy configuration in the broker drops every tenant and makes the proxy not ready', async () => {
    await revokeProxyConfig(vendorCtx, proxyConfigId);
    await waitUntil(
      async () => (await fetch(`${proxy.healthUrl}/ready`)).status !== 200,
      15_000,
      'the proxy to report not ready',
    );
    expect((await call('document/wrap', meta('tenant-aws'))).json.code).toBe(201);
    const metrics = await (await fetch(`${proxy.healthUrl}/metrics`)).text();
    expect(metrics).toMatch(/^tsp_broker_revoked 1$/m);
    expect(metrics).toMatch(/^tsp_tenants_loaded 0$/m);
  });
});
