import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium';
import { base64UrlDecode, open, utf8Decode } from '@opencmk/crypto';
import { generateProxyConfig } from '@/lib/browser-sealing';
import { freePort, repoRoot, startProcess, type ManagedProcess } from '../helpers/processes';

// Vendor and tenant flows of issue 5 in Debian's Chromium against the production build (scripts/start.mjs, embedded
// PGlite in a fresh data directory), then the zero-knowledge check: marker strings typed into every secret field
// must appear in no database row and in no line of the broker's log.

let broker: ManagedProcess;
let browser: Browser;
let baseUrl: string;
let dataDir: string;
let downloadsDir: string;
const contexts: BrowserContext[] = [];
let vendor: Page;
let tenant: Page;
let vendorOrgPath: string;
let tenantOrgPath: string;

const run = randomBytes(4).toString('hex').toUpperCase();
const marker = (field: string) => `ZKMARK${field}${run}`;
const markers = {
  secretAccessKey: marker('SECRETACCESSKEY'),
  externalId: marker('EXTERNALID'),
  accessKeyId: `AKIA${run}ZKMARKER`,
  keyArnId: `${run.toLowerCase()}-1234-4234-8234-123456789012`,
  hmacSecret: marker('HMACSECRET'),
  webhookPath: marker('WEBHOOKPATH'),
  passphrase: `correct horse ${marker('PASSPHRASE')} battery`,
};
const secretsFromEnv: string[] = [];

beforeAll(async () => {
  const port = await freePort();
  baseUrl = `http://localhost:${port}`;
  dataDir = mkdtempSync(path.join(tmpdir(), 'opencmk-e2e-keys-'));
  downloadsDir = mkdtempSync(path.join(tmpdir(), 'opencmk-e2e-downloads-'));
  const { DATABASE_URL: _database, SMTP_URL: _smtp, NODE_ENV: _mode, OIDC_ISSUER: _issuer, ...inherited } = process.env;
  broker = await startProcess(
    process.execPath,
    [path.join(repoRoot, 'scripts/start.mjs')],
    { ...inherited, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, BROKER_URL: baseUrl, AUTH_SECRET: randomBytes(32).toString('base64url'), OPENCMK_DEMO: '1', NEXT_TELEMETRY_DISABLED: '1' },
    /Configuration Broker: http/,
    400_000,
  );
  browser = await launchChromium();
}, 480_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await broker?.stop();
  if (broker) writeFileSync(path.join(tmpdir(), 'opencmk-e2e-keys-broker.log'), broker.output());
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  if (downloadsDir) rmSync(downloadsDir, { recursive: true, force: true });
});

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ baseURL: baseUrl, acceptDownloads: true });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  return page;
}

async function followOutboxLink(page: Page, email: string, kind: string): Promise<void> {
  await page.goto('/dev/outbox');
  const href = await page.locator(`li[data-outbox-to="${email}"] a[data-outbox-link][href*="${kind}"]`).first().getAttribute('href');
  await page.goto(href!);
}

/** Clicks and returns the text of the file the page downloads. */
async function downloadOf(page: Page, click: () => Promise<void>): Promise<{ name: string; text: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  const file = path.join(downloadsDir, `${Date.now()}-${download.suggestedFilename()}`);
  await download.saveAs(file);
  return { name: download.suggestedFilename(), text: readFileSync(file, 'utf8') };
}

const envOf = (text: string) => Object.fromEntries(text.split('\n').filter((line) => /^[A-Z0-9_]+=/.test(line)).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));

async function snapshotWith(env: Record<string, string>, headers: Record<string, string> = {}, query = '') {
  return fetch(`${baseUrl}/api/proxy/v1/snapshot${query}`, { headers: { authorization: `Bearer ${env.OPENCMK_BROKER_TOKEN}`, ...headers } });
}

let firstEnv: Record<string, string>;

