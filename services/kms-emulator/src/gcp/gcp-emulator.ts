/**
 * Google Cloud KMS REST v1 (`:encrypt` / `:decrypt` with CRC32C fields, `GET cryptoKey`), the OAuth token endpoint,
 * served on one plain-HTTP and one HTTPS port. Errors are google.rpc.Status JSON with the real messages, e.g. the
 * 403 that hides whether a key exists.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { bindControl, defineControl } from '../core/control.js';
import { crc32c } from '../core/crc32c.js';
import { EmulatorError } from '../core/errors.js';
import { FaultInjector, type FaultErrorKind } from '../core/faults.js';
import { RequestLog } from '../core/request-log.js';
import { EmulatorServer, type Exchange } from '../core/server.js';
import { decodeBase64, decodePathSegment } from '../core/util.js';
import { v } from '../core/validate.js';
import { GcpIdentity, type ServiceAccountKeyJson } from './gcp-identity.js';

export type GcpVersionState = 'ENABLED' | 'DISABLED' | 'DESTROYED' | 'DESTROY_SCHEDULED';
export type GcpRole = 'encrypterDecrypter' | 'encrypter' | 'decrypter';

const VERSION_STATE_NUMBERS: Record<GcpVersionState, number> = {
  ENABLED: 1,
  DISABLED: 2,
  DESTROYED: 3,
  DESTROY_SCHEDULED: 4,
};
const KMS_AUDIENCE = 'https://cloudkms.googleapis.com/';
const KMS_SCOPES = ['https://www.googleapis.com/auth/cloud-platform', 'https://www.googleapis.com/auth/cloudkms'];
const CIPHERTEXT_VERSION = 0x01;
const MAX_PLAINTEXT_BYTES = 64 * 1024;
const SEGMENT = /^[a-zA-Z0-9_-]{1,63}$/;

interface GcpKeyVersion {
  id: number;
  state: GcpVersionState;
  material: Buffer;
  createdAt: number;
}

interface GcpKey {
  name: string;
  versions: Map<number, GcpKeyVersion>;
  primary: number;
  nextVersion: number;
  members: Map<string, GcpRole>;
  createdAt: number;
}

export interface GcpKeyInfo {
  name: string;
  primaryVersion: string;
  versions: { name: string; state: GcpVersionState }[];
  members: Record<string, GcpRole>;
}

class RpcFailure extends Error {
  constructor(
    readonly httpStatus: number,
    readonly status: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly details: unknown[] = [],
  ) {
    super(message);
  }
}

const KEY_NAME = v.string({ pattern: /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/ });
const MEMBER = v.string({ min: 3, max: 320, pattern: /^(serviceAccount:)?[^@\s]+@[^@\s]+$/ });

export interface GcpEmulatorOptions {
  host: string;
  httpPort?: number;
  httpsPort?: number;
  tls: { key: string; cert: string };
  identity: GcpIdentity;
}

export class GcpEmulator {
  readonly faults = new FaultInjector();
  readonly log = new RequestLog();
  readonly identity: GcpIdentity;
  private readonly keys = new Map<string, GcpKey>();
  private server!: EmulatorServer;
  readonly control;

  private constructor(options: GcpEmulatorOptions) {
    this.identity = options.identity;
    this.control = bindControl(this.controlDefinitions());
  }

  static async start(options: GcpEmulatorOptions): Promise<GcpEmulator> {
    const emulator = new GcpEmulator(options);
    emulator.server = await EmulatorServer.start({
      name: 'gcp',
      host: options.host,
      listeners: [
        { protocol: 'http', port: options.httpPort },
        { protocol: 'https', port: options.httpsPort },
      ],
      tls: options.tls,
      faults: emulator.faults,
      log: emulator.log,
      control: { methods: emulator.control.methods, state: () => emulator.state() },
      handle: (exchange) => emulator.handle(exchange),
    });
    options.identity.tokenUri = `${emulator.httpUrl}/token`;
    return emulator;
  }

  get httpUrl(): string {
    return this.server.url('http');
  }

  get httpsUrl(): string {
    return this.server.url('https');
  }

  /** The OAuth token endpoint (RFC 7523 jwt-bearer) for callers using google-auth-library directly. */
  get tokenUrl(): string {
    return `${this.httpUrl}/token`;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private controlDefinitions() {
    const state = v.literal('ENABLED', 'DISABLED', 'DESTROYED', 'DESTROY_SCHEDULED');
    return {
      addServiceAccount: defineControl(
        v.object({
          projectId: v.string({ pattern: /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/ }),
          accountId: v.string({ pattern: /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/ }),
          privateKeyPem: v.optional(v.string({ min: 100, max: 10_000 })),
          privateKeyId: v.optional(v.string({ pattern: /^[0-9a-f]{40}$/ })),
          clientId: v.optional(v.string({ pattern: /^\d{1,30}$/ })),
        }),
        (input): ServiceAccountKeyJson => this.identity.addServiceAccount(input),
      ),
      addKey: defineControl(
        v.object({
          project: v.string({ pattern: /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/ }),
          location: v.optional(v.string({ pattern: SEGMENT })),
          keyRing: v.string({ pattern: SEGMENT }),
          key: v.string({ pattern: SEGMENT }),
          members: v.optional(v.array(MEMBER)),
          /** Fixed material per version (base64, 32 bytes each; version 1 first); the last one is primary. */
          keyMaterial: v.optional(v.array(v.string({ pattern: /^[A-Za-z0-9+/]{43}=$/ }), { max: 100 })),
        }),
        (input): GcpKeyInfo => {
          const name = `projects/${input.project}/locations/${input.location ?? 'global'}/keyRings/${input.keyRing}/cryptoKeys/${input.key}`;
          if (this.keys.has(name)) throw new EmulatorError('ALREADY_EXISTS', `key ${name} exists`);
          const key: GcpKey = {
            name,
            versions: new Map(),
            primary: 1,
            nextVersion: 1,
            members: new Map(),
            createdAt: Date.now(),
          };
          for (const material of input.keyMaterial?.length ? input.keyMaterial : [undefined]) {
            key.primary = this.addVersion(key, material === undefined ? undefined : Buffer.from(material, 'base64')).id;
          }
          for (const member of input.members ?? []) key.members.set(stripMember(member), 'encrypterDecrypter');
          this.keys.set(name, key);
          return this.keyInfo(key);
        },
      ),
      grant: defineControl(
        v.object({
          key: KEY_NAME,
          member: MEMBER,
          role: v.optional(v.literal('encrypterDecrypter', 'encrypter', 'decrypter')),
        }),
        (input) => {
          this.requireKey(input.key).members.set(stripMember(input.member), input.role ?? 'encrypterDecrypter');
        },
      ),
      revokeGrant: defineControl(v.object({ key: KEY_NAME, member: MEMBER }), (input) => {
        if (!this.requireKey(input.key).members.delete(stripMember(input.member))) {
          throw new EmulatorError('NOT_FOUND', `${input.member} has no binding on ${input.key}`);
        }
      }),
      setVersionState: defineControl(
        v.object({ key: KEY_NAME, version: v.optional(v.int({ min: 1 })), state }),
        (input): GcpKeyInfo => {
          const key = this.requireKey(input.key);
          const version = key.versions.get(input.version ?? key.primary);
          if (!version) throw new EmulatorError('NOT_FOUND', `no version ${input.version} of ${key.name}`);
          if (version.state === 'DESTROYED' && input.state !== 'DESTROYED') {
            throw new EmulatorError('FAILED_PRECONDITION', `${key.name}/cryptoKeyVersions/${version.id} is destroyed`);
          }
          version.state = input.state;
          if (input.state === 'DESTROYED') version.material = Buffer.alloc(0);
          return this.keyInfo(key);
        },
      ),
      rotateKey: defineControl(v.object({ key: KEY_NAME }), (input): GcpKeyInfo => {
        const key = this.requireKey(input.key);
        key.primary = this.addVersion(key).id;
        return this.keyInfo(key);
      }),
      setPrimaryVersion: defineControl(v.object({ key: KEY_NAME, version: v.int({ min: 1 }) }), (input): GcpKeyInfo => {
        const key = this.requireKey(input.key);
        if (!key.versions.has(input.version))
          throw new EmulatorError('NOT_FOUND', `no version ${input.version} of ${key.name}`);
        key.primary = input.version;
        return this.keyInfo(key);
      }),
      expireCredentials: defineControl(v.object({ email: v.string({ min: 3, max: 320 }) }), (input) => {
        this.identity.expireCredentials(input.email);
      }),
      setServiceAccountDisabled: defineControl(
        v.object({ email: v.string({ min: 3, max: 320 }), disabled: v.boolean() }),
        (input) => {
          this.identity.setDisabled(input.email, input.disabled);
        },
      ),
      setTokenLifetime: defineControl(v.object({ seconds: v.int({ min: 1, max: 86400 }) }), (input) => {
        this.identity.tokenLifetimeSeconds = input.seconds;
      }),
      describeKey: defineControl(v.object({ key: KEY_NAME }), (input) => this.keyInfo(this.requireKey(input.key))),
    };
  }

  state() {
    return {
      httpUrl: this.httpUrl,
      httpsUrl: this.httpsUrl,
      tokenUrl: this.tokenUrl,
      serviceAccounts: this.identity.list(),
      keys: [...this.keys.values()].map((key) => this.keyInfo(key)),
      faults: this.faults.list(),
    };
  }

  private addVersion(key: GcpKey, material: Buffer = randomBytes(32)): GcpKeyVersion {
    const version: GcpKeyVersion = { id: key.nextVersion++, state: 'ENABLED', material, createdAt: Date.now() };
    key.versions.set(version.id, version);
    return version;
  }

  private keyInfo(key: GcpKey): GcpKeyInfo {
    return {
      name: key.name,
      primaryVersion: `${key.name}/cryptoKeyVersions/${key.primary}`,
      versions: [...key.versions.values()].map((version) => ({
        name: `${key.name}/cryptoKeyVersions/${version.id}`,
        state: version.state,
      })),
      members: Object.fromEntries(key.members),
    };
  }

  private requireKey(name: string): GcpKey {
    const key = this.keys.get(name);
    if (!key) throw new EmulatorError('NOT_FOUND', `no GCP key ${name}`);
    return key;
  }

  // ---- wire ----------------------------------------------------------------------------------------------------

  private async handle(exchange: Exchange): Promise<void> {
    const path = exchange.url.pathname;
    if (path === '/token' && exchange.method === 'POST') return this.handleToken(exchange);
    const enumsAsNumbers = /enum-encoding=int/.test(exchange.url.searchParams.get('$alt') ?? '');
    try {
      const action = /^\/v1\/(.+?):(encrypt|decrypt)$/.exec(path);
      if (action && exchange.method === 'POST') {
        return await this.handleCrypto(
          exchange,
          pathName(action[1]!),
          action[2] as 'encrypt' | 'decrypt',
          enumsAsNumbers,
        );
      }
      const get = /^\/v1\/(projects\/[^:]+)$/.exec(path);
      if (get && exchange.method === 'GET') return await this.handleGetKey(exchange, pathName(get[1]!), enumsAsNumbers);
      throw new RpcFailure(404, 'NOT_FOUND', `The requested URL ${path} was not found on this server.`);
    } catch (error) {
      if (!(error instanceof RpcFailure)) throw error;
      exchange.noteError(error.status);
      exchange.json(
        error.httpStatus,
        {
          error: {
            code: error.httpStatus,
            message: error.message,
            status: error.status,
            ...(error.details.length ? { details: error.details } : {}),
          },
        },
        error.headers,
      );
    }
  }

  private authenticate(exchange: Exchange): string {
    const result = this.identity.authenticate(exchange.header('authorization'), KMS_AUDIENCE, KMS_SCOPES);
    if ('error' in result) {
      if (result.error === 'UNAUTHENTICATED') {
        throw new RpcFailure(401, 'UNAUTHENTICATED', result.message, {
          'www-authenticate': 'Bearer realm="https://accounts.google.com/"',
        });
      }
      throw new RpcFailure(403, 'PERMISSION_DENIED', result.message);
    }
    return result.email;
  }

  private async faultsFor(exchange: Exchange, operation: string, keys: string[], principal: string): Promise<boolean> {
    const fault = await exchange.applyFaults({ operation, keys, principal, dataPlane: true });
    if (fault.error) throw gcpFaultError(fault.error, fault.retryAfterMs);
    return fault.corruptChecksum;
  }

  private async handleCrypto(
    exchange: Exchange,
    name: string,
    operation: 'encrypt' | 'decrypt',
    enumsAsNumbers: boolean,
  ): Promise<void> {
    exchange.describe({ operation, keys: [name] });
    const principal = this.authenticate(exchange);
    const versionMatch = /^(.+)\/cryptoKeyVersions\/([^/]+)$/.exec(name);
    const keyName = versionMatch ? versionMatch[1]! : name;
    const corruptChecksum = await this.faultsFor(exchange, operation, [...new Set([name, keyName])], principal);
    let body: Record<string, unknown>;
    try {
      const parsed = JSON.parse(exchange.body.toString('utf8') || '{}');
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      body = parsed;
    } catch {
      throw new RpcFailure(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
    }
    const permission =
      operation === 'encrypt' ? 'cloudkms.cryptoKeyVersions.useToEncrypt' : 'cloudkms.cryptoKeyVersions.useToDecrypt';
    const key = this.keys.get(keyName);
    const role = key?.members.get(principal);
    const permitted = role === 'encrypterDecrypter' || role === (operation === 'encrypt' ? 'encrypter' : 'decrypter');
    if (!key || !permitted) {
      // Cloud KMS answers the same 403 for a missing key and a missing permission, so existence is not disclosed.
      throw new RpcFailure(
        403,
        'PERMISSION_DENIED',
        `Permission '${permission}' denied on resource '${name}' (or it may not exist).`,
      );
    }
    const aad = optionalBytes(body.additionalAuthenticatedData, 'additional_authenticated_data');
    checkCrc(aad, body.additionalAuthenticatedDataCrc32c, 'additional_authenticated_data');
    const protectionLevel = enumsAsNumbers ? 1 : 'SOFTWARE';
    if (operation === 'encrypt') {
      const plaintext = requiredBytes(body.plaintext, 'plaintext');
      if (plaintext.length > MAX_PLAINTEXT_BYTES)
        throw new RpcFailure(400, 'INVALID_ARGUMENT', `The plaintext must be at most ${MAX_PLAINTEXT_BYTES} bytes.`);
      checkCrc(plaintext, body.plaintextCrc32c, 'plaintext');
      const versionId = versionMatch ? Number(versionMatch[2]) : key.primary;
      const version = key.versions.get(versionId);
      if (!version) throw new RpcFailure(404, 'NOT_FOUND', `${name} not found.`);
      requireEnabled(key, version);
      const ciphertext = encryptBlob(key.name, version, plaintext, aad ?? Buffer.alloc(0));
      const crc = crc32c(ciphertext);
      return exchange.json(200, {
        name: `${key.name}/cryptoKeyVersions/${version.id}`,
        ciphertext: ciphertext.toString('base64'),
        // A corrupt-checksum fault lets tests prove the caller checks integrity, as the Cloud KMS docs require.
        ciphertextCrc32c: String(corruptChecksum ? (crc + 1) >>> 0 : crc),
        verifiedPlaintextCrc32c: body.plaintextCrc32c !== undefined,
        verifiedAdditionalAuthenticatedDataCrc32c: body.additionalAuthenticatedDataCrc32c !== undefined,
        protectionLevel,
      });
    }
    if (versionMatch)
      throw new RpcFailure(
        400,
        'INVALID_ARGUMENT',
        `Decrypt must name a CryptoKey, not a CryptoKeyVersion: '${name}'.`,
      );
    const ciphertext = requiredBytes(body.ciphertext, 'ciphertext');
    checkCrc(ciphertext, body.ciphertextCrc32c, 'ciphertext');
    const decryptionFailed = new RpcFailure(
      400,
      'INVALID_ARGUMENT',
      "Decryption failed: verify that 'name' refers to the correct CryptoKey.",
    );
    const parsed = parseCiphertext(ciphertext);
    const version = parsed ? key.versions.get(parsed.version) : undefined;
    if (!parsed || !version) throw decryptionFailed;
    requireEnabled(key, version);
    let plaintext: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', version.material, parsed.iv);
      decipher.setAAD(ciphertextAad(key.name, version.id, aad ?? Buffer.alloc(0)));
      decipher.setAuthTag(parsed.tag);
      plaintext = Buffer.concat([decipher.update(parsed.body), decipher.final()]);
    } catch {
      throw decryptionFailed;
    }
    const crc = crc32c(plaintext);
    exchange.json(200, {
      plaintext: plaintext.toString('base64'),
      plaintextCrc32c: String(corruptChecksum ? (crc + 1) >>> 0 : crc),
      usedPrimary: version.id === key.primary,
      protectionLevel,
    });
  }

  private async handleGetKey(exchange: Exchange, name: string, enumsAsNumbers: boolean): Promise<void> {
    exchange.describe({ operation: 'getCryptoKey', keys: [name] });
    const principal = this.authenticate(exchange);
    await this.faultsFor(exchange, 'getCryptoKey', [name], principal);
    const key = this.keys.get(name);
    if (!key || !key.members.has(principal)) {
      throw new RpcFailure(
        403,
        'PERMISSION_DENIED',
        `Permission 'cloudkms.cryptoKeys.get' denied on resource '${name}' (or it may not exist).`,
      );
    }
    const primary = key.versions.get(key.primary)!;
    const enumValue = (state: GcpVersionState) => (enumsAsNumbers ? VERSION_STATE_NUMBERS[state] : state);
    exchange.json(200, {
      name: key.name,
      primary: {
        name: `${key.name}/cryptoKeyVersions/${primary.id}`,
        state: enumValue(primary.state),
        protectionLevel: enumsAsNumbers ? 1 : 'SOFTWARE',
        algorithm: enumsAsNumbers ? 1 : 'GOOGLE_SYMMETRIC_ENCRYPTION',
        createTime: new Date(primary.createdAt).toISOString(),
      },
      purpose: enumsAsNumbers ? 1 : 'ENCRYPT_DECRYPT',
      createTime: new Date(key.createdAt).toISOString(),
    });
  }

  private handleToken(exchange: Exchange): void {
    exchange.describe({ operation: 'token' });
    const form = new URLSearchParams(exchange.body.toString('utf8'));
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer' || !form.get('assertion')) {
      exchange.noteError('unsupported_grant_type');
      return exchange.json(400, {
        error: 'unsupported_grant_type',
        error_description: 'Invalid grant_type: expected urn:ietf:params:oauth:grant-type:jwt-bearer',
      });
    }
    const result = this.identity.exchangeJwtBearer(form.get('assertion')!, this.tokenUrl);
    if ('error' in result) {
      exchange.noteError(result.error);
      return exchange.json(400, result);
    }
    exchange.json(200, result);
  }
}

