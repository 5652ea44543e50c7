import fc from 'fast-check';
import { encodeKmsEdek } from '../../src/edek.js';
import { callProxy, spawnProxy, waitForReady, type ProxyProcess } from '../support/proxy-process.js';
import { startWorld, type World } from '../support/world.js';

/** Raw requests against the proxy process: every protocol error code, KMS faults per provider, and fuzzing. */
let world: World;
let proxy: ProxyProcess;
const SECOND_KEY = 'ocmk_ak_second-key-for-rotation-0001';

beforeAll(async () => {
  world = await startWorld();
  const demo = world.emulators.demo!;
  world.broker.setTenant({
    tenantId: 'aws-bad-secret',
    kmsConfigs: [
      {
        id: 601,
        provider: 'aws',
        status: 'primary',
        leasingAllowed: false,
        payload: {
          provider: 'aws',
          keyArn: demo.aws.keyArn,
          region: demo.aws.region,
          endpoint: demo.aws.endpoint,
          accessKeyId: demo.aws.tenantUser.accessKeyId,
          secretAccessKey: 'wrong-secret-wrong-secret-wrong-secret00',
        },
      },
    ],
  });
  world.broker.setTenant({
    tenantId: 'aws-missing-key',
    kmsConfigs: [
      {
        id: 602,
        provider: 'aws',
        status: 'primary',
        leasingAllowed: false,
        payload: {
          ...world.configs['aws-direct']!.payload,
          keyArn: demo.aws.keyArn.replace(/key\/.*$/, 'key/00000000-0000-4000-8000-000000000000'),
        },
      },
    ],
  });
  world.broker.setTenant({
    tenantId: 'aws-closed-port',
    kmsConfigs: [
      {
        id: 603,
        provider: 'aws',
        status: 'primary',
        leasingAllowed: false,
        payload: { ...world.configs['aws-direct']!.payload, endpoint: 'http://127.0.0.1:1' },
      },
    ],
  });
  proxy = await spawnProxy({ ...world.proxyEnv, API_KEY_2: SECOND_KEY });
  await waitForReady(proxy.healthUrl);
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await world?.close();
}, 30_000);

afterEach(() => world.emulators.resetFaults());

const call = (route: string, body: unknown, apiKey: string | null = world.proxyEnv.API_KEY!) =>
  callProxy(proxy.url, route, body, apiKey);
const meta = (tenantId: string) => ({ tenantId, iclFields: { requestingId: 'svc-errors' }, customFields: {} });
const wrap = (tenantId: string) => call('document/wrap', meta(tenantId));

describe('authorization (101)', () => {
  test.each([
    ['missing header', null],
    ['wrong key', 'ocmk_ak_not-the-key-not-the-key-00'],
    ['empty key', ''],
  ])('%s gives HTTP 401 code 101', async (_name, key) => {
    const { status, json } = await call('document/wrap', meta('aws-leased'), key);
    expect(status).toBe(401);
    expect(json.code).toBe(101);
  });
  test('a Bearer scheme is refused; API_KEY_2 is accepted', async () => {
    const bearer = await fetch(`${proxy.url}/api/1/document/wrap`, {
      method: 'POST',
      headers: { authorization: `Bearer ${world.proxyEnv.API_KEY}` },
      body: JSON.stringify(meta('aws-leased')),
    });
    expect(bearer.status).toBe(401);
    expect((await call('document/wrap', meta('aws-leased'), SECOND_KEY)).status).toBe(200);
  });
});

