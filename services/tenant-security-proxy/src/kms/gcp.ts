import { Agent as HttpsAgent } from 'node:https';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { KmsError } from '../errors.js';
import { crc32c } from './crc32c.js';
import { callWithPolicy, describe, isAbortError, isNetworkError } from './retry.js';
import type { SharedClients } from './shared-clients.js';
import { caBundle } from './tls.js';
import type { GcpKmsConfig, KmsAdapter, KmsCallObserver, KmsCallPolicy, KmsContext } from './types.js';

type Int64Like = number | string | { value?: number | string | { toString(): string } | null } | null | undefined;

/**
 * Google Cloud KMS through @google-cloud/kms 5.x over its REST transport (`fallback: true`; works in production
 * against cloudkms.googleapis.com:443 and with private endpoints). gax's REST retries do not work on the Node 20
 * line (kms-emulation.md §3.6), so SDK retries are off and callWithPolicy retries.
 * Credentials: the tenant's service-account key, or the vendor's Application Default Credentials.
 */
export class GcpKmsAdapter implements KmsAdapter {
  readonly provider = 'gcp' as const;
  private readonly client: KeyManagementServiceClient;
  private readonly keyName: string;

  constructor(
    config: GcpKmsConfig,
    private readonly policy: KmsCallPolicy,
    private readonly observe: KmsCallObserver,
    shared: SharedClients,
  ) {
    this.keyName = `projects/${config.project}/locations/${config.location}/keyRings/${config.keyRing}/cryptoKeys/${config.key}`;
    // The key path is in every request; the client depends only on the credentials and the endpoint.
    const identity = [
      config.serviceAccountKey?.client_email ?? null,
      config.serviceAccountKey?.private_key ?? null,
      config.endpoint ?? null,
    ];
    let agent: HttpsAgent | undefined;
    this.client = shared.get(
      'gcp',
      identity,
      () => {
        const options: ConstructorParameters<typeof KeyManagementServiceClient>[0] = { fallback: true };
        if (config.serviceAccountKey) {
          options.credentials = {
            client_email: config.serviceAccountKey.client_email,
            private_key: config.serviceAccountKey.private_key,
          };
        }
        if (config.endpoint) {
          const url = new URL(config.endpoint);
          options.apiEndpoint = url.hostname;
          options.port = Number(url.port || (url.protocol === 'http:' ? 80 : 443));
          (options as { protocol?: string }).protocol = url.protocol.replace(':', '');
        }
        const client = new KeyManagementServiceClient(options);
        if (policy.extraCa) agent = trustExtraCa(client, policy.extraCa);
        return client;
      },
      async (client) => {
        await client.close();
        agent?.destroy();
      },
    );
  }

  wrap(plaintext: Uint8Array, context: KmsContext): Promise<Uint8Array> {
    const aad = additionalData(context);
    return callWithPolicy('gcp', 'wrap', this.policy, this.observe, classifyGcpError, async () => {
      const [response] = await this.client.encrypt(
        {
          name: this.keyName,
          plaintext,
          additionalAuthenticatedData: aad,
          plaintextCrc32c: { value: crc32c(plaintext) },
          additionalAuthenticatedDataCrc32c: { value: crc32c(aad) },
        },
        { timeout: this.policy.timeoutMs, maxRetries: 0 },
      );
      const ciphertext = toBytes(response.ciphertext);
      // Google's guidance: discard a response whose checksums do not match (data corrupted in transit).
      if (!response.verifiedPlaintextCrc32c || !response.verifiedAdditionalAuthenticatedDataCrc32c) {
        throw new KmsError('IntegrityError', 'Cloud KMS did not verify the request checksums');
      }
      if (ciphertext.length === 0 || int64(response.ciphertextCrc32c) !== crc32c(ciphertext)) {
        throw new KmsError('IntegrityError', 'Cloud KMS ciphertext checksum mismatch');
      }
      return ciphertext;
    });
  }

  unwrap(ciphertext: Uint8Array, context: KmsContext): Promise<Uint8Array> {
    const aad = additionalData(context);
    return callWithPolicy('gcp', 'unwrap', this.policy, this.observe, classifyGcpError, async () => {
      const [response] = await this.client.decrypt(
        {
          name: this.keyName,
          ciphertext,
          additionalAuthenticatedData: aad,
          ciphertextCrc32c: { value: crc32c(ciphertext) },
          additionalAuthenticatedDataCrc32c: { value: crc32c(aad) },
        },
        { timeout: this.policy.timeoutMs, maxRetries: 0 },
      );
      const plaintext = toBytes(response.plaintext);
      if (plaintext.length === 0 || int64(response.plaintextCrc32c) !== crc32c(plaintext)) {
        throw new KmsError('IntegrityError', 'Cloud KMS plaintext checksum mismatch');
      }
      return plaintext;
    });
  }
}

