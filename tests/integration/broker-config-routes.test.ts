import { base64UrlEncode, generateKeyPair, open, seal } from '@opencmk/crypto';
import { eq } from 'drizzle-orm';
import type { DatabaseHandle } from '@/db/client';
import { memberships, proxyConfigs, sealedConfigCopies } from '@/db/schema';
import { GET as keysGet, POST as keysPost } from '@/app/api/orgs/[orgId]/keys/route';
import { GET as proxyList, POST as proxyCreate } from '@/app/api/orgs/[orgId]/proxy-configs/route';
import { GET as proxyGet, POST as proxyAction } from '@/app/api/orgs/[orgId]/proxy-configs/[proxyConfigId]/route';
import { GET as provisioningGet, POST as provisioningPost } from '@/app/api/orgs/[orgId]/proxy-configs/[proxyConfigId]/provisioning/route';
import { GET as identitiesGet, POST as identitiesPost } from '@/app/api/orgs/[orgId]/cloud-identities/route';
import { DELETE as identityDelete } from '@/app/api/orgs/[orgId]/cloud-identities/[identityId]/route';
import { GET as settingsGet, PUT as settingsPut } from '@/app/api/orgs/[orgId]/settings/route';
import { GET as recipientsGet } from '@/app/api/orgs/[orgId]/tenant-configs/recipients/route';
import { GET as configsGet, POST as configsPost } from '@/app/api/orgs/[orgId]/tenant-configs/[kind]/route';
import { POST as reservePost } from '@/app/api/orgs/[orgId]/tenant-configs/[kind]/reservations/route';
import { PATCH as configPatch, PUT as configPut } from '@/app/api/orgs/[orgId]/tenant-configs/[kind]/[configId]/route';
import { GET as checksGet, POST as checksPost } from '@/app/api/orgs/[orgId]/tenant-configs/[kind]/[configId]/checks/route';
import { configFingerprint, generateProxyConfig, openProxyEnv, sealConfigToRecipients, tenantConfigContext, vendorGrantContext } from '@/lib/browser-sealing';
import { findOrCreateUserByEmail } from '@/lib/server/users';
import { createTestDatabase } from '../helpers/database';
import { newVendor, scoped, sessionCookieFor, type TestAdmin } from '../helpers/fixtures';
import { acceptedTenant, awsPayload, newProxy, protectInChild, sealAndCreate, setupVendorKeys } from '../helpers/broker-setup';

type Handler = (request: Request, context: { params: Promise<Record<string, string>> }) => Promise<Response>;

let handle: DatabaseHandle;
let acme: TestAdmin;
let globex: TestAdmin;
let tenant: TestAdmin;
let globexTenant: TestAdmin;
let keys: Awaited<ReturnType<typeof setupVendorKeys>>;
let proxy: Awaited<ReturnType<typeof newProxy>>;
let kmsId: number;

function call(handler: Handler, params: Record<string, string>, cookie: string | null, init: { method?: string; body?: unknown; query?: string } = {}) {
  const headers = new Headers();
  if (cookie) headers.set('cookie', cookie);
  let body: string | undefined;
  if (init.body !== undefined) {
    headers.set('content-type', 'application/json');
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  }
  return handler(new Request(`http://broker.test/api/orgs/${params.orgId}/x${init.query ?? ''}`, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body }), {
    params: Promise.resolve(params),
  });
}

beforeAll(async () => {
  handle = await createTestDatabase();
  acme = await newVendor(handle.db, 'Acme', 'admin@acme.test');
  globex = await newVendor(handle.db, 'Globex', 'admin@globex.test');
  const acmeCtx = await scoped(handle.db, acme);
  keys = await setupVendorKeys(acmeCtx);
  proxy = await newProxy(acmeCtx, keys.vendorPublicKey);
  tenant = await acceptedTenant(handle.db, acmeCtx, 'tenant-aws', 'boss@a.test');
  globexTenant = await acceptedTenant(handle.db, await scoped(handle.db, globex), 'g-1', 'boss@g.test');
  kmsId = (await sealAndCreate(await scoped(handle.db, tenant), 'kms', awsPayload('r'))).id;
}, 60_000);
afterAll(async () => handle.close());