describe('request errors', () => {
  test.each([
    ['not JSON', '{"tenantId":'],
    ['missing tenantId', { iclFields: { requestingId: 'x' } }],
    ['missing requestingId', { tenantId: 'aws-leased', iclFields: {} }],
    ['wrong customFields type', { ...meta('aws-leased'), customFields: { a: 1 } }],
    ['array body', [1, 2]],
  ])('%s gives 400 code 102', async (_name, body) => {
    const { status, json } = await call('document/wrap', body);
    expect(status).toBe(400);
    expect(json.code).toBe(102);
  });
  test('null customFields and null optional iclFields are accepted (Go, PHP)', async () => {
    const { status } = await call('document/wrap', {
      tenantId: 'aws-leased',
      iclFields: { requestingId: 'x', dataLabel: null, sourceIp: null },
      customFields: null,
    });
    expect(status).toBe(200);
  });
  test('an oversized body gives 413 code 102', async () => {
    const { status, json } = await call('document/batch-wrap', {
      ...meta('aws-leased'),
      documentIds: Array.from({ length: 9000 }, (_, i) => `${'x'.repeat(500)}${i}`),
    });
    expect(status).toBe(413);
    expect(json.code).toBe(102);
  });
  test('unknown route: 404 with a code; `//api/1/` works', async () => {
    expect((await call('document/nope', meta('aws-leased'))).status).toBe(404);
    const slash = await fetch(`${proxy.url}//api/1/document/wrap`, {
      method: 'POST',
      headers: { authorization: `cmk ${world.proxyEnv.API_KEY}` },
      body: JSON.stringify(meta('aws-leased')),
    });
    expect(slash.status).toBe(200);
  });
  test('200 no primary, 201 unknown tenant', async () => {
    expect((await wrap('no-primary')).json.code).toBe(200);
    const unknown = await wrap('nobody');
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ code: 201, message: expect.stringContaining('No configurations available') });
    const batch = await call('document/batch-wrap', { ...meta('no-primary'), documentIds: ['a'] });
    expect(batch.json.code).toBe(200);
  });
  test('202 for an EDEK naming a disabled config; 203 for garbage, foreign and tampered EDEKs', async () => {
    const disabled = await call('document/unwrap', {
      ...meta('multi'),
      encryptedDocumentKey: encodeKmsEdek(403, 'multi', Buffer.alloc(40, 1)),
    });
    expect(disabled.json.code).toBe(202);
    for (const edek of ['not base64!', 'AAAA', Buffer.from('garbage protobuf').toString('base64')]) {
      expect((await call('document/unwrap', { ...meta('aws-leased'), encryptedDocumentKey: edek })).json.code).toBe(
        203,
      );
    }
    const wrapped = (await wrap('aws-leased')).json;
    const foreign = await call('document/unwrap', { ...meta('gcp-leased'), encryptedDocumentKey: wrapped.edek });
    expect(foreign.json.code).toBe(203);
    expect(foreign.json.message).toContain('is not assigned to tenant');
    const bytes = Buffer.from(wrapped.edek, 'base64');
    bytes[8]! ^= 1; // inside the leased DEK ciphertext
    const tampered = await call('document/unwrap', {
      ...meta('aws-leased'),
      encryptedDocumentKey: bytes.toString('base64'),
    });
    expect(tampered.status).toBe(400);
    expect(tampered.json.code).toBe(203);
    const batch = await call('document/batch-unwrap', {
      ...meta('aws-leased'),
      edeks: { good: wrapped.edek, bad: 'AAAA' },
    });
    expect(batch.status).toBe(200);
    expect(Object.keys(batch.json.keys)).toEqual(['good']);
    expect(batch.json.failures.bad.code).toBe(203);
  });
  test('batch ids such as __proto__ and constructor come back like any other id', async () => {
    const wrapped = await call('document/batch-wrap', {
      ...meta('aws-leased'),
      documentIds: ['__proto__', 'constructor', 'a'],
    });
    expect(wrapped.status).toBe(200);
    const keysText = JSON.stringify(wrapped.json.keys);
    expect(Object.keys(JSON.parse(keysText)).sort()).toEqual(['__proto__', 'a', 'constructor'].sort());
    const edek = (wrapped.json.keys.a as { edek: string }).edek;
    const body = `{"tenantId":"aws-leased","iclFields":{"requestingId":"x"},"edeks":{"__proto__":"${edek}","toString":"AAAA"}}`;
    const unwrapped = await call('document/batch-unwrap', body);
    expect(unwrapped.status).toBe(200);
    expect(Object.keys(unwrapped.json.keys)).toEqual(['__proto__']);
    expect(Object.keys(unwrapped.json.failures)).toEqual(['toString']);
  });
  test('301 for an unknown security event; alloy top-level event accepted with body null', async () => {
    const rejected = await call('event/security-event', {
      ...meta('aws-leased'),
      iclFields: { requestingId: 'x', event: 'NOT_AN_EVENT' },
      timestampMillis: 1,
    });
    expect(rejected.json.code).toBe(301);
    const alloy = await fetch(`${proxy.url}/api/1/event/security-event`, {
      method: 'POST',
      headers: { authorization: `cmk ${world.proxyEnv.API_KEY}` },
      body: JSON.stringify({ ...meta('aws-leased'), event: 'CUSTOM_THING_HAPPENED', timestampMillis: 5 }),
    });
    expect(alloy.status).toBe(200);
    expect(await alloy.text()).toBe('null');
  });
  test('report-operations answers 2xx', async () => {
    const { status } = await call('document/report-operations', {
      ...meta('aws-leased'),
      operations: { someEdek: { wraps: 2, unwraps: 1 } },
    });
    expect(status).toBe(200);
  });
});

