/**
 * The emulated cloud the demo stack runs against: one AWS KMS key, one Google Cloud KMS key, one Azure Key Vault
 * key, a Splunk HEC token and a webhook, with the identities that may use them.
 *
 * The emulators keep everything in memory, while the broker's database keeps tenant configs (endpoints and
 * credentials, sealed) and applications keep EDEKs wrapped under these keys. So every start must rebuild the same
 * world: fixed ports, fixed credentials and fixed key material, generated once and kept in `.demo/` (mode 0600).
 * Test credentials only: nothing here protects real data.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startEmulators, type Emulators } from '@opencmk/kms-emulator';
import { z } from 'zod';

export const WORLD = {
  aws: {
    region: 'us-east-1',
    vendorAccountId: '111111111111',
    tenantAccountId: '222222222222',
    keyId: '0c0f1a5e-0000-4000-8000-00000000a001',
    alias: 'alias/opencmk-demo',
  },
  gcp: {
    vendorProject: 'opencmk-vendor',
    tenantProject: 'opencmk-tenant',
    location: 'global',
    keyRing: 'opencmk',
    key: 'tenant-kek',
  },
  azure: { vaultName: 'opencmk-demo-vault', keyName: 'tenant-kek' },
  splunk: { tokenName: 'opencmk-demo', index: 'opencmk' },
  webhook: { id: 'opencmk-demo' },
} as const;

const portSchema = z.number().int().min(0).max(65535);
export const emulatorPortsSchema = z.object({
  aws: portSchema,
  gcpHttp: portSchema,
  gcpHttps: portSchema,
  azure: portSchema,
  sinksHttp: portSchema,
  sinksHttps: portSchema,
});
export type EmulatorPorts = z.infer<typeof emulatorPortsSchema>;

const accessKeySchema = z.object({ accessKeyId: z.string().min(16), secretAccessKey: z.string().min(16) });
const material = z.string().refine((text) => Buffer.from(text, 'base64').length === 32, 'must be 32 bytes, base64');

/** Everything random about the world, generated on the first run and replayed on every later one. */
export const worldSecretsSchema = z.object({
  format: z.literal(1),
  ports: emulatorPortsSchema,
  aws: z.object({ vendor: accessKeySchema, tenantUser: accessKeySchema, keyMaterial: material }),
  gcp: z.object({
    privateKeyPem: z.string().min(100),
    privateKeyId: z.string().regex(/^[0-9a-f]{40}$/),
    clientId: z.string().regex(/^\d+$/),
    keyMaterial: material,
  }),
  azure: z.object({
    tenantId: z.uuid(),
    clientId: z.uuid(),
    clientSecret: z.string().min(16),
    rsaPrivateKeyPem: z.string().min(100),
    keyVersion: z.string().regex(/^[0-9a-f]{32}$/),
  }),
  splunk: z.object({ token: z.uuid() }),
  webhook: z.object({ secret: z.string().min(32) }),
});
export type WorldSecrets = z.infer<typeof worldSecretsSchema>;

const upperAlnum = (length: number) => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join('');
};
const rsaPem = () =>
  generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

export function newWorldSecrets(ports: EmulatorPorts): WorldSecrets {
  return {
    format: 1,
    ports,
    aws: {
      vendor: { accessKeyId: `AKIA${upperAlnum(16)}`, secretAccessKey: randomBytes(30).toString('base64') },
      tenantUser: { accessKeyId: `AKIA${upperAlnum(16)}`, secretAccessKey: randomBytes(30).toString('base64') },
      keyMaterial: randomBytes(32).toString('base64'),
    },
    gcp: {
      privateKeyPem: rsaPem(),
      privateKeyId: randomBytes(20).toString('hex'),
      clientId: BigInt(`0x${randomBytes(8).toString('hex')}`).toString(),
      keyMaterial: randomBytes(32).toString('base64'),
    },
    azure: {
      tenantId: randomUUID(),
      clientId: randomUUID(),
      clientSecret: `emu~${randomBytes(30).toString('base64url')}`,
      rsaPrivateKeyPem: rsaPem(),
      keyVersion: randomBytes(16).toString('hex'),
    },
    splunk: { token: randomUUID() },
    webhook: { secret: randomBytes(32).toString('base64url') },
  };
}

/** Reads the saved world, or creates and saves a new one (0600: it holds the emulated keys' material). */
export function loadOrCreateWorldSecrets(
  file: string,
  ports: EmulatorPorts,
): { secrets: WorldSecrets; created: boolean } {
  if (existsSync(file)) {
    const parsed = worldSecretsSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success)
      throw new Error(
        `${file} is not a saved emulated world (${parsed.error.issues[0]?.message}); remove .demo/ to start over`,
      );
    return { secrets: parsed.data, created: false };
  }
  const secrets = newWorldSecrets(ports);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return { secrets, created: true };
}

/** What tenants put in their configs (contracts §4) and what tests use to act as each tenant in its cloud. */
export interface DemoWorld {
  caFile: string;
  aws: {
    endpoint: string;
    region: string;
    keyArn: string;
    /** The tenant's IAM user whose access key the tenant config carries; revoking its grant is flow 5. */
    tenantUser: { arn: string; accessKeyId: string; secretAccessKey: string };
  };
  gcp: {
    endpoint: string;
    project: string;
    location: string;
    keyRing: string;
    key: string;
    keyName: string;
    serviceAccountKey: {
      type: 'service_account';
      project_id: string;
      private_key_id: string;
      private_key: string;
      client_email: string;
      client_id: string;
      token_uri: string;
    };
  };
  azure: {
    vaultUrl: string;
    authorityHost: string;
    keyName: string;
    tenantId: string;
    clientId: string;
    clientSecret: string;
  };
  splunk: { url: string; token: string; index: string };
  webhook: { id: string; url: string; secret: string };
  admin: { aws: string; gcp: string; azure: string; sinks: string };
}

