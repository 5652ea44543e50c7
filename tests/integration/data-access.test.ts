import { eq, sql } from 'drizzle-orm';
import type { DatabaseHandle } from '@/db/client';
import { auditEvents, invitations, tenants } from '@/db/schema';
import { BrokerError } from '@/lib/errors';
import { appendAudit, listAuditEvents, verifyAuditChain } from '@/lib/server/audit';
import { acceptInvitation, inviteAdmin, previewInvitation } from '@/lib/server/invitations';
import { listAdmins } from '@/lib/server/organizations';
import { requireOrgAdmin, listUserOrganizations } from '@/lib/server/org-scope';
import { archiveTenant, inviteTenant, listTenants, resendTenantInvitation, revokeTenantInvitation } from '@/lib/server/tenants';
import { findOrCreateUserByEmail } from '@/lib/server/users';
import { auditFilterSchema } from '@/lib/validation';
import { createTestDatabase } from '../helpers/database';
import { lastLinkTo, newVendor, scoped, testMeta, tokenOf, type TestAdmin } from '../helpers/fixtures';

let handle: DatabaseHandle;
let acme: TestAdmin;
let globex: TestAdmin;
const allAudit = auditFilterSchema.parse({});

const code = async (promise: Promise<unknown>) => {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    if (error instanceof BrokerError) return error.code;
    throw error;
  }
};

beforeAll(async () => {
  process.env.BROKER_URL = 'http://broker.test';
  handle = await createTestDatabase();
  acme = await newVendor(handle.db, 'Acme', 'admin@acme.test');
  globex = await newVendor(handle.db, 'Globex', 'admin@globex.test');
});
afterAll(async () => handle.close());

