import { KmsError, kmsErrorToTspError, type KmsErrorKind } from '../../src/errors.js';
import { classifyAwsError } from '../../src/kms/aws.js';
import { classifyAzureError } from '../../src/kms/azure.js';
import { classifyGcpError } from '../../src/kms/gcp.js';
import { crc32c } from '../../src/kms/crc32c.js';

test('the one mapping from normalised KMS failures to protocol codes 204-210', () => {
  const table: [KmsErrorKind, number, number][] = [
    ['AuthFailed', 206, 206],
    ['AccessDenied', 207, 207],
    ['KeyNotFound', 207, 207],
    ['KeyDisabled', 207, 207],
    ['ConfigInvalid', 207, 207],
    ['Unavailable', 208, 208],
    ['Timeout', 208, 208],
    ['Throttled', 209, 209],
    ['AccountIssue', 210, 210],
    ['InvalidCiphertext', 204, 205],
    ['IntegrityError', 204, 205],
    ['Unknown', 204, 205],
  ];
  for (const [kind, wrapCode, unwrapCode] of table) {
    expect(kmsErrorToTspError(new KmsError(kind, 'x'), 'wrap').code).toBe(wrapCode);
    expect(kmsErrorToTspError(new KmsError(kind, 'x'), 'unwrap').code).toBe(unwrapCode);
  }
  expect(kmsErrorToTspError(new KmsError('Throttled', 'x'), 'wrap').httpStatus).toBe(429);
  expect(kmsErrorToTspError(new KmsError('Timeout', 'x'), 'wrap').httpStatus).toBe(503);
});

const named = (name: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${name} happened`), { name, ...extra });

test('AWS errors by name (AccessDenied and Throttling are not modelled classes)', () => {
  expect(classifyAwsError(named('AccessDeniedException')).kind).toBe('AccessDenied');
  expect(classifyAwsError(named('ThrottlingException')).kind).toBe('Throttled');
  expect(classifyAwsError(named('DisabledException')).kind).toBe('KeyDisabled');
  expect(classifyAwsError(named('NotFoundException')).kind).toBe('KeyNotFound');
  expect(classifyAwsError(named('InvalidSignatureException')).kind).toBe('AuthFailed');
  expect(classifyAwsError(named('InvalidCiphertextException')).kind).toBe('InvalidCiphertext');
  expect(classifyAwsError(named('RegionDisabledException')).kind).toBe('AccountIssue');
  expect(classifyAwsError(named('KMSInternalException')).kind).toBe('Unavailable');
  expect(classifyAwsError(named('Whatever', { $fault: 'server' })).kind).toBe('Unavailable');
  expect(classifyAwsError(named('Error', { code: 'ECONNREFUSED' })).kind).toBe('Unavailable');
  expect(classifyAwsError(named('AbortError')).kind).toBe('Timeout');
  expect(classifyAwsError(named('Strange')).kind).toBe('Unknown');
});

test('GCP REST-fallback errors by HTTP status and google.rpc.Status', () => {
  const rest = (status: number, rpc: string) =>
    Object.assign(new Error(JSON.stringify({ error: { code: status, status: rpc, message: `${rpc} message` } })), {
      code: status,
    });
  expect(classifyGcpError(rest(403, 'PERMISSION_DENIED')).kind).toBe('AccessDenied');
  expect(classifyGcpError(rest(400, 'FAILED_PRECONDITION')).kind).toBe('KeyDisabled');
  expect(classifyGcpError(rest(400, 'INVALID_ARGUMENT')).kind).toBe('InvalidCiphertext');
  expect(classifyGcpError(rest(429, 'RESOURCE_EXHAUSTED')).kind).toBe('Throttled');
  expect(classifyGcpError(rest(503, 'UNAVAILABLE')).kind).toBe('Unavailable');
  expect(classifyGcpError(rest(401, 'UNAUTHENTICATED')).kind).toBe('AuthFailed');
  expect(classifyGcpError(rest(404, 'NOT_FOUND')).kind).toBe('KeyNotFound');
  expect(classifyGcpError(Object.assign(new Error('grpc'), { code: 14 })).kind).toBe('Unavailable');
  expect(classifyGcpError(rest(403, 'PERMISSION_DENIED')).message).toBe('PERMISSION_DENIED message');
});

test('Azure RestErrors by status and inner code', () => {
  const rest = (statusCode: number, inner?: string) =>
    Object.assign(new Error('rest'), {
      name: 'RestError',
      statusCode,
      details: { error: { code: 'Forbidden', innerError: { code: inner } } },
    });
  expect(classifyAzureError(rest(403, 'KeyDisabled')).kind).toBe('KeyDisabled');
  expect(classifyAzureError(rest(403, 'ForbiddenByRbac')).kind).toBe('AccessDenied');
  expect(classifyAzureError(rest(404)).kind).toBe('KeyNotFound');
  expect(classifyAzureError(rest(401)).kind).toBe('AuthFailed');
  expect(classifyAzureError(rest(503)).kind).toBe('Unavailable');
  const throttled = classifyAzureError(
    Object.assign(rest(429), {
      response: { headers: { get: (h: string) => (h === 'retry-after-ms' ? '250' : undefined) } },
    }),
  );
  expect(throttled.kind).toBe('Throttled');
  expect(throttled.retryAfterMs).toBe(250);
  expect(classifyAzureError(named('AuthenticationRequiredError')).kind).toBe('AuthFailed');
});

test('CRC32C matches the RFC 3720 check value', () => {
  expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
});

import { KmsAdapterRegistry } from '../../src/kms/registry.js';

test('SDK clients are shared per credential and region, not per key', async () => {
  const registry = new KmsAdapterRegistry(
    { timeoutMs: 1000, maxAttempts: 1, retryBaseMs: 1, extraCa: undefined },
    () => undefined,
  );
  const base = {
    provider: 'aws' as const,
    region: 'us-east-1',
    accessKeyId: 'AKIAEXAMPLE',
    secretAccessKey: 'secret-example-0123456789',
    endpoint: 'http://127.0.0.1:1',
  };
  const a = await registry.get({ ...base, keyArn: 'arn:aws:kms:us-east-1:111122223333:key/a' });
  const b = await registry.get({ ...base, keyArn: 'arn:aws:kms:us-east-1:111122223333:key/b' });
  expect(a).not.toBe(b);
  expect(registry.clientCount).toBe(1);
  await registry.get({ ...base, region: 'eu-west-1', keyArn: 'arn:aws:kms:eu-west-1:111122223333:key/c' });
  await registry.get({
    ...base,
    secretAccessKey: 'another-secret-0123456789',
    keyArn: 'arn:aws:kms:us-east-1:111122223333:key/a',
  });
  expect(registry.clientCount).toBe(3);
  expect(await registry.get({ ...base, keyArn: 'arn:aws:kms:us-east-1:111122223333:key/a' })).toBe(a);
  // The same config with its fields in another order (as another snapshot's JSON may have them) is the same adapter.
  const reordered = Object.fromEntries(
    Object.entries({ ...base, keyArn: 'arn:aws:kms:us-east-1:111122223333:key/a' }).reverse(),
  ) as typeof base & { keyArn: string };
  expect(await registry.get(reordered)).toBe(a);
  expect(registry.size).toBe(4);
  await registry.close();
});
