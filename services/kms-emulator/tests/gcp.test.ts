import './helpers.js';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import {
  crc32c,
  createCaTrustingFetch,
  startEmulators,
  type Emulators,
  type ServiceAccountKeyJson,
} from '../src/index.js';
import { expectRejection, elapsed } from './helpers.js';

let emu: Emulators;
let proxySa: ServiceAccountKeyJson;
let outsiderSa: ServiceAccountKeyJson;
let keyName: string;
const clients: KeyManagementServiceClient[] = [];
const aad = Buffer.from('tenant=tenant-a;purpose=dek');

function kms(sa: ServiceAccountKeyJson = proxySa): KeyManagementServiceClient {
  const client = new KeyManagementServiceClient({
    fallback: true, // REST: @google-cloud/kms 5.x on Node 20
    apiEndpoint: '127.0.0.1',
    port: Number(new URL(emu.gcp.httpUrl).port),
    protocol: 'http',
    credentials: { client_email: sa.client_email, private_key: sa.private_key },
    // Under jest (CommonJS in a vm, no --experimental-vm-modules) gaxios cannot `import('node-fetch')`: give it fetch.
    clientOptions: { transporterOptions: { fetchImplementation: fetch } },
  } as ConstructorParameters<typeof KeyManagementServiceClient>[0]);
  clients.push(client);
  return client;
}

/** With gax 5 REST fallback, errors are GaxiosError: code = HTTP status, message = the google.rpc.Status JSON. */
function rpcStatus(error: any): { httpStatus: number; status: string; message: string } {
  const body = JSON.parse(error.message).error;
  return { httpStatus: error.code, status: body.status, message: body.message };
}

function crcOf(value: unknown): number {
  return Number(typeof value === 'object' && value !== null ? (value as { value: string }).value : value);
}

beforeAll(async () => {
  emu = await startEmulators();
  proxySa = emu.gcp.control.api.addServiceAccount({ projectId: 'vendor-project', accountId: 'tsp-proxy' });
  outsiderSa = emu.gcp.control.api.addServiceAccount({ projectId: 'vendor-project', accountId: 'outsider' });
  keyName = emu.gcp.control.api.addKey({
    project: 'tenant-project',
    keyRing: 'ring',
    key: 'kek',
    members: [proxySa.client_email],
  }).name;
});

afterEach(() => emu.resetFaults());

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await emu.close();
});

