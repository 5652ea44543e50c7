import { eq } from 'drizzle-orm';
import type { DatabaseHandle } from '@/db/client';
import { invitations, tenants } from '@/db/schema';
import { idleState, type ActionState } from '@/lib/action-state';
import { resetEnvForTests } from '@/lib/env';
import { inviteAdminAction, inviteTenantAction, revokeAdminInvitationAction, tenantCommandAction } from '@/app/orgs/[orgId]/actions';
import { acceptInvitationAction } from '@/app/invite/[token]/actions';
import { requestSignInLinkAction, signInWithOidcAction } from '@/app/sign-in/actions';
import { firstRunAction } from '@/app/first-run/actions';
import { inviteTenant } from '@/lib/server/tenants';
import { findOrCreateUserByEmail } from '@/lib/server/users';
import { createTestDatabase } from '../helpers/database';
import { lastLinkTo, newVendor, scoped, sessionCookieFor, tokenOf, type TestAdmin } from '../helpers/fixtures';
import { form, outcomeOf, setIncomingRequest } from '../helpers/next-request';

jest.mock('next/headers', () => ({
  headers: async () => jest.requireActual<typeof import('../helpers/next-request')>('../helpers/next-request').incomingRequest.headers,
  cookies: async () => ({ get: () => undefined, set: () => undefined }),
}));

let handle: DatabaseHandle;
let acme: TestAdmin;
let globex: TestAdmin;
let acmeTenantId: string;

beforeAll(async () => {
  process.env.RATE_LIMIT_SIGN_IN_PER_HOUR = '3';
  process.env.RATE_LIMIT_INVITATION_ACCEPT_PER_HOUR = '4';
  resetEnvForTests();
  handle = await createTestDatabase();
  acme = await newVendor(handle.db, 'Acme', 'admin@acme.test');
  globex = await newVendor(handle.db, 'Globex', 'admin@globex.test');
  acmeTenantId = (await inviteTenant(await scoped(handle.db, acme), { vendorTenantId: 'acme-t', displayName: 'T', adminEmail: 't@t.test' })).id;
});
afterAll(async () => {
  delete process.env.RATE_LIMIT_SIGN_IN_PER_HOUR;
  delete process.env.RATE_LIMIT_INVITATION_ACCEPT_PER_HOUR;
  resetEnvForTests();
  await handle.close();
});

const tenantStatus = async (id: string) => (await handle.db.select().from(tenants).where(eq(tenants.id, id)))[0]!.status;

describe('org-scoped actions answer 404 for another organization', () => {
  const inviteFields = { vendorTenantId: 'x-1', displayName: 'X', adminEmail: 'x@x.test' };

  it('inviteTenantAction', async () => {
    setIncomingRequest(globex.cookie);
    expect(await outcomeOf(() => inviteTenantAction(idleState, form({ orgId: acme.orgId, ...inviteFields })))).toEqual({ kind: 'not-found' });
    expect(await outcomeOf(() => inviteTenantAction(idleState, form({ orgId: 'garbage', ...inviteFields })))).toEqual({ kind: 'not-found' });
    expect(await outcomeOf(() => inviteTenantAction(idleState, form(inviteFields)))).toEqual({ kind: 'not-found' });
    const [created] = await handle.db.select().from(tenants).where(eq(tenants.vendorTenantId, 'x-1'));
    expect(created).toBeUndefined();
  });

  it.each(['resend', 'revoke', 'archive'])('tenantCommandAction %s', async (intent) => {
    setIncomingRequest(globex.cookie);
    expect(await outcomeOf(() => tenantCommandAction(form({ orgId: acme.orgId, tenantId: acmeTenantId, intent })))).toEqual({ kind: 'not-found' });
    // Own organization, someone else's tenant id: also 404.
    expect(await outcomeOf(() => tenantCommandAction(form({ orgId: globex.orgId, tenantId: acmeTenantId, intent })))).toEqual({ kind: 'not-found' });
    expect(await tenantStatus(acmeTenantId)).toBe('invited');
  });

  it('inviteAdminAction and revokeAdminInvitationAction', async () => {
    setIncomingRequest(acme.cookie);
    await outcomeOf(() => inviteAdminAction(idleState, form({ orgId: acme.orgId, email: 'second@acme.test' })));
    const [pending] = await handle.db.select().from(invitations).where(eq(invitations.email, 'second@acme.test'));
    setIncomingRequest(globex.cookie);
    expect(await outcomeOf(() => inviteAdminAction(idleState, form({ orgId: acme.orgId, email: 'evil@globex.test' })))).toEqual({ kind: 'not-found' });
    expect(await outcomeOf(() => revokeAdminInvitationAction(form({ orgId: acme.orgId, invitationId: pending!.id })))).toEqual({ kind: 'not-found' });
    expect(await outcomeOf(() => revokeAdminInvitationAction(form({ orgId: globex.orgId, invitationId: pending!.id })))).toEqual({ kind: 'not-found' });
    const [still] = await handle.db.select().from(invitations).where(eq(invitations.id, pending!.id));
    expect(still!.revokedAt).toBeNull();
    setIncomingRequest(acme.cookie);
    expect(await outcomeOf(() => revokeAdminInvitationAction(form({ orgId: acme.orgId, invitationId: pending!.id })))).toEqual({
      kind: 'redirect',
      location: `/orgs/${acme.orgId}/admins?notice=Invitation%20revoked`,
    });
  });

  it('signed-out callers are sent to sign-in', async () => {
    setIncomingRequest(null);
    expect(await outcomeOf(() => inviteTenantAction(idleState, form({ orgId: acme.orgId, ...inviteFields })))).toEqual({
      kind: 'redirect',
      location: '/sign-in',
    });
    expect(await outcomeOf(() => tenantCommandAction(form({ orgId: acme.orgId, tenantId: acmeTenantId, intent: 'archive' })))).toEqual({
      kind: 'redirect',
      location: '/sign-in',
    });
  });
});

