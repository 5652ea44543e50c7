/**
 * AWS KMS (JSON 1.1, `X-Amz-Target: TrentService.<Op>`) and STS (awsQuery) on one plain-HTTP port, told apart by the
 * target header. Requests are SigV4-verified against registered access keys; keys carry a policy (allowed principals),
 * a state and versioned key material so rotation keeps old ciphertexts decryptable.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { defineControl, bindControl } from '../core/control.js';
import { EmulatorError } from '../core/errors.js';
import { FaultInjector, type FaultErrorKind } from '../core/faults.js';
import { RequestLog } from '../core/request-log.js';
import { EmulatorServer, type Exchange } from '../core/server.js';
import { decodeBase64, randomUpperAlnum, randomUuid, safeEqual, xmlEscape } from '../core/util.js';
import { v } from '../core/validate.js';
import { parseAuthorization, verifySigV4 } from './sigv4.js';

export type AwsKeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

interface AwsCredential {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  principalArn: string;
  accountId: string;
  /** For sessions: the role the session belongs to (key policies may name the role). */
  roleArn?: string;
  expiresAt?: number;
  expired: boolean;
}

interface AwsRole {
  arn: string;
  accountId: string;
  roleName: string;
  trustedPrincipals: string[];
  externalId?: string;
  maxSessionDurationSeconds: number;
}

interface AwsKey {
  keyId: string;
  arn: string;
  accountId: string;
  region: string;
  aliases: string[];
  description: string;
  state: AwsKeyState;
  /** Key material versions, oldest first; new ciphertexts use the last one. */
  materials: Buffer[];
  allowedPrincipals: Set<string>;
  createdAt: number;
}

interface KmsErrorShape {
  status: number;
  type: string;
  message: string;
}

class KmsFailure extends Error {
  constructor(readonly shape: KmsErrorShape) {
    super(shape.message);
  }
}

const kmsError = (type: string, message: string, status = 400) => new KmsFailure({ status, type, message });

const ACCOUNT = v.string({ pattern: /^\d{12}$/ });
const KEY_REF = v.string({ min: 1, max: 2048 });
const MATERIAL = v.string({ pattern: /^[A-Za-z0-9+/]{43}=$/ }); // 32 bytes, base64
const ARN_PARTITION = 'aws';
const CIPHERTEXT_VERSION = 0x01;
const OPERATIONS = ['Encrypt', 'Decrypt', 'GenerateDataKey', 'ReEncrypt', 'DescribeKey'] as const;
type KmsOperation = (typeof OPERATIONS)[number];

export interface AwsEmulatorOptions {
  host: string;
  port?: number;
  region?: string;
}

export interface AwsUserCredentials {
  accountId: string;
  arn: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface AwsKeyInfo {
  keyId: string;
  arn: string;
  accountId: string;
  region: string;
  aliases: string[];
  aliasArns: string[];
  state: AwsKeyState;
  versions: number;
  allowedPrincipals: string[];
}

export class AwsEmulator {
  readonly faults = new FaultInjector();
  readonly log = new RequestLog();
  readonly defaultRegion: string;
  private readonly credentials = new Map<string, AwsCredential>();
  private readonly roles = new Map<string, AwsRole>();
  private readonly keys = new Map<string, AwsKey>(); // by key ARN
  private sessionLifetimeSeconds: number | undefined;
  private clockSkewMs = 0;
  private server!: EmulatorServer;
  readonly control;

  private constructor(options: AwsEmulatorOptions) {
    this.defaultRegion = options.region ?? 'us-east-1';
    this.control = bindControl(this.controlDefinitions());
  }

  static async start(options: AwsEmulatorOptions): Promise<AwsEmulator> {
    const emulator = new AwsEmulator(options);
    emulator.server = await EmulatorServer.start({
      name: 'aws',
      host: options.host,
      listeners: [{ protocol: 'http', port: options.port }],
      faults: emulator.faults,
      log: emulator.log,
      control: { methods: emulator.control.methods, state: () => emulator.state() },
      handle: (exchange) => emulator.handle(exchange),
    });
    return emulator;
  }

  /** KMS and STS endpoint (the same URL serves both). */
  get url(): string {
    return this.server.url('http');
  }

  close(): Promise<void> {
    return this.server.close();
  }

  // ---- control -------------------------------------------------------------------------------------------------