describe('Google Cloud KMS through @google-cloud/kms (REST fallback)', () => {
  test('crc32c is the Castagnoli CRC (RFC 3720 check value)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  test('round trip with AAD and CRC32C fields; the self-signed JWT needs no token endpoint', async () => {
    const client = kms();
    const plaintext = Buffer.alloc(32, 9);
    const [encrypted] = await client.encrypt({
      name: keyName,
      plaintext,
      additionalAuthenticatedData: aad,
      plaintextCrc32c: { value: String(crc32c(plaintext)) },
      additionalAuthenticatedDataCrc32c: { value: String(crc32c(aad)) },
    });
    expect(encrypted.name).toBe(`${keyName}/cryptoKeyVersions/1`);
    expect(encrypted.verifiedPlaintextCrc32c).toBe(true);
    expect(crcOf(encrypted.ciphertextCrc32c)).toBe(crc32c(Buffer.from(encrypted.ciphertext as Uint8Array)));
    const [decrypted] = await client.decrypt({
      name: keyName,
      ciphertext: encrypted.ciphertext,
      additionalAuthenticatedData: aad,
    });
    expect(Buffer.from(decrypted.plaintext as Uint8Array)).toEqual(plaintext);
    expect(crcOf(decrypted.plaintextCrc32c)).toBe(crc32c(plaintext));
    expect(decrypted.usedPrimary).toBe(true);
    expect(emu.gcp.log.count({ operation: 'token' })).toBe(0);
    expect(emu.gcp.log.entries({ operation: 'encrypt' })[0]?.principal).toBe(proxySa.client_email);
    const [key] = await client.getCryptoKey({ name: keyName });
    expect(key.primary?.name).toBe(`${keyName}/cryptoKeyVersions/1`);
  });

  test('wrong AAD and tampered ciphertext are 400 INVALID_ARGUMENT "Decryption failed"', async () => {
    const client = kms();
    const [encrypted] = await client.encrypt({
      name: keyName,
      plaintext: Buffer.from('dek'),
      additionalAuthenticatedData: aad,
    });
    const wrong = rpcStatus(
      await expectRejection(
        client.decrypt({
          name: keyName,
          ciphertext: encrypted.ciphertext,
          additionalAuthenticatedData: Buffer.from('tenant=tenant-b'),
        }),
      ),
    );
    expect(wrong).toMatchObject({ httpStatus: 400, status: 'INVALID_ARGUMENT' });
    expect(wrong.message).toMatch(/^Decryption failed/);
    const tampered = Buffer.from(encrypted.ciphertext as Uint8Array);
    tampered[tampered.length - 1]! ^= 0x80;
    expect(
      rpcStatus(
        await expectRejection(
          client.decrypt({ name: keyName, ciphertext: tampered, additionalAuthenticatedData: aad }),
        ),
      ),
    ).toMatchObject({ httpStatus: 400, status: 'INVALID_ARGUMENT' });
  });

  test('a request CRC32C that does not match is refused', async () => {
    const error = rpcStatus(
      await expectRejection(
        kms().encrypt({ name: keyName, plaintext: Buffer.from('dek'), plaintextCrc32c: { value: '12345' } }),
      ),
    );
    expect(error).toMatchObject({ httpStatus: 400, status: 'INVALID_ARGUMENT' });
    expect(error.message).toContain('plaintext_crc32c');
  });

  test('a corrupted response checksum is detectable by the caller', async () => {
    const client = kms();
    emu.gcp.faults.corruptChecksum({ count: 1 });
    const [encrypted] = await client.encrypt({ name: keyName, plaintext: Buffer.from('dek') });
    expect(crcOf(encrypted.ciphertextCrc32c)).not.toBe(crc32c(Buffer.from(encrypted.ciphertext as Uint8Array)));
    const [again] = await client.encrypt({ name: keyName, plaintext: Buffer.from('dek') });
    expect(crcOf(again.ciphertextCrc32c)).toBe(crc32c(Buffer.from(again.ciphertext as Uint8Array)));
  });

  test('disabled primary version: 400 FAILED_PRECONDITION for encrypt and for decrypt', async () => {
    const client = kms();
    const [encrypted] = await client.encrypt({ name: keyName, plaintext: Buffer.from('dek') });
    emu.gcp.control.api.setVersionState({ key: keyName, state: 'DISABLED' });
    try {
      const encryptError = rpcStatus(
        await expectRejection(client.encrypt({ name: keyName, plaintext: Buffer.from('dek') })),
      );
      expect(encryptError).toMatchObject({ httpStatus: 400, status: 'FAILED_PRECONDITION' });
      expect(encryptError.message).toBe(`${keyName}/cryptoKeyVersions/1 is not enabled, current state is: DISABLED.`);
      expect(
        rpcStatus(await expectRejection(client.decrypt({ name: keyName, ciphertext: encrypted.ciphertext }))),
      ).toMatchObject({ status: 'FAILED_PRECONDITION' });
    } finally {
      emu.gcp.control.api.setVersionState({ key: keyName, state: 'ENABLED' });
    }
  });

  test('missing key and missing permission are the same 403 PERMISSION_DENIED', async () => {
    const missing = rpcStatus(
      await expectRejection(kms().encrypt({ name: `${keyName}-missing`, plaintext: Buffer.from('x') })),
    );
    expect(missing).toMatchObject({ httpStatus: 403, status: 'PERMISSION_DENIED' });
    expect(missing.message).toContain('(or it may not exist)');
    const denied = rpcStatus(
      await expectRejection(kms(outsiderSa).encrypt({ name: keyName, plaintext: Buffer.from('x') })),
    );
    expect(denied).toMatchObject({ httpStatus: 403, status: 'PERMISSION_DENIED' });
    expect(denied.message).toContain("Permission 'cloudkms.cryptoKeyVersions.useToEncrypt' denied");
    // A decrypter-only binding may decrypt but not encrypt.
    const [encrypted] = await kms().encrypt({ name: keyName, plaintext: Buffer.from('x') });
    emu.gcp.control.api.grant({ key: keyName, member: `serviceAccount:${outsiderSa.client_email}`, role: 'decrypter' });
    try {
      await expect(kms(outsiderSa).decrypt({ name: keyName, ciphertext: encrypted.ciphertext })).resolves.toBeDefined();
      expect(
        rpcStatus(await expectRejection(kms(outsiderSa).encrypt({ name: keyName, plaintext: Buffer.from('x') })))
          .status,
      ).toBe('PERMISSION_DENIED');
    } finally {
      emu.gcp.control.api.revokeGrant({ key: keyName, member: outsiderSa.client_email });
    }
  });

  test('throttle then success: 429 RESOURCE_EXHAUSTED reaches the caller (gax 5 does not retry REST errors), the next call succeeds', async () => {
    const client = kms();
    emu.gcp.faults.failNext(1, 'throttle', { match: { operation: 'encrypt' } });
    const error = await expectRejection(client.encrypt({ name: keyName, plaintext: Buffer.from('x') }));
    expect(rpcStatus(error)).toMatchObject({ httpStatus: 429, status: 'RESOURCE_EXHAUSTED' });
    await expect(client.encrypt({ name: keyName, plaintext: Buffer.from('x') })).resolves.toBeDefined();
  });

  test('account fault: 403 PERMISSION_DENIED with the SERVICE_DISABLED ErrorInfo, as for a project with the API off', async () => {
    const client = kms();
    emu.gcp.faults.failNext(1, 'account', { match: { operation: 'encrypt' } });
    const error = await expectRejection(client.encrypt({ name: keyName, plaintext: Buffer.from('x') }));
    expect(rpcStatus(error)).toMatchObject({ httpStatus: 403, status: 'PERMISSION_DENIED' });
    expect(JSON.parse(error.message).error.details).toEqual([
      expect.objectContaining({ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'SERVICE_DISABLED' }),
    ]);
  });

  test('persistent throttle: every call fails fast with RESOURCE_EXHAUSTED', async () => {
    const client = kms();
    emu.gcp.faults.failAlways('throttle', { retryAfterMs: 2000 });
    const { ms } = await elapsed(async () => {
      for (let i = 0; i < 3; i++) {
        const error = await expectRejection(client.encrypt({ name: keyName, plaintext: Buffer.from('x') }));
        expect(rpcStatus(error).status).toBe('RESOURCE_EXHAUSTED');
      }
    });
    expect(ms).toBeLessThan(1500);
    expect(emu.gcp.log.count({ operation: 'encrypt', status: 429 })).toBe(3);
  });

  test('5xx then success: 503 UNAVAILABLE, then the call succeeds', async () => {
    const client = kms();
    emu.gcp.faults.failNext(1, 'unavailable');
    expect(
      rpcStatus(await expectRejection(client.encrypt({ name: keyName, plaintext: Buffer.from('x') }))),
    ).toMatchObject({ httpStatus: 503, status: 'UNAVAILABLE' });
    await expect(client.encrypt({ name: keyName, plaintext: Buffer.from('x') })).resolves.toBeDefined();
  });

  test('hang leads to a client timeout (the caller owns the deadline)', async () => {
    const client = kms();
    await client.encrypt({ name: keyName, plaintext: Buffer.from('warm') }); // sign the JWT outside the timed call
    emu.gcp.faults.hang({ count: 1 });
    // gax 5's REST fallback neither enforces `timeout` on unary calls nor exposes cancel(): callers race a deadline.
    const call = client.encrypt({ name: keyName, plaintext: Buffer.from('x') }, { retry: null });
    call.catch(() => undefined); // the abandoned request fails when the emulator closes its socket
    const { ms, result } = await elapsed(() =>
      Promise.race([call.then(() => 'answered'), new Promise((resolve) => setTimeout(() => resolve('deadline'), 150))]),
    );
    expect(result).toBe('deadline');
    expect(ms).toBeGreaterThanOrEqual(140);
    expect(emu.gcp.log.entries({ operation: 'encrypt' }).pop()?.outcome).toBe('hung');
    // The emulator still serves other calls while one hangs.
    await expect(client.encrypt({ name: keyName, plaintext: Buffer.from('y') })).resolves.toBeDefined();
  });

  test('rotation: the new version becomes primary; old ciphertexts decrypt with usedPrimary=false', async () => {
    const client = kms();
    const rotating = emu.gcp.control.api.addKey({
      project: 'tenant-project',
      keyRing: 'ring',
      key: 'rotating',
      members: [proxySa.client_email],
    }).name;
    const [before] = await client.encrypt({
      name: rotating,
      plaintext: Buffer.from('old'),
      additionalAuthenticatedData: aad,
    });
    expect(emu.gcp.control.api.rotateKey({ key: rotating }).primaryVersion).toBe(`${rotating}/cryptoKeyVersions/2`);
    const [after] = await client.encrypt({
      name: rotating,
      plaintext: Buffer.from('new'),
      additionalAuthenticatedData: aad,
    });
    expect(after.name).toBe(`${rotating}/cryptoKeyVersions/2`);
    const [old] = await client.decrypt({
      name: rotating,
      ciphertext: before.ciphertext,
      additionalAuthenticatedData: aad,
    });
    expect(Buffer.from(old.plaintext as Uint8Array).toString()).toBe('old');
    expect(old.usedPrimary).toBe(false);
    emu.gcp.control.api.setVersionState({ key: rotating, version: 1, state: 'DESTROYED' });
    const destroyed = rpcStatus(
      await expectRejection(
        client.decrypt({ name: rotating, ciphertext: before.ciphertext, additionalAuthenticatedData: aad }),
      ),
    );
    expect(destroyed.message).toContain('current state is: DESTROYED');
  });

  test('credential expiry: revoked tokens are 401 UNAUTHENTICATED until the client signs a new JWT', async () => {
    const client = kms();
    await client.encrypt({ name: keyName, plaintext: Buffer.from('x') });
    emu.gcp.control.api.expireCredentials({ email: proxySa.client_email });
    const error = await expectRejection(client.encrypt({ name: keyName, plaintext: Buffer.from('x') }));
    expect(rpcStatus(error)).toMatchObject({ httpStatus: 401, status: 'UNAUTHENTICATED' });
    // A self-signed JWT is fixed by its iat second: wait for the next second, then a new client signs a fresh one.
    await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));
    await expect(kms().encrypt({ name: keyName, plaintext: Buffer.from('x') })).resolves.toBeDefined();
    emu.gcp.control.api.setServiceAccountDisabled({ email: proxySa.client_email, disabled: true });
    try {
      expect(
        rpcStatus(await expectRejection(kms().encrypt({ name: keyName, plaintext: Buffer.from('x') }))).status,
      ).toBe('UNAUTHENTICATED');
    } finally {
      emu.gcp.control.api.setServiceAccountDisabled({ email: proxySa.client_email, disabled: false });
    }
  });
});