describe('actions validate input and never fail with a 500', () => {
  it('inviteTenantAction returns field errors next to each field', async () => {
    setIncomingRequest(acme.cookie);
    const result = (await inviteTenantAction(idleState, form({ orgId: acme.orgId, vendorTenantId: ' padded', displayName: '', adminEmail: 'nope' }))) as ActionState;
    expect(result.status).toBe('error');
    if (result.status !== 'error') return;
    expect(Object.keys(result.fieldErrors ?? {}).sort()).toEqual(['adminEmail', 'displayName', 'vendorTenantId']);
    expect(result.values?.adminEmail).toBe('nope');
    const ok = await inviteTenantAction(idleState, form({ orgId: acme.orgId, vendorTenantId: 'good', displayName: 'Good', adminEmail: 'g@good.test' }));
    expect(ok).toEqual({ status: 'ok', message: 'Invitation sent to g@good.test for tenant "good".' });
  });

  it('tenantCommandAction: unknown intent -> 404, impossible transition -> error notice', async () => {
    setIncomingRequest(acme.cookie);
    expect(await outcomeOf(() => tenantCommandAction(form({ orgId: acme.orgId, tenantId: acmeTenantId, intent: 'delete' })))).toEqual({ kind: 'not-found' });
    expect(await outcomeOf(() => tenantCommandAction(form({ orgId: acme.orgId, tenantId: acmeTenantId, intent: 'archive' })))).toEqual({
      kind: 'redirect',
      location: `/orgs/${acme.orgId}/tenants?notice=Tenant%20archived`,
    });
    const again = await outcomeOf(() => tenantCommandAction(form({ orgId: acme.orgId, tenantId: acmeTenantId, intent: 'revoke' })));
    expect(again).toEqual({ kind: 'redirect', location: `/orgs/${acme.orgId}/tenants?error=${encodeURIComponent('Not possible while the tenant is archived')}` });
  });

  it('inviteAdminAction rejects a bad e-mail', async () => {
    setIncomingRequest(acme.cookie);
    const result = await inviteAdminAction(idleState, form({ orgId: acme.orgId, email: 'not an email' }));
    expect(result).toMatchObject({ status: 'error', fieldErrors: { email: ['Enter a valid e-mail address'] } });
  });

  it('firstRunAction refuses once a vendor exists and validates input', async () => {
    setIncomingRequest(null);
    expect(await outcomeOf(() => firstRunAction(idleState, form({ name: 'Evil', adminEmail: 'evil@evil.test' })))).toEqual({
      kind: 'redirect',
      location: '/sign-in',
    });
    const invalid = await firstRunAction(idleState, form({ name: '', adminEmail: '' }));
    expect(invalid).toMatchObject({ status: 'error' });
  });
});

