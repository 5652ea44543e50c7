import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DocumentMetadata, TenantSecurityClient, type TenantSecurityException } from '@opencmk/tenant-security-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium';
import {
  freePort,
  millisUntil,
  repoRoot,
  spawnManaged,
  startWholeStack,
  type ManagedProcess,
  type RunningStack,
  type StackPlace,
} from './support/stack';

// The whole product as `npm start` runs it — emulators, broker (production build), demo data, a proxy started from
// its .env — with applications calling through @opencmk/tenant-security-client, admins working in the broker's pages
// in Debian's Chromium (sign-in through the dev outbox, keys unlocked and configs sealed in the browser), and tenants
// acting in their (emulated) clouds.

let system: RunningStack & { place: StackPlace; startMs: number };
let browser: Browser;
const contexts: BrowserContext[] = [];
const extraProcesses: ManagedProcess[] = [];
let scratch: string;

beforeAll(async () => {
  // First run in a fresh clone builds the broker (next build), hence the long timeout.
  system = await startWholeStack(480_000);
  scratch = mkdtempSync(path.join(tmpdir(), 'opencmk-system-'));
  browser = await launchChromium();
}, 600_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  for (const proc of extraProcesses) await proc.stop();
  await system?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}, 60_000);

/** Signs in through /sign-in and the dev outbox link, as an admin does; the page's request API carries the session. */
async function signIn(email: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: system.stack.brokerUrl });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  await page.goto('/sign-in');
  await page.getByLabel('Work e-mail').fill(email);
  await page.getByRole('button', { name: 'E-mail me a sign-in link' }).click();
  await page.waitForURL(/\/sign-in\/check-email/);
  await page.goto('/dev/outbox');
  const href = await page
    .locator(`li[data-outbox-to="${email}"] a[data-outbox-link][href*="/api/auth/callback/email"]`)
    .first()
    .getAttribute('href');
  expect(href).toBeTruthy();
  await page.goto(href!);
  await page.waitForURL(/\/orgs\//);
  return page;
}

const metadata = (tenantId: string, requestingId = 'system-test', extra: Record<string, string> = {}) =>
  new DocumentMetadata(tenantId, requestingId, 'PII', undefined, undefined, `req-${randomUUID()}`, extra);

async function roundTrip(client: TenantSecurityClient, tenantId: string, text = 'hello'): Promise<string> {
  const { encryptedDocument, edek } = await client.encryptDocument({ field: Buffer.from(text) }, metadata(tenantId));
  const { plaintextDocument } = await client.decryptDocument({ encryptedDocument, edek }, metadata(tenantId));
  return Buffer.from(plaintextDocument.field!).toString();
}

async function errorCodeOf(promise: Promise<unknown>): Promise<number | 'ok' | string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    return (error as TenantSecurityException).errorCode ?? String(error);
  }
}

interface SinkEvent {
  sink: string;
  event?: { tenantId: string; event: string; iclFields: Record<string, string>; customFields: Record<string, string> };
}

test('npm start wrote .demo/stack.json as the issue shows, and the proxy .env is private', () => {
  expect(system.stack).toEqual({
    ready: true,
    brokerUrl: expect.stringMatching(/^http:\/\/localhost:\d+$/),
    proxyUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
    proxyHealthUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
    apiKey: expect.stringMatching(/^ocmk_ak_[A-Za-z0-9_-]{43}$/),
    tenants: { aws: 'tenant-aws', gcp: 'tenant-gcp', azure: 'tenant-azure' },
  });
  for (const file of ['proxy.env', 'demo.json', 'emulated-world.json', 'stack.json']) {
    expect(statSync(path.join(system.demoDir, file)).mode & 0o777).toBe(0o600);
  }
  expect(system.process.output()).toContain('admin@acme-saas.example');
});