/**
 * KMS_EXTRA_CA_FILE for the REST transport. gax's fallback stub hands every request its own module-wide https.Agent
 * (system CAs only), so there is no client option for a CA; every request does pass through the client's GoogleAuth
 * `fetch`, which is where the agent is swapped for one that also trusts the extra CA. Only https requests change.
 */
function trustExtraCa(client: KeyManagementServiceClient, extraCa: string): HttpsAgent {
  const agent = new HttpsAgent({ keepAlive: true, maxSockets: 64, ca: caBundle(extraCa) });
  type Fetch = (url: string | URL, init?: Record<string, unknown>) => Promise<unknown>;
  const auth = client.auth as unknown as { fetch: Fetch };
  const fetch = auth.fetch.bind(auth);
  auth.fetch = (url, init) => fetch(url, String(url).startsWith('https:') ? { ...init, agent } : init);
  return agent;
}

/** A canonical, unambiguous serialisation of the context (length-safe JSON with fixed key order). */
function additionalData(context: KmsContext): Uint8Array {
  return Buffer.from(JSON.stringify(['opencmk', context.tenantId, context.kmsConfigId]), 'utf8');
}

function toBytes(value: Uint8Array | string | null | undefined): Uint8Array {
  if (!value) return new Uint8Array(0);
  return typeof value === 'string' ? Buffer.from(value, 'base64') : value;
}

function int64(value: Int64Like): number | undefined {
  const raw = typeof value === 'object' && value !== null ? value.value : value;
  if (raw === null || raw === undefined) return undefined;
  return Number(typeof raw === 'object' ? raw.toString() : raw);
}

const ACCOUNT_REASONS = new Set(['SERVICE_DISABLED', 'BILLING_DISABLED', 'CONSUMER_SUSPENDED', 'PROJECT_DELETED']);

const GRPC_STATUS_BY_NAME: Record<string, number> = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
};

/**
 * REST-fallback errors arrive as GaxiosError whose `code` is the HTTP status and whose message is the raw
 * google.rpc.Status JSON; gRPC-style errors carry the gRPC code. Both are mapped (kms-emulation.md §3.3, §3.6).
 */
export function classifyGcpError(error: unknown): KmsError {
  if (error instanceof KmsError) return error;
  const e = error as { code?: unknown; status?: unknown; message?: string; response?: { status?: number } };
  const message = describe(error);
  let httpStatus = typeof e?.response?.status === 'number' ? e.response.status : undefined;
  let grpcStatus: number | undefined;
  if (typeof e?.code === 'number') {
    if (e.code >= 100) httpStatus ??= e.code;
    else grpcStatus = e.code;
  }
  let statusName: string | undefined;
  let serviceMessage = message;
  let reasons: string[] = [];
  try {
    const parsed = JSON.parse(e?.message ?? '') as {
      error?: { code?: number; status?: string; message?: string; details?: { reason?: unknown }[] };
    };
    statusName = parsed.error?.status;
    httpStatus ??= parsed.error?.code;
    if (parsed.error?.message) serviceMessage = parsed.error.message;
    reasons = (parsed.error?.details ?? []).map((detail) => String(detail?.reason ?? ''));
  } catch {
    // Not a google.rpc.Status body: classify by status codes alone.
  }
  if (statusName && GRPC_STATUS_BY_NAME[statusName] !== undefined) grpcStatus ??= GRPC_STATUS_BY_NAME[statusName];
  if (isAbortError(error)) return new KmsError('Timeout', serviceMessage);
  if (grpcStatus === 16 || httpStatus === 401) return new KmsError('AuthFailed', serviceMessage);
  // google.rpc.ErrorInfo reasons for a project that cannot use Cloud KMS at all (https://cloud.google.com/apis/design/errors).
  if (reasons.some((reason) => ACCOUNT_REASONS.has(reason))) return new KmsError('AccountIssue', serviceMessage);
  if (grpcStatus === 7 || httpStatus === 403) return new KmsError('AccessDenied', serviceMessage);
  if (grpcStatus === 5 || httpStatus === 404) return new KmsError('KeyNotFound', serviceMessage);
  if (grpcStatus === 9) return new KmsError('KeyDisabled', serviceMessage);
  if (grpcStatus === 3 || httpStatus === 400) return new KmsError('InvalidCiphertext', serviceMessage);
  if (grpcStatus === 8 || httpStatus === 429) return new KmsError('Throttled', serviceMessage);
  if (
    grpcStatus === 4 ||
    grpcStatus === 14 ||
    grpcStatus === 13 ||
    (httpStatus !== undefined && httpStatus >= 500) ||
    isNetworkError(error)
  ) {
    return new KmsError('Unavailable', serviceMessage);
  }
  if (/ECONNREFUSED|ECONNRESET|socket hang up|getaddrinfo/.test(message))
    return new KmsError('Unavailable', serviceMessage);
  return new KmsError('Unknown', serviceMessage);
}
