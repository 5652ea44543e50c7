import './helpers.js';
import {
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
  ReEncryptCommand,
} from '@aws-sdk/client-kms';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { startEmulators, type Emulators } from '../src/index.js';
import { expectRejection, elapsed, request } from './helpers.js';

const REGION = 'us-east-1';
const VENDOR = '111111111111';
const TENANT = '222222222222';
const context = { tenant: 'tenant-a', purpose: 'dek' };

let emu: Emulators;
let vendor: { accessKeyId: string; secretAccessKey: string; arn: string };
let tenantUser: { accessKeyId: string; secretAccessKey: string; arn: string };
let roleArn: string;
let keyArn: string;
const clients: { destroy(): void }[] = [];

function kms(
  credentials: ConstructorParameters<typeof KMSClient>[0] extends infer C
    ? C extends { credentials?: infer K }
      ? K
      : never
    : never,
  maxAttempts = 3,
): KMSClient {
  const client = new KMSClient({
    region: REGION,
    endpoint: emu.aws.url,
    credentials,
    // Fast, deterministic backoff: the default strategy spends ~0.75 s per throttling retry.
    retryStrategy: new ConfiguredRetryStrategy(maxAttempts, () => 5),
  });
  clients.push(client);
  return client;
}

function roleCredentials(externalId = 'ext-aws-1') {
  return fromTemporaryCredentials({
    masterCredentials: { accessKeyId: vendor.accessKeyId, secretAccessKey: vendor.secretAccessKey },
    params: { RoleArn: roleArn, RoleSessionName: 'tsp', ExternalId: externalId, DurationSeconds: 900 },
    clientConfig: { region: REGION, endpoint: emu.aws.url },
  });
}

/** The documented blob layout puts the key-material version after the ARN. */
function materialVersion(blob: Uint8Array): number {
  const bytes = Buffer.from(blob);
  return bytes.readUInt32BE(2 + bytes[1]!);
}

beforeAll(async () => {
  emu = await startEmulators();
  vendor = emu.aws.control.api.addUser({ accountId: VENDOR, userName: 'tsp' });
  tenantUser = emu.aws.control.api.addUser({ accountId: TENANT, userName: 'kms-user' });
  roleArn = emu.aws.control.api.addRole({
    accountId: TENANT,
    roleName: 'TenantKeyAccess',
    trustedPrincipals: [VENDOR],
    externalId: 'ext-aws-1',
  }).arn;
  keyArn = emu.aws.control.api.addKey({
    accountId: TENANT,
    alias: 'alias/tenant-a',
    allowedPrincipals: [roleArn, tenantUser.arn],
  }).arn;
});

afterEach(() => emu.resetFaults());

afterAll(async () => {
  for (const client of clients) client.destroy();
  await emu.close();
});