test('flow 3: an application encrypts and decrypts through the client; the sink gets one event per operation with the caller metadata', async () => {
  const client = new TenantSecurityClient(system.stack.proxyUrl, system.stack.apiKey);
  const requestingId = `billing-${randomBytes(4).toString('hex')}`;
  const meta = metadata('tenant-aws', requestingId, { ticket: 'T-42' });
  const { encryptedDocument, edek } = await client.encryptDocument({ ssn: Buffer.from('123-45-6789') }, meta);
  const { plaintextDocument } = await client.decryptDocument({ encryptedDocument, edek }, meta);
  expect(Buffer.from(plaintextDocument.ssn!).toString()).toBe('123-45-6789');
  expect(await roundTrip(client, 'tenant-azure', 'azure data')).toBe('azure data');

  let mine: SinkEvent[] = [];
  await millisUntil(
    async () => {
      const { events } = (await system.emulator('sinks', 'events', { sink: 'splunk' })) as { events: SinkEvent[] };
      mine = events.filter((record) => record.event?.iclFields?.requestingId === requestingId);
      return mine.length >= 2;
    },
    15_000,
    100,
  );
  await new Promise((resolve) => setTimeout(resolve, 1500)); // a duplicate would arrive within the batch window
  const { events } = (await system.emulator('sinks', 'events', { sink: 'splunk' })) as { events: SinkEvent[] };
  mine = events.filter((record) => record.event?.iclFields?.requestingId === requestingId);
  expect(mine.map((record) => record.event!.event).sort()).toEqual(['KMS_UNWRAP', 'KMS_WRAP']);
  for (const record of mine) {
    expect(record.event).toMatchObject({
      tenantId: 'tenant-aws',
      iclFields: { requestingId, dataLabel: 'PII', requestId: meta.requestId },
      customFields: { ticket: 'T-42' },
    });
  }

  // tenant-gcp logs to a signed webhook: the sink keeps only deliveries whose HMAC signature verifies.
  const gcpCaller = `reports-${randomBytes(4).toString('hex')}`;
  const gcpMeta = metadata('tenant-gcp', gcpCaller);
  const gcpDocument = await client.encryptDocument({ field: Buffer.from('gcp data') }, gcpMeta);
  await client.decryptDocument(gcpDocument, gcpMeta);
  type WebhookRecord = { body: { events?: NonNullable<SinkEvent['event']>[] } };
  const webhookEvents = async () =>
    ((await system.emulator('sinks', 'events', { sink: 'webhook' })) as { events: WebhookRecord[] }).events
      .flatMap((record) => record.body.events ?? [])
      .filter((event) => event.iclFields?.requestingId === gcpCaller);
  await millisUntil(async () => (await webhookEvents()).length >= 2, 15_000, 100);
  const delivered = await webhookEvents();
  expect(delivered.map((event) => event.event).sort()).toEqual(['KMS_UNWRAP', 'KMS_WRAP']);
  for (const event of delivered)
    expect(event).toMatchObject({
      tenantId: 'tenant-gcp',
      iclFields: { requestingId: gcpCaller, dataLabel: 'PII', requestId: gcpMeta.requestId },
    });
}, 60_000);

let awsTenantPage: Page;

test('flow 4: the tenant disables its KMS config: unwraps fail with 202 within 2 s; re-enabled, they work again', async () => {
  awsTenantPage = await signIn('admin@tenant-aws.example');
  const { orgId } = system.demo.tenants.aws;
  const client = new TenantSecurityClient(system.stack.proxyUrl, system.stack.apiKey);
  const { encryptedDocument, edek } = await client.encryptDocument(
    { field: Buffer.from('kill switch') },
    metadata('tenant-aws'),
  );
  let last: unknown;
  const unwrap = async () =>
    (last = await errorCodeOf(client.decryptDocument({ encryptedDocument, edek }, metadata('tenant-aws'))));
  expect(await unwrap()).toBe('ok');

  const page = awsTenantPage;
  await page.goto(`/orgs/${orgId}/kms-configs`);
  const row = page.locator('tr[data-config="AWS key (emulated)"]');
  await row.getByRole('button', { name: 'Disable…' }).click();
  await row.getByRole('alertdialog', { name: 'Confirm disable' }).waitFor();
  const clicked = performance.now();
  await row.getByRole('button', { name: 'Disable now' }).click();
  await millisUntil(
    async () => (await unwrap()) === 202,
    10_000,
    20,
    () => [last, system.process.output().slice(-3000)],
  );
  const refusedAfter = performance.now() - clicked;
  console.log(`kill switch: first refused unwrap (202) ${refusedAfter.toFixed(0)} ms after "Disable now" was clicked`);
  expect(refusedAfter).toBeLessThan(2000);
  await page.locator('tr[data-config="AWS key (emulated)"][data-status="disabled"]').waitFor();
  expect(await unwrap()).toBe(202);

  const reenabled = performance.now();
  await row.getByRole('button', { name: 'Make primary' }).click();
  await millisUntil(
    async () => (await unwrap()) === 'ok',
    10_000,
    20,
    () => last,
  );
  const restoredAfter = performance.now() - reenabled;
  console.log(`kill switch: unwraps work again ${restoredAfter.toFixed(0)} ms after "Make primary" was clicked`);
  expect(restoredAfter).toBeLessThan(2000);
  await page.locator('tr[data-config="AWS key (emulated)"][data-status="primary"]').waitFor();
}, 120_000);

