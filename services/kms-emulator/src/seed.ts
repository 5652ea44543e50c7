/**
 * The demo world: one usable key per provider with the identities that may use it, one Splunk token and one
 * webhook. Ids and names are fixed so the demo reads the same every run; secrets are fresh each start.
 */
import type { Emulators } from './emulators.js';
import type { ServiceAccountKeyJson } from './gcp/gcp-identity.js';

export const DEMO = {
  aws: {
    region: 'us-east-1',
    vendorAccountId: '111111111111',
    tenantAccountId: '222222222222',
    roleName: 'OpenCmkTenantKeyAccess',
    externalId: 'opencmk-demo-external-id',
    alias: 'alias/opencmk-demo',
    keyId: '0c0f1a5e-0000-4000-8000-00000000a001',
  },
  gcp: {
    vendorProject: 'opencmk-vendor',
    tenantProject: 'opencmk-tenant',
    location: 'global',
    keyRing: 'opencmk',
    key: 'tenant-kek',
    logName: 'opencmk-security-events',
  },
  azure: { keyName: 'tenant-kek' },
  splunk: { index: 'opencmk' },
} as const;

export interface DemoWorld {
  aws: {
    endpoint: string;
    region: string;
    keyArn: string;
    keyId: string;
    alias: string;
    aliasArn: string;
    /** The vendor's (proxy's) own identity: assumes the tenant role with the external id. */
    vendor: { accountId: string; arn: string; accessKeyId: string; secretAccessKey: string };
    /** The tenant's role the vendor assumes, allowed on the key. */
    role: { arn: string; externalId: string };
    /** An access key inside the tenant account (the "tenant hands over credentials" pattern), allowed on the key. */
    tenantUser: { accountId: string; arn: string; accessKeyId: string; secretAccessKey: string };
  };
  gcp: {
    httpEndpoint: string;
    httpsEndpoint: string;
    project: string;
    location: string;
    keyRing: string;
    key: string;
    keyName: string;
    /** Vendor service account granted encrypterDecrypter on the key. */
    serviceAccountKey: ServiceAccountKeyJson;
    logging: { endpoint: string; project: string; logName: string; serviceAccountKey: ServiceAccountKeyJson };
  };
  azure: {
    vaultUrl: string;
    authorityHost: string;
    tenantId: string;
    keyName: string;
    keyId: string;
    kid: string;
    clientId: string;
    clientSecret: string;
    objectId: string;
  };
  splunk: { url: string; token: string; index: string };
  webhook: { id: string; url: string; secret: string };
}

export function seedDemoWorld(emulators: Emulators): DemoWorld {
  const { aws, gcp, azure, sinks } = emulators;
  const vendor = aws.control.api.addUser({ accountId: DEMO.aws.vendorAccountId, userName: 'opencmk-proxy' });
  const tenantUser = aws.control.api.addUser({ accountId: DEMO.aws.tenantAccountId, userName: 'opencmk-tenant-kms' });
  const role = aws.control.api.addRole({
    accountId: DEMO.aws.tenantAccountId,
    roleName: DEMO.aws.roleName,
    trustedPrincipals: [DEMO.aws.vendorAccountId],
    externalId: DEMO.aws.externalId,
  });
  const key = aws.control.api.addKey({
    accountId: DEMO.aws.tenantAccountId,
    region: DEMO.aws.region,
    keyId: DEMO.aws.keyId,
    alias: DEMO.aws.alias,
    description: 'OpenCMK demo tenant key',
    allowedPrincipals: [role.arn, tenantUser.arn],
  });

  const vendorSa = gcp.control.api.addServiceAccount({ projectId: DEMO.gcp.vendorProject, accountId: 'opencmk-proxy' });
  const loggingSa = gcp.control.api.addServiceAccount({
    projectId: DEMO.gcp.tenantProject,
    accountId: 'opencmk-logging',
  });
  const gcpKey = gcp.control.api.addKey({
    project: DEMO.gcp.tenantProject,
    location: DEMO.gcp.location,
    keyRing: DEMO.gcp.keyRing,
    key: DEMO.gcp.key,
    members: [vendorSa.client_email],
  });

  const app = azure.control.api.addApp({ displayName: 'opencmk-proxy' });
  const vaultKey = azure.control.api.addKey({ name: DEMO.azure.keyName, access: [app.clientId] });

  const splunk = sinks.control.api.addSplunkToken({ name: 'opencmk-demo', defaultIndex: DEMO.splunk.index });
  const webhook = sinks.control.api.addWebhook({ id: 'opencmk-demo' });

  return {
    aws: {
      endpoint: aws.url,
      region: DEMO.aws.region,
      keyArn: key.arn,
      keyId: key.keyId,
      alias: DEMO.aws.alias,
      aliasArn: key.aliasArns[0]!,
      vendor,
      role: { arn: role.arn, externalId: DEMO.aws.externalId },
      tenantUser,
    },
    gcp: {
      httpEndpoint: gcp.httpUrl,
      httpsEndpoint: gcp.httpsUrl,
      project: DEMO.gcp.tenantProject,
      location: DEMO.gcp.location,
      keyRing: DEMO.gcp.keyRing,
      key: DEMO.gcp.key,
      keyName: gcpKey.name,
      serviceAccountKey: vendorSa,
      logging: {
        endpoint: sinks.gcpLoggingEndpoint,
        project: DEMO.gcp.tenantProject,
        logName: DEMO.gcp.logName,
        serviceAccountKey: loggingSa,
      },
    },
    azure: {
      vaultUrl: azure.vaultUrl,
      authorityHost: azure.authorityHost,
      tenantId: azure.tenantId,
      keyName: vaultKey.name,
      keyId: vaultKey.keyId,
      kid: vaultKey.kid,
      clientId: app.clientId,
      clientSecret: app.clientSecret,
      objectId: app.objectId,
    },
    splunk: { url: splunk.url, token: splunk.token, index: DEMO.splunk.index },
    webhook: { id: webhook.id, url: webhook.url, secret: webhook.secret },
  };
}
