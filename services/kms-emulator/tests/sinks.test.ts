import './helpers.js';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { JWT } from 'google-auth-library';
import { startEmulators, type Emulators, type ServiceAccountKeyJson } from '../src/index.js';
import { request } from './helpers.js';

let emu: Emulators;
let splunkToken: string;
let webhook: { id: string; url: string; httpUrl: string; secret: string };
let loggingSa: ServiceAccountKeyJson;

const LOGGING_URL = 'https://logging.googleapis.com/v2/entries:write';

function sign(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The self-signed JWT google-auth-library sends for an API without scopes (aud = the API origin). */
async function selfSignedJwt(sa: { client_email: string; private_key: string }): Promise<string> {
  const jwt = new JWT({ email: sa.client_email, key: sa.private_key });
  const headers = await jwt.getRequestHeaders(LOGGING_URL);
  return headers.get('authorization')!;
}

beforeAll(async () => {
  emu = await startEmulators();
  splunkToken = emu.sinks.control.api.addSplunkToken({
    name: 'tenant-a',
    defaultIndex: 'opencmk',
    allowedIndexes: ['opencmk', 'audit'],
  }).token;
  webhook = emu.sinks.control.api.addWebhook({ id: 'tenant-a' });
  loggingSa = emu.gcp.control.api.addServiceAccount({ projectId: 'tenant-project', accountId: 'event-writer' });
});

afterEach(() => {
  emu.resetFaults();
  emu.sinks.clearEvents();
});

afterAll(() => emu.close());

describe('Splunk HTTP Event Collector', () => {
  const post = (body: string, authorization?: string) =>
    request(`${emu.sinks.splunkUrl}/services/collector/event`, {
      method: 'POST',
      body,
      ca: emu.ca.pem,
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    });

  test('a batch of concatenated events arrives over HTTPS', async () => {
    const batch = `${JSON.stringify({ event: { op: 'wrap', tenant: 'tenant-a' }, sourcetype: 'opencmk', time: 1700000000.5 })}\n${JSON.stringify({ event: 'text event', index: 'audit', fields: { tenant: 'tenant-a' } })}`;
    const response = await post(batch, `Splunk ${splunkToken}`);
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ text: 'Success', code: 0 });
    const events = emu.sinks.events('splunk');
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      tokenName: 'tenant-a',
      index: 'opencmk',
      sourcetype: 'opencmk',
      time: 1700000000.5,
      event: { op: 'wrap', tenant: 'tenant-a' },
    });
    expect(events[1]).toMatchObject({ index: 'audit', event: 'text event', fields: { tenant: 'tenant-a' } });
  });

  test('missing, malformed and wrong tokens are refused with HEC codes', async () => {
    const event = JSON.stringify({ event: 'x' });
    expect((await post(event)).json()).toEqual({ text: 'Token is required', code: 2 });
    expect((await post(event, `Bearer ${splunkToken}`)).status).toBe(401);
    const wrong = await post(event, 'Splunk 00000000-0000-4000-8000-000000000000');
    expect([wrong.status, wrong.json()]).toEqual([403, { text: 'Invalid token', code: 4 }]);
    emu.sinks.control.api.setSplunkTokenDisabled({ name: 'tenant-a', disabled: true });
    try {
      expect((await post(event, `Splunk ${splunkToken}`)).json()).toEqual({ text: 'Token disabled', code: 1 });
    } finally {
      emu.sinks.control.api.setSplunkTokenDisabled({ name: 'tenant-a', disabled: false });
    }
    expect(emu.sinks.events('splunk')).toHaveLength(0);
  });

  test('bad batches: no data, invalid JSON, missing event, disallowed index; events before the bad one are kept', async () => {
    const auth = `Splunk ${splunkToken}`;
    expect((await post('', auth)).json()).toEqual({ text: 'No data', code: 5 });
    expect((await post('{"event":', auth)).json()).toMatchObject({
      text: 'Invalid data format',
      code: 6,
      'invalid-event-number': 0,
    });
    const missing = await post(`${JSON.stringify({ event: 'first' })}${JSON.stringify({ time: 1 })}`, auth);
    expect([missing.status, missing.json()]).toEqual([
      400,
      { text: 'Event field is required', code: 12, 'invalid-event-number': 1 },
    ]);
    expect(emu.sinks.events('splunk').map((event) => event.event)).toEqual(['first']);
    expect((await post(JSON.stringify({ event: 'x', index: 'main' }), auth)).json()).toMatchObject({
      text: 'Incorrect index',
      code: 7,
    });
  });

  test('faults: busy (503 code 9) then success', async () => {
    emu.sinks.faults.failNext(1, 'throttle', { retryAfterMs: 1000, match: { operation: 'splunk' } });
    const busy = await post(JSON.stringify({ event: 'x' }), `Splunk ${splunkToken}`);
    expect([busy.status, busy.json(), busy.headers['retry-after']]).toEqual([
      503,
      { text: 'Server is busy', code: 9 },
      '1',
    ]);
    expect((await post(JSON.stringify({ event: 'x' }), `Splunk ${splunkToken}`)).status).toBe(200);
    expect(emu.sinks.events('splunk')).toHaveLength(1);
  });
});