test('flow 5: the tenant revokes the vendor grant in its (emulated) KMS: errors name the cause (206/207)', async () => {
  const client = new TenantSecurityClient(system.stack.proxyUrl, system.stack.apiKey);
  const { encryptedDocument, edek } = await client.encryptDocument(
    { field: Buffer.from('grant') },
    metadata('tenant-azure'),
  );
  const principal = system.world.azure.clientId;
  await system.emulator('azure', 'revokeGrant', { key: 'tenant-kek', principal });
  try {
    let failure: TenantSecurityException | undefined;
    await millisUntil(async () => {
      try {
        await client.decryptDocument({ encryptedDocument, edek }, metadata('tenant-azure'));
        return false;
      } catch (error) {
        failure = error as TenantSecurityException;
        return true;
      }
    }, 10_000);
    expect([206, 207]).toContain(failure!.errorCode);
    expect(failure!.message).toMatch(/not authorized|forbidden|denied|permission/i);
    console.log(`grant revoked: code ${failure!.errorCode}: ${failure!.message}`);
    const wrapCode = await errorCodeOf(client.encryptDocument({ field: Buffer.from('x') }, metadata('tenant-azure')));
    expect([206, 207]).toContain(wrapCode);
  } finally {
    await system.emulator('azure', 'grant', { key: 'tenant-kek', principal });
  }
  const { plaintextDocument } = await client.decryptDocument({ encryptedDocument, edek }, metadata('tenant-azure'));
  expect(Buffer.from(plaintextDocument.field!).toString()).toBe('grant');
}, 60_000);

