import type { DatabaseHandle } from '@/db/client';
import { GET as listAudit } from '@/app/api/orgs/[orgId]/audit/route';
import { GET as exportAudit } from '@/app/api/orgs/[orgId]/audit/export/route';
import { GET as verifyAudit } from '@/app/api/orgs/[orgId]/audit/verify/route';
import { GET as listTenantsRoute, POST as inviteTenantRoute } from '@/app/api/orgs/[orgId]/tenants/route';
import { GET as health } from '@/app/api/health/route';
import { inviteTenant } from '@/lib/server/tenants';
import { acceptInvitation } from '@/lib/server/invitations';
import { findOrCreateUserByEmail } from '@/lib/server/users';
import { createTestDatabase } from '../helpers/database';
import { lastLinkTo, newVendor, scoped, sessionCookieFor, testMeta, tokenOf, type TestAdmin } from '../helpers/fixtures';

type Handler = (request: Request, context: { params: Promise<Record<string, string>> }) => Promise<Response>;

let handle: DatabaseHandle;
let acme: TestAdmin;
let globex: TestAdmin;
let tenantAdmin: TestAdmin;

function call(handler: Handler, orgId: string, cookie: string | null, path = '', init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  if (cookie) headers.set('cookie', cookie);
  return handler(new Request(`http://broker.test/api/orgs/${orgId}${path}`, { ...init, headers }), {
    params: Promise.resolve({ orgId }),
  });
}

beforeAll(async () => {
  handle = await createTestDatabase();
  acme = await newVendor(handle.db, 'Acme', 'admin@acme.test');
  globex = await newVendor(handle.db, 'Globex', 'admin@globex.test');
  const acmeCtx = await scoped(handle.db, acme);
  await inviteTenant(acmeCtx, { vendorTenantId: 'tenant-a', displayName: 'Tenant A', adminEmail: 'boss@a.test' });
  const invitee = await findOrCreateUserByEmail(handle.db, 'boss@a.test');
  const user = { id: invitee.id, email: invitee.email!, name: null };
  const { orgId } = await acceptInvitation(handle.db, user, tokenOf(await lastLinkTo(handle.db, 'boss@a.test')), testMeta);
  tenantAdmin = { user, orgId, cookie: await sessionCookieFor(handle.db, user.id) };
});
afterAll(async () => handle.close());

const orgScopedGets: [string, Handler, string][] = [
  ['audit list', listAudit, '/audit'],
  ['audit export', exportAudit, '/audit/export?format=csv'],
  ['audit verify', verifyAudit, '/audit/verify'],
  ['tenant list', listTenantsRoute, '/tenants'],
];

describe.each(orgScopedGets)('%s', (_name, handler, path) => {
  it('answers 401 without a session and 404 for another organization or an unknown/malformed id', async () => {
    expect((await call(handler, acme.orgId, null, path)).status).toBe(401);
    expect((await call(handler, acme.orgId, 'authjs.session-token=forged', path)).status).toBe(401);
    const foreign = await call(handler, acme.orgId, globex.cookie, path);
    expect(foreign.status).toBe(404);
    expect(await foreign.json()).toEqual({ error: 'not_found', message: 'Organization not found' });
    expect((await call(handler, '00000000-0000-4000-8000-000000000000', globex.cookie, path)).status).toBe(404);
    expect((await call(handler, "x'; drop table users;--", globex.cookie, path)).status).toBe(404);
  });

  it('answers 200 to an admin of the organization', async () => {
    expect((await call(handler, acme.orgId, acme.cookie, path)).status).toBe(200);
  });
});