describe('tenant invitations', () => {
  it('invites a tenant, mails a single-use link stored only as a hash, and the invitee accepts it', async () => {
    const ctx = await scoped(handle.db, acme);
    const tenant = await inviteTenant(ctx, { vendorTenantId: ' t-1 '.trim(), displayName: 'Tenant One', adminEmail: 'Boss@T1.test' });
    expect(tenant.status).toBe('invited');
    const link = await lastLinkTo(handle.db, 'boss@t1.test');
    expect(link).toMatch(/^http:\/\/broker\.test\/invite\/ocmk_inv_/);
    const token = tokenOf(link);
    const [stored] = await handle.db.select().from(invitations).where(eq(invitations.tenantId, tenant.id));
    expect(stored!.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(token);
    expect(stored!.expiresAt.getTime() - Date.now()).toBeGreaterThan(6.9 * 24 * 3600_000);

    expect((await previewInvitation(handle.db, token)).tenantName).toBe('Tenant One');
    const wrongUser = await findOrCreateUserByEmail(handle.db, 'someone@else.test');
    expect(await code(acceptInvitation(handle.db, { id: wrongUser.id, email: wrongUser.email!, name: null }, token, testMeta))).toBe(
      'WRONG_ACCOUNT',
    );
    const invitee = await findOrCreateUserByEmail(handle.db, 'boss@t1.test');
    const inviteeUser = { id: invitee.id, email: invitee.email!, name: null };
    const { orgId } = await acceptInvitation(handle.db, inviteeUser, token, testMeta);
    expect(await code(acceptInvitation(handle.db, inviteeUser, token, testMeta))).toBe('NOT_FOUND');

    const [active] = await handle.db.select().from(tenants).where(eq(tenants.id, tenant.id));
    expect(active).toMatchObject({ status: 'active', tenantOrgId: orgId });
    expect(await listUserOrganizations(handle.db, invitee.id)).toEqual([{ id: orgId, kind: 'tenant', name: 'Tenant One' }]);

    // The tenant sees its own entries and the vendor's entries about it, not the vendor's other entries.
    const tenantCtx = await scoped(handle.db, { user: inviteeUser, orgId });
    const seen = await listAuditEvents(tenantCtx, allAudit);
    expect(seen.map((e) => e.action).sort()).toEqual(['organization.created', 'tenant.invitation_accepted', 'tenant.invited']);
    expect(seen.find((e) => e.action === 'tenant.invited')!.orgName).toBe('Acme');
  });

  it('rejects a duplicate vendor tenant id and bad input with field errors', async () => {
    const ctx = await scoped(handle.db, acme);
    await inviteTenant(ctx, { vendorTenantId: 'dup', displayName: 'D', adminEmail: 'd@d.test' });
    const duplicate = await inviteTenant(ctx, { vendorTenantId: 'dup', displayName: 'D2', adminEmail: 'd2@d.test' }).catch((e) => e);
    expect(duplicate.fieldErrors.vendorTenantId).toEqual(['This tenant id is already used by another tenant']);
    // Another vendor may use the same id.
    await expect(inviteTenant(await scoped(handle.db, globex), { vendorTenantId: 'dup', displayName: 'G', adminEmail: 'g@g.test' })).resolves.toBeTruthy();
    for (const bad of [
      { vendorTenantId: ' lead', displayName: 'x', adminEmail: 'a@b.test' },
      { vendorTenantId: 'x'.repeat(129), displayName: 'x', adminEmail: 'a@b.test' },
      { vendorTenantId: 'tab\tid', displayName: 'x', adminEmail: 'a@b.test' },
      { vendorTenantId: 'ok', displayName: '', adminEmail: 'not-an-email' },
      { vendorTenantId: 42, displayName: null, adminEmail: [] },
      null,
    ]) {
      const error = await inviteTenant(ctx, bad).catch((e) => e);
      expect(error).toBeInstanceOf(BrokerError);
      expect(error.code).toBe('INVALID_INPUT');
      expect(Object.keys(error.fieldErrors).length).toBeGreaterThan(0);
    }
  });

  it('resends (old link dies), revokes, re-invites and archives; searches by id, name and e-mail', async () => {
    const ctx = await scoped(handle.db, acme);
    const tenant = await inviteTenant(ctx, { vendorTenantId: 'life-cycle', displayName: 'Cycle Ltd', adminEmail: 'c@cycle.test' });
    const firstToken = tokenOf(await lastLinkTo(handle.db, 'c@cycle.test'));
    await resendTenantInvitation(ctx, tenant.id);
    const secondToken = tokenOf(await lastLinkTo(handle.db, 'c@cycle.test'));
    expect(secondToken).not.toBe(firstToken);
    expect(await code(previewInvitation(handle.db, firstToken))).toBe('NOT_FOUND');
    expect((await revokeTenantInvitation(ctx, tenant.id)).status).toBe('revoked');
    expect(await code(previewInvitation(handle.db, secondToken))).toBe('NOT_FOUND');
    expect(await code(revokeTenantInvitation(ctx, tenant.id))).toBe('CONFLICT');
    expect((await resendTenantInvitation(ctx, tenant.id)).status).toBe('invited');
    expect((await archiveTenant(ctx, tenant.id)).status).toBe('archived');
    expect(await code(archiveTenant(ctx, tenant.id))).toBe('CONFLICT');

    expect((await listTenants(ctx, { q: 'cycle' })).map((t) => t.vendorTenantId)).toEqual(['life-cycle']);
    expect((await listTenants(ctx, { q: 'c@cycle' })).length).toBe(1);
    expect((await listTenants(ctx, { status: 'archived' })).map((t) => t.id)).toEqual([tenant.id]);
    expect((await listTenants(ctx, { q: '%' })).length).toBe(0);
    expect(await code(listTenants(ctx, { status: 'bogus' }))).toBe('INVALID_INPUT');
  });

  it('expired invitations cannot be accepted', async () => {
    const ctx = await scoped(handle.db, acme);
    const tenant = await inviteTenant(ctx, { vendorTenantId: 'late', displayName: 'Late', adminEmail: 'late@late.test' });
    const token = tokenOf(await lastLinkTo(handle.db, 'late@late.test'));
    await handle.db.update(invitations).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(invitations.tenantId, tenant.id));
    const user = await findOrCreateUserByEmail(handle.db, 'late@late.test');
    expect(await code(acceptInvitation(handle.db, { id: user.id, email: user.email!, name: null }, token, testMeta))).toBe('NOT_FOUND');
  });
});

