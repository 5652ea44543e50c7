/**
 * Azure Key Vault (one vault per instance, HTTPS only: the SDK parses `https://host/keys/{name}/{version}` with no
 * path prefix) together with the Entra ID endpoints MSAL needs, on the same port. Implements the 401 challenge,
 * wrapkey/unwrapkey (RSA-OAEP, RSA-OAEP-256, A128/192/256KW), GET key, per-key access for app registrations,
 * key_ops, enable/disable and rotation.
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { bindControl, defineControl } from '../core/control.js';
import { EmulatorError } from '../core/errors.js';
import { FaultInjector, type FaultErrorKind } from '../core/faults.js';
import { RequestLog } from '../core/request-log.js';
import { EmulatorServer, type Exchange } from '../core/server.js';
import { decodeBase64, decodePathSegment } from '../core/util.js';
import { v } from '../core/validate.js';
import { EntraDirectory, KEY_VAULT_RESOURCE, type AzureAppCredentials } from './entra.js';

type KeyOperation = 'get' | 'wrapKey' | 'unwrapKey';
const KEY_OPS = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'] as const;
type JwkOperation = (typeof KEY_OPS)[number];
const RSA_ALGORITHMS = ['RSA-OAEP', 'RSA-OAEP-256'] as const;
const AES_KW_ALGORITHMS: Record<string, number> = { A128KW: 16, A192KW: 24, A256KW: 32 };

interface VaultKeyVersion {
  version: string;
  kty: 'RSA' | 'oct-HSM';
  privateKey?: KeyObject;
  publicKey?: KeyObject;
  secret?: Buffer;
  created: number;
}

interface VaultKey {
  name: string;
  versions: VaultKeyVersion[]; // oldest first; the last is current
  enabled: boolean;
  keyOps: JwkOperation[];
  access: Map<string, Set<KeyOperation>>; // clientId or objectId -> allowed data actions
  updated: number;
}

class VaultFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly innerCode?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const KEY_NAME = v.string({ min: 1, max: 127, pattern: /^[0-9a-zA-Z-]+$/ });
const PRINCIPAL = v.string({ min: 1, max: 128 });
const DATA_ACTIONS = v.array(v.literal('get', 'wrapKey', 'unwrapKey'));

export interface AzureVaultOptions {
  host: string;
  port?: number;
  tls: { key: string; cert: string };
  directory: EntraDirectory;
  tenantId: string;
  vaultName: string;
}

export interface AzureKeyInfo {
  name: string;
  /** Versionless key id (always the current version). */
  keyId: string;
  /** Key id of the current version. */
  kid: string;
  versions: string[];
  kty: 'RSA' | 'oct-HSM';
  enabled: boolean;
  keyOps: JwkOperation[];
  access: Record<string, KeyOperation[]>;
}

export class AzureVaultEmulator {
  readonly faults = new FaultInjector({
    account: 'is not emulated for Key Vault: Azure documents no data-plane error for a disabled subscription',
  });
  readonly log = new RequestLog();
  readonly directory: EntraDirectory;
  readonly tenantId: string;
  readonly vaultName: string;
  private readonly keys = new Map<string, VaultKey>();
  private challengeTenant: string | undefined;
  private server!: EmulatorServer;
  readonly control;

  private constructor(options: AzureVaultOptions) {
    this.directory = options.directory;
    this.tenantId = options.tenantId;
    this.vaultName = options.vaultName;
    if (!this.directory.hasTenant(options.tenantId)) this.directory.addTenant(options.tenantId);
    this.control = bindControl(this.controlDefinitions());
  }

  static async start(options: AzureVaultOptions): Promise<AzureVaultEmulator> {
    const emulator = new AzureVaultEmulator(options);
    emulator.server = await EmulatorServer.start({
      name: `azure:${options.vaultName}`,
      host: options.host,
      listeners: [{ protocol: 'https', port: options.port }],
      tls: options.tls,
      faults: emulator.faults,
      log: emulator.log,
      control: { methods: emulator.control.methods, state: () => emulator.state() },
      handle: (exchange) => emulator.handle(exchange),
    });
    return emulator;
  }

  /** The vault URL, which is also the Entra `authorityHost` (both are served on this port). */
  get url(): string {
    return this.server.url('https');
  }

  get vaultUrl(): string {
    return this.url;
  }