test('flow 2: a tenant admin enters an AWS KMS config and a Splunk logging config; the test reports success', async () => {
  const page = awsTenantPage ?? (await signIn('admin@tenant-aws.example'));
  const { orgId } = system.demo.tenants.aws;
  const world = JSON.parse(readFileSync(path.join(system.demoDir, 'emulated-world.json'), 'utf8')) as {
    aws: { tenantUser: { accessKeyId: string; secretAccessKey: string } };
    splunk: { token: string };
  };

  await page.goto(`/orgs/${orgId}/kms-configs`);
  await page.locator('#kms-provider').selectOption('aws');
  await page.locator('#kms-label').fill('AWS key entered in the browser');
  // A malformed ARN is refused in the browser, next to the field, before anything is sealed.
  await page.locator('#kms-keyArn').fill('arn:aws:kms:us-east-1:2222:key/nope');
  await page.locator('#kms-region').fill('us-east-1');
  await page.getByRole('button', { name: 'Seal and save' }).click();
  await expect(page.locator('[data-field-error="keyArn"]').textContent()).resolves.toContain('KMS key ARN');
  await page.locator('#kms-keyArn').fill('arn:aws:kms:us-east-1:222222222222:key/0c0f1a5e-0000-4000-8000-00000000a001');
  await page.locator('#kms-accessKeyId').fill(world.aws.tenantUser.accessKeyId);
  await page.locator('#kms-secretAccessKey').fill(world.aws.tenantUser.secretAccessKey);
  await page.locator('#kms-endpoint').fill(`http://127.0.0.1:${system.world.ports.aws}`);
  await page.getByRole('button', { name: 'Seal and save' }).click();
  const kmsRow = page.locator('tr[data-config="AWS key entered in the browser"]');
  await kmsRow.waitFor();
  expect(await kmsRow.getAttribute('data-status')).toBe('active'); // the demo config stays primary
  await kmsRow.getByRole('button', { name: 'Test' }).click();
  await kmsRow.locator('[data-check="succeeded"]').waitFor({ timeout: 30_000 });
  console.log(`test button (kms): ${await kmsRow.locator('[data-check="succeeded"]').textContent()}`);

  await page.goto(`/orgs/${orgId}/logging-configs`);
  await page.locator('#logging-provider').selectOption('splunk');
  await page.locator('#logging-label').fill('Splunk entered in the browser');
  await page.locator('#logging-url').fill(`https://127.0.0.1:${system.world.ports.sinksHttps}`);
  await page.locator('#logging-token').fill(world.splunk.token);
  await page.locator('#logging-index').fill('opencmk');
  await page.getByRole('button', { name: 'Seal and save' }).click();
  const loggingRow = page.locator('tr[data-config="Splunk entered in the browser"]');
  await loggingRow.waitFor();
  expect(await loggingRow.getAttribute('data-status')).toBe('active');
  await loggingRow.getByRole('button', { name: 'Test' }).click();
  await loggingRow.locator('[data-check="succeeded"]').waitFor({ timeout: 30_000 });
  console.log(`test button (logging): ${await loggingRow.locator('[data-check="succeeded"]').textContent()}`);
}, 120_000);

