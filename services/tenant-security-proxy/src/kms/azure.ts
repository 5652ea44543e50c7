import { ClientSecretCredential, DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { CryptographyClient, type CryptographyClientOptions } from '@azure/keyvault-keys';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { KmsError } from '../errors.js';
import { AzureWrappedKeySchema } from '../gen/encrypted_deks_pb.js';
import { callWithPolicy, describe, isAbortError, isNetworkError } from './retry.js';
import type { SharedClients } from './shared-clients.js';
import { caBundle } from './tls.js';
import type { AzureKmsConfig, KmsAdapter, KmsCallObserver, KmsCallPolicy, KmsContext } from './types.js';

const AZURE_VAULT_HOST = /\.(vault\.azure\.net|vault\.azure\.cn|vault\.usgovcloudapi\.net|managedhsm\.azure\.net)$/i;

/**
 * Azure Key Vault wrapKey/unwrapKey with RSA-OAEP-256, which the SDK cannot do locally, so every call reaches the
 * vault and a disabled key or revoked permission is seen at once (kms-emulation.md §4.4). RSA wrap takes no
 * context; the EDEK's tenant and config binding is checked by the proxy before any unwrap.
 * Credentials: the tenant's app registration (client id + secret) or the vendor's identity (AZURE_CLIENT_ID /
 * AZURE_CLIENT_SECRET of a multi-tenant app, else the default chain), always for the vault's Entra tenant.
 */
export class AzureKmsAdapter implements KmsAdapter {
  readonly provider = 'azure' as const;
  private readonly credential: TokenCredential;
  /** Identifies the credential, so key clients are shared only between configs with the same credential. */
  private readonly credentialIdentity: unknown[];
  private readonly keyBaseUrl: string;
  private readonly clientOptions: CryptographyClientOptions;

  constructor(
    config: AzureKmsConfig,
    private readonly policy: KmsCallPolicy,
    private readonly observe: KmsCallObserver,
    private readonly shared: SharedClients,
  ) {
    const ca = caBundle(policy.extraCa);
    const tlsOptions = ca ? { tlsOptions: { ca: ca.join('\n') } } : {};
    const authorityHost = config.authorityHost ?? process.env.AZURE_AUTHORITY_HOST;
    const identityOptions = {
      ...(authorityHost ? { authorityHost, disableInstanceDiscovery: true } : {}),
      retryOptions: { maxRetries: 1, retryDelayInMs: 50, maxRetryDelayInMs: 200 },
      ...tlsOptions,
    };
    const clientId = config.clientId ?? process.env.AZURE_CLIENT_ID;
    const clientSecret = config.clientId ? config.clientSecret : process.env.AZURE_CLIENT_SECRET;
    // Tokens must come from the vault's Entra tenant, so the credential is per (tenant, app, secret, authority).
    this.credentialIdentity = [config.tenantId, clientId ?? null, clientSecret ?? null, authorityHost ?? null];
    this.credential = shared.get('azure-credential', this.credentialIdentity, () =>
      clientId && clientSecret
        ? new ClientSecretCredential(config.tenantId, clientId, clientSecret, identityOptions)
        : new DefaultAzureCredential({ tenantId: config.tenantId, ...identityOptions }),
    );
    const vaultHost = new URL(config.vaultUrl).hostname;
    this.keyBaseUrl = `${config.vaultUrl.replace(/\/+$/, '')}/keys/${encodeURIComponent(config.keyName)}`;
    this.clientOptions = {
      // Private endpoints and the emulators are not *.vault.azure.net, so the challenge's resource cannot match.
      disableChallengeResourceVerification: !AZURE_VAULT_HOST.test(vaultHost),
      retryOptions: { maxRetries: 0 },
      ...(new URL(config.vaultUrl).protocol === 'http:' ? { allowInsecureConnection: true } : {}),
      ...tlsOptions,
    };
  }

  /** One CryptographyClient per key id: each new client repeats the challenge and the key GET. */
  private client(version: string): CryptographyClient {
    const keyId = version ? `${this.keyBaseUrl}/${encodeURIComponent(version)}` : this.keyBaseUrl;
    return this.shared.get(
      'azure-key',
      [keyId, ...this.credentialIdentity],
      () => new CryptographyClient(keyId, this.credential, this.clientOptions),
    );
  }

  wrap(plaintext: Uint8Array, _context: KmsContext): Promise<Uint8Array> {
    return callWithPolicy('azure', 'wrap', this.policy, this.observe, classifyAzureError, async (abort) => {
      const result = await this.client('').wrapKey('RSA-OAEP-256', plaintext, { abortSignal: abort.signal });
      const keyVersion = (result.keyID ?? '').split('/').pop() ?? '';
      if (!result.result?.length || !keyVersion) throw new KmsError('Unknown', 'wrapKey returned no key or version');
      return toBinary(AzureWrappedKeySchema, create(AzureWrappedKeySchema, { wrappedKey: result.result, keyVersion }));
    });
  }

  unwrap(ciphertext: Uint8Array, _context: KmsContext): Promise<Uint8Array> {
    let wrapped;
    try {
      wrapped = fromBinary(AzureWrappedKeySchema, ciphertext);
    } catch {
      return Promise.reject(new KmsError('InvalidCiphertext', 'not an Azure wrapped key'));
    }
    if (wrapped.wrappedKey.length === 0 || !wrapped.keyVersion) {
      return Promise.reject(new KmsError('InvalidCiphertext', 'not an Azure wrapped key'));
    }
    return callWithPolicy('azure', 'unwrap', this.policy, this.observe, classifyAzureError, async (abort) => {
      const result = await this.client(wrapped.keyVersion).unwrapKey('RSA-OAEP-256', wrapped.wrappedKey, {
        abortSignal: abort.signal,
      });
      if (!result.result?.length) throw new KmsError('Unknown', 'unwrapKey returned no key');
      return result.result;
    });
  }
}

/** RestError: statusCode + code + details.error.innerError.code (kms-emulation.md §4.1); identity errors are auth. */
export function classifyAzureError(error: unknown): KmsError {
  if (error instanceof KmsError) return error;
  const e = error as {
    name?: string;
    code?: string;
    statusCode?: number;
    response?: { headers?: { get?: (name: string) => string | undefined } };
    details?: { error?: { code?: string; innerError?: { code?: string } } };
  };
  const message = describe(error);
  const name = e?.name ?? '';
  if (
    name === 'AuthenticationError' ||
    name === 'AuthenticationRequiredError' ||
    name === 'CredentialUnavailableError' ||
    name === 'AggregateAuthenticationError'
  ) {
    return /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|network/i.test(message)
      ? new KmsError('Unavailable', message)
      : new KmsError('AuthFailed', message);
  }
  if (isAbortError(error)) return new KmsError('Timeout', message);
  const inner = e?.details?.error?.innerError?.code ?? e?.details?.error?.code ?? e?.code ?? '';
  switch (e?.statusCode) {
    case 401:
      return new KmsError('AuthFailed', message);
    case 403:
      return inner === 'KeyDisabled' ? new KmsError('KeyDisabled', message) : new KmsError('AccessDenied', message);
    case 404:
      return new KmsError('KeyNotFound', message);
    case 400:
      return new KmsError('InvalidCiphertext', message);
    case 429: {
      const header = e.response?.headers?.get?.('retry-after-ms') ?? e.response?.headers?.get?.('x-ms-retry-after-ms');
      const seconds = e.response?.headers?.get?.('retry-after');
      const retryAfterMs = header ? Number(header) : seconds ? Number(seconds) * 1000 : undefined;
      return new KmsError('Throttled', message, Number.isFinite(retryAfterMs) ? retryAfterMs : undefined);
    }
  }
  if ((e?.statusCode ?? 0) >= 500 || isNetworkError(error) || inner === 'REQUEST_SEND_ERROR')
    return new KmsError('Unavailable', message);
  return new KmsError('Unknown', message);
}