describe('AWS KMS through @aws-sdk/client-kms', () => {
  test('round trip with encryption context through an assumed role with an external id', async () => {
    const client = kms(roleCredentials());
    const encrypted = await client.send(
      new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.alloc(32, 7), EncryptionContext: context }),
    );
    expect(encrypted.KeyId).toBe(keyArn);
    const decrypted = await client.send(
      new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob, EncryptionContext: context }),
    );
    expect(Buffer.from(decrypted.Plaintext!)).toEqual(Buffer.alloc(32, 7));
    expect(decrypted.KeyId).toBe(keyArn);
    const principals = emu.aws.log.entries({ operation: 'Encrypt' }).map((entry) => entry.principal);
    expect(principals).toEqual([`arn:aws:sts::${TENANT}:assumed-role/TenantKeyAccess/tsp`]);
    expect(emu.aws.log.count({ operation: 'AssumeRole', status: 200 })).toBeGreaterThanOrEqual(1);
  });

  test('GenerateDataKey, ReEncrypt, DescribeKey and alias ARNs', async () => {
    const client = kms({ accessKeyId: tenantUser.accessKeyId, secretAccessKey: tenantUser.secretAccessKey });
    const aliasArn = `arn:aws:kms:${REGION}:${TENANT}:alias/tenant-a`;
    const dataKey = await client.send(
      new GenerateDataKeyCommand({ KeyId: aliasArn, KeySpec: 'AES_256', EncryptionContext: context }),
    );
    expect(dataKey.Plaintext).toHaveLength(32);
    expect(dataKey.KeyId).toBe(keyArn);
    const reEncrypted = await client.send(
      new ReEncryptCommand({
        CiphertextBlob: dataKey.CiphertextBlob,
        SourceEncryptionContext: context,
        DestinationKeyId: keyArn,
        DestinationEncryptionContext: { other: 'ctx' },
      }),
    );
    const decrypted = await client.send(
      new DecryptCommand({ CiphertextBlob: reEncrypted.CiphertextBlob, EncryptionContext: { other: 'ctx' } }),
    );
    expect(Buffer.from(decrypted.Plaintext!)).toEqual(Buffer.from(dataKey.Plaintext!));
    const described = await client.send(new DescribeKeyCommand({ KeyId: 'alias/tenant-a' }));
    expect(described.KeyMetadata).toMatchObject({
      Arn: keyArn,
      KeyState: 'Enabled',
      Enabled: true,
      AWSAccountId: TENANT,
    });
    const sts = new STSClient({
      region: REGION,
      endpoint: emu.aws.url,
      credentials: { accessKeyId: tenantUser.accessKeyId, secretAccessKey: tenantUser.secretAccessKey },
    });
    clients.push(sts);
    expect((await sts.send(new GetCallerIdentityCommand({}))).Arn).toBe(tenantUser.arn);
  });

  test('wrong encryption context and tampered ciphertext are InvalidCiphertextException', async () => {
    const client = kms({ accessKeyId: tenantUser.accessKeyId, secretAccessKey: tenantUser.secretAccessKey });
    const { CiphertextBlob } = await client.send(
      new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('dek'), EncryptionContext: context }),
    );
    const wrongContext = await expectRejection(
      client.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { ...context, tenant: 'tenant-b' } })),
    );
    expect(wrongContext.name).toBe('InvalidCiphertextException');
    // Context encoding is unambiguous: {a:"bc"} must not decrypt what {ab:"c"} protected.
    const ambiguous = await client.send(
      new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('dek'), EncryptionContext: { ab: 'c' } }),
    );
    expect(
      (
        await expectRejection(
          client.send(new DecryptCommand({ CiphertextBlob: ambiguous.CiphertextBlob, EncryptionContext: { a: 'bc' } })),
        )
      ).name,
    ).toBe('InvalidCiphertextException');
    const tampered = Buffer.from(CiphertextBlob!);
    tampered[tampered.length - 20]! ^= 0x01;
    const tamperedError = await expectRejection(
      client.send(new DecryptCommand({ CiphertextBlob: tampered, EncryptionContext: context })),
    );
    expect(tamperedError.name).toBe('InvalidCiphertextException');
    expect(tamperedError.$metadata.httpStatusCode).toBe(400);
  });

  test('disabled key refuses encrypt and decrypt; pending deletion is KMSInvalidStateException', async () => {
    const client = kms({ accessKeyId: tenantUser.accessKeyId, secretAccessKey: tenantUser.secretAccessKey });
    const { CiphertextBlob } = await client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('dek') }));
    emu.aws.control.api.setKeyState({ key: keyArn, state: 'Disabled' });
    try {
      expect(
        (await expectRejection(client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') })))).name,
      ).toBe('DisabledException');
      expect((await expectRejection(client.send(new DecryptCommand({ CiphertextBlob })))).name).toBe(
        'DisabledException',
      );
      emu.aws.control.api.setKeyState({ key: keyArn, state: 'PendingDeletion' });
      expect((await expectRejection(client.send(new DecryptCommand({ CiphertextBlob })))).name).toBe(
        'KMSInvalidStateException',
      );
    } finally {
      emu.aws.control.api.setKeyState({ key: keyArn, state: 'Enabled' });
    }
    expect((await client.send(new DecryptCommand({ CiphertextBlob }))).Plaintext).toBeDefined();
  });

  test('missing key is NotFoundException; a bare key id resolves in the caller account', async () => {
    const client = kms({ accessKeyId: tenantUser.accessKeyId, secretAccessKey: tenantUser.secretAccessKey });
    const missing = await expectRejection(
      client.send(
        new EncryptCommand({
          KeyId: keyArn.replace(/key\/.*/, 'key/00000000-0000-4000-8000-000000000000'),
          Plaintext: Buffer.from('x'),
        }),
      ),
    );
    expect(missing.name).toBe('NotFoundException');
    const vendorClient = kms({ accessKeyId: vendor.accessKeyId, secretAccessKey: vendor.secretAccessKey });
    const bareId = keyArn.split('/').pop()!;
    expect(
      (await expectRejection(vendorClient.send(new EncryptCommand({ KeyId: bareId, Plaintext: Buffer.from('x') }))))
        .name,
    ).toBe('NotFoundException');
  });

  test('no permission: AccessDeniedException for a principal outside the key policy, and after grant removal', async () => {
    const vendorClient = kms({ accessKeyId: vendor.accessKeyId, secretAccessKey: vendor.secretAccessKey });
    const denied = await expectRejection(
      vendorClient.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') })),
    );
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain(`User: ${vendor.arn} is not authorized to perform: kms:Encrypt`);
    const client = kms({ accessKeyId: tenantUser.accessKeyId, secretAccessKey: tenantUser.secretAccessKey });
    emu.aws.control.api.revokeGrant({ key: keyArn, principal: tenantUser.arn });
    try {
      expect(
        (await expectRejection(client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') })))).name,
      ).toBe('AccessDeniedException');
    } finally {
      emu.aws.control.api.grant({ key: keyArn, principal: tenantUser.arn });
    }
  });

  test('a wrong external id or an untrusted caller cannot assume the role', async () => {
    const client = kms(roleCredentials('wrong-external-id'));
    const error = await expectRejection(
      client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') })),
    );
    expect(error.name).toBe('AccessDenied');
    const sts = new STSClient({
      region: REGION,
      endpoint: emu.aws.url,
      credentials: { accessKeyId: tenantUser.accessKeyId, secretAccessKey: tenantUser.secretAccessKey },
    });
    clients.push(sts);
    const untrusted = await expectRejection(
      sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'x1', ExternalId: 'ext-aws-1' })),
    );
    expect(untrusted.name).toBe('AccessDenied');
    expect(untrusted.$metadata.httpStatusCode).toBe(403);
  });

  test('a wrong secret is InvalidSignatureException; an unknown access key is UnrecognizedClientException; clock skew expires signatures', async () => {
    const badSecret = kms({ accessKeyId: tenantUser.accessKeyId, secretAccessKey: `${tenantUser.secretAccessKey}x` });
    expect((await expectRejection(badSecret.send(new DescribeKeyCommand({ KeyId: keyArn })))).name).toBe(
      'InvalidSignatureException',
    );
    const unknown = kms({ accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x'.repeat(40) });
    expect((await expectRejection(unknown.send(new DescribeKeyCommand({ KeyId: keyArn })))).name).toBe(
      'UnrecognizedClientException',
    );
    const badSts = new STSClient({
      region: REGION,
      endpoint: emu.aws.url,
      credentials: { accessKeyId: tenantUser.accessKeyId, secretAccessKey: 'wrong-secret-wrong-secret' },
      maxAttempts: 1,
    });
    clients.push(badSts);
    const stsError = await expectRejection(badSts.send(new GetCallerIdentityCommand({})));
    expect([stsError.name, stsError.$metadata.httpStatusCode]).toEqual(['SignatureDoesNotMatch', 403]);
    const unsigned = await request(emu.aws.url, {
      method: 'POST',
      body: '{}',
      headers: { 'x-amz-target': 'TrentService.Encrypt', 'content-type': 'application/x-amz-json-1.1' },
    });
    expect([unsigned.status, unsigned.json().__type]).toEqual([400, 'MissingAuthenticationTokenException']);
    emu.aws.control.api.setClockSkew({ seconds: 600 });
    try {
      // maxAttempts 1: the SDK would otherwise correct its clock from the response Date and retry.
      const skewed = kms({ accessKeyId: tenantUser.accessKeyId, secretAccessKey: tenantUser.secretAccessKey }, 1);
      const error = await expectRejection(skewed.send(new DescribeKeyCommand({ KeyId: keyArn })));
      expect(error.name).toBe('InvalidSignatureException');
      expect(error.message).toMatch(/Signature expired/);
    } finally {
      emu.aws.control.api.setClockSkew({ seconds: 0 });
    }
  });

  test('throttle then success: the SDK retries ThrottlingException', async () => {
    const client = kms({ accessKeyId: tenantUser.accessKeyId, secretAccessKey: tenantUser.secretAccessKey }, 4);
    emu.aws.faults.failNext(2, 'throttle', { match: { operation: 'Encrypt' } });
    const result = await client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') }));
    expect(result.$metadata.attempts).toBe(3);
    expect(emu.aws.log.entries({ operation: 'Encrypt' }).map((entry) => entry.errorCode)).toEqual([
      'ThrottlingException',
      'ThrottlingException',
      null,
    ]);
  });

  test('persistent throttle surfaces ThrottlingException after the attempts, in bounded time', async () => {
    const client = kms({ accessKeyId: tenantUser.accessKeyId, secretAccessKey: tenantUser.secretAccessKey }, 3);
    emu.aws.faults.failAlways('throttle');
    const { ms, result: error } = await elapsed(() =>
      expectRejection(client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') }))),
    );
    expect(error.name).toBe('ThrottlingException');
    expect(error.$metadata.attempts).toBe(3);
    expect(ms).toBeLessThan(2000);
  });

  test('account fault: 403 OptInRequired, not retried', async () => {
    const client = kms({ accessKeyId: tenantUser.accessKeyId, secretAccessKey: tenantUser.secretAccessKey }, 3);
    emu.aws.faults.failAlways('account');
    const error = await expectRejection(
      client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') })),
    );
    expect(error.name).toBe('OptInRequired');
    expect(error.$metadata.httpStatusCode).toBe(403);
    expect(error.$metadata.attempts).toBe(1);
  });

  test('5xx then success: KMSInternalException and a reset socket are retried', async () => {
    const client = kms({ accessKeyId: tenantUser.accessKeyId, secretAccessKey: tenantUser.secretAccessKey });
    emu.aws.faults.failNext(1, 'internal');
    const first = await client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') }));
    expect(first.$metadata.attempts).toBe(2);
    expect(emu.aws.log.entries({ operation: 'Encrypt' })[0]).toMatchObject({
      status: 500,
      errorCode: 'KMSInternalException',
    });
    emu.aws.log.clear();
    emu.aws.faults.resetNext(1);
    await client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') }));
    expect(emu.aws.log.entries({ operation: 'Encrypt' }).map((entry) => entry.outcome)).toEqual(['reset', 'answered']);
  });

  test('a malformed 200 answer surfaces as a deserialization error, not as success', async () => {
    const client = kms({ accessKeyId: tenantUser.accessKeyId, secretAccessKey: tenantUser.secretAccessKey }, 1);
    emu.aws.faults.malformedNext(1);
    const error = await expectRejection(
      client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') })),
    );
    expect(error.$metadata?.httpStatusCode ?? error.$response?.statusCode).toBe(200);
    expect(emu.aws.log.entries({ operation: 'Encrypt' })[0]).toMatchObject({ status: 200, fault: 'malformed' });
    await expect(
      client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') })),
    ).resolves.toBeDefined();
  });

  test('hang leads to a client timeout', async () => {
    const client = kms({ accessKeyId: tenantUser.accessKeyId, secretAccessKey: tenantUser.secretAccessKey });
    emu.aws.faults.hang({ count: 1 });
    const { ms, result: error } = await elapsed(() =>
      expectRejection(
        client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') }), {
          abortSignal: AbortSignal.timeout(100),
        }),
      ),
    );
    expect(error.name).toBe('AbortError');
    expect(ms).toBeGreaterThanOrEqual(90);
    expect(ms).toBeLessThan(1000);
    expect(emu.aws.log.entries({ operation: 'Encrypt' })[0]?.outcome).toBe('hung');
  });

  test('latency and the token-bucket rate limit', async () => {
    const client = kms({ accessKeyId: tenantUser.accessKeyId, secretAccessKey: tenantUser.secretAccessKey }, 1);
    emu.aws.faults.latency(40);
    const { ms } = await elapsed(() => client.send(new DescribeKeyCommand({ KeyId: keyArn })));
    expect(ms).toBeGreaterThanOrEqual(38);
    emu.aws.faults.clear();
    emu.aws.faults.rateLimit({ ratePerSecond: 0.01, burst: 2, scope: 'principal' });
    await client.send(new DescribeKeyCommand({ KeyId: keyArn }));
    await client.send(new DescribeKeyCommand({ KeyId: keyArn }));
    expect((await expectRejection(client.send(new DescribeKeyCommand({ KeyId: keyArn })))).name).toBe(
      'ThrottlingException',
    );
  });

  test('rotation: old ciphertexts still decrypt, new ones use the new key material', async () => {
    const client = kms({ accessKeyId: tenantUser.accessKeyId, secretAccessKey: tenantUser.secretAccessKey });
    const rotatingKey = emu.aws.control.api.addKey({ accountId: TENANT, allowedPrincipals: [tenantUser.arn] }).arn;
    const before = await client.send(
      new EncryptCommand({ KeyId: rotatingKey, Plaintext: Buffer.from('old'), EncryptionContext: context }),
    );
    expect(emu.aws.control.api.rotateKey({ key: rotatingKey }).versions).toBe(2);
    const after = await client.send(
      new EncryptCommand({ KeyId: rotatingKey, Plaintext: Buffer.from('new'), EncryptionContext: context }),
    );
    expect([materialVersion(before.CiphertextBlob!), materialVersion(after.CiphertextBlob!)]).toEqual([0, 1]);
    const old = await client.send(
      new DecryptCommand({ CiphertextBlob: before.CiphertextBlob, EncryptionContext: context }),
    );
    expect(Buffer.from(old.Plaintext!).toString()).toBe('old');
    emu.aws.control.api.destroyKey({ key: rotatingKey });
    expect(
      (
        await expectRejection(
          client.send(new DecryptCommand({ CiphertextBlob: after.CiphertextBlob, EncryptionContext: context })),
        )
      ).name,
    ).toBe('InvalidCiphertextException');
  });

  test('credential expiry: short STS sessions are refreshed by the provider; an expired session is ExpiredTokenException', async () => {
    // A 15-minute session is reused across calls.
    const longLived = kms(roleCredentials());
    let sessionsBefore = emu.aws.sessionCount();
    await longLived.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('a') }));
    await longLived.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('b') }));
    expect(emu.aws.sessionCount() - sessionsBefore).toBe(1);
    emu.aws.control.api.setSessionLifetime({ seconds: 60 });
    try {
      const client = kms(roleCredentials());
      sessionsBefore = emu.aws.sessionCount();
      await client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('a') }));
      const afterFirst = emu.aws.sessionCount();
      await client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('b') }));
      // Credentials expiring within 5 minutes count as expired for the SDK, so every call assumes the role again.
      expect(afterFirst).toBeGreaterThan(sessionsBefore);
      expect(emu.aws.sessionCount()).toBeGreaterThan(afterFirst);
    } finally {
      emu.aws.control.api.setSessionLifetime({});
    }
    const sts = new STSClient({
      region: REGION,
      endpoint: emu.aws.url,
      credentials: { accessKeyId: vendor.accessKeyId, secretAccessKey: vendor.secretAccessKey },
    });
    clients.push(sts);
    const { Credentials } = await sts.send(
      new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'static', ExternalId: 'ext-aws-1' }),
    );
    const client = kms(
      {
        accessKeyId: Credentials!.AccessKeyId!,
        secretAccessKey: Credentials!.SecretAccessKey!,
        sessionToken: Credentials!.SessionToken!,
      },
      1,
    );
    await client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('a') }));
    emu.aws.control.api.expireCredentials({ accessKeyId: Credentials!.AccessKeyId! });
    expect(
      (await expectRejection(client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('a') })))).name,
    ).toBe('ExpiredTokenException');
  });
});
