import './helpers.js';
import { createHmac, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { createCertificateAuthority, startEmulators, type Emulators } from '../src/index.js';
import { elapsed, request } from './helpers.js';

let emu: Emulators;

beforeAll(async () => {
  emu = await startEmulators({ seed: 'demo' });
});

afterEach(() => emu.resetFaults());

afterAll(() => emu.close());

const admin = (base: string, path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST') =>
  request(`${base}/__emulator/${path}`, {
    method,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
    ca: emu.ca.pem,
  });

describe('admin HTTP API under /__emulator/', () => {
  test('control methods over HTTP change what the SDK sees (AWS add user and key, then encrypt)', async () => {
    const user = (await admin(emu.aws.url, 'addUser', { accountId: '333333333333', userName: 'http-admin' })).json();
    expect(user.accessKeyId).toMatch(/^AKIA/);
    const key = (await admin(emu.aws.url, 'addKey', { accountId: '333333333333', alias: 'alias/http' })).json();
    expect(key.arn).toMatch(/^arn:aws:kms:us-east-1:333333333333:key\//);
    const client = new KMSClient({
      region: 'us-east-1',
      endpoint: emu.aws.url,
      credentials: { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey },
      maxAttempts: 1,
    });
    try {
      await client.send(new EncryptCommand({ KeyId: 'alias/http', Plaintext: Buffer.from('x') }));
      expect((await admin(emu.aws.url, 'setKeyState', { key: key.arn, state: 'Disabled' })).json().state).toBe(
        'Disabled',
      );
      await expect(
        client.send(new EncryptCommand({ KeyId: key.arn, Plaintext: Buffer.from('x') })),
      ).rejects.toMatchObject({ name: 'DisabledException' });
    } finally {
      client.destroy();
    }
    const log = (await admin(emu.aws.url, 'requests?operation=Encrypt')).json().requests;
    expect(log.map((entry: { status: number }) => entry.status)).toEqual([200, 400]);
    expect(log[1]).toMatchObject({
      emulator: 'aws',
      errorCode: 'DisabledException',
      principal: user.arn,
      keys: expect.arrayContaining([key.arn]),
    });
  });

  test('faults over HTTP: add, list, hit, delete', async () => {
    const created = await admin(emu.sinks.httpUrl, 'faults', {
      type: 'error',
      error: 'internal',
      count: 1,
      match: { operation: 'webhook' },
    });
    expect(created.status).toBe(201);
    const { id } = created.json();
    expect((await admin(emu.sinks.httpUrl, 'faults')).json().faults).toEqual([
      { id, rule: { type: 'error', error: 'internal', count: 1, match: { operation: ['webhook'] } }, remaining: 1 },
    ]);
    const { secret, url } = emu.demo!.webhook;
    const body = '{}';
    const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const failed = await request(url, {
      method: 'POST',
      body,
      ca: emu.ca.pem,
      headers: { 'x-opencmk-signature': signature },
    });
    expect(failed.status).toBe(500);
    expect((await admin(emu.sinks.httpUrl, 'faults')).json().faults).toEqual([]);
    const latency = (await admin(emu.sinks.httpUrl, 'faults', { type: 'latency', ms: 60 })).json().id;
    const { ms } = await elapsed(() =>
      request(url, { method: 'POST', body, ca: emu.ca.pem, headers: { 'x-opencmk-signature': signature } }),
    );
    expect(ms).toBeGreaterThanOrEqual(55);
    expect((await admin(emu.sinks.httpUrl, `faults/${latency}`, undefined, 'DELETE')).status).toBe(204);
    expect((await admin(emu.sinks.httpUrl, `faults/${latency}`, undefined, 'DELETE')).status).toBe(404);
  });

  test('a hung request is answered by nobody, and close() still finishes', async () => {
    const extra = await startEmulators();
    let closed = false;
    try {
      extra.sinks.faults.hang();
      const { id, secret } = extra.sinks.control.api.addWebhook({});
      const body = '{}';
      const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
      const pending = request(extra.sinks.webhookUrl(id, 'http'), {
        method: 'POST',
        body,
        headers: { 'x-opencmk-signature': signature },
      });
      const raced = await Promise.race([
        pending.then(
          () => 'answered',
          () => 'failed',
        ),
        new Promise((resolve) => setTimeout(() => resolve('still waiting'), 100)),
      ]);
      expect(raced).toBe('still waiting');
      expect(extra.sinks.log.entries()[0]?.outcome).toBe('hung');
      const { ms } = await elapsed(() => extra.close());
      closed = true;
      expect(ms).toBeLessThan(1000);
      await expect(pending).rejects.toThrow(/socket hang up|ECONNRESET/);
    } finally {
      if (!closed) await extra.close();
    }
  });

  test('bad input is a clear 4xx, never a 500', async () => {
    const unknownField = await admin(emu.gcp.httpUrl, 'addKey', {
      project: 'proj-one',
      keyRing: 'r',
      key: 'k',
      colour: 'blue',
    });
    expect([unknownField.status, unknownField.json().error.code]).toEqual([400, 'INVALID_ARGUMENT']);
    expect(unknownField.json().error.message).toContain('colour');
    const badType = await admin(emu.aws.url, 'addKey', { accountId: 12 });
    expect([badType.status, badType.json().error.message]).toEqual([400, 'accountId: expected a string']);
    const badJson = await admin(emu.aws.url, 'addKey', '{not json');
    expect([badJson.status, badJson.json().error.code]).toEqual([400, 'INVALID_ARGUMENT']);
    const unknownMethod = await admin(emu.aws.url, 'launchRockets', {});
    expect([unknownMethod.status, unknownMethod.json().error.code]).toEqual([404, 'UNKNOWN_METHOD']);
    const prototypeKey = await admin(emu.aws.url, 'constructor', {});
    expect(prototypeKey.status).toBe(404);
    const missing = await admin(emu.azure.url, 'setKeyEnabled', { key: 'nope', enabled: false });
    expect([missing.status, missing.json().error.code]).toEqual([404, 'NOT_FOUND']);
    const duplicate = await admin(emu.azure.url, 'addKey', { name: emu.demo!.azure.keyName });
    expect([duplicate.status, duplicate.json().error.code]).toEqual([409, 'ALREADY_EXISTS']);
    const badFault = await admin(emu.aws.url, 'faults', { type: 'error', error: 'meteor' });
    expect([badFault.status, badFault.json().error.message]).toEqual([
      400,
      'error: expected one of throttle, unavailable, internal, timeout, account',
    ]);
    // Wire paths with broken percent-encoding are provider-shaped 400s too.
    const gcpPath = await request(`${emu.gcp.httpUrl}/v1/projects/%E0%A4%A:encrypt`, { method: 'POST', body: '{}' });
    expect([gcpPath.status, gcpPath.json().error.status]).toEqual([400, 'INVALID_ARGUMENT']);
    const azurePath = await request(`${emu.azure.url}/keys/%E0%A4%A?api-version=7.4`, { ca: emu.ca.pem });
    expect([azurePath.status, azurePath.json().error.code]).toEqual([400, 'BadParameter']);
    const unknownTenant = await request(`${emu.azure.url}/no-such-tenant/v2.0/.well-known/openid-configuration`, {
      ca: emu.ca.pem,
    });
    expect([unknownTenant.status, unknownTenant.json().error]).toEqual([400, 'invalid_tenant']);
    const noApiVersion = await request(`${emu.azure.url}/keys/${emu.demo!.azure.keyName}`, { ca: emu.ca.pem });
    expect([noApiVersion.status, noApiVersion.json().error.code]).toEqual([400, 'BadParameter']);
    expect(() => emu.aws.control.api.setKeyState({ key: 'nope', state: 'Disabled' })).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND' }),
    );
  });

  test('state shows what is registered without any secret', async () => {
    const response = await admin(emu.aws.url, 'state');
    const text = response.text;
    expect(response.json().keys.map((key: { arn: string }) => key.arn)).toContain(emu.demo!.aws.keyArn);
    expect(text).not.toContain(emu.demo!.aws.vendor.secretAccessKey);
    const azureState = await admin(emu.azure.url, 'state');
    expect(azureState.text).not.toContain(emu.demo!.azure.clientSecret);
    expect(azureState.json().keys[0]).toMatchObject({ name: emu.demo!.azure.keyName, enabled: true });
    const sinkState = await admin(emu.sinks.httpUrl, 'state');
    expect(sinkState.text).not.toContain(emu.demo!.splunk.token);
    expect(sinkState.text).not.toContain(emu.demo!.webhook.secret);
    const gcpState = await admin(emu.gcp.httpUrl, 'state');
    expect(gcpState.text).not.toContain('PRIVATE KEY');
  });

  test('request logs never carry bodies or credentials', async () => {
    const { splunk } = emu.demo!;
    await request(`${splunk.url}/services/collector/event`, {
      method: 'POST',
      body: JSON.stringify({ event: 'secret-plaintext' }),
      ca: emu.ca.pem,
      headers: { authorization: `Splunk ${splunk.token}` },
    });
    const log = JSON.stringify(emu.sinks.log.entries());
    expect(log).toContain('splunk');
    expect(log).not.toContain('secret-plaintext');
    expect(log).not.toContain(splunk.token);
  });
});

describe('demo seed and the generated CA', () => {
  test('the demo world is consistent and the CA file matches the PEM', async () => {
    const demo = emu.demo!;
    expect(demo.aws.keyArn).toBe('arn:aws:kms:us-east-1:222222222222:key/0c0f1a5e-0000-4000-8000-00000000a001');
    expect(demo.aws.role).toEqual({
      arn: 'arn:aws:iam::222222222222:role/OpenCmkTenantKeyAccess',
      externalId: 'opencmk-demo-external-id',
    });
    expect(demo.gcp.keyName).toBe('projects/opencmk-tenant/locations/global/keyRings/opencmk/cryptoKeys/tenant-kek');
    expect(demo.gcp.serviceAccountKey.client_email).toBe('opencmk-proxy@opencmk-vendor.iam.gserviceaccount.com');
    expect(demo.azure.kid.startsWith(`${emu.azure.vaultUrl}/keys/tenant-kek/`)).toBe(true);
    expect(demo.splunk.url).toBe(emu.sinks.httpsUrl);
    expect(await readFile(emu.ca.path, 'utf8')).toBe(emu.ca.pem);
    expect(emu.describe().demo).toEqual(demo);
  });

  test('certificates: the CA signs a server certificate for 127.0.0.1, localhost and ::1', () => {
    const authority = createCertificateAuthority('unit CA', 2);
    const server = authority.issueServerCertificate(['127.0.0.1', 'localhost', '::1']);
    const ca = new X509Certificate(authority.certPem);
    const leaf = new X509Certificate(server.certPem);
    expect(ca.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.verify(new X509Certificate(createCertificateAuthority().certPem).publicKey)).toBe(false);
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkIP('::1')).toBe('::1');
    expect(leaf.checkHost('localhost')).toBe('localhost');
    expect(leaf.checkHost('example.com')).toBeUndefined();
    expect(leaf.issuer).toBe(ca.subject);
    expect(new Date(leaf.validTo).getTime() - Date.now()).toBeLessThan(3 * 24 * 3600 * 1000);
  });
});
