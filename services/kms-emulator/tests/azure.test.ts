import './helpers.js';
import { ClientSecretCredential, type ClientSecretCredentialOptions } from '@azure/identity';
import { CryptographyClient, type CryptographyClientOptions, type KeyWrapAlgorithm } from '@azure/keyvault-keys';
import { startEmulators, type AzureAppCredentials, type AzureVaultEmulator, type Emulators } from '../src/index.js';
import { elapsed, expectRejection } from './helpers.js';

let emu: Emulators;
let vault: AzureVaultEmulator;
let app: AzureAppCredentials;
let outsider: AzureAppCredentials;
let kek: { keyId: string; kid: string };
const dek = Buffer.alloc(32, 0x42);

function credential(who: AzureAppCredentials = app, options: { secret?: string; tenantId?: string } = {}) {
  return new ClientSecretCredential(
    options.tenantId ?? who.tenantId,
    who.clientId,
    options.secret ?? who.clientSecret,
    {
      authorityHost: vault.authorityHost,
      disableInstanceDiscovery: true, // otherwise MSAL asks the public cloud for instance metadata
      tlsOptions: { ca: emu.ca.pem },
    } as ClientSecretCredentialOptions,
  );
}

function crypto(
  keyId: string,
  who: AzureAppCredentials | ClientSecretCredential = app,
  maxRetries = 3,
): CryptographyClient {
  const cred = who instanceof ClientSecretCredential ? who : credential(who);
  return new CryptographyClient(keyId, cred, {
    disableChallengeResourceVerification: true, // the vault host is 127.0.0.1, not *.vault.azure.net
    tlsOptions: { ca: emu.ca.pem },
    retryOptions: { maxRetries, retryDelayInMs: 5, maxRetryDelayInMs: 20 },
  } as CryptographyClientOptions);
}

function innerCode(error: any): string | undefined {
  return error.details?.error?.innerError?.code;
}

beforeAll(async () => {
  emu = await startEmulators();
  vault = emu.azure;
  app = vault.control.api.addApp({ displayName: 'tsp-proxy' });
  outsider = vault.control.api.addApp({ displayName: 'outsider' });
  kek = vault.control.api.addKey({ name: 'kek', access: [app.clientId] });
});

afterEach(() => emu.resetFaults());

afterAll(() => emu.close());