test('vendor admin: sign-in, passphrase set-up with strength meter, tenant invitation, proxy configuration with .env download', async () => {
  vendor = await newPage();
  await vendor.goto('/first-run');
  await vendor.getByLabel('Vendor organization name').fill('Acme');
  await vendor.getByLabel('Your e-mail (first admin)').fill('admin@acme.test');
  await vendor.getByRole('button', { name: 'Create vendor organization' }).click();
  await vendor.waitForURL(/\/sign-in\/check-email/);
  await followOutboxLink(vendor, 'admin@acme.test', '/api/auth/callback/email');
  await vendor.waitForURL(/\/orgs\/[0-9a-f-]+\/tenants$/);
  vendorOrgPath = new URL(vendor.url()).pathname.replace(/\/tenants$/, '');
  await vendor.getByLabel('Tenant id').fill('tenant-e2e');
  await vendor.getByLabel('Display name').fill('E2E Tenant');
  await vendor.getByLabel('Tenant admin e-mail').fill('boss@tenant.test');
  await vendor.getByRole('button', { name: 'Invite tenant' }).click();
  await vendor.getByText('Invitation sent to boss@tenant.test').waitFor();

  await vendor.getByRole('link', { name: 'Keys' }).click();
  await vendor.getByText('If you lose it, only another admin who holds the vendor key').waitFor();
  await vendor.getByLabel('Encryption passphrase').fill('short');
  await expect(vendor.locator('[data-strength]').getAttribute('data-strength')).resolves.toBe('too weak');
  await vendor.getByLabel('Confirm passphrase').fill('different');
  await vendor.getByRole('button', { name: 'Set passphrase and create keys' }).click();
  await expect(vendor.locator('[data-field-error="passphrase"]').textContent()).resolves.toContain('at least 12 characters');
  await expect(vendor.locator('[data-field-error="confirm"]').textContent()).resolves.toContain('differ');
  await vendor.getByLabel('Encryption passphrase').fill(markers.passphrase);
  expect(['strong', 'very strong']).toContain(await vendor.locator('[data-strength]').getAttribute('data-strength'));
  await vendor.getByLabel('Confirm passphrase').fill(markers.passphrase);
  await vendor.getByRole('button', { name: 'Set passphrase and create keys' }).click();
  await vendor.locator('[data-keys-unlocked]').waitFor({ timeout: 60_000 });
  await expect(vendor.locator('tr[data-admin="admin@acme.test"]').textContent()).resolves.toContain('held');

  // Client-side navigation keeps the keys unlocked in this tab.
  await vendor.getByRole('link', { name: 'Proxy configurations' }).click();
  await vendor.locator('[data-keys-unlocked]').waitFor();
  await vendor.getByRole('button', { name: 'Create and download .env' }).click();
  await expect(vendor.locator('[data-field-error="proxy-name"]').textContent()).resolves.toContain('Enter a name');
  await vendor.getByLabel('Name').fill('eu-west pod');
  const download = await downloadOf(vendor, () => vendor.getByRole('button', { name: 'Create and download .env' }).click());
  expect(download.name).toBe('opencmk-proxy-eu-west-pod.env');
  firstEnv = envOf(download.text);
  expect(Object.keys(firstEnv)).toEqual(
    expect.arrayContaining(['OPENCMK_BROKER_URL', 'OPENCMK_PROXY_CONFIG_ID', 'OPENCMK_VENDOR_ID', 'OPENCMK_PROXY_PRIVATE_KEY', 'OPENCMK_BROKER_TOKEN', 'API_KEY', 'API_KEY_2', 'PORT', 'HEALTH_PORT', 'SNAPSHOT_WAIT_SECONDS']),
  );
  expect(firstEnv.OPENCMK_BROKER_URL).toBe(baseUrl);
  expect(firstEnv.OPENCMK_VENDOR_ID).toBe(vendorOrgPath.split('/')[2]);
  expect(firstEnv.OPENCMK_BROKER_TOKEN).toMatch(/^ocmk_bt_[A-Za-z0-9_-]{43}$/);
  expect(firstEnv.API_KEY).toMatch(/^ocmk_ak_[A-Za-z0-9_-]{43}$/);
  secretsFromEnv.push(firstEnv.OPENCMK_PROXY_PRIVATE_KEY!, firstEnv.OPENCMK_BROKER_TOKEN!, firstEnv.API_KEY!);
  // Cloud identities and settings, which tenants see.
  await vendor.getByRole('link', { name: 'Cloud identities' }).click();
  await vendor.getByLabel('Identity').fill('arn:aws:iam::12:role/x');
  await vendor.getByRole('button', { name: 'Add identity' }).click();
  await expect(vendor.locator('[data-field-error="identity"]').textContent()).resolves.toContain('IAM role ARN');
  await vendor.getByLabel('Identity').fill('arn:aws:iam::444455556666:role/opencmk-proxy');
  await vendor.getByRole('button', { name: 'Add identity' }).click();
  await vendor.locator('[data-grant-command="aws"]').waitFor();
  await vendor.getByRole('link', { name: 'Settings' }).click();
  await vendor.getByLabel(/Require key leasing/).check();
  await vendor.getByRole('button', { name: 'Save settings' }).click();
  await vendor.getByText('Settings saved').waitFor();
  await vendor.getByRole('link', { name: 'Proxy configurations' }).click();
  await vendor.locator('[data-keys-unlocked]').waitFor();

  // No tenant config yet: provisioning completes at once and the configuration is active.
  await vendor.locator('tr[data-proxy-config="eu-west pod"][data-status="active"]').waitFor();
  expect((await snapshotWith(firstEnv)).status).toBe(200);
  // The sealed copy downloads again.
  const again = await downloadOf(vendor, () => vendor.locator('tr[data-proxy-config="eu-west pod"]').getByRole('button', { name: 'Download .env' }).click());
  expect(again.text).toBe(download.text);
}, 180_000);

