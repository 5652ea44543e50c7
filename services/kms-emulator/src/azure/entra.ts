/**
 * Entra ID (Microsoft identity platform v2) as the vault emulators need it: OpenID metadata and the client
 * credentials grant (`POST /{tenant}/oauth2/v2.0/token`). Tokens are HS256 JWTs private to the emulator: only the
 * vault half reads them.
 */
import { randomBytes } from 'node:crypto';
import { EmulatorError } from '../core/errors.js';
import { signHs256, verifyHs256 } from '../core/jwt.js';
import { randomUuid, safeEqual } from '../core/util.js';

export const KEY_VAULT_RESOURCE = 'https://vault.azure.net';

interface AppRegistration {
  tenantId: string;
  clientId: string;
  objectId: string;
  displayName: string;
  secret: string;
  secretExpired: boolean;
}

export interface AzureAppCredentials {
  tenantId: string;
  clientId: string;
  objectId: string;
  clientSecret: string;
  displayName: string;
}

export interface EntraTokenClaims {
  tid: string;
  appid: string;
  oid: string;
  aud: string;
  exp: number;
  iat: number;
  uti: string;
}

export type TokenCheck = { claims: EntraTokenClaims } | { problem: 'missing' | 'invalid' | 'expired' | 'revoked' };

export class EntraDirectory {
  private readonly tenants = new Set<string>();
  private readonly apps = new Map<string, AppRegistration>(); // `${tenantId}/${clientId}`
  private readonly issued = new Map<string, { tenantId: string; clientId: string }>(); // uti -> app
  private readonly revoked = new Set<string>();
  private readonly signingKey = randomBytes(32);
  tokenLifetimeSeconds = 3599;
  tokenRequests = 0;

  addTenant(tenantId: string = randomUuid()): string {
    this.tenants.add(tenantId);
    return tenantId;
  }

  hasTenant(tenantId: string): boolean {
    return this.tenants.has(tenantId);
  }

  addApp(input: {
    tenantId: string;
    displayName: string;
    clientId?: string;
    clientSecret?: string;
  }): AzureAppCredentials {
    if (!this.tenants.has(input.tenantId)) throw new EmulatorError('NOT_FOUND', `no Entra tenant ${input.tenantId}`);
    const clientId = input.clientId ?? randomUuid();
    const id = `${input.tenantId}/${clientId}`;
    if (this.apps.has(id))
      throw new EmulatorError('ALREADY_EXISTS', `app ${clientId} exists in tenant ${input.tenantId}`);
    const app: AppRegistration = {
      tenantId: input.tenantId,
      clientId,
      objectId: randomUuid(),
      displayName: input.displayName,
      secret: input.clientSecret ?? `emu~${randomBytes(30).toString('base64url')}`,
      secretExpired: false,
    };
    this.apps.set(id, app);
    return this.credentialsOf(app);
  }

  findApp(tenantId: string, clientIdOrObjectId: string): AzureAppCredentials | undefined {
    const app = [...this.apps.values()].find(
      (a) => a.tenantId === tenantId && (a.clientId === clientIdOrObjectId || a.objectId === clientIdOrObjectId),
    );
    return app ? this.credentialsOf(app) : undefined;
  }

  listApps(): Omit<AzureAppCredentials, 'clientSecret'>[] {
    return [...this.apps.values()].map(({ tenantId, clientId, objectId, displayName }) => ({
      tenantId,
      clientId,
      objectId,
      displayName,
    }));
  }

  /** Revoke every token issued to the app so far: the vault answers a CAE `insufficient_claims` challenge. */
  revokeTokens(clientId: string): number {
    let count = 0;
    for (const [uti, owner] of this.issued) {
      if (owner.clientId === clientId && !this.revoked.has(uti)) {
        this.revoked.add(uti);
        count++;
      }
    }
    if (![...this.apps.values()].some((app) => app.clientId === clientId))
      throw new EmulatorError('NOT_FOUND', `no app ${clientId}`);
    return count;
  }