describe('Google Cloud Logging entries:write', () => {
  const write = (body: unknown, authorization?: string) =>
    request(`${emu.sinks.gcpLoggingEndpoint}/v2/entries:write`, {
      method: 'POST',
      body: JSON.stringify(body),
      ca: emu.ca.pem,
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    });
  const entries = (project: string) => ({
    logName: `projects/${project}/logs/opencmk-security-events`,
    resource: { type: 'global' },
    entries: [
      { jsonPayload: { op: 'unwrap', tenant: 'tenant-a' }, severity: 'INFO', timestamp: '2026-11-22T08:00:00Z' },
      { textPayload: 'second', labels: { kind: 'text' } },
    ],
  });

  test('entries written with a self-signed service-account JWT (google-auth-library) arrive', async () => {
    const response = await write(entries('tenant-project'), await selfSignedJwt(loggingSa));
    expect([response.status, response.json()]).toEqual([200, {}]);
    const received = emu.sinks.events('gcp-logging');
    expect(received).toHaveLength(2);
    expect(received[0]).toMatchObject({
      principal: loggingSa.client_email,
      logName: 'projects/tenant-project/logs/opencmk-security-events',
      severity: 'INFO',
      jsonPayload: { op: 'unwrap' },
    });
    expect(received[1]).toMatchObject({ textPayload: 'second', labels: { kind: 'text' } });
  });

  test('an access token from the emulated OAuth endpoint (RFC 7523 jwt-bearer) is accepted too', async () => {
    const jwt = new JWT({
      email: loggingSa.client_email,
      key: loggingSa.private_key,
      scopes: ['https://www.googleapis.com/auth/logging.write'],
      transporterOptions: { fetchImplementation: fetch }, // jest's vm cannot import('node-fetch')
    });
    // google-auth-library hard-codes the token URL; redirect it to the emulator.
    jwt.transporter.interceptors.request.add({
      resolved: async (config) => {
        if (String(config.url) === 'https://oauth2.googleapis.com/token') config.url = new URL(emu.gcp.tokenUrl);
        return config;
      },
    });
    const { token } = await jwt.getAccessToken();
    expect(token).toMatch(/^ya29\.emu-/);
    const response = await write(entries('tenant-project'), `Bearer ${token}`);
    expect(response.status).toBe(200);
    expect(emu.gcp.log.count({ operation: 'token', status: 200 })).toBe(1);
  });

  test('unknown signer, missing token and a foreign project are refused', async () => {
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const forged = await write(
      entries('tenant-project'),
      await selfSignedJwt({ client_email: loggingSa.client_email, private_key: stranger }),
    );
    expect([forged.status, forged.json().error.status]).toEqual([401, 'UNAUTHENTICATED']);
    expect((await write(entries('tenant-project'))).status).toBe(401);
    const foreign = await write(entries('other-project'), await selfSignedJwt(loggingSa));
    expect([foreign.status, foreign.json().error.status]).toEqual([403, 'PERMISSION_DENIED']);
    emu.sinks.control.api.grantLogWriter({
      project: 'other-project',
      member: `serviceAccount:${loggingSa.client_email}`,
    });
    expect((await write(entries('other-project'), await selfSignedJwt(loggingSa))).status).toBe(200);
    const noLogName = await write({ entries: [{ textPayload: 'x' }] }, await selfSignedJwt(loggingSa));
    expect([noLogName.status, noLogName.json().error.status]).toEqual([400, 'INVALID_ARGUMENT']);
  });

  test('faults: 503 UNAVAILABLE then success', async () => {
    emu.sinks.faults.failNext(1, 'unavailable', { match: { operation: 'gcp-logging' } });
    const authorization = await selfSignedJwt(loggingSa);
    expect((await write(entries('tenant-project'), authorization)).json().error.status).toBe('UNAVAILABLE');
    expect((await write(entries('tenant-project'), authorization)).status).toBe(200);
  });
});