function pathName(text: string): string {
  const decoded = decodePathSegment(text);
  if (decoded === undefined)
    throw new RpcFailure(400, 'INVALID_ARGUMENT', 'The resource name in the URL is not validly percent-encoded.');
  return decoded;
}

function stripMember(member: string): string {
  return member.replace(/^serviceAccount:/, '');
}

function requireEnabled(key: GcpKey, version: GcpKeyVersion): void {
  if (version.state !== 'ENABLED') {
    throw new RpcFailure(
      400,
      'FAILED_PRECONDITION',
      `${key.name}/cryptoKeyVersions/${version.id} is not enabled, current state is: ${version.state}.`,
    );
  }
}

function requiredBytes(value: unknown, field: string): Buffer {
  const bytes = optionalBytes(value, field);
  if (!bytes || bytes.length === 0) throw new RpcFailure(400, 'INVALID_ARGUMENT', `${field} is required.`);
  return bytes;
}

function optionalBytes(value: unknown, field: string): Buffer | undefined {
  if (value === undefined || value === null) return undefined;
  const bytes = decodeBase64(value);
  if (!bytes)
    throw new RpcFailure(400, 'INVALID_ARGUMENT', `Invalid value at '${field}' (TYPE_BYTES), Base64 decoding failed.`);
  return bytes;
}