  get authorityHost(): string {
    return this.url;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private controlDefinitions() {
    return {
      addApp: defineControl(
        v.object({
          displayName: v.string({ min: 1, max: 120 }),
          tenantId: v.optional(v.string({ min: 1, max: 128 })),
          clientId: v.optional(v.string({ min: 1, max: 128 })),
          clientSecret: v.optional(v.string({ min: 8, max: 256 })),
        }),
        (input): AzureAppCredentials => this.directory.addApp({ ...input, tenantId: input.tenantId ?? this.tenantId }),
      ),
      addKey: defineControl(
        v.object({
          name: KEY_NAME,
          kty: v.optional(v.literal('RSA', 'oct-HSM')),
          size: v.optional(v.int({ min: 128, max: 4096 })),
          keyOps: v.optional(v.array(v.literal(...KEY_OPS))),
          access: v.optional(v.array(PRINCIPAL)),
          /** Fixed versions (oldest first; the last is current) so a restarted vault keeps its kids and key material. */
          versions: v.optional(
            v.array(
              v.object({
                version: v.string({ pattern: /^[0-9a-f]{32}$/ }),
                privateKeyPem: v.optional(v.string({ min: 100, max: 20_000 })),
                secret: v.optional(v.string({ pattern: /^[A-Za-z0-9+/]+={0,2}$/ })),
              }),
              { max: 100 },
            ),
          ),
        }),
        (input): AzureKeyInfo => {
          if (this.keys.has(input.name))
            throw new EmulatorError('ALREADY_EXISTS', `key ${input.name} exists in vault ${this.vaultName}`);
          const kty = input.kty ?? 'RSA';
          const size = input.size ?? (kty === 'RSA' ? 2048 : 256);
          if (!(kty === 'RSA' ? [2048, 3072, 4096] : [128, 192, 256]).includes(size)) {
            throw new EmulatorError(
              'INVALID_ARGUMENT',
              `size: ${size} does not fit key type ${kty} (RSA: 2048, 3072, 4096; oct-HSM: 128, 192, 256)`,
            );
          }
          const key: VaultKey = {
            name: input.name,
            versions: [],
            enabled: true,
            keyOps:
              input.keyOps ??
              (kty === 'RSA' ? ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'] : ['wrapKey', 'unwrapKey']),
            access: new Map(
              (input.access ?? []).map((principal) => [
                principal,
                new Set<KeyOperation>(['get', 'wrapKey', 'unwrapKey']),
              ]),
            ),
            updated: Date.now(),
          };
          if (input.versions?.length) {
            for (const fixed of input.versions) key.versions.push(importVersion(kty, size, fixed));
          } else {
            key.versions.push(newVersion(kty, size));
          }
          this.keys.set(input.name, key);
          return this.keyInfo(key);
        },
      ),
      grant: defineControl(
        v.object({ key: KEY_NAME, principal: PRINCIPAL, operations: v.optional(DATA_ACTIONS) }),
        (input) => {
          this.requireKey(input.key).access.set(
            input.principal,
            new Set(input.operations ?? ['get', 'wrapKey', 'unwrapKey']),
          );
        },
      ),
      revokeGrant: defineControl(v.object({ key: KEY_NAME, principal: PRINCIPAL }), (input) => {
        if (!this.requireKey(input.key).access.delete(input.principal)) {
          throw new EmulatorError('NOT_FOUND', `${input.principal} has no access to key ${input.key}`);
        }
      }),
      setKeyEnabled: defineControl(v.object({ key: KEY_NAME, enabled: v.boolean() }), (input): AzureKeyInfo => {
        const key = this.requireKey(input.key);
        key.enabled = input.enabled;
        key.updated = Date.now();
        return this.keyInfo(key);
      }),
      setKeyOps: defineControl(
        v.object({ key: KEY_NAME, keyOps: v.array(v.literal(...KEY_OPS)) }),
        (input): AzureKeyInfo => {
          const key = this.requireKey(input.key);
          key.keyOps = input.keyOps;
          return this.keyInfo(key);
        },
      ),
      rotateKey: defineControl(v.object({ key: KEY_NAME }), (input): AzureKeyInfo => {
        const key = this.requireKey(input.key);
        const current = key.versions[key.versions.length - 1]!;
        const size =
          current.kty === 'RSA' ? current.publicKey!.asymmetricKeyDetails!.modulusLength! : current.secret!.length * 8;
        key.versions.push(newVersion(current.kty, size));
        key.updated = Date.now();
        return this.keyInfo(key);
      }),
      deleteKey: defineControl(v.object({ key: KEY_NAME }), (input) => {
        this.keys.delete(this.requireKey(input.key).name);
      }),
      expireCredentials: defineControl(v.object({ clientId: PRINCIPAL }), (input) => ({
        revokedTokens: this.directory.revokeTokens(input.clientId),
      })),
      setSecretExpired: defineControl(v.object({ clientId: PRINCIPAL, expired: v.boolean() }), (input) => {
        this.directory.setSecretExpired(input.clientId, input.expired);
      }),
      setTokenLifetime: defineControl(v.object({ seconds: v.int({ min: 1, max: 86400 }) }), (input) => {
        this.directory.tokenLifetimeSeconds = input.seconds;
      }),
      setChallengeTenant: defineControl(v.object({ tenantId: v.optional(v.string({ min: 1, max: 128 })) }), (input) => {
        this.challengeTenant = input.tenantId;
      }),
      describeKey: defineControl(v.object({ key: KEY_NAME }), (input) => this.keyInfo(this.requireKey(input.key))),
    };
  }

  state() {
    return {
      vaultName: this.vaultName,
      vaultUrl: this.vaultUrl,
      authorityHost: this.authorityHost,
      tenantId: this.tenantId,
      apps: this.directory.listApps(),
      keys: [...this.keys.values()].map((key) => this.keyInfo(key)),
      tokenRequests: this.directory.tokenRequests,
      faults: this.faults.list(),
    };
  }

  private keyInfo(key: VaultKey): AzureKeyInfo {
    const current = key.versions[key.versions.length - 1]!;
    return {
      name: key.name,
      keyId: `${this.vaultUrl}/keys/${key.name}`,
      kid: `${this.vaultUrl}/keys/${key.name}/${current.version}`,
      versions: key.versions.map((version) => version.version),
      kty: current.kty,
      enabled: key.enabled,
      keyOps: key.keyOps,
      access: Object.fromEntries([...key.access].map(([principal, ops]) => [principal, [...ops]])),
    };
  }

  private requireKey(name: string): VaultKey {
    const key = this.keys.get(name);
    if (!key) throw new EmulatorError('NOT_FOUND', `no key ${name} in vault ${this.vaultName}`);
    return key;
  }

  // ---- wire ----------------------------------------------------------------------------------------------------

  private async handle(exchange: Exchange): Promise<void> {
    const path = exchange.url.pathname;
    const entra =
      /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|oauth2\/v2\.0\/token|discovery\/v2\.0\/keys)$/.exec(path);
    if (entra) return this.handleEntra(exchange, decodePathSegment(entra[1]!) ?? '', entra[2]!);
    try {
      const keyPath = /^\/keys\/([^/]+)(?:\/([^/]*))?(?:\/(wrapkey|unwrapkey))?\/?$/i.exec(path);
      if (!keyPath) throw new VaultFailure(404, 'NotFound', `The requested resource ${path} was not found.`);
      const [, name = '', version = '', action] = keyPath;
      const operation = action ? (action.toLowerCase() === 'wrapkey' ? 'wrapKey' : 'unwrapKey') : 'get';
      if ((operation === 'get') !== (exchange.method === 'GET')) {
        throw new VaultFailure(
          405,
          'MethodNotAllowed',
          `The requested method ${exchange.method} is not allowed on ${path}.`,
        );
      }
      const decodedName = decodePathSegment(name);
      const decodedVersion = decodePathSegment(version);
      if (decodedName === undefined || decodedVersion === undefined) {
        throw new VaultFailure(
          400,
          'BadParameter',
          'The key name or version in the URL is not validly percent-encoded.',
        );
      }
      await this.handleKey(exchange, decodedName, decodedVersion, operation);
    } catch (error) {
      if (!(error instanceof VaultFailure)) throw error;
      exchange.noteError(error.innerCode ?? error.code);
      exchange.json(
        error.status,
        {
          error: {
            code: error.code,
            message: error.message,
            ...(error.innerCode ? { innererror: { code: error.innerCode } } : {}),
          },
        },
        error.headers,
      );
    }
  }

  private challenge(extra = ''): Record<string, string> {
    const tenant = this.challengeTenant ?? this.tenantId;
    return {
      'www-authenticate': `Bearer authorization="${this.authorityHost}/${tenant}", resource="${KEY_VAULT_RESOURCE}"${extra}`,
    };
  }

  private async handleKey(exchange: Exchange, name: string, version: string, operation: KeyOperation): Promise<void> {
    exchange.describe({ operation, keys: [name] });
    if (!exchange.url.searchParams.get('api-version')) {
      throw new VaultFailure(400, 'BadParameter', 'The api-version query parameter is missing.');
    }
    // The SDK's first request of every client carries no token and no body: answer the challenge before reading it.
    const check = this.directory.checkToken(exchange.header('authorization'));
    if ('problem' in check) {
      if (check.problem === 'missing')
        throw new VaultFailure(
          401,
          'Unauthorized',
          'AKV10000: Request is missing a Bearer or PoP token.',
          undefined,
          this.challenge(),
        );
      if (check.problem === 'revoked') {
        // Continuous access evaluation: the client must fetch a fresh token carrying these claims.
        const claims = Buffer.from(
          JSON.stringify({ access_token: { nbf: { essential: true, value: String(Math.floor(Date.now() / 1000)) } } }),
        ).toString('base64');
        throw new VaultFailure(
          401,
          'Unauthorized',
          'AKV10013: Token was revoked.',
          undefined,
          this.challenge(`, error="insufficient_claims", claims="${claims}"`),
        );
      }
      throw new VaultFailure(
        401,
        'Unauthorized',
        `AKV10000: Request is missing a valid Bearer token (${check.problem}).`,
        undefined,
        this.challenge(', error="invalid_token"'),
      );
    }
    const { claims } = check;
    exchange.describe({ principal: claims.appid });
    if (claims.tid !== this.tenantId) {
      throw new VaultFailure(
        401,
        'Unauthorized',
        `AKV10032: Invalid issuer. Expected one of https://sts.windows.net/${this.tenantId}/, found https://sts.windows.net/${claims.tid}/.`,
        undefined,
        this.challenge(),
      );
    }
    if (claims.aud !== KEY_VAULT_RESOURCE && claims.aud !== `${KEY_VAULT_RESOURCE}/`) {
      throw new VaultFailure(
        401,
        'Unauthorized',
        `AKV10022: Invalid audience. Expected ${KEY_VAULT_RESOURCE}, found: ${claims.aud}.`,
        undefined,
        this.challenge(),
      );
    }
    const key = this.keys.get(name);
    const keyNames = key
      ? [name, this.keyInfo(key).keyId, ...key.versions.map((ver) => `${this.vaultUrl}/keys/${name}/${ver.version}`)]
      : [name];
    const fault = await exchange.applyFaults({ operation, keys: keyNames, principal: claims.appid, dataPlane: true });
    if (fault.error) throw vaultFaultError(fault.error, fault.retryAfterMs);
    if (!key) {
      throw new VaultFailure(
        404,
        'KeyNotFound',
        `A key with (name/id) ${name} was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
      );
    }
    const allowed = key.access.get(claims.appid) ?? key.access.get(claims.oid);
    if (!allowed?.has(operation)) {
      const action = operation === 'get' ? 'read' : operation === 'wrapKey' ? 'wrap/action' : 'unwrap/action';
      throw new VaultFailure(
        403,
        'Forbidden',
        `Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid=${claims.appid};oid=${claims.oid};iss=https://sts.windows.net/${claims.tid}/\r\nAction: 'Microsoft.KeyVault/vaults/keys/${action}'\r\nResource: '/vaults/${this.vaultName}/keys/${name}'\r\nAssignment: (not found)\r\nDecisionReason: 'DeniedWithNoValidRBAC'\r\nVault: ${this.vaultName};location=emulator`,
        'ForbiddenByRbac',
      );
    }
    const keyVersion = version
      ? key.versions.find((candidate) => candidate.version === version)
      : key.versions[key.versions.length - 1];
    if (!keyVersion) {
      throw new VaultFailure(
        404,
        'KeyNotFound',
        `A key with (name/id) ${name}/${version} was not found in this key vault.`,
      );
    }
    const kid = `${this.vaultUrl}/keys/${name}/${keyVersion.version}`;
    if (operation === 'get') return exchange.json(200, this.keyBundle(key, keyVersion, kid));
    // Key Vault refuses unwrap (and decrypt/sign) on a disabled key but still performs wrap (azure-sdk-for-python#45342).
    if (!key.enabled && operation === 'unwrapKey') {
      throw new VaultFailure(
        403,
        'Forbidden',
        `Operation ${operation} is not allowed on a disabled key.`,
        'KeyDisabled',
      );
    }
    if (!key.keyOps.includes(operation)) {
      throw new VaultFailure(
        403,
        'Forbidden',
        `Operation ${operation} is not permitted on this key.`,
        'KeyOperationForbidden',
      );
    }
    let body: { alg?: unknown; value?: unknown };
    try {
      body = JSON.parse(exchange.body.toString('utf8') || 'null') ?? {};
    } catch {
      throw new VaultFailure(400, 'BadParameter', 'The request body is not valid JSON.');
    }
    const value = typeof body.value === 'string' ? decodeBase64(body.value) : undefined;
    if (!value || value.length === 0)
      throw new VaultFailure(400, 'BadParameter', 'Property value is required and must be base64url.');
    const result = transform(keyVersion, String(body.alg ?? ''), operation, value);
    exchange.json(200, { kid, value: result.toString('base64url') });
  }

  private keyBundle(key: VaultKey, version: VaultKeyVersion, kid: string) {
    const jwk =
      version.kty === 'RSA'
        ? {
            kid,
            kty: 'RSA',
            key_ops: key.keyOps,
            ...pick(version.publicKey!.export({ format: 'jwk' }) as Record<string, string>, ['n', 'e']),
          }
        : { kid, kty: 'oct-HSM', key_ops: key.keyOps };
    const seconds = (ms: number) => Math.floor(ms / 1000);
    return {
      key: jwk,
      attributes: {
        enabled: key.enabled,
        created: seconds(version.created),
        updated: seconds(key.updated),
        recoveryLevel: 'Recoverable+Purgeable',
        recoverableDays: 90,
        exportable: false,
      },
      tags: {},
    };
  }

  private handleEntra(exchange: Exchange, tenantId: string, endpoint: string): Promise<void> | void {
    const operation = endpoint.startsWith('oauth2')
      ? 'token'
      : endpoint.startsWith('discovery')
        ? 'jwks'
        : 'openid-configuration';
    exchange.describe({ operation });
    if (!this.directory.hasTenant(tenantId)) {
      exchange.noteError('invalid_tenant');
      return exchange.json(400, {
        error: 'invalid_tenant',
        error_description: `AADSTS90002: Tenant '${tenantId}' not found.`,
        error_codes: [90002],
      });
    }
    if (operation === 'openid-configuration')
      return exchange.json(200, this.directory.openIdConfiguration(this.authorityHost, tenantId));
    if (operation === 'jwks') return exchange.json(200, { keys: [] });
    if (exchange.method !== 'POST')
      return exchange.json(405, {
        error: 'invalid_request',
        error_description: 'AADSTS900561: The endpoint only accepts POST requests.',
      });
    return (async () => {
      const form = new URLSearchParams(exchange.body.toString('utf8'));
      const clientId = form.get('client_id') ?? undefined;
      const fault = await exchange.applyFaults({ operation, keys: [], principal: clientId, dataPlane: false });
      if (fault.error) {
        const status =
          fault.error === 'throttle' ? 429 : fault.error === 'timeout' ? 504 : fault.error === 'internal' ? 500 : 503;
        exchange.noteError('temporarily_unavailable');
        return exchange.json(
          status,
          {
            error: 'temporarily_unavailable',
            error_description: 'AADSTS50196: The server is temporarily unavailable.',
          },
          fault.retryAfterMs !== undefined ? { 'retry-after': Math.ceil(fault.retryAfterMs / 1000) } : {},
        );
      }
      const [status, body] = this.directory.clientCredentials(tenantId, form);
      if (status !== 200) exchange.noteError(String(body.error));
      exchange.json(status, body, { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' });
    })();
  }
}

function pick(source: Record<string, string>, fields: string[]): Record<string, string> {
  return Object.fromEntries(fields.filter((field) => field in source).map((field) => [field, source[field]!]));
}

function newVersion(kty: 'RSA' | 'oct-HSM', size: number): VaultKeyVersion {
  const version = randomBytes(16).toString('hex');
  if (kty === 'RSA') {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: size });
    return { version, kty, privateKey, publicKey, created: Date.now() };
  }
  return { version, kty, secret: randomBytes(size / 8), created: Date.now() };
}

function importVersion(
  kty: 'RSA' | 'oct-HSM',
  size: number,
  fixed: { version: string; privateKeyPem?: string; secret?: string },
): VaultKeyVersion {
  if (kty === 'RSA') {
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(fixed.privateKeyPem ?? '');
    } catch {
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        `versions: version ${fixed.version} needs privateKeyPem, a PEM RSA private key`,
      );
    }
    if (privateKey.asymmetricKeyType !== 'rsa' || privateKey.asymmetricKeyDetails?.modulusLength !== size) {
      throw new EmulatorError('INVALID_ARGUMENT', `versions: version ${fixed.version} must be an RSA-${size} key`);
    }
    return { version: fixed.version, kty, privateKey, publicKey: createPublicKey(privateKey), created: Date.now() };
  }
  const secret = Buffer.from(fixed.secret ?? '', 'base64');
  if (secret.length * 8 !== size)
    throw new EmulatorError(
      'INVALID_ARGUMENT',
      `versions: version ${fixed.version} needs secret, ${size / 8} bytes base64`,
    );
  return { version: fixed.version, kty, secret, created: Date.now() };
}

