import { and, eq } from 'drizzle-orm';
import type { DatabaseHandle } from '@/db/client';
import { auditEvents, configChecks, proxyInstances, snapshotSections, tenantSnapshotRevs } from '@/db/schema';
import { GET as snapshotRoute } from '@/app/api/proxy/v1/snapshot/route';
import { POST as statusRoute } from '@/app/api/proxy/v1/status/route';
import { POST as checkResultsRoute } from '@/app/api/proxy/v1/check-results/route';
import { verifyAuditChain } from '@/lib/server/audit';
import { activateProxyConfig, provisioningBatch, revokeProxyConfig, storeProvisionedCopies } from '@/lib/server/proxy-configs';
import { open, seal } from '@opencmk/crypto';
import { tenantConfigContext } from '@/lib/browser-sealing';
import { forgetBuiltSnapshots, resetProxyApiState, settleSnapshotAudits } from '@/lib/server/proxy-api';
import { queueCheck, setTenantConfigStatus } from '@/lib/server/tenant-configs';
import { archiveTenant, listTenants } from '@/lib/server/tenants';
import type { ScopedContext } from '@/lib/server/context';
import { createTestDatabase } from '../helpers/database';
import { newVendor, scoped, type TestAdmin } from '../helpers/fixtures';
import { acceptedTenant, awsPayload, newProxy, openCopy, sealAndCreate, setupVendorKeys } from '../helpers/broker-setup';
import { startRouteServer } from '../helpers/route-server';

let handle: DatabaseHandle;
let vendorCtx: ScopedContext;
let tenantA: TestAdmin;
let tenantACtx: ScopedContext;
let tenantBCtx: ScopedContext;
let keys: Awaited<ReturnType<typeof setupVendorKeys>>;
let proxy: Awaited<ReturnType<typeof newProxy>>;
let otherProxy: Awaited<ReturnType<typeof newProxy>>;
let primaryId: number;
let secondId: number;
let loggingId: number;

const snapshotUrl = (query = '') => `http://broker.test/api/proxy/v1/snapshot${query}`;
const bearer = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });

function getSnapshot(token: string, query = '', headers: Record<string, string> = {}, signal?: AbortSignal) {
  return snapshotRoute(new Request(snapshotUrl(query), { headers: bearer(token, headers), signal }));
}
function post(handler: typeof statusRoute, token: string, body: unknown, contentType = 'application/json') {
  return handler(
    new Request('http://broker.test/api/proxy/v1/x', { method: 'POST', headers: bearer(token, { 'content-type': contentType }), body: typeof body === 'string' ? body : JSON.stringify(body) }),
  );
}

beforeAll(async () => {
  resetProxyApiState();
  handle = await createTestDatabase();
  const acme = await newVendor(handle.db, 'Acme', 'admin@acme.test');
  vendorCtx = await scoped(handle.db, acme);
  keys = await setupVendorKeys(vendorCtx);
  proxy = await newProxy(vendorCtx, keys.vendorPublicKey, 'eu-west pod');
  otherProxy = await newProxy(vendorCtx, keys.vendorPublicKey, 'us-east pod');
  tenantA = await acceptedTenant(handle.db, vendorCtx, 'tenant-aws', 'boss@a.test');
  tenantACtx = await scoped(handle.db, tenantA);
  tenantBCtx = await scoped(handle.db, await acceptedTenant(handle.db, vendorCtx, 'tenant-b', 'boss@b.test'));
  primaryId = (await sealAndCreate(tenantACtx, 'kms', awsPayload('a1'))).id;
  secondId = (await sealAndCreate(tenantACtx, 'kms', { ...awsPayload('a2'), region: 'eu-west-1', keyArn: 'arn:aws:kms:eu-west-1:111122223333:key/22345678-1234-1234-1234-123456789012' })).id;
  loggingId = (await sealAndCreate(tenantACtx, 'logging', { provider: 'webhook', url: 'https://hooks.a.test/x', hmacSecret: 'hmac-secret-0123456789' })).id;
  await sealAndCreate(tenantBCtx, 'kms', awsPayload('b1'));
}, 60_000);
afterAll(async () => {
  await settleSnapshotAudits();
  await handle.close();
});