describe('authorization: every new route answers 404 across organizations and to the wrong kind of organization', () => {
  const vendorRoutes: [string, Handler, Record<string, string>, { method?: string; body?: unknown }][] = [
    ['keys GET', keysGet, {}, {}],
    ['keys POST', keysPost, {}, { body: { action: 'grant', userId: 'x', sealedPrivateKey: 'y' } }],
    ['proxy list', proxyList, {}, {}],
    ['proxy create', proxyCreate, {}, { body: {} }],
    ['proxy get', proxyGet, { proxyConfigId: 'P' }, {}],
    ['proxy revoke', proxyAction, { proxyConfigId: 'P' }, { body: { action: 'revoke' } }],
    ['provisioning GET', provisioningGet, { proxyConfigId: 'P' }, {}],
    ['provisioning POST', provisioningPost, { proxyConfigId: 'P' }, { body: { copies: [] } }],
    ['identities POST', identitiesPost, {}, { body: { provider: 'aws', identity: 'arn:aws:iam::111122223333:role/x' } }],
    ['identity DELETE', identityDelete, { identityId: '00000000-0000-4000-8000-000000000000' }, { method: 'DELETE' }],
    ['settings PUT', settingsPut, {}, { method: 'PUT', body: { requireLeasing: true, requireLogging: false } }],
  ];
  it.each(vendorRoutes)('%s', async (_name, handler, extra, init) => {
    const params = { orgId: acme.orgId, ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, v === 'P' ? proxy.id : v])) };
    expect((await call(handler, params, null, init)).status).toBe(401);
    expect((await call(handler, params, globex.cookie, init)).status).toBe(404);
    // A tenant organization of this very vendor: the vendor collections do not exist for it.
    expect((await call(handler, { ...params, orgId: tenant.orgId }, tenant.cookie, init)).status).toBe(404);
    // Globex's own organization with Acme's proxy configuration id.
    if (extra.proxyConfigId) expect((await call(handler, { ...params, orgId: globex.orgId }, globex.cookie, init)).status).toBe(404);
  });

  const tenantRoutes: [string, Handler, Record<string, string>, { method?: string; body?: unknown }][] = [
    ['recipients', recipientsGet, {}, {}],
    ['configs GET', configsGet, { kind: 'kms' }, {}],
    ['configs POST', configsPost, { kind: 'kms' }, { body: {} }],
    ['reserve', reservePost, { kind: 'logging' }, { method: 'POST' }],
    ['status PATCH', configPatch, { kind: 'kms', configId: 'K' }, { method: 'PATCH', body: { status: 'disabled' } }],
    ['replace PUT', configPut, { kind: 'kms', configId: 'K' }, { method: 'PUT', body: {} }],
    ['checks GET', checksGet, { kind: 'kms', configId: 'K' }, {}],
    ['checks POST', checksPost, { kind: 'kms', configId: 'K' }, { method: 'POST' }],
  ];
  it.each(tenantRoutes)('%s', async (_name, handler, extra, init) => {
    const params = { orgId: tenant.orgId, ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, v === 'K' ? String(kmsId) : v])) };
    expect((await call(handler, params, null, init)).status).toBe(401);
    expect((await call(handler, params, acme.cookie, init)).status).toBe(404);
    expect((await call(handler, params, globexTenant.cookie, init)).status).toBe(404);
    expect((await call(handler, { ...params, orgId: acme.orgId }, acme.cookie, init)).status).toBe(404);
    if (extra.configId) {
      // Another tenant's config id inside its own organization: not found.
      expect((await call(handler, { ...params, orgId: globexTenant.orgId }, globexTenant.cookie, init)).status).toBe(404);
      for (const bad of ['0', '-1', '2147483648', 'abc', '1e3']) expect((await call(handler, { ...params, configId: bad }, tenant.cookie, init)).status).toBe(404);
    }
    if (extra.kind) expect((await call(handler, { ...params, kind: 'hsm' }, tenant.cookie, init)).status).toBe(404);
  });

  it('none of the refused requests above changed anything', async () => {
    const list = await (await call(configsGet, { orgId: tenant.orgId, kind: 'kms' }, tenant.cookie)).json();
    expect(list.configs[0]).toMatchObject({ id: kmsId, status: 'primary' });
  });
});