  private controlDefinitions() {
    return {
      addUser: defineControl(
        v.object({
          accountId: ACCOUNT,
          userName: v.string({ min: 1, max: 64, pattern: /^[\w+=,.@-]+$/ }),
          accessKeyId: v.optional(v.string({ min: 16, max: 128, pattern: /^\w+$/ })),
          secretAccessKey: v.optional(v.string({ min: 16, max: 128 })),
        }),
        (input): AwsUserCredentials => {
          const accessKeyId = input.accessKeyId ?? `AKIA${randomUpperAlnum(16)}`;
          if (this.credentials.has(accessKeyId))
            throw new EmulatorError('ALREADY_EXISTS', `access key ${accessKeyId} exists`);
          const credential: AwsCredential = {
            accessKeyId,
            secretAccessKey: input.secretAccessKey ?? randomBytes(30).toString('base64'),
            principalArn: `arn:${ARN_PARTITION}:iam::${input.accountId}:user/${input.userName}`,
            accountId: input.accountId,
            expired: false,
          };
          this.credentials.set(accessKeyId, credential);
          return {
            accountId: input.accountId,
            arn: credential.principalArn,
            accessKeyId,
            secretAccessKey: credential.secretAccessKey,
          };
        },
      ),
      addRole: defineControl(
        v.object({
          accountId: ACCOUNT,
          roleName: v.string({ min: 1, max: 64, pattern: /^[\w+=,.@-]+$/ }),
          trustedPrincipals: v.array(v.string({ min: 1, max: 2048 })),
          externalId: v.optional(v.string({ min: 2, max: 1224 })),
          maxSessionDurationSeconds: v.optional(v.int({ min: 3600, max: 43200 })),
        }),
        (input) => {
          const arn = `arn:${ARN_PARTITION}:iam::${input.accountId}:role/${input.roleName}`;
          if (this.roles.has(arn)) throw new EmulatorError('ALREADY_EXISTS', `role ${arn} exists`);
          this.roles.set(arn, {
            arn,
            accountId: input.accountId,
            roleName: input.roleName,
            trustedPrincipals: input.trustedPrincipals,
            externalId: input.externalId,
            maxSessionDurationSeconds: input.maxSessionDurationSeconds ?? 3600,
          });
          return { arn };
        },
      ),
      addKey: defineControl(
        v.object({
          accountId: ACCOUNT,
          region: v.optional(v.string({ min: 1, max: 32, pattern: /^[a-z0-9-]+$/ })),
          keyId: v.optional(v.string({ min: 1, max: 128, pattern: /^[a-zA-Z0-9-]+$/ })),
          alias: v.optional(v.string({ min: 7, max: 256, pattern: /^alias\/[a-zA-Z0-9/_-]+$/ })),
          description: v.optional(v.string({ max: 8192 })),
          allowedPrincipals: v.optional(v.array(v.string({ min: 1, max: 2048 }))),
          /** Fixed key material (base64, 32 bytes each, oldest first) so a restarted emulator still decrypts old blobs. */
          keyMaterial: v.optional(v.array(MATERIAL, { max: 100 })),
        }),
        (input): AwsKeyInfo => {
          const region = input.region ?? this.defaultRegion;
          const keyId = input.keyId ?? randomUuid();
          const arn = `arn:${ARN_PARTITION}:kms:${region}:${input.accountId}:key/${keyId}`;
          if (this.keys.has(arn)) throw new EmulatorError('ALREADY_EXISTS', `key ${arn} exists`);
          if (input.alias && this.findByAlias(input.accountId, region, input.alias)) {
            throw new EmulatorError('ALREADY_EXISTS', `alias ${input.alias} exists in ${input.accountId}/${region}`);
          }
          const key: AwsKey = {
            keyId,
            arn,
            accountId: input.accountId,
            region,
            aliases: input.alias ? [input.alias] : [],
            description: input.description ?? '',
            state: 'Enabled',
            materials: input.keyMaterial?.length
              ? input.keyMaterial.map((material) => Buffer.from(material, 'base64'))
              : [randomBytes(32)],
            // The default key policy delegates to the owning account.
            allowedPrincipals: new Set(input.allowedPrincipals ?? [input.accountId]),
            createdAt: Date.now(),
          };
          this.keys.set(arn, key);
          return this.keyInfo(key);
        },
      ),
      grant: defineControl(v.object({ key: KEY_REF, principal: v.string({ min: 1, max: 2048 }) }), (input) => {
        this.requireKey(input.key).allowedPrincipals.add(input.principal);
      }),
      revokeGrant: defineControl(v.object({ key: KEY_REF, principal: v.string({ min: 1, max: 2048 }) }), (input) => {
        const key = this.requireKey(input.key);
        if (!key.allowedPrincipals.delete(input.principal)) {
          throw new EmulatorError('NOT_FOUND', `key ${key.arn} does not allow ${input.principal}`);
        }
      }),
      setKeyState: defineControl(
        v.object({ key: KEY_REF, state: v.literal('Enabled', 'Disabled', 'PendingDeletion') }),
        (input) => {
          this.requireKey(input.key).state = input.state;
          return this.keyInfo(this.requireKey(input.key));
        },
      ),
      rotateKey: defineControl(v.object({ key: KEY_REF }), (input) => {
        const key = this.requireKey(input.key);
        key.materials.push(randomBytes(32));
        return this.keyInfo(key);
      }),
      destroyKey: defineControl(v.object({ key: KEY_REF }), (input) => {
        this.keys.delete(this.requireKey(input.key).arn);
      }),
      expireCredentials: defineControl(v.object({ accessKeyId: v.string({ min: 1, max: 128 }) }), (input) => {
        const credential = this.credentials.get(input.accessKeyId);
        if (!credential) throw new EmulatorError('NOT_FOUND', `no access key ${input.accessKeyId}`);
        credential.expired = true;
      }),
      setSessionLifetime: defineControl(v.object({ seconds: v.optional(v.int({ min: 1, max: 43200 })) }), (input) => {
        this.sessionLifetimeSeconds = input.seconds;
      }),
      setClockSkew: defineControl(v.object({ seconds: v.int({ min: -86400, max: 86400 }) }), (input) => {
        this.clockSkewMs = input.seconds * 1000;
      }),
      describeKey: defineControl(v.object({ key: KEY_REF }), (input) => this.keyInfo(this.requireKey(input.key))),
    };
  }