describe('KMS failures map to 204-210', () => {
  test('206: AWS credentials rejected', async () => {
    expect((await wrap('aws-bad-secret')).json.code).toBe(206);
  });
  test('207: AWS key missing; AWS key disabled; Azure access revoked', async () => {
    expect((await wrap('aws-missing-key')).json.code).toBe(207);
    const demo = world.emulators.demo!;
    world.emulators.aws.control.api.setKeyState({ key: demo.aws.keyArn, state: 'Disabled' });
    try {
      expect((await wrap('aws-direct')).json.code).toBe(207);
    } finally {
      world.emulators.aws.control.api.setKeyState({ key: demo.aws.keyArn, state: 'Enabled' });
    }
    world.emulators.azure.control.api.revokeGrant({ key: demo.azure.keyName, principal: demo.azure.clientId });
    try {
      expect((await wrap('azure-direct')).json.code).toBe(207);
    } finally {
      world.emulators.azure.control.api.grant({ key: demo.azure.keyName, principal: demo.azure.clientId });
    }
  });
  test('208: KMS unreachable (closed port), failing, or hanging past KMS_TIMEOUT_MS', async () => {
    expect((await wrap('aws-closed-port')).json.code).toBe(208);
    world.emulators.gcp.faults.failAlways('unavailable');
    const failing = await wrap('gcp-direct');
    expect(failing.status).toBe(503);
    expect(failing.json.code).toBe(208);
    world.emulators.resetFaults();
    world.emulators.azure.faults.hang();
    const started = Date.now();
    expect((await wrap('azure-direct')).json.code).toBe(208);
    expect(Date.now() - started).toBeLessThan(4000);
  });
  test('209: throttled on every attempt; a single throttle is retried away', async () => {
    world.emulators.aws.faults.failAlways('throttle');
    const throttled = await wrap('aws-direct');
    expect(throttled.status).toBe(429);
    expect(throttled.json.code).toBe(209);
    world.emulators.resetFaults();
    world.emulators.aws.faults.failNext(1, 'throttle');
    expect((await wrap('aws-direct')).status).toBe(200);
  });
  test('210: the cloud account cannot use KMS (AWS opt-in required, Cloud KMS API disabled)', async () => {
    world.emulators.aws.faults.failAlways('account');
    try {
      const aws = await wrap('aws-direct');
      expect(aws.status).toBe(502);
      expect(aws.json.code).toBe(210);
    } finally {
      world.emulators.resetFaults();
    }
    world.emulators.gcp.faults.failAlways('account');
    try {
      const gcp = await wrap('gcp-direct');
      expect(gcp.json.code).toBe(210);
      expect(String(gcp.json.message)).toMatch(/API has not been used/);
    } finally {
      world.emulators.resetFaults();
    }
  });
  test('204: a corrupted Cloud KMS checksum fails the wrap; 205: the KMS rejects a tampered ciphertext', async () => {
    world.emulators.gcp.faults.corruptChecksum({ count: 5 });
    expect((await wrap('gcp-direct')).json.code).toBe(204);
    world.emulators.resetFaults();
    const wrapped = (await wrap('aws-direct')).json;
    const bytes = Buffer.from(wrapped.edek, 'base64');
    bytes[bytes.length - 30]! ^= 0xff; // inside the KMS ciphertext blob
    const result = await call('document/unwrap', {
      ...meta('aws-direct'),
      encryptedDocumentKey: bytes.toString('base64'),
    });
    expect(result.json.code).toBe(205);
  });
});