function transform(version: VaultKeyVersion, alg: string, operation: 'wrapKey' | 'unwrapKey', value: Buffer): Buffer {
  const badAlgorithm = () =>
    new VaultFailure(400, 'BadParameter', `Invalid algorithm '${alg}' for key type ${version.kty}.`);
  try {
    if (version.kty === 'RSA') {
      if (!(RSA_ALGORITHMS as readonly string[]).includes(alg)) throw badAlgorithm();
      // RFC 8017 §7.1 RSAES-OAEP; JWA (RFC 7518 §4.3): RSA-OAEP uses SHA-1 with MGF1-SHA-1, RSA-OAEP-256 SHA-256 with MGF1-SHA-256.
      const options = {
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: alg === 'RSA-OAEP-256' ? 'sha256' : 'sha1',
      };
      return operation === 'wrapKey'
        ? publicEncrypt({ key: version.publicKey!, ...options }, value)
        : privateDecrypt({ key: version.privateKey!, ...options }, value);
    }
    const keyLength = AES_KW_ALGORITHMS[alg];
    if (keyLength === undefined || keyLength !== version.secret!.length) throw badAlgorithm();
    // RFC 3394 AES key wrap (JWA A128KW/A192KW/A256KW, RFC 7518 §4.4) with its default IV.
    const cipherName = `id-aes${keyLength * 8}-wrap`;
    const iv = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');
    if (operation === 'wrapKey') {
      const cipher = createCipheriv(cipherName, version.secret!, iv);
      return Buffer.concat([cipher.update(value), cipher.final()]);
    }
    const decipher = createDecipheriv(cipherName, version.secret!, iv);
    return Buffer.concat([decipher.update(value), decipher.final()]);
  } catch (error) {
    if (error instanceof VaultFailure) throw error;
    throw new VaultFailure(
      400,
      'BadParameter',
      operation === 'unwrapKey'
        ? 'The parameter is incorrect: the ciphertext could not be unwrapped with this key.'
        : 'The parameter is incorrect: value cannot be wrapped with this key and algorithm.',
    );
  }
}