  state() {
    return {
      url: this.url,
      region: this.defaultRegion,
      users: [...this.credentials.values()]
        .filter((c) => !c.sessionToken)
        .map((c) => ({ accountId: c.accountId, arn: c.principalArn, accessKeyId: c.accessKeyId, expired: c.expired })),
      sessions: [...this.credentials.values()]
        .filter((c) => c.sessionToken)
        .map((c) => ({
          arn: c.principalArn,
          accessKeyId: c.accessKeyId,
          expiresAt: new Date(c.expiresAt ?? 0).toISOString(),
          expired: c.expired,
        })),
      roles: [...this.roles.values()].map((r) => ({
        arn: r.arn,
        trustedPrincipals: r.trustedPrincipals,
        requiresExternalId: r.externalId !== undefined,
      })),
      keys: [...this.keys.values()].map((k) => this.keyInfo(k)),
      faults: this.faults.list(),
    };
  }

  /** Distinct AssumeRole sessions issued so far (useful to assert credential refresh). */
  sessionCount(): number {
    return [...this.credentials.values()].filter((c) => c.sessionToken).length;
  }

  private keyInfo(key: AwsKey): AwsKeyInfo {
    return {
      keyId: key.keyId,
      arn: key.arn,
      accountId: key.accountId,
      region: key.region,
      aliases: key.aliases,
      aliasArns: key.aliases.map((alias) => `arn:${ARN_PARTITION}:kms:${key.region}:${key.accountId}:${alias}`),
      state: key.state,
      versions: key.materials.length,
      allowedPrincipals: [...key.allowedPrincipals],
    };
  }

  private findByAlias(accountId: string, region: string, alias: string): AwsKey | undefined {
    return [...this.keys.values()].find(
      (k) => k.accountId === accountId && k.region === region && k.aliases.includes(alias),
    );
  }

  /** Resolve a key reference as KMS does: ARNs name their account and region; bare ids and aliases are the caller's. */
  private resolveKey(reference: string, accountId: string, region: string): AwsKey | undefined {
    const arn = /^arn:[^:]+:kms:([^:]+):(\d{12}):(key\/.+|alias\/.+)$/.exec(reference);
    if (arn) {
      const [, arnRegion = '', arnAccount = '', resource = ''] = arn;
      if (arnRegion !== region) return undefined;
      return resource.startsWith('alias/')
        ? this.findByAlias(arnAccount, arnRegion, resource)
        : this.keys.get(`arn:${ARN_PARTITION}:kms:${arnRegion}:${arnAccount}:${resource}`);
    }
    if (reference.startsWith('alias/')) return this.findByAlias(accountId, region, reference);
    return this.keys.get(`arn:${ARN_PARTITION}:kms:${region}:${accountId}:key/${reference}`);
  }