describe('Google Cloud KMS over HTTPS with the emulator CA', () => {
  test('the SDK with protocol https trusts the CA through a CA-trusting fetch', async () => {
    const client = new KeyManagementServiceClient({
      fallback: true,
      apiEndpoint: '127.0.0.1',
      port: Number(new URL(emu.gcp.httpsUrl).port),
      protocol: 'https',
      credentials: { client_email: proxySa.client_email, private_key: proxySa.private_key },
      clientOptions: { transporterOptions: { fetchImplementation: createCaTrustingFetch(emu.ca.pem) } },
    } as ConstructorParameters<typeof KeyManagementServiceClient>[0]);
    clients.push(client);
    const [encrypted] = await client.encrypt({
      name: keyName,
      plaintext: Buffer.from('over tls'),
      additionalAuthenticatedData: aad,
    });
    const [decrypted] = await client.decrypt({
      name: keyName,
      ciphertext: encrypted.ciphertext,
      additionalAuthenticatedData: aad,
    });
    expect(Buffer.from(decrypted.plaintext as Uint8Array).toString()).toBe('over tls');
  });

  test('without the CA the TLS handshake is refused', async () => {
    const client = new KeyManagementServiceClient({
      fallback: true,
      apiEndpoint: '127.0.0.1',
      port: Number(new URL(emu.gcp.httpsUrl).port),
      protocol: 'https',
      credentials: { client_email: proxySa.client_email, private_key: proxySa.private_key },
      clientOptions: { transporterOptions: { fetchImplementation: fetch } },
    } as ConstructorParameters<typeof KeyManagementServiceClient>[0]);
    clients.push(client);
    const error = await expectRejection(client.encrypt({ name: keyName, plaintext: Buffer.from('x') }));
    expect(String(error.message) + String(error.cause?.cause?.code ?? error.cause?.code ?? '')).toMatch(
      /certificate|fetch failed|UNABLE_TO_VERIFY|SELF_SIGNED/i,
    );
  });
});
