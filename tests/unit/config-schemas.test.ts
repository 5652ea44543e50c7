import { ENV_DEFAULTS, buildProxyEnv, configFingerprint, envValuesOf, parseEnv } from '@/lib/browser-sealing';
import { cloudIdentitySchema, kmsConfigPayloadSchema, kmsKeyPath, loggingConfigPayloadSchema } from '@/lib/config-schemas';
import { grantCommand } from '@/lib/grant-commands';
import { passphraseStrength } from '@/components/islands/passphrase-strength';

const fieldsOf = (result: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) =>
  result.success ? [] : [...new Set(result.error!.issues.map((issue) => String(issue.path[0])))].sort();

const aws = { provider: 'aws', keyArn: 'arn:aws:kms:eu-west-1:111122223333:key/12345678-1234-1234-1234-123456789012', region: 'eu-west-1' };
const saKey = { type: 'service_account', client_email: 'p@proj.iam.gserviceaccount.com', private_key: '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n' };

describe('KMS config payloads (checked in the browser before sealing)', () => {
  it('accepts each provider without credentials (the vendor’s cloud identity) and with them', () => {
    expect(kmsConfigPayloadSchema.safeParse(aws).success).toBe(true);
    expect(kmsConfigPayloadSchema.safeParse({ ...aws, roleArn: 'arn:aws:iam::111122223333:role/x', externalId: 'ext-1' }).success).toBe(true);
    expect(kmsConfigPayloadSchema.safeParse({ ...aws, accessKeyId: 'AKIAABCDEFGHIJKLMNOP', secretAccessKey: 'abcdefghijklmnop1234' }).success).toBe(true);
    expect(kmsConfigPayloadSchema.safeParse({ provider: 'gcp', project: 'my-project', location: 'global', keyRing: 'ring', key: 'key' }).success).toBe(true);
    expect(kmsConfigPayloadSchema.safeParse({ provider: 'gcp', project: 'my-project', location: 'global', keyRing: 'ring', key: 'key', serviceAccountKey: saKey }).success).toBe(true);
    expect(kmsConfigPayloadSchema.safeParse({ provider: 'azure', vaultUrl: 'https://v.vault.azure.net', keyName: 'k', tenantId: '11111111-2222-3333-4444-555555555555' }).success).toBe(true);
  });

  it('names every wrong field', () => {
    expect(fieldsOf(kmsConfigPayloadSchema.safeParse({ provider: 'aws', keyArn: 'arn:aws:kms:x', region: 'moon', roleArn: 'role', endpoint: 'ftp://x' }))).toEqual(['endpoint', 'keyArn', 'region', 'roleArn']);
    expect(fieldsOf(kmsConfigPayloadSchema.safeParse({ ...aws, region: 'us-east-1' }))).toEqual(['region']);
    expect(fieldsOf(kmsConfigPayloadSchema.safeParse({ ...aws, accessKeyId: 'AKIAABCDEFGHIJKLMNOP' }))).toEqual(['secretAccessKey']);
    expect(fieldsOf(kmsConfigPayloadSchema.safeParse({ ...aws, externalId: 'ext-1' }))).toEqual(['externalId']);
    expect(fieldsOf(kmsConfigPayloadSchema.safeParse({ provider: 'gcp', project: 'P!', location: '', keyRing: 'a b', key: '', serviceAccountKey: { client_email: 'x' } }))).toEqual([
      'key',
      'keyRing',
      'location',
      'project',
      'serviceAccountKey',
    ]);
    expect(fieldsOf(kmsConfigPayloadSchema.safeParse({ provider: 'azure', vaultUrl: 'http://v.vault.azure.net', keyName: 'k_1', tenantId: 'nope', clientSecret: 'secret-123' }))).toEqual([
      'clientId',
      'keyName',
      'tenantId',
      'vaultUrl',
    ]);
    expect(kmsConfigPayloadSchema.safeParse({ provider: 'ibm' }).success).toBe(false);
  });

  it('derives the key path the fingerprint covers, and the fingerprint is stable and path-bound', async () => {
    expect(kmsKeyPath(kmsConfigPayloadSchema.parse(aws))).toBe(`aws:${aws.keyArn}`);
    const a = await configFingerprint('aws:one');
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(await configFingerprint('aws:one')).toBe(a);
    expect(await configFingerprint('aws:two')).not.toBe(a);
  });
});

