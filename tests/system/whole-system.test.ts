import { spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { base64UrlDecode, base64UrlEncode, generateKeyPair, open, seal, sealToMany, utf8Decode, utf8Encode, type SealContext } from '@opencmk/crypto';
import { DocumentMetadata, TenantSecurityClient, type TenantSecurityException } from '@opencmk/tenant-security-client';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { proxyEnvText } from '../../scripts/stack/proxy-env';
import { freePort, millisUntil, repoRoot, spawnManaged, startWholeStack, type ManagedProcess, type RunningStack, type StackPlace } from './support/stack';

// The whole product as `npm start` runs it — emulators, broker (production build), demo data, a proxy started from
// its .env — with applications calling through @opencmk/tenant-security-client, admins signed in through the real
// sign-in flow in Debian's Chromium, and tenants acting in their (emulated) clouds. The admins' key and config work
// goes through the broker's HTTP API with the browser's session, sealing with @opencmk/crypto as the browser
// islands do.

let system: RunningStack & { place: StackPlace; startMs: number };
let browser: Browser;
const contexts: BrowserContext[] = [];
const extraProcesses: ManagedProcess[] = [];
let scratch: string;

beforeAll(async () => {
  // First run in a fresh clone builds the broker (next build), hence the long timeout.
  system = await startWholeStack(480_000);
  scratch = mkdtempSync(path.join(tmpdir(), 'opencmk-system-'));
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
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
  const href = await page.locator(`li[data-outbox-to="${email}"] a[data-outbox-link][href*="/api/auth/callback/email"]`).first().getAttribute('href');
  expect(href).toBeTruthy();
  await page.goto(href!);
  await page.waitForURL(/\/orgs\//);
  return page;
}

async function api<T>(page: Page, method: 'GET' | 'POST' | 'PATCH', url: string, data?: unknown): Promise<{ status: number; body: T }> {
  const response = await page.request.fetch(url, { method, data: data === undefined ? undefined : data, headers: { origin: system.stack.brokerUrl } });
  const text = await response.text();
  return { status: response.status(), body: (text ? JSON.parse(text) : null) as T };
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

const fingerprintOf = (keyPath: string) => createHash('sha256').update(keyPath).digest('hex').slice(0, 32);

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
  await millisUntil(async () => {
    const { events } = (await system.emulator('sinks', 'events', { sink: 'splunk' })) as { events: SinkEvent[] };
    mine = events.filter((record) => record.event?.iclFields?.requestingId === requestingId);
    return mine.length >= 2;
  }, 15_000, 100);
  await new Promise((resolve) => setTimeout(resolve, 1500)); // a duplicate would arrive within the batch window
  const { events } = (await system.emulator('sinks', 'events', { sink: 'splunk' })) as { events: SinkEvent[] };
  mine = events.filter((record) => record.event?.iclFields?.requestingId === requestingId);
  expect(mine.map((record) => record.event!.event).sort()).toEqual(['KMS_UNWRAP', 'KMS_WRAP']);
  for (const record of mine) {
    expect(record.event).toMatchObject({ tenantId: 'tenant-aws', iclFields: { requestingId, dataLabel: 'PII', requestId: meta.requestId }, customFields: { ticket: 'T-42' } });
  }
}, 60_000);

let awsTenantPage: Page;

test('flow 4: the tenant disables its KMS config: unwraps fail with 202 within 2 s; re-enabled, they work again', async () => {
  awsTenantPage = await signIn('admin@tenant-aws.example');
  const { orgId, kmsConfigId } = system.demo.tenants.aws;
  const client = new TenantSecurityClient(system.stack.proxyUrl, system.stack.apiKey);
  const { encryptedDocument, edek } = await client.encryptDocument({ field: Buffer.from('kill switch') }, metadata('tenant-aws'));
  let last: unknown;
  const unwrap = async () => (last = await errorCodeOf(client.decryptDocument({ encryptedDocument, edek }, metadata('tenant-aws'))));
  expect(await unwrap()).toBe('ok');

  const disabled = await api<{ config: { status: string } }>(awsTenantPage, 'PATCH', `/api/orgs/${orgId}/tenant-configs/kms/${kmsConfigId}`, { status: 'disabled' });
  expect(disabled).toMatchObject({ status: 200, body: { config: { status: 'disabled' } } });
  const refusedAfter = await millisUntil(async () => (await unwrap()) === 202, 10_000, 20, () => [last, system.process.output().slice(-3000)]);
  console.log(`kill switch: first refused unwrap (202) ${refusedAfter.toFixed(0)} ms after the broker accepted "disabled"`);
  expect(refusedAfter).toBeLessThan(2000);
  expect(await unwrap()).toBe(202);

  const enabled = await api<{ config: { status: string } }>(awsTenantPage, 'PATCH', `/api/orgs/${orgId}/tenant-configs/kms/${kmsConfigId}`, { status: 'primary' });
  expect(enabled.body.config.status).toBe('primary');
  const restoredAfter = await millisUntil(async () => (await unwrap()) === 'ok', 10_000, 20, () => last);
  console.log(`kill switch: unwraps work again ${restoredAfter.toFixed(0)} ms after re-enabling`);
  expect(restoredAfter).toBeLessThan(2000);
}, 120_000);

test('flow 5: the tenant revokes the vendor grant in its (emulated) KMS: errors name the cause (206/207)', async () => {
  const client = new TenantSecurityClient(system.stack.proxyUrl, system.stack.apiKey);
  const { encryptedDocument, edek } = await client.encryptDocument({ field: Buffer.from('grant') }, metadata('tenant-azure'));
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
  const recipients = await api<{ vendorId: string; tenantId: string; recipients: { keyId: string; publicKey: string }[] }>(page, 'GET', `/api/orgs/${orgId}/tenant-configs/recipients`);
  expect(recipients.status).toBe(200);
  const keyArn = 'arn:aws:kms:us-east-1:222222222222:key/0c0f1a5e-0000-4000-8000-00000000a001';
  const configs = {
    kms: { provider: 'aws', keyArn, region: 'us-east-1', ...world.aws.tenantUser, endpoint: `http://127.0.0.1:${system.world.ports.aws}` },
    logging: { provider: 'splunk', url: `https://127.0.0.1:${system.world.ports.sinksHttps}`, token: world.splunk.token, index: 'opencmk' },
  } as const;
  for (const kind of ['kms', 'logging'] as const) {
    const reserved = await api<{ id: number }>(page, 'POST', `/api/orgs/${orgId}/tenant-configs/${kind}/reservations`, {});
    expect(reserved.status).toBe(201);
    const id = reserved.body.id;
    const context: SealContext = { purpose: kind === 'kms' ? 'kms-config' : 'logging-config', vendorId: recipients.body.vendorId, tenantId: recipients.body.tenantId, subjectId: String(id), subjectVersion: 1 };
    const copies = sealToMany(utf8Encode(JSON.stringify(configs[kind])), recipients.body.recipients.map((recipient) => base64UrlDecode(recipient.publicKey)), context);
    const metadataFields =
      kind === 'kms'
        ? { provider: 'aws', label: 'AWS key entered in the browser', leasingAllowed: false, primary: false, fingerprint: fingerprintOf(`aws:${keyArn}`) }
        : { provider: 'splunk', label: 'Splunk entered in the browser', fingerprint: fingerprintOf(`splunk:${configs.logging.url}`) };
    const created = await api<{ config: { id: number; status: string } }>(page, 'POST', `/api/orgs/${orgId}/tenant-configs/${kind}`, { id, ...metadataFields, copies });
    expect(created.status).toBe(201);
    expect(created.body.config.status).toBe(kind === 'kms' ? 'active' : 'active');

    const queued = await api<{ check: { id: string } }>(page, 'POST', `/api/orgs/${orgId}/tenant-configs/${kind}/${id}/checks`, {});
    expect(queued.status).toBe(201);
    let result: { status: string; ok: boolean | null; latencyMs: number | null; errorMessage: string | null } | undefined;
    await millisUntil(async () => {
      const { body } = await api<{ checks: { id: string; status: string; ok: boolean | null; latencyMs: number | null; errorMessage: string | null }[] }>(page, 'GET', `/api/orgs/${orgId}/tenant-configs/${kind}/${id}/checks`);
      result = body.checks.find((check) => check.id === queued.body.check.id);
      return result?.ok !== null && result?.ok !== undefined;
    }, 30_000, 200);
    expect(result).toMatchObject({ ok: true, errorMessage: null });
    expect(result!.latencyMs).toBeGreaterThanOrEqual(0);
    console.log(`test button (${kind}): success in ${result!.latencyMs} ms`);
  }
}, 120_000);

test('Ctrl-C stops every process; the next start reuses the data and the emulated world, and earlier EDEKs still decrypt', async () => {
  const client = new TenantSecurityClient(system.stack.proxyUrl, system.stack.apiKey);
  const made = await Promise.all(
    (['tenant-aws', 'tenant-gcp', 'tenant-azure'] as const).map(async (tenantId) => ({ tenantId, ...(await client.encryptDocument({ field: Buffer.from(`kept ${tenantId}`) }, metadata(tenantId))) })),
  );
  const place = system.place;
  await system.stopKeepingFiles();
  const refused = async (url: string) => (await fetch(url, { signal: AbortSignal.timeout(2000) }).then(() => false, () => true));
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

test('flows 1 and 6: a new proxy configuration from its downloaded .env serves the tenants; the revoked one is not ready within 2 s', async () => {
  const vendor = await signIn(system.demo.vendorAdminEmail);
  const vendorId = system.demo.vendorId;
  const keys = await api<{ userId: string; myKey: { protectedPrivateKey: string }; myGrant: string }>(vendor, 'GET', `/api/orgs/${vendorId}/keys`);
  expect(keys.status).toBe(200);
  // The passphrase prompt: unlock the admin key, then open the vendor key sealed to it.
  const unlocked = spawnSync(process.execPath, [path.join(__dirname, 'support', 'unlock-admin-key.mjs')], {
    input: JSON.stringify({ protectedPrivateKey: keys.body.myKey.protectedPrivateKey, passphrase: system.demo.vendorPassphrase }),
    encoding: 'utf8',
  });
  expect(unlocked.status).toBe(0);
  const adminPrivateKey = base64UrlDecode(unlocked.stdout.trim());
  const vendorPrivateKey = open(keys.body.myGrant, adminPrivateKey, { purpose: 'vendor-key', vendorId, tenantId: '', subjectId: keys.body.userId, subjectVersion: 1 });

  // Flow 1: create the configuration (keys, token and API key made client-side), provision it, download its .env.
  const proxyConfigId = randomUUID();
  const proxyKey = generateKeyPair();
  const brokerToken = `ocmk_bt_${randomBytes(32).toString('base64url')}`;
  const apiKey = `ocmk_ak_${randomBytes(32).toString('base64url')}`;
  const [port, healthPort] = [await freePort(), await freePort()];
  const envText = proxyEnvText({
    brokerUrl: system.stack.brokerUrl,
    proxyConfigId,
    vendorId,
    privateKey: proxyKey.privateKey,
    brokerToken,
    apiKey,
    settings: { brokerUrl: system.stack.brokerUrl, port, healthPort, host: '127.0.0.1', kmsExtraCaFile: system.caFile },
  });
  const vendorPublicKey = (await api<{ vendorKey: { publicKey: string } }>(vendor, 'GET', `/api/orgs/${vendorId}/keys`)).body.vendorKey.publicKey;
  const created = await api<{ proxyConfig: { status: string } }>(vendor, 'POST', `/api/orgs/${vendorId}/proxy-configs`, {
    id: proxyConfigId,
    name: 'second pod',
    publicKey: base64UrlEncode(proxyKey.publicKey),
    tokenHash: createHash('sha256').update(brokerToken).digest('hex'),
    sealedEnv: seal(utf8Encode(envText), base64UrlDecode(vendorPublicKey), { purpose: 'proxy-env', vendorId, tenantId: '', subjectId: proxyConfigId, subjectVersion: 1 }),
  });
  expect(created).toMatchObject({ status: 201, body: { proxyConfig: { status: 'provisioning' } } });

  let remaining = Infinity;
  let sealedCount = 0;
  let toSeal: number | undefined;
  while (remaining > 0) {
    const batch = await api<{ total: number; remaining: number; items: { kind: 'kms' | 'logging'; configId: number; version: number; tenantId: string; vendorCopy: string }[] }>(
      vendor,
      'GET',
      `/api/orgs/${vendorId}/proxy-configs/${proxyConfigId}/provisioning?limit=50`,
    );
    expect(batch.status).toBe(200);
    toSeal ??= batch.body.remaining;
    if (batch.body.items.length === 0) break;
    const copies = batch.body.items.map((item) => {
      const context: SealContext = { purpose: item.kind === 'kms' ? 'kms-config' : 'logging-config', vendorId, tenantId: item.tenantId, subjectId: String(item.configId), subjectVersion: item.version };
      return { kind: item.kind, configId: item.configId, version: item.version, blob: seal(open(item.vendorCopy, vendorPrivateKey, context), proxyKey.publicKey, context) };
    });
    sealedCount += copies.length;
    const stored = await api<{ remaining: number }>(vendor, 'POST', `/api/orgs/${vendorId}/proxy-configs/${proxyConfigId}/provisioning`, { copies });
    expect(stored.status).toBe(200);
    remaining = stored.body.remaining;
  }
  // Every config of every tenant: 3 × (KMS + logging) from the demo, plus what flow 2 added.
  expect(remaining).toBe(0);
  expect(sealedCount).toBe(toSeal);
  expect(sealedCount).toBeGreaterThanOrEqual(6);
  expect((await api<{ proxyConfig: { status: string } }>(vendor, 'POST', `/api/orgs/${vendorId}/proxy-configs/${proxyConfigId}`, { action: 'activate' })).body.proxyConfig.status).toBe('active');

  const downloaded = await api<{ proxyConfig: { sealedEnv: string; envVersion: number } }>(vendor, 'GET', `/api/orgs/${vendorId}/proxy-configs/${proxyConfigId}`);
  const envFile = path.join(scratch, 'second-pod.env');
  writeFileSync(
    envFile,
    utf8Decode(open(downloaded.body.proxyConfig.sealedEnv, vendorPrivateKey, { purpose: 'proxy-env', vendorId, tenantId: '', subjectId: proxyConfigId, subjectVersion: downloaded.body.proxyConfig.envVersion })),
    { mode: 0o600 },
  );
  const secondProxy = spawnManaged([path.join(repoRoot, 'services', 'tenant-security-proxy', 'dist', 'main.js'), '--env-file', envFile], { PATH: process.env.PATH, NODE_ENV: 'production' });
  extraProcesses.push(secondProxy);
  await millisUntil(async () => (await fetch(`http://127.0.0.1:${healthPort}/ready`).catch(() => null))?.status === 200, 30_000, 100).catch((error: Error) => {
    throw new Error(`${error.message}: the second proxy did not become ready\n${secondProxy.output().slice(-3000)}`);
  });

  // An EDEK made through the first proxy, to be opened through the second.
  const firstClient = new TenantSecurityClient(system.stack.proxyUrl, system.stack.apiKey);
  const earlier = await firstClient.encryptDocument({ field: Buffer.from('made by the first pod') }, metadata('tenant-aws'));

  // Flow 6: revoke the first configuration; its proxy reports not ready within 2 s.
  const revoked = await api<{ proxyConfig: { status: string } }>(vendor, 'POST', `/api/orgs/${vendorId}/proxy-configs/${system.demo.proxyConfigId}`, { action: 'revoke' });
  expect(revoked.body.proxyConfig.status).toBe('revoked');
  const notReadyAfter = await millisUntil(async () => (await fetch(`${system.stack.proxyHealthUrl}/ready`)).status === 503, 10_000);
  console.log(`proxy configuration revoked: the proxy reported not ready after ${notReadyAfter.toFixed(0)} ms`);
  expect(notReadyAfter).toBeLessThan(2000);
  expect(await errorCodeOf(firstClient.encryptDocument({ field: Buffer.from('x') }, metadata('tenant-aws')))).not.toBe('ok');

  const secondClient = new TenantSecurityClient(`http://127.0.0.1:${port}`, apiKey);
  for (const tenantId of ['tenant-aws', 'tenant-azure']) expect(await roundTrip(secondClient, tenantId, `served by the second pod for ${tenantId}`)).toBe(`served by the second pod for ${tenantId}`);
  const reopened = await secondClient.decryptDocument(earlier, metadata('tenant-aws'));
  expect(Buffer.from(reopened.plaintextDocument.field!).toString()).toBe('made by the first pod');
}, 180_000);
