import './helpers.js';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { ClientSecretCredential, type ClientSecretCredentialOptions } from '@azure/identity';
import { CryptographyClient, type CryptographyClientOptions } from '@azure/keyvault-keys';
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { startEmulators, type Emulators } from '../src/index.js';

/** Everything random about a world, fixed up front (what the demo stack saves in .demo/ between runs). */
const fixed = {
  aws: {
    accessKeyId: 'AKIAFIXEDFIXEDFIXED0',
    secretAccessKey: randomBytes(30).toString('base64'),
    keyMaterial: [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')],
  },
  gcp: {
    privateKeyPem: generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString(),
    privateKeyId: randomBytes(20).toString('hex'),
    clientId: '123456789012345678901',
    keyMaterial: [randomBytes(32).toString('base64')],
  },
  azure: {
    tenantId: '6b1d3c1e-0000-4000-8000-0000000000a1',
    clientId: '6b1d3c1e-0000-4000-8000-0000000000b2',
    clientSecret: 'fixed-secret-for-the-test',
    version: randomBytes(16).toString('hex'),
    privateKeyPem: generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString(),
  },
};

async function startFixedWorld() {
  const emu = await startEmulators({ azure: { tenantId: fixed.azure.tenantId } });
  emu.aws.control.api.addUser({
    accountId: '444444444444',
    userName: 'fixed',
    accessKeyId: fixed.aws.accessKeyId,
    secretAccessKey: fixed.aws.secretAccessKey,
  });
  const awsKey = emu.aws.control.api.addKey({
    accountId: '444444444444',
    keyId: 'fixed-key',
    keyMaterial: fixed.aws.keyMaterial,
  });
  const sa = emu.gcp.control.api.addServiceAccount({
    projectId: 'fixed-project',
    accountId: 'fixed-sa',
    privateKeyPem: fixed.gcp.privateKeyPem,
    privateKeyId: fixed.gcp.privateKeyId,
    clientId: fixed.gcp.clientId,
  });
  const gcpKey = emu.gcp.control.api.addKey({
    project: 'fixed-project',
    keyRing: 'r',
    key: 'k',
    members: [sa.client_email],
    keyMaterial: fixed.gcp.keyMaterial,
  });
  emu.azure.control.api.addApp({
    displayName: 'fixed',
    clientId: fixed.azure.clientId,
    clientSecret: fixed.azure.clientSecret,
  });
  const vaultKey = emu.azure.control.api.addKey({
    name: 'fixed',
    access: [fixed.azure.clientId],
    versions: [{ version: fixed.azure.version, privateKeyPem: fixed.azure.privateKeyPem }],
  });
  return { emu, awsKey, sa, gcpKey, vaultKey };
}

function clients(emu: Emulators, sa: { client_email: string; private_key: string }) {
  const aws = new KMSClient({
    region: 'us-east-1',
    endpoint: emu.aws.url,
    credentials: { accessKeyId: fixed.aws.accessKeyId, secretAccessKey: fixed.aws.secretAccessKey },
    maxAttempts: 1,
  });
  const gcp = new KeyManagementServiceClient({
    fallback: true,
    apiEndpoint: '127.0.0.1',
    port: Number(new URL(emu.gcp.httpUrl).port),
    protocol: 'http',
    credentials: { client_email: sa.client_email, private_key: sa.private_key },
    clientOptions: { transporterOptions: { fetchImplementation: fetch } },
  } as ConstructorParameters<typeof KeyManagementServiceClient>[0]);
  const credential = new ClientSecretCredential(fixed.azure.tenantId, fixed.azure.clientId, fixed.azure.clientSecret, {
    authorityHost: emu.azure.authorityHost,
    disableInstanceDiscovery: true,
    tlsOptions: { ca: emu.ca.pem },
  } as ClientSecretCredentialOptions);
  const azure = (kid: string) =>
    new CryptographyClient(kid, credential, {
      disableChallengeResourceVerification: true,
      tlsOptions: { ca: emu.ca.pem },
    } as CryptographyClientOptions);
  return {
    aws,
    gcp,
    azure,
    close: async () => {
      aws.destroy();
      await gcp.close();
    },
  };
}

test('a world rebuilt from fixed ids, credentials and key material still decrypts what the previous one encrypted', async () => {
  const first = await startFixedWorld();
  const firstClients = clients(first.emu, first.sa);
  let blobs: { aws: Uint8Array; gcp: Uint8Array; azure: Uint8Array; kid: string };
  try {
    expect(first.sa.private_key_id).toBe(fixed.gcp.privateKeyId);
    expect(first.sa.client_id).toBe(fixed.gcp.clientId);
    expect(first.vaultKey.kid).toBe(`${first.emu.azure.vaultUrl}/keys/fixed/${fixed.azure.version}`);
    expect(first.awsKey.versions).toBe(2);
    const aws = await firstClients.aws.send(
      new EncryptCommand({ KeyId: first.awsKey.arn, Plaintext: Buffer.from('aws'), EncryptionContext: { c: '1' } }),
    );
    const [gcp] = await firstClients.gcp.encrypt({ name: first.gcpKey.name, plaintext: Buffer.from('gcp') });
    const azure = await firstClients
      .azure(first.vaultKey.kid)
      .wrapKey('RSA-OAEP-256', Buffer.from('azure-dek-azure-dek-azure-dek-32'));
    blobs = { aws: aws.CiphertextBlob!, gcp: gcp.ciphertext as Uint8Array, azure: azure.result, kid: azure.keyID! };
  } finally {
    await firstClients.close();
    await first.emu.close();
  }

  const second = await startFixedWorld();
  const secondClients = clients(second.emu, second.sa);
  try {
    const aws = await secondClients.aws.send(
      new DecryptCommand({ CiphertextBlob: blobs.aws, EncryptionContext: { c: '1' } }),
    );
    expect(Buffer.from(aws.Plaintext!).toString()).toBe('aws');
    const [gcp] = await secondClients.gcp.decrypt({ name: second.gcpKey.name, ciphertext: blobs.gcp });
    expect(Buffer.from(gcp.plaintext as Uint8Array).toString()).toBe('gcp');
    // Ports differ between the two worlds, so the kid is rebuilt on the new vault URL; the version is what persists.
    const kid = `${second.emu.azure.vaultUrl}/keys/fixed/${blobs.kid.split('/').pop()}`;
    const azure = await secondClients.azure(kid).unwrapKey('RSA-OAEP-256', blobs.azure);
    expect(Buffer.from(azure.result).toString()).toBe('azure-dek-azure-dek-azure-dek-32');
  } finally {
    await secondClients.close();
    await second.emu.close();
  }
});

test('fixed material is validated', async () => {
  const emu = await startEmulators();
  try {
    expect(() => emu.aws.control.api.addKey({ accountId: '444444444444', keyMaterial: ['c2hvcnQ='] })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() =>
      emu.azure.control.api.addKey({
        name: 'bad',
        versions: [{ version: 'a'.repeat(32), privateKeyPem: 'not a key'.repeat(20) }],
      }),
    ).toThrow(/privateKeyPem/);
    expect(() =>
      emu.azure.control.api.addKey({
        name: 'bad-oct',
        kty: 'oct-HSM',
        versions: [{ version: 'b'.repeat(32), secret: randomBytes(16).toString('base64') }],
      }),
    ).toThrow(/32 bytes/);
  } finally {
    await emu.close();
  }
});