describe('GET /api/proxy/v1/snapshot', () => {
  it('serves only this configuration’s own sealed copies, which open with its private key under the contract context', async () => {
    const response = await getSnapshot(proxy.brokerToken);
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toMatch(/^"\d+"$/);
    const snapshot = await response.json();
    expect(snapshot).toMatchObject({ proxyConfigId: proxy.id, vendorId: vendorCtx.scope.orgId, settings: { requireLeasing: false, requireLogging: false }, checks: [] });
    expect(response.headers.get('etag')).toBe(`"${snapshot.version}"`);
    const a = snapshot.tenants.find((tenant: { tenantId: string }) => tenant.tenantId === 'tenant-aws');
    expect(a.kmsConfigs.map((config: { id: number; status: string }) => [config.id, config.status])).toEqual([
      [primaryId, 'primary'],
      [secondId, 'active'],
    ]);
    for (const config of a.kmsConfigs) expect(config.id).toBeLessThanOrEqual(2_147_483_647);
    const opened = openCopy(a.kmsConfigs[0].sealed, proxy.privateKey, 'kms', vendorCtx.scope.orgId, 'tenant-aws', primaryId, 1);
    expect(opened.secretAccessKey).toBe('secret-a1-0123456789');
    expect(a.loggingConfig).toMatchObject({ id: loggingId, provider: 'webhook', version: 1 });
    expect(openCopy(a.loggingConfig.sealed, proxy.privateKey, 'logging', vendorCtx.scope.orgId, 'tenant-aws', loggingId, 1).hmacSecret).toBe('hmac-secret-0123456789');
    // Another configuration's private key cannot open this configuration's copy.
    expect(() => openCopy(a.kmsConfigs[0].sealed, otherProxy.privateKey, 'kms', vendorCtx.scope.orgId, 'tenant-aws', primaryId, 1)).toThrow();
    const b = snapshot.tenants.find((tenant: { tenantId: string }) => tenant.tenantId === 'tenant-b');
    expect(b.loggingConfig).toBeNull();
    const other = await (await getSnapshot(otherProxy.brokerToken)).json();
    expect(other.tenants[0].kmsConfigs[0].sealed).not.toBe(a.kmsConfigs[0].sealed);
  });

  it('answers 304 to If-None-Match with the current ETag, and 200 with another', async () => {
    const first = await getSnapshot(proxy.brokerToken);
    const etag = first.headers.get('etag')!;
    const cached = await getSnapshot(proxy.brokerToken, '', { 'if-none-match': etag });
    expect(cached.status).toBe(304);
    expect(cached.headers.get('etag')).toBe(etag);
    expect((await getSnapshot(proxy.brokerToken, '', { 'if-none-match': '"1"' })).status).toBe(200);
  });

  it('long-polls: wakes as soon as a config of this vendor changes, and times out with 304', async () => {
    const etag = (await getSnapshot(proxy.brokerToken)).headers.get('etag')!;
    const started = Date.now();
    const timedOut = await getSnapshot(proxy.brokerToken, '?wait=1', { 'if-none-match': etag });
    expect(timedOut.status).toBe(304);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);

    const waiting = getSnapshot(proxy.brokerToken, '?wait=20', { 'if-none-match': etag });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const changedAt = Date.now();
    await setTenantConfigStatus(tenantACtx, 'kms', String(secondId), { status: 'disabled' });
    const woke = await waiting;
    expect(Date.now() - changedAt).toBeLessThan(1000);
    expect(woke.status).toBe(200);
    expect(woke.headers.get('etag')).not.toBe(etag);
    const snapshot = await woke.json();
    const disabled = snapshot.tenants[0].kmsConfigs.find((config: { id: number }) => config.id === secondId);
    expect(disabled).toMatchObject({ status: 'disabled', sealed: null });
  });

  it('wakes every waiting long-poll at once (one shared watcher per broker process)', async () => {
    const etag = (await getSnapshot(proxy.brokerToken)).headers.get('etag')!;
    const waiting = Array.from({ length: 30 }, () => getSnapshot(proxy.brokerToken, '?wait=20', { 'if-none-match': etag }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const changedAt = Date.now();
    await setTenantConfigStatus(tenantACtx, 'kms', String(secondId), { status: 'active' });
    const responses = await Promise.all(waiting);
    expect(Date.now() - changedAt).toBeLessThan(1500);
    expect(new Set(responses.map((response) => response.status))).toEqual(new Set([200]));
    expect(new Set(responses.map((response) => response.headers.get('etag'))).size).toBe(1);
    await Promise.all(responses.map((response) => response.text()));
    await setTenantConfigStatus(tenantACtx, 'kms', String(secondId), { status: 'disabled' });
  });

  it('validates ?wait (0–30) and answers 400, never 500', async () => {
    for (const query of ['?wait=31', '?wait=-1', '?wait=abc', '?wait=1.5']) {
      const response = await getSnapshot(proxy.brokerToken, query);
      expect(response.status).toBe(400);
      expect((await response.json()).error).toBe('invalid_input');
    }
  });

  it('lists queued checks until a proxy posts the result, then stores it', async () => {
    const check = await queueCheck(tenantACtx, 'kms', String(primaryId));
    const snapshot = await (await getSnapshot(proxy.brokerToken)).json();
    expect(snapshot.checks).toEqual([{ id: check.id, kind: 'kms', tenantId: 'tenant-aws', configId: primaryId }]);
    const posted = await post(checkResultsRoute, proxy.brokerToken, { results: [{ checkId: check.id, ok: false, latencyMs: 12.4, error: { code: 206, message: 'AccessDeniedException: not allowed' } }] });
    expect(posted.status).toBe(204);
    const [stored] = await handle.db.select().from(configChecks).where(eq(configChecks.id, check.id));
    expect(stored).toMatchObject({ status: 'failed', ok: false, latencyMs: 12, errorCode: 206, errorMessage: 'AccessDeniedException: not allowed', answeredBy: proxy.id });
    expect((await (await getSnapshot(proxy.brokerToken)).json()).checks).toEqual([]);
    // A second answer to the same check changes nothing.
    expect((await post(checkResultsRoute, otherProxy.brokerToken, { results: [{ checkId: check.id, ok: true, latencyMs: 1 }] })).status).toBe(204);
    expect((await handle.db.select().from(configChecks).where(eq(configChecks.id, check.id)))[0]!.ok).toBe(false);
  });

  it('rejects malformed check results and status reports with 400', async () => {
    for (const body of [{}, { results: [] }, { results: [{ checkId: 'nope', ok: true, latencyMs: 1 }] }, { results: [{ checkId: crypto.randomUUID(), ok: 'yes', latencyMs: 1 }] }]) {
      expect((await post(checkResultsRoute, proxy.brokerToken, body)).status).toBe(400);
    }
    for (const body of [{}, { instanceId: '', snapshotVersion: 1, uptimeSeconds: 1 }, { instanceId: 'a', snapshotVersion: -1, uptimeSeconds: 1 }, { instanceId: 'a\u0000', snapshotVersion: 1, uptimeSeconds: 1 }]) {
      expect((await post(statusRoute, proxy.brokerToken, body)).status).toBe(400);
    }
    expect((await post(statusRoute, proxy.brokerToken, '{broken')).status).toBe(400);
    expect((await post(statusRoute, proxy.brokerToken, 'x=1', 'application/x-www-form-urlencoded')).status).toBe(400);
  });

  it('stores each instance’s status report', async () => {
    const report = { instanceId: 'pod-1', snapshotVersion: 7, uptimeSeconds: 12, counters: { wraps: 3, tenants: 2 } };
    expect((await post(statusRoute, proxy.brokerToken, report)).status).toBe(204);
    expect((await post(statusRoute, proxy.brokerToken, { ...report, uptimeSeconds: 20 })).status).toBe(204);
    const rows = await handle.db.select().from(proxyInstances).where(eq(proxyInstances.proxyConfigId, proxy.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ instanceId: 'pod-1', snapshotVersion: 7, uptimeSeconds: 20, counters: { wraps: 3, tenants: 2 } });
  });

  it('records each fetched version once per tenant whose section changed, in that tenant’s own audit chain', async () => {
    await settleSnapshotAudits();
    const fetched = () =>
      handle.db.select().from(auditEvents).where(and(eq(auditEvents.orgId, tenantA.orgId), eq(auditEvents.action, 'proxy.snapshot_fetched'), eq(auditEvents.actorId, proxy.id)));
    const before = (await fetched()).length;
    expect(before).toBeGreaterThan(0);
    await getSnapshot(proxy.brokerToken);
    await getSnapshot(proxy.brokerToken);
    await settleSnapshotAudits();
    expect((await fetched()).length).toBe(before);
    await setTenantConfigStatus(tenantACtx, 'kms', String(secondId), { status: 'active' });
    const latest = await getSnapshot(proxy.brokerToken);
    await settleSnapshotAudits();
    const after = await fetched();
    expect(after.length).toBe(before + 1);
    const version = Number(latest.headers.get('etag')!.replaceAll('"', ''));
    expect(after.at(-1)).toMatchObject({ actorType: 'proxy', actorLabel: 'eu-west pod', details: expect.objectContaining({ snapshotVersion: version }) });
    expect((await verifyAuditChain(handle.db, tenantA.orgId)).ok).toBe(true);
    // Tenant B's section did not change: no new entry in its chain.
    const bEntries = await handle.db.select().from(auditEvents).where(and(eq(auditEvents.orgId, tenantBCtx.scope.orgId), eq(auditEvents.action, 'proxy.snapshot_fetched'), eq(auditEvents.actorId, proxy.id)));
    expect(bEntries.length).toBe(1);
  });
});

describe('stored snapshot sections', () => {
  it('are what a broker instance that just started serves, without assembling the sections again', async () => {
    const first = await getSnapshot(proxy.brokerToken);
    const body = await first.text();
    await settleSnapshotAudits();
    const stored = await handle.db.select().from(snapshotSections).where(eq(snapshotSections.proxyConfigId, proxy.id));
    expect(stored.length).toBe(2);
    forgetBuiltSnapshots();
    expect(await (await getSnapshot(proxy.brokerToken)).text()).toBe(body);
    // Proof that the stored text is used: a section altered in storage (same revision) is served as stored.
    const tenantB = stored.find((row) => row.section?.includes('tenant-b'))!;
    await handle.db.update(snapshotSections).set({ section: '{"tenantId":"stored-marker","kmsConfigs":[],"loggingConfig":null}' }).where(and(eq(snapshotSections.proxyConfigId, proxy.id), eq(snapshotSections.tenantId, tenantB.tenantId)));
    forgetBuiltSnapshots();
    expect(await (await getSnapshot(proxy.brokerToken)).text()).toContain('stored-marker');
    await handle.db.delete(snapshotSections).where(eq(snapshotSections.proxyConfigId, proxy.id));
    forgetBuiltSnapshots();
    expect(await (await getSnapshot(proxy.brokerToken)).text()).toBe(body);
    await settleSnapshotAudits();
  });
});

describe('a configuration being provisioned', () => {
  it('sees each tenant as soon as its copies are stored, even with its earlier snapshot cached', async () => {
    const fresh = await newProxy(vendorCtx, keys.vendorPublicKey, 'late pod', false);
    const before = await (await getSnapshot(fresh.brokerToken)).json();
    expect(before.tenants).toEqual([]);
    const batch = await provisioningBatch(vendorCtx, fresh.id, { limit: 1000 });
    expect(batch.remaining).toBeGreaterThan(0);
    const tenantAItems = batch.items.filter((item) => item.tenantId === 'tenant-aws');
    const revsBefore = await handle.db.select().from(tenantSnapshotRevs);
    await storeProvisionedCopies(vendorCtx, fresh.id, {
      copies: tenantAItems.map((item) => {
        const context = tenantConfigContext(item.kind, vendorCtx.scope.orgId, item.tenantId, item.configId, item.version);
        return { kind: item.kind, configId: item.configId, version: item.version, blob: seal(open(item.vendorCopy, keys.vendor.privateKey, context), Buffer.from(fresh.publicKey, 'base64url'), context) };
      }),
    });
    // Other configurations' sections did not change: no tenant revision moved.
    expect(await handle.db.select().from(tenantSnapshotRevs)).toEqual(revsBefore);
    const after = await (await getSnapshot(fresh.brokerToken)).json();
    expect(after.tenants.map((tenant: { tenantId: string }) => tenant.tenantId)).toEqual(['tenant-aws']);
    expect(after.tenants[0].kmsConfigs.length).toBeGreaterThan(0);
    expect(openCopy(after.tenants[0].loggingConfig.sealed, fresh.privateKey, 'logging', vendorCtx.scope.orgId, 'tenant-aws', loggingId, 1).provider).toBe('webhook');
    await expect(activateProxyConfig(vendorCtx, fresh.id)).rejects.toMatchObject({ code: 'CONFLICT' });
    await revokeProxyConfig(vendorCtx, fresh.id);
  });
});

describe('proxy API authentication', () => {
  it('answers 401 {"error":"unauthorized"} without, with a malformed or with an unknown token', async () => {
    for (const authorization of [undefined, 'Basic abc', 'Bearer', 'Bearer ocmk_bt_short', `Bearer ocmk_bt_${'A'.repeat(43)}`]) {
      const headers: Record<string, string> = authorization ? { authorization } : {};
      const response = await snapshotRoute(new Request(snapshotUrl(), { headers }));
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: 'unauthorized' });
    }
    expect((await post(statusRoute, `ocmk_bt_${'B'.repeat(43)}`, { instanceId: 'x', snapshotVersion: 1, uptimeSeconds: 1 })).status).toBe(401);
  });
});