describe('tenant configs', () => {
  it('refuses a stale recipient set with 409; the re-fetched, re-sealed submission succeeds', async () => {
    const { id } = await (await call(reservePost, { orgId: tenant.orgId, kind: 'kms' }, tenant.cookie, { method: 'POST' })).json();
    const stale = await (await call(recipientsGet, { orgId: tenant.orgId }, tenant.cookie)).json();
    expect(stale.recipients.map((r: { kind: string }) => r.kind)).toEqual(['vendor', 'proxy']);
    const payload = { ...awsPayload('s'), keyArn: 'arn:aws:kms:us-east-1:111122223333:key/32345678-1234-1234-1234-123456789012' };
    const submit = async (recipients: { keyId: string; publicKey: string }[]) =>
      call(configsPost, { orgId: tenant.orgId, kind: 'kms' }, tenant.cookie, {
        body: {
          id,
          provider: 'aws',
          label: 'Second AWS',
          leasingAllowed: false,
          fingerprint: await configFingerprint('aws:x'),
          copies: sealConfigToRecipients(payload, recipients, tenantConfigContext('kms', stale.vendorId, stale.tenantId, id, 1)),
        },
      });
    // A proxy configuration is added meanwhile.
    const added = await newProxy(await scoped(handle.db, acme), keys.vendorPublicKey, 'added pod', false);
    const conflict = await submit(stale.recipients);
    expect(conflict.status).toBe(409);
    expect((await conflict.json()).error).toBe('conflict');
    // Dropping a recipient, or filing a blob under another recipient's id, is refused too.
    const fresh = await (await call(recipientsGet, { orgId: tenant.orgId }, tenant.cookie)).json();
    expect(fresh.recipients).toHaveLength(3);
    expect((await submit(fresh.recipients.slice(0, 2))).status).toBe(409);
    const swapped = sealConfigToRecipients(payload, fresh.recipients, tenantConfigContext('kms', fresh.vendorId, fresh.tenantId, id, 1));
    [swapped[0]!.blob, swapped[1]!.blob] = [swapped[1]!.blob, swapped[0]!.blob];
    const swappedResponse = await call(configsPost, { orgId: tenant.orgId, kind: 'kms' }, tenant.cookie, {
      body: { id, provider: 'aws', label: 'x', leasingAllowed: true, fingerprint: 'a'.repeat(32), copies: swapped },
    });
    expect(swappedResponse.status).toBe(400);
    const created = await submit(fresh.recipients);
    expect(created.status).toBe(201);
    expect((await created.json()).config).toMatchObject({ id, status: 'active', leasingAllowed: false, version: 1 });
    // The reservation is single-use.
    expect((await submit(fresh.recipients)).status).toBe(400);
    await call(proxyAction, { orgId: acme.orgId, proxyConfigId: added.id }, acme.cookie, { body: { action: 'revoke' } });
  });

  it('answers bad input field by field with 400', async () => {
    const post = (body: unknown) => call(configsPost, { orgId: tenant.orgId, kind: 'kms' }, tenant.cookie, { body });
    const malformed = await post({ id: 0, provider: 'ibm', label: '', leasingAllowed: 'yes', fingerprint: 'zz', copies: [] });
    expect(malformed.status).toBe(400);
    const { fieldErrors } = await malformed.json();
    expect(Object.keys(fieldErrors).sort()).toEqual(['copies', 'fingerprint', 'id', 'label', 'leasingAllowed', 'provider']);
    expect((await post('{nope')).status).toBe(400);
    expect((await call(configPatch, { orgId: tenant.orgId, kind: 'kms', configId: String(kmsId) }, tenant.cookie, { method: 'PATCH', body: { status: 'on' } })).status).toBe(400);
    expect((await call(configPatch, { orgId: tenant.orgId, kind: 'kms', configId: String(kmsId) }, tenant.cookie, { method: 'PATCH', body: {} })).status).toBe(400);
    expect((await call(settingsPut, { orgId: acme.orgId }, acme.cookie, { method: 'PUT', body: { requireLeasing: 'yes' } })).status).toBe(400);
    for (const body of [
      { provider: 'aws', identity: 'arn:aws:iam::12:role/x' },
      { provider: 'gcp', identity: 'someone@gmail.com' },
      { provider: 'azure', identity: 'not-a-guid' },
      { provider: 'oracle', identity: 'x' },
    ]) {
      expect((await call(identitiesPost, { orgId: acme.orgId }, acme.cookie, { body })).status).toBe(400);
    }
    const proxyBad = await call(proxyCreate, { orgId: acme.orgId }, acme.cookie, { body: { id: 'x', name: '', publicKey: 'abc', tokenHash: 'XYZ', sealedEnv: '!' } });
    expect(Object.keys((await proxyBad.json()).fieldErrors).sort()).toEqual(['id', 'name', 'publicKey', 'sealedEnv', 'tokenHash']);
    expect((await call(keysPost, { orgId: acme.orgId }, acme.cookie, { body: { action: 'steal' } })).status).toBe(400);
  });

  it('changes status: one primary, the previous primary becomes active; replace keeps the key path and bumps the version', async () => {
    const patch = (id: number, status: string) => call(configPatch, { orgId: tenant.orgId, kind: 'kms', configId: String(id) }, tenant.cookie, { method: 'PATCH', body: { status } });
    const list = async () => (await (await call(configsGet, { orgId: tenant.orgId, kind: 'kms' }, tenant.cookie)).json()).configs as { id: number; status: string; version: number; fingerprint: string }[];
    const second = (await list()).find((config) => config.id !== kmsId)!;
    expect((await patch(second.id, 'primary')).status).toBe(200);
    expect((await list()).map((config) => [config.id, config.status])).toEqual([
      [kmsId, 'active'],
      [second.id, 'primary'],
    ]);
    const recipients = await (await call(recipientsGet, { orgId: tenant.orgId }, tenant.cookie)).json();
    const replace = (fingerprint: string, version: number) =>
      call(configPut, { orgId: tenant.orgId, kind: 'kms', configId: String(kmsId) }, tenant.cookie, {
        method: 'PUT',
        body: { version, fingerprint, copies: sealConfigToRecipients(awsPayload('new'), recipients.recipients, tenantConfigContext('kms', recipients.vendorId, recipients.tenantId, kmsId, version)) },
      });
    const current = (await list()).find((config) => config.id === kmsId)!;
    expect((await replace('f'.repeat(32), 2)).status).toBe(400);
    expect((await replace(current.fingerprint, 3)).status).toBe(409);
    expect((await replace(current.fingerprint, 2)).status).toBe(200);
    expect((await list()).find((config) => config.id === kmsId)!.version).toBe(2);
    const copies = await handle.db.select().from(sealedConfigCopies).where(eq(sealedConfigCopies.configId, kmsId));
    expect(copies.every((copy) => copy.configVersion === 2)).toBe(true);
    expect((await patch(kmsId, 'disabled')).status).toBe(200);
    expect((await call(checksPost, { orgId: tenant.orgId, kind: 'kms', configId: String(kmsId) }, tenant.cookie, { method: 'POST' })).status).toBe(409);
    expect((await patch(kmsId, 'active')).status).toBe(200);
    const queued = await call(checksPost, { orgId: tenant.orgId, kind: 'kms', configId: String(kmsId) }, tenant.cookie, { method: 'POST' });
    expect(queued.status).toBe(201);
    const checks = await (await call(checksGet, { orgId: tenant.orgId, kind: 'kms', configId: String(kmsId) }, tenant.cookie)).json();
    expect(checks.checks[0]).toMatchObject({ status: 'queued', configId: kmsId });
  });
});