describe('sign-in link requests', () => {
  it('validates the address and answers unknown addresses like known ones, without an e-mail', async () => {
    setIncomingRequest(null, { 'x-forwarded-for': '192.0.2.1' });
    expect(await requestSignInLinkAction(idleState, form({ email: 'nope' }))).toMatchObject({
      status: 'error',
      fieldErrors: { email: ['Enter a valid e-mail address'] },
    });
    expect(await outcomeOf(() => requestSignInLinkAction(idleState, form({ email: 'stranger@nowhere.test' })))).toEqual({
      kind: 'redirect',
      location: '/sign-in/check-email?email=stranger%40nowhere.test',
    });
    await expect(lastLinkTo(handle.db, 'stranger@nowhere.test')).rejects.toThrow('no e-mail');
  });

  it('OIDC sign-in without an OIDC provider configured goes back to the sign-in page', async () => {
    setIncomingRequest(null);
    expect(await outcomeOf(() => signInWithOidcAction(form({ callbackUrl: 'https://evil.test/' })))).toEqual({ kind: 'redirect', location: '/sign-in' });
  });

  it('rate-limits per address', async () => {
    setIncomingRequest(null, { 'x-forwarded-for': '192.0.2.2' });
    for (let i = 0; i < 3; i++) {
      expect((await outcomeOf(() => requestSignInLinkAction(idleState, form({ email: 'flood@nowhere.test' })))).kind).toBe('redirect');
    }
    expect(await requestSignInLinkAction(idleState, form({ email: 'flood@nowhere.test' }))).toMatchObject({
      status: 'error',
      message: 'Too many sign-in e-mails requested. Try again in an hour.',
    });
  });
});

describe('invitation acceptance', () => {
  it('requires sign-in, refuses unknown tokens with 404, and is rate-limited', async () => {
    setIncomingRequest(null);
    expect(await outcomeOf(() => acceptInvitationAction(form({ token: 'ocmk_inv_x' })))).toMatchObject({ kind: 'redirect' });
    const user = await findOrCreateUserByEmail(handle.db, 'guesser@x.test');
    setIncomingRequest(await sessionCookieFor(handle.db, user.id), { 'x-forwarded-for': '192.0.2.3' });
    for (let i = 0; i < 4; i++) {
      expect(await outcomeOf(() => acceptInvitationAction(form({ token: `ocmk_inv_guess${i}` })))).toEqual({ kind: 'not-found' });
    }
    expect(await outcomeOf(() => acceptInvitationAction(form({ token: 'ocmk_inv_guess5' })))).toEqual({
      kind: 'redirect',
      location: '/invite/ocmk_inv_guess5?error=RATE_LIMITED',
    });
  });

  it('accepts for the invited address and lands in the new tenant organization', async () => {
    setIncomingRequest(acme.cookie);
    await inviteTenantAction(idleState, form({ orgId: acme.orgId, vendorTenantId: 'joiner', displayName: 'Joiner', adminEmail: 'joiner@j.test' }));
    const token = tokenOf(await lastLinkTo(handle.db, 'joiner@j.test'));
    const wrong = await findOrCreateUserByEmail(handle.db, 'wrong@j.test');
    setIncomingRequest(await sessionCookieFor(handle.db, wrong.id));
    expect(await outcomeOf(() => acceptInvitationAction(form({ token })))).toEqual({
      kind: 'redirect',
      location: `/invite/${encodeURIComponent(token)}?error=WRONG_ACCOUNT`,
    });
    const joiner = await findOrCreateUserByEmail(handle.db, 'joiner@j.test');
    setIncomingRequest(await sessionCookieFor(handle.db, joiner.id));
    const accepted = await outcomeOf(() => acceptInvitationAction(form({ token })));
    expect(accepted.kind).toBe('redirect');
    expect(accepted.kind === 'redirect' && accepted.location).toMatch(/^\/orgs\/[0-9a-f-]{36}$/);
    const [joined] = await handle.db.select().from(tenants).where(eq(tenants.vendorTenantId, 'joiner'));
    expect(joined).toMatchObject({ status: 'active' });
    expect(accepted.kind === 'redirect' && accepted.location).toBe(`/orgs/${joined!.tenantOrgId}`);
  });
});