describe('over real HTTP', () => {
  it('long-poll wake-up, 304, then 401 for a waiting proxy as soon as it is revoked', async () => {
    const server = await startRouteServer([
      { method: 'GET', pattern: /^\/api\/proxy\/v1\/snapshot$/, handler: snapshotRoute as never },
      { method: 'POST', pattern: /^\/api\/proxy\/v1\/status$/, handler: statusRoute as never },
    ]);
    try {
      const url = `${server.url}/api/proxy/v1/snapshot`;
      const first = await fetch(url, { headers: bearer(otherProxy.brokerToken) });
      expect(first.status).toBe(200);
      const etag = first.headers.get('etag')!;
      await first.json();
      const notModified = await fetch(url, { headers: bearer(otherProxy.brokerToken, { 'if-none-match': etag }) });
      expect(notModified.status).toBe(304);

      const waiting = fetch(`${url}?wait=25`, { headers: bearer(otherProxy.brokerToken, { 'if-none-match': etag }) });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const changedAt = Date.now();
      await setTenantConfigStatus(tenantBCtx, 'kms', String((await (await fetch(url, { headers: bearer(otherProxy.brokerToken) })).json()).tenants.find((t: { tenantId: string }) => t.tenantId === 'tenant-b').kmsConfigs[0].id), { status: 'disabled' });
      const woke = await waiting;
      expect(Date.now() - changedAt).toBeLessThan(1000);
      expect(woke.status).toBe(200);
      const newEtag = woke.headers.get('etag')!;
      await woke.json();

      const revokedWhileWaiting = fetch(`${url}?wait=25`, { headers: bearer(otherProxy.brokerToken, { 'if-none-match': newEtag }) });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await revokeProxyConfig(vendorCtx, otherProxy.id);
      const revoked = await revokedWhileWaiting;
      expect(revoked.status).toBe(401);
      expect(await revoked.json()).toEqual({ error: 'unauthorized' });
      expect((await fetch(url, { headers: bearer(otherProxy.brokerToken) })).status).toBe(401);
      await settleSnapshotAudits();
      expect(await handle.db.select().from(snapshotSections).where(eq(snapshotSections.proxyConfigId, otherProxy.id))).toEqual([]);
      const status = await fetch(`${server.url}/api/proxy/v1/status`, { method: 'POST', headers: bearer(otherProxy.brokerToken, { 'content-type': 'application/json' }), body: '{}' });
      expect(status.status).toBe(401);
      // The other configuration keeps working.
      expect((await fetch(url, { headers: bearer(proxy.brokerToken) })).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('an archived tenant', () => {
  it('leaves every snapshot at once: the waiting long-poll wakes and the tenant is gone', async () => {
    const first = await getSnapshot(proxy.brokerToken);
    const etag = first.headers.get('etag')!;
    expect((await first.json()).tenants.map((tenant: { tenantId: string }) => tenant.tenantId)).toContain('tenant-b');
    const waiting = getSnapshot(proxy.brokerToken, '?wait=20', { 'if-none-match': etag });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const changedAt = Date.now();
    const [tenantB] = await listTenants(vendorCtx, { q: 'tenant-b' });
    await archiveTenant(vendorCtx, tenantB!.id);
    const woke = await waiting;
    expect(Date.now() - changedAt).toBeLessThan(1000);
    expect(woke.status).toBe(200);
    const tenantIds = (await woke.json()).tenants.map((tenant: { tenantId: string }) => tenant.tenantId);
    expect(tenantIds).not.toContain('tenant-b');
    expect(tenantIds).toContain('tenant-aws');
  });
});