test('Ctrl-C stops every process; the next start reuses the data and the emulated world, and earlier EDEKs still decrypt', async () => {
  const client = new TenantSecurityClient(system.stack.proxyUrl, system.stack.apiKey);
  const made = await Promise.all(
    (['tenant-aws', 'tenant-gcp', 'tenant-azure'] as const).map(async (tenantId) => ({
      tenantId,
      ...(await client.encryptDocument({ field: Buffer.from(`kept ${tenantId}`) }, metadata(tenantId))),
    })),
  );
  const place = system.place;
  await system.stopKeepingFiles();
  // Refused within 15 s: the stack's top process exits after its children, but on a loaded machine a child's
  // sockets have once been seen answering just after that exit (a CI run; not reproduced since).
  const refused = async (url: string) => {
    const until = Date.now() + 15_000;
    for (;;) {
      const answered = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
        () => true,
        () => false,
      );
      if (!answered) return true;
      if (Date.now() > until) return false;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  expect(await refused(`http://127.0.0.1:${place.ports.broker}/api/health`)).toBe(true);
  expect(await refused(`${system.stack.proxyHealthUrl}/live`)).toBe(true);
  expect(await refused(`http://127.0.0.1:${system.world.ports.aws}/__emulator/state`)).toBe(true);

  system = await startWholeStack(480_000, place);
  console.log(`second start: ready in ${(system.startMs / 1000).toFixed(1)} s`);
  expect(system.process.output()).not.toContain('first run: creating the demo');
  const again = new TenantSecurityClient(system.stack.proxyUrl, system.stack.apiKey);
  for (const { tenantId, encryptedDocument, edek } of made) {
    const { plaintextDocument } = await again.decryptDocument({ encryptedDocument, edek }, metadata(tenantId));
    expect(Buffer.from(plaintextDocument.field!).toString()).toBe(`kept ${tenantId}`);
  }
}, 600_000);

test('flows 1 and 6: a configuration created in the browser serves the tenants from its downloaded .env; the revoked one is not ready within 2 s', async () => {
  const vendor = await signIn(system.demo.vendorAdminEmail);
  const vendorId = system.demo.vendorId;
  await vendor.goto(`/orgs/${vendorId}/proxy-configs`);
  // The keys unlock in this tab (argon2id in the browser) with the vendor admin's encryption passphrase.
  await vendor.getByLabel('Encryption passphrase').fill(system.demo.vendorPassphrase);
  await vendor.getByRole('button', { name: 'Unlock keys' }).click();
  await vendor.getByLabel('Name').waitFor({ timeout: 60_000 });

  // Flow 1: create; the browser generates the keys, token and API key and offers the .env; then provisions it.
  await vendor.getByLabel('Name').fill('second pod');
  const [download] = await Promise.all([
    vendor.waitForEvent('download'),
    vendor.getByRole('button', { name: 'Create and download .env' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe('opencmk-proxy-second-pod.env');
  const envFile = path.join(scratch, download.suggestedFilename());
  await download.saveAs(envFile);
  await vendor.locator('tr[data-proxy-config="second pod"][data-status="active"]').waitFor({ timeout: 60_000 });
  const env = readFileSync(envFile, 'utf8');
  expect(env).toMatch(/^OPENCMK_PROXY_PRIVATE_KEY=[A-Za-z0-9_-]{43}$/m);
  const apiKey = /^API_KEY=(\S+)$/m.exec(env)![1]!;

  // A proxy from that file; the operator sets ports, bind address and the emulators' CA in its environment.
  const [port, healthPort] = [await freePort(), await freePort()];
  const secondProxy = spawnManaged(
    process.execPath,
    [path.join(repoRoot, 'services', 'tenant-security-proxy', 'dist', 'main.js'), '--env-file', envFile],
    {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      PORT: String(port),
      HEALTH_PORT: String(healthPort),
      HOST: '127.0.0.1',
      KMS_EXTRA_CA_FILE: system.caFile,
    },
  );
  extraProcesses.push(secondProxy);
  await millisUntil(
    async () => (await fetch(`http://127.0.0.1:${healthPort}/ready`).catch(() => null))?.status === 200,
    30_000,
    100,
  ).catch((error: Error) => {
    throw new Error(`${error.message}: the second proxy did not become ready\n${secondProxy.output().slice(-3000)}`);
  });

  // An EDEK made through the first proxy, to be opened through the second.
  const firstClient = new TenantSecurityClient(system.stack.proxyUrl, system.stack.apiKey);
  const earlier = await firstClient.encryptDocument(
    { field: Buffer.from('made by the first pod') },
    metadata('tenant-aws'),
  );

  // Flow 6: revoke the demo's configuration in the browser; its proxy reports not ready within 2 s.
  const demoRow = vendor.locator('tr[data-proxy-config="demo pod"]');
  await demoRow.getByRole('button', { name: 'Revoke…' }).click();
  await demoRow.getByRole('alertdialog', { name: 'Confirm revocation' }).waitFor();
  const clicked = performance.now();
  await demoRow.getByRole('button', { name: 'Revoke now' }).click();
  await millisUntil(async () => (await fetch(`${system.stack.proxyHealthUrl}/ready`)).status === 503, 10_000);
  const notReadyAfter = performance.now() - clicked;
  console.log(
    `proxy configuration revoked in the browser: its proxy reported not ready ${notReadyAfter.toFixed(0)} ms after "Revoke now"`,
  );
  expect(notReadyAfter).toBeLessThan(2000);
  await vendor.locator('tr[data-proxy-config="demo pod"][data-status="revoked"]').waitFor();
  expect(await errorCodeOf(firstClient.encryptDocument({ field: Buffer.from('x') }, metadata('tenant-aws')))).not.toBe(
    'ok',
  );

  const secondClient = new TenantSecurityClient(`http://127.0.0.1:${port}`, apiKey);
  for (const tenantId of ['tenant-aws', 'tenant-gcp', 'tenant-azure']) {
    expect(await roundTrip(secondClient, tenantId, `served by the second pod for ${tenantId}`)).toBe(
      `served by the second pod for ${tenantId}`,
    );
  }
  const reopened = await secondClient.decryptDocument(earlier, metadata('tenant-aws'));
  expect(Buffer.from(reopened.plaintextDocument.field!).toString()).toBe('made by the first pod');
}, 240_000);