export interface StartedWorld {
  emulators: Emulators;
  world: DemoWorld;
}

/** Starts the emulators on the saved ports and registers the saved world; the CA PEM is (re)written to `caFile`. */
export async function startEmulatedWorld(
  secrets: WorldSecrets,
  options: { caFile: string; host?: string },
): Promise<StartedWorld> {
  const emulators = await startEmulators({
    host: options.host ?? '127.0.0.1',
    caFile: options.caFile,
    ports: secrets.ports,
    awsRegion: WORLD.aws.region,
    azure: { tenantId: secrets.azure.tenantId, vaultName: WORLD.azure.vaultName },
  });
  try {
    const { aws, gcp, azure, sinks } = emulators;
    aws.control.api.addUser({ accountId: WORLD.aws.vendorAccountId, userName: 'opencmk-proxy', ...secrets.aws.vendor });
    const tenantUser = aws.control.api.addUser({
      accountId: WORLD.aws.tenantAccountId,
      userName: 'opencmk-tenant-kms',
      ...secrets.aws.tenantUser,
    });
    const awsKey = aws.control.api.addKey({
      accountId: WORLD.aws.tenantAccountId,
      region: WORLD.aws.region,
      keyId: WORLD.aws.keyId,
      alias: WORLD.aws.alias,
      description: 'OpenCMK demo tenant key',
      allowedPrincipals: [tenantUser.arn],
      // Saved material: EDEKs made before a restart still open after it.
      keyMaterial: [secrets.aws.keyMaterial],
    });

    const serviceAccount = gcp.control.api.addServiceAccount({
      projectId: WORLD.gcp.vendorProject,
      accountId: 'opencmk-proxy',
      privateKeyPem: secrets.gcp.privateKeyPem,
      // The SDK signs its JWTs with this id as `kid`; the emulator checks it against the registered key.
      privateKeyId: secrets.gcp.privateKeyId,
      clientId: secrets.gcp.clientId,
    });
    const gcpKey = gcp.control.api.addKey({
      project: WORLD.gcp.tenantProject,
      location: WORLD.gcp.location,
      keyRing: WORLD.gcp.keyRing,
      key: WORLD.gcp.key,
      members: [serviceAccount.client_email],
      keyMaterial: [secrets.gcp.keyMaterial],
    });

    azure.control.api.addApp({
      displayName: 'opencmk-proxy',
      clientId: secrets.azure.clientId,
      clientSecret: secrets.azure.clientSecret,
    });
    // EDEKs name the versioned kid, so the version string is saved along with the key.
    azure.control.api.addKey({
      name: WORLD.azure.keyName,
      access: [secrets.azure.clientId],
      versions: [{ version: secrets.azure.keyVersion, privateKeyPem: secrets.azure.rsaPrivateKeyPem }],
    });

    sinks.control.api.addSplunkToken({
      name: WORLD.splunk.tokenName,
      token: secrets.splunk.token,
      defaultIndex: WORLD.splunk.index,
    });
    const webhook = sinks.control.api.addWebhook({ id: WORLD.webhook.id, secret: secrets.webhook.secret });

    const keyJson = gcp.identity.keyJson(serviceAccount.client_email);

    const world: DemoWorld = {
      caFile: emulators.ca.path,
      aws: {
        endpoint: aws.url,
        region: WORLD.aws.region,
        keyArn: awsKey.arn,
        tenantUser: { arn: tenantUser.arn, ...secrets.aws.tenantUser },
      },
      gcp: {
        endpoint: gcp.httpUrl,
        project: WORLD.gcp.tenantProject,
        location: WORLD.gcp.location,
        keyRing: WORLD.gcp.keyRing,
        key: WORLD.gcp.key,
        keyName: gcpKey.name,
        serviceAccountKey: {
          type: 'service_account',
          project_id: keyJson.project_id,
          private_key_id: keyJson.private_key_id,
          private_key: keyJson.private_key,
          client_email: keyJson.client_email,
          client_id: keyJson.client_id,
          token_uri: keyJson.token_uri,
        },
      },
      azure: {
        vaultUrl: azure.vaultUrl,
        authorityHost: azure.authorityHost,
        keyName: WORLD.azure.keyName,
        tenantId: secrets.azure.tenantId,
        clientId: secrets.azure.clientId,
        clientSecret: secrets.azure.clientSecret,
      },
      splunk: { url: sinks.splunkUrl, token: secrets.splunk.token, index: WORLD.splunk.index },
      webhook: { id: webhook.id, url: webhook.url, secret: secrets.webhook.secret },
      admin: {
        aws: `${aws.url}/__emulator`,
        gcp: `${gcp.httpUrl}/__emulator`,
        azure: `${azure.url}/__emulator`,
        sinks: `${sinks.httpUrl}/__emulator`,
      },
    };
    return { emulators, world };
  } catch (error) {
    await emulators.close();
    throw error;
  }
}