describe('logging config payloads', () => {
  it('accepts the three providers and names wrong fields', () => {
    expect(loggingConfigPayloadSchema.safeParse({ provider: 'splunk', url: 'https://splunk.example.com:8088', token: '12345678-token' }).success).toBe(true);
    expect(loggingConfigPayloadSchema.safeParse({ provider: 'gcp-logging', project: 'my-project', logName: 'opencmk', serviceAccountKey: saKey }).success).toBe(true);
    expect(loggingConfigPayloadSchema.safeParse({ provider: 'webhook', url: 'http://127.0.0.1:9999/hook', hmacSecret: '0123456789abcdef' }).success).toBe(true);
    expect(fieldsOf(loggingConfigPayloadSchema.safeParse({ provider: 'splunk', url: 'http://splunk.example.com', token: 'x', index: 'UPPER' }))).toEqual(['index', 'token', 'url']);
    expect(fieldsOf(loggingConfigPayloadSchema.safeParse({ provider: 'gcp-logging', project: 'my-project', logName: 'bad name' }))).toEqual(['logName', 'serviceAccountKey']);
    expect(fieldsOf(loggingConfigPayloadSchema.safeParse({ provider: 'webhook', url: 'https://user:pw@hooks.test/x', hmacSecret: 'short' }))).toEqual(['hmacSecret', 'url']);
  });
});

describe('cloud identities and grant commands', () => {
  it('validates each provider’s identity format', () => {
    expect(cloudIdentitySchema.safeParse({ provider: 'aws', identity: 'arn:aws:iam::111122223333:role/proxy' }).success).toBe(true);
    expect(cloudIdentitySchema.safeParse({ provider: 'gcp', identity: 'proxy@acme.iam.gserviceaccount.com' }).success).toBe(true);
    expect(cloudIdentitySchema.safeParse({ provider: 'azure', identity: '11111111-2222-3333-4444-555555555555' }).success).toBe(true);
    expect(cloudIdentitySchema.safeParse({ provider: 'aws', identity: 'arn:aws:iam::111122223333:user/bob' }).success).toBe(false);
    expect(cloudIdentitySchema.safeParse({ provider: 'gcp', identity: 'proxy@gmail.com' }).success).toBe(false);
  });

  it('builds the command for each cloud with the identity in it', () => {
    expect(grantCommand('aws', 'arn:aws:iam::1:role/p')).toMatch(/^aws kms create-grant .*--grantee-principal arn:aws:iam::1:role\/p /);
    expect(grantCommand('gcp', 'p@x.iam.gserviceaccount.com')).toContain('--member serviceAccount:p@x.iam.gserviceaccount.com --role roles/cloudkms.cryptoKeyEncrypterDecrypter');
    expect(grantCommand('azure', 'abc')).toMatch(/^az role assignment create --assignee abc --role "Key Vault Crypto User"/);
  });
});

describe('proxy .env (docs/contracts.md §2)', () => {
  it('holds every variable of the contract and round-trips through parse', () => {
    const values = { brokerUrl: 'http://127.0.0.1:3000', proxyConfigId: 'id-1', vendorId: 'v-1', privateKey: 'pk', brokerToken: 'ocmk_bt_x', apiKey: 'ocmk_ak_y', apiKey2: '' };
    const env = parseEnv(buildProxyEnv(values));
    const contract = ['OPENCMK_BROKER_URL', 'OPENCMK_PROXY_CONFIG_ID', 'OPENCMK_VENDOR_ID', 'OPENCMK_PROXY_PRIVATE_KEY', 'OPENCMK_BROKER_TOKEN', 'API_KEY', 'API_KEY_2', ...ENV_DEFAULTS.map(([name]) => name)];
    expect(Object.keys(env).sort()).toEqual([...contract].sort());
    expect(env.SNAPSHOT_WAIT_SECONDS).toBe('25');
    expect(envValuesOf(env)).toMatchObject(values);
  });
});

describe('passphrase strength', () => {
  it('refuses short or repetitive passphrases and accepts long varied ones', () => {
    expect(passphraseStrength('short').acceptable).toBe(false);
    expect(passphraseStrength('aaaaaaaaaaaaaaaaaaaa').acceptable).toBe(false);
    expect(passphraseStrength('abcdefghijklmnop').acceptable).toBe(false);
    expect(passphraseStrength('correct horse battery staple').acceptable).toBe(true);
    expect(passphraseStrength('Tr0ub4dor&3-Tr0ub').label).not.toBe('too weak');
  });
});