describe('fuzzing: every malformed body or EDEK gets a 4xx with an integer code', () => {
  const routes = [
    'document/wrap',
    'document/unwrap',
    'document/batch-wrap',
    'document/batch-unwrap',
    'document/rekey',
    'event/security-event',
    'document/report-operations',
  ];
  test('bodies', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.oneof(
          fc.jsonValue(),
          fc.record(
            {
              tenantId: fc.oneof(fc.string(), fc.jsonValue()),
              iclFields: fc.jsonValue(),
              customFields: fc.jsonValue(),
              documentIds: fc.jsonValue(),
              edeks: fc.jsonValue(),
              encryptedDocumentKey: fc.jsonValue(),
            },
            { requiredKeys: [] },
          ),
        ),
        async (route, body) => {
          const { status, json } = await call(route, body);
          if (status === 200) return; // e.g. an unknown tenant in a well-formed security event is still "received"
          expect(status).toBeGreaterThanOrEqual(400);
          expect(status).toBeLessThan(500);
          expect(Number.isInteger(json.code)).toBe(true);
        },
      ),
      { numRuns: Number(process.env.TSP_FUZZ_RUNS ?? 150) },
    );
  });
  test('EDEKs: random bytes and mutations of real leased EDEKs', async () => {
    const real = Buffer.from((await wrap('aws-leased')).json.edek, 'base64');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('base64')),
          fc.string(),
          fc.tuple(fc.nat(real.length - 1), fc.integer({ min: 1, max: 255 })).map(([index, flip]) => {
            const copy = Buffer.from(real);
            copy[index]! ^= flip;
            return copy.toString('base64');
          }),
        ),
        async (edek) => {
          const { status, json } = await call('document/unwrap', { ...meta('aws-leased'), encryptedDocumentKey: edek });
          if (status === 200) return; // a flip in a field the unwrap does not read (e.g. the EDEK's leased key id)
          expect(status).toBeGreaterThanOrEqual(400);
          expect(status).toBeLessThan(500);
          expect(Number.isInteger(json.code)).toBe(true);
        },
      ),
      {
        numRuns: Number(process.env.TSP_FUZZ_RUNS ?? 300),
        // Found by this property: a flip inside the ARN in the emulator's ciphertext made the KMS answer "not found".
        examples: [
          [
            'CuwBCjA+OdWTbK0nYhpA0YgmRj6sUBXfD71IblIpaEO9GmjWKWuq0etnoaaogw6+gt92CMQQZRiy37j9ASIMR7WOlaR7FBly80b6KpUBCpIBCo0BAUthcm46YXdzOmttczp1cy1lYXN0LTQ6MjIyMjIyMjIyMjIyOmtleS8wYzBmMWE1ZS0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMGEwMDEAAAAAJllCPvYfdL9xHEzJgaKOkB5xLrHYac1iZl5PgNi8MZk/NrG+MlUsfadk+sIYYS/TFAH5OqyeLtW41n5CEGUyCmF3cy1sZWFzZWQ=',
          ],
        ],
      },
    );
  });
});
