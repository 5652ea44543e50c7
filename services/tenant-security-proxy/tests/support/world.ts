import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulators, type Emulators } from '@opencmk/kms-emulator';
import { startBroker, type BrokerHandle, type KmsConfigSpec } from './broker.js';
import { demoAwsConfig } from './demo-configs.js';

/**
 * Emulators (seeded demo world) plus a broker with one tenant per provider and credential mode, leased and not:
 * - `aws-leased`  : vendor identity (env keys) assuming the tenant's role with its external id, leasing on
 * - `aws-direct`  : the tenant's own access key, leasing off
 * - `gcp-leased`  : the tenant's service-account key, leasing on
 * - `gcp-direct`  : vendor identity (Application Default Credentials file), leasing off
 * - `azure-leased`: the tenant's app client id + secret, leasing on
 * - `azure-direct`: vendor identity (AZURE_CLIENT_ID / AZURE_CLIENT_SECRET), leasing off
 * - `multi`       : AWS primary (leased) + GCP active + a disabled config; `no-primary`: only an active config.
 * - `gcp-https`   : the tenant's service-account key, over https to an endpoint only KMS_EXTRA_CA_FILE trusts.
 */
export interface World {
  emulators: Emulators;
  broker: BrokerHandle;
  /** Environment for the proxy process (broker .env + vendor identities + CA). */
  proxyEnv: Record<string, string>;
  configs: Record<string, KmsConfigSpec>;
  close(): Promise<void>;
}

export const TENANTS = [
  'aws-leased',
  'aws-direct',
  'gcp-leased',
  'gcp-direct',
  'azure-leased',
  'azure-direct',
] as const;

export async function startWorld(): Promise<World> {
  const emulators = await startEmulators({ seed: 'demo' });
  const demo = emulators.demo!;
  const broker = await startBroker();
  const dir = mkdtempSync(join(tmpdir(), 'tsp-world-'));
  const adcFile = join(dir, 'adc.json');
  writeFileSync(adcFile, JSON.stringify({ ...demo.gcp.serviceAccountKey, type: 'service_account' }));

  const aws = (withTenantKey: boolean) => demoAwsConfig(demo, withTenantKey ? 'tenant-key' : 'role');
  const gcp = (withKey: boolean, endpoint = demo.gcp.httpEndpoint) => ({
    provider: 'gcp',
    project: demo.gcp.project,
    location: demo.gcp.location,
    keyRing: demo.gcp.keyRing,
    key: demo.gcp.key,
    endpoint,
    ...(withKey ? { serviceAccountKey: demo.gcp.serviceAccountKey } : {}),
  });
  const azure = (withSecret: boolean) => ({
    provider: 'azure',
    vaultUrl: demo.azure.vaultUrl,
    keyName: demo.azure.keyName,
    tenantId: demo.azure.tenantId,
    authorityHost: demo.azure.authorityHost,
    ...(withSecret ? { clientId: demo.azure.clientId, clientSecret: demo.azure.clientSecret } : {}),
  });
  const configs: Record<string, KmsConfigSpec> = {
    'aws-leased': { id: 101, provider: 'aws', status: 'primary', leasingAllowed: true, payload: aws(false) },
    'aws-direct': { id: 102, provider: 'aws', status: 'primary', leasingAllowed: false, payload: aws(true) },
    'gcp-leased': { id: 201, provider: 'gcp', status: 'primary', leasingAllowed: true, payload: gcp(true) },
    'gcp-direct': { id: 202, provider: 'gcp', status: 'primary', leasingAllowed: false, payload: gcp(false) },
    'azure-leased': { id: 301, provider: 'azure', status: 'primary', leasingAllowed: true, payload: azure(true) },
    'azure-direct': { id: 302, provider: 'azure', status: 'primary', leasingAllowed: false, payload: azure(false) },
  };
  for (const [tenantId, config] of Object.entries(configs)) broker.setTenant({ tenantId, kmsConfigs: [config] });
  broker.setTenant({
    tenantId: 'multi',
    kmsConfigs: [
      { id: 401, provider: 'aws', status: 'primary', leasingAllowed: true, payload: aws(true) },
      { id: 402, provider: 'gcp', status: 'active', leasingAllowed: false, payload: gcp(true) },
      { id: 403, provider: 'aws', status: 'disabled', leasingAllowed: true, payload: aws(true) },
    ],
  });
  broker.setTenant({
    tenantId: 'gcp-https',
    kmsConfigs: [
      {
        id: 203,
        provider: 'gcp',
        status: 'primary',
        leasingAllowed: false,
        payload: gcp(true, emulators.gcp.httpsUrl),
      },
    ],
  });
  broker.setTenant({
    tenantId: 'no-primary',
    kmsConfigs: [{ id: 501, provider: 'gcp', status: 'active', leasingAllowed: false, payload: gcp(true) }],
  });

  const proxyEnv = {
    ...broker.proxyEnv,
    KMS_EXTRA_CA_FILE: emulators.ca.path,
    AWS_ACCESS_KEY_ID: demo.aws.vendor.accessKeyId,
    AWS_SECRET_ACCESS_KEY: demo.aws.vendor.secretAccessKey,
    GOOGLE_APPLICATION_CREDENTIALS: adcFile,
    AZURE_CLIENT_ID: demo.azure.clientId,
    AZURE_CLIENT_SECRET: demo.azure.clientSecret,
  };
  return {
    emulators,
    broker,
    proxyEnv,
    configs,
    async close() {
      await broker.close();
      await emulators.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