describe('authorization is scoped to the caller organization', () => {
  it('another vendor cannot see or change a tenant: NOT_FOUND, exactly like a missing one', async () => {
    const acmeTenant = await inviteTenant(await scoped(handle.db, acme), { vendorTenantId: 'private', displayName: 'P', adminEmail: 'p@p.test' });
    const globexCtx = await scoped(handle.db, globex);
    expect((await listTenants(globexCtx)).some((t) => t.id === acmeTenant.id)).toBe(false);
    for (const op of [resendTenantInvitation, revokeTenantInvitation, archiveTenant]) {
      expect(await code(op(globexCtx, acmeTenant.id))).toBe('NOT_FOUND');
      expect(await code(op(globexCtx, '00000000-0000-4000-8000-000000000000'))).toBe('NOT_FOUND');
      expect(await code(op(globexCtx, 'not-a-uuid'))).toBe('NOT_FOUND');
    }
    const [unchanged] = await handle.db.select().from(tenants).where(eq(tenants.id, acmeTenant.id));
    expect(unchanged!.status).toBe('invited');
    expect((await listAuditEvents(globexCtx, allAudit)).every((e) => e.orgId === globex.orgId)).toBe(true);
  });

  it('requireOrgAdmin hides organizations the user does not administer', async () => {
    expect(await code(requireOrgAdmin(handle.db, globex.user, acme.orgId))).toBe('NOT_FOUND');
    expect(await code(requireOrgAdmin(handle.db, acme.user, acme.orgId, 'tenant'))).toBe('NOT_FOUND');
    expect(await code(requireOrgAdmin(handle.db, null, acme.orgId))).toBe('UNAUTHENTICATED');
  });
});

describe('admin invitations', () => {
  it('invites a second admin who accepts and becomes an equal admin', async () => {
    const ctx = await scoped(handle.db, acme);
    await inviteAdmin(ctx, { email: 'Second@Acme.test' });
    expect((await listAdmins(ctx)).pending.map((p) => p.email)).toEqual(['second@acme.test']);
    expect((await inviteAdmin(ctx, { email: 'admin@acme.test' }).catch((e) => e)).fieldErrors.email).toBeDefined();
    const token = tokenOf(await lastLinkTo(handle.db, 'second@acme.test'));
    const second = await findOrCreateUserByEmail(handle.db, 'second@acme.test');
    await acceptInvitation(handle.db, { id: second.id, email: second.email!, name: null }, token, testMeta);
    const admins = await listAdmins(ctx);
    expect(admins.admins.map((a) => a.email)).toEqual(['admin@acme.test', 'second@acme.test']);
    expect(admins.pending).toEqual([]);
  });
});

describe('audit hash chain', () => {
  it('verifies an intact chain and reports the first altered, relinked or removed entry', async () => {
    const { orgId } = globex;
    for (let i = 0; i < 3; i++) {
      await appendAudit(handle.db, { orgId, actor: { type: 'system', id: null, label: 'test' }, action: 'test.event', details: { i, nested: { b: 1, a: [1, 'x'] } }, meta: testMeta });
    }
    const intact = await verifyAuditChain(handle.db, orgId);
    expect(intact).toMatchObject({ ok: true, firstBroken: null });
    const entries = await handle.db.select().from(auditEvents).where(eq(auditEvents.orgId, orgId)).orderBy(auditEvents.seq);
    const victim = entries[2]!;

    await handle.db.update(auditEvents).set({ action: 'tampered' }).where(eq(auditEvents.id, victim.id));
    expect((await verifyAuditChain(handle.db, orgId)).firstBroken).toEqual({ seq: victim.seq, reason: 'entry content does not match its hash' });
    await handle.db.update(auditEvents).set({ action: victim.action }).where(eq(auditEvents.id, victim.id));
    expect((await verifyAuditChain(handle.db, orgId)).ok).toBe(true);

    await handle.db.execute(sql`delete from audit_events where id = ${victim.id}`);
    const removed = await verifyAuditChain(handle.db, orgId);
    expect(removed.ok).toBe(false);
    expect(removed.firstBroken!.seq).toBe(victim.seq + 1);
  });

  it('keeps one gap-free chain under concurrent appends', async () => {
    const { orgId } = acme;
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        appendAudit(handle.db, { orgId, actor: { type: 'system', id: null, label: 'test' }, action: 'test.concurrent', details: { i }, meta: testMeta }),
      ),
    );
    expect(await verifyAuditChain(handle.db, orgId)).toMatchObject({ ok: true });
  });
});