/** Cloud KMS verifies the request CRC32C fields (int64 sent as decimal strings) before using the data. */
function checkCrc(data: Buffer | undefined, declared: unknown, field: string): void {
  if (declared === undefined || declared === null) return;
  const value =
    typeof declared === 'object' && declared !== null && 'value' in declared
      ? (declared as { value: unknown }).value
      : declared;
  const expected = Number(value);
  if (!Number.isInteger(expected) || expected < 0)
    throw new RpcFailure(400, 'INVALID_ARGUMENT', `Invalid value at '${field}_crc32c' (TYPE_INT64).`);
  if (crc32c(data ?? Buffer.alloc(0)) !== expected) {
    throw new RpcFailure(
      400,
      'INVALID_ARGUMENT',
      `The checksum in field ${field}_crc32c did not match the data in field ${field}.`,
    );
  }
}

function gcpFaultError(kind: FaultErrorKind, retryAfterMs: number | undefined): RpcFailure {
  const headers: Record<string, string> =
    retryAfterMs === undefined ? {} : { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) };
  const details =
    retryAfterMs === undefined
      ? []
      : [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${(retryAfterMs / 1000).toFixed(3)}s` }];
  switch (kind) {
    case 'throttle':
      return new RpcFailure(
        429,
        'RESOURCE_EXHAUSTED',
        "Quota exceeded for quota metric 'Cryptographic requests' and limit 'Cryptographic requests per minute' of service 'cloudkms.googleapis.com'.",
        headers,
        details,
      );
    case 'unavailable':
      return new RpcFailure(503, 'UNAVAILABLE', 'The service is currently unavailable.', headers, details);
    case 'internal':
      return new RpcFailure(500, 'INTERNAL', 'Internal error encountered.', headers, details);
    case 'timeout':
      return new RpcFailure(504, 'DEADLINE_EXCEEDED', 'Deadline exceeded.', headers, details);
    case 'account':
      // What Google answers when the project has the API disabled (or billing off): 403 with an ErrorInfo reason.
      return new RpcFailure(
        403,
        'PERMISSION_DENIED',
        'Cloud Key Management Service (KMS) API has not been used in this project before or it is disabled. Enable it by visiting the API Library, then retry.',
        headers,
        [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'SERVICE_DISABLED',
            domain: 'googleapis.com',
            metadata: { service: 'cloudkms.googleapis.com' },
          },
        ],
      );
  }
}

/** Emulator blob: `0x01 | u32 version id | iv12 | ct | tag16`; AAD binds the key name, version and caller's AAD. */
function encryptBlob(keyName: string, version: GcpKeyVersion, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', version.material, iv);
  cipher.setAAD(ciphertextAad(keyName, version.id, aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const header = Buffer.alloc(5);
  header[0] = CIPHERTEXT_VERSION;
  header.writeUInt32BE(version.id, 1);
  return Buffer.concat([header, iv, body, cipher.getAuthTag()]);
}

function ciphertextAad(keyName: string, versionId: number, aad: Buffer): Buffer {
  return Buffer.from(
    JSON.stringify(['opencmk-kms-emulator/gcp/1', keyName, versionId, aad.toString('base64')]),
    'utf8',
  );
}

function parseCiphertext(blob: Buffer): { version: number; iv: Buffer; body: Buffer; tag: Buffer } | undefined {
  if (blob.length < 5 + 12 + 16 || blob[0] !== CIPHERTEXT_VERSION) return undefined;
  return {
    version: blob.readUInt32BE(1),
    iv: blob.subarray(5, 17),
    body: blob.subarray(17, blob.length - 16),
    tag: blob.subarray(blob.length - 16),
  };
}