  private requireKey(reference: string): AwsKey {
    const direct = this.keys.get(reference);
    if (direct) return direct;
    const found = [...this.keys.values()].find(
      (k) => k.keyId === reference || k.aliases.includes(reference) || this.keyInfo(k).aliasArns.includes(reference),
    );
    if (!found) throw new EmulatorError('NOT_FOUND', `no AWS key ${reference}`);
    return found;
  }

  // ---- wire ----------------------------------------------------------------------------------------------------

  private async handle(exchange: Exchange): Promise<void> {
    const target = exchange.header('x-amz-target');
    if (target !== undefined) return this.handleKms(exchange, target);
    return this.handleSts(exchange);
  }

  private authenticate(exchange: Exchange, service: 'kms' | 'sts'): AwsCredential | KmsErrorShape {
    const auth = parseAuthorization(exchange.req.headers);
    if ('code' in auth)
      return {
        status: 400,
        type: `${auth.code}Exception`,
        message: auth.message,
      };
    if (auth.service !== service) {
      return {
        status: 400,
        type: 'InvalidSignatureException',
        message: `Credential should be scoped to correct service: '${service}'.`,
      };
    }
    const credential = this.credentials.get(auth.accessKeyId);
    if (!credential) {
      return {
        status: 400,
        type: 'UnrecognizedClientException',
        message: 'The security token included in the request is invalid.',
      };
    }
    const failure = verifySigV4(
      {
        method: exchange.method,
        path: exchange.url.pathname,
        query: exchange.url.searchParams,
        headers: exchange.req.headers,
        body: exchange.body,
      },
      auth,
      credential.secretAccessKey,
      Date.now() + this.clockSkewMs,
    );
    if (failure) {
      const type = failure.code === 'SignatureExpired' ? 'InvalidSignatureException' : `${failure.code}Exception`;
      return { status: 400, type, message: failure.message };
    }
    if (credential.sessionToken !== undefined) {
      const presented = exchange.header('x-amz-security-token');
      if (!presented || !safeEqual(presented, credential.sessionToken)) {
        return {
          status: 400,
          type: 'UnrecognizedClientException',
          message: 'The security token included in the request is invalid.',
        };
      }
      if (credential.expired || (credential.expiresAt !== undefined && credential.expiresAt <= Date.now())) {
        return {
          status: 400,
          type: 'ExpiredTokenException',
          message: 'The security token included in the request is expired',
        };
      }
    } else if (credential.expired) {
      return {
        status: 400,
        type: 'UnrecognizedClientException',
        message: 'The security token included in the request is invalid.',
      };
    }
    return credential;
  }

  private async handleKms(exchange: Exchange, target: string): Promise<void> {
    const reply = (shape: KmsErrorShape) => {
      exchange.noteError(shape.type);
      // AccessDeniedException is the one KMS error whose message field is capitalised on the wire.
      const messageField = shape.type === 'AccessDeniedException' ? 'Message' : 'message';
      exchange.send(shape.status, JSON.stringify({ __type: shape.type, [messageField]: shape.message }), {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-requestid': randomUuid(),
      });
    };
    const operation = target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : '';
    exchange.describe({ operation: operation || target });
    if (exchange.method !== 'POST' || !(OPERATIONS as readonly string[]).includes(operation)) {
      return reply({ status: 400, type: 'UnknownOperationException', message: `Unknown operation ${target}` });
    }
    const caller = this.authenticate(exchange, 'kms');
    if ('type' in caller) return reply(caller);
    exchange.describe({ principal: caller.principalArn });
    let request: Record<string, unknown>;
    try {
      const parsed = JSON.parse(exchange.body.toString('utf8') || '{}');
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      request = parsed;
    } catch {
      return reply({
        status: 400,
        type: 'SerializationException',
        message: 'Start of structure or map found where not expected.',
      });
    }
    const region = (parseAuthorization(exchange.req.headers) as { region: string }).region;
    const keyRefs = this.keyNamesForFaults(request, caller, region);
    const fault = await exchange.applyFaults({
      operation,
      keys: keyRefs,
      principal: caller.principalArn,
      dataPlane: true,
    });
    if (fault.error) return reply(kmsFaultError(fault.error));
    try {
      const result = this.runKms(operation as KmsOperation, request, caller, region);
      exchange.json(200, result, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUuid() });
    } catch (error) {
      if (error instanceof KmsFailure) return reply(error.shape);
      throw error;
    }
  }