describe('Azure Key Vault through @azure/keyvault-keys and @azure/identity', () => {
  test('round trip with RSA-OAEP-256: challenge, Entra token, GET key, remote wrap and unwrap', async () => {
    const client = crypto(kek.keyId);
    const wrapped = await client.wrapKey('RSA-OAEP-256', dek);
    expect(wrapped.keyID).toBe(kek.kid);
    const unwrapped = await client.unwrapKey('RSA-OAEP-256', wrapped.result);
    expect(Buffer.from(unwrapped.result)).toEqual(dek);
    const operations = vault.log.entries().map((entry) => `${entry.operation}:${entry.status}`);
    expect(operations).toEqual([
      'get:401',
      'openid-configuration:200',
      'token:200',
      'get:200',
      'wrapKey:200',
      'unwrapKey:200',
    ]);
    expect(vault.log.entries({ operation: 'wrapKey' })[0]?.principal).toBe(app.clientId);
  });

  test('A256KW on an oct-HSM key', async () => {
    const hsmKey = vault.control.api.addKey({ name: 'hsm-kek', kty: 'oct-HSM', size: 256, access: [app.clientId] });
    const client = crypto(hsmKey.kid);
    const wrapped = await client.wrapKey('A256KW' as KeyWrapAlgorithm, dek);
    expect(wrapped.result).toHaveLength(40); // RFC 3394: n+1 64-bit blocks
    expect(Buffer.from((await client.unwrapKey('A256KW' as KeyWrapAlgorithm, wrapped.result)).result)).toEqual(dek);
    const wrongAlgorithm = await expectRejection(client.wrapKey('A128KW' as KeyWrapAlgorithm, dek));
    expect(wrongAlgorithm.statusCode).toBe(400);
  });

  test('no context on RSA wrap: a blob wrapped by another key, or tampered, is 400 BadParameter', async () => {
    const other = vault.control.api.addKey({ name: 'other-kek', access: [app.clientId] });
    const wrappedByOther = await crypto(other.kid).wrapKey('RSA-OAEP-256', dek);
    const client = crypto(kek.kid);
    const wrongKey = await expectRejection(client.unwrapKey('RSA-OAEP-256', wrappedByOther.result));
    expect([wrongKey.statusCode, wrongKey.code]).toEqual([400, 'BadParameter']);
    const wrapped = await client.wrapKey('RSA-OAEP-256', dek);
    const tampered = Buffer.from(wrapped.result);
    tampered[10]! ^= 0xff;
    const tamperedError = await expectRejection(client.unwrapKey('RSA-OAEP-256', tampered));
    expect([tamperedError.statusCode, tamperedError.code]).toEqual([400, 'BadParameter']);
  });

  test('disabled key: wrap still works (as in Key Vault), unwrap is 403 KeyDisabled', async () => {
    const client = crypto(kek.kid);
    const wrapped = await client.wrapKey('RSA-OAEP-256', dek);
    vault.control.api.setKeyEnabled({ key: 'kek', enabled: false });
    try {
      await expect(client.wrapKey('RSA-OAEP-256', dek)).resolves.toBeDefined();
      const error = await expectRejection(client.unwrapKey('RSA-OAEP-256', wrapped.result));
      expect([error.statusCode, innerCode(error)]).toEqual([403, 'KeyDisabled']);
      expect(error.message).toContain('Operation unwrapKey is not allowed on a disabled key.');
    } finally {
      vault.control.api.setKeyEnabled({ key: 'kek', enabled: true });
    }
  });

  test('key_ops: the SDK checks them from GET key; the vault itself answers 403 KeyOperationForbidden', async () => {
    const limited = vault.control.api.addKey({ name: 'wrap-only', access: [app.clientId], keyOps: ['wrapKey'] });
    const fresh = crypto(limited.kid);
    const wrapped = await fresh.wrapKey('RSA-OAEP-256', dek);
    const local = await expectRejection(fresh.unwrapKey('RSA-OAEP-256', wrapped.result));
    expect(String(local.message)).toMatch(/unwrapKey/);
    expect(vault.log.count({ operation: 'unwrapKey' })).toBe(0); // refused before any request
    // A client that fetched the key before key_ops changed still asks the vault, which refuses.
    const cached = crypto(kek.kid);
    const wrappedByKek = await cached.wrapKey('RSA-OAEP-256', dek);
    vault.control.api.setKeyOps({ key: 'kek', keyOps: ['wrapKey'] });
    try {
      const error = await expectRejection(cached.unwrapKey('RSA-OAEP-256', wrappedByKek.result));
      expect([error.statusCode, innerCode(error)]).toEqual([403, 'KeyOperationForbidden']);
    } finally {
      vault.control.api.setKeyOps({ key: 'kek', keyOps: ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'] });
    }
  });

  test('missing key is 404 KeyNotFound', async () => {
    const error = await expectRejection(crypto(`${vault.vaultUrl}/keys/no-such-key`).wrapKey('RSA-OAEP-256', dek));
    expect([error.statusCode, error.code]).toEqual([404, 'KeyNotFound']);
  });

  test('no permission: 403 ForbiddenByRbac, also after the grant is removed', async () => {
    const error = await expectRejection(crypto(kek.kid, outsider).wrapKey('RSA-OAEP-256', dek));
    expect([error.statusCode, innerCode(error)]).toEqual([403, 'ForbiddenByRbac']);
    const client = crypto(kek.kid);
    const wrapped = await client.wrapKey('RSA-OAEP-256', dek);
    vault.control.api.revokeGrant({ key: 'kek', principal: app.clientId });
    try {
      expect(innerCode(await expectRejection(client.unwrapKey('RSA-OAEP-256', wrapped.result)))).toBe(
        'ForbiddenByRbac',
      );
    } finally {
      vault.control.api.grant({ key: 'kek', principal: app.clientId });
    }
  });

  test('throttle then success: 429 with retry-after-ms is retried by the SDK', async () => {
    const client = crypto(kek.kid);
    await client.wrapKey('RSA-OAEP-256', dek); // warm: challenge and token outside the measured part
    vault.log.clear();
    vault.faults.failNext(2, 'throttle', { retryAfterMs: 5, match: { operation: 'wrapKey' } });
    const { ms } = await elapsed(() => client.wrapKey('RSA-OAEP-256', dek));
    expect(vault.log.entries({ operation: 'wrapKey' }).map((entry) => entry.status)).toEqual([429, 429, 200]);
    expect(ms).toBeLessThan(1000);
  });

  test('persistent throttle surfaces 429 Throttled after the retries, in bounded time', async () => {
    const client = crypto(kek.kid, app, 2);
    await client.wrapKey('RSA-OAEP-256', dek);
    vault.faults.failAlways('throttle', { retryAfterMs: 5 });
    const { ms, result: error } = await elapsed(() => expectRejection(client.wrapKey('RSA-OAEP-256', dek)));
    expect([error.statusCode, error.code]).toEqual([429, 'Throttled']);
    expect(ms).toBeLessThan(1000);
    expect(vault.log.count({ operation: 'wrapKey', status: 429 })).toBe(3);
  });

  test('5xx then success: 503 and a reset socket are retried', async () => {
    const client = crypto(kek.kid);
    await client.wrapKey('RSA-OAEP-256', dek);
    vault.log.clear();
    vault.faults.failNext(1, 'unavailable', { match: { operation: 'wrapKey' } });
    await client.wrapKey('RSA-OAEP-256', dek);
    expect(vault.log.entries({ operation: 'wrapKey' }).map((entry) => entry.status)).toEqual([503, 200]);
    vault.log.clear();
    vault.faults.resetNext(1, { match: { operation: 'wrapKey' } });
    await client.wrapKey('RSA-OAEP-256', dek);
    expect(vault.log.entries({ operation: 'wrapKey' }).map((entry) => entry.outcome)).toEqual(['reset', 'answered']);
  });

  test('account faults are refused: Key Vault documents no data-plane error for them', () => {
    expect(() => vault.faults.failAlways('account')).toThrow(/not emulated for Key Vault/);
    expect(vault.faults.list()).toEqual([]);
  });

  test('hang leads to a client timeout through abortSignal', async () => {
    const client = crypto(kek.kid);
    await client.wrapKey('RSA-OAEP-256', dek);
    vault.faults.hang({ count: 1, match: { operation: 'wrapKey' } });
    const { ms, result: error } = await elapsed(() =>
      expectRejection(client.wrapKey('RSA-OAEP-256', dek, { abortSignal: AbortSignal.timeout(120) })),
    );
    expect(error.name).toBe('AbortError');
    expect(ms).toBeGreaterThanOrEqual(110);
    expect(ms).toBeLessThan(1500);
  });

  test('rotation: new wraps use the new version; old blobs unwrap through their versioned kid', async () => {
    const rotating = vault.control.api.addKey({ name: 'rotating', access: [app.clientId] });
    const versionless = crypto(rotating.keyId);
    const before = await versionless.wrapKey('RSA-OAEP-256', dek);
    expect(before.keyID).toBe(rotating.kid);
    const rotated = vault.control.api.rotateKey({ key: 'rotating' });
    expect(rotated.versions).toHaveLength(2);
    const after = await crypto(rotated.keyId).wrapKey('RSA-OAEP-256', dek);
    expect(after.keyID).toBe(rotated.kid);
    expect(after.keyID).not.toBe(before.keyID);
    expect(Buffer.from((await crypto(before.keyID!).unwrapKey('RSA-OAEP-256', before.result)).result)).toEqual(dek);
  });

  test('credential expiry: revoked tokens get a CAE challenge and the SDK fetches a new token; short tokens are refreshed', async () => {
    const client = crypto(kek.kid);
    const wrapped = await client.wrapKey('RSA-OAEP-256', dek);
    const tokensBefore = vault.log.count({ operation: 'token', status: 200 });
    expect(vault.control.api.expireCredentials({ clientId: app.clientId }).revokedTokens).toBeGreaterThan(0);
    await client.unwrapKey('RSA-OAEP-256', wrapped.result);
    expect(vault.log.count({ operation: 'token', status: 200 })).toBe(tokensBefore + 1);
    expect(vault.log.entries({ operation: 'unwrapKey', status: 401 })).not.toHaveLength(0);

    vault.control.api.setTokenLifetime({ seconds: 1 });
    try {
      const shortLived = crypto(kek.kid);
      await shortLived.wrapKey('RSA-OAEP-256', dek);
      const afterFirst = vault.log.count({ operation: 'token', status: 200 });
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await shortLived.wrapKey('RSA-OAEP-256', dek);
      expect(vault.log.count({ operation: 'token', status: 200 })).toBeGreaterThan(afterFirst);
    } finally {
      vault.control.api.setTokenLifetime({ seconds: 3599 });
    }
  });

  test('Entra refuses a wrong secret and an expired secret', async () => {
    const wrongSecret = await expectRejection(
      crypto(kek.kid, credential(app, { secret: 'not-the-secret' })).wrapKey('RSA-OAEP-256', dek),
    );
    expect(wrongSecret.name).toBe('AuthenticationRequiredError');
    expect(vault.log.entries({ operation: 'token' }).pop()?.errorCode).toBe('invalid_client');
    vault.control.api.setSecretExpired({ clientId: app.clientId, expired: true });
    try {
      await expectRejection(crypto(kek.kid).wrapKey('RSA-OAEP-256', dek));
      expect(vault.log.entries({ operation: 'token' }).pop()).toMatchObject({
        status: 401,
        errorCode: 'invalid_client',
      });
    } finally {
      vault.control.api.setSecretExpired({ clientId: app.clientId, expired: false });
    }
  });

  test('a challenge naming another tenant surfaces as a configuration error', async () => {
    const otherTenant = '00000000-0000-4000-8000-0000000000aa';
    vault.control.api.setChallengeTenant({ tenantId: otherTenant });
    try {
      const error = await expectRejection(crypto(kek.kid).wrapKey('RSA-OAEP-256', dek));
      expect(String(error.message)).toContain(otherTenant);
    } finally {
      vault.control.api.setChallengeTenant({});
    }
  });

  test('a second vault in another tenant refuses tokens from the first tenant', async () => {
    const second = await emu.addAzureVault({ vaultName: 'second-vault' });
    const appInSecond = second.control.api.addApp({ displayName: 'tsp-proxy' });
    const key = second.control.api.addKey({ name: 'kek', access: [appInSecond.clientId] });
    const client = new CryptographyClient(key.kid, credential(appInSecond), {
      disableChallengeResourceVerification: true,
      tlsOptions: { ca: emu.ca.pem },
    } as CryptographyClientOptions);
    await expect(client.wrapKey('RSA-OAEP-256', dek)).resolves.toBeDefined();
    // A credential bound to the first vault's tenant: the SDK refuses the foreign tenant named in the challenge.
    const crossTenant = new CryptographyClient(key.kid, credential(app), {
      disableChallengeResourceVerification: true,
      tlsOptions: { ca: emu.ca.pem },
    } as CryptographyClientOptions);
    const error = await expectRejection(crossTenant.wrapKey('RSA-OAEP-256', dek));
    expect(String(error.message)).toContain(second.tenantId);
  });
});