function vaultFaultError(kind: FaultErrorKind, retryAfterMs: number | undefined): VaultFailure {
  const wait = retryAfterMs ?? 1000;
  // Key Vault sends Retry-After in seconds; the ms headers (read first by the Azure SDK) allow sub-second test waits.
  const headers: Record<string, string> =
    retryAfterMs === undefined
      ? { 'retry-after': String(Math.ceil(wait / 1000)) }
      : {
          'retry-after': String(Math.ceil(wait / 1000)),
          'retry-after-ms': String(wait),
          'x-ms-retry-after-ms': String(wait),
        };
  switch (kind) {
    case 'throttle':
      return new VaultFailure(
        429,
        'Throttled',
        'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached',
        undefined,
        headers,
      );
    case 'unavailable':
      return new VaultFailure(
        503,
        'ServiceUnavailable',
        'The service is temporarily unavailable. Please retry later.',
        undefined,
        retryAfterMs === undefined ? {} : headers,
      );
    case 'internal':
      return new VaultFailure(500, 'InternalServerError', 'An unexpected error occurred.');
    case 'timeout':
      return new VaultFailure(
        504,
        'GatewayTimeout',
        'The gateway did not receive a response within the specified time.',
      );
    case 'account':
      throw new Error('unreachable: the Azure fault injector refuses account faults');
  }
}
