/**
 * The `.env` of a proxy configuration (docs/contracts.md §2), as the vendor admin's browser generates it. No server
 * imports: the demo seed and the whole-system tests both use it.
 */
import { base64UrlEncode } from '@opencmk/crypto';

export interface ProxyEnvSettings {
  brokerUrl: string;
  port: number;
  healthPort: number;
  host: string;
  kmsExtraCaFile: string;
}

export function proxyEnvText(values: {
  brokerUrl: string;
  proxyConfigId: string;
  vendorId: string;
  privateKey: Uint8Array;
  brokerToken: string;
  apiKey: string;
  settings: ProxyEnvSettings;
}): string {
  return [
    '# OpenCMK Tenant Security Proxy (generated for the demo stack). Keep this file secret.',
    `OPENCMK_BROKER_URL=${values.brokerUrl}`,
    `OPENCMK_PROXY_CONFIG_ID=${values.proxyConfigId}`,
    `OPENCMK_VENDOR_ID=${values.vendorId}`,
    `OPENCMK_PROXY_PRIVATE_KEY=${base64UrlEncode(values.privateKey)}`,
    `OPENCMK_BROKER_TOKEN=${values.brokerToken}`,
    `API_KEY=${values.apiKey}`,
    'API_KEY_2=',
    `PORT=${values.settings.port}`,
    `HEALTH_PORT=${values.settings.healthPort}`,
    `HOST=${values.settings.host}`,
    'LOG_LEVEL=info',
    'LEASE_ROTATION_SECONDS=86400',
    'LEASE_CACHE_TTL_SECONDS=3600',
    'SNAPSHOT_WAIT_SECONDS=25',
    'SNAPSHOT_REFRESH_SECONDS=300',
    'KMS_TIMEOUT_MS=5000',
    `KMS_EXTRA_CA_FILE=${values.settings.kmsExtraCaFile}`,
    '',
  ].join('\n');
}