test('tenant admin: KMS and logging configs validated in the browser, sealed with marker secrets, status and test', async () => {
  tenant = await newPage();
  await followOutboxLink(tenant, 'boss@tenant.test', '/invite/');
  await tenant.getByRole('link', { name: 'Sign in as boss@tenant.test to accept' }).click();
  await tenant.getByRole('button', { name: 'E-mail me a sign-in link' }).click();
  await tenant.waitForURL(/\/sign-in\/check-email/);
  await followOutboxLink(tenant, 'boss@tenant.test', '/api/auth/callback/email');
  await tenant.waitForURL(/\/invite\//);
  await tenant.getByRole('button', { name: 'Accept invitation' }).click();
  await tenant.waitForURL(/\/orgs\/[0-9a-f-]+\/audit$/);
  tenantOrgPath = new URL(tenant.url()).pathname.replace(/\/audit$/, '');

  // The vendor's session cannot read the tenant's configs, and the tenant cannot reach the vendor's key pages.
  expect((await vendor.request.get(`/api${tenantOrgPath}/tenant-configs/kms`)).status()).toBe(404);
  expect((await tenant.request.get(`/api${vendorOrgPath}/proxy-configs`)).status()).toBe(404);
  expect((await tenant.goto(`${vendorOrgPath}/keys`))!.status()).toBe(404);
  await tenant.goto(`${tenantOrgPath}/audit`);
  await tenant.getByRole('link', { name: 'Cloud identities' }).click();
  await expect(tenant.locator('[data-grant-command="aws"]').textContent()).resolves.toBe(
    'aws kms create-grant --key-id <KEY_ARN> --grantee-principal arn:aws:iam::444455556666:role/opencmk-proxy --operations Encrypt Decrypt GenerateDataKey DescribeKey',
  );
  await tenant.getByRole('link', { name: 'KMS configs' }).click();
  await tenant.getByText('Your vendor requires key leasing').waitFor();
  await tenant.getByLabel('Label').fill('Production key');
  await tenant.getByLabel('Key ARN').fill('arn:aws:kms:us-east-1:12:key/nope');
  await tenant.getByLabel('Region').fill('mars-1');
  await tenant.getByLabel('Access key id').fill('AKIA123');
  await tenant.getByRole('button', { name: 'Seal and save' }).click();
  await expect(tenant.locator('[data-field-error="keyArn"]').textContent()).resolves.toContain('A KMS key ARN');
  await expect(tenant.locator('[data-field-error="region"]').textContent()).resolves.toContain('AWS region');
  await expect(tenant.locator('[data-field-error="accessKeyId"]').textContent()).resolves.toContain('AKIA');
  await tenant.getByLabel('Key ARN').fill(`arn:aws:kms:us-east-1:111122223333:key/${markers.keyArnId}`);
  await tenant.getByLabel('Region').fill('us-east-1');
  await tenant.getByLabel('Role ARN to assume').fill('arn:aws:iam::111122223333:role/tenant-role');
  await tenant.getByLabel('External id').fill(markers.externalId);
  await tenant.getByLabel('Access key id').fill(markers.accessKeyId);
  await tenant.getByLabel('Secret access key').fill(markers.secretAccessKey);
  await tenant.getByRole('button', { name: 'Seal and save' }).click();
  await tenant.getByText('"Production key" sealed to your vendor').waitFor();
  await tenant.locator('tr[data-config="Production key"][data-status="primary"]').waitFor();

  // The proxy gets it, opens it with the private key from its .env, and sees exactly what was typed.
  const snapshot = await (await snapshotWith(firstEnv)).json();
  const config = snapshot.tenants[0].kmsConfigs[0];
  const context = { purpose: 'kms-config' as const, vendorId: firstEnv.OPENCMK_VENDOR_ID!, tenantId: 'tenant-e2e', subjectId: String(config.id), subjectVersion: 1 };
  const opened = JSON.parse(utf8Decode(open(config.sealed, base64UrlDecode(firstEnv.OPENCMK_PROXY_PRIVATE_KEY!), context)));
  expect(opened).toMatchObject({ provider: 'aws', region: 'us-east-1', externalId: markers.externalId, accessKeyId: markers.accessKeyId, secretAccessKey: markers.secretAccessKey });

  // Test button: the proxy (played here through the API with the .env's token) answers the queued check.
  await tenant.locator('tr[data-config="Production key"]').getByRole('button', { name: 'Test' }).click();
  await tenant.locator('[data-check="queued"]').waitFor();
  const withCheck = await (await snapshotWith(firstEnv)).json();
  expect(withCheck.checks).toHaveLength(1);
  const posted = await fetch(`${baseUrl}/api/proxy/v1/check-results`, {
    method: 'POST',
    headers: { authorization: `Bearer ${firstEnv.OPENCMK_BROKER_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ results: [{ checkId: withCheck.checks[0].id, ok: false, latencyMs: 42, error: { code: 206, message: 'AccessDeniedException: User is not authorized to perform kms:Encrypt' } }] }),
  });
  expect(posted.status).toBe(204);
  await tenant.locator('[data-check="failed"]').waitFor();
  await expect(tenant.locator('[data-check="failed"]').textContent()).resolves.toContain('grant it');

  // Kill switch: confirm dialog, and a waiting proxy long-poll hears of it within a second.
  const etag = (await snapshotWith(firstEnv)).headers.get('etag')!;
  const waiting = snapshotWith(firstEnv, { 'if-none-match': etag }, '?wait=25');
  await tenant.locator('tr[data-config="Production key"]').getByRole('button', { name: 'Disable…' }).click();
  await tenant.getByRole('alertdialog', { name: 'Confirm disable' }).waitFor();
  const clickedAt = Date.now();
  await tenant.getByRole('button', { name: 'Disable now' }).click();
  const woke = await waiting;
  expect(Date.now() - clickedAt).toBeLessThan(3000);
  expect(woke.status).toBe(200);
  expect((await woke.json()).tenants[0].kmsConfigs[0]).toMatchObject({ status: 'disabled', sealed: null });
  await tenant.locator('tr[data-config="Production key"][data-status="disabled"]').waitFor();
  await tenant.locator('tr[data-config="Production key"]').getByRole('button', { name: 'Make primary' }).click();
  await tenant.locator('tr[data-config="Production key"][data-status="primary"]').waitFor();

  await tenant.getByRole('link', { name: 'Logging configs' }).click();
  await tenant.getByLabel('Provider').selectOption('webhook');
  await tenant.getByLabel('Label').fill('SIEM webhook');
  await tenant.getByLabel('URL', { exact: true }).fill('ftp://nope');
  await tenant.getByLabel('HMAC secret').fill('short');
  await tenant.getByRole('button', { name: 'Seal and save' }).click();
  await expect(tenant.locator('[data-field-error="url"]').textContent()).resolves.toContain('https');
  await expect(tenant.locator('[data-field-error="hmacSecret"]').textContent()).resolves.toContain('16');
  await tenant.getByLabel('URL', { exact: true }).fill(`https://siem.tenant.test/${markers.webhookPath}`);
  await tenant.getByLabel('HMAC secret').fill(markers.hmacSecret);
  await tenant.getByRole('button', { name: 'Seal and save' }).click();
  await tenant.locator('tr[data-config="SIEM webhook"][data-status="active"]').waitFor();
}, 180_000);

test('vendor admin: a second configuration is provisioned from the vendor copies with a progress bar, then revoked', async () => {
  await vendor.getByLabel('Name').fill('us-east pod');
  const download = await downloadOf(vendor, () => vendor.getByRole('button', { name: 'Create and download .env' }).click());
  const env = envOf(download.text);
  secretsFromEnv.push(env.OPENCMK_PROXY_PRIVATE_KEY!, env.OPENCMK_BROKER_TOKEN!, env.API_KEY!);
  await vendor.locator('tr[data-proxy-config="us-east pod"][data-status="active"]').waitFor();
  const snapshot = await (await snapshotWith(env)).json();
  const tenantSection = snapshot.tenants[0];
  expect(tenantSection.kmsConfigs).toHaveLength(1);
  expect(tenantSection.loggingConfig.provider).toBe('webhook');
  const loggingContext = { purpose: 'logging-config' as const, vendorId: env.OPENCMK_VENDOR_ID!, tenantId: 'tenant-e2e', subjectId: String(tenantSection.loggingConfig.id), subjectVersion: 1 };
  expect(JSON.parse(utf8Decode(open(tenantSection.loggingConfig.sealed, base64UrlDecode(env.OPENCMK_PROXY_PRIVATE_KEY!), loggingContext))).hmacSecret).toBe(markers.hmacSecret);

  // API key rotation: a new key arrives as API_KEY_2, then is promoted.
  const added = envOf((await downloadOf(vendor, () => vendor.locator('tr[data-proxy-config="us-east pod"]').getByRole('button', { name: 'Rotate API key' }).click())).text);
  expect(added.API_KEY).toBe(env.API_KEY);
  expect(added.API_KEY_2).toMatch(/^ocmk_ak_/);
  const promoted = envOf((await downloadOf(vendor, () => vendor.locator('tr[data-proxy-config="us-east pod"]').getByRole('button', { name: 'Rotate API key' }).click())).text);
  expect(promoted.API_KEY).toBe(added.API_KEY_2);
  expect(promoted.API_KEY_2).toBe('');
  secretsFromEnv.push(added.API_KEY_2!);

  await vendor.locator('tr[data-proxy-config="us-east pod"]').getByRole('button', { name: 'Revoke…' }).click();
  await vendor.getByRole('button', { name: 'Revoke now' }).click();
  await vendor.locator('tr[data-proxy-config="us-east pod"][data-status="revoked"]').waitFor();
  const revoked = await snapshotWith(env);
  expect(revoked.status).toBe(401);
  expect((await snapshotWith(firstEnv)).status).toBe(200);

  // A reload locks the keys: unlocking needs the passphrase again.
  await vendor.reload();
  await vendor.getByRole('button', { name: 'Unlock keys' }).waitFor();
  await vendor.getByLabel('Encryption passphrase').fill('wrong passphrase entirely');
  await vendor.getByRole('button', { name: 'Unlock keys' }).click();
  await vendor.getByText('Wrong passphrase').waitFor({ timeout: 60_000 });

  // Provisioning resumes in whichever browser opens the page next: a configuration registered elsewhere (here through
  // the API) and left in "provisioning" is sealed to as soon as an admin unlocks the vendor key.
  const keyState = await (await vendor.request.get(`/api${vendorOrgPath}/keys`)).json();
  const pending = await generateProxyConfig({ name: 'ap-south pod', brokerUrl: baseUrl, vendorId: keyState.vendorId, vendorPublicKey: keyState.vendorKey.publicKey });
  secretsFromEnv.push(pending.brokerToken, pending.apiKey, envOf(pending.env).OPENCMK_PROXY_PRIVATE_KEY!);
  const created = await vendor.request.post(`/api${vendorOrgPath}/proxy-configs`, {
    data: { id: pending.id, name: 'ap-south pod', publicKey: pending.publicKey, tokenHash: pending.tokenHash, sealedEnv: pending.sealedEnv },
  });
  expect(created.status()).toBe(201);
  await vendor.reload();
  await vendor.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { provisioningSeen: string[] }).provisioningSeen = seen;
    new MutationObserver(() => {
      for (const node of document.querySelectorAll('[data-provisioning-count]')) if (!seen.includes(node.textContent ?? '')) seen.push(node.textContent ?? '');
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await vendor.getByLabel('Encryption passphrase').fill(markers.passphrase);
  await vendor.getByRole('button', { name: 'Unlock keys' }).click();
  await vendor.locator('tr[data-proxy-config="ap-south pod"][data-status="active"]').waitFor({ timeout: 60_000 });
  const seen = await vendor.evaluate(() => (window as unknown as { provisioningSeen: string[] }).provisioningSeen);
  expect(seen).toContain('2 of 2 tenant configs sealed to this configuration');
  const provisioned = await (await snapshotWith(envOf(pending.env))).json();
  expect(provisioned.tenants[0].kmsConfigs[0].sealed).toBeTruthy();
}, 180_000);

test('zero knowledge: no marker, private key, token or API key in any database row or in the broker log', async () => {
  await broker.stop();
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(repoRoot, 'tests/e2e/support/dump-pglite.mjs'), dataDir], { cwd: repoRoot, maxBuffer: 256 * 1024 * 1024 });
  const rows = stdout.split('\n').filter(Boolean);
  // The dump is real: it holds the sealed copies and the configurations' metadata.
  expect(rows.some((row) => row.startsWith('public.sealed_config_copies\t'))).toBe(true);
  expect(rows.some((row) => row.includes('"label":"Production key"'))).toBe(true);
  const secrets = [...Object.values(markers), ...secretsFromEnv, `arn:aws:kms:us-east-1:111122223333:key/${markers.keyArnId}`];
  expect(secretsFromEnv.length).toBeGreaterThanOrEqual(10);
  const log = broker.output();
  for (const secret of secrets) {
    const leaks = rows.filter((row) => row.includes(secret));
    expect({ secret, leaks }).toEqual({ secret, leaks: [] });
    expect(log.includes(secret)).toBe(false);
  }
  // The broker keeps only SHA-256 of each token (and no token itself, checked above).
  const proxyRows = rows.filter((row) => row.startsWith('public.proxy_configs\t'));
  expect(proxyRows.length).toBe(3);
}, 120_000);
