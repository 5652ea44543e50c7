import {
  base64UrlDecode,
  base64UrlEncode,
  generateKeyPair,
  keyId,
  open,
  seal,
  sealToMany,
  utf8Decode,
  utf8Encode,
  type SealContext,
} from '@opencmk/crypto';

/**
 * What the browser does with keys and sealed blobs (and what tests do in its place). Client-safe: @opencmk/crypto
 * and Web Crypto only; nothing here talks to the broker.
 */

export const vendorGrantContext = (vendorId: string, userId: string): SealContext => ({
  purpose: 'vendor-key',
  vendorId,
  tenantId: '',
  subjectId: userId,
  subjectVersion: 1,
});

export const proxyEnvContext = (vendorId: string, proxyConfigId: string, envVersion: number): SealContext => ({
  purpose: 'proxy-env',
  vendorId,
  tenantId: '',
  subjectId: proxyConfigId,
  subjectVersion: envVersion,
});

/** contracts §3: the context every copy of a tenant config is sealed under (the recipient is bound by seal itself). */
export const tenantConfigContext = (kind: 'kms' | 'logging', vendorId: string, tenantId: string, configId: number, version: number): SealContext => ({
  purpose: kind === 'kms' ? 'kms-config' : 'logging-config',
  vendorId,
  tenantId,
  subjectId: String(configId),
  subjectVersion: version,
});

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  globalThis.crypto.getRandomValues(bytes);
  return bytes;
}

/** 256-bit random bearer secrets with recognisable prefixes (contracts §2). */
export const newBrokerToken = () => `ocmk_bt_${base64UrlEncode(randomBytes(32))}`;
export const newApiKey = () => `ocmk_ak_${base64UrlEncode(randomBytes(32))}`;

export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', utf8Encode(text) as BufferSource));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * The fingerprint the broker stores for a tenant config: SHA-256 over a domain-separated key path, first 16 bytes
 * as hex. It lets people tell configs apart and lets the broker refuse a credential replacement that moves the key
 * path; the key paths are long random identifiers, so the truncated digest does not reveal them.
 */
export async function configFingerprint(keyPath: string): Promise<string> {
  return (await sha256Hex(`OpenCMK config fingerprint v1\0${keyPath}`)).slice(0, 32);
}

export const ENV_DEFAULTS: [string, string][] = [
  ['PORT', '7777'],
  ['HEALTH_PORT', '9000'],
  ['HOST', '0.0.0.0'],
  ['LOG_LEVEL', 'info'],
  ['LEASE_ROTATION_SECONDS', '86400'],
  ['LEASE_CACHE_TTL_SECONDS', '3600'],
  ['SNAPSHOT_WAIT_SECONDS', '25'],
  ['SNAPSHOT_REFRESH_SECONDS', '300'],
  ['KMS_TIMEOUT_MS', '5000'],
  ['KMS_EXTRA_CA_FILE', ''],
];

export interface ProxyEnvValues {
  brokerUrl: string;
  proxyConfigId: string;
  vendorId: string;
  privateKey: string;
  brokerToken: string;
  apiKey: string;
  apiKey2: string;
  /** Values of the documented defaults, when an admin changed any (kept across rotations). */
  extra?: Record<string, string>;
}

/** The proxy's `.env` (docs/contracts.md §2). */
export function buildProxyEnv(values: ProxyEnvValues): string {
  const lines = [
    '# OpenCMK Tenant Security Proxy configuration. Keep this file secret: it holds the private key that opens',
    '# every tenant config sealed to this proxy configuration, the broker token and the API key.',
    `OPENCMK_BROKER_URL=${values.brokerUrl}`,
    `OPENCMK_PROXY_CONFIG_ID=${values.proxyConfigId}`,
    `OPENCMK_VENDOR_ID=${values.vendorId}`,
    `OPENCMK_PROXY_PRIVATE_KEY=${values.privateKey}`,
    `OPENCMK_BROKER_TOKEN=${values.brokerToken}`,
    `API_KEY=${values.apiKey}`,
    `API_KEY_2=${values.apiKey2}`,
    ...ENV_DEFAULTS.map(([name, fallback]) => `${name}=${values.extra?.[name] ?? fallback}`),
  ];
  return lines.join('\n') + '\n';
}

export function parseEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match) out[match[1]!] = match[2]!;
  }
  return out;
}

export function envValuesOf(env: Record<string, string>): ProxyEnvValues {
  const extra: Record<string, string> = {};
  for (const [name] of ENV_DEFAULTS) if (env[name] !== undefined) extra[name] = env[name]!;
  return {
    brokerUrl: env.OPENCMK_BROKER_URL ?? '',
    proxyConfigId: env.OPENCMK_PROXY_CONFIG_ID ?? '',
    vendorId: env.OPENCMK_VENDOR_ID ?? '',
    privateKey: env.OPENCMK_PROXY_PRIVATE_KEY ?? '',
    brokerToken: env.OPENCMK_BROKER_TOKEN ?? '',
    apiKey: env.API_KEY ?? '',
    apiKey2: env.API_KEY_2 ?? '',
    extra,
  };
}

export interface NewProxyConfig {
  id: string;
  publicKey: string;
  tokenHash: string;
  sealedEnv: string;
  env: string;
  brokerToken: string;
  apiKey: string;
}

/** Everything a new proxy configuration needs, generated here: the broker gets only the public parts and blobs. */
export async function generateProxyConfig(input: { name: string; brokerUrl: string; vendorId: string; vendorPublicKey: string }): Promise<NewProxyConfig> {
  const id = globalThis.crypto.randomUUID();
  const pair = generateKeyPair();
  const brokerToken = newBrokerToken();
  const apiKey = newApiKey();
  const env = buildProxyEnv({
    brokerUrl: input.brokerUrl,
    proxyConfigId: id,
    vendorId: input.vendorId,
    privateKey: base64UrlEncode(pair.privateKey),
    brokerToken,
    apiKey,
    apiKey2: '',
  });
  pair.privateKey.fill(0);
  const sealedEnv = seal(utf8Encode(env), base64UrlDecode(input.vendorPublicKey), proxyEnvContext(input.vendorId, id, 1));
  return { id, publicKey: base64UrlEncode(pair.publicKey), tokenHash: await sha256Hex(brokerToken), sealedEnv, env, brokerToken, apiKey };
}

export function openProxyEnv(sealedEnv: string, vendorPrivateKey: Uint8Array, vendorId: string, proxyConfigId: string, envVersion: number): string {
  return utf8Decode(open(sealedEnv, vendorPrivateKey, proxyEnvContext(vendorId, proxyConfigId, envVersion)));
}

export interface RecipientKey {
  keyId: string;
  publicKey: string;
}

/** Seals one config payload to every recipient at once; checks each recipient's key id against its public key. */
export function sealConfigToRecipients(payload: unknown, recipients: RecipientKey[], context: SealContext): { recipientKeyId: string; blob: string }[] {
  const keys = recipients.map((recipient) => {
    const publicKey = base64UrlDecode(recipient.publicKey);
    if (keyId(publicKey) !== recipient.keyId) throw new Error('A recipient key id does not match its public key');
    return publicKey;
  });
  return sealToMany(utf8Encode(JSON.stringify(payload)), keys, context);
}