describe('vendor keys, proxy configurations and provisioning', () => {
  it('grants the vendor key to a second admin who opens it with their own key', async () => {
    const second = await findOrCreateUserByEmail(handle.db, 'second@acme.test');
    await handle.db.insert(memberships).values({ orgId: acme.orgId, userId: second.id });
    const secondCookie = await sessionCookieFor(handle.db, second.id);
    const pair = generateKeyPair();
    const register = await call(keysPost, { orgId: acme.orgId }, secondCookie, {
      body: { action: 'admin-key', publicKey: base64UrlEncode(pair.publicKey), protectedPrivateKey: await protectInChild(pair.privateKey, 'another long passphrase 77') },
    });
    expect(register.status).toBe(201);
    // Wrong: sealed to the granting admin instead of the grantee.
    const wrong = seal(keys.vendor.privateKey, keys.admin.publicKey, vendorGrantContext(acme.orgId, second.id));
    expect((await call(keysPost, { orgId: acme.orgId }, acme.cookie, { body: { action: 'grant', userId: second.id, sealedPrivateKey: wrong } })).status).toBe(400);
    // A Globex admin is not a grantee of Acme's key.
    expect((await call(keysPost, { orgId: acme.orgId }, acme.cookie, { body: { action: 'grant', userId: globex.user.id, sealedPrivateKey: wrong } })).status).toBe(404);
    // Someone without the vendor key cannot grant.
    expect((await call(keysPost, { orgId: acme.orgId }, secondCookie, { body: { action: 'grant', userId: second.id, sealedPrivateKey: wrong } })).status).toBe(409);
    const grant = seal(keys.vendor.privateKey, pair.publicKey, vendorGrantContext(acme.orgId, second.id));
    expect((await call(keysPost, { orgId: acme.orgId }, acme.cookie, { body: { action: 'grant', userId: second.id, sealedPrivateKey: grant } })).status).toBe(204);
    const state = await (await call(keysGet, { orgId: acme.orgId }, secondCookie)).json();
    expect(open(state.myGrant, pair.privateKey, vendorGrantContext(acme.orgId, second.id))).toEqual(keys.vendor.privateKey);
    expect(state.admins.map((admin: { email: string; hasGrant: boolean }) => [admin.email, admin.hasGrant])).toEqual([
      ['admin@acme.test', true],
      ['second@acme.test', true],
    ]);
    // A second vendor key is refused.
    const other = generateKeyPair();
    expect((await call(keysPost, { orgId: acme.orgId }, acme.cookie, { body: { action: 'vendor-key', publicKey: base64UrlEncode(other.publicKey), sealedGrant: seal(other.privateKey, keys.admin.publicKey, vendorGrantContext(acme.orgId, acme.user.id)) } })).status).toBe(409);
  }, 60_000);

  it('creates a configuration, provisions it in batches from the vendor copies (resumable), then activates it', async () => {
    const generated = await generateProxyConfig({ name: 'ap-south pod', brokerUrl: 'http://127.0.0.1:3000', vendorId: acme.orgId, vendorPublicKey: keys.vendorPublicKey });
    const created = await call(proxyCreate, { orgId: acme.orgId }, acme.cookie, {
      body: { id: generated.id, name: 'ap-south pod', publicKey: generated.publicKey, tokenHash: generated.tokenHash, sealedEnv: generated.sealedEnv },
    });
    expect(created.status).toBe(201);
    expect((await created.json()).proxyConfig.status).toBe('provisioning');
    const detail = (await (await call(proxyGet, { orgId: acme.orgId, proxyConfigId: generated.id }, acme.cookie)).json()).proxyConfig;
    expect(detail.tokenHash).toBeUndefined();
    expect(openProxyEnv(detail.sealedEnv, keys.vendor.privateKey, acme.orgId, generated.id, 1)).toBe(generated.env);
    expect((await call(proxyAction, { orgId: acme.orgId, proxyConfigId: generated.id }, acme.cookie, { body: { action: 'activate' } })).status).toBe(409);

    const batch = async () => (await call(provisioningGet, { orgId: acme.orgId, proxyConfigId: generated.id }, acme.cookie, { query: '?limit=1' })).json();
    let state = await batch();
    expect(state.total).toBeGreaterThanOrEqual(2);
    expect(state.remaining).toBe(state.total);
    let rounds = 0;
    while (state.remaining > 0) {
      expect(state.items).toHaveLength(1);
      const copies = state.items.map((item: { kind: 'kms' | 'logging'; configId: number; version: number; tenantId: string; vendorCopy: string }) => {
        const context = tenantConfigContext(item.kind, acme.orgId, item.tenantId, item.configId, item.version);
        const plaintext = open(item.vendorCopy, keys.vendor.privateKey, context);
        return { kind: item.kind, configId: item.configId, version: item.version, blob: seal(plaintext, Buffer.from(generated.publicKey, 'base64url'), context) };
      });
      const stored = await (await call(provisioningPost, { orgId: acme.orgId, proxyConfigId: generated.id }, acme.cookie, { body: { copies } })).json();
      expect(stored.stored).toBe(1);
      state = await batch();
      expect(state.remaining).toBe(stored.remaining);
      rounds += 1;
    }
    expect(rounds).toBe(state.total);
    // A copy sealed to some other key is refused.
    const foreign = generateKeyPair();
    const bogus = seal(new Uint8Array([1]), foreign.publicKey, tenantConfigContext('kms', acme.orgId, 'tenant-aws', kmsId, 2));
    expect((await call(provisioningPost, { orgId: acme.orgId, proxyConfigId: generated.id }, acme.cookie, { body: { copies: [{ kind: 'kms', configId: kmsId, version: 2, blob: bogus }] } })).status).toBe(400);
    const activated = await call(proxyAction, { orgId: acme.orgId, proxyConfigId: generated.id }, acme.cookie, { body: { action: 'activate' } });
    expect((await activated.json()).proxyConfig.status).toBe('active');
    const list = (await (await call(proxyList, { orgId: acme.orgId }, acme.cookie)).json()).proxyConfigs;
    expect(list.find((row: { id: string }) => row.id === generated.id)).toMatchObject({ status: 'active', name: 'ap-south pod' });
  });

  it('revocation deletes the token hash, the sealed env and every sealed copy for that key at once', async () => {
    const [row] = await handle.db.select().from(proxyConfigs).where(eq(proxyConfigs.id, proxy.id));
    expect((await handle.db.select().from(sealedConfigCopies).where(eq(sealedConfigCopies.recipientKeyId, row!.keyId))).length).toBeGreaterThan(0);
    const revoked = await call(proxyAction, { orgId: acme.orgId, proxyConfigId: proxy.id }, acme.cookie, { body: { action: 'revoke' } });
    expect(revoked.status).toBe(200);
    const [after] = await handle.db.select().from(proxyConfigs).where(eq(proxyConfigs.id, proxy.id));
    expect(after).toMatchObject({ status: 'revoked', tokenHash: null, sealedEnv: null });
    expect(await handle.db.select().from(sealedConfigCopies).where(eq(sealedConfigCopies.recipientKeyId, row!.keyId))).toEqual([]);
    expect((await call(proxyAction, { orgId: acme.orgId, proxyConfigId: proxy.id }, acme.cookie, { body: { action: 'revoke' } })).status).toBe(409);
    const recipients = await (await call(recipientsGet, { orgId: tenant.orgId }, tenant.cookie)).json();
    expect(recipients.recipients.map((r: { keyId: string }) => r.keyId)).not.toContain(row!.keyId);
  });

  it('cloud identities and settings: the vendor edits, its tenants read', async () => {
    const added = await call(identitiesPost, { orgId: acme.orgId }, acme.cookie, { body: { provider: 'gcp', identity: 'Proxy@acme-prod.iam.gserviceaccount.com', label: 'prod' } });
    expect(added.status).toBe(201);
    const identity = (await added.json()).cloudIdentity;
    expect(identity.identity).toBe('proxy@acme-prod.iam.gserviceaccount.com');
    expect((await call(identitiesPost, { orgId: acme.orgId }, acme.cookie, { body: { provider: 'gcp', identity: 'proxy@acme-prod.iam.gserviceaccount.com' } })).status).toBe(400);
    const seen = await (await call(identitiesGet, { orgId: tenant.orgId }, tenant.cookie)).json();
    expect(seen.cloudIdentities.map((row: { identity: string }) => row.identity)).toEqual(['proxy@acme-prod.iam.gserviceaccount.com']);
    expect((await (await call(identitiesGet, { orgId: globexTenant.orgId }, globexTenant.cookie)).json()).cloudIdentities).toEqual([]);
    expect((await call(identityDelete, { orgId: globex.orgId, identityId: identity.id }, globex.cookie, { method: 'DELETE' })).status).toBe(404);
    expect((await call(identityDelete, { orgId: acme.orgId, identityId: identity.id }, acme.cookie, { method: 'DELETE' })).status).toBe(204);
    expect((await call(settingsPut, { orgId: acme.orgId }, acme.cookie, { method: 'PUT', body: { requireLeasing: true, requireLogging: true } })).status).toBe(200);
    expect((await (await call(settingsGet, { orgId: tenant.orgId }, tenant.cookie)).json()).settings).toEqual({ requireLeasing: true, requireLogging: true });
    // The broker enforces the leasing requirement on new KMS configs.
    const { id } = await (await call(reservePost, { orgId: tenant.orgId, kind: 'kms' }, tenant.cookie, { method: 'POST' })).json();
    const set = await (await call(recipientsGet, { orgId: tenant.orgId }, tenant.cookie)).json();
    const refused = await call(configsPost, { orgId: tenant.orgId, kind: 'kms' }, tenant.cookie, {
      body: { id, provider: 'aws', label: 'No leasing', leasingAllowed: false, fingerprint: 'c'.repeat(32), copies: sealConfigToRecipients(awsPayload('l'), set.recipients, tenantConfigContext('kms', set.vendorId, set.tenantId, id, 1)) },
    });
    expect(refused.status).toBe(400);
    expect((await refused.json()).fieldErrors.leasingAllowed).toEqual(['Your vendor requires key leasing']);
  });
});
