import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium';
import { freePort, repoRoot, startProcess, type ManagedProcess } from '../helpers/processes';

// The broker as users get it: `node scripts/start.mjs` (production build of Next.js, embedded PGlite in a fresh
// data directory), a real OpenID provider, and Debian's Chromium driven by playwright-core.

let broker: ManagedProcess;
let oidc: ManagedProcess;
let browser: Browser;
let baseUrl: string;
let dataDir: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  const [brokerPort, oidcPort] = [await freePort(), await freePort()];
  // localhost, not 127.0.0.1: Next.js reports loopback IPs as "localhost" to Auth.js (see lib/env.ts).
  baseUrl = `http://localhost:${brokerPort}`;
  const oidcSecret = randomBytes(16).toString('hex');
  oidc = await startProcess(
    process.execPath,
    [path.join(repoRoot, 'tests/e2e/support/oidc-server.mjs'), String(oidcPort), `${baseUrl}/api/auth/callback/oidc`, oidcSecret],
    { ...process.env, NODE_ENV: 'development' },
    /OIDC_READY/,
    30_000,
  );
  dataDir = mkdtempSync(path.join(tmpdir(), 'opencmk-e2e-'));
  // The stack under test uses its own embedded database and the outbox, whatever the calling shell has set.
  const { DATABASE_URL: _database, SMTP_URL: _smtp, NODE_ENV: _mode, ...inherited } = process.env;
  const env: Record<string, string | undefined> = {
    ...inherited,
    PORT: String(brokerPort),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    BROKER_URL: baseUrl,
    AUTH_SECRET: randomBytes(32).toString('base64url'),
    OPENCMK_DEMO: '1',
    OIDC_ISSUER: `http://127.0.0.1:${oidcPort}`,
    OIDC_CLIENT_ID: 'opencmk-broker',
    OIDC_CLIENT_SECRET: oidcSecret,
    OIDC_NAME: 'Test IdP',
    NEXT_TELEMETRY_DISABLED: '1',
  };
  // Builds first when .next is missing or stale (a fresh clone in CI), hence the long timeout.
  broker = await startProcess(process.execPath, [path.join(repoRoot, 'scripts/start.mjs')], env, /Configuration Broker: http/, 400_000);
  browser = await launchChromium();
}, 480_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await broker?.stop();
  // Kept for diagnosis when a step fails: the broker's own log (it holds no secrets beyond this throw-away run's).
  if (broker) writeFileSync(path.join(tmpdir(), 'opencmk-e2e-broker.log'), broker.output());
  await oidc?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ baseURL: baseUrl });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  return page;
}

/** Follows the newest outbox e-mail to `email` whose link contains `kind` (what a user clicks in their inbox). */
async function followOutboxLink(page: Page, email: string, kind: '/api/auth/callback/email' | '/invite/'): Promise<void> {
  await page.goto('/dev/outbox');
  const link = page.locator(`li[data-outbox-to="${email}"] a[data-outbox-link][href*="${kind}"]`).first();
  const href = await link.getAttribute('href');
  expect(href).toBeTruthy();
  await page.goto(href!);
}

async function auditActions(page: Page): Promise<string[]> {
  return page.locator('tr[data-audit-action]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-audit-action')!));
}

let vendorOrgPath: string;

test('a vendor admin signs up on first run and signs in through the outbox link', async () => {
  const vendor = await newPage();
  await vendor.goto('/');
  expect(new URL(vendor.url()).pathname).toBe('/first-run');
  await vendor.getByRole('button', { name: 'Create vendor organization' }).click();
  await expect(vendor.locator('[data-field-error="name"]').textContent()).resolves.toBe('Enter a name');
  await vendor.getByLabel('Vendor organization name').fill('Acme');
  await vendor.getByLabel('Your e-mail (first admin)').fill('admin@acme.test');
  await vendor.getByRole('button', { name: 'Create vendor organization' }).click();
  await vendor.waitForURL(/\/sign-in\/check-email/);

  await followOutboxLink(vendor, 'admin@acme.test', '/api/auth/callback/email');
  await vendor.waitForURL(/\/orgs\/[0-9a-f-]+\/tenants$/);
  vendorOrgPath = new URL(vendor.url()).pathname.replace(/\/tenants$/, '');
  await expect(vendor.locator('[data-current-org]').textContent()).resolves.toBe('Acme');

  // Invite a tenant: errors next to the fields first, then a valid invitation.
  await vendor.getByLabel('Tenant id').fill(' bad');
  await vendor.getByLabel('Tenant admin e-mail').fill('not-an-email');
  await vendor.getByRole('button', { name: 'Invite tenant' }).click();
  await expect(vendor.locator('[data-field-error="vendorTenantId"]').textContent()).resolves.toContain('No leading or trailing spaces');
  await expect(vendor.locator('[data-field-error="adminEmail"]').textContent()).resolves.toContain('valid e-mail');
  await vendor.getByLabel('Tenant id').fill('tenant-e2e');
  await vendor.getByLabel('Display name').fill('E2E Tenant');
  await vendor.getByLabel('Tenant admin e-mail').fill('boss@tenant.test');
  await vendor.getByRole('button', { name: 'Invite tenant' }).click();
  await vendor.getByText('Invitation sent to boss@tenant.test').waitFor();
  await vendor.goto(`${vendorOrgPath}/tenants`);
  await expect(vendor.locator('tr[data-tenant="tenant-e2e"]').textContent()).resolves.toContain('invited');
});