describe('HTTPS webhook with X-OpenCMK-Signature', () => {
  const deliver = (body: string, signature?: string, url = webhook.url) =>
    request(url, {
      method: 'POST',
      body,
      ca: emu.ca.pem,
      headers: { 'content-type': 'application/json', ...(signature ? { 'x-opencmk-signature': signature } : {}) },
    });

  test('a correctly signed delivery is accepted and recorded with its raw body', async () => {
    const body = JSON.stringify({ events: [{ op: 'wrap', tenant: 'tenant-a' }] });
    const response = await deliver(body, sign(webhook.secret, body));
    expect(response.status).toBe(204);
    const [delivery] = emu.sinks.events('webhook');
    expect(delivery).toMatchObject({
      webhookId: 'tenant-a',
      contentType: 'application/json',
      rawBody: body,
      body: { events: [{ op: 'wrap' }] },
    });
  });

  test('plain HTTP works too (the sinks listen on both)', async () => {
    const body = '{"ping":true}';
    expect((await deliver(body, sign(webhook.secret, body), webhook.httpUrl)).status).toBe(204);
  });

  test('missing, wrong or stale signatures are 401; unknown webhooks 404', async () => {
    const body = JSON.stringify({ events: [] });
    expect((await deliver(body)).status).toBe(401);
    expect((await deliver(body, sign('another-secret-entirely', body))).json().error).toBe('invalid_signature');
    // A signature over another body (one changed byte) must not verify.
    expect((await deliver(`${body} `, sign(webhook.secret, body))).status).toBe(401);
    expect(await deliver(body, sign(webhook.secret, body).replace('sha256=', 'sha1='))).toMatchObject({ status: 401 });
    expect((await deliver(body, sign(webhook.secret, body), `${emu.sinks.httpsUrl}/webhooks/nope`)).status).toBe(404);
    expect(emu.sinks.events('webhook')).toHaveLength(0);
  });

  test('faults: a throttled 429 with Retry-After, then success', async () => {
    const body = '{"n":1}';
    emu.sinks.faults.failNext(1, 'throttle', { retryAfterMs: 2000, match: { operation: 'webhook' } });
    const throttled = await deliver(body, sign(webhook.secret, body));
    expect([throttled.status, throttled.headers['retry-after']]).toEqual([429, '2']);
    expect((await deliver(body, sign(webhook.secret, body))).status).toBe(204);
    expect(emu.sinks.log.entries({ operation: 'webhook' }).map((entry) => entry.status)).toEqual([429, 204]);
  });
});