  setSecretExpired(clientId: string, expired: boolean): void {
    const apps = [...this.apps.values()].filter((app) => app.clientId === clientId);
    if (apps.length === 0) throw new EmulatorError('NOT_FOUND', `no app ${clientId}`);
    for (const app of apps) app.secretExpired = expired;
  }

  openIdConfiguration(baseUrl: string, tenantId: string): Record<string, unknown> {
    const authority = `${baseUrl}/${tenantId}`;
    return {
      token_endpoint: `${authority}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${authority}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${authority}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${baseUrl}/oidc/userinfo`,
      authorization_endpoint: `${authority}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${authority}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${authority}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'tid', 'oid'],
      kerberos_endpoint: `${authority}/kerberos`,
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
    };
  }

  /** Client credentials grant (Microsoft identity platform v2, RFC 6749 §4.4). Answers [status, body]. */
  clientCredentials(tenantId: string, form: URLSearchParams, now = Date.now()): [number, Record<string, unknown>] {
    this.tokenRequests++;
    const error = (
      status: number,
      code: string,
      aadsts: number,
      description: string,
    ): [number, Record<string, unknown>] => [
      status,
      {
        error: code,
        error_description: `AADSTS${aadsts}: ${description}`,
        error_codes: [aadsts],
        timestamp: new Date(now).toISOString().replace('T', ' ').replace('Z', 'Z'),
        trace_id: randomUuid(),
        correlation_id: randomUuid(),
      },
    ];
    if (!this.tenants.has(tenantId)) return error(400, 'invalid_request', 90002, `Tenant '${tenantId}' not found.`);
    if (form.get('grant_type') !== 'client_credentials') {
      return error(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    }
    const clientId = form.get('client_id') ?? '';
    const app = this.apps.get(`${tenantId}/${clientId}`);
    if (!app) {
      return error(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenantId}'.`,
      );
    }
    const secret = form.get('client_secret');
    if (secret === null || !safeEqual(secret, app.secret)) {
      return error(
        401,
        'invalid_client',
        7000215,
        'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.',
      );
    }
    if (app.secretExpired) {
      return error(
        401,
        'invalid_client',
        7000222,
        `The provided client secret keys for app '${clientId}' are expired.`,
      );
    }
    const scope = form.get('scope') ?? '';
    const resource = scope
      .split(' ')
      .find((s) => s.endsWith('/.default'))
      ?.slice(0, -'/.default'.length);
    if (!resource)
      return error(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.`,
      );
    const iat = Math.floor(now / 1000);
    const uti = randomBytes(16).toString('base64url');
    const claims: EntraTokenClaims & Record<string, unknown> = {
      aud: resource,
      iss: `https://sts.windows.net/${tenantId}/`,
      iat,
      nbf: iat,
      exp: iat + this.tokenLifetimeSeconds,
      appid: app.clientId,
      oid: app.objectId,
      sub: app.objectId,
      tid: tenantId,
      idtyp: 'app',
      uti,
      ver: '1.0',
    };
    this.issued.set(uti, { tenantId, clientId: app.clientId });
    return [
      200,
      {
        token_type: 'Bearer',
        expires_in: this.tokenLifetimeSeconds,
        ext_expires_in: this.tokenLifetimeSeconds,
        access_token: signHs256(claims, this.signingKey),
      },
    ];
  }

  checkToken(authorization: string | undefined, now = Date.now()): TokenCheck {
    const match = authorization ? /^Bearer\s+(\S+)$/i.exec(authorization) : null;
    if (!match) return { problem: 'missing' };
    const payload = verifyHs256(match[1]!, this.signingKey);
    if (!payload) return { problem: 'invalid' };
    const claims = payload as unknown as EntraTokenClaims;
    if (typeof claims.exp !== 'number' || claims.exp <= Math.floor(now / 1000)) return { problem: 'expired' };
    if (this.revoked.has(claims.uti)) return { problem: 'revoked' };
    return { claims };
  }

  private credentialsOf(app: AppRegistration): AzureAppCredentials {
    return {
      tenantId: app.tenantId,
      clientId: app.clientId,
      objectId: app.objectId,
      clientSecret: app.secret,
      displayName: app.displayName,
    };
  }
}