test('the tenant admin accepts in a second browser context and sees the vendor actions about the tenant', async () => {
  const tenant = await newPage();
  await followOutboxLink(tenant, 'boss@tenant.test', '/invite/');
  await tenant.getByText('Acme invites you to set up "E2E Tenant"').waitFor();
  await tenant.getByRole('link', { name: 'Sign in as boss@tenant.test to accept' }).click();
  await tenant.waitForURL(/\/sign-in\?/);
  await expect(tenant.getByLabel('Work e-mail').inputValue()).resolves.toBe('boss@tenant.test');
  await tenant.getByRole('button', { name: 'E-mail me a sign-in link' }).click();
  await tenant.waitForURL(/\/sign-in\/check-email/);

  await followOutboxLink(tenant, 'boss@tenant.test', '/api/auth/callback/email');
  await tenant.waitForURL(/\/invite\//);
  await tenant.getByRole('button', { name: 'Accept invitation' }).click();
  await tenant.waitForURL(/\/orgs\/[0-9a-f-]+\/audit$/);
  await expect(tenant.locator('[data-current-org]').textContent()).resolves.toBe('E2E Tenant');
  const seen = await auditActions(tenant);
  expect(seen).toEqual(expect.arrayContaining(['organization.created', 'tenant.invitation_accepted', 'tenant.invited']));
  expect(seen).not.toContain('admin.added'); // the vendor's own admin entries stay private to the vendor

  const vendor = await newPage();
  await followOutboxLink(vendor, 'admin@acme.test', '/api/auth/callback/email').catch(() => undefined);
  // A used magic link does not sign anyone in again.
  await expect(vendor.url()).toMatch(/\/sign-in\?error=Verification/);
});

test('the vendor admin sees the tenant active and the whole story in the audit log', async () => {
  const vendor = contexts[0]!.pages()[0]!;
  await vendor.goto(`${vendorOrgPath}/tenants?q=e2e`);
  await expect(vendor.locator('tr[data-tenant="tenant-e2e"]').textContent()).resolves.toContain('active');
  await vendor.goto(`${vendorOrgPath}/audit`);
  expect(await auditActions(vendor)).toEqual(
    expect.arrayContaining(['organization.created', 'admin.added', 'auth.signed_in', 'tenant.invited', 'tenant.invitation_accepted']),
  );
  await vendor.getByRole('link', { name: 'Verify chain' }).click();
  await vendor.getByText(/Hash chain intact: \d+ entries verified/).waitFor();
  const exported = await vendor.request.get(`/api${vendorOrgPath}/audit/export?format=jsonl`);
  expect(exported.status()).toBe(200);
  expect((await exported.text()).trim().split('\n').length).toBeGreaterThanOrEqual(5);
});

test('bad URLs and other organizations\' pages answer 404, never 500', async () => {
  const tenant = contexts[1]!.pages()[0]!;
  const tenantOrgPath = new URL(tenant.url()).pathname.replace(/\/audit$/, '');
  const statusOf = async (page: Page, url: string) => (await page.goto(url))!.status();
  // The tenant admin probing the vendor's organization, and the vendor admin probing the tenant's.
  for (const suffix of ['', '/tenants', '/admins', '/audit']) expect(await statusOf(tenant, `${vendorOrgPath}${suffix}`)).toBe(404);
  const vendor = contexts[0]!.pages()[0]!;
  expect(await statusOf(vendor, `${tenantOrgPath}/audit`)).toBe(404);
  expect(await statusOf(vendor, `${tenantOrgPath.replace('/orgs/', '/api/orgs/')}/audit/export?format=csv`)).toBe(404);
  // A tenant organization has no tenant list.
  expect(await statusOf(tenant, `${tenantOrgPath}/tenants`)).toBe(404);
  for (const url of ['/orgs/not-a-uuid/tenants', '/orgs/00000000-0000-4000-8000-000000000000/audit', '/invite/%ZZ', '/invite/ocmk_inv_nope']) {
    expect(await statusOf(vendor, url)).toBeLessThan(500);
  }
  expect(await statusOf(vendor, `${vendorOrgPath}/audit?from=yesterday&before=x`)).toBe(200);
  await vendor.getByText('Invalid filter').waitFor();
  expect(await statusOf(vendor, `${vendorOrgPath}/tenants?status=deleted&q=${'x'.repeat(300)}`)).toBe(200);
});

test('an admin signs in through the OpenID Connect provider and signs out', async () => {
  const page = await newPage();
  await page.goto('/sign-in');
  await page.getByRole('button', { name: 'Continue with Test IdP' }).click();
  await page.locator('input[name="login"]').fill('admin');
  await page.locator('input[name="password"]').fill('any');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(/\/orgs\/[0-9a-f-]+\/tenants$/);
  expect(new URL(page.url()).pathname).toBe(`${vendorOrgPath}/tenants`);
  await expect(page.locator('[data-signed-in-as]').textContent()).resolves.toBe('admin@acme.test');

  await page.goto(`${vendorOrgPath}/audit?action=auth.`);
  await expect(page.locator('tr[data-audit-action="auth.signed_in"]').first().textContent()).resolves.toContain('oidc');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/sign-in/);
  await page.goto(`${vendorOrgPath}/tenants`);
  expect(new URL(page.url()).pathname).toBe('/sign-in');
});