  private keyNamesForFaults(request: Record<string, unknown>, caller: AwsCredential, region: string): string[] {
    const names = new Set<string>();
    for (const field of ['KeyId', 'DestinationKeyId', 'SourceKeyId']) {
      const reference = request[field];
      if (typeof reference !== 'string') continue;
      names.add(reference);
      const key = this.resolveKey(reference, caller.accountId, region);
      if (key) [key.arn, key.keyId, ...key.aliases].forEach((name) => names.add(name));
    }
    const blob = decodeBase64(request.CiphertextBlob);
    const arn = blob ? parseCiphertext(blob)?.arn : undefined;
    if (arn) {
      names.add(arn);
      const key = this.keys.get(arn);
      if (key) [key.keyId, ...key.aliases].forEach((name) => names.add(name));
    }
    return [...names];
  }

  private runKms(
    operation: KmsOperation,
    request: Record<string, unknown>,
    caller: AwsCredential,
    region: string,
  ): unknown {
    switch (operation) {
      case 'Encrypt': {
        const key = this.usableKey(request.KeyId, caller, region, 'Encrypt');
        const plaintext = requireBlob(request.Plaintext, 'plaintext', 4096);
        const context = requireContext(request.EncryptionContext, 'encryptionContext');
        requireSymmetricAlgorithm(request.EncryptionAlgorithm);
        return {
          CiphertextBlob: encryptBlob(key, plaintext, context).toString('base64'),
          KeyId: key.arn,
          EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        };
      }
      case 'GenerateDataKey': {
        const key = this.usableKey(request.KeyId, caller, region, 'GenerateDataKey');
        const context = requireContext(request.EncryptionContext, 'encryptionContext');
        const length = dataKeyLength(request.KeySpec, request.NumberOfBytes);
        const plaintext = randomBytes(length);
        return {
          CiphertextBlob: encryptBlob(key, plaintext, context).toString('base64'),
          Plaintext: plaintext.toString('base64'),
          KeyId: key.arn,
        };
      }
      case 'Decrypt': {
        const blob = requireBlob(request.CiphertextBlob, 'ciphertextBlob', 6144);
        const context = requireContext(request.EncryptionContext, 'encryptionContext');
        requireSymmetricAlgorithm(request.EncryptionAlgorithm);
        const { key, plaintext } = this.decryptBlob(blob, context, request.KeyId, caller, region, 'Decrypt');
        return { KeyId: key.arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
      }
      case 'ReEncrypt': {
        const blob = requireBlob(request.CiphertextBlob, 'ciphertextBlob', 6144);
        const sourceContext = requireContext(request.SourceEncryptionContext, 'sourceEncryptionContext');
        const destinationContext = requireContext(request.DestinationEncryptionContext, 'destinationEncryptionContext');
        const source = this.decryptBlob(blob, sourceContext, request.SourceKeyId, caller, region, 'ReEncryptFrom');
        const destination = this.usableKey(request.DestinationKeyId, caller, region, 'ReEncryptTo');
        return {
          CiphertextBlob: encryptBlob(destination, source.plaintext, destinationContext).toString('base64'),
          SourceKeyId: source.key.arn,
          KeyId: destination.arn,
          SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
          DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        };
      }
      case 'DescribeKey': {
        const key = this.authorizedKey(request.KeyId, caller, region, 'DescribeKey');
        return {
          KeyMetadata: {
            AWSAccountId: key.accountId,
            KeyId: key.keyId,
            Arn: key.arn,
            CreationDate: Math.floor(key.createdAt / 1000),
            Enabled: key.state === 'Enabled',
            Description: key.description,
            KeyUsage: 'ENCRYPT_DECRYPT',
            KeyState: key.state,
            Origin: 'AWS_KMS',
            KeyManager: 'CUSTOMER',
            CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
            KeySpec: 'SYMMETRIC_DEFAULT',
            EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
            MultiRegion: false,
          },
        };
      }
    }
  }

  private authorizedKey(reference: unknown, caller: AwsCredential, region: string, action: string): AwsKey {
    if (typeof reference !== 'string' || reference.length === 0 || reference.length > 2048) {
      throw kmsError(
        'ValidationException',
        `1 validation error detected: Value at 'keyId' failed to satisfy constraint: Member must have length between 1 and 2048`,
      );
    }
    const key = this.resolveKey(reference, caller.accountId, region);
    if (!key) {
      const shown = reference.startsWith('arn:')
        ? reference
        : reference.startsWith('alias/')
          ? `arn:${ARN_PARTITION}:kms:${region}:${caller.accountId}:${reference}`
          : `arn:${ARN_PARTITION}:kms:${region}:${caller.accountId}:key/${reference}`;
      throw kmsError(
        'NotFoundException',
        reference.startsWith('alias/') || reference.includes(':alias/')
          ? `Alias ${shown} is not found.`
          : `Key '${shown}' does not exist`,
      );
    }
    this.authorize(key, caller, action);
    return key;
  }

  private usableKey(reference: unknown, caller: AwsCredential, region: string, action: string): AwsKey {
    const key = this.authorizedKey(reference, caller, region, action);
    requireEnabled(key);
    return key;
  }

  private authorize(key: AwsKey, caller: AwsCredential, action: string): void {
    const allowed = key.allowedPrincipals;
    if (
      allowed.has('*') ||
      allowed.has(caller.principalArn) ||
      allowed.has(caller.accountId) ||
      (caller.roleArn && allowed.has(caller.roleArn))
    )
      return;
    throw kmsError(
      'AccessDeniedException',
      `User: ${caller.principalArn} is not authorized to perform: kms:${action} on resource: ${key.arn} because no resource-based policy allows the kms:${action} action`,
    );
  }

  private decryptBlob(
    blob: Buffer,
    context: Record<string, string>,
    keyReference: unknown,
    caller: AwsCredential,
    region: string,
    action: string,
  ): { key: AwsKey; plaintext: Buffer } {
    const parsed = parseCiphertext(blob);
    if (!parsed) throw kmsError('InvalidCiphertextException', '');
    const key = this.keys.get(parsed.arn);
    if (!key || key.region !== region) throw kmsError('InvalidCiphertextException', '');
    if (keyReference !== undefined) {
      const named =
        typeof keyReference === 'string' ? this.resolveKey(keyReference, caller.accountId, region) : undefined;
      if (!named) throw kmsError('NotFoundException', `Key '${String(keyReference)}' does not exist`);
      if (named.arn !== key.arn) {
        throw kmsError(
          'IncorrectKeyException',
          'The key ID in the request does not identify a CMK that can perform this operation.',
        );
      }
    }
    this.authorize(key, caller, action);
    requireEnabled(key);
    const material = key.materials[parsed.version];
    if (!material) throw kmsError('InvalidCiphertextException', '');
    try {
      const decipher = createDecipheriv('aes-256-gcm', material, parsed.iv);
      decipher.setAAD(ciphertextAad(key.arn, parsed.version, context));
      decipher.setAuthTag(parsed.tag);
      return { key, plaintext: Buffer.concat([decipher.update(parsed.ciphertext), decipher.final()]) };
    } catch {
      // Wrong encryption context and tampered blobs are indistinguishable, as in KMS.
      throw kmsError('InvalidCiphertextException', '');
    }
  }

  private async handleSts(exchange: Exchange): Promise<void> {
    const reply = (status: number, code: string, message: string) => {
      exchange.noteError(code);
      const type = status >= 500 ? 'Receiver' : 'Sender';
      exchange.send(
        status,
        `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>${type}</Type><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${randomUuid()}</RequestId></ErrorResponse>`,
        { 'content-type': 'text/xml', 'x-amzn-requestid': randomUuid() },
      );
    };
    const params = new URLSearchParams(exchange.body.toString('utf8'));
    const action = params.get('Action') ?? '';
    exchange.describe({ operation: action || 'UnknownSTS' });
    if (exchange.method !== 'POST' || !['AssumeRole', 'GetCallerIdentity'].includes(action)) {
      return reply(
        400,
        'InvalidAction',
        `Could not find operation ${action || '(none)'} for version ${params.get('Version') ?? 'NO_VERSION_SPECIFIED'}`,
      );
    }
    const caller = this.authenticate(exchange, 'sts');
    if ('type' in caller) {
      // STS (awsQuery) names the same authentication failures differently from KMS's JSON protocol.
      const stsCodes: Record<string, [number, string]> = {
        UnrecognizedClientException: [403, 'InvalidClientTokenId'],
        InvalidSignatureException: [403, 'SignatureDoesNotMatch'],
        ExpiredTokenException: [400, 'ExpiredToken'],
        MissingAuthenticationTokenException: [403, 'MissingAuthenticationToken'],
        IncompleteSignatureException: [400, 'IncompleteSignature'],
      };
      const [status, code] = stsCodes[caller.type] ?? [caller.status, caller.type.replace(/Exception$/, '')];
      return reply(status, code, caller.message);
    }
    exchange.describe({ principal: caller.principalArn, keys: params.get('RoleArn') ? [params.get('RoleArn')!] : [] });
    const fault = await exchange.applyFaults({
      operation: action,
      keys: params.get('RoleArn') ? [params.get('RoleArn')!] : [],
      principal: caller.principalArn,
      dataPlane: false,
    });
    if (fault.error) {
      const shape = stsFaultError(fault.error);
      return reply(shape.status, shape.code, shape.message);
    }
    const requestId = randomUuid();
    const xmlReply = (body: string) =>
      exchange.send(200, body, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
    if (action === 'GetCallerIdentity') {
      return xmlReply(
        `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>${xmlEscape(caller.principalArn)}</Arn><UserId>${xmlEscape(caller.accessKeyId)}</UserId><Account>${caller.accountId}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
      );
    }
    const roleArn = params.get('RoleArn') ?? '';
    const sessionName = params.get('RoleSessionName') ?? '';
    const duration = params.has('DurationSeconds') ? Number(params.get('DurationSeconds')) : 3600;
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
      return reply(
        400,
        'ValidationError',
        `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
      );
    }
    const role = this.roles.get(roleArn);
    const denied = `User: ${caller.principalArn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`;
    if (!role) return reply(403, 'AccessDenied', denied);
    const trusted = role.trustedPrincipals.some(
      (p) => p === '*' || p === caller.principalArn || p === caller.accountId || p === caller.roleArn,
    );
    const externalId = params.get('ExternalId');
    // The external id is a confused-deputy guard (IAM User Guide, "external ID"): compare it in constant time.
    const externalIdOk =
      role.externalId === undefined || (externalId !== null && safeEqual(externalId, role.externalId));
    if (!trusted || !externalIdOk) return reply(403, 'AccessDenied', denied);
    if (!Number.isInteger(duration) || duration < 900 || duration > role.maxSessionDurationSeconds) {
      return reply(
        400,
        'ValidationError',
        `The requested DurationSeconds exceeds the MaxSessionDuration set for this role.`,
      );
    }
    const lifetime = this.sessionLifetimeSeconds ?? duration;
    const session: AwsCredential = {
      accessKeyId: `ASIA${randomUpperAlnum(16)}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(96).toString('base64'),
      principalArn: `arn:${ARN_PARTITION}:sts::${role.accountId}:assumed-role/${role.roleName}/${sessionName}`,
      accountId: role.accountId,
      roleArn: role.arn,
      expiresAt: Date.now() + lifetime * 1000,
      expired: false,
    };
    this.credentials.set(session.accessKeyId, session);
    const roleId = `AROA${randomUpperAlnum(17)}`;
    return xmlReply(
      `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><AssumedRoleUser><AssumedRoleId>${roleId}:${xmlEscape(sessionName)}</AssumedRoleId><Arn>${xmlEscape(session.principalArn)}</Arn></AssumedRoleUser><Credentials><AccessKeyId>${session.accessKeyId}</AccessKeyId><SecretAccessKey>${xmlEscape(session.secretAccessKey)}</SecretAccessKey><SessionToken>${xmlEscape(session.sessionToken!)}</SessionToken><Expiration>${new Date(session.expiresAt!).toISOString()}</Expiration></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></AssumeRoleResponse>`,
    );
  }
}

function kmsFaultError(kind: FaultErrorKind): KmsErrorShape {
  switch (kind) {
    case 'throttle':
      return {
        status: 400,
        type: 'ThrottlingException',
        message: 'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.',
      };
    case 'internal':
      return { status: 500, type: 'KMSInternalException', message: 'An internal error occurred.' };
    case 'unavailable':
      return {
        status: 500,
        type: 'KeyUnavailableException',
        message: 'The request was rejected because the specified KMS key was not available.',
      };
    case 'timeout':
      return {
        status: 503,
        type: 'DependencyTimeoutException',
        message: 'The system timed out while trying to fulfill the request.',
      };
    case 'account':
      // The common AWS error for an account not signed up for the service.
      return {
        status: 403,
        type: 'OptInRequired',
        message: 'The AWS Access Key Id needs a subscription for the service',
      };
  }
}

function stsFaultError(kind: FaultErrorKind): { status: number; code: string; message: string } {
  switch (kind) {
    case 'throttle':
      return { status: 400, code: 'Throttling', message: 'Rate exceeded' };
    case 'internal':
      return {
        status: 500,
        code: 'InternalFailure',
        message: 'The request processing has failed because of an unknown error.',
      };
    case 'unavailable':
    case 'timeout':
      return { status: 503, code: 'ServiceUnavailable', message: 'Service is unable to handle request.' };
    case 'account':
      return {
        status: 403,
        code: 'RegionDisabledException',
        message:
          'STS is not activated in this region for account. Your account administrator can activate STS in this region using the IAM Console.',
      };
  }
}

function requireEnabled(key: AwsKey): void {
  if (key.state === 'Disabled') throw kmsError('DisabledException', `${key.arn} is disabled.`);
  if (key.state === 'PendingDeletion') throw kmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
}

function requireBlob(value: unknown, field: string, maxBytes: number): Buffer {
  const bytes = decodeBase64(value);
  if (!bytes) throw kmsError('SerializationException', `Value for '${field}' must be a base64-encoded blob`);
  if (bytes.length < 1 || bytes.length > maxBytes) {
    throw kmsError(
      'ValidationException',
      `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must have length between 1 and ${maxBytes}`,
    );
  }
  return bytes;
}

function requireContext(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (
    typeof value !== 'object' ||
    Array.isArray(value) ||
    Object.values(value).some((item) => typeof item !== 'string')
  ) {
    throw kmsError('SerializationException', `Value for '${field}' must be a map of strings`);
  }
  return value as Record<string, string>;
}

function requireSymmetricAlgorithm(value: unknown): void {
  if (value !== undefined && value !== 'SYMMETRIC_DEFAULT') {
    throw kmsError(
      'InvalidKeyUsageException',
      `The request specifies an encryption algorithm (${String(value)}) that the KMS key does not support.`,
    );
  }
}

function dataKeyLength(keySpec: unknown, numberOfBytes: unknown): number {
  if (keySpec !== undefined && numberOfBytes !== undefined) {
    throw kmsError('ValidationException', 'Please specify either number of bytes or key spec.');
  }
  if (keySpec === 'AES_256') return 32;
  if (keySpec === 'AES_128') return 16;
  if (
    typeof numberOfBytes === 'number' &&
    Number.isInteger(numberOfBytes) &&
    numberOfBytes >= 1 &&
    numberOfBytes <= 1024
  )
    return numberOfBytes;
  throw kmsError('ValidationException', 'Please specify either number of bytes or key spec.');
}

/**
 * The emulator's own opaque blob: `0x01 | len u8 | key ARN | u32 material version | iv12 | ct | tag16`. The key ARN
 * and version sit in the clear (like KMS's header naming the backing key) and are authenticated through the AAD,
 * together with the encryption context encoded unambiguously (sorted [key, value] pairs as JSON).
 */
function encryptBlob(key: AwsKey, plaintext: Buffer, context: Record<string, string>): Buffer {
  const version = key.materials.length - 1;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.materials[version]!, iv);
  cipher.setAAD(ciphertextAad(key.arn, version, context));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const arn = Buffer.from(key.arn, 'utf8');
  const versionBytes = Buffer.alloc(4);
  versionBytes.writeUInt32BE(version);
  return Buffer.concat([
    Buffer.from([CIPHERTEXT_VERSION, arn.length]),
    arn,
    versionBytes,
    iv,
    ciphertext,
    cipher.getAuthTag(),
  ]);
}

function ciphertextAad(arn: string, version: number, context: Record<string, string>): Buffer {
  const pairs = Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(JSON.stringify(['opencmk-kms-emulator/aws/1', arn, version, pairs]), 'utf8');
}

function parseCiphertext(
  blob: Buffer,
): { arn: string; version: number; iv: Buffer; ciphertext: Buffer; tag: Buffer } | undefined {
  if (blob.length < 2 || blob[0] !== CIPHERTEXT_VERSION) return undefined;
  const arnLength = blob[1]!;
  const headerLength = 2 + arnLength + 4 + 12;
  if (blob.length < headerLength + 16) return undefined;
  return {
    arn: blob.subarray(2, 2 + arnLength).toString('utf8'),
    version: blob.readUInt32BE(2 + arnLength),
    iv: blob.subarray(2 + arnLength + 4, headerLength),
    ciphertext: blob.subarray(headerLength, blob.length - 16),
    tag: blob.subarray(blob.length - 16),
  };
}