describe('tenants API', () => {
  it('is a vendor-only collection: a tenant organization admin gets 404', async () => {
    expect((await call(listTenantsRoute, tenantAdmin.orgId, tenantAdmin.cookie, '/tenants')).status).toBe(404);
  });

  it('invites with 201, answers bad input with 400 and field errors, never 500', async () => {
    const post = (body: string, contentType = 'application/json') =>
      call(inviteTenantRoute, acme.orgId, acme.cookie, '/tenants', { method: 'POST', body, headers: { 'content-type': contentType } });
    const created = await post(JSON.stringify({ vendorTenantId: 'api-1', displayName: 'Api One', adminEmail: 'one@api.test' }));
    expect(created.status).toBe(201);
    expect((await created.json()).tenant).toMatchObject({ vendorTenantId: 'api-1', status: 'invited' });

    const duplicate = await post(JSON.stringify({ vendorTenantId: 'api-1', displayName: 'Again', adminEmail: 'x@api.test' }));
    expect(duplicate.status).toBe(400);
    expect((await duplicate.json()).fieldErrors.vendorTenantId).toBeDefined();
    for (const [body, type] of [
      ['{not json', 'application/json'],
      ['vendorTenantId=x', 'application/x-www-form-urlencoded'],
      ['null', 'application/json'],
      ['[]', 'application/json'],
      [JSON.stringify({ vendorTenantId: '', displayName: 'x'.repeat(201), adminEmail: 'nope' }), 'application/json'],
      [JSON.stringify({ vendorTenantId: 'a\u0000b', displayName: 'x', adminEmail: 'a@b.test' }), 'application/json'],
    ] as const) {
      const response = await post(body, type);
      expect(response.status).toBe(400);
      expect((await response.json()).error).toBe('invalid_input');
    }
    const foreign = await call(inviteTenantRoute, acme.orgId, globex.cookie, '/tenants', {
      method: 'POST',
      body: JSON.stringify({ vendorTenantId: 'sneaky', displayName: 'S', adminEmail: 's@s.test' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(foreign.status).toBe(404);
  });

  it('filters by query and rejects an unknown status with 400', async () => {
    const found = await call(listTenantsRoute, acme.orgId, acme.cookie, '/tenants?q=tenant-a&status=active');
    expect((await found.json()).tenants.map((t: { vendorTenantId: string }) => t.vendorTenantId)).toEqual(['tenant-a']);
    expect((await call(listTenantsRoute, acme.orgId, acme.cookie, '/tenants?status=deleted')).status).toBe(400);
  });
});

describe('audit API', () => {
  it("shows a tenant its own entries and the vendor's entries about it, but nothing else of the vendor", async () => {
    const response = await call(listAudit, tenantAdmin.orgId, tenantAdmin.cookie, '/audit');
    const { events } = (await response.json()) as { events: { action: string; orgId: string }[] };
    expect(events.map((e) => e.action).sort()).toEqual(['organization.created', 'tenant.invitation_accepted', 'tenant.invited']);
    expect(events.some((e) => e.action === 'organization.created' && e.orgId === acme.orgId)).toBe(false);
  });

  it('exports JSON lines and CSV with the filters applied', async () => {
    const jsonl = await call(exportAudit, acme.orgId, acme.cookie, '/audit/export?format=jsonl&action=tenant.');
    expect(jsonl.headers.get('content-type')).toContain('application/x-ndjson');
    expect(jsonl.headers.get('content-disposition')).toMatch(/attachment; filename="audit-.*\.jsonl"/);
    const lines = (await jsonl.text()).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.every((line) => line.action.startsWith('tenant.'))).toBe(true);
    expect(lines[0]).toHaveProperty('hash');

    const csv = await (await call(exportAudit, acme.orgId, acme.cookie, '/audit/export?format=csv')).text();
    const [header, ...rows] = csv.trim().split('\r\n');
    expect(header!.split(',')).toContain('prevHash');
    expect(rows.length).toBeGreaterThanOrEqual(4);
  });

  it('answers bad filters and formats with 400', async () => {
    for (const path of ['/audit/export?format=xml', '/audit/export', '/audit?from=yesterday', '/audit?limit=0', '/audit?limit=abc']) {
      const response = await call(path.includes('export') ? exportAudit : listAudit, acme.orgId, acme.cookie, path);
      expect(response.status).toBe(400);
    }
  });

  it('verifies the chain', async () => {
    const body = await (await call(verifyAudit, acme.orgId, acme.cookie, '/audit/verify')).json();
    expect(body).toMatchObject({ ok: true, firstBroken: null });
    expect(body.entries).toBeGreaterThanOrEqual(4);
  });
});

it('health answers 200 when the database does', async () => {
  const response = await health();
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ status: 'ok' });
});
